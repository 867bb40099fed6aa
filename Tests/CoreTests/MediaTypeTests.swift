import Core
import Testing

@Suite struct MediaTypeTests {
    @Test func essenceDropsParametersAndCase() {
        #expect(MediaType.essence(of: "Application/JSON; charset=utf-8") == "application/json")
        #expect(MediaType.essence(of: " application/cloudevents-batch+json ") == "application/cloudevents-batch+json")
        #expect(MediaType.essence(of: "") == "")
        #expect(MediaType.essence(of: ";x=y") == "")
        // The fast path (already lower-case, no parameters) and the general one agree.
        #expect(MediaType.essence(of: "application/cloudevents+json") == "application/cloudevents+json")
        #expect(MediaType.essence(of: "application/json;charset=utf-8") == "application/json")
        #expect(MediaType.essence(of: "APPLICATION/json") == "application/json")
        #expect(MediaType.essence(of: "application/json\t") == "application/json")
        #expect(MediaType.essence(of: "application/jsön") == "application/jsön")
    }
}
