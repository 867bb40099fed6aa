@testable import Core
import Foundation
import Testing

/// `/proc/self/stat` and `/proc/stat` as Linux writes them, read into the process series.
@Suite struct ProcessStatsTests {
    /// A real line's shape, with a command name holding spaces and parentheses.
    static let stat = "4242 (tally (serve) x) S 1 4242 4242 0 -1 4194560 2345 0 0 0 1234 567 0 0 20 0 16 0 98765 1209304000 13129 "
        + "18446744073709551615 1 1 0 0 0 0 0 4096 17414 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
    static let systemStat = "cpu  823672 55 128575 487158 5440 0 16588 14413 0 0\nintr 1 2 3\nbtime 1764740000\nprocesses 30000\n"

    @Test func theFiguresAreReadAfterTheCommandName() throws {
        let stats = try #require(ProcessStats.parse(stat: Self.stat, systemStat: Self.systemStat, ticksPerSecond: 100, pageSize: 4096))
        #expect(stats.cpuSeconds == 18.01)  // (1234 + 567) ticks at 100 a second
        #expect(stats.residentMemoryBytes == 13129 * 4096)
        #expect(stats.virtualMemoryBytes == 1_209_304_000)
        #expect(stats.startTimeSeconds == 1_764_740_000 + 987.65)  // boot time plus 98765 ticks
    }

    @Test(arguments: [
        ("4242 tally S 1", systemStat),  // no command name in parentheses
        ("4242 (tally) S 1 4242", systemStat),  // too few fields
        (stat, "cpu 1 2 3\n"),  // no boot time
        (stat.replacingOccurrences(of: " 1234 ", with: " x "), systemStat),  // not a number
    ])
    func whatLinuxDoesNotWriteGivesNothing(stat: String, systemStat: String) {
        #expect(ProcessStats.parse(stat: stat, systemStat: systemStat, ticksPerSecond: 100, pageSize: 4096) == nil)
    }

    @Test func theTextIsPrometheusExposition() {
        let stats = ProcessStats(
            cpuSeconds: 18.01, residentMemoryBytes: 53_776_384, virtualMemoryBytes: 1_209_304_000, startTimeSeconds: 1_764_740_987.65,
            openFileDescriptors: 12, maxFileDescriptors: 1_048_576
        )
        let lines = stats.prometheusText.split(separator: "\n").map(String.init)
        #expect(lines.filter { !$0.hasPrefix("#") } == [
            "process_cpu_seconds_total 18.01", "process_resident_memory_bytes 53776384", "process_virtual_memory_bytes 1209304000",
            "process_start_time_seconds 1764740987.65", "process_open_fds 12", "process_max_fds 1048576",
        ])
        #expect(lines.contains("# TYPE process_cpu_seconds_total counter"))
        #expect(lines.contains("# TYPE process_open_fds gauge"))
        #expect(ProcessStats.number(0.05) == "0.05" && ProcessStats.number(3) == "3.00")
        // Without descriptor figures (not Linux), their series are left out.
        let bare = ProcessStats(cpuSeconds: 1, residentMemoryBytes: 1, virtualMemoryBytes: 1, startTimeSeconds: 1).prometheusText
        #expect(!bare.contains("process_open_fds") && !bare.contains("process_max_fds"))
    }

    @Test func thisProcessIsRead() throws {
        #if os(Linux)
        let stats = try #require(ProcessStats.current())
        #expect(stats.cpuSeconds > 0 && stats.residentMemoryBytes > 0)
        #expect((stats.openFileDescriptors ?? 0) > 2)
        #endif
    }
}
