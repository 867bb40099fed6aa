import Core
import Testing

@Suite struct MediaTypeTests {
    @Test func essenceDropsParametersAndCase() {
        #expect(MediaType.essence(of: "Application/JSON; charset=utf-8") == "application/json")
        #expect(MediaType.essence(of: " application/cloudevents-batch+json ") == "application/cloudevents-batch+json")
        #expect(MediaType.essence(of: "") == "")
        #expect(MediaType.essence(of: ";x=y") == "")
    }
}
