import HTTPTypes

extension HTTPFields {
    /// The value of field `name` by a scan of the fields: the one value when it was sent once,
    /// every value joined (as the subscript gives them) when repeated, `nil` when absent.
    ///
    /// For the headers every request reads (`Authorization`, `Content-Length`, `Content-Type`,
    /// `X-Request-Id`): the subscript builds a name index and joins through generic lazy
    /// sequences, which cost a few percent of a small request's CPU.
    public func single(_ name: HTTPField.Name) -> String? {
        var found: String?
        for field in self where field.name == name {
            if found != nil { return self[name] }
            found = field.value
        }
        return found
    }
}
