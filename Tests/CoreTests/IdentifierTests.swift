import Core
import Foundation
import Testing

@Suite struct IdentifierTests {
    @Test func generatedIdentifiersParseAndSortByTime() {
        let early = TenantID.generate(at: Date(timeIntervalSince1970: 1_700_000_000))
        let late = TenantID.generate(at: Date(timeIntervalSince1970: 1_700_000_001))
        #expect(early.rawValue.hasPrefix("ten_"))
        #expect(early.rawValue.count == 30)
        #expect(TenantID(early.rawValue) == early)
        #expect(early < late)
    }

    @Test func timeComponentIsTheULIDLayout() {
        struct Zero: RandomNumberGenerator { mutating func next() -> UInt64 { 0 } }
        var zero = Zero()
        // 1 ms after the epoch: 48-bit time 1, so the 10th character is '1' and all else '0'.
        let id = TenantID.generate(at: Date(timeIntervalSince1970: 0.001), using: &zero)
        #expect(id.rawValue == "ten_0000000001" + String(repeating: "0", count: 16))
    }

    @Test(arguments: ["", "ten_", "key_01HZY3K4W5Q8N6H2X9R7B1C0VE", "ten_01HZY3K4W5Q8N6H2X9R7B1C0V", "ten_01HZY3K4W5Q8N6H2X9R7B1C0VI", "ten_01hzy3k4w5q8n6h2x9r7b1c0ve"])
    func malformedTextIsRejected(text: String) {
        #expect(TenantID(text) == nil)
    }

    @Test func distinctDraws() {
        let ids = Set((0..<1000).map { _ in APIKeyID.generate() })
        #expect(ids.count == 1000)
    }
}
