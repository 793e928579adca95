-- Community events: the events themselves (seats taken kept beside the
-- capacity, changed only inside BEGIN IMMEDIATE transactions), one
-- registration row per member and event (its status carries invitations,
-- the FIFO waitlist, payment holds, attendance and refunds due), member
-- proposals with one vote row per member, and allocations of the events
-- budget (whose contributions are the wallet's events_budget_entries).

-- status: scheduled, cancelled, past (set by the mark-past job).
-- seats_taken: seats of confirmed, attended and pending_payment
-- registrations; next_queue_no orders the waitlist.
CREATE TABLE events (
    id               TEXT PRIMARY KEY,
    business_id      TEXT NOT NULL,
    title            TEXT NOT NULL,
    description      TEXT NOT NULL,
    full_description TEXT,
    type             TEXT NOT NULL,
    format           TEXT NOT NULL CHECK (format IN ('free', 'paid', 'closed')),
    price            INTEGER NOT NULL CHECK (price >= 0),
    starts_at        TEXT NOT NULL,
    ends_at          TEXT NOT NULL,
    address          TEXT,
    capacity         INTEGER NOT NULL CHECK (capacity > 0),
    seats_taken      INTEGER NOT NULL DEFAULT 0 CHECK (seats_taken >= 0 AND seats_taken <= capacity),
    next_queue_no    INTEGER NOT NULL DEFAULT 1,
    min_tier         TEXT NOT NULL,
    plus_one_allowed INTEGER NOT NULL CHECK (plus_one_allowed IN (0, 1)),
    program          TEXT NOT NULL DEFAULT '[]',
    speakers         TEXT NOT NULL DEFAULT '[]',
    what_to_bring    TEXT NOT NULL DEFAULT '[]',
    cover_image_url  TEXT,
    proposal_id      TEXT,
    status           TEXT NOT NULL DEFAULT 'scheduled' CHECK (status IN ('scheduled', 'cancelled', 'past')),
    created_by       TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    cancelled_at     TEXT
) STRICT;

-- The list reads events by start time (upcoming first or newest first).
CREATE INDEX events_starts ON events (starts_at, id);

-- status: invited (a closed event's invitation, no seat yet), confirmed,
-- pending_payment (seat held until hold_expires_at), waitlist (queue_no
-- orders it), attended, cancelled, expired (an unpaid hold that lapsed).
-- refund_due: money the club owes back (event cancelled, a payment for a
-- lapsed hold with no seat left, a paid seat given up); refunded_amount:
-- refunds the provider reported.
CREATE TABLE event_registrations (
    id                   TEXT PRIMARY KEY,
    event_id             TEXT NOT NULL,
    member_id            TEXT NOT NULL,
    status               TEXT NOT NULL CHECK (status IN ('invited', 'confirmed', 'pending_payment', 'waitlist', 'attended', 'cancelled', 'expired')),
    seats                INTEGER NOT NULL CHECK (seats IN (1, 2)),
    dietary_restrictions TEXT,
    queue_no             INTEGER,
    hold_expires_at      TEXT,
    paid_amount          INTEGER NOT NULL DEFAULT 0,
    payment_id           TEXT,
    refund_due           INTEGER NOT NULL DEFAULT 0,
    refunded_amount      INTEGER NOT NULL DEFAULT 0,
    checked_in_at        TEXT,
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL,
    UNIQUE (event_id, member_id)
) STRICT;

CREATE INDEX event_registrations_member ON event_registrations (member_id, status);
CREATE INDEX event_registrations_holds ON event_registrations (hold_expires_at) WHERE status = 'pending_payment';
-- The waitlist in queue order: "anyone waiting", positions and promotion.
CREATE INDEX event_registrations_queue ON event_registrations (event_id, queue_no) WHERE status = 'waitlist';

-- status: voting, approved, rejected, realized.
CREATE TABLE event_proposals (
    id                TEXT PRIMARY KEY,
    member_id         TEXT NOT NULL,
    title             TEXT NOT NULL,
    description       TEXT NOT NULL,
    type              TEXT NOT NULL,
    preferred_date    TEXT NOT NULL,
    business_id       TEXT,
    budget_per_person INTEGER NOT NULL CHECK (budget_per_person >= 0),
    capacity          INTEGER NOT NULL CHECK (capacity > 0),
    program           TEXT NOT NULL DEFAULT '[]',
    status            TEXT NOT NULL CHECK (status IN ('voting', 'approved', 'rejected', 'realized')),
    voting_ends_at    TEXT NOT NULL,
    vetoed_by         TEXT,
    veto_reason       TEXT,
    vetoed_at         TEXT,
    decided_at        TEXT,
    event_id          TEXT,
    created_at        TEXT NOT NULL
) STRICT;

CREATE INDEX event_proposals_status ON event_proposals (status, voting_ends_at);

-- One vote per member and proposal; weight is the tier's at voting time.
CREATE TABLE proposal_votes (
    proposal_id TEXT NOT NULL,
    member_id   TEXT NOT NULL,
    vote        TEXT NOT NULL CHECK (vote IN ('yes', 'no')),
    weight      INTEGER NOT NULL CHECK (weight > 0),
    voted_at    TEXT NOT NULL,
    PRIMARY KEY (proposal_id, member_id)
) STRICT;

CREATE TABLE event_budget_allocations (
    id           TEXT PRIMARY KEY,
    event_id     TEXT NOT NULL,
    amount       INTEGER NOT NULL CHECK (amount > 0),
    allocated_by TEXT NOT NULL,
    created_at   TEXT NOT NULL
) STRICT;
