-- Every accepted version of the feed: the audit history.
CREATE TABLE revisions (
    number       INTEGER PRIMARY KEY,
    content_hash TEXT    NOT NULL,
    author       TEXT    NOT NULL,
    source       TEXT    NOT NULL,
    created_at   TEXT    NOT NULL,
    document     TEXT    NOT NULL
);
