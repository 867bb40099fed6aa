import Core
import Testing

@Suite struct HexTests {
    @Test func bytesAreTwoLowercaseDigitsEach() {
        #expect([UInt8]().hexString == "")
        #expect([0x00, 0x0F, 0xA5, 0xFF].hexString == "000fa5ff")
        #expect((0...255).map { UInt8($0) }.hexString.count == 512)
        #expect([UInt8](0...255).hexString.hasSuffix("fcfdfeff"))
    }
}
