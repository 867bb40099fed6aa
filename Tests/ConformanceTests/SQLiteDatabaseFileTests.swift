import Foundation
import Storage
import TallyTestSupport
import Testing

/// Opening the embedded database file: many opens of a fresh file at once all succeed (the busy
/// timeout is set before the switch to WAL, which takes a lock), and an open that fails closes
/// what it opened before it throws (SQLiteNIO traps on a connection dropped open, in debug
/// builds: before, a failed open could take the whole process down).
@Suite struct SQLiteDatabaseFileTests {
    func directory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tally-sqlite-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func manyOpensOfAFreshFileAtOnceAllSucceed() async throws {
        let dir = try directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/tally.sqlite"
        // Each open's error is its own answer: a throwing group would cancel the others' opens
        // midway, which is another test.
        let opened = await withTaskGroup(of: String.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    do {
                        let file = try await SQLiteDatabaseFile.open(path: path, logger: TestBackend.logger)
                        let mode = try await file.read("PRAGMA journal_mode").first?.column("journal_mode")?.string
                        try await file.close()
                        return mode ?? "no mode"
                    } catch {
                        return "\(error)"
                    }
                }
            }
            return await group.reduce(into: [String]()) { $0.append($1) }
        }
        #expect(opened == Array(repeating: "wal", count: 8), "\(opened)")
    }

    @Test func aFailedOpenThrowsAndLeavesNothingOpen() async throws {
        let dir = try directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/tally.sqlite"
        // Not a database: the first pragma fails on the writer.
        try Data(repeating: 0x41, count: 8_192).write(to: URL(fileURLWithPath: path))
        await #expect(throws: (any Error).self) { try await SQLiteDatabaseFile.open(path: path, logger: TestBackend.logger) }
        // The file was not changed by the attempt.
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data(repeating: 0x41, count: 8_192))
    }
}
