import Core
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A PostgreSQL cluster and a Redis server of a test's own, on free ports on 127.0.0.1, for
/// tests that stop them (SIGSTOP) and must not stall the servers other tests share. Needs the
/// Debian packages scripts/test installs, and root (PostgreSQL runs as the `postgres` user).
public final class DedicatedServers: @unchecked Sendable {
    public let directory: String
    public let postgresPort: Int
    public let redisPort: Int
    private let pgBin: String

    public var databaseURL: String { "postgres://postgres@127.0.0.1:\(postgresPort)/postgres?sslmode=disable" }
    public var redisURL: String { "redis://127.0.0.1:\(redisPort)/0" }

    /// Whether this machine can run them (PostgreSQL's binaries, redis-server, runuser, root).
    public static var available: Bool {
        getuid() == 0 && postgresBin() != nil && FileManager.default.isExecutableFile(atPath: "/usr/bin/redis-server")
            && FileManager.default.isExecutableFile(atPath: "/usr/sbin/runuser")
    }

    static func postgresBin() -> String? {
        let root = "/usr/lib/postgresql"
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        return versions.compactMap(Int.init).max().map { "\(root)/\($0)/bin" }
    }

    public init() throws {
        guard let pgBin = Self.postgresBin() else { throw TestSetupError("PostgreSQL binaries are missing") }
        self.pgBin = pgBin
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("tally-dedicated-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory + "/sock", withIntermediateDirectories: true)
        postgresPort = try Self.freePort()
        redisPort = try Self.freePort()
        try Self.run("/bin/chown", ["-R", "postgres:postgres", directory])
        try Self.run("/usr/sbin/runuser", ["-u", "postgres", "--", pgBin + "/initdb", "-D", directory + "/pg", "-U", "postgres", "-A", "trust", "--no-sync"])
        try Self.run("/usr/sbin/runuser", [
            "-u", "postgres", "--", pgBin + "/pg_ctl", "-D", directory + "/pg", "-l", directory + "/pg.log", "-w",
            "-o", "-p \(postgresPort) -k \(directory)/sock -c listen_addresses=127.0.0.1 -c fsync=off", "start",
        ])
        // Daemonized with a pid file: no child of ours to reap (Foundation's Process can wait
        // for ever on one), and nothing left behind if the test process dies.
        try Self.run("/usr/bin/redis-server", [
            "--port", "\(redisPort)", "--bind", "127.0.0.1", "--dir", directory, "--save", "", "--appendonly", "no",
            "--loglevel", "warning", "--daemonize", "yes", "--pidfile", directory + "/redis.pid", "--logfile", directory + "/redis.log",
        ])
        let deadline = Date().addingTimeInterval(10)
        while !Self.accepts(port: redisPort) {
            guard Date() < deadline else { throw TestSetupError("redis-server did not start") }
            usleep(20_000)
        }
    }

    /// The postmaster and every process it started.
    public var postgresPIDs: [pid_t] {
        guard let text = try? String(contentsOfFile: directory + "/pg/postmaster.pid", encoding: .utf8),
              let first = text.split(separator: "\n").first, let postmaster = pid_t(first) else { return [] }
        let children = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { entry -> pid_t? in
            guard let pid = pid_t(entry), let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return nil }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 2 && pid_t(fields[1]) == postmaster ? pid : nil
        }
        return [postmaster] + children
    }

    public var redisPID: pid_t {
        (try? String(contentsOfFile: directory + "/redis.pid", encoding: .utf8)).flatMap { pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 0
    }

    /// Sends `signal` to Redis, or to every PostgreSQL process.
    public func signalRedis(_ signal: Int32) {
        let pid = redisPID
        if pid > 0 { kill(pid, signal) }
    }
    public func signalPostgres(_ signal: Int32) { for pid in postgresPIDs { kill(pid, signal) } }

    public func stop() {
        signalPostgres(SIGCONT)
        signalRedis(SIGCONT)
        try? Self.run("/usr/sbin/runuser", ["-u", "postgres", "--", pgBin + "/pg_ctl", "-D", directory + "/pg", "-m", "immediate", "stop"])
        signalRedis(SIGKILL)
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Runs a command to completion through `system(3)` (fork and waitpid). Not `Process`: it
    /// notices a child's exit when a descriptor the child inherited closes, and `pg_ctl start`
    /// leaves the server it starts holding that descriptor, so `Process` would wait for ever.
    static func run(_ path: String, _ arguments: [String]) throws {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("tally-cmd-\(UUID().uuidString).log").path
        defer { try? FileManager.default.removeItem(atPath: output) }
        let quoted = ([path] + arguments).map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
        let status = system("\(quoted) </dev/null >'\(output)' 2>&1")
        guard status == 0 else {
            let message = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
            throw TestSetupError("\(path) \(arguments.joined(separator: " ")) failed (\(status)): \(message)")
        }
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestSetupError("socket failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw TestSetupError("bind failed") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    static func accepts(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}
