import Core
import Foundation
import Testing

/// Scopes are a closed set of known texts: equality, hashing, parsing and the wire form all
/// agree with the text.
@Suite struct ScopeTests {
    @Test func equalityAndHashingFollowTheText() {
        for a in Scope.known {
            for b in Scope.known {
                #expect((a == b) == (a.rawValue == b.rawValue), "\(a) and \(b)")
            }
        }
        #expect(Set(Scope.known).count == Scope.known.count)
        #expect(Set(Scope.tenantDefaults).contains(.usageRead))
        #expect(!Set(Scope.tenantDefaults).contains(.operator))
    }

    @Test func parsingGivesTheKnownScopeOrNothing() {
        for scope in Scope.known {
            #expect(Scope(scope.rawValue) == scope)
            #expect(Scope(scope.rawValue).map { Set([$0]).contains(scope) } == true)
        }
        #expect(Scope("usage:write") == nil)
        #expect(Scope("USAGE:READ") == nil)
        #expect(Scope("") == nil)
    }

    @Test func theWireFormIsTheText() throws {
        let encoded = try JSONEncoder().encode([Scope.eventsWrite, .usageRead])
        #expect(String(decoding: encoded, as: UTF8.self) == #"["events:write","usage:read"]"#)
        #expect(try JSONDecoder().decode([Scope].self, from: encoded) == [.eventsWrite, .usageRead])
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([Scope].self, from: Data(#"["nope"]"#.utf8)) }
        #expect(Scope.known.sorted().first == .billingRead)  // ordered by text
    }
}
