-- X: the posts Unavoz made (each incident's thread per locale, and replies to people), the
-- mentions of the account waiting for a community manager, and where mention polling is.
-- A post is recorded under the idempotency key of the delivery that made it, so a delivery
-- tried again (its answer lost, its instance killed) finds it posted instead of posting
-- twice; `thread` is the delivery's target (`post:es:permits-down`, `mention:1860…`).
CREATE TABLE x_posts (
    id              BIGSERIAL PRIMARY KEY,
    idempotency_key TEXT    NOT NULL UNIQUE,
    thread          TEXT    NOT NULL,
    post_id         TEXT    NOT NULL,
    text            TEXT    NOT NULL,
    revision        BIGINT  NOT NULL,
    posted_at       DOUBLE PRECISION NOT NULL
);
CREATE INDEX x_posts_thread ON x_posts (thread, id);
-- Mentions, as matched when they arrived, and what was done with each: replied (by whom,
-- which revision it told, an override of the claims lint and its reason), dismissed, or
-- answered automatically.
CREATE TABLE x_mentions (
    id              BIGSERIAL PRIMARY KEY,
    post_id         TEXT    NOT NULL UNIQUE,
    author_id       TEXT    NOT NULL,
    author_handle   TEXT,
    text            TEXT    NOT NULL,
    locale          TEXT    NOT NULL,
    created_at      DOUBLE PRECISION NOT NULL,
    revision        BIGINT  NOT NULL,
    incident_ids    TEXT    NOT NULL,
    draft           TEXT    NOT NULL,
    state           TEXT    NOT NULL DEFAULT 'new',
    reply_text      TEXT,
    reply_revision  BIGINT,
    reply_key       TEXT,
    handled_by      TEXT,
    handled_at      DOUBLE PRECISION,
    override_reason TEXT,
    overridden      TEXT
);
CREATE INDEX x_mentions_newest ON x_mentions (created_at, id);
-- Small named values: the newest mention read (`since_id`).
CREATE TABLE x_cursor (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
)
