/// Tally's validated configuration. Built from plain strings by `Settings.parse`, which is pure:
/// the executable gathers the strings from the environment and an optional config file.
public struct Settings: Sendable, Equatable {
    /// The deployment environment.
    public enum Environment: String, Sendable, CaseIterable { case dev, stage, prod }

    /// Which storage backend the settings select.
    public enum Backend: Sendable, Equatable {
        /// One SQLite file under the data directory; the default.
        case embedded
        /// PostgreSQL for the ledger and platform tables, Redis for queue and leases.
        case production(database: PostgresURL, redis: RedisURL)
    }

    /// The settings' names, exactly as operators write them in the environment.
    public enum Name {
        public static let databaseURL = "TALLY_DATABASE_URL"
        public static let redisURL = "TALLY_REDIS_URL"
        public static let httpAddress = "TALLY_HTTP_ADDRESS"
        public static let dataDir = "TALLY_DATA_DIR"
        public static let logLevel = "TALLY_LOG_LEVEL"
        public static let accessLog = "TALLY_ACCESS_LOG"
        public static let environment = "TALLY_ENV"
        public static let maxBodyBytes = "TALLY_HTTP_MAX_BODY_BYTES"
        public static let shutdownTimeout = "TALLY_SHUTDOWN_TIMEOUT_SECONDS"
        public static let authCacheTTL = "TALLY_AUTH_CACHE_TTL_SECONDS"
        public static let databasePoolSize = "TALLY_DATABASE_POOL_SIZE"
        public static let maxBatchEvents = "TALLY_EVENTS_MAX_BATCH"
        public static let maxBatchBytes = "TALLY_EVENTS_MAX_BATCH_BYTES"
        public static let ingestTenantMaxInFlightBytes = "TALLY_INGEST_TENANT_MAX_INFLIGHT_BYTES"
        public static let ingestMaxInFlightBytes = "TALLY_INGEST_MAX_INFLIGHT_BYTES"
        public static let ingestTenantMaxInFlightRequests = "TALLY_INGEST_TENANT_MAX_INFLIGHT_REQUESTS"
        public static let ingestMaxInFlightRequests = "TALLY_INGEST_MAX_INFLIGHT_REQUESTS"
        public static let ingestCommitOverlapEvents = "TALLY_INGEST_COMMIT_OVERLAP_EVENTS"
        public static let tenantIdleSeconds = "TALLY_TENANT_IDLE_SECONDS"
        public static let idempotencyTTL = "TALLY_IDEMPOTENCY_TTL_SECONDS"
        public static let rateLimitTenant = "TALLY_RATE_LIMIT_TENANT_PER_SECOND"
        public static let rateLimitKey = "TALLY_RATE_LIMIT_KEY_PER_SECOND"
        public static let rateLimitAuthFailures = "TALLY_RATE_LIMIT_AUTH_FAILURES_PER_MINUTE"
        public static let rateLimitRefusalPause = "TALLY_RATE_LIMIT_REFUSAL_PAUSE_MS"
        public static let quotaRefresh = "TALLY_QUOTA_REFRESH_SECONDS"
        public static let quotaLeaseBlockPercent = "TALLY_QUOTA_LEASE_BLOCK_PERCENT"
        public static let quotaLeaseTTL = "TALLY_QUOTA_LEASE_TTL_SECONDS"
        public static let redisKeyPrefix = "TALLY_REDIS_KEY_PREFIX"
        public static let workerQueues = "TALLY_WORKER_QUEUES"
        public static let workersInServe = "TALLY_WORKERS_IN_SERVE"
        public static let jobVisibility = "TALLY_JOB_VISIBILITY_SECONDS"
        public static let jobReconcile = "TALLY_JOB_RECONCILE_SECONDS"
        public static let jobCompletedRetention = "TALLY_JOB_COMPLETED_RETENTION_HOURS"
        public static let jobDeadRetention = "TALLY_JOB_DEAD_RETENTION_DAYS"
        public static let webhookAllowLoopback = "TALLY_WEBHOOK_ALLOW_LOOPBACK"
        public static let webhookAllowPrivate = "TALLY_WEBHOOK_ALLOW_PRIVATE_NETWORKS"
        public static let webhookInboundSecrets = "TALLY_WEBHOOK_INBOUND_SECRETS"
        public static let periodicJobsFile = "TALLY_PERIODIC_JOBS_FILE"
        public static let queueRateLimits = "TALLY_QUEUE_RATE_LIMITS"
        public static let billingRunSeconds = "TALLY_BILLING_RUN_SECONDS"
        public static let billingFinalizeGrace = "TALLY_BILLING_FINALIZE_GRACE_SECONDS"
        public static let billingNetDays = "TALLY_BILLING_NET_DAYS"
        public static let billingLatenessDays = "TALLY_BILLING_LATENESS_DAYS"
        public static let billingDunningFile = "TALLY_BILLING_DUNNING_FILE"
        public static let paymentProvider = "TALLY_PAYMENT_PROVIDER"
        public static let paymentHTTPURL = "TALLY_PAYMENT_HTTP_URL"
        public static let paymentHTTPSecret = "TALLY_PAYMENT_HTTP_SECRET"
        /// Every setting, for the config-file reader and `--help` texts.
        public static let all = [
            databaseURL, redisURL, httpAddress, dataDir, logLevel, accessLog, environment,
            maxBodyBytes, shutdownTimeout, authCacheTTL, databasePoolSize, maxBatchEvents, maxBatchBytes,
            ingestTenantMaxInFlightBytes, ingestMaxInFlightBytes, ingestTenantMaxInFlightRequests, ingestMaxInFlightRequests, ingestCommitOverlapEvents, tenantIdleSeconds, idempotencyTTL,
            rateLimitTenant, rateLimitKey, rateLimitAuthFailures, rateLimitRefusalPause, quotaRefresh, quotaLeaseBlockPercent, quotaLeaseTTL,
            redisKeyPrefix, workerQueues, workersInServe, jobVisibility, jobReconcile, jobCompletedRetention, jobDeadRetention,
            webhookAllowLoopback, webhookAllowPrivate, webhookInboundSecrets, periodicJobsFile, queueRateLimits,
            billingRunSeconds, billingFinalizeGrace, billingNetDays, billingLatenessDays, billingDunningFile, paymentProvider, paymentHTTPURL, paymentHTTPSecret,
        ]
    }

    public var backend: Backend
    public var httpHost: String
    public var httpPort: Int
    public var dataDir: String
    public var logLevel: String
    public var environment: Environment
    public var maxBodyBytes: Int
    public var shutdownTimeoutSeconds: Int
    public var authCacheTTLSeconds: Int
    public var databasePoolSize: Int
    /// Most events in one `POST /v1/events` batch.
    public var maxBatchEvents: Int
    /// Largest `POST /v1/events` body.
    public var maxBatchBytes: Int
    /// Admission control for ingest: what one tenant, and the whole node, may have in flight.
    public var ingestLimits: AdmissionLimits
    /// Queued events that start a second ledger transaction beside one in flight (below it,
    /// requests wait for the commit in flight and share the next, larger group).
    public var ingestCommitOverlapEvents = 256
    /// How long a tenant's actor (meter catalog, policy) stays in memory unused.
    public var tenantIdleSeconds: Int
    /// How long an Idempotency-Key (and its stored response) is remembered.
    public var idempotencyTTLSeconds: Int
    /// Default requests per second for one tenant, and for one API key (tenants may override).
    public var rateLimitTenantPerSecond: Int
    public var rateLimitKeyPerSecond: Int
    /// Failed authentications one client IP may make per minute before it is refused outright.
    public var rateLimitAuthFailuresPerMinute: Int
    /// After a 429, a connection is not read for this long, doubling with each refusal in a row
    /// up to the `Retry-After` sent (0: never paused).
    public var rateLimitRefusalPauseMilliseconds = 10
    /// Which requests get an access-log line (`all`, `errors`: status 400 and up, `off`);
    /// metrics count every request either way.
    public var accessLog = AccessLog.all
    /// How often a tenant's entitlement usage is re-read from the ledger (other nodes book too).
    public var quotaRefreshSeconds = 10
    /// Production: each quota lease asks for this percentage of the limit, the most several
    /// nodes together can overshoot a hard limit by.
    public var quotaLeaseBlockPercent = 1
    /// Production: how long an unrenewed quota lease lives (a dead node's lapses after this).
    public var quotaLeaseTTLSeconds = 30
    /// Production: every Redis key Tally writes starts with this (several deployments, or test
    /// runs, can share one Redis).
    public var redisKeyPrefix = "tally:"
    /// The queues this process's workers serve, with how many jobs each runs at once.
    public var workerQueues: [String: Int] = ["default": 10]
    /// Whether `tally serve` runs workers too (`tally worker` always does).
    public var workersInServe = true
    /// How long a job stays held without a heartbeat before the rescuer takes it back.
    public var jobVisibilitySeconds = 30
    /// How often the reconciler looks for jobs the dispatcher lost.
    public var jobReconcileSeconds = 30
    /// Completed and cancelled jobs are deleted after this many hours.
    public var jobCompletedRetentionHours = 24
    /// Dead jobs are deleted after this many days; 0 keeps them until purged.
    public var jobDeadRetentionDays = 0
    /// Whether webhook endpoints may point at loopback addresses (tests, local receivers).
    public var webhookAllowLoopback = false
    /// Whether webhook endpoints may point at private networks (10/8, 192.168/16, fc00::/7, …).
    public var webhookAllowPrivateNetworks = false
    /// Signing secrets of the systems that send Tally webhooks, by source name.
    public var webhookInboundSecrets: [String: String] = [:]
    /// A JSON file listing periodic jobs (name, schedule, kind, queue, args); none by default.
    public var periodicJobsFile: String?
    /// Queues whose job starts are limited across all nodes, in jobs per second.
    public var queueRateLimits: [String: Int] = [:]
    /// How often the billing run looks for ended periods, drafts to finalize and dunning steps
    /// (0: never by itself; `tally billing run` still works).
    public var billingRunSeconds = 60
    /// How long an invoice stays a draft (re-rated at finalization, so late usage in this
    /// window lands on it) before it is finalized and issued.
    public var billingFinalizeGraceSeconds = 3_600
    /// Days from issue to due date.
    public var billingNetDays = 30
    /// How far back the billing run looks for usage booked after a period was invoiced (the
    /// metering lateness horizon, 35 days by default).
    public var billingLatenessDays = 35
    /// A JSON file with the dunning schedule (`[{"after_days": 1, "action": "retry"}, …]`);
    /// none: the standard schedule.
    public var billingDunningFile: String?
    /// `manual` (the default: invoices await collection) or `http` (a payment gateway).
    public var paymentProvider = "manual"
    /// The HTTP provider's base URL (`<url>/charges`, `<url>/refunds`).
    public var paymentHTTPURL: String?
    /// The HTTP provider's signing secret (`whsec_…`), for requests and callbacks.
    public var paymentHTTPSecret: String?

    /// The defaults: embedded backend, 127.0.0.1:8080, ./data, info, dev.
    public static let defaults = Settings(
        backend: .embedded, httpHost: "127.0.0.1", httpPort: 8080, dataDir: "./data", logLevel: "info",
        environment: .dev, maxBodyBytes: 1_048_576, shutdownTimeoutSeconds: 30, authCacheTTLSeconds: 5,
        databasePoolSize: 20, maxBatchEvents: 10_000, maxBatchBytes: 5_242_880, ingestLimits: .defaults, tenantIdleSeconds: 300,
        idempotencyTTLSeconds: 86_400, rateLimitTenantPerSecond: 5_000, rateLimitKeyPerSecond: 5_000, rateLimitAuthFailuresPerMinute: 60
    )

    /// Which requests the server writes an access-log line for.
    public enum AccessLog: String, Sendable, CaseIterable {
        case all, errors, off
    }

    public static let logLevels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]

    /// Validates raw values (keyed by `Name`); an empty string counts as unset.
    /// - Throws: `ConfigurationError` naming the first bad setting.
    public static func parse(_ raw: [String: String]) throws(ConfigurationError) -> Settings {
        func value(_ name: String) -> String? {
            guard let text = raw[name]?.trimmingWhitespace(), !text.isEmpty else { return nil }
            return text
        }
        var settings = Settings.defaults

        switch (value(Name.databaseURL), value(Name.redisURL)) {
        case (nil, nil):
            settings.backend = .embedded
        case (let database?, let redis?):
            settings.backend = .production(
                database: try PostgresURL.parse(database, setting: Name.databaseURL),
                redis: try RedisURL.parse(redis, setting: Name.redisURL)
            )
        case (_?, nil):
            throw ConfigurationError(setting: Name.redisURL, message: "is required when \(Name.databaseURL) is set")
        case (nil, _?):
            throw ConfigurationError(setting: Name.databaseURL, message: "is required when \(Name.redisURL) is set")
        }

        if let address = value(Name.httpAddress) {
            guard let (host, port) = HostPort.split(address, defaultPort: nil) else {
                throw ConfigurationError(setting: Name.httpAddress, message: "expected host:port, got \"\(address)\"")
            }
            settings.httpHost = host
            settings.httpPort = port
        }
        if let dir = value(Name.dataDir) { settings.dataDir = dir }
        if let level = value(Name.logLevel) {
            guard logLevels.contains(level.lowercased()) else {
                throw ConfigurationError(setting: Name.logLevel, message: "expected one of \(logLevels.joined(separator: "|")), got \"\(level)\"")
            }
            settings.logLevel = level.lowercased()
        }
        if let access = value(Name.accessLog) {
            guard let parsed = AccessLog(rawValue: access.lowercased()) else {
                throw ConfigurationError(setting: Name.accessLog, message: "expected all|errors|off, got \"\(access)\"")
            }
            settings.accessLog = parsed
        }
        if let env = value(Name.environment) {
            guard let parsed = Environment(rawValue: env.lowercased()) else {
                throw ConfigurationError(setting: Name.environment, message: "expected dev|stage|prod, got \"\(env)\"")
            }
            settings.environment = parsed
        }
        settings.maxBodyBytes = try integer(value(Name.maxBodyBytes), Name.maxBodyBytes, in: 1024...1_073_741_824) ?? settings.maxBodyBytes
        settings.shutdownTimeoutSeconds = try integer(value(Name.shutdownTimeout), Name.shutdownTimeout, in: 1...3600) ?? settings.shutdownTimeoutSeconds
        settings.authCacheTTLSeconds = try integer(value(Name.authCacheTTL), Name.authCacheTTL, in: 0...300) ?? settings.authCacheTTLSeconds
        settings.databasePoolSize = try integer(value(Name.databasePoolSize), Name.databasePoolSize, in: 1...500) ?? settings.databasePoolSize
        settings.maxBatchEvents = try integer(value(Name.maxBatchEvents), Name.maxBatchEvents, in: 1...100_000) ?? settings.maxBatchEvents
        settings.maxBatchBytes = try integer(value(Name.maxBatchBytes), Name.maxBatchBytes, in: 1024...1_073_741_824) ?? settings.maxBatchBytes
        settings.ingestLimits = AdmissionLimits(
            tenantBytes: try integer(value(Name.ingestTenantMaxInFlightBytes), Name.ingestTenantMaxInFlightBytes, in: 1024...68_719_476_736)
                ?? settings.ingestLimits.tenantBytes,
            totalBytes: try integer(value(Name.ingestMaxInFlightBytes), Name.ingestMaxInFlightBytes, in: 1024...68_719_476_736)
                ?? settings.ingestLimits.totalBytes,
            tenantRequests: try integer(value(Name.ingestTenantMaxInFlightRequests), Name.ingestTenantMaxInFlightRequests, in: 1...1_000_000)
                ?? settings.ingestLimits.tenantRequests,
            totalRequests: try integer(value(Name.ingestMaxInFlightRequests), Name.ingestMaxInFlightRequests, in: 1...1_000_000)
                ?? settings.ingestLimits.totalRequests
        )
        settings.ingestCommitOverlapEvents = try integer(value(Name.ingestCommitOverlapEvents), Name.ingestCommitOverlapEvents, in: 1...1_000_000)
            ?? settings.ingestCommitOverlapEvents
        settings.tenantIdleSeconds = try integer(value(Name.tenantIdleSeconds), Name.tenantIdleSeconds, in: 1...86_400) ?? settings.tenantIdleSeconds
        settings.idempotencyTTLSeconds = try integer(value(Name.idempotencyTTL), Name.idempotencyTTL, in: 60...2_592_000) ?? settings.idempotencyTTLSeconds
        settings.rateLimitTenantPerSecond = try integer(value(Name.rateLimitTenant), Name.rateLimitTenant, in: 1...1_000_000) ?? settings.rateLimitTenantPerSecond
        settings.rateLimitKeyPerSecond = try integer(value(Name.rateLimitKey), Name.rateLimitKey, in: 1...1_000_000) ?? settings.rateLimitKeyPerSecond
        settings.rateLimitAuthFailuresPerMinute =
            try integer(value(Name.rateLimitAuthFailures), Name.rateLimitAuthFailures, in: 1...1_000_000) ?? settings.rateLimitAuthFailuresPerMinute
        settings.rateLimitRefusalPauseMilliseconds =
            try integer(value(Name.rateLimitRefusalPause), Name.rateLimitRefusalPause, in: 0...10_000) ?? settings.rateLimitRefusalPauseMilliseconds
        settings.quotaRefreshSeconds = try integer(value(Name.quotaRefresh), Name.quotaRefresh, in: 1...3_600) ?? settings.quotaRefreshSeconds
        settings.quotaLeaseBlockPercent =
            try integer(value(Name.quotaLeaseBlockPercent), Name.quotaLeaseBlockPercent, in: 1...100) ?? settings.quotaLeaseBlockPercent
        settings.quotaLeaseTTLSeconds = try integer(value(Name.quotaLeaseTTL), Name.quotaLeaseTTL, in: 4...3_600) ?? settings.quotaLeaseTTLSeconds
        if let prefix = value(Name.redisKeyPrefix) {
            guard prefix.utf8.count <= 64, prefix.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
                throw ConfigurationError(setting: Name.redisKeyPrefix, message: "expected up to 64 printable characters without spaces, got \"\(prefix)\"")
            }
            settings.redisKeyPrefix = prefix
        }
        if let queues = value(Name.workerQueues) { settings.workerQueues = try workerQueues(queues) }
        if let rates = value(Name.queueRateLimits) { settings.queueRateLimits = try workerQueues(rates, setting: Name.queueRateLimits) }
        settings.workersInServe = try flag(value(Name.workersInServe), Name.workersInServe) ?? settings.workersInServe
        settings.webhookAllowLoopback = try flag(value(Name.webhookAllowLoopback), Name.webhookAllowLoopback) ?? settings.webhookAllowLoopback
        settings.webhookAllowPrivateNetworks = try flag(value(Name.webhookAllowPrivate), Name.webhookAllowPrivate) ?? settings.webhookAllowPrivateNetworks
        settings.periodicJobsFile = value(Name.periodicJobsFile)
        settings.billingRunSeconds = try integer(value(Name.billingRunSeconds), Name.billingRunSeconds, in: 0...86_400) ?? settings.billingRunSeconds
        settings.billingFinalizeGraceSeconds =
            try integer(value(Name.billingFinalizeGrace), Name.billingFinalizeGrace, in: 0...2_592_000) ?? settings.billingFinalizeGraceSeconds
        settings.billingNetDays = try integer(value(Name.billingNetDays), Name.billingNetDays, in: 0...365) ?? settings.billingNetDays
        settings.billingLatenessDays = try integer(value(Name.billingLatenessDays), Name.billingLatenessDays, in: 0...366) ?? settings.billingLatenessDays
        if let provider = value(Name.paymentProvider) {
            guard provider == "manual" || provider == "http" else {
                throw ConfigurationError(setting: Name.paymentProvider, message: "expected manual or http, got \"\(provider)\"")
            }
            settings.paymentProvider = provider
        }
        settings.billingDunningFile = value(Name.billingDunningFile)
        settings.paymentHTTPURL = value(Name.paymentHTTPURL)
        settings.paymentHTTPSecret = value(Name.paymentHTTPSecret)
        if settings.paymentProvider == "http" {
            guard let url = settings.paymentHTTPURL, url.hasPrefix("http://") || url.hasPrefix("https://") else {
                throw ConfigurationError(setting: Name.paymentHTTPURL, message: "the http payment provider needs its base URL (http:// or https://)")
            }
            guard settings.paymentHTTPSecret?.hasPrefix("whsec_") == true else {
                throw ConfigurationError(setting: Name.paymentHTTPSecret, message: "the http payment provider needs its signing secret (whsec_…)")
            }
        }
        if let secrets = value(Name.webhookInboundSecrets) {
            for part in secrets.split(separator: ",") {
                let pair = part.split(separator: "=", maxSplits: 1).map { String($0).trimmingWhitespace() }
                guard pair.count == 2, (1...64).contains(pair[0].utf8.count),
                      pair[0].utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D || $0 == 0x5F }),
                      pair[1].hasPrefix("whsec_"), settings.webhookInboundSecrets[pair[0]] == nil
                else {
                    throw ConfigurationError(setting: Name.webhookInboundSecrets, message: "expected source=whsec_… pairs separated by commas (source: a-z, 0-9, '-', '_'; each once)")
                }
                settings.webhookInboundSecrets[pair[0]] = pair[1]
            }
        }
        settings.jobVisibilitySeconds = try integer(value(Name.jobVisibility), Name.jobVisibility, in: 5...86_400) ?? settings.jobVisibilitySeconds
        settings.jobReconcileSeconds = try integer(value(Name.jobReconcile), Name.jobReconcile, in: 1...86_400) ?? settings.jobReconcileSeconds
        settings.jobCompletedRetentionHours =
            try integer(value(Name.jobCompletedRetention), Name.jobCompletedRetention, in: 1...87_600) ?? settings.jobCompletedRetentionHours
        settings.jobDeadRetentionDays = try integer(value(Name.jobDeadRetention), Name.jobDeadRetention, in: 0...36_500) ?? settings.jobDeadRetentionDays
        return settings
    }

    private static func flag(_ text: String?, _ name: String) throws(ConfigurationError) -> Bool? {
        guard let text else { return nil }
        switch text.lowercased() {
        case "true", "1", "yes", "on": return true
        case "false", "0", "no", "off": return false
        default: throw ConfigurationError(setting: name, message: "expected true or false, got \"\(text)\"")
        }
    }

    /// Parses `queue=concurrency,queue=concurrency` (e.g. `default=10,webhooks=20`).
    static func workerQueues(_ text: String, setting: String = Name.workerQueues) throws(ConfigurationError) -> [String: Int] {
        var queues: [String: Int] = [:]
        for part in text.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1).map { String($0).trimmingWhitespace() }
            guard pair.count == 2, LowercaseName.isValid(pair[0], maxBytes: 128),
                  let concurrency = Int(pair[1]), (1...10_000).contains(concurrency), queues[pair[0]] == nil
            else {
                throw ConfigurationError(setting: setting, message: "expected queue=number pairs such as default=10,webhooks=20 (queue names a-z, 0-9, '.', '_', '-'; numbers 1...10000; each queue once), got \"\(text)\"")
            }
            queues[pair[0]] = concurrency
        }
        guard !queues.isEmpty else {
            throw ConfigurationError(setting: setting, message: "names no queue")
        }
        return queues
    }

    private static func integer(_ text: String?, _ name: String, in range: ClosedRange<Int>) throws(ConfigurationError) -> Int? {
        guard let text else { return nil }
        guard let number = Int(text), range.contains(number) else {
            throw ConfigurationError(setting: name, message: "expected a whole number in \(range.lowerBound)...\(range.upperBound), got \"\(text)\"")
        }
        return number
    }
}

/// A setting that failed validation; `description` is the one line start-up prints.
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The setting's environment-variable name.
    public let setting: String
    /// What is wrong with it.
    public let message: String

    public init(setting: String, message: String) {
        self.setting = setting
        self.message = message
    }

    public var description: String { "invalid configuration: \(setting) \(message)" }
}

extension String {
    /// The string without leading and trailing whitespace.
    public func trimmingWhitespace() -> String {
        var scalars = Substring(self)
        while let first = scalars.first, first.isWhitespace { scalars.removeFirst() }
        while let last = scalars.last, last.isWhitespace { scalars.removeLast() }
        return String(scalars)
    }
}
