-- Callers who pressed 1: called back once when their incident is resolved or its ETA passes.
CREATE TABLE callbacks (
    id          BIGSERIAL PRIMARY KEY,
    phone       TEXT    NOT NULL,
    postcode    TEXT    NOT NULL,
    locale      TEXT    NOT NULL,
    incident_id TEXT    NOT NULL,
    state       TEXT    NOT NULL DEFAULT 'waiting',
    created_at  DOUBLE PRECISION NOT NULL,
    UNIQUE (phone, incident_id)
);
CREATE INDEX callbacks_waiting ON callbacks (incident_id) WHERE state = 'waiting';
