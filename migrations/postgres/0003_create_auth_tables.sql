-- PostgreSQL twin of ../0003_create_auth_tables.sql;
-- its comments describe the schema.
-- INTEGER is BIGINT: PostgreSQL's INTEGER is 32 bits, the app binds 64.
-- REAL is DOUBLE PRECISION: PostgreSQL's REAL is 32 bits.
-- STRICT has no counterpart: PostgreSQL columns are always typed.

CREATE TABLE members (
    id            TEXT PRIMARY KEY,
    phone         TEXT,
    first_name    TEXT,
    last_name     TEXT,
    email         TEXT,
    birth_date    TEXT,
    city          TEXT,
    tier          TEXT NOT NULL DEFAULT 'insider',
    card_number   TEXT UNIQUE,
    referral_code TEXT UNIQUE,
    referred_by   TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT,
    erased_at     TEXT
);

CREATE UNIQUE INDEX members_phone ON members (phone) WHERE phone IS NOT NULL;

CREATE TABLE consents (
    id           TEXT PRIMARY KEY,
    member_id    TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('personal_data', 'marketing')),
    granted      BIGINT NOT NULL CHECK (granted IN (0, 1)),
    text_version TEXT NOT NULL,
    at           TEXT NOT NULL,
    request_id   TEXT
);

CREATE INDEX consents_member ON consents (member_id, kind, at);

CREATE TABLE businesses (
    id                TEXT PRIMARY KEY,
    name              TEXT NOT NULL,
    category          TEXT NOT NULL CHECK (category IN ('beauty', 'cosmetology', 'dentistry', 'medicine', 'gastronomy', 'floristry', 'optics', 'home', 'legal')),
    timezone          TEXT NOT NULL DEFAULT 'Europe/Moscow',
    points_multiplier DOUBLE PRECISION NOT NULL DEFAULT 1,
    medical           BIGINT NOT NULL DEFAULT 0 CHECK (medical IN (0, 1)),
    created_at        TEXT NOT NULL
);

CREATE INDEX businesses_created ON businesses (created_at, id);

CREATE TABLE staff (
    member_id   TEXT PRIMARY KEY,
    business_id TEXT NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('manager', 'owner')),
    created_at  TEXT NOT NULL
);

CREATE INDEX staff_business ON staff (business_id, created_at);

CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    business_id TEXT NOT NULL,
    key_hash    TEXT NOT NULL UNIQUE,
    prefix      TEXT NOT NULL,
    name        TEXT,
    created_at  TEXT NOT NULL,
    created_by  TEXT,
    revoked_at  TEXT
);

CREATE INDEX api_keys_business ON api_keys (business_id, created_at);

CREATE TABLE login_families (
    id            TEXT PRIMARY KEY,
    member_id     TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    revoked_at    TEXT,
    revoke_reason TEXT
);

CREATE INDEX login_families_member ON login_families (member_id);

CREATE TABLE refresh_tokens (
    id         TEXT PRIMARY KEY,
    family_id  TEXT NOT NULL,
    member_id  TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    rotated_at TEXT
);

CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at);

CREATE TABLE otp_challenges (
    phone      TEXT PRIMARY KEY,
    code_hash  TEXT,
    expires_at TEXT,
    attempts   BIGINT NOT NULL DEFAULT 0,
    sent_at    TEXT NOT NULL
);

CREATE TABLE otp_sends (
    id    TEXT PRIMARY KEY,
    phone TEXT NOT NULL,
    ip    TEXT NOT NULL,
    at    TEXT NOT NULL
);

CREATE INDEX otp_sends_phone ON otp_sends (phone, at);
CREATE INDEX otp_sends_ip ON otp_sends (ip, at);
CREATE INDEX otp_sends_at ON otp_sends (at);
