import Foundation
import HTTPFront
import HTTPTypes
import Hummingbird
import TallyTestSupport
import Testing

@Suite struct OpenAPIDocumentTests {
    @Test func documentListsExactlyTheRoutesTheRouterServes() async throws {
        let object = try #require(try JSONSerialization.jsonObject(with: Data(OpenAPIDocument.json.utf8)) as? [String: Any])
        #expect(object["openapi"] as? String == "3.1.0")
        let paths = try #require(object["paths"] as? [String: [String: Any]])
        var documented = Set<String>()
        for (path, operations) in paths {
            for method in operations.keys where ["get", "post", "put", "patch", "delete"].contains(method) {
                documented.insert("\(method.uppercased()) \(path)")
            }
        }
        let expected = documented
        try await TestServer.run(.sqlite) { server in
            let documented = expected
            let served = Set(server.routes)
            #expect(served.subtracting(documented).isEmpty, "served but undocumented: \(served.subtracting(documented).sorted())")
            #expect(documented.subtracting(served).isEmpty, "documented but not served: \(documented.subtracting(served).sorted())")
            let fetched = try await server.call(.get, "/openapi.json")
            #expect(fetched.status == 200)
            #expect(fetched.object["openapi"] as? String == "3.1.0")
        }
    }

    @Test func everyReferenceResolves() throws {
        let text = OpenAPIDocument.json
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        let components = try #require(object["components"] as? [String: [String: Any]])
        let regex = try NSRegularExpression(pattern: "\"#/components/(\\w+)/(\\w+)\"")
        let matches = regex.matches(in: text, range: NSRange(text.startIndex..., in: text))
        #expect(!matches.isEmpty)
        for match in matches {
            let kind = String(text[Range(match.range(at: 1), in: text)!])
            let name = String(text[Range(match.range(at: 2), in: text)!])
            #expect(components[kind]?[name] != nil, "unresolved #/components/\(kind)/\(name)")
        }
    }
}
