import ArgumentParser
import Core
import HTTPFront
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import PostgresNIO
import ServiceLifecycle
import Storage

/// `tally bench plain-server`: Hummingbird with no middleware and the default request context,
/// serving `GET /health/live`, the "plain Hummingbird GET" the issue's HTTP floors are written
/// against. `tally bench check --plain-url`, `tally bench ingest --plain-url` and `tally bench
/// fairness --plain-url` load it in the same run as Tally, so a figure can be read against what
/// this machine's HTTP stack does bare at that moment.
///
/// It also answers `POST /v1/entitlements/check` the way Hummingbird alone would answer a
/// request of a check's shape: it reads the body and answers a fixed check answer, with the
/// header fields Tally's has and a body of the same size, and no logic. `tally bench check`
/// loads it with the very request it sends Tally, so what the request's shape costs (a body to
/// read, a larger answer) is told apart from what Tally's work on it costs.
///
/// With `--database-url` it also answers `POST /v1/events` durably: it finds the event's id by
/// a byte search, waits for `PlainEventCommitter` to group-commit the id and the body into
/// PostgreSQL, and answers a fixed single-event answer (accepted, or duplicate for an id it has).
/// `tally bench ingest --plain-url` loads it with the same single events as Tally: what a durable,
/// deduplicated acknowledgement costs on this machine without Tally's work.
struct BenchPlainServer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plain-server",
        abstract: "Serve a plain Hummingbird GET /health/live, a check-shaped POST and, with a database, a durable event POST (no middleware): baselines for tally bench.",
        discussion: """
            Built into the same binary from the same Hummingbird as tally serve. GET /health/live answers as Tally's does; \
            POST /v1/entitlements/check reads its body and answers a fixed check answer shaped as Tally's (the same header \
            fields, a body of the same size), without looking at either. With --database-url, POST /v1/events answers once \
            the event's id and body are group-committed into the table bench_plain_events (a repeated id: a duplicate). \
            SIGTERM or SIGINT stops it.
            """
    )

    @Option(help: "host:port to listen on (port 0: any free port, announced on standard error).") var address = "127.0.0.1:18099"
    @Option(name: .customLong("database-url"), help: "A PostgreSQL URL: also serve a durable POST /v1/events, group-committed into the table bench_plain_events.")
    var databaseURL: String?

    func validate() throws {
        guard HostPort.split(address, defaultPort: nil) != nil else { throw ValidationError("--address must look like 127.0.0.1:18099") }
    }

    func run() async throws {
        guard let (host, port) = HostPort.split(address, defaultPort: nil) else { throw ValidationError("--address must look like 127.0.0.1:18099") }
        let router = Router()
        router.get("health/live") { _, _ in TallyHTTPServer.liveText }
        router.post("v1/entitlements/check") { request, _ in
            _ = try await request.body.collect(upTo: Self.checkBodyLimit)
            return Response(status: .ok, headers: Self.checkAnswerFields, body: .init(byteBuffer: Self.checkAnswerBody))
        }
        let logger = Logger(label: "tally.plain-server")
        var services: [any Service] = []
        if let databaseURL {
            let url = try PostgresURL.parse(databaseURL, setting: "--database-url")
            let client = PostgresClient(configuration: try StorageBackend.postgresConfiguration(url, poolSize: 4), backgroundLogger: PostgresBackgroundLogHandler.wrapping(logger))
            services.append(client)
            let committer = PlainEventCommitter(client: client, logger: logger)
            router.post("v1/events") { request, _ in
                let body = try await request.body.collect(upTo: Self.checkBodyLimit)
                let text = String(buffer: body)
                guard let key = Self.eventKey(text) else { return Response(status: .badRequest) }
                let inserted = try await committer.append(key: key, body: text)
                // Tally's event answers carry the same fields as its check answers.
                return Response(status: .ok, headers: Self.checkAnswerFields, body: .init(byteBuffer: inserted ? Self.acceptedBody : Self.duplicateBody))
            }
        }
        let app = Application(router: router, configuration: .init(address: .hostname(host, port: port)), onServerRunning: { channel in
            Serve.announce("plain Hummingbird listening on http://\(host):\(channel.localAddress?.port ?? port)")
        })
        if services.isEmpty {
            try await app.runService()
        } else {
            let group = ServiceGroup(services: services + [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
            try await group.run()
        }
    }

    /// A check's body is read up to Tally's default body limit.
    static let checkBodyLimit = 1 << 20

    /// A check answer for a metered feature with a large limit, as Tally writes it (a test
    /// keeps its size and fields beside a real one's).
    static let checkAnswerBody = ByteBuffer(string: #"{"allowed":true,"enforcement":"hard","feature":"bench-check-00000000","kind":"metered","limit":"1000000000000","overage":"0","period_end":"2027-01-01T00:00:00Z","period_start":"2026-12-01T00:00:00Z","remaining":"999999999999","resets_at":"2027-01-01T00:00:00Z","used":"1"}"#)

    /// The fields Tally's check answer carries besides those Hummingbird adds (Content-Length,
    /// Date): its type, the rate-limit fields, the security headers (no HSTS, as in development)
    /// and the request id.
    static let checkAnswerFields: HTTPFields = {
        var fields = HTTPFields()
        for (name, value) in [
            ("Content-Type", "application/json"),
            ("RateLimit-Policy", #""tenant";q=1000000;w=1, "key";q=1000000;w=1"#),
            ("RateLimit", #""tenant";r=999999;t=1"#),
            ("X-Content-Type-Options", "nosniff"),
            ("X-Frame-Options", "DENY"),
            ("Referrer-Policy", "no-referrer"),
            ("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"),
            ("Cache-Control", "no-store"),
            ("X-Request-Id", "req_01M8Y4T6NZEX2KNH12R113MS0Z"),
        ] {
            if let name = HTTPField.Name(name) { fields.append(HTTPField(name: name, value: value)) }
        }
        return fields
    }()
}

extension BenchPlainServer {
    /// The event's `"id":"…"` value, found by a byte search (no JSON parse).
    static func eventKey(_ body: String) -> String? {
        guard let start = body.range(of: #""id":""#)?.upperBound, let end = body[start...].firstIndex(of: "\"") else { return nil }
        return String(body[start..<end])
    }

    /// Single-event answers shaped as Tally's, of one size: the duplicate's id is a character
    /// shorter for its longer status.
    static let acceptedBody = ByteBuffer(string: #"{"accepted":1,"duplicates":0,"rejected":0,"results":[{"index":0,"id":"x3793","source":"s","status":"accepted"}]}"#)
    static let duplicateBody = ByteBuffer(string: #"{"accepted":0,"duplicates":1,"rejected":0,"results":[{"index":0,"id":"x379","source":"s","status":"duplicate"}]}"#)
}
