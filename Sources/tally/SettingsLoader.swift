import Configuration
import Core
import SystemPackage

/// Gathers the raw settings from the environment (first) and an optional JSON config file
/// (second) through swift-configuration, then validates them with `Settings.parse`.
///
/// In the file, `TALLY_HTTP_MAX_BODY_BYTES` is `{"http": {"max_body_bytes": …}}`: the
/// environment name without `TALLY_`, lower-cased, with dots where the table below has them.
enum SettingsLoader {
    /// Environment name and config-file key of every setting.
    static let keys: [(env: String, file: String)] = [
        (Settings.Name.databaseURL, "database.url"),
        (Settings.Name.redisURL, "redis.url"),
        (Settings.Name.httpAddress, "http.address"),
        (Settings.Name.dataDir, "data_dir"),
        (Settings.Name.logLevel, "log_level"),
        (Settings.Name.accessLog, "access_log"),
        (Settings.Name.environment, "env"),
        (Settings.Name.maxBodyBytes, "http.max_body_bytes"),
        (Settings.Name.shutdownTimeout, "shutdown_timeout_seconds"),
        (Settings.Name.authCacheTTL, "auth.cache_ttl_seconds"),
        (Settings.Name.databasePoolSize, "database.pool_size"),
        (Settings.Name.maxBatchEvents, "events.max_batch"),
        (Settings.Name.maxBatchBytes, "events.max_batch_bytes"),
        (Settings.Name.ingestTenantMaxInFlightBytes, "ingest.tenant_max_inflight_bytes"),
        (Settings.Name.ingestMaxInFlightBytes, "ingest.max_inflight_bytes"),
        (Settings.Name.ingestTenantMaxInFlightRequests, "ingest.tenant_max_inflight_requests"),
        (Settings.Name.ingestMaxInFlightRequests, "ingest.max_inflight_requests"),
        (Settings.Name.ingestCommitOverlapEvents, "ingest.commit_overlap_events"),
        (Settings.Name.tenantIdleSeconds, "tenant_idle_seconds"),
        (Settings.Name.idempotencyTTL, "idempotency.ttl_seconds"),
        (Settings.Name.rateLimitTenant, "rate_limit.tenant_per_second"),
        (Settings.Name.rateLimitKey, "rate_limit.key_per_second"),
        (Settings.Name.rateLimitAuthFailures, "rate_limit.auth_failures_per_minute"),
        (Settings.Name.rateLimitRefusalPause, "rate_limit.refusal_pause_ms"),
        (Settings.Name.quotaRefresh, "quota.refresh_seconds"),
        (Settings.Name.quotaLeaseBlockPercent, "quota.lease_block_percent"),
        (Settings.Name.quotaLeaseTTL, "quota.lease_ttl_seconds"),
        (Settings.Name.redisKeyPrefix, "redis.key_prefix"),
        (Settings.Name.workerQueues, "worker.queues"),
        (Settings.Name.workersInServe, "worker.in_serve"),
        (Settings.Name.jobVisibility, "jobs.visibility_seconds"),
        (Settings.Name.jobReconcile, "jobs.reconcile_seconds"),
        (Settings.Name.jobCompletedRetention, "jobs.completed_retention_hours"),
        (Settings.Name.jobDeadRetention, "jobs.dead_retention_days"),
        (Settings.Name.webhookAllowLoopback, "webhooks.allow_loopback"),
        (Settings.Name.webhookAllowPrivate, "webhooks.allow_private_networks"),
        (Settings.Name.webhookInboundSecrets, "webhooks.inbound_secrets"),
        (Settings.Name.periodicJobsFile, "jobs.periodic_file"),
        (Settings.Name.queueRateLimits, "worker.rate_limits"),
        (Settings.Name.billingRunSeconds, "billing.run_seconds"),
        (Settings.Name.billingFinalizeGrace, "billing.finalize_grace_seconds"),
        (Settings.Name.billingNetDays, "billing.net_days"),
        (Settings.Name.billingLatenessDays, "billing.lateness_days"),
        (Settings.Name.billingDunningFile, "billing.dunning_file"),
        (Settings.Name.paymentProvider, "payments.provider"),
        (Settings.Name.paymentHTTPURL, "payments.http_url"),
        (Settings.Name.paymentHTTPSecret, "payments.http_secret"),
    ]

    /// The validated settings. `configFile` (or `TALLY_CONFIG_FILE`) names a JSON file that must exist.
    static func load(configFile: String?) async throws -> Settings {
        let environment = ConfigReader(provider: EnvironmentVariablesProvider())
        var file: ConfigReader?
        if let path = configFile ?? environment.string(forKey: "tally.config_file"), !path.isEmpty {
            do {
                file = ConfigReader(provider: try await FileProvider<JSONSnapshot>(filePath: FilePath(path)))
            } catch {
                throw ConfigurationError(setting: "TALLY_CONFIG_FILE", message: "cannot read JSON config file \(path): \(error)")
            }
        }
        var raw: [String: String] = [:]
        for (env, key) in keys {
            if let value = environment.string(forKey: ConfigKey("tally." + key), isSecret: env.hasSuffix("_URL") || env.contains("SECRET")) {
                raw[env] = value
            } else if let file {
                raw[env] = file.string(forKey: ConfigKey(key), isSecret: env.hasSuffix("_URL") || env.contains("SECRET")) ?? file.int(forKey: ConfigKey(key)).map(String.init)
            }
        }
        return try Settings.parse(raw)
    }
}
