-- Feature flags: one row per flag an admin has changed (a flag with no row
-- is on for everyone). Allow-lists are JSON arrays of tier names, business
-- ids and member ids. Requests read a cached snapshot in key-value, not
-- this table; it has no index beyond its key.
CREATE TABLE feature_flags (
    name        TEXT PRIMARY KEY,
    enabled     INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    percent     INTEGER CHECK (percent BETWEEN 0 AND 100),
    tiers       TEXT NOT NULL DEFAULT '[]',
    businesses  TEXT NOT NULL DEFAULT '[]',
    members     TEXT NOT NULL DEFAULT '[]',
    updated_at  TEXT NOT NULL,
    updated_by  TEXT
) STRICT;
