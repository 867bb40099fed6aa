-- Background jobs: the durable record (outbox) of every job. A job row is written in the same
-- transaction as the change that caused it, then dispatched through Redis; the reconciler
-- re-dispatches rows Redis lost. Times are milliseconds since the epoch.
CREATE TABLE background_jobs (
    id            TEXT COLLATE "C" PRIMARY KEY,
    tenant_id     TEXT COLLATE "C" REFERENCES tenants (id),
    queue         TEXT COLLATE "C" NOT NULL,
    kind          TEXT COLLATE "C" NOT NULL,
    args          JSONB NOT NULL,
    priority      SMALLINT NOT NULL CHECK (priority BETWEEN 1 AND 4),
    state         TEXT COLLATE "C" NOT NULL
                  CHECK (state IN ('available', 'scheduled', 'running', 'retryable', 'completed', 'cancelled', 'dead')),
    attempt       INTEGER NOT NULL DEFAULT 0,
    max_attempts  INTEGER NOT NULL CHECK (max_attempts >= 1),
    run_at        BIGINT NOT NULL,
    unique_key    TEXT COLLATE "C",
    errors        JSONB NOT NULL DEFAULT '[]',
    worker        TEXT,
    deadline      BIGINT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    finalized_at  BIGINT
);

-- The reconciler pages through unfinished jobs; the cleaner and the DLQ read finished ones.
CREATE INDEX background_jobs_unfinished ON background_jobs (id) WHERE state IN ('available', 'scheduled', 'running', 'retryable');
CREATE INDEX background_jobs_finished ON background_jobs (state, finalized_at) WHERE state IN ('completed', 'cancelled', 'dead');
CREATE INDEX background_jobs_tenant ON background_jobs (tenant_id, id) WHERE tenant_id IS NOT NULL;
-- Partial, so that the many jobs without a unique key or a tenant cost no index entries.
CREATE UNIQUE INDEX background_jobs_unique_key ON background_jobs (unique_key) WHERE unique_key IS NOT NULL;
