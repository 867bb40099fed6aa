-- Plans (entitlement defaults and rate limits), tenants' plan assignments and overrides,
-- grants, and the threshold notifications already sent (once per feature, period and threshold).
CREATE TABLE plans (
    key           TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    entitlements  TEXT NOT NULL,
    rate_limits   TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE tenant_entitlements (
    tenant_id   TEXT PRIMARY KEY REFERENCES tenants (id),
    plan        TEXT REFERENCES plans (key),
    overrides   TEXT NOT NULL,
    anchor      INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE grants (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants (id),
    feature       TEXT NOT NULL REFERENCES features (key),
    amount        TEXT NOT NULL,
    priority      INTEGER NOT NULL,
    effective_at  INTEGER NOT NULL,
    expires_at    INTEGER,
    recurring     INTEGER NOT NULL,
    rollover_cap  TEXT NOT NULL,
    reason        TEXT,
    voided_at     INTEGER,
    created_at    INTEGER NOT NULL
) STRICT;

CREATE INDEX grants_by_tenant ON grants (tenant_id, feature);

CREATE TABLE threshold_notifications (
    tenant_id     TEXT NOT NULL REFERENCES tenants (id),
    feature       TEXT NOT NULL,
    period_start  INTEGER NOT NULL,
    threshold     INTEGER NOT NULL,
    used          TEXT NOT NULL,
    quota         TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, feature, period_start, threshold)
) STRICT;
