-- Meters, the usage ledger and its rollups.

CREATE TABLE meters (
    tenant_id    TEXT NOT NULL REFERENCES tenants (id),
    slug         TEXT NOT NULL,
    event_type   TEXT NOT NULL,
    aggregation  TEXT NOT NULL CHECK (aggregation IN ('SUM', 'COUNT', 'MIN', 'MAX', 'AVG', 'UNIQUE_COUNT', 'LATEST')),
    value_path   TEXT,
    group_by     JSONB NOT NULL DEFAULT '{}'::jsonb,
    created_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, slug)
);

-- Every accepted event, for ever: (tenant, source, id) is the deduplication key, so a retried
-- event finds its first copy and counts nothing. Rows are never updated or deleted.
CREATE TABLE usage_events (
    tenant_id    TEXT NOT NULL REFERENCES tenants (id),
    source       TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    type         TEXT NOT NULL,
    subject      TEXT,
    event_time   BIGINT NOT NULL,  -- microseconds since the Unix epoch
    received_at  BIGINT NOT NULL,
    data         JSONB NOT NULL,
    PRIMARY KEY (tenant_id, source, event_id)
);

CREATE INDEX usage_events_by_time ON usage_events (tenant_id, type, event_time);

-- Per meter, minute window and group: the mergeable aggregation state of the events booked so
-- far, updated in the same transaction as the events themselves.
CREATE TABLE meter_rollups (
    tenant_id        TEXT NOT NULL,
    meter            TEXT NOT NULL,
    window_start     BIGINT NOT NULL,  -- Unix seconds, a multiple of 60
    group_key        TEXT NOT NULL,
    count            BIGINT NOT NULL,
    sum              NUMERIC(48, 9) NOT NULL,
    min              NUMERIC(48, 9),
    max              NUMERIC(48, 9),
    latest_time      BIGINT,
    latest_event_id  TEXT,
    latest_value     NUMERIC(48, 9),
    PRIMARY KEY (tenant_id, meter, window_start, group_key),
    FOREIGN KEY (tenant_id, meter) REFERENCES meters (tenant_id, slug)
);

-- The distinct values UNIQUE_COUNT meters count, per minute window and group.
CREATE TABLE meter_distinct_values (
    tenant_id     TEXT NOT NULL,
    meter         TEXT NOT NULL,
    window_start  BIGINT NOT NULL,
    group_key     TEXT NOT NULL,
    value         TEXT NOT NULL,
    PRIMARY KEY (tenant_id, meter, window_start, group_key, value)
);
