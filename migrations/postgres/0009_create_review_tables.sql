-- PostgreSQL twin of ../0009_create_review_tables.sql;
-- its comments describe the schema.
-- INTEGER is BIGINT: PostgreSQL's INTEGER is 32 bits, the app binds 64.
-- STRICT has no counterpart: PostgreSQL columns are always typed.

CREATE TABLE purchase_lines (
    purchase_id TEXT NOT NULL,
    line_no     BIGINT NOT NULL,
    sku         TEXT NOT NULL,
    name        TEXT,
    category    TEXT NOT NULL,
    quantity    BIGINT NOT NULL CHECK (quantity > 0),
    unit_price  BIGINT NOT NULL CHECK (unit_price >= 0),
    PRIMARY KEY (purchase_id, line_no)
);

CREATE TABLE reviews (
    id              TEXT PRIMARY KEY,
    member_id       TEXT NOT NULL,
    business_id     TEXT NOT NULL,
    target_type     TEXT NOT NULL CHECK (target_type IN ('business', 'product', 'event')),
    target_key      TEXT NOT NULL,
    purchase_id     TEXT NOT NULL,
    rating          BIGINT NOT NULL CHECK (rating BETWEEN 1 AND 5),
    body            TEXT,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'published', 'rejected', 'withdrawn')),
    flags           TEXT NOT NULL DEFAULT '[]',
    decision_reason TEXT,
    decided_by      TEXT,
    decided_at      TEXT,
    reply_body      TEXT,
    reply_by        TEXT,
    replied_at      TEXT,
    reward_state    TEXT NOT NULL DEFAULT 'none' CHECK (reward_state IN ('none', 'credited', 'clawed_back')),
    reward_points   BIGINT NOT NULL DEFAULT 0 CHECK (reward_points >= 0),
    rewarded_at     TEXT,
    published_at    TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    UNIQUE (member_id, purchase_id, target_type, target_key)
);

CREATE INDEX reviews_target_newest ON reviews (business_id, target_type, target_key, status, published_at, id);
CREATE INDEX reviews_target_rating ON reviews (business_id, target_type, target_key, status, rating, published_at, id);
CREATE INDEX reviews_member ON reviews (member_id, created_at, id);
CREATE INDEX reviews_business_created ON reviews (business_id, created_at);
CREATE INDEX reviews_status ON reviews (status, created_at, id);

CREATE TABLE review_ratings (
    target_type TEXT NOT NULL,
    business_id TEXT NOT NULL,
    target_key  TEXT NOT NULL,
    count       BIGINT NOT NULL DEFAULT 0 CHECK (count >= 0),
    total       BIGINT NOT NULL DEFAULT 0 CHECK (total >= 0),
    n1          BIGINT NOT NULL DEFAULT 0 CHECK (n1 >= 0),
    n2          BIGINT NOT NULL DEFAULT 0 CHECK (n2 >= 0),
    n3          BIGINT NOT NULL DEFAULT 0 CHECK (n3 >= 0),
    n4          BIGINT NOT NULL DEFAULT 0 CHECK (n4 >= 0),
    n5          BIGINT NOT NULL DEFAULT 0 CHECK (n5 >= 0),
    PRIMARY KEY (target_type, business_id, target_key)
);
