-- Background jobs: the durable record of every job and, in embedded mode, the queue itself
-- (workers claim rows; the visibility deadline lives in `deadline`). Times are milliseconds
-- since the epoch.
CREATE TABLE background_jobs (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT REFERENCES tenants (id),
    queue         TEXT NOT NULL,
    kind          TEXT NOT NULL,
    args          TEXT NOT NULL,
    priority      INTEGER NOT NULL CHECK (priority BETWEEN 1 AND 4),
    state         TEXT NOT NULL
                  CHECK (state IN ('available', 'scheduled', 'running', 'retryable', 'completed', 'cancelled', 'dead')),
    attempt       INTEGER NOT NULL DEFAULT 0,
    max_attempts  INTEGER NOT NULL CHECK (max_attempts >= 1),
    run_at        INTEGER NOT NULL,
    unique_key    TEXT,
    errors        TEXT NOT NULL DEFAULT '[]',
    worker        TEXT,
    deadline      INTEGER,
    turn          INTEGER NOT NULL DEFAULT 1,  -- the tenant's place in its queue: tenants take turns
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    finalized_at  INTEGER
) STRICT;

-- Workers take waiting jobs by queue, priority and time; the rescuer finds lapsed running ones.
CREATE INDEX background_jobs_waiting ON background_jobs (queue, priority, turn, run_at) WHERE state IN ('available', 'scheduled', 'retryable');
CREATE INDEX background_jobs_turns ON background_jobs (queue, tenant_id, turn) WHERE state IN ('available', 'scheduled', 'retryable');
CREATE INDEX background_jobs_running ON background_jobs (deadline) WHERE state = 'running';
CREATE INDEX background_jobs_finished ON background_jobs (state, finalized_at) WHERE state IN ('completed', 'cancelled', 'dead');
CREATE INDEX background_jobs_tenant ON background_jobs (tenant_id, id) WHERE tenant_id IS NOT NULL;
CREATE UNIQUE INDEX background_jobs_unique_key ON background_jobs (unique_key) WHERE unique_key IS NOT NULL;

-- Rate-limited queues' token buckets (production keeps them in Redis).
CREATE TABLE job_queue_rates (
    queue       TEXT PRIMARY KEY,
    tokens      REAL NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT;
