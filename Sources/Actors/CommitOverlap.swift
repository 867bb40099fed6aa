/// When a group commit may start while another is still in flight.
///
/// A transaction in flight is not waited on for small work: a second one would carry only the
/// few requests that arrived meanwhile, and each statement has a fixed cost (a round trip, a
/// plan, locks, a WAL flush) that a small group spreads over few events. Waiting instead lets
/// those requests join the next group, which starts the moment the commit in flight ends. Only
/// a backlog of at least `minimumEvents` (bulk batches, or a burst) starts a second transaction
/// at once, so that commit waits overlap when there is enough work to fill both.
///
/// Measured on two cores with PostgreSQL on the same host: single-event requests with two
/// transactions always allowed in flight made groups of about 16 events; one at a time made
/// them twice as large and cost less CPU per event, while 1000-event batches need two in flight.
public struct CommitOverlap: Sendable, Equatable {
    /// Transactions in flight at most.
    public var limit: Int
    /// Queued events that justify starting a transaction beside one in flight.
    public var minimumEvents: Int

    public init(limit: Int = 2, minimumEvents: Int = 256) {
        self.limit = max(1, limit)
        self.minimumEvents = max(1, minimumEvents)
    }

    /// Whether a group of the queued work may start now, with `inFlight` transactions running.
    public func mayStart(queuedEvents: Int, inFlight: Int) -> Bool {
        guard queuedEvents > 0, inFlight < limit else { return false }
        return inFlight == 0 || queuedEvents >= minimumEvents
    }
}
