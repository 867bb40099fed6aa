/// One load's turns taken apart in a round and merged: every answer's status and latency, and
/// the seconds the turns took together (`tally bench check --slices`, `tally bench fairness --slices`).
struct MergedTurns {
    var stats = RequestLoopStats()
    var seconds = 0.0

    /// Adds one turn, as `RequestLoad.run` returns it.
    mutating func add(_ turn: (stats: RequestLoopStats, seconds: Double)) {
        stats.merge(turn.stats)
        seconds += turn.seconds
    }

    /// Answers per second, all of them or those with `status`.
    func rate(status: Int? = nil) -> Double {
        guard seconds > 0 else { return 0 }
        return Double(status.map { stats.statuses[$0] ?? 0 } ?? stats.requests) / seconds
    }
}
