-- The PostgreSQL migration of this number makes the ledger's text keys compare byte-wise and
-- drops two per-row foreign keys. SQLite needs neither: its default collation is already
-- BINARY (byte-wise), and its foreign-key check is one primary-key probe. The version exists
-- so both dialects stay at the same schema version; it records a note and changes nothing else.
CREATE TABLE IF NOT EXISTS schema_notes (version INTEGER PRIMARY KEY, note TEXT NOT NULL) STRICT;
INSERT INTO schema_notes (version, note) VALUES (5, 'ledger keys: nothing to change on SQLite (BINARY collation, cheap foreign keys)');
