/// What one delivery's outcome does to its endpoint (pure; both stores apply it in a transaction).
public enum WebhookOutcome {
    /// Success clears the failing streak. Failure starts one (or keeps its start) and disables
    /// the endpoint once the streak is `disableAfterMillis` old. Answers whether this disabled it.
    @discardableResult
    public static func apply(success: Bool, to endpoint: inout WebhookEndpoint, nowMillis: Int64, disableAfterMillis: Int64) -> Bool {
        endpoint.updatedAtMillis = nowMillis
        guard !success else {
            endpoint.failingSinceMillis = nil
            return false
        }
        let since = endpoint.failingSinceMillis ?? nowMillis
        endpoint.failingSinceMillis = since
        guard endpoint.status == .enabled, nowMillis - since >= disableAfterMillis else { return false }
        endpoint.status = .disabled
        endpoint.disabledReason = "every delivery failed for \(disableAfterMillis / 86_400_000) days; re-enable it once the receiver is fixed"
        return true
    }
}
