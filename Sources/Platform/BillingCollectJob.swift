import Actors
import Billing
import Core
import Scheduler

/// `billing.collect`: asks the payment provider for an open invoice's amount
/// (`{"invoice_id", "attempt"}`). A provider that cannot be reached fails the attempt, which is
/// retried with backoff; the provider dedupes repeats by the request's idempotency key.
public struct BillingCollectJob: JobHandler {
    public static let jobKind = "billing.collect"
    public let kind = BillingCollectJob.jobKind
    let invoices: InvoiceService

    public init(invoices: InvoiceService) {
        self.invoices = invoices
    }

    public func run(_ job: JobRecord) async throws {
        guard case .object(let args)? = try? JSONParser.parse(job.spec.args.utf8), case .string(let text)? = args["invoice_id"], let id = InvoiceID(text),
              case .number(let attempt)? = args["attempt"], attempt >= 0, attempt == attempt.rounded()
        else { throw JobError.permanent("billing.collect needs {\"invoice_id\": \"inv_…\", \"attempt\": n}") }
        do {
            try await invoices.charge(id, attempt: Int(attempt), actor: "provider:\(invoices.provider.name)")
        } catch let error as TallyError where error.code == .notFound {
            throw JobError.permanent(error.detail)
        }
    }
}
