-- What deliveries say, stored once: a fan-out tells thousands of targets the same thing.
CREATE TABLE payloads (
    hash TEXT PRIMARY KEY,
    body TEXT NOT NULL
);

-- The outbox: every delivery a revision needs, written in the revision's transaction.
CREATE TABLE deliveries (
    id              BIGSERIAL PRIMARY KEY,
    idempotency_key TEXT    NOT NULL UNIQUE,
    revision        BIGINT  NOT NULL REFERENCES revisions (number),
    incident_id     TEXT    NOT NULL,
    channel         TEXT    NOT NULL,
    target          TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    fingerprint     TEXT    NOT NULL,
    payload_hash    TEXT    NOT NULL REFERENCES payloads (hash),
    state           TEXT    NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at DOUBLE PRECISION    NOT NULL,
    claimed_by      TEXT,
    claimed_at      DOUBLE PRECISION,
    lease_until     DOUBLE PRECISION,
    last_error      TEXT,
    created_at      DOUBLE PRECISION    NOT NULL,
    sent_at         DOUBLE PRECISION,
    target_limit    INTEGER,
    target_window   DOUBLE PRECISION
);
-- The queue: what is still to do, per target in order.
CREATE INDEX deliveries_queue ON deliveries (channel, target, id)
    WHERE state IN ('pending', 'sending');
CREATE INDEX deliveries_pending ON deliveries (channel, id) WHERE state = 'pending';
-- Supersession finds the waiting deliveries of an incident and target. (Every index here
-- is paid for by each claim and each outcome: the fan-out bench lost a third of its rate
-- to two that nothing read any more.)
CREATE INDEX deliveries_incident ON deliveries (channel, target, incident_id, state);

-- The ledger: what each channel and target last published, per incident.
CREATE TABLE ledger (
    channel       TEXT    NOT NULL,
    target        TEXT    NOT NULL,
    incident_id   TEXT    NOT NULL,
    revision      BIGINT  NOT NULL,
    fingerprint   TEXT    NOT NULL,
    status        TEXT    NOT NULL,
    payload_hash  TEXT    NOT NULL REFERENCES payloads (hash),
    delivered_at  DOUBLE PRECISION    NOT NULL,
    PRIMARY KEY (channel, target, incident_id)
);

-- Every send attempt, for sliding-window rate limits shared by every instance.
CREATE TABLE send_log (
    channel TEXT NOT NULL,
    target  TEXT NOT NULL,
    at      DOUBLE PRECISION NOT NULL
);
CREATE INDEX send_log_channel ON send_log (channel, at);
CREATE INDEX send_log_target ON send_log (channel, target, at);

-- One row per channel, locked while a channel's deliveries are claimed, so the rate-limit
-- windows are counted by one instance at a time.
CREATE TABLE channel_locks (
    channel TEXT PRIMARY KEY
);
