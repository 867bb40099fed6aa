/// How much ingest work may be in flight at once, per tenant and on the whole node. Past a
/// tenant's share a request is answered 429 (that tenant is sending too much); past the node's,
/// 503 (the node is saturated): both with `Retry-After`, so memory stays bounded instead of
/// queueing without limit.
public struct AdmissionLimits: Sendable, Equatable {
    /// Request-body bytes one tenant may have in flight.
    public var tenantBytes: Int
    /// Request-body bytes all tenants together may have in flight.
    public var totalBytes: Int
    /// Requests one tenant may have in flight.
    public var tenantRequests: Int
    /// Requests all tenants together may have in flight.
    public var totalRequests: Int

    public init(tenantBytes: Int, totalBytes: Int, tenantRequests: Int, totalRequests: Int) {
        self.tenantBytes = tenantBytes
        self.totalBytes = totalBytes
        self.tenantRequests = tenantRequests
        self.totalRequests = totalRequests
    }

    /// 64 MiB and 512 requests per tenant; 256 MiB and 4,096 requests per node.
    public static let defaults = AdmissionLimits(tenantBytes: 67_108_864, totalBytes: 268_435_456, tenantRequests: 512, totalRequests: 4_096)
}

/// In-flight work counted against `AdmissionLimits`, pure: the caller keeps one for the node and
/// one per tenant, under a lock.
public struct AdmissionLedger: Sendable, Equatable {
    public private(set) var bytes = 0
    public private(set) var requests = 0

    public init() {}

    /// Whether a request of `bytes` fits under `maxBytes` and `maxRequests`. A request larger
    /// than `maxBytes` on its own is admitted when nothing else is in flight, so it can never wait for ever.
    public func fits(bytes: Int, maxBytes: Int, maxRequests: Int) -> Bool {
        guard requests < maxRequests else { return false }
        return self.bytes + bytes <= maxBytes || requests == 0
    }

    public mutating func add(bytes: Int) {
        self.bytes += bytes
        requests += 1
    }

    public mutating func remove(bytes: Int) {
        self.bytes -= bytes
        requests -= 1
    }

    public var isIdle: Bool { requests == 0 }
}
