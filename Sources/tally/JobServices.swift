import Actors
import Core
import Logging
import Storage

/// The worker pool and queue upkeep as `tally serve` and `tally worker` run them, from the
/// settings.
enum JobServices {
    static func registry() -> JobRegistry { JobRegistry() }

    static func workers(_ settings: Settings, backend: StorageBackend, registry: JobRegistry, logger: Logger) -> WorkerPool {
        var configuration = WorkerPool.Configuration(queues: settings.workerQueues, worker: NodeIdentity.make())
        configuration.visibility = .seconds(settings.jobVisibilitySeconds)
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
