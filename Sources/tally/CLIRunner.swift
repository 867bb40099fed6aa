import Core
import Platform
import Storage
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Runs a CLI command body against the migrated backend, turning Tally's errors into one line
/// on standard error and exit status 1.
enum CLIRunner {
    static func run(_ options: GlobalOptions, _ body: (Platform, StorageBackend) async throws -> Void) async throws {
        let settings = await CommandContext.settings(options)
        var logger = CommandContext.bootstrapLogging(settings)
        logger.logLevel = max(logger.logLevel, .warning)  // commands print results, not start-up chatter
        do {
            try await CommandContext.withPlatform(settings, logger: logger, body)
        } catch let error as TallyError {
            CommandContext.fail("tally: \(error.detail)\(error.field.map { " (\($0))" } ?? "") [\(error.code.rawValue)]")
        } catch let error as MigrationError {
            CommandContext.fail("tally: \(error)")
        }
    }
}

extension CLIRunner {
    /// Every item of a paged list, fetching pages of the largest size until the last.
    static func allPages<T: Sendable>(_ fetch: (PageRequest) async throws -> Page<T>) async throws -> [T] {
        var all: [T] = []
        var page = PageRequest(limit: PageRequest.maximumLimit)
        while true {
            let result = try await fetch(page)
            all += result.items
            guard let next = result.nextCursor else { return all }
            page.after = next
        }
    }
}

/// Printing results as text lines or JSON.
enum CLIOutput {
    static func print<T: Encodable>(_ value: T, json: Bool, line: (T) -> String) throws {
        if json {
            Swift.print(try encode(value))
        } else {
            Swift.print(line(value))
        }
    }

    static func printList<T: Encodable>(_ values: [T], json: Bool, line: (T) -> String) throws {
        if json {
            Swift.print(try encode(values))
        } else {
            values.forEach { Swift.print(line($0)) }
        }
    }

    private static func encode<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        encoder.dateEncodingStrategy = .iso8601
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}
