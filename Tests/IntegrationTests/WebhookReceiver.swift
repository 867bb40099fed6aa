import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Synchronization

/// A real HTTP receiver on 127.0.0.1 for webhook tests: records every request (headers and body)
/// and answers with the status the test sets.
final class WebhookReceiver: Sendable {
    struct Received: Sendable {
        let headers: [String: String]
        let body: [UInt8]
    }

    let received = Mutex<[Received]>([])
    let status = Mutex<HTTPResponse.Status>(.ok)

    /// Runs `body` with the receiver listening; answers the receiver's base URL.
    func run<T: Sendable>(_ body: @Sendable (String) async throws -> T) async throws -> T {
        let router = Router()
        router.post("hook") { request, _ -> Response in
            let bytes = try await request.body.collect(upTo: 1_048_576)
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            self.received.withLock { $0.append(Received(headers: headers, body: Array(buffer: bytes))) }
            return Response(status: self.status.withLock { $0 })
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        return try await app.test(.live) { client in
            try await body("http://127.0.0.1:\(client.port!)/hook")
        }
    }
}
