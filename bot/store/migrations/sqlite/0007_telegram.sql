-- Telegram: what the Bot API needs remembered across restarts and instances.
-- Per bot (its numeric id, never its token): the next getUpdates offset, so a restarted or
-- failed-over poller neither reads an update twice nor skips one.
CREATE TABLE telegram_offsets (
    bot             TEXT    PRIMARY KEY,
    next_update_id  INTEGER NOT NULL
);
-- Every alert message sent to a staff chat: `target` is the chat id the feed names (the
-- delivery's target), `chat_id` where it went (a migrated group has a new id). `kind`:
-- alert (a revision's), repeat (nobody acknowledged), escalation (to another group).
-- `superseded_by`: the message id of the newer alert it was edited to point to.
CREATE TABLE telegram_alerts (
    target        TEXT    NOT NULL,
    message_id    INTEGER NOT NULL,
    chat_id       TEXT    NOT NULL,
    incident_id   TEXT    NOT NULL,
    revision      INTEGER NOT NULL,
    group_id      TEXT    NOT NULL,
    kind          TEXT    NOT NULL CHECK (kind IN ('alert', 'repeat', 'escalation')),
    delivery_key  TEXT    NOT NULL UNIQUE,
    text          TEXT    NOT NULL,
    sent_at       REAL    NOT NULL,
    superseded_by INTEGER,
    PRIMARY KEY (target, message_id)
);
CREATE INDEX telegram_alerts_by_incident ON telegram_alerts (incident_id, target, revision);
-- Who pressed "Acknowledge" under which alert; `stale`: the alert was out of date then.
CREATE TABLE telegram_acks (
    target       TEXT    NOT NULL,
    message_id   INTEGER NOT NULL,
    user_id      TEXT    NOT NULL,
    user_name    TEXT    NOT NULL,
    group_id     TEXT    NOT NULL,
    incident_id  TEXT    NOT NULL,
    revision     INTEGER NOT NULL,
    at           REAL    NOT NULL,
    stale        BOOLEAN NOT NULL,
    PRIMARY KEY (target, message_id, user_id)
);
CREATE INDEX telegram_acks_by_incident ON telegram_acks (incident_id, target, revision);
-- An alert waiting for its acknowledgement: at `due_at` (the channel's clock, epoch
-- seconds) it is repeated (stage 0 → 1), then escalated (1 → 2); 3: acknowledged, out of
-- date or over. Each step is one conditional update with its deliveries: exactly once.
CREATE TABLE telegram_escalations (
    target       TEXT    NOT NULL,
    incident_id  TEXT    NOT NULL,
    revision     INTEGER NOT NULL,
    group_id     TEXT    NOT NULL,
    due_at       REAL    NOT NULL,
    stage        INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (target, incident_id, revision)
);
CREATE INDEX telegram_escalations_due ON telegram_escalations (stage, due_at);
-- Groups that became supergroups: the feed's id, and where their messages go now.
CREATE TABLE telegram_chat_moves (
    target   TEXT PRIMARY KEY,
    moved_to TEXT NOT NULL,
    at       REAL NOT NULL
);
