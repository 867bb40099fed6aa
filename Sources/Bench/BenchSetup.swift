import NIOCore
import NIOHTTP1
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Creates what a benchmark run needs through the API, with an operator key: tenants (with
/// rate limits of the run's choosing), their keys, meters, features, plans.
public struct BenchSetup: Sendable {
    public var host: String
    public var port: Int
    public var operatorToken: String

    public init(host: String, port: Int, operatorToken: String) {
        self.host = host
        self.port = port
        self.operatorToken = operatorToken
    }

    /// POSTs (or PUTs) `body` with `token`; throws unless the status is `expected`.
    @discardableResult
    public func call(_ method: HTTPMethod, _ path: String, token: String? = nil, body: String, expected: Int) async throws -> ByteBuffer {
        try await HTTPLoadConnection.with(host: host, port: port) { session in
            let reply = try await session.send(
                method, path, headers: [("Authorization", "Bearer \(token ?? operatorToken)"), ("Content-Type", "application/json")],
                body: ByteBuffer(string: body)
            )
            guard reply.status == expected else {
                throw BenchError("\(method) \(path) answered HTTP \(reply.status): \(String(buffer: reply.body))")
            }
            return reply.body
        }
    }

    /// The server's `process_cpu_seconds_total` from its `/metrics`; `nil` when it has none.
    public func serverCPUSeconds() async throws -> Double? {
        let reply = try await HTTPLoadConnection.with(host: host, port: port) { session in try await session.send(.GET, "/metrics") }
        guard reply.status == 200 else { return nil }
        return Self.cpuSeconds(inMetrics: String(buffer: reply.body))
    }

    /// The value of `process_cpu_seconds_total` in Prometheus text.
    static func cpuSeconds(inMetrics text: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix("process_cpu_seconds_total ") {
            return Double(line.dropFirst("process_cpu_seconds_total ".count))
        }
        return nil
    }

    /// A tenant with `tenantPerSecond` requests per second (and as many per key), and a key
    /// for it; returns the tenant id and the key's secret.
    public func tenant(slug: String, tenantPerSecond: Int) async throws -> (id: String, token: String) {
        struct Created: Decodable { let id: String }
        struct Issued: Decodable { let secret: String }
        let body = #"{"slug":"\#(slug)","name":"tally bench \#(slug)","settings":{"rate_limits":{"tenant_per_second":\#(tenantPerSecond),"key_per_second":\#(tenantPerSecond)}}}"#
        let tenant = try await call(.POST, "/v1/tenants", body: body, expected: 201)
        let id = try JSONDecoder().decode(Created.self, from: Data(buffer: tenant)).id
        let key = try await call(.POST, "/v1/tenants/\(id)/api-keys", body: #"{"name":"tally bench"}"#, expected: 201)
        return (id, try JSONDecoder().decode(Issued.self, from: Data(buffer: key)).secret)
    }
}
