-- PostgreSQL twin of ../0015_create_promo_triggers.sql;
-- its comments describe the schema.
-- STRICT and WITHOUT ROWID have no counterpart: columns are always typed
-- and tables have no hidden rowid.

CREATE TABLE promo_triggers (
    scope       TEXT NOT NULL,
    trigger_key TEXT NOT NULL,
    promo_id    TEXT NOT NULL,
    PRIMARY KEY (scope, trigger_key, promo_id)
);

INSERT INTO promo_triggers (scope, trigger_key, promo_id)
    SELECT business_id, '*', promo_id FROM promo_businesses;
INSERT INTO promo_triggers (scope, trigger_key, promo_id)
    SELECT '*', '*', id FROM promos WHERE businesses = '[]';

DROP INDEX promos_auto_network;
DROP TABLE promo_businesses;
