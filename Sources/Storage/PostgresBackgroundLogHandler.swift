import Logging

/// The log handler PostgresNIO's client logs through, less the noise of one line: "Trying to
/// lease connection from `PostgresClient`, but `PostgresClient.run()` hasn't been called yet."
/// `StorageBackend` starts `run()` in a task beside the first query, and the client counts as
/// running only once that task has entered `run()`, which can come after a command's first query;
/// that query waits for the pool either way, and `PostgresClient` offers no ready signal to wait
/// on. So that one warning is logged at `debug`; everything else goes to `inner` as it is.
public struct PostgresBackgroundLogHandler: LogHandler {
    static let notRunYet = "Trying to lease connection from `PostgresClient`, but `PostgresClient.run()` hasn't been called yet"

    var inner: any LogHandler

    public var logLevel: Logger.Level {
        get { inner.logLevel }
        set { inner.logLevel = newValue }
    }

    public var metadata: Logger.Metadata {
        get { inner.metadata }
        set { inner.metadata = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { inner[metadataKey: key] }
        set { inner[metadataKey: key] = newValue }
    }

    public func log(event: LogEvent) {
        var event = event
        if event.level == .warning, event.message.description.hasPrefix(Self.notRunYet) {
            event.level = .debug
            guard inner.logLevel <= .debug else { return }
        }
        inner.log(event: event)
    }

    /// `logger`, with its handler wrapped.
    public static func wrapping(_ logger: Logger) -> Logger {
        var wrapped = logger
        wrapped.handler = PostgresBackgroundLogHandler(inner: logger.handler)
        return wrapped
    }
}
