-- Partner ingest: the CRM integration of each business, the history of its
-- sync runs, and members' app events. Kept to three tables and one index:
-- every request's first statement parses the whole schema.

-- One CRM integration per business. `settings` is the JSON the owner sent,
-- credentials included; the API never returns the credential fields.
-- `watermark` is the end of the last window stored in full; `lease_until`
-- keeps two runs of one integration from overlapping.
CREATE TABLE integrations (
    business_id  TEXT PRIMARY KEY,
    type         TEXT NOT NULL CHECK (type IN ('onec', 'yclients', 'amocrm', 'renovatio', 'csv_url')),
    settings     TEXT NOT NULL,
    enabled      INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    watermark    TEXT NOT NULL,
    failures     INTEGER NOT NULL DEFAULT 0 CHECK (failures >= 0),
    last_error   TEXT,
    not_before   TEXT,
    lease_until  TEXT,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
) STRICT;

-- Every sync run, manual or scheduled, with what it fetched and stored.
CREATE TABLE sync_runs (
    id           TEXT PRIMARY KEY,
    business_id  TEXT NOT NULL,
    started_by   TEXT NOT NULL CHECK (started_by IN ('schedule', 'manual')),
    status       TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
    window_from  TEXT NOT NULL,
    window_to    TEXT NOT NULL,
    fetched      INTEGER NOT NULL DEFAULT 0,
    accepted     INTEGER NOT NULL DEFAULT 0,
    duplicates   INTEGER NOT NULL DEFAULT 0,
    rejected     INTEGER NOT NULL DEFAULT 0,
    parked       INTEGER NOT NULL DEFAULT 0,
    error        TEXT,
    started_at   TEXT NOT NULL,
    finished_at  TEXT
) STRICT;

CREATE INDEX sync_runs_business ON sync_runs (business_id, started_at);

-- Members' app events (screen views, impressions, clicks, shares).
CREATE TABLE app_events (
    id           TEXT PRIMARY KEY,
    member_id    TEXT NOT NULL,
    type         TEXT NOT NULL,
    occurred_at  TEXT NOT NULL,
    properties   TEXT NOT NULL,
    received_at  TEXT NOT NULL
) STRICT;

-- Medical partners name a patient by the SHA-256 of the E.164 phone.
ALTER TABLE members ADD COLUMN phone_sha256 TEXT;
CREATE UNIQUE INDEX members_phone_sha256 ON members (phone_sha256) WHERE phone_sha256 IS NOT NULL;
ALTER TABLE payments ADD COLUMN customer_phone_sha256 TEXT;
