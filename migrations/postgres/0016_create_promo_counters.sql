-- PostgreSQL twin of ../0016_create_promo_counters.sql;
-- its comments describe the schema.
-- INTEGER is BIGINT: PostgreSQL's INTEGER is 32 bits, the app binds 64.
-- STRICT and WITHOUT ROWID have no counterpart: columns are always typed
-- and tables have no hidden rowid.

CREATE TABLE promo_counters (
    promo_id TEXT PRIMARY KEY,
    uses     BIGINT NOT NULL,
    spent    BIGINT NOT NULL
);

INSERT INTO promo_counters (promo_id, uses, spent)
    SELECT promo_id, COUNT(*), SUM(discount) FROM promo_uses
    WHERE status IN ('held', 'committed') GROUP BY promo_id;
