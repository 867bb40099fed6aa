-- Idempotency-Key records (IETF httpapi draft), per tenant, kept until expires_at.
CREATE TABLE idempotency_keys (
    tenant_id         TEXT NOT NULL REFERENCES tenants (id),
    key               TEXT NOT NULL,
    fingerprint       TEXT NOT NULL,
    response_status   INTEGER,
    response_type     TEXT,
    response_body     BLOB,
    locked_until      INTEGER NOT NULL,
    expires_at        INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, key)
) STRICT, WITHOUT ROWID;

CREATE INDEX idempotency_keys_by_expiry ON idempotency_keys (expires_at);
