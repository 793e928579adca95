-- Payment webhooks: every provider event seen (recorded in the same
-- transaction as its effects, so a redelivery is a no-op), the payments
-- they describe, payments parked until their phone registers, commission
-- rates and records, and per-outcome delivery counters.

CREATE TABLE payment_events (
    provider    TEXT NOT NULL,
    event_id    TEXT NOT NULL,
    type        TEXT NOT NULL,
    payment_id  TEXT,
    outcome     TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (provider, event_id)
) STRICT;

-- A payment as the provider reported it. status: paid, parked (member not
-- known yet), credited (parked, then matched), canceled, expired (parked
-- and never matched).
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
    amount          INTEGER NOT NULL CHECK (amount > 0),
    refunded_amount INTEGER NOT NULL DEFAULT 0 CHECK (refunded_amount >= 0 AND refunded_amount <= amount),
    status          TEXT NOT NULL CHECK (status IN ('paid', 'parked', 'credited', 'canceled', 'expired')),
    purchase_id     TEXT,
    park_until      TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    PRIMARY KEY (provider, payment_id)
) STRICT;

CREATE INDEX payments_parked ON payments (status, customer_phone);
CREATE INDEX payments_purchase ON payments (purchase_id);

-- Commission rates per business with effective dates (basis points). With
-- no row in force, the default schedule applies: 0 % for six months after
-- the business joined, then 2 %.
CREATE TABLE commission_rates (
    id             TEXT PRIMARY KEY,
    business_id    TEXT NOT NULL,
    rate_bp        INTEGER NOT NULL CHECK (rate_bp BETWEEN 0 AND 10000),
    effective_from TEXT NOT NULL,
    created_by     TEXT,
    created_at     TEXT NOT NULL,
    UNIQUE (business_id, effective_from)
) STRICT;

-- The platform's commission on ecosystem-engaged sales; a refund adds a
-- negative record for its share.
CREATE TABLE commissions (
    id          TEXT PRIMARY KEY,
    business_id TEXT NOT NULL,
    purchase_id TEXT NOT NULL,
    refund_id   TEXT,
    base_amount INTEGER NOT NULL,
    rate_bp     INTEGER NOT NULL,
    amount      INTEGER NOT NULL,
    created_at  TEXT NOT NULL
) STRICT;

CREATE INDEX commissions_business ON commissions (business_id, created_at);
CREATE INDEX commissions_purchase ON commissions (purchase_id);

-- Webhook deliveries by provider and outcome (processed, duplicate,
-- ignored, rejected, failed), for /metrics.
CREATE TABLE webhook_counters (
    provider TEXT NOT NULL,
    outcome  TEXT NOT NULL,
    count    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (provider, outcome)
) STRICT;
