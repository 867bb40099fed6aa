import Core
import HTTPTypes
import Hummingbird

/// Refuses a body whose declared length passes the limit before reading any of it; bodies sent
/// without a length are cut off at the limit when read (`RequestBodyReader`).
struct BodyLimit: Sendable {
    let maxBytes: Int

    func check(_ request: Request) throws {
        if let declared = request.headers.single(.contentLength).flatMap({ Int($0) }), declared > maxBytes {
            throw TallyError(.bodyTooLarge, "the request body is \(declared) bytes; the limit is \(maxBytes)")
        }
    }
}
