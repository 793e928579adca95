-- PostgreSQL twin of ../0013_create_analytics_tables.sql;
-- its comments describe the schema.
-- INTEGER is BIGINT: PostgreSQL's INTEGER is 32 bits, the app binds 64.
-- REAL is DOUBLE PRECISION: PostgreSQL's REAL is 32 bits.
-- STRICT and WITHOUT ROWID have no counterpart: columns are always typed
-- and tables have no hidden rowid.

CREATE TABLE analytics_daily (
    business_id       TEXT NOT NULL,
    day               TEXT NOT NULL,
    source            TEXT NOT NULL,
    purchases         BIGINT NOT NULL,
    revenue           BIGINT NOT NULL,
    transactions      BIGINT NOT NULL,
    ecosystem_revenue BIGINT NOT NULL,
    commission        BIGINT NOT NULL,
    PRIMARY KEY (business_id, day, source)
);

CREATE TABLE analytics_customers (
    business_id TEXT NOT NULL,
    member_id   TEXT NOT NULL,
    first_at    TEXT NOT NULL,
    last_at     TEXT NOT NULL,
    purchases   BIGINT NOT NULL,
    revenue     BIGINT NOT NULL,
    PRIMARY KEY (business_id, member_id)
);

CREATE INDEX analytics_customers_first ON analytics_customers (business_id, first_at);

CREATE TABLE analytics_scores (
    business_id     TEXT NOT NULL,
    member_id       TEXT NOT NULL,
    recency_days    BIGINT NOT NULL,
    frequency       BIGINT NOT NULL,
    monetary        BIGINT NOT NULL,
    r               BIGINT NOT NULL,
    f               BIGINT NOT NULL,
    m               BIGINT NOT NULL,
    segment         TEXT NOT NULL,
    median_gap_days DOUBLE PRECISION,
    computed_at     TEXT NOT NULL,
    PRIMARY KEY (business_id, member_id)
);

CREATE TABLE analytics_snapshots (
    key         TEXT PRIMARY KEY,
    body        TEXT NOT NULL,
    computed_at TEXT NOT NULL
);

CREATE INDEX purchases_business_paid ON purchases (business_id, paid_at, member_id, amount, refunded_amount);
