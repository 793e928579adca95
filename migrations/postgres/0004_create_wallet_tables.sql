-- PostgreSQL twin of ../0004_create_wallet_tables.sql;
-- its comments describe the schema.
-- INTEGER is BIGINT: PostgreSQL's INTEGER is 32 bits, the app binds 64.
-- STRICT has no counterpart: PostgreSQL columns are always typed.

CREATE TABLE member_balances (
    member_id  TEXT PRIMARY KEY,
    available  BIGINT NOT NULL DEFAULT 0 CHECK (available >= 0),
    pending    BIGINT NOT NULL DEFAULT 0 CHECK (pending >= 0),
    debt       BIGINT NOT NULL DEFAULT 0 CHECK (debt >= 0),
    updated_at TEXT NOT NULL
);

CREATE TABLE ledger_entries (
    id          TEXT PRIMARY KEY,
    member_id   TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('earn', 'spend', 'expire', 'clawback', 'reward', 'compensation', 'adjust')),
    amount      BIGINT NOT NULL CHECK (amount <> 0),
    business_id TEXT,
    lot_id      TEXT,
    cause_type  TEXT NOT NULL CHECK (cause_type IN ('purchase', 'refund', 'redemption', 'compensation', 'job', 'admin', 'reward')),
    cause_id    TEXT NOT NULL,
    actor_role  TEXT NOT NULL,
    actor_id    TEXT,
    reason      TEXT,
    description TEXT,
    created_at  TEXT NOT NULL
);

CREATE INDEX ledger_entries_member ON ledger_entries (member_id, created_at, id);
CREATE INDEX ledger_entries_cause ON ledger_entries (cause_type, cause_id);

-- A PostgreSQL trigger calls a function. SQLSTATE 23000 (class 23, a
-- constraint failure) because SQLite's RAISE(ABORT) fails as one too.
CREATE FUNCTION ledger_entries_no_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger entries are append-only' USING ERRCODE = 'integrity_constraint_violation';
END;
$$;

CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_entries_no_update();

CREATE FUNCTION ledger_entries_no_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger entries are append-only' USING ERRCODE = 'integrity_constraint_violation';
END;
$$;

CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_entries_no_delete();

CREATE TABLE point_lots (
    id          TEXT PRIMARY KEY,
    member_id   TEXT NOT NULL,
    entry_id    TEXT NOT NULL UNIQUE,
    business_id TEXT,
    purchase_id TEXT,
    amount      BIGINT NOT NULL CHECK (amount > 0),
    remaining   BIGINT NOT NULL CHECK (remaining >= 0 AND remaining <= amount),
    settled_debt BIGINT NOT NULL DEFAULT 0 CHECK (settled_debt >= 0 AND settled_debt <= amount),
    status      TEXT NOT NULL CHECK (status IN ('pending', 'available', 'expired')),
    created_at  TEXT NOT NULL,
    matures_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL
);

CREATE INDEX point_lots_member ON point_lots (member_id, status, expires_at);
CREATE INDEX point_lots_maturing ON point_lots (status, matures_at);
CREATE INDEX point_lots_expiring ON point_lots (status, expires_at);
CREATE INDEX point_lots_purchase ON point_lots (purchase_id);

CREATE TABLE lot_allocations (
    entry_id TEXT NOT NULL,
    lot_id   TEXT NOT NULL,
    amount   BIGINT NOT NULL CHECK (amount > 0),
    PRIMARY KEY (entry_id, lot_id)
);

CREATE INDEX lot_allocations_lot ON lot_allocations (lot_id);

CREATE TABLE purchases (
    id                 TEXT PRIMARY KEY,
    member_id          TEXT NOT NULL,
    business_id        TEXT NOT NULL,
    external_id        TEXT,
    source             TEXT NOT NULL,
    amount             BIGINT NOT NULL CHECK (amount > 0),
    refunded_amount    BIGINT NOT NULL DEFAULT 0 CHECK (refunded_amount >= 0 AND refunded_amount <= amount),
    currency           TEXT NOT NULL DEFAULT 'RUB',
    category           TEXT NOT NULL,
    description        TEXT,
    tier_at_purchase   TEXT NOT NULL,
    first_in_category  BIGINT NOT NULL,
    points_computed    BIGINT NOT NULL CHECK (points_computed >= 0),
    points_earned      BIGINT NOT NULL CHECK (points_earned >= 0),
    points_clawed_back BIGINT NOT NULL DEFAULT 0 CHECK (points_clawed_back >= 0),
    cap_applied        TEXT,
    actor_role         TEXT NOT NULL,
    actor_id           TEXT,
    paid_at            TEXT NOT NULL,
    created_at         TEXT NOT NULL,
    UNIQUE (business_id, external_id)
);

CREATE INDEX purchases_member_paid ON purchases (member_id, paid_at);
CREATE INDEX purchases_member_business_paid ON purchases (member_id, business_id, paid_at);
CREATE INDEX purchases_member_category ON purchases (member_id, category);

CREATE TABLE refunds (
    id              TEXT PRIMARY KEY,
    purchase_id     TEXT NOT NULL,
    business_id     TEXT NOT NULL,
    external_id     TEXT,
    amount          BIGINT NOT NULL CHECK (amount > 0),
    points_clawed   BIGINT NOT NULL CHECK (points_clawed >= 0),
    debt_added      BIGINT NOT NULL CHECK (debt_added >= 0),
    created_at      TEXT NOT NULL,
    UNIQUE (business_id, external_id)
);

CREATE INDEX refunds_purchase ON refunds (purchase_id);

CREATE TABLE redemptions (
    id           TEXT PRIMARY KEY,
    member_id    TEXT NOT NULL,
    business_id  TEXT NOT NULL,
    order_ref    TEXT NOT NULL,
    points       BIGINT NOT NULL CHECK (points > 0),
    check_amount BIGINT,
    entry_id     TEXT NOT NULL,
    actor_role   TEXT NOT NULL,
    actor_id     TEXT,
    created_at   TEXT NOT NULL
);

CREATE INDEX redemptions_member ON redemptions (member_id, created_at);

CREATE TABLE compensations (
    id          TEXT PRIMARY KEY,
    member_id   TEXT NOT NULL,
    business_id TEXT NOT NULL,
    order_ref   TEXT NOT NULL,
    points      BIGINT NOT NULL CHECK (points > 0),
    reason      TEXT NOT NULL,
    entry_id    TEXT NOT NULL,
    actor_role  TEXT NOT NULL,
    actor_id    TEXT,
    created_at  TEXT NOT NULL
);

CREATE INDEX compensations_order ON compensations (business_id, order_ref);

CREATE TABLE events_budget_entries (
    id          TEXT PRIMARY KEY,
    purchase_id TEXT NOT NULL,
    refund_id   TEXT,
    amount      BIGINT NOT NULL,
    created_at  TEXT NOT NULL
);

CREATE INDEX events_budget_purchase ON events_budget_entries (purchase_id);

CREATE TABLE member_tier_flags (
    member_id       TEXT PRIMARY KEY,
    top_one_percent BIGINT NOT NULL DEFAULT 0,
    invited         BIGINT NOT NULL DEFAULT 0,
    updated_at      TEXT NOT NULL
);

CREATE TABLE tier_changes (
    id          TEXT PRIMARY KEY,
    member_id   TEXT NOT NULL,
    from_tier   TEXT NOT NULL,
    to_tier     TEXT NOT NULL,
    cause_type  TEXT NOT NULL,
    cause_id    TEXT NOT NULL,
    spent_12m   BIGINT NOT NULL,
    categories_12m BIGINT NOT NULL,
    at          TEXT NOT NULL
);

CREATE INDEX tier_changes_member ON tier_changes (member_id, at);

CREATE TABLE member_badges (
    member_id  TEXT NOT NULL,
    badge      TEXT NOT NULL,
    awarded_at TEXT NOT NULL,
    cause_type TEXT NOT NULL,
    cause_id   TEXT,
    PRIMARY KEY (member_id, badge)
);

ALTER TABLE businesses ADD COLUMN max_points_share_pct BIGINT CHECK (max_points_share_pct IS NULL OR (max_points_share_pct BETWEEN 1 AND 100));

CREATE TABLE coupons (
    id                 TEXT PRIMARY KEY,
    member_id          TEXT NOT NULL,
    business_id        TEXT NOT NULL,
    source_business_id TEXT,
    campaign_id        TEXT,
    title              TEXT NOT NULL,
    bonus_pct          BIGINT NOT NULL DEFAULT 10 CHECK (bonus_pct BETWEEN 1 AND 100),
    status             TEXT NOT NULL DEFAULT 'issued' CHECK (status IN ('issued', 'activated', 'redeemed', 'expired')),
    activation_code    TEXT UNIQUE,
    valid_until        TEXT,
    issued_at          TEXT NOT NULL,
    expires_at         TEXT NOT NULL,
    redeemed_at        TEXT,
    purchase_id        TEXT
);

CREATE INDEX coupons_member ON coupons (member_id, issued_at, id);
