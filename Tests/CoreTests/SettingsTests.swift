import Core
import Testing

@Suite struct SettingsTests {
    @Test func defaultsSelectTheEmbeddedBackend() throws {
        let settings = try Settings.parse([:])
        #expect(settings == .defaults)
        #expect(settings.backend == .embedded)
        #expect(settings.httpHost == "127.0.0.1")
        #expect(settings.httpPort == 8080)
        #expect(settings.dataDir == "./data")
    }

    @Test func databaseAndRedisTogetherSelectProduction() throws {
        let settings = try Settings.parse([
            "TALLY_DATABASE_URL": "postgres://tally:s3cret@db.internal:6543/ledger?sslmode=require",
            "TALLY_REDIS_URL": "redis://:pw@cache:6380/2",
        ])
        guard case .production(let database, let redis) = settings.backend else {
            Issue.record("expected production backend")
            return
        }
        #expect(database == PostgresURL(host: "db.internal", port: 6543, username: "tally", password: "s3cret", database: "ledger", tls: .require))
        #expect(redis == RedisURL(host: "cache", port: 6380, password: "pw", database: 2))
        #expect(!database.description.contains("s3cret"))
        #expect(!redis.description.contains("pw"))
    }

    @Test(arguments: [
        (["TALLY_DATABASE_URL": "postgres://u@h/d"], "TALLY_REDIS_URL"),
        (["TALLY_REDIS_URL": "redis://h"], "TALLY_DATABASE_URL"),
        (["TALLY_DATABASE_URL": "mysql://u@h/d", "TALLY_REDIS_URL": "redis://h"], "TALLY_DATABASE_URL"),
        (["TALLY_DATABASE_URL": "postgres://h/d", "TALLY_REDIS_URL": "redis://h"], "TALLY_DATABASE_URL"),
        (["TALLY_DATABASE_URL": "postgres://u@h/d?sslmode=bogus", "TALLY_REDIS_URL": "redis://h"], "TALLY_DATABASE_URL"),
        (["TALLY_DATABASE_URL": "postgres://u@h/d", "TALLY_REDIS_URL": "redis://h/99"], "TALLY_REDIS_URL"),
        (["TALLY_HTTP_ADDRESS": "nonsense"], "TALLY_HTTP_ADDRESS"),
        (["TALLY_HTTP_ADDRESS": "127.0.0.1:99999"], "TALLY_HTTP_ADDRESS"),
        (["TALLY_LOG_LEVEL": "loud"], "TALLY_LOG_LEVEL"),
        (["TALLY_ACCESS_LOG": "some"], "TALLY_ACCESS_LOG"),
        (["TALLY_ENV": "production"], "TALLY_ENV"),
        (["TALLY_HTTP_MAX_BODY_BYTES": "ten"], "TALLY_HTTP_MAX_BODY_BYTES"),
        (["TALLY_HTTP_MAX_BODY_BYTES": "12"], "TALLY_HTTP_MAX_BODY_BYTES"),
        (["TALLY_SHUTDOWN_TIMEOUT_SECONDS": "0"], "TALLY_SHUTDOWN_TIMEOUT_SECONDS"),
        (["TALLY_RATE_LIMIT_REFUSAL_PAUSE_MS": "-1"], "TALLY_RATE_LIMIT_REFUSAL_PAUSE_MS"),
        (["TALLY_RATE_LIMIT_REFUSAL_PAUSE_MS": "10001"], "TALLY_RATE_LIMIT_REFUSAL_PAUSE_MS"),
        (["TALLY_RATE_LIMIT_REFUSAL_PAUSE_MS": "soon"], "TALLY_RATE_LIMIT_REFUSAL_PAUSE_MS"),
    ])
    func badSettingsNameTheSetting(raw: [String: String], setting: String) {
        #expect(throws: ConfigurationError.self) { try Settings.parse(raw) }
        do {
            _ = try Settings.parse(raw)
        } catch {
            #expect(error.setting == setting)
            #expect(error.description.hasPrefix("invalid configuration: \(setting) "))
        }
    }

    @Test func refusalPauseDefaultsToTenMillisecondsAndZeroTurnsItOff() throws {
        #expect(Settings.defaults.rateLimitRefusalPauseMilliseconds == 10)
        #expect(try Settings.parse(["TALLY_RATE_LIMIT_REFUSAL_PAUSE_MS": "0"]).rateLimitRefusalPauseMilliseconds == 0)
        #expect(try Settings.parse(["TALLY_RATE_LIMIT_REFUSAL_PAUSE_MS": "10000"]).rateLimitRefusalPauseMilliseconds == 10_000)
    }

    @Test func addressAcceptsIPv6AndEmptyValuesCountAsUnset() throws {
        let settings = try Settings.parse(["TALLY_HTTP_ADDRESS": "[::1]:9000", "TALLY_DATA_DIR": "  ", "TALLY_LOG_LEVEL": "DEBUG"])
        #expect(settings.httpHost == "::1")
        #expect(settings.httpPort == 9000)
        #expect(settings.dataDir == "./data")
        #expect(settings.logLevel == "debug")
        #expect(settings.accessLog == .all)
        #expect(try Settings.parse(["TALLY_ACCESS_LOG": "Errors"]).accessLog == .errors)
        #expect(try Settings.parse(["TALLY_ACCESS_LOG": "off"]).accessLog == .off)
    }

    @Test func urlPartsArePercentDecoded() throws {
        let url = try PostgresURL.parse("postgresql://us%40er:p%3Ass@localhost/db", setting: "X")
        #expect(url.username == "us@er")
        #expect(url.password == "p:ss")
        #expect(url.port == 5432)
        #expect(url.tls == .prefer)
    }

    @Test func jobAndWebhookSettings() throws {
        let settings = try Settings.parse([
            "TALLY_WORKER_QUEUES": "default=4, webhooks=20", "TALLY_WORKERS_IN_SERVE": "false", "TALLY_JOB_VISIBILITY_SECONDS": "60",
            "TALLY_JOB_DEAD_RETENTION_DAYS": "30", "TALLY_REDIS_KEY_PREFIX": "acme:", "TALLY_WEBHOOK_ALLOW_LOOPBACK": "yes",
            "TALLY_WEBHOOK_INBOUND_SECRETS": "stripe=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw,billing-2=whsec_abc",
        ])
        #expect(settings.workerQueues == ["default": 4, "webhooks": 20])
        #expect(!settings.workersInServe && settings.jobVisibilitySeconds == 60 && settings.jobDeadRetentionDays == 30)
        #expect(settings.redisKeyPrefix == "acme:" && settings.webhookAllowLoopback && !settings.webhookAllowPrivateNetworks)
        #expect(settings.webhookInboundSecrets == ["stripe": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "billing-2": "whsec_abc"])
        #expect(Settings.defaults.workerQueues == ["default": 10] && Settings.defaults.workersInServe)
    }

    @Test(arguments: [
        ("TALLY_WORKER_QUEUES", "default"), ("TALLY_WORKER_QUEUES", "default=0"), ("TALLY_WORKER_QUEUES", "a=1,a=2"), ("TALLY_WORKER_QUEUES", "Bad Name=1"),
        ("TALLY_WORKERS_IN_SERVE", "maybe"), ("TALLY_JOB_VISIBILITY_SECONDS", "1"), ("TALLY_REDIS_KEY_PREFIX", "has space"),
        ("TALLY_WEBHOOK_INBOUND_SECRETS", "stripe=nope"), ("TALLY_WEBHOOK_INBOUND_SECRETS", "Stripe=whsec_x"), ("TALLY_WEBHOOK_ALLOW_PRIVATE_NETWORKS", "2"),
    ])
    func badJobAndWebhookSettingsNameThemselves(name: String, value: String) {
        #expect(throws: ConfigurationError.self) { try Settings.parse([name: value]) }
        do {
            _ = try Settings.parse([name: value])
        } catch {
            #expect(error.setting == name)
        }
    }
}
