-- PostgreSQL twin of ../0010_create_referral_tables.sql;
-- its comments describe the schema.
-- INTEGER is BIGINT: PostgreSQL's INTEGER is 32 bits, the app binds 64.
-- STRICT has no counterpart: PostgreSQL columns are always typed.

CREATE TABLE referrals (
    id              TEXT PRIMARY KEY,
    referrer_id     TEXT NOT NULL,
    referred_id     TEXT NOT NULL,
    code            TEXT NOT NULL,
    source          TEXT NOT NULL CHECK (source IN ('registration', 'purchase')),
    state           TEXT NOT NULL CHECK (state IN ('tracked', 'paid', 'rewarded', 'rejected')),
    reason          TEXT,
    purchase_id     TEXT,
    purchase_amount BIGINT,
    paid_at         TEXT,
    hold_until      TEXT,
    payout          TEXT CHECK (payout IN ('auto', 'manual')),
    reward_type     TEXT CHECK (reward_type IN ('points', 'voucher')),
    referrer_points BIGINT NOT NULL DEFAULT 0,
    referred_points BIGINT NOT NULL DEFAULT 0,
    voucher_code    TEXT,
    paid_out_by     TEXT,
    rewarded_at     TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    UNIQUE (referred_id, referrer_id)
);

CREATE UNIQUE INDEX referrals_live ON referrals (referred_id) WHERE state <> 'rejected';
CREATE INDEX referrals_referrer ON referrals (referrer_id, paid_at);
CREATE INDEX referrals_due ON referrals (state, hold_until);

CREATE TABLE member_devices (
    device_hash TEXT NOT NULL,
    member_id   TEXT NOT NULL,
    first_seen  TEXT NOT NULL,
    PRIMARY KEY (device_hash, member_id)
);

CREATE INDEX member_devices_member ON member_devices (member_id);

ALTER TABLE purchases ADD COLUMN ref_code TEXT;
ALTER TABLE reservations ADD COLUMN ref_code TEXT;
