import Core

/// The metering part of a tenant's `settings` object:
///
/// ```json
/// {"metering": {"backfill": true, "lateness_horizon_days": 35}}
/// ```
///
/// `backfill` (default false) accepts events of any age, for importing history;
/// `lateness_horizon_days` (1-3650, default 35) is how old an event may be otherwise.
public enum TenantMeteringSettings {
    public static let key = "metering"

    /// The tenant's event-time policy; throws `validation_failed` naming the bad setting.
    public static func policy(from settings: [String: JSONValue]) throws(TallyError) -> EventTimePolicy {
        var policy = EventTimePolicy.standard
        guard let section = settings[key] else { return policy }
        guard case .object(let members) = section else { throw .validation("settings.metering", "settings.metering must be an object") }
        for name in members.keys where name != "backfill" && name != "lateness_horizon_days" {
            throw .validation("settings.metering.\(name)", "settings.metering takes backfill and lateness_horizon_days")
        }
        switch members["backfill"] {
        case nil, .null?: break
        case .bool(let flag)?: policy.backfill = flag
        default: throw .validation("settings.metering.backfill", "backfill must be true or false")
        }
        switch members["lateness_horizon_days"] {
        case nil, .null?: break
        case .number(let days)? where days == days.rounded() && (1...3650).contains(days):
            policy.latenessHorizon = .seconds(Int64(days) * 86_400)
        default: throw .validation("settings.metering.lateness_horizon_days", "lateness_horizon_days must be a whole number of days in 1...3650")
        }
        return policy
    }
}
