import PostgresNIO

/// Tells errors that mean "a backing service is unreachable" (answer 503, retry) from bugs (500).
public enum StorageAvailability {
    public static func isUnavailable(_ error: any Error) -> Bool {
        if let error = error as? RedisError { return error.kind != .reply }
        if let error = error as? PSQLError {
            switch error.code {
            case .connectionError, .serverClosedConnection, .clientClosedConnection, .poolClosed, .uncleanShutdown:
                return true
            case .server:
                // 08: connection exceptions; 53: insufficient resources; 57P: shutting down or starting up.
                let state = error.serverInfo?[.sqlState] ?? ""
                return state.hasPrefix("08") || state.hasPrefix("53") || state.hasPrefix("57P")
            default:
                return false
            }
        }
        return false
    }
}
