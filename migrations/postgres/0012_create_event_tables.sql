-- PostgreSQL twin of ../0012_create_event_tables.sql;
-- its comments describe the schema.
-- INTEGER is BIGINT: PostgreSQL's INTEGER is 32 bits, the app binds 64.
-- STRICT has no counterpart: PostgreSQL columns are always typed.

CREATE TABLE events (
    id               TEXT PRIMARY KEY,
    business_id      TEXT NOT NULL,
    title            TEXT NOT NULL,
    description      TEXT NOT NULL,
    full_description TEXT,
    type             TEXT NOT NULL,
    format           TEXT NOT NULL CHECK (format IN ('free', 'paid', 'closed')),
    price            BIGINT NOT NULL CHECK (price >= 0),
    starts_at        TEXT NOT NULL,
    ends_at          TEXT NOT NULL,
    address          TEXT,
    capacity         BIGINT NOT NULL CHECK (capacity > 0),
    seats_taken      BIGINT NOT NULL DEFAULT 0 CHECK (seats_taken >= 0 AND seats_taken <= capacity),
    next_queue_no    BIGINT NOT NULL DEFAULT 1,
    min_tier         TEXT NOT NULL,
    plus_one_allowed BIGINT NOT NULL CHECK (plus_one_allowed IN (0, 1)),
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
);

CREATE INDEX events_starts ON events (starts_at, id);

CREATE TABLE event_registrations (
    id                   TEXT PRIMARY KEY,
    event_id             TEXT NOT NULL,
    member_id            TEXT NOT NULL,
    status               TEXT NOT NULL CHECK (status IN ('invited', 'confirmed', 'pending_payment', 'waitlist', 'attended', 'cancelled', 'expired')),
    seats                BIGINT NOT NULL CHECK (seats IN (1, 2)),
    dietary_restrictions TEXT,
    queue_no             BIGINT,
    hold_expires_at      TEXT,
    paid_amount          BIGINT NOT NULL DEFAULT 0,
    payment_id           TEXT,
    refund_due           BIGINT NOT NULL DEFAULT 0,
    refunded_amount      BIGINT NOT NULL DEFAULT 0,
    checked_in_at        TEXT,
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL,
    UNIQUE (event_id, member_id)
);

CREATE INDEX event_registrations_member ON event_registrations (member_id, status);
CREATE INDEX event_registrations_holds ON event_registrations (hold_expires_at) WHERE status = 'pending_payment';
CREATE INDEX event_registrations_queue ON event_registrations (event_id, queue_no) WHERE status = 'waitlist';

CREATE TABLE event_proposals (
    id                TEXT PRIMARY KEY,
    member_id         TEXT NOT NULL,
    title             TEXT NOT NULL,
    description       TEXT NOT NULL,
    type              TEXT NOT NULL,
    preferred_date    TEXT NOT NULL,
    business_id       TEXT,
    budget_per_person BIGINT NOT NULL CHECK (budget_per_person >= 0),
    capacity          BIGINT NOT NULL CHECK (capacity > 0),
    program           TEXT NOT NULL DEFAULT '[]',
    status            TEXT NOT NULL CHECK (status IN ('voting', 'approved', 'rejected', 'realized')),
    voting_ends_at    TEXT NOT NULL,
    vetoed_by         TEXT,
    veto_reason       TEXT,
    vetoed_at         TEXT,
    decided_at        TEXT,
    event_id          TEXT,
    created_at        TEXT NOT NULL
);

CREATE INDEX event_proposals_status ON event_proposals (status, voting_ends_at);

CREATE TABLE proposal_votes (
    proposal_id TEXT NOT NULL,
    member_id   TEXT NOT NULL,
    vote        TEXT NOT NULL CHECK (vote IN ('yes', 'no')),
    weight      BIGINT NOT NULL CHECK (weight > 0),
    voted_at    TEXT NOT NULL,
    PRIMARY KEY (proposal_id, member_id)
);

CREATE TABLE event_budget_allocations (
    id           TEXT PRIMARY KEY,
    event_id     TEXT NOT NULL,
    amount       BIGINT NOT NULL CHECK (amount > 0),
    allocated_by TEXT NOT NULL,
    created_at   TEXT NOT NULL
);
