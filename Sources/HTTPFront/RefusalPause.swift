/// How long a connection goes unread after Tally answers it 429 (rate limited, too many failed
/// authentications, too much in flight for the tenant).
///
/// A 429 carries `Retry-After`, and a client that honours it sends nothing on that connection
/// before then. One that does not would have each further request parsed, authenticated and
/// refused again: a flood of refusals costs the server nearly what serving them would, and
/// every other tenant waits behind it. So after a refusal the connection is not read for a
/// while, and TCP's flow control slows the sender at no cost to the server (as nginx's
/// `limit_req` delays excess requests and HAProxy's tarpit holds them).
///
/// The pause starts short (`first`), so a connection that carries several tenants' requests
/// (a gateway's pool) loses little to one tenant's refusal, and doubles with each refusal in a
/// row on the connection, so one that keeps sending regardless soon waits as long as it was
/// told to. It never exceeds the `Retry-After` that was sent, nor `ceiling`. Any other answer
/// on the connection starts the count again.
public struct RefusalPause: Sendable, Equatable {
    /// The pause after a first refusal; `.zero` turns pausing off.
    public let first: Duration
    /// The longest pause, whatever `Retry-After` said.
    public let ceiling: Duration
    /// Refusals in a row on this connection.
    public private(set) var consecutive = 0

    public init(first: Duration, ceiling: Duration = .seconds(10)) {
        self.first = max(first, .zero)
        self.ceiling = ceiling
    }

    /// Takes note of an answer's status and its `Retry-After` (whole seconds), and returns how
    /// long to leave the connection unread once that answer is sent; `nil` for no pause.
    public mutating func answered(status: Int, retryAfterSeconds: Int?) -> Duration? {
        guard status == 429, first > .zero else {
            consecutive = 0
            return nil
        }
        consecutive += 1
        let told = Duration.seconds(max(1, retryAfterSeconds ?? 1))
        // first × 2^(n-1), with the exponent bounded long before it could overflow.
        let doubled = first * (1 << min(consecutive - 1, 20))
        return min(doubled, told, ceiling)
    }
}
