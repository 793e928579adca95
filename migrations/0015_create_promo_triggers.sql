-- What puts a promo in front of a checkout, so a quote reads only the auto
-- campaigns that can apply to its cart instead of every campaign of the
-- business. One row per (scope, trigger): scope is a business id, or '*'
-- for a network-wide promo; trigger is 'sku:<sku>' or 'category:<slug>'
-- for a promo limited to those lines, or '*' for one that applies to any
-- line. '*' is always a safe answer: the engine still checks every rule.
-- Replaces promo_businesses (which could find a business's campaigns but
-- not narrow them to the cart) and leaves the schema three objects smaller.
CREATE TABLE promo_triggers (
    scope       TEXT NOT NULL,
    trigger_key TEXT NOT NULL,
    promo_id    TEXT NOT NULL,
    PRIMARY KEY (scope, trigger_key, promo_id)
) STRICT, WITHOUT ROWID;

-- Promos written before this migration match any cart until they are next
-- saved, which writes their real triggers.
INSERT INTO promo_triggers (scope, trigger_key, promo_id)
    SELECT business_id, '*', promo_id FROM promo_businesses;
INSERT INTO promo_triggers (scope, trigger_key, promo_id)
    SELECT '*', '*', id FROM promos WHERE businesses = '[]';

DROP INDEX promos_auto_network;
DROP TABLE promo_businesses;
