-- PostgreSQL twin of ../0008_create_support_tables.sql;
-- its comments describe the schema.
-- INTEGER is BIGINT: PostgreSQL's INTEGER is 32 bits, the app binds 64.
-- STRICT has no counterpart: PostgreSQL columns are always typed.

CREATE TABLE support_tickets (
    id                    TEXT PRIMARY KEY,
    member_id             TEXT NOT NULL,
    business_id           TEXT,
    purchase_id           TEXT,
    subject               TEXT NOT NULL,
    status                TEXT NOT NULL CHECK (status IN ('open', 'in_progress', 'resolved', 'closed')),
    priority              TEXT NOT NULL CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    assignee_id           TEXT,
    first_response_due_at TEXT NOT NULL,
    first_response_at     TEXT,
    escalations           BIGINT NOT NULL DEFAULT 0,
    tg_message_id         BIGINT,
    resolved_at           TEXT,
    closed_at             TEXT,
    created_at            TEXT NOT NULL,
    updated_at            TEXT NOT NULL
);

CREATE INDEX support_tickets_member ON support_tickets (member_id, created_at, id);
CREATE INDEX support_tickets_business ON support_tickets (business_id, created_at, id);
CREATE INDEX support_tickets_due ON support_tickets (first_response_due_at) WHERE first_response_at IS NULL;

CREATE TABLE support_messages (
    id          TEXT PRIMARY KEY,
    ticket_id   TEXT NOT NULL,
    author_id   TEXT,
    author_role TEXT NOT NULL CHECK (author_role IN ('member', 'staff', 'admin', 'system')),
    source      TEXT NOT NULL CHECK (source IN ('app', 'telegram')),
    body        TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

CREATE INDEX support_messages_ticket ON support_messages (ticket_id, created_at, id);

CREATE TABLE support_notifications (
    id         TEXT PRIMARY KEY,
    member_id  TEXT NOT NULL,
    ticket_id  TEXT NOT NULL,
    message_id TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE INDEX support_notifications_ticket ON support_notifications (ticket_id, created_at);

CREATE TABLE support_outbox (
    id              TEXT PRIMARY KEY,
    ticket_id       TEXT NOT NULL,
    seq             BIGINT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('ticket', 'message', 'status', 'escalation', 'dispute')),
    parts           TEXT NOT NULL,
    with_buttons    BIGINT NOT NULL DEFAULT 0,
    parts_sent      BIGINT NOT NULL DEFAULT 0,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    lease_until     TEXT,
    message_id      BIGINT,
    last_error      TEXT,
    created_at      TEXT NOT NULL,
    sent_at         TEXT,
    UNIQUE (ticket_id, seq)
);

CREATE INDEX support_outbox_due ON support_outbox (status, next_attempt_at);

CREATE TABLE support_tg_messages (
    chat_id    TEXT NOT NULL,
    message_id BIGINT NOT NULL,
    ticket_id  TEXT NOT NULL,
    PRIMARY KEY (chat_id, message_id)
);

-- Plain keys, not identities: the app always supplies Telegram's ids.
CREATE TABLE support_tg_updates (
    update_id   BIGINT PRIMARY KEY,
    outcome     TEXT NOT NULL,
    ticket_id   TEXT,
    received_at TEXT NOT NULL
);

CREATE TABLE support_agents (
    telegram_user_id BIGINT PRIMARY KEY,
    member_id        TEXT NOT NULL,
    created_at       TEXT NOT NULL
);

CREATE TABLE support_disputes (
    id              TEXT PRIMARY KEY,
    member_id       TEXT NOT NULL,
    business_id     TEXT NOT NULL,
    purchase_id     TEXT NOT NULL,
    ticket_id       TEXT NOT NULL,
    reason          TEXT NOT NULL,
    requested       TEXT NOT NULL CHECK (requested IN ('compensation', 'refund', 'redo')),
    amount          BIGINT CHECK (amount IS NULL OR amount > 0),
    status          TEXT NOT NULL CHECK (status IN ('open', 'accepted', 'rejected')),
    note            TEXT,
    points          BIGINT,
    compensation_id TEXT,
    refund_amount   BIGINT,
    decided_by      TEXT,
    decided_role    TEXT,
    decided_at      TEXT,
    created_at      TEXT NOT NULL
);

CREATE INDEX support_disputes_purchase ON support_disputes (purchase_id, status);

CREATE TABLE faq_entries (
    id          TEXT PRIMARY KEY,
    question    TEXT NOT NULL,
    answer      TEXT NOT NULL,
    search_text TEXT NOT NULL,
    position    BIGINT NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
