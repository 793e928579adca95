-- PostgreSQL twin of ../0005_create_promo_tables.sql;
-- its comments describe the schema.
-- INTEGER is BIGINT: PostgreSQL's INTEGER is 32 bits, the app binds 64.
-- STRICT has no counterpart: PostgreSQL columns are always typed.

CREATE TABLE promos (
    id                TEXT PRIMARY KEY,
    code              TEXT,
    name              TEXT NOT NULL,
    kind              TEXT NOT NULL CHECK (kind IN ('percent', 'fixed', 'bogo', 'points_multiplier')),
    value             BIGINT NOT NULL DEFAULT 0,
    max_discount      BIGINT,
    buy_qty           BIGINT NOT NULL DEFAULT 0,
    free_qty          BIGINT NOT NULL DEFAULT 0,
    owner_business_id TEXT,
    businesses        TEXT NOT NULL DEFAULT '[]',
    conditions        TEXT NOT NULL DEFAULT '{}',
    limit_total       BIGINT,
    limit_per_member  BIGINT,
    limit_per_member_per_day BIGINT,
    budget            BIGINT,
    stackable         BIGINT NOT NULL DEFAULT 0 CHECK (stackable IN (0, 1)),
    priority          BIGINT NOT NULL DEFAULT 0,
    auto              BIGINT NOT NULL DEFAULT 0 CHECK (auto IN (0, 1)),
    active            BIGINT NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_by        TEXT,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL
);

CREATE UNIQUE INDEX promos_code ON promos (code) WHERE code IS NOT NULL;
CREATE INDEX promos_owner ON promos (owner_business_id, created_at, id);
CREATE INDEX promos_created ON promos (created_at, id);
CREATE INDEX promos_updated ON promos (updated_at);

CREATE TABLE promo_businesses (
    promo_id    TEXT NOT NULL,
    business_id TEXT NOT NULL,
    PRIMARY KEY (promo_id, business_id)
);

CREATE INDEX promo_businesses_business ON promo_businesses (business_id);
CREATE INDEX promos_auto_network ON promos (auto, active) WHERE auto = 1 AND businesses = '[]';

CREATE TABLE reservations (
    id              TEXT PRIMARY KEY,
    member_id       TEXT NOT NULL,
    business_id     TEXT NOT NULL,
    order_ref       TEXT NOT NULL,
    channel         TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('held', 'committed', 'released', 'expired')),
    subtotal        BIGINT NOT NULL,
    discount_total  BIGINT NOT NULL,
    points_applied  BIGINT NOT NULL CHECK (points_applied >= 0),
    total           BIGINT NOT NULL CHECK (total >= 0),
    promo_multiplier TEXT NOT NULL DEFAULT '1/1',
    quote           TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    expires_at      TEXT NOT NULL,
    committed_at    TEXT,
    released_at     TEXT,
    purchase_id     TEXT,
    redemption_id   TEXT
);

CREATE UNIQUE INDEX reservations_order ON reservations (business_id, order_ref)
    WHERE status IN ('held', 'committed');
CREATE INDEX reservations_member_held ON reservations (member_id, status, expires_at);
CREATE INDEX reservations_expiring ON reservations (status, expires_at);

CREATE TABLE promo_uses (
    id             TEXT PRIMARY KEY,
    promo_id       TEXT NOT NULL,
    reservation_id TEXT NOT NULL,
    member_id      TEXT NOT NULL,
    discount       BIGINT NOT NULL CHECK (discount >= 0),
    status         TEXT NOT NULL CHECK (status IN ('held', 'committed', 'released')),
    day            TEXT NOT NULL,
    expires_at     TEXT NOT NULL,
    created_at     TEXT NOT NULL
);

CREATE INDEX promo_uses_promo ON promo_uses (promo_id, status, expires_at);
CREATE INDEX promo_uses_member ON promo_uses (promo_id, member_id, status, day);
CREATE INDEX promo_uses_reservation ON promo_uses (reservation_id);

CREATE TABLE promo_code_misses (
    id        TEXT PRIMARY KEY,
    member_id TEXT NOT NULL,
    ip        TEXT NOT NULL,
    at        TEXT NOT NULL
);

CREATE INDEX promo_code_misses_member ON promo_code_misses (member_id, at);
CREATE INDEX promo_code_misses_ip ON promo_code_misses (ip, at);

CREATE TABLE banners (
    id                TEXT PRIMARY KEY,
    owner_business_id TEXT,
    placement         TEXT NOT NULL,
    title             TEXT NOT NULL,
    body              TEXT,
    image_url         TEXT,
    link_url          TEXT,
    priority          BIGINT NOT NULL DEFAULT 0,
    min_tier          TEXT CHECK (min_tier IS NULL OR min_tier IN ('insider', 'vip', 'elite', 'inner_circle')),
    starts_at         TEXT,
    ends_at           TEXT,
    active            BIGINT NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_by        TEXT,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL
);

CREATE INDEX banners_placement ON banners (placement, active, priority);
CREATE INDEX banners_owner ON banners (owner_business_id, created_at, id);

CREATE TABLE cross_promos (
    id               TEXT PRIMARY KEY,
    from_business_id TEXT NOT NULL,
    to_business_id   TEXT NOT NULL,
    title            TEXT NOT NULL,
    bonus_pct        BIGINT NOT NULL DEFAULT 10 CHECK (bonus_pct BETWEEN 1 AND 100),
    min_amount       BIGINT NOT NULL DEFAULT 0 CHECK (min_amount >= 0),
    coupon_ttl_days  BIGINT NOT NULL DEFAULT 30 CHECK (coupon_ttl_days BETWEEN 1 AND 365),
    active           BIGINT NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_by       TEXT,
    created_at       TEXT NOT NULL,
    CHECK (from_business_id <> to_business_id)
);

CREATE INDEX cross_promos_from ON cross_promos (from_business_id, active);

ALTER TABLE coupons ADD COLUMN source_purchase_id TEXT;
CREATE UNIQUE INDEX coupons_campaign_purchase ON coupons (campaign_id, source_purchase_id)
    WHERE source_purchase_id IS NOT NULL;

ALTER TABLE purchases ADD COLUMN coupon_id TEXT;
ALTER TABLE purchases ADD COLUMN ecosystem_engaged BIGINT NOT NULL DEFAULT 0 CHECK (ecosystem_engaged IN (0, 1));
