-- PostgreSQL twin of ../0014_create_ingest_tables.sql;
-- its comments describe the schema.
-- INTEGER is BIGINT: PostgreSQL's INTEGER is 32 bits, the app binds 64.
-- STRICT has no counterpart: PostgreSQL columns are always typed.

CREATE TABLE integrations (
    business_id  TEXT PRIMARY KEY,
    type         TEXT NOT NULL CHECK (type IN ('onec', 'yclients', 'amocrm', 'renovatio', 'csv_url')),
    settings     TEXT NOT NULL,
    enabled      BIGINT NOT NULL CHECK (enabled IN (0, 1)),
    watermark    TEXT NOT NULL,
    failures     BIGINT NOT NULL DEFAULT 0 CHECK (failures >= 0),
    last_error   TEXT,
    not_before   TEXT,
    lease_until  TEXT,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);

CREATE TABLE sync_runs (
    id           TEXT PRIMARY KEY,
    business_id  TEXT NOT NULL,
    started_by   TEXT NOT NULL CHECK (started_by IN ('schedule', 'manual')),
    status       TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
    window_from  TEXT NOT NULL,
    window_to    TEXT NOT NULL,
    fetched      BIGINT NOT NULL DEFAULT 0,
    accepted     BIGINT NOT NULL DEFAULT 0,
    duplicates   BIGINT NOT NULL DEFAULT 0,
    rejected     BIGINT NOT NULL DEFAULT 0,
    parked       BIGINT NOT NULL DEFAULT 0,
    error        TEXT,
    started_at   TEXT NOT NULL,
    finished_at  TEXT
);

CREATE INDEX sync_runs_business ON sync_runs (business_id, started_at);

CREATE TABLE app_events (
    id           TEXT PRIMARY KEY,
    member_id    TEXT NOT NULL,
    type         TEXT NOT NULL,
    occurred_at  TEXT NOT NULL,
    properties   TEXT NOT NULL,
    received_at  TEXT NOT NULL
);

ALTER TABLE members ADD COLUMN phone_sha256 TEXT;
CREATE UNIQUE INDEX members_phone_sha256 ON members (phone_sha256) WHERE phone_sha256 IS NOT NULL;
ALTER TABLE payments ADD COLUMN customer_phone_sha256 TEXT;
