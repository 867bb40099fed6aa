-- The ledger's hot indexes compare their text keys byte-wise (COLLATE "C"), not by the
-- database's locale: ids, sources, slugs and group keys are identifiers, never sorted for
-- people, and a locale comparison (strcoll) cost more than the insert itself under load.
--
-- And the per-row foreign keys of the two hottest tables go: their integrity holds by
-- construction. An append books only for tenants whose rows it holds FOR SHARE in the same
-- transaction (a batch naming a missing tenant books nothing), and writes rollups only for
-- meters of the catalog version it checked under that lock; tenants and meters are never
-- deleted (tenants are soft-deleted). The checks were a row-level trigger per event.
ALTER TABLE usage_events DROP CONSTRAINT IF EXISTS usage_events_tenant_id_fkey;
ALTER TABLE meter_rollups DROP CONSTRAINT IF EXISTS meter_rollups_tenant_id_meter_fkey;

ALTER TABLE event_corrections DROP CONSTRAINT IF EXISTS event_corrections_tenant_id_source_event_id_fkey;

ALTER TABLE usage_events
    ALTER COLUMN tenant_id TYPE TEXT COLLATE "C",
    ALTER COLUMN source TYPE TEXT COLLATE "C",
    ALTER COLUMN event_id TYPE TEXT COLLATE "C",
    ALTER COLUMN type TYPE TEXT COLLATE "C";

ALTER TABLE event_corrections
    ALTER COLUMN tenant_id TYPE TEXT COLLATE "C",
    ALTER COLUMN source TYPE TEXT COLLATE "C",
    ALTER COLUMN event_id TYPE TEXT COLLATE "C";

ALTER TABLE event_corrections
    ADD FOREIGN KEY (tenant_id, source, event_id) REFERENCES usage_events (tenant_id, source, event_id);

ALTER TABLE meter_rollups
    ALTER COLUMN tenant_id TYPE TEXT COLLATE "C",
    ALTER COLUMN meter TYPE TEXT COLLATE "C",
    ALTER COLUMN group_key TYPE TEXT COLLATE "C";

ALTER TABLE meter_distinct_values
    ALTER COLUMN tenant_id TYPE TEXT COLLATE "C",
    ALTER COLUMN meter TYPE TEXT COLLATE "C",
    ALTER COLUMN group_key TYPE TEXT COLLATE "C",
    ALTER COLUMN value TYPE TEXT COLLATE "C";
