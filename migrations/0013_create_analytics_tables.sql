-- Analytics: rollups the purchase pipeline keeps in its own transaction
-- (refunds subtract), rebuildable from purchases and commissions by the
-- rebuild-analytics job with identical results, and what the nightly job
-- computes in bulk. Four tables and one index, so every request's schema
-- parse grows as little as possible. Days are UTC calendar days.

-- Per business, UTC day of the purchase and channel (pos, webhook,
-- checkout, ingest): purchases recorded (never decremented, the metrics'
-- counter), net revenue (amount less refunds), purchases not fully
-- refunded, the ecosystem-engaged part of the revenue, and the platform's
-- commission booked that day on that channel's sales (a refund's day
-- carries the negative share).
CREATE TABLE analytics_daily (
    business_id       TEXT NOT NULL,
    day               TEXT NOT NULL,
    source            TEXT NOT NULL,
    purchases         INTEGER NOT NULL,
    revenue           INTEGER NOT NULL,
    transactions      INTEGER NOT NULL,
    ecosystem_revenue INTEGER NOT NULL,
    commission        INTEGER NOT NULL,
    PRIMARY KEY (business_id, day, source)
) STRICT, WITHOUT ROWID;

-- Per business and member, over purchases not fully refunded: first and
-- last purchase, count and net sum. A member without one has no row.
CREATE TABLE analytics_customers (
    business_id TEXT NOT NULL,
    member_id   TEXT NOT NULL,
    first_at    TEXT NOT NULL,
    last_at     TEXT NOT NULL,
    purchases   INTEGER NOT NULL,
    revenue     INTEGER NOT NULL,
    PRIMARY KEY (business_id, member_id)
) STRICT, WITHOUT ROWID;

-- New customers of a period are a range of first purchases.
CREATE INDEX analytics_customers_first ON analytics_customers (business_id, first_at);

-- Nightly, per business and member active in the 365 days before the run:
-- recency in days, frequency, net monetary value, their quartile scores
-- (1-4, 4 best), the named segment, and the median gap in days between
-- the member's visit days (NULL with a single visit day).
CREATE TABLE analytics_scores (
    business_id     TEXT NOT NULL,
    member_id       TEXT NOT NULL,
    recency_days    INTEGER NOT NULL,
    frequency       INTEGER NOT NULL,
    monetary        INTEGER NOT NULL,
    r               INTEGER NOT NULL,
    f               INTEGER NOT NULL,
    m               INTEGER NOT NULL,
    segment         TEXT NOT NULL,
    median_gap_days REAL,
    computed_at     TEXT NOT NULL,
    PRIMARY KEY (business_id, member_id)
) STRICT, WITHOUT ROWID;

-- Nightly results read whole: the win-win chains containing a business
-- (`chains:{business_id}`), the club's top cross-business links and its
-- north-star metric (`club`). body is JSON.
CREATE TABLE analytics_snapshots (
    key         TEXT PRIMARY KEY,
    body        TEXT NOT NULL,
    computed_at TEXT NOT NULL
) STRICT, WITHOUT ROWID;

-- Period reads of one business's purchases: customers, revenue per
-- customer, where its customers went next (covering: a 30-day range of a
-- busy partner costs ~1 ms instead of a table lookup per purchase), and
-- the CSV export's order.
CREATE INDEX purchases_business_paid ON purchases (business_id, paid_at, member_id, amount, refunded_amount);
