import Bench
import Core
import Foundation
import Testing

@Suite struct BenchEventSourceTests {
    @Test func batchesAreValidCloudEventsWithTheRequestedDuplicates() throws {
        let source = BenchEventSource(runID: "r1", batchSize: 1_000, duplicateRatio: 0.25)
        var cursor = BenchEventSource.Cursor(worker: 3, seed: 42)
        var seen = Set<String>()
        var repeats = 0
        for _ in 0..<5 {
            let batch = source.batch(&cursor, time: "2026-11-28T10:00:00Z")
            let events = try #require(try JSONSerialization.jsonObject(with: Data(batch.body)) as? [[String: Any]])
            #expect(events.count == 1_000)
            var newInBatch = 0
            for event in events {
                #expect(event["specversion"] as? String == "1.0")
                #expect(event["source"] as? String == "//tally-bench/r1")
                #expect(event["type"] as? String == "tally.bench.r1")
                let id = try #require(event["id"] as? String)
                #expect(id.hasPrefix("r1-w3-"))
                if seen.insert(id).inserted { newInBatch += 1 } else { repeats += 1 }
            }
            #expect(newInBatch == batch.newEvents)
            #expect(batch.repeats == 1_000 - batch.newEvents)
        }
        #expect(seen.count == cursor.issued)
        let ratio = Double(repeats) / 5_000
        #expect(ratio > 0.2 && ratio < 0.3, "repeat ratio \(ratio)")
    }

    @Test func oneEventIsSentAsItselfAndSeedsReproduce() throws {
        let source = BenchEventSource(runID: "r2", batchSize: 1, duplicateRatio: 0.5)
        #expect(source.contentType == "application/cloudevents+json")
        var a = BenchEventSource.Cursor(worker: 0, seed: 7), b = BenchEventSource.Cursor(worker: 0, seed: 7)
        for _ in 0..<20 {
            let x = source.batch(&a, time: "2026-11-28T10:00:00Z"), y = source.batch(&b, time: "2026-11-28T10:00:00Z")
            #expect(x.body == y.body)
            #expect(try JSONSerialization.jsonObject(with: Data(x.body)) is [String: Any])
        }
        // Without duplicates every event is new.
        var fresh = BenchEventSource.Cursor(worker: 1, seed: 7)
        let unique = BenchEventSource(runID: "r2", batchSize: 50, duplicateRatio: 0)
        #expect(unique.batch(&fresh, time: "t").newEvents == 50)
    }

    @Test func replyCountsAreReadFromTheHead() {
        let reply = Array(#"{"accepted":997,"duplicates":2,"rejected":1,"results":[{"index":0}]}"#.utf8)
        #expect(IngestReplyCounts.parse(reply) == IngestReplyCounts(accepted: 997, duplicates: 2, rejected: 1))
        #expect(IngestReplyCounts.parse(Array(#"{"accepted":1,"rejected":0}"#.utf8)) == nil)
        #expect(IngestReplyCounts.parse(Array(#"{"type":"urn:tally:problem:x"}"#.utf8)) == nil)
    }
}
