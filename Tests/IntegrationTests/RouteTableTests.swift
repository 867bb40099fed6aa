import HTTPFront
import Testing

@Suite struct RouteTableTests {
    let table = RouteTable([
        ("GET", "/v1/tenants"), ("POST", "/v1/tenants"), ("GET", "/v1/tenants/{id}"), ("PATCH", "/v1/tenants/{id}"),
        ("DELETE", "/v1/tenants/{id}/api-keys/{key_id}"),
    ])

    @Test func methodsOfMatchingTemplates() {
        #expect(table.methods(matching: "/v1/tenants") == ["GET", "POST"])
        #expect(table.methods(matching: "/v1/tenants/ten_123") == ["GET", "PATCH"])
        #expect(table.methods(matching: "/v1/tenants/ten_1/api-keys/key_2?x=1") == ["DELETE"])
    }

    @Test func unknownPathsMatchNothing() {
        #expect(table.methods(matching: "/v1/nope").isEmpty)
        #expect(table.methods(matching: "/v1/tenants/a/b").isEmpty)
        #expect(table.methods(matching: "/").isEmpty)
    }
}
