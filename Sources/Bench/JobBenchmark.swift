import Core
import Scheduler
import Storage
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `tally bench jobs`: enqueue no-op jobs (one at a time, then in bulk), drain them with W
/// `tally worker` processes, and count the Redis commands each job cost. Every job is durable:
/// its row is in the database before it is in Redis, and it is finished there only after it ran.
public struct JobBenchmark: Sendable {
    public struct Configuration: Sendable {
        /// Jobs enqueued in bulk.
        public var jobs = 100_000
        /// Jobs enqueued one at a time first (their own rate).
        public var singleJobs = 2_000
        /// Jobs per bulk enqueue call.
        public var batch = 1_000
        /// Worker processes.
        public var workers = 2
        /// Jobs each worker runs at once.
        public var concurrency = 50
        /// The `tally` executable the workers run.
        public var binary: String
        /// Environment for the workers (the storage settings).
        public var environment: [String: String]

        public init(binary: String, environment: [String: String]) {
            self.binary = binary
            self.environment = environment
        }
    }

    /// What one run measured.
    public struct Report: Sendable {
        public var backend: String
        public var jobs: Int
        public var workers: Int
        public var concurrency: Int
        public var singleEnqueuePerSecond: Double
        public var bulkEnqueuePerSecond: Double
        public var processedPerSecond: Double
        public var drainSeconds: Double
        /// Redis commands per job over enqueue and processing (scripts' inner commands
        /// included), from INFO commandstats; `nil` on the embedded backend.
        public var redisCommandsPerJob: Double?
        /// Script calls (EVALSHA) per job.
        public var redisCallsPerJob: Double?
        public var completed: Int

        public var json: JSONValue {
            .object([
                "backend": .string(backend), "jobs": .number(Double(jobs)), "workers": .number(Double(workers)), "concurrency": .number(Double(concurrency)),
                "single_enqueue_per_second": .number(singleEnqueuePerSecond.rounded()), "bulk_enqueue_per_second": .number(bulkEnqueuePerSecond.rounded()),
                "processed_per_second": .number(processedPerSecond.rounded()), "drain_seconds": .number((drainSeconds * 1_000).rounded() / 1_000),
                "redis_commands_per_job": redisCommandsPerJob.map { .number(($0 * 100).rounded() / 100) } ?? .null,
                "redis_calls_per_job": redisCallsPerJob.map { .number(($0 * 100).rounded() / 100) } ?? .null,
                "completed": .number(Double(completed)),
            ])
        }

        public var text: String {
            var lines = [
                "jobs bench (\(backend)): \(jobs) no-op jobs, \(workers) worker processes x \(concurrency)",
                String(format: "  enqueue, one at a time: %.0f jobs/s", singleEnqueuePerSecond),
                String(format: "  enqueue, bulk:          %.0f jobs/s", bulkEnqueuePerSecond),
                String(format: "  processed:              %.0f jobs/s (drained in %.2f s)", processedPerSecond, drainSeconds),
                "  completed:              \(completed) of \(jobs)",
            ]
            if let redisCommandsPerJob, let redisCallsPerJob {
                lines.append(String(format: "  redis per job:          %.2f commands (%.3f script calls)", redisCommandsPerJob, redisCallsPerJob))
            }
            return lines.joined(separator: "\n")
        }
    }

    public let configuration: Configuration

    public init(_ configuration: Configuration) {
        self.configuration = configuration
    }

    static var nowMillis: Int64 { SystemClock().nowMillis }

    public func run(storage: StorageBackend, backendName: String) async throws -> Report {
        let queue = "bench-\(UInt32.random(in: 0...UInt32.max))"
        let spec = JobSpec(kind: "tally.noop", queue: queue, maxAttempts: 3)
        let statsBefore = try await commandStats(storage)

        let singleStart = ContinuousClock.now
        for _ in 0..<configuration.singleJobs { _ = try await storage.jobs.enqueue([spec], nowMillis: Self.nowMillis) }
        let singleSeconds = (ContinuousClock.now - singleStart).totalSeconds

        let bulkStart = ContinuousClock.now
        var remaining = configuration.jobs
        while remaining > 0 {
            let count = min(configuration.batch, remaining)
            _ = try await storage.jobs.enqueue(Array(repeating: spec, count: count), nowMillis: Self.nowMillis)
            remaining -= count
        }
        let bulkSeconds = (ContinuousClock.now - bulkStart).totalSeconds
        let total = configuration.jobs + configuration.singleJobs

        var environment = configuration.environment
        environment["TALLY_WORKER_QUEUES"] = "\(queue)=\(configuration.concurrency)"
        let logs = FileManager.default.temporaryDirectory.appendingPathComponent("tally-bench-jobs-\(queue)").path
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: logs) }
        var workers: [Process] = []
        defer { for worker in workers where worker.isRunning { kill(worker.processIdentifier, SIGKILL) } }
        for index in 0..<configuration.workers {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: configuration.binary)
            process.arguments = ["worker"]
            process.environment = environment
            let log = logs + "/worker-\(index).err"
            _ = FileManager.default.createFile(atPath: log, contents: nil)
            _ = FileManager.default.createFile(atPath: logs + "/worker-\(index).log", contents: nil)
            process.standardOutput = FileHandle(forWritingAtPath: logs + "/worker-\(index).log")
            process.standardError = FileHandle(forWritingAtPath: log)
            try process.run()
            workers.append(process)
        }
        // The clock starts once every worker says it runs (start-up is not throughput).
        let ready = ContinuousClock.now + .seconds(60)
        for index in 0..<configuration.workers {
            while !((try? String(contentsOfFile: logs + "/worker-\(index).err", encoding: .utf8)) ?? "").contains("Tally worker running") {
                guard ContinuousClock.now < ready, workers[index].isRunning else {
                    throw BenchError("worker \(index) did not start: \((try? String(contentsOfFile: logs + "/worker-\(index).err", encoding: .utf8)) ?? "")")
                }
                try await Task.sleep(for: .milliseconds(5))
            }
        }
        let drainStart = ContinuousClock.now
        var completed = 0
        let deadline = ContinuousClock.now + .seconds(600)
        while completed < total && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
            completed = try await storage.jobs.counts().filter { $0.queue == queue && $0.state == .completed }.reduce(0) { $0 + $1.count }
        }
        let drainSeconds = (ContinuousClock.now - drainStart).totalSeconds
        for worker in workers { worker.terminate() }
        let stopBy = ContinuousClock.now + .seconds(60)
        for (index, worker) in workers.enumerated() {
            while worker.isRunning {
                guard ContinuousClock.now < stopBy else {
                    let log = (try? String(contentsOfFile: logs + "/worker-\(index).log", encoding: .utf8)) ?? ""
                    throw BenchError("worker \(index) did not stop within 60 s of SIGTERM; its log ends: \(log.suffix(2_000))")
                }
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        let statsAfter = try await commandStats(storage)
        _ = try await storage.jobs.purge(JobFilter(states: [.completed], queue: queue), limit: total + 1)

        var commandsPerJob: Double?
        var callsPerJob: Double?
        if let before = statsBefore, let after = statsAfter {
            let commands = after.filter { !["info", "evalsha", "eval"].contains($0.key) }.reduce(0) { $0 + $1.value - (before[$1.key] ?? 0) }
            let calls = (after["evalsha"] ?? 0) - (before["evalsha"] ?? 0) + (after["eval"] ?? 0) - (before["eval"] ?? 0)
            commandsPerJob = Double(commands + calls) / Double(total)
            callsPerJob = Double(calls) / Double(total)
        }
        return Report(
            backend: backendName, jobs: total, workers: configuration.workers, concurrency: configuration.concurrency,
            singleEnqueuePerSecond: Double(configuration.singleJobs) / max(singleSeconds, 1e-9),
            bulkEnqueuePerSecond: Double(configuration.jobs) / max(bulkSeconds, 1e-9),
            processedPerSecond: Double(completed) / max(drainSeconds, 1e-9), drainSeconds: drainSeconds,
            redisCommandsPerJob: commandsPerJob, redisCallsPerJob: callsPerJob, completed: completed
        )
    }

    /// Calls per command from INFO commandstats (nil without Redis).
    private func commandStats(_ storage: StorageBackend) async throws -> [String: Int]? {
        guard let redis = storage.redis, let text = try await redis.send("INFO", "commandstats").string else { return nil }
        var stats: [String: Int] = [:]
        for line in text.split(whereSeparator: \.isNewline) where line.hasPrefix("cmdstat_") {
            let parts = line.dropFirst("cmdstat_".count).split(separator: ":", maxSplits: 1)
            guard parts.count == 2, let calls = parts[1].split(separator: ",").first?.split(separator: "=").last.flatMap({ Int($0) }) else { continue }
            stats[String(parts[0])] = calls
        }
        return stats
    }
}
