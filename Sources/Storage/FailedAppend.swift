import Core

/// What an append that threw may have done.
public enum FailedAppend {
    /// Whether an append that threw `error` may have committed before it: not when the ledger
    /// refused it (a stale meter catalog, a missing tenant, a committer shutting down), which it
    /// says before it books anything. A lost connection, or any error not known to come first,
    /// may hide a commit, and only the ledger can say what was booked
    /// (`LedgerAppender.outcomesOfFailedAppend`).
    public static func mayHaveCommitted(_ error: any Error) -> Bool {
        !(error is StaleMeterCatalog || error is TallyError)
    }
}
