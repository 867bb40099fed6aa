#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What the operating system says about this process, for `/metrics`: the standard Prometheus
/// process collector's series (`process_cpu_seconds_total`, `process_resident_memory_bytes`, …),
/// read from Linux's `/proc` at scrape time. Parsing is pure; `current()` does the reading.
public struct ProcessStats: Sendable, Equatable {
    /// User plus system CPU time, in seconds.
    public var cpuSeconds: Double
    public var residentMemoryBytes: Int
    public var virtualMemoryBytes: Int
    /// When the process started, in seconds since the Unix epoch.
    public var startTimeSeconds: Double
    public var openFileDescriptors: Int?
    public var maxFileDescriptors: Int?

    public init(
        cpuSeconds: Double, residentMemoryBytes: Int, virtualMemoryBytes: Int, startTimeSeconds: Double,
        openFileDescriptors: Int? = nil, maxFileDescriptors: Int? = nil
    ) {
        self.cpuSeconds = cpuSeconds
        self.residentMemoryBytes = residentMemoryBytes
        self.virtualMemoryBytes = virtualMemoryBytes
        self.startTimeSeconds = startTimeSeconds
        self.openFileDescriptors = openFileDescriptors
        self.maxFileDescriptors = maxFileDescriptors
    }

    /// The figures in `/proc/self/stat` (`stat`) and the boot time from `/proc/stat`
    /// (`systemStat`), with the clock ticks per second and the page size; `nil` when either
    /// text is not what Linux writes.
    public static func parse(stat: String, systemStat: String, ticksPerSecond: Int, pageSize: Int) -> ProcessStats? {
        // The command name is in parentheses and may hold spaces and parentheses itself: the
        // fields proper start after the last ')'. There, field 3 (state) is index 0.
        guard ticksPerSecond > 0, let close = stat.utf8.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        let fields = stat.utf8[stat.utf8.index(after: close)...].split(separator: UInt8(ascii: " "), omittingEmptySubsequences: true)
        func field(_ number: Int) -> Int? {
            let index = number - 3
            guard fields.indices.contains(index) else { return nil }
            return Int(Substring(fields[index]))
        }
        guard let user = field(14), let system = field(15), let start = field(22), let virtual = field(23), let resident = field(24),
              let bootTime = bootTime(systemStat)
        else { return nil }
        let ticks = Double(ticksPerSecond)
        return ProcessStats(
            cpuSeconds: Double(user + system) / ticks, residentMemoryBytes: resident * pageSize, virtualMemoryBytes: virtual,
            startTimeSeconds: Double(bootTime) + Double(start) / ticks
        )
    }

    /// `btime` of `/proc/stat`: when the machine booted, in seconds since the Unix epoch.
    static func bootTime(_ systemStat: String) -> Int? {
        for line in systemStat.split(separator: "\n") where line.hasPrefix("btime ") {
            return Int(line.dropFirst("btime ".count))
        }
        return nil
    }

    /// This process's figures now; `nil` where `/proc` cannot be read (not Linux).
    public static func current() -> ProcessStats? {
        #if os(Linux)
        guard let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
              let systemStat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
              var stats = parse(stat: stat, systemStat: systemStat, ticksPerSecond: sysconf(Int32(_SC_CLK_TCK)), pageSize: sysconf(Int32(_SC_PAGESIZE)))
        else { return nil }
        stats.openFileDescriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")).map(\.count)
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max {
            stats.maxFileDescriptors = Int(limit.rlim_cur)
        }
        return stats
        #else
        return nil
        #endif
    }

    /// The Prometheus text exposition of these figures, with HELP and TYPE lines.
    public var prometheusText: String {
        var text = ""
        func series(_ name: String, _ type: String, _ help: String, _ value: String) {
            text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n\(name) \(value)\n"
        }
        series("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.", Self.number(cpuSeconds))
        series("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", String(residentMemoryBytes))
        series("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", String(virtualMemoryBytes))
        series("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.", Self.number(startTimeSeconds))
        if let openFileDescriptors {
            series("process_open_fds", "gauge", "Number of open file descriptors.", String(openFileDescriptors))
        }
        if let maxFileDescriptors {
            series("process_max_fds", "gauge", "Maximum number of open file descriptors.", String(maxFileDescriptors))
        }
        return text
    }

    /// Seconds to the hundredth (the clock's tick on Linux), without an exponent.
    static func number(_ value: Double) -> String {
        let hundredths = Int((value * 100).rounded())
        let fraction = hundredths % 100
        return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}
