/// The job state machine: every legal transition, the event that makes it, and who sends
/// that event. Pure; drivers ask it before they move a job and refuse what it refuses.
///
/// ```
///            enqueue(run_at <= now)                 enqueue(run_at > now)
///                   │                                     │
///                   ▼        promote (due)                ▼
///  replay ──▶ available ◀──────────────────────── scheduled ◀─── snooze ───┐
///                   │  ▲                               ▲                   │
///             fetch │  │ promote (due)                 │                   │
///                   ▼  │                               │                   │
///               running ──── fail, attempts left ──▶ retryable             │
///                 │ │ │ └──────────────────────────────────────────────────┘
///       succeed   │ │ └── fail (last attempt / permanent), rescue (last) ──▶ dead ── replay ──▶ available
///                 ▼ │
///          completed └── cancel ──▶ cancelled  (also from available, scheduled, retryable)
/// ```
public enum JobStateMachine {
    /// Something that happens to a job.
    public enum Event: String, Sendable, CaseIterable {
        /// A producer adds the job to run now.
        case enqueueNow
        /// A producer adds the job to run later.
        case enqueueLater
        /// A worker takes the job.
        case fetch
        /// The job's handler returned.
        case succeed
        /// The handler failed and the job has attempts left (retryable error).
        case failRetryable
        /// The handler failed for good: a permanent error, or the last attempt.
        case failFinal
        /// The handler asked to run again later without spending an attempt (its downstream's
        /// circuit breaker is open, or it is rate limited).
        case snooze
        /// The job's time came (a scheduled job's `run_at`, a retryable job's backoff).
        case promote
        /// The job's worker stopped heartbeating (it died); attempts are left.
        case rescueRetryable
        /// The job's worker stopped heartbeating on its last attempt.
        case rescueFinal
        /// A worker shutting down hands an unfinished job back (no attempt spent).
        case release
        /// An operator or the API cancels the job.
        case cancel
        /// An operator replays a dead job from the dead-letter queue.
        case replay
    }

    /// Who sends each event, for the docs and for log lines.
    public static func actor(of event: Event) -> String {
        switch event {
        case .enqueueNow, .enqueueLater: "producer (the service whose change caused the job, or the API)"
        case .fetch, .succeed, .failRetryable, .failFinal, .snooze, .release: "worker"
        case .promote: "scheduler (maintenance loop)"
        case .rescueRetryable, .rescueFinal: "rescuer (maintenance loop)"
        case .cancel: "API or CLI (`POST /v1/jobs/{id}/cancel`)"
        case .replay: "operator (`tally dlq replay`, `POST /v1/jobs/dead/replay`)"
        }
    }

    /// The state `event` moves a job in `state` (or, for enqueues, a new job) to; `nil` when
    /// the event is not legal there.
    public static func next(from state: JobState?, on event: Event) -> JobState? {
        switch (state, event) {
        case (nil, .enqueueNow): .available
        case (nil, .enqueueLater): .scheduled
        case (.available?, .fetch): .running
        case (.running?, .succeed): .completed
        case (.running?, .failRetryable), (.running?, .rescueRetryable): .retryable
        case (.running?, .failFinal), (.running?, .rescueFinal): .dead
        case (.running?, .snooze): .scheduled
        case (.running?, .release): .available
        case (.scheduled?, .promote), (.retryable?, .promote): .available
        case (.available?, .cancel), (.scheduled?, .cancel), (.retryable?, .cancel), (.running?, .cancel): .cancelled
        case (.dead?, .replay): .available
        default: nil
        }
    }
}
