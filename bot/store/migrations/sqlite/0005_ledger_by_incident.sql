-- The ledger keyed by channel, incident, then target (it was channel, target, incident).
-- A fan-out tells one incident to many targets, and a worker records a batch of it in one
-- transaction: keyed by target first, each row of the batch landed on an index page of its
-- own, and writing those pages back was a third of every commit (in the fan-out bench,
-- 8.5 µs a delivery with the old key, 5.7 with this one). Every lookup names all three.
CREATE TABLE ledger_by_incident (
    channel       TEXT    NOT NULL,
    target        TEXT    NOT NULL,
    incident_id   TEXT    NOT NULL,
    revision      INTEGER NOT NULL,
    fingerprint   TEXT    NOT NULL,
    status        TEXT    NOT NULL,
    payload_hash  TEXT    NOT NULL REFERENCES payloads (hash),
    delivered_at  REAL    NOT NULL,
    PRIMARY KEY (channel, incident_id, target)
);
INSERT INTO ledger_by_incident (channel, target, incident_id, revision, fingerprint, status,
    payload_hash, delivered_at)
    SELECT channel, target, incident_id, revision, fingerprint, status, payload_hash,
        delivered_at FROM ledger;
DROP TABLE ledger;
ALTER TABLE ledger_by_incident RENAME TO ledger;
