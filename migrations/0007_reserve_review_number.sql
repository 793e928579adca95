-- Holds number 0007, which belongs to the reviews capability's migration,
-- so that this branch builds on its own (migration numbers have no gaps).
-- Delete this file when the reviews migration is merged.
SELECT 1;
