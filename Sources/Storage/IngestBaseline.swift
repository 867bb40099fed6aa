/// The raw bulk-insert rate of the database under Tally, measured in the same run as an ingest
/// benchmark so that the ratio between the two means something on a shared, noisy machine.
///
/// It books synthetic events shaped like Tally's (same columns, primary key and index) into a
/// scratch table, in durable transactions of `batchSize`, deduplicating with
/// `ON CONFLICT DO NOTHING`: on PostgreSQL through `COPY` into a staging table, on SQLite through
/// multi-row `INSERT`s. No HTTP, validation, meters or rollups: the floor under which ingest
/// cannot go. The scratch table is dropped afterwards.
public protocol IngestBaseline: Sendable {
    /// What the measurement is called in reports (`postgres COPY + INSERT ON CONFLICT`).
    var method: String { get }
    func run(events: Int, batchSize: Int) async throws -> IngestBaselineResult
    /// The plain SQL aggregate a billing run is measured against: every booked event of `type`
    /// with `from <= event_time < to` (microseconds), counted and summed per tenant from
    /// `data.<field>`, straight from the ledger (no rollups). Answers tenant id → (count, sum).
    func aggregate(type: String, field: String, from: Int64, to: Int64) async throws -> [String: (count: Int64, sum: String)]
}

/// One baseline measurement.
public struct IngestBaselineResult: Sendable, Equatable, Codable {
    public var method: String
    public var events: Int
    public var batchSize: Int
    /// Rows the scratch table held afterwards: `events`, or the measurement is void.
    public var rowsBooked: Int
    public var seconds: Double

    public init(method: String, events: Int, batchSize: Int, rowsBooked: Int, seconds: Double) {
        self.method = method
        self.events = events
        self.batchSize = batchSize
        self.rowsBooked = rowsBooked
        self.seconds = seconds
    }

    public var eventsPerSecond: Double { seconds > 0 ? Double(events) / seconds : 0 }

    enum CodingKeys: String, CodingKey {
        case method, events, batchSize = "batch_size", rowsBooked = "rows_booked", seconds
    }
}

/// The synthetic rows both baselines write.
enum BaselineRows {
    static let tenant = "ten_00000000000000000000000000"
    static let source = "//tally/baseline"
    static let type = "tally.baseline"
    static let data = #"{"n": 1}"#

    static func id(_ index: Int) -> String { "baseline-\(index)" }
}
