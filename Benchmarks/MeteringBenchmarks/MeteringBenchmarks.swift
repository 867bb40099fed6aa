import Benchmark
import Core
import Entitlements
import Foundation
import Metering

/// The pure pieces of the ingest hot path, with Foundation's JSONDecoder measured in the same
/// run as the baseline for event decoding.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration.maxDuration = .seconds(3)
    Benchmark.defaultConfiguration.metrics = [.wallClock, .throughput, .mallocCountTotal]

    let now: Int64 = 1_795_860_000_000_000
    func eventJSON(_ index: Int) -> String {
        #"{"specversion":"1.0","id":"evt-\#(index)","source":"//api/node-1","type":"llm.call","subject":"cust-\#(index % 7)","time":"2026-11-28T10:00:0\#(index % 10)Z","data":{"tokens":\#(index % 5000),"model":"\#(index % 2 == 0 ? "small" : "large")","user":"u\#(index % 13)"}}"#
    }
    let single = Array(eventJSON(1).utf8)
    let batch = Array(("[" + (0..<1_000).map(eventJSON).joined(separator: ",") + "]").utf8)
    let meters = MeterCatalog(version: 1, meters: [
        MeterDefinition(slug: "tokens", eventType: "llm.call", aggregation: .sum, valuePath: "tokens", groupBy: ["model": "data.model", "customer": "subject"]),
        MeterDefinition(slug: "calls", eventType: "llm.call", aggregation: .count, valuePath: nil),
        MeterDefinition(slug: "users", eventType: "llm.call", aggregation: .uniqueCount, valuePath: "user"),
    ])
    let tenant = TenantID.generate()

    Benchmark("Decode one event: JSONParser") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try JSONParser.parse(single))
        }
    }

    Benchmark("Decode one event: JSONDecoder (baseline)") { benchmark in
        let data = Data(single)
        for _ in benchmark.scaledIterations {
            blackHole(try JSONDecoder().decode(JSONValue.self, from: data))
        }
    }

    Benchmark("Decode and validate one event (JSONParser + CloudEvents envelope + 3 meters)") { benchmark in
        for _ in benchmark.scaledIterations {
            let value = try JSONParser.parse(single)
            let event = try CloudEventEnvelope.parse(value, receivedAt: now).get()
            blackHole(meters.readings(of: event))
        }
    }

    Benchmark("Decode and validate a 1000-event batch", configuration: .init(scalingFactor: .one)) { benchmark in
        for _ in benchmark.scaledIterations {
            guard case .array(let items) = try JSONParser.parse(batch) else { fatalError("not a batch") }
            for item in items {
                let event = try CloudEventEnvelope.parse(item, receivedAt: now).get()
                blackHole(meters.readings(of: event))
            }
        }
    }

    let entries: [LedgerEntry] = {
        guard case .array(let items) = try! JSONParser.parse(batch) else { fatalError("not a batch") }
        return items.map { item in
            let event = try! CloudEventEnvelope.parse(item, receivedAt: now).get()
            return LedgerEntry(tenantID: tenant, event: event, receivedAt: now, readings: try! meters.readings(of: event).get(), catalogVersion: 1)
        }
    }()

    Benchmark("Rollup deltas of a 1000-event batch (3 meters)", configuration: .init(scalingFactor: .one)) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(RollupBatch.deltas(of: entries))
        }
    }

    Benchmark("Merge 1000 minute rollups into hour windows (MeterQuery)", configuration: .init(scalingFactor: .one)) { benchmark in
        let (states, distinct) = RollupBatch.deltas(of: entries)
        let rows = states.filter { $0.key.meter == "tokens" }.map { (windowStart: $0.key.windowStart, groupKey: $0.key.groupKey, state: $0.value) }
        let query = MeterQuery(from: 1_795_860_000 - 86_400, to: 1_795_860_000 + 86_400, window: .hour)
        for _ in benchmark.scaledIterations {
            blackHole(query.evaluate(meter: meters.meters[0], rollups: rows, distinct: Array(distinct)))
        }
    }

    Benchmark("Entitlement check (hard limit, 3 grants)") { benchmark in
        let limit = MeteredLimit(allowance: Quantity(10_000), enforcement: .hard)
        let grants = [
            Grant(id: "a", amount: Quantity(500), priority: 1, effectiveAt: 0, expiresAt: 2_000_000_000),
            Grant(id: "b", amount: Quantity(250), priority: 0, effectiveAt: 0),
            Grant(id: "c", amount: Quantity(100), priority: 2, effectiveAt: 0, expiresAt: 1_900_000_000),
        ]
        let window = PeriodWindow(start: 1_793_500_000, end: 1_796_100_000, resetsAt: 1_796_100_000)
        var used = 0
        for _ in benchmark.scaledIterations {
            used = (used + 7) % 10_900
            blackHole(EntitlementCheck.evaluate(limit: limit, grants: grants, used: Quantity(used), requested: .one, window: window, now: 1_795_860_000))
        }
    }

    Benchmark("Write one event's data as stored JSON (JSONWriter, sorted keys)") { benchmark in
        let value = try JSONParser.parse(single)
        for _ in benchmark.scaledIterations {
            blackHole(JSONWriter.encode(value))
        }
    }
}
