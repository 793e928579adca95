-- The wallet: an append-only points ledger (entries), the earn lots entries
-- draw on, a balance row per member kept beside them in the same
-- transaction, purchases and refunds, redemptions and compensations at the
-- POS, the events budget, tier history and badges.

-- One row per member; reads of the balance are one SELECT. Kept in the same
-- BEGIN IMMEDIATE transaction as the entries and lots that change it.
CREATE TABLE member_balances (
    member_id  TEXT PRIMARY KEY,
    available  INTEGER NOT NULL DEFAULT 0 CHECK (available >= 0),
    pending    INTEGER NOT NULL DEFAULT 0 CHECK (pending >= 0),
    debt       INTEGER NOT NULL DEFAULT 0 CHECK (debt >= 0),
    updated_at TEXT NOT NULL
) STRICT;

-- Every signed change of a member's points, never updated or deleted.
-- cause_type/cause_id name what caused it: a purchase, a refund, a
-- redemption, a compensation, a job run over a lot, or an admin action.
CREATE TABLE ledger_entries (
    id          TEXT PRIMARY KEY,
    member_id   TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('earn', 'spend', 'expire', 'clawback', 'reward', 'compensation', 'adjust')),
    amount      INTEGER NOT NULL CHECK (amount <> 0),
    business_id TEXT,
    lot_id      TEXT,
    cause_type  TEXT NOT NULL CHECK (cause_type IN ('purchase', 'refund', 'redemption', 'compensation', 'job', 'admin', 'reward')),
    cause_id    TEXT NOT NULL,
    actor_role  TEXT NOT NULL,
    actor_id    TEXT,
    reason      TEXT,
    description TEXT,
    created_at  TEXT NOT NULL
) STRICT;

CREATE INDEX ledger_entries_member ON ledger_entries (member_id, created_at, id);
CREATE INDEX ledger_entries_cause ON ledger_entries (cause_type, cause_id);

CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries
BEGIN
    SELECT RAISE(ABORT, 'ledger entries are append-only');
END;

CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries
BEGIN
    SELECT RAISE(ABORT, 'ledger entries are append-only');
END;

-- What a credit entry put in the wallet. Points are pending until
-- matures_at, then available until expires_at (both fixed when the lot is
-- created). Spends take from `remaining`, earliest expiry first.
CREATE TABLE point_lots (
    id          TEXT PRIMARY KEY,
    member_id   TEXT NOT NULL,
    entry_id    TEXT NOT NULL UNIQUE,
    business_id TEXT,
    purchase_id TEXT,
    amount      INTEGER NOT NULL CHECK (amount > 0),
    remaining   INTEGER NOT NULL CHECK (remaining >= 0 AND remaining <= amount),
    -- Part of `amount` that repaid debt from earlier clawbacks when credited.
    settled_debt INTEGER NOT NULL DEFAULT 0 CHECK (settled_debt >= 0 AND settled_debt <= amount),
    status      TEXT NOT NULL CHECK (status IN ('pending', 'available', 'expired')),
    created_at  TEXT NOT NULL,
    matures_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL
) STRICT;

CREATE INDEX point_lots_member ON point_lots (member_id, status, expires_at);
CREATE INDEX point_lots_maturing ON point_lots (status, matures_at);
CREATE INDEX point_lots_expiring ON point_lots (status, expires_at);
CREATE INDEX point_lots_purchase ON point_lots (purchase_id);

-- Which lots a debit entry (spend, expire, clawback, negative adjust) drew
-- on, and how much from each; the rest of a clawback became debt.
CREATE TABLE lot_allocations (
    entry_id TEXT NOT NULL,
    lot_id   TEXT NOT NULL,
    amount   INTEGER NOT NULL CHECK (amount > 0),
    PRIMARY KEY (entry_id, lot_id)
) STRICT;

CREATE INDEX lot_allocations_lot ON lot_allocations (lot_id);

-- Paid purchases from every channel (POS, payment webhook, partner ingest).
-- Medical businesses' purchases keep the category but no description.
CREATE TABLE purchases (
    id                 TEXT PRIMARY KEY,
    member_id          TEXT NOT NULL,
    business_id        TEXT NOT NULL,
    external_id        TEXT,
    source             TEXT NOT NULL,
    amount             INTEGER NOT NULL CHECK (amount > 0),
    refunded_amount    INTEGER NOT NULL DEFAULT 0 CHECK (refunded_amount >= 0 AND refunded_amount <= amount),
    currency           TEXT NOT NULL DEFAULT 'RUB',
    category           TEXT NOT NULL,
    description        TEXT,
    tier_at_purchase   TEXT NOT NULL,
    first_in_category  INTEGER NOT NULL,
    points_computed    INTEGER NOT NULL CHECK (points_computed >= 0),
    points_earned      INTEGER NOT NULL CHECK (points_earned >= 0),
    points_clawed_back INTEGER NOT NULL DEFAULT 0 CHECK (points_clawed_back >= 0),
    cap_applied        TEXT,
    actor_role         TEXT NOT NULL,
    actor_id           TEXT,
    paid_at            TEXT NOT NULL,
    created_at         TEXT NOT NULL,
    UNIQUE (business_id, external_id)
) STRICT;

CREATE INDEX purchases_member_paid ON purchases (member_id, paid_at);
CREATE INDEX purchases_member_business_paid ON purchases (member_id, business_id, paid_at);
CREATE INDEX purchases_member_category ON purchases (member_id, category);

CREATE TABLE refunds (
    id              TEXT PRIMARY KEY,
    purchase_id     TEXT NOT NULL,
    business_id     TEXT NOT NULL,
    external_id     TEXT,
    amount          INTEGER NOT NULL CHECK (amount > 0),
    points_clawed   INTEGER NOT NULL CHECK (points_clawed >= 0),
    debt_added      INTEGER NOT NULL CHECK (debt_added >= 0),
    created_at      TEXT NOT NULL,
    UNIQUE (business_id, external_id)
) STRICT;

CREATE INDEX refunds_purchase ON refunds (purchase_id);

CREATE TABLE redemptions (
    id           TEXT PRIMARY KEY,
    member_id    TEXT NOT NULL,
    business_id  TEXT NOT NULL,
    order_ref    TEXT NOT NULL,
    points       INTEGER NOT NULL CHECK (points > 0),
    check_amount INTEGER,
    entry_id     TEXT NOT NULL,
    actor_role   TEXT NOT NULL,
    actor_id     TEXT,
    created_at   TEXT NOT NULL
) STRICT;

CREATE INDEX redemptions_member ON redemptions (member_id, created_at);

CREATE TABLE compensations (
    id          TEXT PRIMARY KEY,
    member_id   TEXT NOT NULL,
    business_id TEXT NOT NULL,
    order_ref   TEXT NOT NULL,
    points      INTEGER NOT NULL CHECK (points > 0),
    reason      TEXT NOT NULL,
    entry_id    TEXT NOT NULL,
    actor_role  TEXT NOT NULL,
    actor_id    TEXT,
    created_at  TEXT NOT NULL
) STRICT;

CREATE INDEX compensations_order ON compensations (business_id, order_ref);

-- 2 % of every paid purchase (negative rows when it is refunded).
CREATE TABLE events_budget_entries (
    id          TEXT PRIMARY KEY,
    purchase_id TEXT NOT NULL,
    refund_id   TEXT,
    amount      INTEGER NOT NULL,
    created_at  TEXT NOT NULL
) STRICT;

CREATE INDEX events_budget_purchase ON events_budget_entries (purchase_id);

-- Tier inputs that are not purchases: the nightly top-1 % flag and an
-- admin's inner-circle invitation.
CREATE TABLE member_tier_flags (
    member_id       TEXT PRIMARY KEY,
    top_one_percent INTEGER NOT NULL DEFAULT 0,
    invited         INTEGER NOT NULL DEFAULT 0,
    updated_at      TEXT NOT NULL
) STRICT;

CREATE TABLE tier_changes (
    id          TEXT PRIMARY KEY,
    member_id   TEXT NOT NULL,
    from_tier   TEXT NOT NULL,
    to_tier     TEXT NOT NULL,
    cause_type  TEXT NOT NULL,
    cause_id    TEXT NOT NULL,
    spent_12m   INTEGER NOT NULL,
    categories_12m INTEGER NOT NULL,
    at          TEXT NOT NULL
) STRICT;

CREATE INDEX tier_changes_member ON tier_changes (member_id, at);

CREATE TABLE member_badges (
    member_id  TEXT NOT NULL,
    badge      TEXT NOT NULL,
    awarded_at TEXT NOT NULL,
    cause_type TEXT NOT NULL,
    cause_id   TEXT,
    PRIMARY KEY (member_id, badge)
) STRICT;

-- Optional per-business cap on the share of a check that may be paid with
-- points (whole percent, 1-100; NULL = no cap).
ALTER TABLE businesses ADD COLUMN max_points_share_pct INTEGER CHECK (max_points_share_pct IS NULL OR (max_points_share_pct BETWEEN 1 AND 100));

-- Cross-promo coupons: issued to a member for business_id (B) after a paid
-- purchase at source_business_id (A) under a campaign; activated at the
-- member's request (a short code valid until valid_until) and redeemed by
-- one purchase at B. Checkout-promo issues and redeems them; the wallet
-- lists them.
CREATE TABLE coupons (
    id                 TEXT PRIMARY KEY,
    member_id          TEXT NOT NULL,
    business_id        TEXT NOT NULL,
    source_business_id TEXT,
    campaign_id        TEXT,
    title              TEXT NOT NULL,
    bonus_pct          INTEGER NOT NULL DEFAULT 10 CHECK (bonus_pct BETWEEN 1 AND 100),
    status             TEXT NOT NULL DEFAULT 'issued' CHECK (status IN ('issued', 'activated', 'redeemed', 'expired')),
    activation_code    TEXT UNIQUE,
    valid_until        TEXT,
    issued_at          TEXT NOT NULL,
    expires_at         TEXT NOT NULL,
    redeemed_at        TEXT,
    purchase_id        TEXT
) STRICT;

CREATE INDEX coupons_member ON coupons (member_id, issued_at, id);
