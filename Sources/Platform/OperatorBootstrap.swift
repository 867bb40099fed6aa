import Core
import Storage
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// Creates the first operator key on an empty database, once across all nodes.
public enum OperatorBootstrap {
    /// The bootstrap step's name in `platform_bootstrap`.
    static let step = "operator_key"
    /// The file, under the data directory, that receives the key (mode 0600).
    public static let fileName = "operator-key"

    /// Issues the first operator key if no node has yet, writes it to `dataDir/operator-key`
    /// with mode 0600, and returns it; `nil` when bootstrap already happened.
    public static func run(platform: Platform, dataDir: String, now: Date) async throws -> (IssuedAPIKey, path: String)? {
        guard try await platform.store.claimBootstrapStep(step, at: now) else { return nil }
        let issued = try await platform.apiKeys.createOperatorKey(name: "bootstrap operator key")
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
        let path = (dataDir.hasSuffix("/") ? dataDir : dataDir + "/") + fileName
        try writePrivateFile(path, contents: issued.token.text + "\n")
        return (issued, path)
    }

    /// Writes a file readable only by its owner, created with 0600 so it is never briefly wider.
    static func writePrivateFile(_ path: String, contents: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { throw TallyError(.internalError, "cannot write \(path)", context: String(cString: strerror(errno))) }
        defer { close(fd) }
        fchmod(fd, 0o600)
        var text = contents
        let written = text.withUTF8 { write(fd, $0.baseAddress, $0.count) }
        guard written == contents.utf8.count else { throw TallyError(.internalError, "short write to \(path)") }
    }
}
