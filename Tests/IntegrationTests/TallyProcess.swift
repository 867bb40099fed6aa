import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import TallyTestSupport

/// Runs the real `tally` executable built beside the tests.
enum TallyProcess {
    /// `TALLY_BIN`, or `tally` next to the test bundle (both live in `.build/<triple>/debug`).
    static var binary: String {
        if let path = ProcessInfo.processInfo.environment["TALLY_BIN"] { return path }
        let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [dir, dir.deletingLastPathComponent()] {
            let path = candidate.appendingPathComponent("tally").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return FileManager.default.currentDirectoryPath + "/.build/debug/tally"
    }

    /// The environment for `settings`: nothing inherited but PATH, so the parent's TALLY_* never leak in.
    static func environment(_ settings: [String: String]) -> [String: String] {
        var env = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "TALLY_LOG_LEVEL": "warning"]
        env.merge(settings) { _, new in new }
        return env
    }

    /// Runs to completion on a dispatch thread (never blocking the cooperative pool).
    static func run(_ arguments: [String], env: [String: String]) async throws -> (status: Int32, out: String, err: String) {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try runBlocking(arguments, env: env) })
            }
        }
    }

    private static func runBlocking(_ arguments: [String], env: [String: String]) throws -> (status: Int32, out: String, err: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.environment = environment(env)
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
    }

    /// A running `tally serve` whose standard error (and, when asked, standard output: the log
    /// lines) goes to a file we can poll.
    final class Server: @unchecked Sendable {
        let process = Process()
        let stderrPath: String
        let stdoutPath: String?
        private(set) var baseURL = ""

        init(env: [String: String], workDir: String, arguments: [String] = ["serve"], captureStandardOutput: Bool = false) throws {
            stderrPath = workDir + "/\(arguments[0])-\(UUID().uuidString).err"
            _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
            stdoutPath = captureStandardOutput ? workDir + "/\(arguments[0])-\(UUID().uuidString).out" : nil
            if let stdoutPath { _ = FileManager.default.createFile(atPath: stdoutPath, contents: nil) }
            process.executableURL = URL(fileURLWithPath: TallyProcess.binary)
            process.arguments = arguments
            process.environment = TallyProcess.environment(env.merging(["TALLY_HTTP_ADDRESS": "127.0.0.1:0"]) { a, _ in a })
            process.standardOutput = FileHandle(forWritingAtPath: stdoutPath ?? "/dev/null")
            process.standardError = FileHandle(forWritingAtPath: stderrPath)
            try process.run()
        }

        var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

        /// The log lines written so far, each parsed as JSON (needs `captureStandardOutput`).
        var logLines: [[String: Any]] {
            guard let stdoutPath, let text = try? String(contentsOfFile: stdoutPath, encoding: .utf8) else { return [] }
            return text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        }

        /// Waits (bounded) for the "listening on" line and remembers the URL.
        func waitUntilListening(timeout: Duration = .seconds(60)) async throws {
            let deadline = ContinuousClock.now + timeout
            while ContinuousClock.now < deadline {
                if let range = stderr.range(of: #"listening on (http://[0-9.:]+)"#, options: .regularExpression) {
                    baseURL = String(stderr[range].dropFirst("listening on ".count))
                    return
                }
                guard process.isRunning else { throw TestSetupError("tally serve exited early: \(stderr)") }
                try await Task.sleep(for: .milliseconds(50))
            }
            throw TestSetupError("tally serve did not start listening: \(stderr)")
        }

        /// Waits (bounded) until standard error contains `text`.
        func waitFor(_ text: String, timeout: Duration = .seconds(60)) async throws {
            let deadline = ContinuousClock.now + timeout
            while ContinuousClock.now < deadline {
                if stderr.contains(text) { return }
                guard process.isRunning else { throw TestSetupError("tally \(process.arguments?.first ?? "") exited early: \(stderr)") }
                try await Task.sleep(for: .milliseconds(50))
            }
            throw TestSetupError("tally \(process.arguments?.first ?? "") never printed \"\(text)\": \(stderr)")
        }

        /// Sends SIGTERM and waits (bounded) for the exit status.
        func terminate(timeout: Duration = .seconds(30)) async throws -> Int32 {
            process.terminate()
            let deadline = ContinuousClock.now + timeout
            while process.isRunning {
                guard ContinuousClock.now < deadline else {
                    kill(process.processIdentifier, SIGKILL)
                    throw TestSetupError("tally serve did not stop within \(timeout) of SIGTERM")
                }
                try await Task.sleep(for: .milliseconds(50))
            }
            return process.terminationStatus
        }

        deinit { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }

        /// Sends SIGKILL: no shutdown, no flush, exactly like a crash.
        func crash() async {
            kill(process.processIdentifier, SIGKILL)
            while process.isRunning { try? await Task.sleep(for: .milliseconds(20)) }
        }

        /// One HTTP request to the server.
        func request(_ method: String, _ path: String, token: String? = nil, json: Any? = nil) async throws -> (status: Int, body: [String: Any]) {
            var request = URLRequest(url: URL(string: baseURL + path)!)
            request.timeoutInterval = 30
            request.httpMethod = method
            if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
            if let json {
                request.httpBody = try JSONSerialization.data(withJSONObject: json)
                request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            }
            let (data, response) = try await URLSession.shared.data(for: request)
            let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
            return ((response as? HTTPURLResponse)?.statusCode ?? 0, object)
        }
    }
}
