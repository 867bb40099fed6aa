import Core
import Foundation
import Scheduler
import Storage
import TallyTestSupport
import Testing

/// Real `tally worker` processes against real storage: workers killed with SIGKILL mid-job,
/// again and again, lose no job; a Redis that forgets everything (FLUSHALL) mid-run loses no
/// durable job either.
@Suite struct JobProcessTests {
    static func unfinished(_ counts: [JobCount]) -> Int {
        counts.filter { !$0.state.isFinal }.reduce(0) { $0 + $1.count }
    }

    @Test(arguments: TestBackend.available)
    func workersKilledMidJobLoseNothing(backend: TestBackend) async throws {
        try await ProcessTests.withProcessEnvironment(backend) { settings, env in
            var env = env
            env["TALLY_WORKER_QUEUES"] = "default=8"
            env["TALLY_JOB_VISIBILITY_SECONDS"] = "5"
            // Only the test's jobs: no built-in billing run.
            env["TALLY_BILLING_RUN_SECONDS"] = "0"
            // 320 jobs of 80 ms at 8 at a time is 3.2 s of work: more than the four workers' 2.4 s
            // between kills, so every kill finds jobs held.
            let total = 320
            try await StorageBackend.withBackend(settings, logger: TestBackend.logger) { storage in
                _ = try await storage.migrations.migrate()
                let now = Int64(Date().timeIntervalSince1970 * 1_000)
                _ = try await storage.jobs.enqueue((0..<total).map { _ in JobSpec(kind: "tally.sleep", args: #"{"ms":80}"#) }, nowMillis: now)

                // Four workers in turn, each killed with SIGKILL while it holds jobs.
                for _ in 0..<4 {
                    let worker = try TallyProcess.Server(env: env, workDir: settings.dataDir, arguments: ["worker"])
                    try await worker.waitFor("Tally worker running")
                    try await Task.sleep(for: .milliseconds(600))
                    await worker.crash()
                }
                let midway = try await storage.jobs.counts()
                #expect(Self.unfinished(midway) > 0, "the workers finished everything before the last kill: \(midway)")

                // A last worker rescues what the dead ones held (after the 5 s visibility) and finishes.
                let last = try TallyProcess.Server(env: env, workDir: settings.dataDir, arguments: ["worker"])
                let deadline = ContinuousClock.now + .seconds(90)
                var counts = try await storage.jobs.counts()
                while Self.unfinished(counts) > 0 && ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(200))
                    counts = try await storage.jobs.counts()
                }
                #expect(try await last.terminate() == 0)
                #expect(counts == [JobCount(queue: "default", state: .completed, count: total)], "\(counts)")
                let all = try await storage.jobs.jobs(JobFilter(), limit: total + 1, after: nil)
                #expect(all.count == total && all.allSatisfy { $0.state == .completed })
                // Jobs held by killed workers were rescued: they carry the rescuer's note.
                #expect(all.contains { $0.errors.contains { $0.message.contains("stopped heartbeating") } })
            }
        }
    }

    @Test(.enabled(if: DedicatedServers.available && TestBackend.available.contains(.postgres), "needs root, PostgreSQL and Redis binaries"))
    func aFlushedRedisLosesNoDurableJob() async throws {
        let servers = try DedicatedServers()
        defer { servers.stop() }
        let dataDir = servers.directory + "/data"
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
        let env = [
            "TALLY_DATABASE_URL": servers.databaseURL, "TALLY_REDIS_URL": servers.redisURL, "TALLY_DATA_DIR": dataDir,
            "TALLY_WORKER_QUEUES": "default=4", "TALLY_JOB_RECONCILE_SECONDS": "1", "TALLY_BILLING_RUN_SECONDS": "0",
        ]
        var settings = Settings.defaults
        settings.backend = .production(database: try PostgresURL.parse(servers.databaseURL, setting: "db"), redis: try RedisURL.parse(servers.redisURL, setting: "redis"))
        settings.dataDir = dataDir
        let total = 400
        try await StorageBackend.withBackend(settings, logger: TestBackend.logger) { storage in
            _ = try await storage.migrations.migrate()
            let redis = try #require(storage.redis)
            let now = Int64(Date().timeIntervalSince1970 * 1_000)
            _ = try await storage.jobs.enqueue((0..<total).map { _ in JobSpec(kind: "tally.sleep", args: #"{"ms":20}"#) }, nowMillis: now)
            // Scheduled jobs too: they live in Redis's delayed set until due.
            _ = try await storage.jobs.enqueue((0..<20).map { _ in JobSpec(kind: "tally.noop", runAtMillis: now + 3_000) }, nowMillis: now)

            let worker = try TallyProcess.Server(env: env, workDir: dataDir, arguments: ["worker"])
            try await worker.waitFor("Tally worker running")
            try await Task.sleep(for: .milliseconds(800))
            #expect(try await redis.send("FLUSHALL") == .status("OK"))
            let afterFlush = try await storage.jobs.jobs(JobFilter(states: [.available, .scheduled, .retryable]), limit: 1_000, after: nil).count
            #expect(afterFlush > 0, "everything finished before the flush")

            // Until every job completed and Redis holds none: a job the reconciler re-sent just as
            // its worker finished it (delivery is at least once) is run again and then forgotten.
            let deadline = ContinuousClock.now + .seconds(90)
            var counts = try await storage.jobs.counts()
            while ((counts.first { $0.state == .completed }?.count ?? 0) < total + 20 || Self.unfinished(counts) > 0) && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(200))
                counts = try await storage.jobs.counts()
            }
            #expect(try await worker.terminate() == 0)
            #expect(counts.first { $0.state == .completed }?.count == total + 20, "\(counts)")
            #expect(Self.unfinished(counts) == 0)
            // The reconciler noticed the flush (its epoch marker was gone) and set it again.
            #expect(try await redis.send("GET", "tally:jobs:epoch") != .null)
        }
    }
}
