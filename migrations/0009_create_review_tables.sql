-- Verified-purchase reviews: the lines a purchase keeps (never for medical
-- businesses), reviews with their moderation state, flags, reply and
-- reward, and one aggregate row per rated target, updated in the same
-- transaction as every publish, reject and withdrawal.

-- What was bought, when the sale said so (committed reservation, POS or
-- webhook `items`, partner ingest).
CREATE TABLE purchase_lines (
    purchase_id TEXT NOT NULL,
    line_no     INTEGER NOT NULL,
    sku         TEXT NOT NULL,
    name        TEXT,
    category    TEXT NOT NULL,
    quantity    INTEGER NOT NULL CHECK (quantity > 0),
    unit_price  INTEGER NOT NULL CHECK (unit_price >= 0),
    PRIMARY KEY (purchase_id, line_no)
) STRICT;

-- A review of a business (target_key ''), a product (target_key = SKU) or
-- an event (target_key = event id). status: pending (waits for a
-- moderator), published, rejected, withdrawn (by its author).
-- reward_state: none, credited, clawed_back — it only ever moves forward,
-- so a review earns its points at most once.
CREATE TABLE reviews (
    id              TEXT PRIMARY KEY,
    member_id       TEXT NOT NULL,
    business_id     TEXT NOT NULL,
    target_type     TEXT NOT NULL CHECK (target_type IN ('business', 'product', 'event')),
    target_key      TEXT NOT NULL,
    purchase_id     TEXT NOT NULL,
    rating          INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
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
    reward_points   INTEGER NOT NULL DEFAULT 0 CHECK (reward_points >= 0),
    rewarded_at     TEXT,
    published_at    TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    UNIQUE (member_id, purchase_id, target_type, target_key)
) STRICT;

-- Public lists of one target, newest first or by rating.
CREATE INDEX reviews_target_newest ON reviews (business_id, target_type, target_key, status, published_at, id);
CREATE INDEX reviews_target_rating ON reviews (business_id, target_type, target_key, status, rating, published_at, id);
-- The author's own list and the daily limit.
CREATE INDEX reviews_member ON reviews (member_id, created_at, id);
-- The burst rule (reviews of one business in the last hour).
CREATE INDEX reviews_business_created ON reviews (business_id, created_at);
-- The moderation queue.
CREATE INDEX reviews_status ON reviews (status, created_at, id);

-- Published reviews of one target: count, sum and distribution. The row
-- with business_id '*' and target_key '*' holds the whole club's figures
-- for that target type (the prior of the Bayesian average).
CREATE TABLE review_ratings (
    target_type TEXT NOT NULL,
    business_id TEXT NOT NULL,
    target_key  TEXT NOT NULL,
    count       INTEGER NOT NULL DEFAULT 0 CHECK (count >= 0),
    total       INTEGER NOT NULL DEFAULT 0 CHECK (total >= 0),
    n1          INTEGER NOT NULL DEFAULT 0 CHECK (n1 >= 0),
    n2          INTEGER NOT NULL DEFAULT 0 CHECK (n2 >= 0),
    n3          INTEGER NOT NULL DEFAULT 0 CHECK (n3 >= 0),
    n4          INTEGER NOT NULL DEFAULT 0 CHECK (n4 >= 0),
    n5          INTEGER NOT NULL DEFAULT 0 CHECK (n5 >= 0),
    PRIMARY KEY (target_type, business_id, target_key)
) STRICT;
