import Core
import Testing

/// `Duration.readable`: the largest whole unit that states a duration exactly, for messages.
@Suite struct DurationReadableTests {
    @Test(arguments: [
        (Duration.seconds(35 * 86_400), "35 days"), (.seconds(86_400), "1 day"), (.seconds(7_200), "2 hours"),
        (.seconds(300), "5 minutes"), (.seconds(60), "1 minute"), (.seconds(90), "90 seconds"), (.seconds(1), "1 second"),
        (.seconds(0), "0 seconds"), (.seconds(-120), "-2 minutes"), (.milliseconds(250), "0.25 seconds"), (.milliseconds(1_500), "1.5 seconds"),
    ])
    func readable(_ duration: Duration, _ text: String) {
        #expect(duration.readable == text)
    }
}
