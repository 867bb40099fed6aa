@testable import Bench
import Testing

@Suite struct HTTPResponseReaderTests {
    func head(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test func readsStatusLengthAndRetryAfter() throws {
        let parsed = try HTTPResponseReader.parseHead(head("HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/problem+json\r\nRetry-After: 3\r\nContent-Length: 120\r\n\r\n"))
        #expect(parsed.0 == 429 && parsed.1 == 3 && parsed.2 == 120)
        let ok = try HTTPResponseReader.parseHead(head("HTTP/1.1 200 OK\r\ncontent-length:0\r\n\r\n"))
        #expect(ok.0 == 200 && ok.1 == nil && ok.2 == 0)
    }

    @Test func refusesWhatItCannotFrame() {
        #expect(throws: HTTPResponseReader.Malformed.self) { try HTTPResponseReader.parseHead(head("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")) }
        #expect(throws: HTTPResponseReader.Malformed.self) { try HTTPResponseReader.parseHead(head("HTTP/1.1 200 OK\r\n\r\n")) }
        #expect(throws: HTTPResponseReader.Malformed.self) { try HTTPResponseReader.parseHead(head("SMTP 220 hello\r\n\r\n")) }
    }
}
