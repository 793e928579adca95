-- How many uses of each promo are held or committed, and the discount they
-- gave, kept up to date by every write that changes a use's status, so a
-- reservation reads a promo's totals in one row instead of counting all of
-- its uses inside the write lock. Holds past their expiry still count here
-- until the expiry job releases them; readers subtract those few (see
-- promo::uses::usage), so limits stay exact without waiting for the job.
CREATE TABLE promo_counters (
    promo_id TEXT PRIMARY KEY,
    uses     INTEGER NOT NULL,
    spent    INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
-- No CHECK (uses >= 0): releases arrive as negative deltas through an
-- upsert, and a CHECK would judge the proposed insert row, not the sum.
-- The ledger invariants (wallet::invariants) compare counters with uses.

INSERT INTO promo_counters (promo_id, uses, spent)
    SELECT promo_id, COUNT(*), SUM(discount) FROM promo_uses
    WHERE status IN ('held', 'committed') GROUP BY promo_id;
