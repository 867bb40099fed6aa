-- Outbound webhooks: a tenant's endpoints (URL, event types, signing secrets) and every message
-- sent to them with its attempts; inbound webhook events received from other systems.
CREATE TABLE webhook_endpoints (
    id                      TEXT COLLATE "C" PRIMARY KEY,
    tenant_id               TEXT COLLATE "C" NOT NULL REFERENCES tenants (id),
    url                     TEXT NOT NULL,
    description             TEXT NOT NULL DEFAULT '',
    event_types             JSONB NOT NULL,          -- array of types; empty: every type
    secret                  TEXT NOT NULL,           -- whsec_…
    previous_secret         TEXT,                    -- still signed with until previous_secret_until
    previous_secret_until   BIGINT,
    status                  TEXT COLLATE "C" NOT NULL CHECK (status IN ('enabled', 'disabled')),
    disabled_reason         TEXT,
    failing_since           BIGINT,                  -- first failed attempt since the last success (ms)
    created_at              BIGINT NOT NULL,
    updated_at              BIGINT NOT NULL
);
CREATE INDEX webhook_endpoints_tenant ON webhook_endpoints (tenant_id, id);

CREATE TABLE webhook_deliveries (
    id              TEXT COLLATE "C" PRIMARY KEY,    -- msg_…: the webhook-id header
    endpoint_id     TEXT COLLATE "C" NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    tenant_id       TEXT COLLATE "C" NOT NULL REFERENCES tenants (id),
    event_type      TEXT NOT NULL,
    payload         TEXT NOT NULL,                   -- the exact body sent
    status          TEXT COLLATE "C" NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        JSONB NOT NULL DEFAULT '[]',     -- [{at, status, error, duration_ms}]
    job_id          TEXT COLLATE "C",
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    delivered_at    BIGINT
);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, id);

CREATE TABLE webhook_events_in (
    source          TEXT COLLATE "C" NOT NULL,
    message_id      TEXT COLLATE "C" NOT NULL,       -- webhook-id: replays are refused by it
    received_at     BIGINT NOT NULL,
    payload         TEXT NOT NULL,
    job_id          TEXT COLLATE "C",
    processed_at    BIGINT,
    PRIMARY KEY (source, message_id)
);
