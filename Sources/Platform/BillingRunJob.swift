import Actors
import Billing
import Core
import Logging
import Scheduler

/// `billing.run`: one billing run (periods, finalization, dunning) as a background job. The
/// built-in periodic schedule enqueues it every `TALLY_BILLING_RUN_SECONDS` (once per tick
/// across nodes); `tally billing run` and `POST /v1/billing/runs` enqueue or run it on demand.
public struct BillingRunJob: JobHandler {
    public static let jobKind = "billing.run"
    public let kind = BillingRunJob.jobKind
    let billing: BillingRun
    let logger: Logger

    public init(run: BillingRun, logger: Logger) {
        self.billing = run
        self.logger = logger
    }

    public func run(_ job: JobRecord) async throws {
        let report = try await billing.run()
        // Failed steps are logged one by one and retried by the next run; the job itself is done.
        logger.log(level: report.failures > 0 ? .error : .info, "billing run",
                   metadata: ["report": "\(String(decoding: JSONWriter.encode(report.json), as: UTF8.self))", "job": "\(job.id)"])
    }

    /// The periodic entry for the built-in schedule; `nil` when the run is turned off.
    public static func periodic(everySeconds seconds: Int) -> PeriodicJob? {
        guard seconds > 0, let schedule = try? CronSchedule("@every \(seconds)s") else { return nil }
        return PeriodicJob(name: "billing-run", schedule: schedule, spec: JobSpec(kind: jobKind, queue: "default"))
    }
}
