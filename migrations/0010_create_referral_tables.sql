-- The referral program. A referral is one (referred member, referrer)
-- pair, captured at registration or from the referred member's first paid
-- purchase: tracked -> paid (a qualifying purchase, on hold) -> rewarded,
-- or rejected with its reason. A member is referred at most once: the
-- partial unique index admits any number of rejected pairs but one live
-- referral per referred member, so racing captures cannot both win.
CREATE TABLE referrals (
    id              TEXT PRIMARY KEY,
    referrer_id     TEXT NOT NULL,
    referred_id     TEXT NOT NULL,
    code            TEXT NOT NULL,
    source          TEXT NOT NULL CHECK (source IN ('registration', 'purchase')),
    state           TEXT NOT NULL CHECK (state IN ('tracked', 'paid', 'rewarded', 'rejected')),
    reason          TEXT,
    purchase_id     TEXT,
    purchase_amount INTEGER,
    paid_at         TEXT,
    hold_until      TEXT,
    -- NULL while on hold; 'manual' once the hold passed and an admin must
    -- pay; 'auto' or 'manual' on a rewarded referral says how it was paid.
    payout          TEXT CHECK (payout IN ('auto', 'manual')),
    reward_type     TEXT CHECK (reward_type IN ('points', 'voucher')),
    referrer_points INTEGER NOT NULL DEFAULT 0,
    referred_points INTEGER NOT NULL DEFAULT 0,
    voucher_code    TEXT,
    paid_out_by     TEXT,
    rewarded_at     TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    UNIQUE (referred_id, referrer_id)
) STRICT;

CREATE UNIQUE INDEX referrals_live ON referrals (referred_id) WHERE state <> 'rejected';
CREATE INDEX referrals_referrer ON referrals (referrer_id, paid_at);
CREATE INDEX referrals_due ON referrals (state, hold_until);

-- Devices a member signed in from (SHA-256 of `X-Device-Id`, never the
-- raw value), for the self-referral check.
CREATE TABLE member_devices (
    device_hash TEXT NOT NULL,
    member_id   TEXT NOT NULL,
    first_seen  TEXT NOT NULL,
    PRIMARY KEY (device_hash, member_id)
) STRICT;

CREATE INDEX member_devices_member ON member_devices (member_id);

-- The referral code a sale came with (POS body, reservation, webhook).
ALTER TABLE purchases ADD COLUMN ref_code TEXT;
ALTER TABLE reservations ADD COLUMN ref_code TEXT;
