import Core

/// The events a benchmark run sends, pure: per worker, batches of CloudEvents with ids of the
/// run (`<run>-w<worker>-<n>`), a given share of which repeat an id the worker sent before, so
/// the server must answer them `duplicate`.
public struct BenchEventSource: Sendable {
    public let runID: String
    public let batchSize: Int
    /// 0 ≤ ratio < 1: the chance that an event repeats an earlier id.
    public let duplicateRatio: Double

    public init(runID: String, batchSize: Int, duplicateRatio: Double) {
        self.runID = runID
        self.batchSize = batchSize
        self.duplicateRatio = duplicateRatio
    }

    public var source: String { "//tally-bench/\(runID)" }
    public var eventType: String { "tally.bench.\(runID)" }
    /// One event is sent as itself, more as a batch.
    public var contentType: String { batchSize == 1 ? "application/cloudevents+json" : "application/cloudevents-batch+json" }

    /// One worker's position: how many new ids it has issued, and its random stream.
    public struct Cursor: Sendable {
        public let worker: Int
        public private(set) var issued = 0
        var random: SplitMix64

        public init(worker: Int, seed: UInt64) {
            self.worker = worker
            self.random = SplitMix64(seed: seed ^ UInt64(worker) &* 0x9E37_79B9_7F4A_7C15)
        }

        mutating func nextID(duplicateRatio: Double) -> (number: Int, isNew: Bool) {
            if issued > 0, duplicateRatio > 0, random.nextUnit() < duplicateRatio {
                return (Int(random.next() % UInt64(issued)), false)
            }
            issued += 1
            return (issued - 1, true)
        }
    }

    /// A request body, with how many of its events are new and how many repeat an earlier id.
    public struct Batch: Sendable {
        public var body: [UInt8]
        public var newEvents: Int
        public var repeats: Int
    }

    /// The next batch for `cursor`, stamped with `time` (RFC 3339).
    public func batch(_ cursor: inout Cursor, time: String) -> Batch {
        // The constant parts are rendered once per batch; only the id's number varies per event.
        let head = Array(#"{"specversion":"1.0","id":"\#(runID)-w\#(cursor.worker)-"#.utf8)
        let tail = Array(#"","source":"\#(source)","type":"\#(eventType)","time":"\#(time)","data":{"n":1}}"#.utf8)
        var body: [UInt8] = []
        body.reserveCapacity(batchSize * (head.count + tail.count + 12) + 2)
        var new = 0
        if batchSize > 1 { body.append(UInt8(ascii: "[")) }
        for index in 0..<batchSize {
            if index > 0 { body.append(UInt8(ascii: ",")) }
            let (number, isNew) = cursor.nextID(duplicateRatio: duplicateRatio)
            if isNew { new += 1 }
            body += head
            body.appendDecimal(number)
            body += tail
        }
        if batchSize > 1 { body.append(UInt8(ascii: "]")) }
        return Batch(body: body, newEvents: new, repeats: batchSize - new)
    }
}

/// A small, fast, seedable generator (Steele, Lea and Flood's SplitMix64), so a run's
/// duplicates are reproducible from its seed.
struct SplitMix64: Sendable {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    mutating func nextUnit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}
