-- Auth: members and their consents, businesses and their staff, partner API
-- keys, login families with rotating refresh tokens, and one-time-code
-- challenges with the send log their rate limits are counted from.
--
-- One-time codes and rate limits live here rather than in key-value (where
-- DESIGN.md first put them): Spin's key-value store has no compare-and-set,
-- and "one code per phone per 60 s" must hold when requests race, which
-- needs a BEGIN IMMEDIATE transaction.

-- A member. Erasure (DELETE /me) clears every personal field in place and
-- sets erased_at; the row stays so anonymised purchases and ledger entries
-- keep their member id. The phone is unique among members that still have
-- one, so an erased member's phone can register again as a new member.
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
) STRICT;

CREATE UNIQUE INDEX members_phone ON members (phone) WHERE phone IS NOT NULL;

-- Every consent given or withdrawn, with the version of the text shown.
CREATE TABLE consents (
    id           TEXT PRIMARY KEY,
    member_id    TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('personal_data', 'marketing')),
    granted      INTEGER NOT NULL CHECK (granted IN (0, 1)),
    text_version TEXT NOT NULL,
    at           TEXT NOT NULL,
    request_id   TEXT
) STRICT;

CREATE INDEX consents_member ON consents (member_id, kind, at);

-- A partner business. points_multiplier has at most two decimals (0.1-10);
-- it is REAL so the wallet reads it as the decimal it is.
CREATE TABLE businesses (
    id                TEXT PRIMARY KEY,
    name              TEXT NOT NULL,
    category          TEXT NOT NULL CHECK (category IN ('beauty', 'cosmetology', 'dentistry', 'medicine', 'gastronomy', 'floristry', 'optics', 'home', 'legal')),
    timezone          TEXT NOT NULL DEFAULT 'Europe/Moscow',
    points_multiplier REAL NOT NULL DEFAULT 1,
    medical           INTEGER NOT NULL DEFAULT 0 CHECK (medical IN (0, 1)),
    created_at        TEXT NOT NULL
) STRICT;

CREATE INDEX businesses_created ON businesses (created_at, id);

-- Staff: a member works for at most one business, as manager or owner.
CREATE TABLE staff (
    member_id   TEXT PRIMARY KEY,
    business_id TEXT NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('manager', 'owner')),
    created_at  TEXT NOT NULL
) STRICT;

CREATE INDEX staff_business ON staff (business_id, created_at);

-- Partner API keys: only a SHA-256 of the secret is kept, plus a short
-- prefix to tell keys apart in lists.
CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    business_id TEXT NOT NULL,
    key_hash    TEXT NOT NULL UNIQUE,
    prefix      TEXT NOT NULL,
    name        TEXT,
    created_at  TEXT NOT NULL,
    created_by  TEXT,
    revoked_at  TEXT
) STRICT;

CREATE INDEX api_keys_business ON api_keys (business_id, created_at);

-- One login (a successful code verification) and every refresh token
-- rotated from it. Revoking the family ends the login everywhere: its
-- refresh tokens and, through the per-request check, its access tokens.
CREATE TABLE login_families (
    id            TEXT PRIMARY KEY,
    member_id     TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    revoked_at    TEXT,
    revoke_reason TEXT
) STRICT;

CREATE INDEX login_families_member ON login_families (member_id);

-- Refresh tokens, stored as SHA-256 hashes. rotated_at is set when the
-- token is exchanged; presenting it again is reuse.
CREATE TABLE refresh_tokens (
    id         TEXT PRIMARY KEY,
    family_id  TEXT NOT NULL,
    member_id  TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    rotated_at TEXT
) STRICT;

CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at);

-- The live one-time code of a phone (at most one): an HMAC of the code,
-- its expiry and the wrong tries so far. code_hash is NULL once the code is
-- used, killed by too many wrong tries, or released after a failed SMS.
CREATE TABLE otp_challenges (
    phone      TEXT PRIMARY KEY,
    code_hash  TEXT,
    expires_at TEXT,
    attempts   INTEGER NOT NULL DEFAULT 0,
    sent_at    TEXT NOT NULL
) STRICT;

-- Every code sent in the last hour, by phone and client IP: the per-phone
-- (60 s, 5 per hour) and per-IP (20 per hour) limits count these rows.
CREATE TABLE otp_sends (
    id    TEXT PRIMARY KEY,
    phone TEXT NOT NULL,
    ip    TEXT NOT NULL,
    at    TEXT NOT NULL
) STRICT;

CREATE INDEX otp_sends_phone ON otp_sends (phone, at);
CREATE INDEX otp_sends_ip ON otp_sends (ip, at);
CREATE INDEX otp_sends_at ON otp_sends (at);
