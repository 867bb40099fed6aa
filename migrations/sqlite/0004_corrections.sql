-- The meter catalog version and event corrections (see the PostgreSQL migration; SQLite's
-- single writer already serialises ingest, meter changes and corrections).
ALTER TABLE tenants ADD COLUMN meter_catalog_version INTEGER NOT NULL DEFAULT 0;

ALTER TABLE meters ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;
UPDATE meters SET updated_at = created_at;

CREATE TABLE event_corrections (
    tenant_id   TEXT NOT NULL,
    source      TEXT NOT NULL,
    event_id    TEXT NOT NULL,
    seq         INTEGER NOT NULL CHECK (seq >= 1),
    kind        TEXT NOT NULL CHECK (kind IN ('void', 'amend')),
    subject     TEXT,
    data        TEXT CHECK (data IS NULL OR json_valid(data)),
    reason      TEXT,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, source, event_id, seq),
    FOREIGN KEY (tenant_id, source, event_id) REFERENCES usage_events (tenant_id, source, event_id),
    CHECK ((kind = 'amend') = (data IS NOT NULL))
) STRICT, WITHOUT ROWID;
