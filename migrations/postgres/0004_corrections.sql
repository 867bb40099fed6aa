-- The meter catalog version and event corrections.
--
-- A tenant's row is its ledger lock: an ingest transaction takes it FOR SHARE and checks that
-- the meter catalog it computed readings with is still current; changing a meter (which bumps
-- meter_catalog_version) or correcting an event takes it exclusively. So no event is booked
-- against a stale catalog, and a recomputation never races an ingest.
ALTER TABLE tenants ADD COLUMN meter_catalog_version BIGINT NOT NULL DEFAULT 0;

ALTER TABLE meters ADD COLUMN updated_at TIMESTAMPTZ;
UPDATE meters SET updated_at = created_at;
ALTER TABLE meters ALTER COLUMN updated_at SET NOT NULL;

-- Voids and amendments, appended; the original usage_events row never changes. The latest
-- correction of an event (highest seq) says what the event now is: voided, or amended to
-- this subject and data.
CREATE TABLE event_corrections (
    tenant_id   TEXT NOT NULL,
    source      TEXT NOT NULL,
    event_id    TEXT NOT NULL,
    seq         INTEGER NOT NULL CHECK (seq >= 1),
    kind        TEXT NOT NULL CHECK (kind IN ('void', 'amend')),
    subject     TEXT,
    data        JSONB,
    reason      TEXT,
    created_at  BIGINT NOT NULL,  -- microseconds since the Unix epoch
    PRIMARY KEY (tenant_id, source, event_id, seq),
    FOREIGN KEY (tenant_id, source, event_id) REFERENCES usage_events (tenant_id, source, event_id),
    CHECK ((kind = 'amend') = (data IS NOT NULL))
);
