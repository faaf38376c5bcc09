-- Per listener of revisions (the customer bot's notifier of subscribers), the newest
-- revision it has handled: after a restart it goes through every revision recorded since,
-- in order, instead of only the one before the latest.
CREATE TABLE revision_cursors (
    name     TEXT PRIMARY KEY,
    revision INTEGER NOT NULL
);
