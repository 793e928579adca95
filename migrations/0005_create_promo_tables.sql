-- Checkout promos: promo and campaign definitions, checkout reservations
-- that hold promo uses, budget and points for 15 minutes, the uses they
-- hold or commit, banners, and the record of unknown codes tried (for the
-- brute-force limit).

-- A promo. Conditions and the business list are JSON written and read only
-- by core (promo::store); the columns the engine's candidate query filters
-- on are real columns. owner_business_id is the business whose owner or
-- manager created it (NULL for admin promos; network-wide promos are
-- admin-only and have an empty business list).
CREATE TABLE promos (
    id                TEXT PRIMARY KEY,
    code              TEXT,
    name              TEXT NOT NULL,
    kind              TEXT NOT NULL CHECK (kind IN ('percent', 'fixed', 'bogo', 'points_multiplier')),
    value             INTEGER NOT NULL DEFAULT 0,
    max_discount      INTEGER,
    buy_qty           INTEGER NOT NULL DEFAULT 0,
    free_qty          INTEGER NOT NULL DEFAULT 0,
    owner_business_id TEXT,
    businesses        TEXT NOT NULL DEFAULT '[]',
    conditions        TEXT NOT NULL DEFAULT '{}',
    limit_total       INTEGER,
    limit_per_member  INTEGER,
    limit_per_member_per_day INTEGER,
    budget            INTEGER,
    stackable         INTEGER NOT NULL DEFAULT 0 CHECK (stackable IN (0, 1)),
    priority          INTEGER NOT NULL DEFAULT 0,
    auto              INTEGER NOT NULL DEFAULT 0 CHECK (auto IN (0, 1)),
    active            INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_by        TEXT,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL
) STRICT;

-- Codes are unique case-insensitively: stored upper-cased.
CREATE UNIQUE INDEX promos_code ON promos (code) WHERE code IS NOT NULL;
CREATE INDEX promos_owner ON promos (owner_business_id, created_at, id);
CREATE INDEX promos_created ON promos (created_at, id);
CREATE INDEX promos_updated ON promos (updated_at);

-- Which businesses a promo applies at (mirrors promos.businesses), so the
-- auto campaigns of one business are found by index.
CREATE TABLE promo_businesses (
    promo_id    TEXT NOT NULL,
    business_id TEXT NOT NULL,
    PRIMARY KEY (promo_id, business_id)
) STRICT;

CREATE INDEX promo_businesses_business ON promo_businesses (business_id);
CREATE INDEX promos_auto_network ON promos (auto, active) WHERE auto = 1 AND businesses = '[]';

-- A checkout held for 15 minutes: its quote, the points it will spend and
-- the uses it holds. Committed once (by the till or the payment webhook),
-- released by the member, or expired by the scheduler.
CREATE TABLE reservations (
    id              TEXT PRIMARY KEY,
    member_id       TEXT NOT NULL,
    business_id     TEXT NOT NULL,
    order_ref       TEXT NOT NULL,
    channel         TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('held', 'committed', 'released', 'expired')),
    subtotal        INTEGER NOT NULL,
    discount_total  INTEGER NOT NULL,
    points_applied  INTEGER NOT NULL CHECK (points_applied >= 0),
    total           INTEGER NOT NULL CHECK (total >= 0),
    promo_multiplier TEXT NOT NULL DEFAULT '1/1',
    quote           TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    expires_at      TEXT NOT NULL,
    committed_at    TEXT,
    released_at     TEXT,
    purchase_id     TEXT,
    redemption_id   TEXT
) STRICT;

-- One live reservation per order of a business.
CREATE UNIQUE INDEX reservations_order ON reservations (business_id, order_ref)
    WHERE status IN ('held', 'committed');
CREATE INDEX reservations_member_held ON reservations (member_id, status, expires_at);
CREATE INDEX reservations_expiring ON reservations (status, expires_at);

-- One row per promo a reservation applied. Uses that count toward limits:
-- committed ones and held ones whose reservation has not expired.
CREATE TABLE promo_uses (
    id             TEXT PRIMARY KEY,
    promo_id       TEXT NOT NULL,
    reservation_id TEXT NOT NULL,
    member_id      TEXT NOT NULL,
    discount       INTEGER NOT NULL CHECK (discount >= 0),
    status         TEXT NOT NULL CHECK (status IN ('held', 'committed', 'released')),
    day            TEXT NOT NULL,
    expires_at     TEXT NOT NULL,
    created_at     TEXT NOT NULL
) STRICT;

CREATE INDEX promo_uses_promo ON promo_uses (promo_id, status, expires_at);
CREATE INDEX promo_uses_member ON promo_uses (promo_id, member_id, status, day);
CREATE INDEX promo_uses_reservation ON promo_uses (reservation_id);

-- Unknown codes tried, by member and by client IP, for the "more than 10
-- an hour → 429" rule. Purged after an hour.
CREATE TABLE promo_code_misses (
    id        TEXT PRIMARY KEY,
    member_id TEXT NOT NULL,
    ip        TEXT NOT NULL,
    at        TEXT NOT NULL
) STRICT;

CREATE INDEX promo_code_misses_member ON promo_code_misses (member_id, at);
CREATE INDEX promo_code_misses_ip ON promo_code_misses (ip, at);

-- Banners for the member apps.
CREATE TABLE banners (
    id                TEXT PRIMARY KEY,
    owner_business_id TEXT,
    placement         TEXT NOT NULL,
    title             TEXT NOT NULL,
    body              TEXT,
    image_url         TEXT,
    link_url          TEXT,
    priority          INTEGER NOT NULL DEFAULT 0,
    min_tier          TEXT CHECK (min_tier IS NULL OR min_tier IN ('insider', 'vip', 'elite', 'inner_circle')),
    starts_at         TEXT,
    ends_at           TEXT,
    active            INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_by        TEXT,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL
) STRICT;

CREATE INDEX banners_placement ON banners (placement, active, priority);
CREATE INDEX banners_owner ON banners (owner_business_id, created_at, id);

-- Cross-promo campaigns: a paid purchase at from_business_id (of at least
-- min_amount) issues the member a coupon for to_business_id, redeemable
-- there within coupon_ttl_days for bonus_pct of the paid amount in points;
-- such a sale is ecosystem-engaged.
CREATE TABLE cross_promos (
    id               TEXT PRIMARY KEY,
    from_business_id TEXT NOT NULL,
    to_business_id   TEXT NOT NULL,
    title            TEXT NOT NULL,
    bonus_pct        INTEGER NOT NULL DEFAULT 10 CHECK (bonus_pct BETWEEN 1 AND 100),
    min_amount       INTEGER NOT NULL DEFAULT 0 CHECK (min_amount >= 0),
    coupon_ttl_days  INTEGER NOT NULL DEFAULT 30 CHECK (coupon_ttl_days BETWEEN 1 AND 365),
    active           INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_by       TEXT,
    created_at       TEXT NOT NULL,
    CHECK (from_business_id <> to_business_id)
) STRICT;

CREATE INDEX cross_promos_from ON cross_promos (from_business_id, active);

-- The purchase that issued a coupon (one coupon per campaign and purchase).
ALTER TABLE coupons ADD COLUMN source_purchase_id TEXT;
CREATE UNIQUE INDEX coupons_campaign_purchase ON coupons (campaign_id, source_purchase_id)
    WHERE source_purchase_id IS NOT NULL;

-- A purchase made with a cross-promo coupon: which one, and the flag the
-- commission record of the payments capability reads.
ALTER TABLE purchases ADD COLUMN coupon_id TEXT;
ALTER TABLE purchases ADD COLUMN ecosystem_engaged INTEGER NOT NULL DEFAULT 0 CHECK (ecosystem_engaged IN (0, 1));
