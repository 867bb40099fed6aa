import Bench
import Core
import Foundation
import PostgresNIO
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Storage
import TallyTestSupport
import Testing

/// The real `tally` binary: configuration errors, serve with bootstrap and graceful stop, CLI.
@Suite struct ProcessTests {
    /// A fresh database on `backend` with its data directory made, and the environment a `tally`
    /// process needs to use it (`envFor`); the directory is removed after `body`.
    static func withProcessEnvironment<T: Sendable>(_ backend: TestBackend, _ body: (Settings, [String: String]) async throws -> T) async throws -> T {
        try await backend.withFreshSettings { settings in
            try FileManager.default.createDirectory(atPath: settings.dataDir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: settings.dataDir) }
            return try await body(settings, envFor(settings))
        }
    }

    static func envFor(_ settings: Settings) -> [String: String] {
        var env = ["TALLY_DATA_DIR": settings.dataDir]
        if case .production(let database, let redis) = settings.backend {
            env["TALLY_DATABASE_URL"] = "postgres://\(database.username)@\(database.host):\(database.port)/\(database.database)?sslmode=disable"
            env["TALLY_REDIS_URL"] = "redis://\(redis.host):\(redis.port)/\(redis.database)"
            env["TALLY_REDIS_KEY_PREFIX"] = settings.redisKeyPrefix
        }
        return env
    }

    @Test(arguments: [
        (["TALLY_HTTP_ADDRESS": "bogus"], "TALLY_HTTP_ADDRESS"),
        (["TALLY_DATABASE_URL": "postgres://u@127.0.0.1/x"], "TALLY_REDIS_URL"),
        (["TALLY_LOG_LEVEL": "shouty"], "TALLY_LOG_LEVEL"),
        (["TALLY_ENV": "qa"], "TALLY_ENV"),
    ])
    func badConfigurationStopsStartWithOneLine(env: [String: String], setting: String) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tally-badcfg-\(UUID().uuidString)").path
        var env = env
        env["TALLY_DATA_DIR"] = dir
        let result = try await TallyProcess.run(["serve"], env: env)
        #expect(result.status == 78)
        let lines = result.err.split(separator: "\n")
        #expect(lines.count == 1, "stderr: \(result.err)")
        #expect(lines.first?.contains(setting) == true)
        #expect(lines.first?.hasPrefix("tally: invalid configuration: ") == true)
        #expect(!FileManager.default.fileExists(atPath: dir), "a failed start must not create the data dir")
    }

    @Test func aMissingConfigFileIsAConfigurationError() async throws {
        let result = try await TallyProcess.run(["serve", "--config", "/nonexistent/tally.json"], env: [:])
        #expect(result.status == 78)
        #expect(result.err.contains("TALLY_CONFIG_FILE"))
    }

    @Test func aConfigFileSuppliesSettingsAndTheEnvironmentWins() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tally-cfg-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = dir + "/tally.json"
        try #"{"http": {"address": "not-an-address"}, "data_dir": "\#(dir)/data"}"#.write(toFile: file, atomically: true, encoding: .utf8)
        let fromFile = try await TallyProcess.run(["migrate", "--config", file], env: [:])
        #expect(fromFile.status == 78)  // migrate validates every setting, the file's bad address included
        #expect(fromFile.err.contains("TALLY_HTTP_ADDRESS"))
        let overridden = try await TallyProcess.run(["migrate", "--config", file], env: ["TALLY_HTTP_ADDRESS": "127.0.0.1:9"])
        #expect(overridden.status == 0, "\(overridden.err)")
        #expect(FileManager.default.fileExists(atPath: dir + "/data/tally.sqlite"))
    }

    /// `tally bench plain-server` is Hummingbird with two routes: `GET /health/live` answers as
    /// Tally's does, `POST /v1/entitlements/check` answers in a check's shape, nothing else is
    /// routed, and the bench's plain phase loads it with nothing but 200s. A malformed
    /// `--plain-url` is refused before any load.
    @Test func plainServerServesTheBaselineGet() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tally-plain-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let server = try TallyProcess.Server(env: [:], workDir: dir, arguments: ["bench", "plain-server", "--address", "127.0.0.1:0"])
        try await server.waitUntilListening()
        let live = try await server.request("GET", "/health/live")
        #expect(live.status == 200 && live.body["status"] as? String == "ok")
        #expect(try await server.request("GET", "/v1/tenants").status == 404)
        let url = try #require(URL(string: server.baseURL))
        let measured = try await CheckBenchmark().plain(host: "127.0.0.1", port: try #require(url.port), connections: 2, duration: .seconds(2))
        #expect(measured.requests > 0 && measured.checksPerSecond > 0)
        #expect(measured.statuses == ["200": measured.requests], "\(measured.statuses)")

        // Its check-shaped POST: the check benchmark's request (its key, type and body), answered
        // with the same header fields as Tally's answer and a body of about the same size. Sent
        // through URLSession: a blocking socket read here would hold one of the few threads the
        // in-process server needs.
        let plainPort = try #require(url.port)
        try await TestServer.run(.sqlite) { tally in
            let setup = BenchSetup(host: "127.0.0.1", port: try #require(tally.client.port), operatorToken: tally.operatorToken)
            let text = String(buffer: try await CheckBenchmark().prepare(setup: setup, runID: "t\(UInt32.random(in: 0...UInt32.max))"))
            let parts = text.components(separatedBy: "\r\n\r\n")
            let fields = (parts.first ?? "").components(separatedBy: "\r\n").dropFirst().compactMap { line -> (String, String)? in
                guard let colon = line.firstIndex(of: ":") else { return nil }
                return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
            }
            func answer(_ port: Int) async throws -> (names: Set<String>, body: Data) {
                var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/v1/entitlements/check")!)
                request.httpMethod = "POST"
                request.timeoutInterval = 30
                for (name, value) in fields where ["authorization", "content-type"].contains(name.lowercased()) {
                    request.setValue(value, forHTTPHeaderField: name)
                }
                request.httpBody = Data(parts.dropFirst().joined().utf8)
                let (body, response) = try await URLSession.shared.data(for: request)
                let http = try #require(response as? HTTPURLResponse)
                #expect(http.statusCode == 200, "\(String(decoding: body, as: UTF8.self))")
                return (Set(http.allHeaderFields.keys.compactMap { ($0 as? String)?.lowercased() }), body)
            }
            let real = try await answer(setup.port), plain = try await answer(plainPort)
            #expect(real.names.count >= 10)
            #expect(real.names == plain.names, "\(real.names.symmetricDifference(plain.names))")
            #expect(abs(real.body.count - plain.body.count) <= 8, "\(String(decoding: real.body, as: UTF8.self)) against \(String(decoding: plain.body, as: UTF8.self))")
            let realKeys = try #require(try JSONSerialization.jsonObject(with: real.body) as? [String: Any]).keys
            let plainKeys = try #require(try JSONSerialization.jsonObject(with: plain.body) as? [String: Any]).keys
            #expect(Set(realKeys) == Set(plainKeys))
        }
        #expect(try await server.terminate() == 0)

        for command in [["bench", "check", "--http-only", "--plain-url", "localhost:1"], ["bench", "ingest", "--plain-url", "https://x"]] {
            let refused = try await TallyProcess.run(command, env: [:])
            #expect(refused.status != 0 && refused.err.contains("--plain-url must look like"), "\(refused.err)")
        }
    }

    /// `tally bench plain-server --database-url` also serves a durable `POST /v1/events`: each
    /// event's id is group-committed into `bench_plain_events` before the answer, once (a repeat
    /// is answered as a duplicate and adds no row), and a body without an id is refused. The
    /// bench's plain durable phase loads it with nothing but 200s, and the table then holds
    /// exactly one row per event it sent. Without a database the phase finds no such route.
    @Test func plainServerCommitsEventsDurably() async throws {
        guard TestBackend.available.contains(.postgres) else { return }
        try await TestBackend.postgres.withFreshSettings { settings in
            guard case .production(let database, _) = settings.backend else { throw TestSetupError("expected a PostgreSQL backend") }
            let credentials = database.username + (database.password.map { ":\($0)" } ?? "")
            let url = "postgres://\(credentials)@\(database.host):\(database.port)/\(database.database)?sslmode=disable"
            let dir = settings.dataDir
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let server = try TallyProcess.Server(env: [:], workDir: dir, arguments: ["bench", "plain-server", "--address", "127.0.0.1:0", "--database-url", url])
            try await server.waitUntilListening()
            let event: [String: Any] = ["specversion": "1.0", "id": "one", "source": "s", "type": "t", "time": "2026-12-01T00:00:00Z"]
            let first = try await server.request("POST", "/v1/events", json: event)
            #expect(first.status == 200 && first.body["accepted"] as? Int == 1, "\(first.body)")
            let again = try await server.request("POST", "/v1/events", json: event)
            #expect(again.status == 200 && again.body["duplicates"] as? Int == 1, "\(again.body)")
            #expect(try await server.request("POST", "/v1/events", json: ["source": "s"]).status == 400)
            // The same new id sent many times at once, all queued into one group: exactly one is
            // new. A lock on the table holds one event's commit, so the copies queue behind it.
            let configuration = URLSessionConfiguration.ephemeral
            configuration.httpMaximumConnectionsPerHost = 32
            let session = URLSession(configuration: configuration)
            @Sendable func post(_ id: String) async throws -> Int? {
                var request = URLRequest(url: URL(string: server.baseURL + "/v1/events")!)
                request.httpMethod = "POST"
                request.timeoutInterval = 30
                request.httpBody = Data(#"{"specversion":"1.0","id":"\#(id)","source":"s","type":"t"}"#.utf8)
                let (data, _) = try await session.data(for: request)
                return (try? JSONSerialization.jsonObject(with: data) as? [String: Any])?["accepted"] as? Int
            }
            let client = PostgresClient(
                configuration: try StorageBackend.postgresConfiguration(database, poolSize: 2),
                backgroundLogger: PostgresBackgroundLogHandler.wrapping(TestBackend.logger)
            )
            try await withThrowingTaskGroup(of: Void.self) { runner in
                runner.addTask { await client.run() }
                defer { runner.cancelAll() }
                let (held, racing) = try await client.withConnection { locker in
                    try await locker.query("BEGIN", logger: TestBackend.logger)
                    try await locker.query("LOCK TABLE bench_plain_events IN EXCLUSIVE MODE", logger: TestBackend.logger)
                    async let held = post("held")
                    var waiting = 0
                    while waiting == 0 {  // until the held event's insert waits for the lock
                        try await Task.sleep(for: .milliseconds(20))
                        let rows = try await client.query(
                            "SELECT count(*)::int8 FROM pg_locks WHERE relation = 'bench_plain_events'::regclass AND NOT granted", logger: TestBackend.logger
                        )
                        for try await count in rows.decode(Int64.self) { waiting = Int(count) }
                    }
                    async let copies = withThrowingTaskGroup(of: Int?.self) { group in
                        for _ in 0..<20 { group.addTask { try await post("racing") } }
                        return try await group.reduce(into: [Int?]()) { $0.append($1) }
                    }
                    try await Task.sleep(for: .milliseconds(300))  // for the copies to queue (a lower bound only)
                    try await locker.query("COMMIT", logger: TestBackend.logger)
                    return (try await held, try await copies)
                }
                #expect(held == 1)
                #expect(racing.count == 20 && racing.allSatisfy { $0 != nil } && racing.compactMap { $0 }.reduce(0, +) == 1, "\(racing)")

                let port = try #require(URL(string: server.baseURL)?.port)
                let load = try #require(try await IngestBenchmark.plainDurable(host: "127.0.0.1", port: port, connections: 4, duration: .seconds(2), runID: "t"))
                #expect(load.requests > 0 && load.accepted == load.requests && load.duplicates == 0, "\(load.requests) \(load.accepted)")
                #expect(load.failedResponses.isEmpty && load.connectionErrors == 0)
                #expect(try await server.terminate() == 0)
                var rows = -1
                for try await count in try await client.query("SELECT count(*) FROM bench_plain_events", logger: TestBackend.logger).decode(Int.self) { rows = count }
                #expect(rows == load.accepted + 4)  // the load's events, its probe, "one", "held" and "racing"
            }
        }
        let bare = FileManager.default.temporaryDirectory.appendingPathComponent("tally-plain-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: bare, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: bare) }
        let plain = try TallyProcess.Server(env: [:], workDir: bare, arguments: ["bench", "plain-server", "--address", "127.0.0.1:0"])
        try await plain.waitUntilListening()
        let port = try #require(URL(string: plain.baseURL)?.port)
        #expect(try await IngestBenchmark.plainDurable(host: "127.0.0.1", port: port, connections: 2, duration: .seconds(1), runID: "t") == nil)
        #expect(try await plain.terminate() == 0)
    }

    /// `TALLY_ACCESS_LOG`: every request gets a JSON line by default; `errors` keeps only those
    /// answered 400 and up; `off` none. The lines are read from a real server's standard output.
    @Test(arguments: [("", ["/health/live 200", "/NotFound 404", "/health/live 200"]), ("errors", ["/NotFound 404"]), ("off", [])])
    func accessLogLinesFollowTheSetting(mode: String, expected: [String]) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tally-access-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let server = try TallyProcess.Server(
            env: ["TALLY_DATA_DIR": dir + "/data", "TALLY_ACCESS_LOG": mode, "TALLY_LOG_LEVEL": "info"], workDir: dir, captureStandardOutput: true
        )
        try await server.waitUntilListening()
        #expect(try await server.request("GET", "/health/live").status == 200)
        #expect(try await server.request("GET", "/no-such-route").status == 404)
        #expect(try await server.request("GET", "/health/live").status == 200)
        #expect(try await server.terminate() == 0)
        let requests = server.logLines.filter { $0["msg"] as? String == "request" }
        let seen = requests.map { "\($0["http.route"] as? String ?? "?") \($0["http.status"] as? String ?? "?")" }
        #expect(seen == expected, "access lines: \(seen)")
        for line in requests {
            #expect((line["request.id"] as? String)?.hasPrefix("req_") == true)
            #expect((line["ts"] as? String)?.hasSuffix("Z") == true)
            #expect((line["duration.ms"] as? String)?.wholeMatch(of: /[0-9]+\.[0-9]{3}/) != nil, "duration: \(line["duration.ms"] ?? "none")")
        }
        #expect(server.logLines.contains { $0["level"] as? String == "info" }, "the server logs at info either way")
    }

    @Test(arguments: TestBackend.available)
    func serveBootstrapsAnOperatorKeyOnceAndStopsCleanlyOnSIGTERM(backend: TestBackend) async throws {
        try await Self.withProcessEnvironment(backend) { settings, env in

            let first = try TallyProcess.Server(env: env, workDir: settings.dataDir)
            try await first.waitUntilListening()
            let keyPath = settings.dataDir + "/operator-key"
            let key = try String(contentsOfFile: keyPath, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(key.hasPrefix("tly_"))
            #expect(first.stderr.contains(key))
            let mode = try #require(try FileManager.default.attributesOfItem(atPath: keyPath)[.posixPermissions] as? Int)
            #expect(mode == 0o600)

            #expect(try await first.request("GET", "/health/ready").status == 200)
            let created = try await first.request("POST", "/v1/tenants", token: key, json: ["slug": "proc", "name": "Process"])
            #expect(created.status == 201)
            let tenantID = try #require(created.body["id"] as? String)
            let tenantKey = try await first.request("POST", "/v1/tenants/\(tenantID)/api-keys", token: key, json: ["name": "k"])
            #expect(tenantKey.status == 201)
            #expect(try await first.terminate() == 0)

            // A restart keeps the key and prints no new one.
            let second = try TallyProcess.Server(env: env, workDir: settings.dataDir)
            try await second.waitUntilListening()
            #expect(!second.stderr.contains("tly_"))
            #expect(try await second.request("GET", "/v1/tenants/\(tenantID)", token: key).status == 200)
            #expect(try await second.terminate() == 0)
        }
    }

    @Test func sigtermDrainsAnInFlightRequest() async throws {
        try await TestBackend.sqlite.withFreshSettings { settings in
            try FileManager.default.createDirectory(atPath: settings.dataDir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: settings.dataDir) }
            let server = try TallyProcess.Server(env: Self.envFor(settings), workDir: settings.dataDir)
            try await server.waitUntilListening()
            let key = try String(contentsOfFile: settings.dataDir + "/operator-key", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            let port = try #require(Int(server.baseURL.split(separator: ":").last ?? ""))

            // Send the head and half the body, stop the server, then finish the request.
            let body = #"{"slug": "drained", "name": "Finished after SIGTERM"}"#
            let connection = try RawHTTPConnection(port: port)
            connection.send("POST /v1/tenants HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(key)\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n")
            connection.send(String(body.prefix(10)))
            try await Task.sleep(for: .milliseconds(300))
            server.process.terminate()
            try await Task.sleep(for: .milliseconds(300))
            #expect(server.process.isRunning, "the server must wait for the in-flight request")
            connection.send(String(body.dropFirst(10)))
            let response = await connection.readAll()
            #expect(response.hasPrefix("HTTP/1.1 201"), "\(response)")
            #expect(response.contains("drained"))
            #expect(try await server.terminate() == 0)
        }
    }

    @Test(arguments: TestBackend.available)
    func cliManagesTenantsAndKeys(backend: TestBackend) async throws {
        try await backend.withFreshSettings { settings in
            defer { try? FileManager.default.removeItem(atPath: settings.dataDir) }
            try await cli(env: Self.envFor(settings))
        }
    }

    func cli(env: [String: String]) async throws {
        let created = try await TallyProcess.run(["tenants", "create", "--slug", "cli-co", "--name", "CLI Co", "--json"], env: env)
        #expect(created.status == 0, "\(created.err)")
        let tenant = try #require(try JSONSerialization.jsonObject(with: Data(created.out.utf8)) as? [String: Any])
        let tenantID = try #require(tenant["id"] as? String)

        let duplicate = try await TallyProcess.run(["tenants", "create", "--slug", "cli-co", "--name", "Again"], env: env)
        #expect(duplicate.status == 1)
        #expect(duplicate.err.contains("[conflict]"))

        let list = try await TallyProcess.run(["tenants", "list"], env: env)
        #expect(list.out.contains(tenantID))

        let key = try await TallyProcess.run(["api-keys", "create", "--tenant", "cli-co", "--name", "ci", "--scope", "keys:read", "--json"], env: env)
        #expect(key.status == 0, "\(key.err)")
        let issued = try #require(try JSONSerialization.jsonObject(with: Data(key.out.utf8)) as? [String: Any])
        let keyID = try #require(issued["id"] as? String)
        #expect((issued["secret"] as? String)?.hasPrefix("tly_") == true)
        #expect(issued["scopes"] as? [String] == ["keys:read"])

        let keys = try await TallyProcess.run(["api-keys", "list", "--tenant", tenantID], env: env)
        #expect(keys.out.contains(keyID))
        #expect(!keys.out.contains(issued["secret"] as! String))

        let bothFlags = try await TallyProcess.run(["api-keys", "create", "--tenant", "cli-co", "--operator"], env: env)
        #expect(bothFlags.status != 0)

        #expect(try await TallyProcess.run(["api-keys", "revoke", keyID], env: env).status == 0)
        #expect(try await TallyProcess.run(["api-keys", "list", "--tenant", "cli-co"], env: env).out.contains("revoked"))
        let suspended = try await TallyProcess.run(["tenants", "suspend", "cli-co"], env: env)
        #expect(suspended.out.contains("suspended"))
        let missing = try await TallyProcess.run(["tenants", "suspend", "no-such"], env: env)
        #expect(missing.status == 1)
        #expect(missing.err.contains("[not_found]"))
        let version = try await TallyProcess.run(["version"], env: env)
        #expect(version.out.hasPrefix("tally "))
    }
}
