import Storage
import Testing

@Suite struct MigrationPlanTests {
    let one = Migration(version: 1, name: "a", sql: "CREATE TABLE a (x int)")
    let two = Migration(version: 2, name: "b", sql: "CREATE TABLE b (x int)")

    func applied(_ m: Migration, checksum: String? = nil) -> AppliedMigration {
        AppliedMigration(version: m.version, name: m.name, checksum: checksum ?? m.checksum)
    }

    @Test func pendingIsWhatIsNotApplied() throws {
        #expect(try MigrationPlan.pending(available: [two, one], applied: []) == [one, two])
        #expect(try MigrationPlan.pending(available: [one, two], applied: [applied(one)]) == [two])
        #expect(try MigrationPlan.pending(available: [one, two], applied: [applied(one), applied(two)]) == [])
    }

    @Test func anEditedMigrationIsRefused() {
        #expect(throws: MigrationError.checksumMismatch(version: 1, name: "a", applied: "x", file: one.checksum)) {
            try MigrationPlan.pending(available: [one, two], applied: [applied(one, checksum: "x")])
        }
    }

    @Test func aDatabaseNewerThanTheBinaryIsRefused() {
        #expect(throws: MigrationError.unknownApplied(version: 2, name: "b")) {
            try MigrationPlan.pending(available: [one], applied: [applied(one), applied(two)])
        }
    }

    @Test func duplicateVersionsAreRefused() {
        #expect(throws: MigrationError.duplicateVersion(1)) {
            try MigrationPlan.pending(available: [one, Migration(version: 1, name: "c", sql: "")], applied: [])
        }
    }

    @Test func fileNamesParse() {
        #expect(Migration(file: "0007_add_things.sql", sql: "x")?.version == 7)
        #expect(Migration(file: "0007_add_things.sql", sql: "x")?.name == "add_things")
        #expect(Migration(file: "readme.md", sql: "x") == nil)
        #expect(Migration(file: "abc_x.sql", sql: "x") == nil)
    }

    @Test func bothDialectsShipTheSameVersions() {
        #expect(Migration.embedded(.sqlite).map(\.version) == Migration.embedded(.postgres).map(\.version))
        #expect(!Migration.embedded(.sqlite).isEmpty)
    }
}
