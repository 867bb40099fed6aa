-- Tenants, service identities, API keys and the bootstrap marker.
-- Every tenant-owned table carries tenant_id and is indexed by it first.

CREATE TABLE tenants (
    id          TEXT PRIMARY KEY,
    slug        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('active', 'suspended', 'deleted')),
    settings    JSONB NOT NULL DEFAULT '{}'::jsonb,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE service_identities (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants (id),
    name         TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMPTZ NOT NULL,
    disabled_at  TIMESTAMPTZ,
    UNIQUE (tenant_id, name)
);

CREATE TABLE api_keys (
    id                   TEXT PRIMARY KEY,
    tenant_id            TEXT REFERENCES tenants (id),
    service_identity_id  TEXT REFERENCES service_identities (id),
    name                 TEXT NOT NULL,
    display_prefix       TEXT NOT NULL,
    digest               TEXT NOT NULL,
    scopes               TEXT NOT NULL,
    created_at           TIMESTAMPTZ NOT NULL,
    last_used_at         TIMESTAMPTZ,
    revoked_at           TIMESTAMPTZ,
    expires_at           TIMESTAMPTZ
);

CREATE INDEX api_keys_by_tenant ON api_keys (tenant_id, id);
CREATE INDEX api_keys_by_service_identity ON api_keys (service_identity_id) WHERE service_identity_id IS NOT NULL;

-- One row per one-time platform step (the first operator key); the primary key makes the
-- step happen once even when several nodes start on an empty database together.
CREATE TABLE platform_bootstrap (
    step          TEXT PRIMARY KEY,
    completed_at  TIMESTAMPTZ NOT NULL
);
