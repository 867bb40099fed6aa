import Metering
import Testing

@Suite struct WindowSizeTests {
    @Test func bucketsAlignToTheEpoch() {
        #expect(WindowSize.minute.bucketStart(containing: 125) == 120)
        #expect(WindowSize.hour.bucketStart(containing: 7_199) == 3_600)
        #expect(WindowSize.day.bucketStart(containing: 86_400) == 86_400)
    }

    @Test func negativeTimestampsFloor() {
        #expect(WindowSize.minute.bucketStart(containing: -1) == -60)
        #expect(WindowSize.minute.bucketStart(containing: -60) == -60)
    }

    @Test func bucketStartsCoverTheRange() {
        #expect(Array(WindowSize.hour.bucketStarts(from: 3_700, to: 10_800)) == [3_600, 7_200])
        #expect(Array(WindowSize.hour.bucketStarts(from: 3_600, to: 3_600)).isEmpty)
    }
}
