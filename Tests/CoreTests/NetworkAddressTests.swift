import Core
import Testing

@Suite struct NetworkAddressTests {
    @Test(arguments: [
        ("8.8.8.8", NetworkAddress.Scope.global), ("1.1.1.1", .global), ("172.32.0.1", .global), ("100.128.0.1", .global),
        ("127.0.0.1", .loopback), ("127.255.0.9", .loopback),
        ("10.1.2.3", .privateNetwork), ("172.16.0.1", .privateNetwork), ("172.31.255.255", .privateNetwork), ("192.168.1.1", .privateNetwork),
        ("100.64.0.1", .privateNetwork),
        ("169.254.169.254", .linkLocal),
        ("0.0.0.0", .special), ("224.0.0.1", .special), ("255.255.255.255", .special), ("192.0.2.1", .special), ("198.51.100.7", .special),
        ("203.0.113.9", .special), ("198.18.0.1", .special),
        ("::1", .loopback), ("::", .special), ("fe80::1", .linkLocal), ("fd12:3456::1", .privateNetwork), ("fc00::1", .privateNetwork),
        ("ff02::1", .special), ("2001:db8::1", .special), ("2606:4700:4700::1111", .global),
        ("::ffff:10.0.0.1", .privateNetwork), ("::ffff:127.0.0.1", .loopback), ("::ffff:8.8.8.8", .global),
    ])
    func classifiesEveryRange(text: String, scope: NetworkAddress.Scope) throws {
        let address = try #require(NetworkAddress(text), "\(text) did not parse")
        #expect(address.scope == scope, "\(text)")
    }

    @Test func refusesWhatIsNotAnAddress() {
        for text in ["", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "a.b.c.d", "1::2::3", ":::", "12345::1", "g::1", "example.com", "1.2.3.4:80"] {
            #expect(NetworkAddress(text) == nil, "\(text)")
        }
        #expect(NetworkAddress("2001:db8:0:0:0:0:0:1")?.bytes == NetworkAddress("2001:db8::1")?.bytes)
        #expect(NetworkAddress("::ffff:10.0.0.1")?.bytes.count == 16)
    }

    @Test func onlyGlobalAddressesAreAllowedByDefault() throws {
        let global = try #require(NetworkAddress("8.8.8.8"))
        let loopback = try #require(NetworkAddress("127.0.0.1"))
        let lan = try #require(NetworkAddress("192.168.0.10"))
        let metadata = try #require(NetworkAddress("169.254.169.254"))
        #expect(global.isAllowed(loopback: false, privateNetworks: false))
        #expect(!loopback.isAllowed(loopback: false, privateNetworks: true) && loopback.isAllowed(loopback: true, privateNetworks: false))
        #expect(!lan.isAllowed(loopback: true, privateNetworks: false) && lan.isAllowed(loopback: false, privateNetworks: true))
        #expect(!metadata.isAllowed(loopback: true, privateNetworks: true))
    }
}
