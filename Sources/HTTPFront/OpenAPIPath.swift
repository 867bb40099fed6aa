/// Converts between Hummingbird's route syntax (`/v1/tenants/:id`) and OpenAPI's (`/v1/tenants/{id}`).
public enum OpenAPIPath {
    /// `/v1/tenants/:id` becomes `/v1/tenants/{id}`.
    public static func template(fromRouter path: String) -> String {
        let segments = path.split(separator: "/", omittingEmptySubsequences: false).map { segment -> String in
            segment.hasPrefix(":") ? "{" + segment.dropFirst() + "}" : String(segment)
        }
        let joined = segments.joined(separator: "/")
        return joined.hasPrefix("/") ? joined : "/" + joined
    }
}
