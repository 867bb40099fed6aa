#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Logging

/// A swift-log handler that writes one JSON object per line: `ts`, `level`, `msg`, `logger`,
/// then every metadata key (dotted, as `LogKey` defines them).
///
/// Hand-written because swift-log ships only a plain-text handler; one line is one `write(2)`,
/// so concurrent lines never interleave.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    private let label: String
    private let sink: @Sendable (String) -> Void

    /// A handler writing to a file descriptor: standard output (1) for the server, standard
    /// error (2) for commands whose standard output carries results.
    public init(label: String, level: Logger.Level = .info, fileDescriptor: Int32 = 1) {
        self.init(label: label, level: level) { line in
            var line = line
            line.withUTF8 { buffer in _ = write(fileDescriptor, buffer.baseAddress, buffer.count) }
        }
    }

    /// A handler writing each line to `sink` (tests capture lines this way).
    public init(label: String, level: Logger.Level = .info, sink: @escaping @Sendable (String) -> Void) {
        self.label = label
        self.logLevel = level
        self.sink = sink
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        sink(Self.render(
            timestamp: Self.timestamp(), level: event.level, message: event.message.description, label: label, metadata: merged
        ))
    }

    /// One JSON line (with the trailing newline) for a log event.
    public static func render(timestamp: String, level: Logger.Level, message: String, label: String, metadata: Logger.Metadata) -> String {
        var out = "{\"ts\":\"\(timestamp)\",\"level\":\"\(level.rawValue)\",\"msg\":"
        JSONString.append(message, to: &out)
        out += ",\"logger\":"
        JSONString.append(label, to: &out)
        for key in metadata.keys.sorted() {
            out += ","
            JSONString.append(key, to: &out)
            out += ":"
            appendValue(metadata[key]!, to: &out)
        }
        out += "}\n"
        return out
    }

    private static func appendValue(_ value: Logger.MetadataValue, to out: inout String) {
        switch value {
        case .string(let text): JSONString.append(text, to: &out)
        case .stringConvertible(let convertible): JSONString.append(convertible.description, to: &out)
        case .array(let values):
            out += "["
            for (index, element) in values.enumerated() {
                if index > 0 { out += "," }
                appendValue(element, to: &out)
            }
            out += "]"
        case .dictionary(let members):
            out += "{"
            for (index, key) in members.keys.sorted().enumerated() {
                if index > 0 { out += "," }
                JSONString.append(key, to: &out)
                out += ":"
                appendValue(members[key]!, to: &out)
            }
            out += "}"
        }
    }

    /// Now as RFC 3339 UTC with milliseconds.
    static func timestamp() -> String {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        var seconds = spec.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(spec.tv_nsec / 1_000_000), 3))Z"
    }
}
