-- PostgreSQL twin of ../0007_create_feature_flags.sql;
-- its comments describe the schema.
-- INTEGER is BIGINT: PostgreSQL's INTEGER is 32 bits, the app binds 64.
-- STRICT has no counterpart: PostgreSQL columns are always typed.

CREATE TABLE feature_flags (
    name        TEXT PRIMARY KEY,
    enabled     BIGINT NOT NULL CHECK (enabled IN (0, 1)),
    percent     BIGINT CHECK (percent BETWEEN 0 AND 100),
    tiers       TEXT NOT NULL DEFAULT '[]',
    businesses  TEXT NOT NULL DEFAULT '[]',
    members     TEXT NOT NULL DEFAULT '[]',
    updated_at  TEXT NOT NULL,
    updated_by  TEXT
);
