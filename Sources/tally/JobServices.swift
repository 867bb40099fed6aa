import Actors
import AsyncHTTPClient
import Billing
import Core
import Logging
import Platform
import Scheduler
import Storage
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The worker pool and queue upkeep as `tally serve` and `tally worker` run them, from the
/// settings.
enum JobServices {
    /// The handlers every worker runs, and the HTTP client outbound calls share (shut it down
    /// after the workers stop).
    static func registry(_ settings: Settings, backend: StorageBackend, logger: Logger) -> (JobRegistry, HTTPClient) {
        var configuration = HTTPClient.Configuration()
        // Redirects could lead a delivery past the address check, so none are followed.
        configuration.redirectConfiguration = .disallow
        configuration.timeout = HTTPClient.Configuration.Timeout(connect: .seconds(5), read: .seconds(15))
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let webhooks = WebhookService(store: backend.webhooks, jobs: backend.jobs, clock: SystemClock(), policy: policy(settings))
        let directory = TenantDirectory(loader: Platform.loader(store: backend.store, ledger: backend.ledger, entitlements: backend.entitlements), logger: logger)
        let billing = BillingContext(
            store: backend.billing, ledger: backend.ledger,
            entitlements: EntitlementService(store: backend.entitlements, ledger: backend.ledger, clock: SystemClock(), directory: directory),
            webhooks: webhooks, provider: paymentProvider(settings), jobs: backend.jobs, configuration: billingConfiguration(settings), logger: logger
        )
        let registry = JobRegistry([
            WebhookDeliveryJob(store: backend.webhooks, http: http, breakers: BreakerRegistry(), service: webhooks, logger: logger),
            InboundWebhookJob(store: backend.webhooks),
            BillingRunJob(run: BillingRun(context: billing), logger: logger),
            BillingCollectJob(invoices: InvoiceService(context: billing)),
        ])
        return (registry, http)
    }

    /// The billing settings as the billing services take them; a bad dunning file stops start-up
    /// with a line naming the step and field.
    static func billingConfiguration(_ settings: Settings) -> BillingContext.Configuration {
        let dunning = settings.billingDunningFile.map { readConfigFile($0, setting: Settings.Name.billingDunningFile, DunningPolicy.parse) } ?? .standard
        return BillingContext.Configuration(finalizeGraceSeconds: Int64(settings.billingFinalizeGraceSeconds), netDays: settings.billingNetDays,
                                            latenessDays: settings.billingLatenessDays, dunning: dunning)
    }

    /// The configured payment provider: manual (the default) or the generic HTTP gateway.
    static func paymentProvider(_ settings: Settings) -> any PaymentProvider {
        guard settings.paymentProvider == "http", let url = settings.paymentHTTPURL, let secret = settings.paymentHTTPSecret.flatMap(WebhookSignature.Secret.init) else {
            return ManualPaymentProvider()
        }
        return HTTPPaymentProvider(base: url, secret: secret, http: HTTPClient.shared)
    }

    /// The periodic jobs of `TALLY_PERIODIC_JOBS_FILE` (none without it); a bad file stops
    /// start-up with a line naming the entry and field.
    static func periodic(_ settings: Settings, backend: StorageBackend, logger: Logger) -> PeriodicScheduler {
        var jobs = settings.periodicJobsFile.map { readConfigFile($0, setting: Settings.Name.periodicJobsFile, PeriodicJob.parseList) } ?? []
        if let billing = BillingRunJob.periodic(everySeconds: settings.billingRunSeconds), !jobs.contains(where: { $0.name == billing.name }) {
            jobs.append(billing)
        }
        return PeriodicScheduler(queue: backend.jobs, jobs: jobs, logger: logger)
    }

    /// A JSON file a setting names, read by `parse`; anything wrong stops start-up with one
    /// line naming the file and the field (exit status 78).
    static func readConfigFile<T>(_ path: String, setting: String, _ parse: (JSONValue) throws -> T) -> T {
        guard let data = FileManager.default.contents(atPath: path) else {
            CommandContext.fail("tally: invalid configuration: \(setting) cannot read \(path)", code: CommandContext.configurationExitCode)
        }
        let json: JSONValue
        do {
            json = try JSONParser.parse(Array(data))
        } catch {
            CommandContext.fail("tally: invalid configuration: \(path) is not JSON: \(error)", code: CommandContext.configurationExitCode)
        }
        do {
            return try parse(json)
        } catch let error as TallyError {
            CommandContext.fail("tally: invalid configuration: \(path): \(error.field ?? ""): \(error.detail)", code: CommandContext.configurationExitCode)
        } catch {
            CommandContext.fail("tally: invalid configuration: \(path): \(error)", code: CommandContext.configurationExitCode)
        }
    }

    static func policy(_ settings: Settings) -> WebhookService.Policy {
        WebhookService.Policy(allowLoopback: settings.webhookAllowLoopback, allowPrivateNetworks: settings.webhookAllowPrivateNetworks)
    }

    static func workers(_ settings: Settings, backend: StorageBackend, registry: JobRegistry, logger: Logger) -> WorkerPool {
        var configuration = WorkerPool.Configuration(queues: settings.workerQueues, worker: NodeIdentity.make())
        configuration.visibility = .seconds(settings.jobVisibilitySeconds)
        configuration.rateLimits = settings.queueRateLimits
        // Leave a little of the shutdown budget for acknowledging and closing.
        configuration.drainTimeout = .seconds(max(1, settings.shutdownTimeoutSeconds - 3))
        return WorkerPool(queue: backend.jobs, registry: registry, configuration: configuration, logger: logger)
    }

    static func maintenance(_ settings: Settings, backend: StorageBackend, registry: JobRegistry, logger: Logger) -> JobMaintenance {
        var configuration = JobMaintenance.Configuration()
        configuration.reconcileInterval = .seconds(settings.jobReconcileSeconds)
        configuration.reconcileGrace = .seconds(max(5, min(15, settings.jobReconcileSeconds)))
        configuration.completedRetention = .seconds(settings.jobCompletedRetentionHours * 3_600)
        configuration.deadRetention = settings.jobDeadRetentionDays > 0 ? .seconds(settings.jobDeadRetentionDays * 86_400) : nil
        return JobMaintenance(queue: backend.jobs, registry: registry, configuration: configuration, logger: logger)
    }
}
