#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Logging

/// A swift-log handler that writes one JSON object per line: `ts`, `level`, `msg`, `logger`,
/// then every metadata key (dotted, as `LogKey` defines them), sorted.
///
/// Hand-written because swift-log ships only a plain-text handler; one line is one `write(2)`,
/// so concurrent lines never interleave. Lines are built as UTF-8 bytes with `JSONWriter` (no
/// intermediate `String`s): the server writes one per request, so this is on the hot path.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    private let label: String
    private let emit: @Sendable ([UInt8], Logger.Level) -> Void

    /// A handler writing to a file descriptor: standard output (1) for the server, standard
    /// error (2) for commands whose standard output carries results.
    public init(label: String, level: Logger.Level = .info, fileDescriptor: Int32 = 1) {
        self.init(label: label, level: level) { line in
            line.withUnsafeBufferPointer { buffer in _ = write(fileDescriptor, buffer.baseAddress, buffer.count) }
        }
    }

    /// A handler passing each line (UTF-8, with its newline) to `sink` (tests capture lines this way).
    public init(label: String, level: Logger.Level = .info, sink: @escaping @Sendable ([UInt8]) -> Void) {
        self.label = label
        self.logLevel = level
        self.emit = { line, _ in sink(line) }
    }

    /// A handler writing through `writer`: lines at `warning` and above are written at once,
    /// others in batches (`BufferedLineWriter`).
    public init(label: String, level: Logger.Level = .info, writer: BufferedLineWriter) {
        self.label = label
        self.logLevel = level
        self.emit = { line, level in writer.write(line, urgent: level >= .warning) }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var writer = JSONWriter(capacity: 384)
        Self.timestamp(into: &writer)
        Self.render(into: &writer, level: event.level, message: event.message.description, label: label, metadata: metadata, extra: event.metadata ?? [:])
        emit(writer.bytes, event.level)
    }

    /// Logs one line whose own fields are text and already sorted by key (`sortedFields`), merged
    /// with the handler's metadata (a field wins over metadata of the same key): the same line
    /// `Logger` would write for these fields as event metadata, without building a metadata
    /// dictionary, merging or sorting it. The access log writes one per request this way.
    public func log(level: Logger.Level, message: String, sortedFields: [(key: String, value: String)]) {
        guard level >= logLevel else { return }
        var writer = JSONWriter(capacity: 384)
        Self.timestamp(into: &writer)
        Self.header(into: &writer, level: level, message: message, label: label)
        var own = metadata.isEmpty ? [] : metadata.keys.filter { key in !sortedFields.contains { $0.key == key } }
        if own.count > 1 { own.sort() }
        var next = 0
        for field in sortedFields {
            while next < own.count, own[next] < field.key {
                writer.bytes.append(UInt8(ascii: ","))
                writer.key(own[next])
                Self.writeValue(metadata[own[next]]!, to: &writer)
                next += 1
            }
            writer.bytes.append(UInt8(ascii: ","))
            writer.key(field.key)
            writer.write(field.value)
        }
        for key in own[next...] {
            writer.bytes.append(UInt8(ascii: ","))
            writer.key(key)
            Self.writeValue(metadata[key]!, to: &writer)
        }
        writer.raw("}\n")
        emit(writer.bytes, level)
    }

    /// One JSON line (with the trailing newline) for a log event.
    public static func render(timestamp: String, level: Logger.Level, message: String, label: String, metadata: Logger.Metadata) -> String {
        var writer = JSONWriter()
        writer.raw("{\"ts\":")
        writer.write(timestamp)
        render(into: &writer, level: level, message: message, label: label, metadata: metadata, extra: [:])
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    /// Everything after `{"ts":"…"`: the writer holds the line's start. Keys of `metadata` and
    /// `extra` (the event's own, which wins) are written once each, sorted, without merging the
    /// two dictionaries.
    private static func render(
        into writer: inout JSONWriter, level: Logger.Level, message: String, label: String, metadata: Logger.Metadata, extra: Logger.Metadata
    ) {
        header(into: &writer, level: level, message: message, label: label)
        var keys = Array(metadata.keys)
        for key in extra.keys where metadata[key] == nil { keys.append(key) }
        keys.sort()
        for key in keys {
            writer.bytes.append(UInt8(ascii: ","))
            writer.key(key)
            writeValue(extra[key] ?? metadata[key]!, to: &writer)
        }
        writer.raw("}\n")
    }

    /// `,"level":…,"msg":…,"logger":…` after the timestamp.
    private static func header(into writer: inout JSONWriter, level: Logger.Level, message: String, label: String) {
        writer.raw(",\"level\":")
        writer.write(level.rawValue)
        writer.raw(",\"msg\":")
        writer.write(message)
        writer.raw(",\"logger\":")
        writer.write(label)
    }

    private static func writeValue(_ value: Logger.MetadataValue, to writer: inout JSONWriter) {
        switch value {
        case .string(let text): writer.write(text)
        case .stringConvertible(let convertible): writer.write(convertible.description)
        case .array(let values):
            writer.bytes.append(UInt8(ascii: "["))
            for (index, element) in values.enumerated() {
                if index > 0 { writer.bytes.append(UInt8(ascii: ",")) }
                writeValue(element, to: &writer)
            }
            writer.bytes.append(UInt8(ascii: "]"))
        case .dictionary(let members):
            writer.bytes.append(UInt8(ascii: "{"))
            for (index, key) in members.keys.sorted().enumerated() {
                if index > 0 { writer.bytes.append(UInt8(ascii: ",")) }
                writer.key(key)
                writeValue(members[key]!, to: &writer)
            }
            writer.bytes.append(UInt8(ascii: "}"))
        }
    }

    /// `{"ts":"` now as RFC 3339 UTC with milliseconds `"`, digit by digit.
    static func timestamp(into writer: inout JSONWriter) {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        var seconds = spec.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func digits(_ value: Int, _ width: Int) { writer.bytes.appendDigits(value, width: width) }
        writer.raw("{\"ts\":\"")
        digits(Int(parts.tm_year) + 1900, 4)
        writer.bytes.append(UInt8(ascii: "-"))
        digits(Int(parts.tm_mon) + 1, 2)
        writer.bytes.append(UInt8(ascii: "-"))
        digits(Int(parts.tm_mday), 2)
        writer.bytes.append(UInt8(ascii: "T"))
        digits(Int(parts.tm_hour), 2)
        writer.bytes.append(UInt8(ascii: ":"))
        digits(Int(parts.tm_min), 2)
        writer.bytes.append(UInt8(ascii: ":"))
        digits(Int(parts.tm_sec), 2)
        writer.bytes.append(UInt8(ascii: "."))
        digits(Int(spec.tv_nsec / 1_000_000), 3)
        writer.raw("Z\"")
    }
}
