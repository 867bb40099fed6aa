import Core

/// Which event times a tenant accepts: not older than the lateness horizon (unless backfill is
/// on) and not further in the future than the allowed clock skew.
public struct EventTimePolicy: Sendable, Equatable {
    /// How far back an event may be dated; default 35 days, so a month's usage can still arrive
    /// after the month ends.
    public var latenessHorizon: Duration
    /// How far ahead of the server's clock an event may be dated; default 5 minutes.
    public var futureSkew: Duration
    /// Accepts events of any age (for importing history).
    public var backfill: Bool

    public static let standard = EventTimePolicy(latenessHorizon: .seconds(35 * 86_400), futureSkew: .seconds(300), backfill: false)

    public init(latenessHorizon: Duration, futureSkew: Duration, backfill: Bool) {
        self.latenessHorizon = latenessHorizon
        self.futureSkew = futureSkew
        self.backfill = backfill
    }

    /// `nil` when an event dated `eventTime` may be booked at `now` (both microseconds since the
    /// epoch); otherwise the rejection.
    public func check(eventTime: Int64, now: Int64) -> EventRejection? {
        if eventTime > now + futureSkew.totalMicroseconds {
            return EventRejection("event_in_future", field: "time", "time is more than \(futureSkew.readable) ahead of the server clock")
        }
        if !backfill, eventTime < now - latenessHorizon.totalMicroseconds {
            return EventRejection("event_too_old", field: "time", "time is older than the tenant's lateness horizon (\(latenessHorizon.readable)); enable backfill to import history")
        }
        return nil
    }
}
