-- Meters, the usage ledger and its rollups. Decimal amounts are TEXT (exact decimal strings);
-- the driver adds them in Swift inside the write transaction.

CREATE TABLE meters (
    tenant_id    TEXT NOT NULL REFERENCES tenants (id),
    slug         TEXT NOT NULL,
    event_type   TEXT NOT NULL,
    aggregation  TEXT NOT NULL CHECK (aggregation IN ('SUM', 'COUNT', 'MIN', 'MAX', 'AVG', 'UNIQUE_COUNT', 'LATEST')),
    value_path   TEXT,
    group_by     TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(group_by)),
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, slug)
) STRICT;

CREATE TABLE usage_events (
    tenant_id    TEXT NOT NULL REFERENCES tenants (id),
    source       TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    type         TEXT NOT NULL,
    subject      TEXT,
    event_time   INTEGER NOT NULL,
    received_at  INTEGER NOT NULL,
    data         TEXT NOT NULL,
    PRIMARY KEY (tenant_id, source, event_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX usage_events_by_time ON usage_events (tenant_id, type, event_time);

CREATE TABLE meter_rollups (
    tenant_id        TEXT NOT NULL,
    meter            TEXT NOT NULL,
    window_start     INTEGER NOT NULL,
    group_key        TEXT NOT NULL,
    count            INTEGER NOT NULL,
    sum              TEXT NOT NULL,
    min              TEXT,
    max              TEXT,
    latest_time      INTEGER,
    latest_event_id  TEXT,
    latest_value     TEXT,
    PRIMARY KEY (tenant_id, meter, window_start, group_key),
    FOREIGN KEY (tenant_id, meter) REFERENCES meters (tenant_id, slug)
) STRICT, WITHOUT ROWID;

CREATE TABLE meter_distinct_values (
    tenant_id     TEXT NOT NULL,
    meter         TEXT NOT NULL,
    window_start  INTEGER NOT NULL,
    group_key     TEXT NOT NULL,
    value         TEXT NOT NULL,
    PRIMARY KEY (tenant_id, meter, window_start, group_key, value)
) STRICT, WITHOUT ROWID;
