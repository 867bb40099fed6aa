import ArgumentParser
import Core
import HTTPFront
import Hummingbird

/// `tally bench plain-server`: Hummingbird with one `GET /health/live` route and nothing else
/// (no middleware, the default request context), the "plain Hummingbird GET" the HTTP
/// floors are written against. `tally bench check --plain-url` and `tally bench ingest
/// --plain-url` load it in the same run as Tally, so a figure can be read against what this
/// machine's HTTP stack does bare at that moment.
struct BenchPlainServer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plain-server",
        abstract: "Serve a plain Hummingbird GET /health/live (no middleware): the baseline for bench check and bench ingest --plain-url.",
        discussion: "Built into the same binary from the same Hummingbird as tally serve. SIGTERM or SIGINT stops it."
    )

    @Option(help: "host:port to listen on (port 0: any free port, announced on standard error).") var address = "127.0.0.1:18099"

    func validate() throws {
        guard HostPort.split(address, defaultPort: nil) != nil else { throw ValidationError("--address must look like 127.0.0.1:18099") }
    }

    func run() async throws {
        guard let (host, port) = HostPort.split(address, defaultPort: nil) else { throw ValidationError("--address must look like 127.0.0.1:18099") }
        let router = Router()
        router.get("health/live") { _, _ in TallyHTTPServer.liveText }
        let app = Application(router: router, configuration: .init(address: .hostname(host, port: port)), onServerRunning: { channel in
            Serve.announce("plain Hummingbird listening on http://\(host):\(channel.localAddress?.port ?? port)")
        })
        try await app.runService()
    }
}
