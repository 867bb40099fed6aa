import Core
import Metrics

/// What the group committer exports per group, through swift-metrics (Prometheus in the server):
///
/// - `tally_ledger_group_commit_events`: events per group (a histogram; `GroupCommitMetrics.eventBuckets`);
/// - `tally_ledger_group_commit_wait_seconds`: how long the group's oldest request queued before
///   the group started, the latency group commit adds;
/// - `tally_ledger_group_commit_duration_seconds`: the group's transaction, until it is durable
///   (a group whose shared transaction failed counts its one-by-one retries too).
///
/// Groups come a few hundred times a second, so the handles are made once.
public struct GroupCommitMetrics: Sendable {
    public static let eventsLabel = "tally_ledger_group_commit_events"
    /// Bucket bounds for `tally_ledger_group_commit_events`: single requests up to the largest group.
    public static let eventBuckets: [Double] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 1_024, 4_096, 20_000]

    private let events: Recorder
    private let wait: Metrics.Timer
    private let duration: Metrics.Timer

    init(factory: any MetricsFactory) {
        events = Recorder(label: Self.eventsLabel, factory: factory)
        wait = Metrics.Timer(label: "tally_ledger_group_commit_wait_seconds", factory: factory)
        duration = Metrics.Timer(label: "tally_ledger_group_commit_duration_seconds", factory: factory)
    }

    func record(events count: Int, waited: Duration, took: Duration) {
        events.record(count)
        wait.recordNanoseconds(waited.totalNanoseconds)
        duration.recordNanoseconds(took.totalNanoseconds)
    }
}
