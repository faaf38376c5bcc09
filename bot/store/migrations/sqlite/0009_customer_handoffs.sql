-- The customer bot's hand-offs to a person: one per chat while open, with what was said
-- (by the customer, by the team through the console — with any override of the claims lint
-- and its reason — and by the bot). /forget deletes a chat's rows.
CREATE TABLE customer_handoffs (
    chat_id    TEXT PRIMARY KEY,
    locale     TEXT    NOT NULL,
    places     TEXT    NOT NULL,
    state      TEXT    NOT NULL DEFAULT 'open',
    opened_at  REAL NOT NULL,
    updated_at REAL NOT NULL,
    closed_by  TEXT
);
CREATE INDEX customer_handoffs_state ON customer_handoffs (state, updated_at);
CREATE TABLE customer_handoff_messages (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    chat_id         TEXT    NOT NULL,
    sender          TEXT    NOT NULL,
    author          TEXT,
    text            TEXT    NOT NULL,
    at              REAL NOT NULL,
    reply_key       TEXT,
    override_reason TEXT,
    overridden      TEXT
);
CREATE INDEX customer_handoff_messages_chat ON customer_handoff_messages (chat_id, id)
