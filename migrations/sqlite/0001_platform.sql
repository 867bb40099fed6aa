-- Tenants, service identities, API keys and the bootstrap marker.
-- Timestamps are INTEGER microseconds since the Unix epoch (UTC).

CREATE TABLE tenants (
    id          TEXT PRIMARY KEY,
    slug        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('active', 'suspended', 'deleted')),
    settings    TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(settings)),
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE service_identities (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants (id),
    name         TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    disabled_at  INTEGER,
    UNIQUE (tenant_id, name)
) STRICT;

CREATE TABLE api_keys (
    id                   TEXT PRIMARY KEY,
    tenant_id            TEXT REFERENCES tenants (id),
    service_identity_id  TEXT REFERENCES service_identities (id),
    name                 TEXT NOT NULL,
    display_prefix       TEXT NOT NULL,
    digest               TEXT NOT NULL,
    scopes               TEXT NOT NULL,
    created_at           INTEGER NOT NULL,
    last_used_at         INTEGER,
    revoked_at           INTEGER,
    expires_at           INTEGER
) STRICT;

CREATE INDEX api_keys_by_tenant ON api_keys (tenant_id, id);
CREATE INDEX api_keys_by_service_identity ON api_keys (service_identity_id) WHERE service_identity_id IS NOT NULL;

CREATE TABLE platform_bootstrap (
    step          TEXT PRIMARY KEY,
    completed_at  INTEGER NOT NULL
) STRICT;
