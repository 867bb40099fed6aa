import Logging
import PostgresNIO

/// What both PostgreSQL drivers need to read errors and run transactions.
enum PostgresErrors {
    /// The error that matters in a transaction wrapper: what the body threw (once the rollback
    /// succeeded), or what `BEGIN`/`COMMIT` threw. So a `TallyError` thrown inside a transaction
    /// reaches the client as itself, and a lost connection still reads as unavailable.
    static func unwrap(_ error: any Error) -> any Error {
        guard let error = error as? PostgresTransactionError else { return error }
        if let closure = error.closureError, error.rollbackError == nil { return closure }
        return error.beginError ?? error.commitError ?? error.closureError ?? error.rollbackError ?? error
    }
}

extension PostgresClient {
    /// `withTransaction`, throwing the underlying error rather than `PostgresTransactionError`.
    func transaction<T>(logger: Logger, _ body: (PostgresConnection) async throws -> sending T) async throws -> sending T {
        do {
            return try await withTransaction(logger: logger, body)
        } catch {
            throw PostgresErrors.unwrap(error)
        }
    }
}
