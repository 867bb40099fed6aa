import Logging
import PostgresNIO

/// The plain server's durable write: requests' (key, body) pairs group-committed into one
/// PostgreSQL table with a unique key, one statement (an `unnest` insert, `ON CONFLICT DO NOTHING`)
/// and one synchronous transaction per group, a group at a time. It is what any server that
/// acknowledges a request only once it is durably deduplicated pays on this machine, without
/// anything of Tally's: no parsing beyond the key, no rollups, no quota, no authentication.
actor PlainEventCommitter {
    private let client: PostgresClient
    private let logger: Logger
    private var pending: [(key: String, body: String, answer: CheckedContinuation<Bool, any Error>)] = []
    private var committing = false
    private var tableReady = false

    init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Waits for the group holding this pair to commit; true if the key was new.
    func append(key: String, body: String) async throws -> Bool {
        try await withCheckedThrowingContinuation { answer in
            pending.append((key, body, answer))
            if !committing {
                committing = true
                Task { await self.commitWhilePending() }
            }
        }
    }

    private func commitWhilePending() async {
        while !pending.isEmpty {
            let group = pending
            pending = []
            do {
                if !tableReady {
                    try await client.query("CREATE TABLE IF NOT EXISTS bench_plain_events (key text PRIMARY KEY, body text NOT NULL)", logger: logger)
                    tableReady = true
                }
                var inserted = try await insert(keys: group.map(\.key), bodies: group.map(\.body))
                // A key sent twice in one group was inserted once: the first is new, the rest duplicates.
                for item in group { item.answer.resume(returning: inserted.remove(item.key) != nil) }
            } catch {
                for item in group { item.answer.resume(throwing: error) }
            }
        }
        committing = false
    }

    private nonisolated func insert(keys: [String], bodies: [String]) async throws -> Set<String> {
        let rows = try await client.query(
            """
            INSERT INTO bench_plain_events (key, body) SELECT * FROM unnest(\(keys)::text[], \(bodies)::text[])
            ON CONFLICT DO NOTHING RETURNING key
            """,
            logger: logger
        )
        var inserted = Set<String>()
        for try await key in rows.decode(String.self) { inserted.insert(key) }
        return inserted
    }
}
