-- Outbound webhooks: a tenant's endpoints (URL, event types, signing secrets) and every message
-- sent to them with its attempts; inbound webhook events received from other systems.
CREATE TABLE webhook_endpoints (
    id                      TEXT PRIMARY KEY,
    tenant_id               TEXT NOT NULL REFERENCES tenants (id),
    url                     TEXT NOT NULL,
    description             TEXT NOT NULL DEFAULT '',
    event_types             TEXT NOT NULL,
    secret                  TEXT NOT NULL,
    previous_secret         TEXT,
    previous_secret_until   INTEGER,
    status                  TEXT NOT NULL CHECK (status IN ('enabled', 'disabled')),
    disabled_reason         TEXT,
    failing_since           INTEGER,
    created_at              INTEGER NOT NULL,
    updated_at              INTEGER NOT NULL
) STRICT;
CREATE INDEX webhook_endpoints_tenant ON webhook_endpoints (tenant_id, id);

CREATE TABLE webhook_deliveries (
    id              TEXT PRIMARY KEY,
    endpoint_id     TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    tenant_id       TEXT NOT NULL REFERENCES tenants (id),
    event_type      TEXT NOT NULL,
    payload         TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        TEXT NOT NULL DEFAULT '[]',
    job_id          TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    delivered_at    INTEGER
) STRICT;
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, id);

CREATE TABLE webhook_events_in (
    source          TEXT NOT NULL,
    message_id      TEXT NOT NULL,
    received_at     INTEGER NOT NULL,
    payload         TEXT NOT NULL,
    job_id          TEXT,
    processed_at    INTEGER,
    PRIMARY KEY (source, message_id)
) STRICT;
