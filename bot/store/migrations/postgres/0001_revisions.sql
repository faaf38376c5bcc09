-- Every accepted version of the feed: the audit history.
CREATE TABLE revisions (
    number       BIGINT      PRIMARY KEY,
    content_hash TEXT        NOT NULL,
    author       TEXT        NOT NULL,
    source       TEXT        NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    document     TEXT        NOT NULL
);
