-- Plans (entitlement defaults and rate limits), tenants' plan assignments and overrides,
-- grants, and the threshold notifications already sent (once per feature, period and threshold).
CREATE TABLE plans (
    key           TEXT COLLATE "C" PRIMARY KEY,
    name          TEXT NOT NULL,
    entitlements  JSONB NOT NULL,
    rate_limits   JSONB NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);

CREATE TABLE tenant_entitlements (
    tenant_id   TEXT COLLATE "C" PRIMARY KEY REFERENCES tenants (id),
    plan        TEXT COLLATE "C" REFERENCES plans (key),
    overrides   JSONB NOT NULL,
    anchor      BIGINT NOT NULL,  -- Unix seconds: where billing periods start
    updated_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE grants (
    id            TEXT COLLATE "C" PRIMARY KEY,
    tenant_id     TEXT COLLATE "C" NOT NULL REFERENCES tenants (id),
    feature       TEXT COLLATE "C" NOT NULL REFERENCES features (key),
    amount        NUMERIC(48, 9) NOT NULL CHECK (amount > 0),
    priority      INTEGER NOT NULL,
    effective_at  BIGINT NOT NULL,
    expires_at    BIGINT,
    recurring     BOOLEAN NOT NULL,
    rollover_cap  NUMERIC(48, 9) NOT NULL,
    reason        TEXT,
    voided_at     BIGINT,
    created_at    TIMESTAMPTZ NOT NULL
);

CREATE INDEX grants_by_tenant ON grants (tenant_id, feature);

CREATE TABLE threshold_notifications (
    tenant_id     TEXT COLLATE "C" NOT NULL REFERENCES tenants (id),
    feature       TEXT COLLATE "C" NOT NULL,
    period_start  BIGINT NOT NULL,
    threshold     INTEGER NOT NULL,
    used          NUMERIC(48, 9) NOT NULL,
    quota         NUMERIC(48, 9) NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, feature, period_start, threshold)
);
