import Actors
import Core
import Scheduler
import Storage
import TallyTestSupport
import Testing

@Suite struct PeriodicSchedulerTests {
    @Test(arguments: TestBackend.available)
    func eachTickIsEnqueuedOnceHoweverManyNodesTry(backend: TestBackend) async throws {
        try await backend.withBackend { storage, _ in
            let jobs = [
                PeriodicJob(name: "minutely", schedule: try CronSchedule("* * * * *"), spec: JobSpec(kind: "tally.noop")),
                PeriodicJob(name: "quarter", schedule: try CronSchedule("*/15 * * * *"), spec: JobSpec(kind: "tally.noop", queue: "reports")),
            ]
            // Two nodes with the same schedule.
            let a = PeriodicScheduler(queue: storage.jobs, jobs: jobs, logger: TestBackend.logger)
            let b = PeriodicScheduler(queue: storage.jobs, jobs: jobs, logger: TestBackend.logger)
            let t0: Int64 = 1_795_860_000  // 10:00:00 UTC
            #expect(try await a.tick(since: t0 - 1, now: t0) == 2)  // 10:00 is both a minute and a quarter
            #expect(try await b.tick(since: t0 - 1, now: t0) == 0)
            #expect(try await b.tick(since: t0, now: t0 + 59) == 0)  // nothing due in between
            #expect(try await b.tick(since: t0, now: t0 + 60) == 1)
            #expect(try await a.tick(since: t0, now: t0 + 60) == 0)
            // A node that slept through 10:02-10:14 runs only the latest missed minute, and 10:15 once.
            #expect(try await a.tick(since: t0 + 60, now: t0 + 900) == 2)
            #expect(try await b.tick(since: t0 + 60, now: t0 + 900) == 0)

            let all = try await storage.jobs.jobs(JobFilter(), limit: 100, after: nil)
            #expect(all.count == 5)
            #expect(Set(all.compactMap(\.spec.uniqueKey)) == [
                "periodic:minutely:\(t0)", "periodic:quarter:\(t0)", "periodic:minutely:\(t0 + 60)", "periodic:minutely:\(t0 + 900)", "periodic:quarter:\(t0 + 900)",
            ])
            #expect(all.filter { $0.spec.queue == "reports" }.map(\.runAtMillis).sorted() == [t0 * 1_000, (t0 + 900) * 1_000])
        }
    }

    @Test func periodicJobFilesAreReadWithTheirErrorsNamed() throws {
        let jobs = try PeriodicJob.parseList(try JSONParser.parse(Array("""
            [{"name": "nightly", "schedule": "0 2 * * *", "kind": "report.build", "queue": "reports", "args": {"scope": "all"}, "max_attempts": 3},
             {"name": "sweep", "schedule": "@every 5m", "kind": "tally.noop"}]
            """.utf8)))
        #expect(jobs.map(\.name) == ["nightly", "sweep"])
        #expect(jobs[0].spec.queue == "reports" && jobs[0].spec.maxAttempts == 3 && jobs[0].spec.args == #"{"scope":"all"}"#)
        #expect(jobs[0].job(tickSeconds: 86_400 + 7_200).uniqueKey == "periodic:nightly:93600")
        for (text, field) in [
            (#"{}"#, "periodic_jobs"), (#"[{"schedule": "@hourly", "kind": "k"}]"#, "periodic_jobs[0].name"),
            (#"[{"name": "a", "kind": "k"}]"#, "periodic_jobs[0].schedule"), (#"[{"name": "a", "schedule": "61 * * * *", "kind": "k"}]"#, "periodic_jobs[0].schedule"),
            (#"[{"name": "a", "schedule": "@hourly"}]"#, "periodic_jobs[0].kind"), (#"[{"name": "a", "schedule": "@hourly", "kind": "K K"}]"#, "periodic_jobs[0].kind"),
            (#"[{"name": "a", "schedule": "@hourly", "kind": "k", "when": 1}]"#, "periodic_jobs[0].when"),
            (#"[{"name": "a", "schedule": "@hourly", "kind": "k"}, {"name": "a", "schedule": "@daily", "kind": "k"}]"#, "periodic_jobs[1].name"),
        ] {
            #expect(throws: TallyError.self, "\(text)") { try PeriodicJob.parseList(try JSONParser.parse(Array(text.utf8))) }
            do {
                _ = try PeriodicJob.parseList(try JSONParser.parse(Array(text.utf8)))
            } catch let error as TallyError {
                #expect(error.field == field, "\(text)")
            }
        }
    }
}
