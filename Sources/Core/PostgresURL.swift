/// A parsed `postgres://user:password@host:port/database?sslmode=…` URL.
public struct PostgresURL: Sendable, Equatable, CustomStringConvertible {
    /// How TLS is used for the connection (libpq's `sslmode` names).
    public enum TLSMode: String, Sendable { case disable, prefer, require }

    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    public var tls: TLSMode

    public init(host: String, port: Int, username: String, password: String?, database: String, tls: TLSMode) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.tls = tls
    }

    /// The URL with the password masked, safe for logs.
    public var description: String {
        "postgres://\(username)\(password == nil ? "" : ":***")@\(host):\(port)/\(database)?sslmode=\(tls.rawValue)"
    }

    /// Parses the URL; errors name `setting`.
    public static func parse(_ text: String, setting: String) throws(ConfigurationError) -> PostgresURL {
        guard let parts = URLParts(text), ["postgres", "postgresql"].contains(parts.scheme) else {
            throw ConfigurationError(setting: setting, message: "expected postgres://user[:password]@host[:port]/database, got a malformed URL")
        }
        guard let user = parts.user, !user.isEmpty else {
            throw ConfigurationError(setting: setting, message: "must name a user (postgres://user@host/database)")
        }
        guard let (host, port) = HostPort.split(parts.authority, defaultPort: 5432) else {
            throw ConfigurationError(setting: setting, message: "has a malformed host or port")
        }
        let database = parts.path.isEmpty ? user : parts.path
        var tls = TLSMode.prefer
        if let mode = parts.query["sslmode"] {
            switch mode {
            case "disable": tls = .disable
            case "allow", "prefer": tls = .prefer
            case "require", "verify-ca", "verify-full": tls = .require
            default:
                throw ConfigurationError(setting: setting, message: "has an unknown sslmode \"\(mode)\" (disable|prefer|require)")
            }
        }
        return PostgresURL(host: host, port: port, username: user, password: parts.password, database: database, tls: tls)
    }
}

/// A parsed `redis://[:password@]host[:port][/db]` URL.
public struct RedisURL: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var password: String?
    public var database: Int

    public init(host: String, port: Int, password: String?, database: Int) {
        self.host = host
        self.port = port
        self.password = password
        self.database = database
    }

    /// The URL with the password masked, safe for logs.
    public var description: String { "redis://\(password == nil ? "" : ":***@")\(host):\(port)/\(database)" }

    /// Parses the URL; errors name `setting`.
    public static func parse(_ text: String, setting: String) throws(ConfigurationError) -> RedisURL {
        guard let parts = URLParts(text), parts.scheme == "redis" else {
            throw ConfigurationError(setting: setting, message: "expected redis://[:password@]host[:port][/db], got a malformed URL")
        }
        guard let (host, port) = HostPort.split(parts.authority, defaultPort: 6379) else {
            throw ConfigurationError(setting: setting, message: "has a malformed host or port")
        }
        var database = 0
        if !parts.path.isEmpty {
            guard let number = Int(parts.path), (0...15).contains(number) else {
                throw ConfigurationError(setting: setting, message: "has a database number that is not 0...15")
            }
            database = number
        }
        return RedisURL(host: host, port: port, password: parts.password, database: database)
    }
}

/// The pieces of `scheme://[user[:password]@]authority[/path][?query]`, percent-decoded.
struct URLParts {
    var scheme: String
    var user: String?
    var password: String?
    var authority: String
    var path: String
    var query: [String: String]

    init?(_ text: String) {
        guard let schemeEnd = text.firstRange(of: "://") else { return nil }
        scheme = text[..<schemeEnd.lowerBound].lowercased()
        var rest = text[schemeEnd.upperBound...]
        query = [:]
        if let q = rest.firstIndex(of: "?") {
            for pair in rest[rest.index(after: q)...].split(separator: "&") {
                let kv = pair.split(separator: "=", maxSplits: 1)
                query[String(kv[0])] = kv.count > 1 ? URLParts.decode(kv[1]) : ""
            }
            rest = rest[..<q]
        }
        if let slash = rest.firstIndex(of: "/") {
            path = URLParts.decode(rest[rest.index(after: slash)...]) ?? ""
            rest = rest[..<slash]
        } else {
            path = ""
        }
        if let at = rest.lastIndex(of: "@") {
            let userInfo = rest[..<at]
            if let colon = userInfo.firstIndex(of: ":") {
                user = URLParts.decode(userInfo[..<colon])
                password = URLParts.decode(userInfo[userInfo.index(after: colon)...])
            } else {
                user = URLParts.decode(userInfo)
            }
            rest = rest[rest.index(after: at)...]
        }
        authority = String(rest)
        guard !scheme.isEmpty, !authority.isEmpty else { return nil }
    }

    static func decode(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%") {
                guard let h = iterator.next(), let l = iterator.next(),
                      let value = UInt8(String(decoding: [h, l], as: UTF8.self), radix: 16) else { return nil }
                bytes.append(value)
            } else {
                bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }
}
