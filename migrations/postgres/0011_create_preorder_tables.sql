-- PostgreSQL twin of ../0011_create_preorder_tables.sql;
-- its comments describe the schema.
-- INTEGER is BIGINT: PostgreSQL's INTEGER is 32 bits, the app binds 64.
-- STRICT has no counterpart: PostgreSQL columns are always typed.

CREATE TABLE preorder_items (
    id                    TEXT PRIMARY KEY,
    business_id           TEXT NOT NULL,
    title                 TEXT NOT NULL,
    description           TEXT,
    release_at            TEXT NOT NULL,
    cancellation_deadline TEXT NOT NULL,
    full_until            TEXT NOT NULL,
    partial_percent       BIGINT NOT NULL CHECK (partial_percent BETWEEN 0 AND 100),
    none_after            TEXT NOT NULL,
    per_member_limit      BIGINT NOT NULL DEFAULT 1 CHECK (per_member_limit >= 1),
    fulfilled_at          TEXT,
    created_at            TEXT NOT NULL,
    updated_at            TEXT NOT NULL
);

CREATE TABLE preorder_tiers (
    id                TEXT PRIMARY KEY,
    item_id           TEXT NOT NULL,
    name              TEXT NOT NULL,
    base_price        BIGINT NOT NULL CHECK (base_price >= 0),
    discount_percent  BIGINT NOT NULL CHECK (discount_percent BETWEEN 0 AND 100),
    final_price       BIGINT NOT NULL CHECK (final_price >= 0),
    max_quantity      BIGINT CHECK (max_quantity >= 1),
    held              BIGINT NOT NULL DEFAULT 0 CHECK (held >= 0),
    sold              BIGINT NOT NULL DEFAULT 0 CHECK (sold >= 0),
    early_access_days BIGINT NOT NULL CHECK (early_access_days >= 0),
    available_from    TEXT NOT NULL,
    available_until   TEXT NOT NULL,
    priority          BIGINT NOT NULL,
    bonuses           TEXT NOT NULL DEFAULT '[]',
    created_at        TEXT NOT NULL,
    CHECK (max_quantity IS NULL OR held + sold <= max_quantity)
);

CREATE INDEX preorder_tiers_item ON preorder_tiers (item_id);

CREATE TABLE preorders (
    id              TEXT PRIMARY KEY,
    item_id         TEXT NOT NULL,
    tier_id         TEXT NOT NULL,
    member_id       TEXT NOT NULL,
    business_id     TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending_payment', 'confirmed', 'early_access_active', 'fulfilled', 'cancelled', 'refunded')),
    price           BIGINT NOT NULL CHECK (price >= 0),
    points_used     BIGINT NOT NULL CHECK (points_used >= 0),
    total           BIGINT NOT NULL CHECK (total >= 0),
    paid_amount     BIGINT NOT NULL DEFAULT 0,
    reservation_id  TEXT,
    hold_expires_at TEXT NOT NULL,
    payment_id      TEXT,
    cancel_reason   TEXT,
    refund_amount   BIGINT,
    points_returned BIGINT,
    confirmed_at    TEXT,
    fulfilled_at    TEXT,
    cancelled_at    TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);

CREATE INDEX preorders_member ON preorders (member_id, item_id);
CREATE INDEX preorders_item_status ON preorders (item_id, status);
CREATE INDEX preorders_pending ON preorders (status, hold_expires_at);

CREATE TABLE preorder_upgrades (
    id              TEXT PRIMARY KEY,
    preorder_id     TEXT NOT NULL,
    from_tier_id    TEXT NOT NULL,
    to_tier_id      TEXT NOT NULL,
    amount          BIGINT NOT NULL CHECK (amount > 0),
    status          TEXT NOT NULL CHECK (status IN ('pending_payment', 'paid', 'expired', 'cancelled')),
    hold_expires_at TEXT NOT NULL,
    payment_id      TEXT,
    created_at      TEXT NOT NULL,
    paid_at         TEXT
);

CREATE INDEX preorder_upgrades_preorder ON preorder_upgrades (preorder_id);
CREATE INDEX preorder_upgrades_pending ON preorder_upgrades (status, hold_expires_at);

CREATE TABLE preorder_grants (
    preorder_id TEXT NOT NULL,
    bonus_index BIGINT NOT NULL,
    type        TEXT NOT NULL,
    delivery    TEXT NOT NULL,
    value       TEXT NOT NULL,
    code        TEXT UNIQUE,
    ref_id      TEXT,
    granted_at  TEXT NOT NULL,
    PRIMARY KEY (preorder_id, bonus_index)
);

CREATE TABLE preorder_refunds (
    id          TEXT PRIMARY KEY,
    preorder_id TEXT NOT NULL,
    business_id TEXT NOT NULL,
    member_id   TEXT NOT NULL,
    amount      BIGINT NOT NULL CHECK (amount > 0),
    reason      TEXT NOT NULL,
    payment_id  TEXT,
    status      TEXT NOT NULL CHECK (status IN ('due', 'settled')),
    created_at  TEXT NOT NULL
);

CREATE INDEX preorder_refunds_preorder ON preorder_refunds (preorder_id);
