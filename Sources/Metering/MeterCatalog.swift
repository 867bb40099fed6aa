import Core

/// A tenant's meters at one catalog version. Ingest computes readings against a catalog and
/// the ledger books them only if the version is still current, so no event is ever counted
/// against a meter definition that has since changed.
public struct MeterCatalog: Sendable, Equatable {
    /// Bumped by every meter change, in the same transaction.
    public var version: Int64
    /// By slug.
    public var meters: [MeterDefinition]

    public init(version: Int64, meters: [MeterDefinition]) {
        self.version = version
        self.meters = meters
    }

    public static let empty = MeterCatalog(version: 0, meters: [])

    /// The meter with this slug.
    public func meter(_ slug: String) -> MeterDefinition? { meters.first { $0.slug == slug } }

    /// What `event` contributes to each meter, or the first meter that cannot read it.
    public func readings(of event: UsageEvent) -> Result<[MeterReading], EventRejection> {
        var readings: [MeterReading] = []
        for meter in meters {
            switch meter.reading(of: event) {
            case nil: continue
            case .success(let reading)?: readings.append(reading)
            case .failure(let rejection)?: return .failure(rejection)
            }
        }
        return .success(readings)
    }

    /// What `event` contributes to each meter that can read it, skipping the ones that cannot:
    /// how booked history is recomputed (an event booked before a meter existed may lack the
    /// meter's value, and then simply does not count for it).
    public func countableReadings(of event: UsageEvent) -> [MeterReading] {
        meters.compactMap { meter in
            if case .success(let reading)? = meter.reading(of: event) { return reading }
            return nil
        }
    }
}
