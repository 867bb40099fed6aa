-- Billing: plans' price versions, tenants' billing settings, subscriptions, invoices, credit
-- notes, pending proration lines, gapless number sequences and the billing audit trail.
-- Subscriptions, invoices and credit notes keep their whole record as a JSON document written
-- by the Billing module; the columns beside it are what queries filter and constrain on.
CREATE TABLE plan_prices (
    plan_key        TEXT NOT NULL,
    version         INTEGER NOT NULL CHECK (version >= 1),
    document        TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (plan_key, version)
) STRICT;

CREATE TABLE billing_accounts (
    tenant_id           TEXT PRIMARY KEY REFERENCES tenants (id),
    tax_basis_points    INTEGER NOT NULL CHECK (tax_basis_points BETWEEN 0 AND 10000),
    time_zone           TEXT NOT NULL,
    updated_at          INTEGER NOT NULL
) STRICT;

CREATE TABLE subscriptions (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants (id),
    state           TEXT NOT NULL,
    period_end      INTEGER NOT NULL,
    closed          INTEGER NOT NULL,
    revision        INTEGER NOT NULL,
    document        TEXT NOT NULL
) STRICT;
-- One subscription per tenant that is not over yet.
CREATE UNIQUE INDEX subscriptions_live ON subscriptions (tenant_id) WHERE state NOT IN ('canceled', 'expired');
CREATE INDEX subscriptions_tenant ON subscriptions (tenant_id, id);
-- The billing run's work list.
CREATE INDEX subscriptions_due ON subscriptions (period_end) WHERE closed = 0;

CREATE TABLE invoices (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants (id),
    subscription_id TEXT NOT NULL REFERENCES subscriptions (id),
    period_start    INTEGER NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('draft', 'open', 'paid', 'void')),
    number          TEXT UNIQUE,
    finalize_at     INTEGER NOT NULL,
    dunning_at      INTEGER,                      -- open: the earlier of the due date and the first failed payment
    revision        INTEGER NOT NULL,
    document        TEXT NOT NULL,
    -- A period is invoiced once, however often the billing run runs.
    UNIQUE (subscription_id, period_start)
) STRICT;
CREATE INDEX invoices_tenant ON invoices (tenant_id, id);
CREATE INDEX invoices_drafts ON invoices (finalize_at) WHERE status = 'draft';
-- Dunning's work list.
CREATE INDEX invoices_dunning ON invoices (dunning_at) WHERE status = 'open';

CREATE TABLE credit_notes (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants (id),
    invoice_id      TEXT NOT NULL REFERENCES invoices (id),
    number          TEXT NOT NULL UNIQUE,
    document        TEXT NOT NULL
) STRICT;
CREATE INDEX credit_notes_invoice ON credit_notes (invoice_id, id);

-- Proration lines waiting for the subscription's next invoice.
CREATE TABLE billing_pending_lines (
    id              INTEGER PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants (id),
    subscription_id TEXT NOT NULL REFERENCES subscriptions (id),
    line            TEXT NOT NULL,
    currency        TEXT NOT NULL,
    invoice_id      TEXT
) STRICT;
CREATE INDEX billing_pending_lines_open ON billing_pending_lines (subscription_id) WHERE invoice_id IS NULL;

-- Gapless numbers per prefix (INV, CN) and year, taken in the finalizing transaction.
CREATE TABLE billing_sequences (
    prefix          TEXT NOT NULL,
    year            INTEGER NOT NULL,
    last_value      INTEGER NOT NULL,
    PRIMARY KEY (prefix, year)
) STRICT;

CREATE TABLE billing_audit (
    id              INTEGER PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants (id),
    subject         TEXT NOT NULL,
    subject_id      TEXT NOT NULL,
    at              INTEGER NOT NULL,
    document        TEXT NOT NULL
) STRICT;
CREATE INDEX billing_audit_subject ON billing_audit (tenant_id, subject_id, id);
