-- PostgreSQL twin of ../0006_create_payment_tables.sql;
-- its comments describe the schema.
-- INTEGER is BIGINT: PostgreSQL's INTEGER is 32 bits, the app binds 64.
-- STRICT has no counterpart: PostgreSQL columns are always typed.

CREATE TABLE payment_events (
    provider    TEXT NOT NULL,
    event_id    TEXT NOT NULL,
    type        TEXT NOT NULL,
    payment_id  TEXT,
    outcome     TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (provider, event_id)
);

CREATE TABLE payments (
    provider        TEXT NOT NULL,
    payment_id      TEXT NOT NULL,
    business_id     TEXT NOT NULL,
    member_id       TEXT,
    customer_phone  TEXT,
    order_ref       TEXT,
    reservation_id  TEXT,
    category        TEXT,
    coupon_code     TEXT,
    ref_code        TEXT,
    amount          BIGINT NOT NULL CHECK (amount > 0),
    refunded_amount BIGINT NOT NULL DEFAULT 0 CHECK (refunded_amount >= 0 AND refunded_amount <= amount),
    status          TEXT NOT NULL CHECK (status IN ('paid', 'parked', 'credited', 'canceled', 'expired')),
    purchase_id     TEXT,
    park_until      TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    PRIMARY KEY (provider, payment_id)
);

CREATE INDEX payments_parked ON payments (status, customer_phone);
CREATE INDEX payments_purchase ON payments (purchase_id);

CREATE TABLE commission_rates (
    id             TEXT PRIMARY KEY,
    business_id    TEXT NOT NULL,
    rate_bp        BIGINT NOT NULL CHECK (rate_bp BETWEEN 0 AND 10000),
    effective_from TEXT NOT NULL,
    created_by     TEXT,
    created_at     TEXT NOT NULL,
    UNIQUE (business_id, effective_from)
);

CREATE TABLE commissions (
    id          TEXT PRIMARY KEY,
    business_id TEXT NOT NULL,
    purchase_id TEXT NOT NULL,
    refund_id   TEXT,
    base_amount BIGINT NOT NULL,
    rate_bp     BIGINT NOT NULL,
    amount      BIGINT NOT NULL,
    created_at  TEXT NOT NULL
);

CREATE INDEX commissions_business ON commissions (business_id, created_at);
CREATE INDEX commissions_purchase ON commissions (purchase_id);

CREATE TABLE webhook_counters (
    provider TEXT NOT NULL,
    outcome  TEXT NOT NULL,
    count    BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (provider, outcome)
);
