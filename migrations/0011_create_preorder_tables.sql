-- Preorders: partners' upcoming products sold ahead of release in tiers
-- with limited quantities, points, bonuses, early access, upgrades and a
-- refund policy (core::preorders).

-- An upcoming product of one business, with its refund policy: a full
-- refund before full_until, partial_percent of it until none_after, none
-- after that; no cancellation at all after cancellation_deadline.
CREATE TABLE preorder_items (
    id                    TEXT PRIMARY KEY,
    business_id           TEXT NOT NULL,
    title                 TEXT NOT NULL,
    description           TEXT,
    release_at            TEXT NOT NULL,
    cancellation_deadline TEXT NOT NULL,
    full_until            TEXT NOT NULL,
    partial_percent       INTEGER NOT NULL CHECK (partial_percent BETWEEN 0 AND 100),
    none_after            TEXT NOT NULL,
    per_member_limit      INTEGER NOT NULL DEFAULT 1 CHECK (per_member_limit >= 1),
    fulfilled_at          TEXT,
    created_at            TEXT NOT NULL,
    updated_at            TEXT NOT NULL
) STRICT;

-- A tier of an item. held counts units of unpaid orders and upgrades,
-- sold units paid for; together they never exceed max_quantity (NULL:
-- unlimited). bonuses is JSON written and read only by core.
CREATE TABLE preorder_tiers (
    id                TEXT PRIMARY KEY,
    item_id           TEXT NOT NULL,
    name              TEXT NOT NULL,
    base_price        INTEGER NOT NULL CHECK (base_price >= 0),
    discount_percent  INTEGER NOT NULL CHECK (discount_percent BETWEEN 0 AND 100),
    final_price       INTEGER NOT NULL CHECK (final_price >= 0),
    max_quantity      INTEGER CHECK (max_quantity >= 1),
    held              INTEGER NOT NULL DEFAULT 0 CHECK (held >= 0),
    sold              INTEGER NOT NULL DEFAULT 0 CHECK (sold >= 0),
    early_access_days INTEGER NOT NULL CHECK (early_access_days >= 0),
    available_from    TEXT NOT NULL,
    available_until   TEXT NOT NULL,
    priority          INTEGER NOT NULL,
    bonuses           TEXT NOT NULL DEFAULT '[]',
    created_at        TEXT NOT NULL,
    CHECK (max_quantity IS NULL OR held + sold <= max_quantity)
) STRICT;

CREATE INDEX preorder_tiers_item ON preorder_tiers (item_id);

-- A member's preorder. price is what its current tier cost; total the
-- money its payment owes (price at order time - points_used);
-- paid_amount what that payment brought (upgrades keep their own).
CREATE TABLE preorders (
    id              TEXT PRIMARY KEY,
    item_id         TEXT NOT NULL,
    tier_id         TEXT NOT NULL,
    member_id       TEXT NOT NULL,
    business_id     TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending_payment', 'confirmed', 'early_access_active', 'fulfilled', 'cancelled', 'refunded')),
    price           INTEGER NOT NULL CHECK (price >= 0),
    points_used     INTEGER NOT NULL CHECK (points_used >= 0),
    total           INTEGER NOT NULL CHECK (total >= 0),
    paid_amount     INTEGER NOT NULL DEFAULT 0,
    reservation_id  TEXT,
    hold_expires_at TEXT NOT NULL,
    payment_id      TEXT,
    cancel_reason   TEXT,
    refund_amount   INTEGER,
    points_returned INTEGER,
    confirmed_at    TEXT,
    fulfilled_at    TEXT,
    cancelled_at    TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
) STRICT;

CREATE INDEX preorders_member ON preorders (member_id, item_id);
CREATE INDEX preorders_item_status ON preorders (item_id, status);
CREATE INDEX preorders_pending ON preorders (status, hold_expires_at);

-- An upgrade to a dearer tier of the same item: holds a unit of the new
-- tier until paid (order_ref preorder-upgrade:<id>) or lapsed.
CREATE TABLE preorder_upgrades (
    id              TEXT PRIMARY KEY,
    preorder_id     TEXT NOT NULL,
    from_tier_id    TEXT NOT NULL,
    to_tier_id      TEXT NOT NULL,
    amount          INTEGER NOT NULL CHECK (amount > 0),
    status          TEXT NOT NULL CHECK (status IN ('pending_payment', 'paid', 'expired', 'cancelled')),
    hold_expires_at TEXT NOT NULL,
    payment_id      TEXT,
    created_at      TEXT NOT NULL,
    paid_at         TEXT
) STRICT;

CREATE INDEX preorder_upgrades_preorder ON preorder_upgrades (preorder_id);
CREATE INDEX preorder_upgrades_pending ON preorder_upgrades (status, hold_expires_at);

-- A bonus granted at fulfilment, once per (preorder, bonus of its tier).
CREATE TABLE preorder_grants (
    preorder_id TEXT NOT NULL,
    bonus_index INTEGER NOT NULL,
    type        TEXT NOT NULL,
    delivery    TEXT NOT NULL,
    value       TEXT NOT NULL,
    code        TEXT UNIQUE,
    ref_id      TEXT,
    granted_at  TEXT NOT NULL,
    PRIMARY KEY (preorder_id, bonus_index)
) STRICT;

-- Money the partner owes back through the payment provider: a cancelled
-- preorder's refund, or a payment that could not be applied.
CREATE TABLE preorder_refunds (
    id          TEXT PRIMARY KEY,
    preorder_id TEXT NOT NULL,
    business_id TEXT NOT NULL,
    member_id   TEXT NOT NULL,
    amount      INTEGER NOT NULL CHECK (amount > 0),
    reason      TEXT NOT NULL,
    payment_id  TEXT,
    status      TEXT NOT NULL CHECK (status IN ('due', 'settled')),
    created_at  TEXT NOT NULL
) STRICT;

CREATE INDEX preorder_refunds_preorder ON preorder_refunds (preorder_id);
