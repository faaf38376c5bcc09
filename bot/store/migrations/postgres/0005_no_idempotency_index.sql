-- A delivery's idempotency key is worked out from its revision, incident, channel and
-- target. Two deliveries share one only if a plan names a target twice (the planner tells
-- each target once, and `_enqueue` refuses such a plan before writing it) or if callers
-- were queued twice (`queue_callbacks` takes them in one locking statement). The unique
-- index checked it again on every claim and every outcome (each writes a row version, and
-- each version a key to check against the delivery's earlier ones): 2 of the 13 WAL
-- records a delivery cost, and 15% of the server's time in the fan-out bench. (SQLite
-- keeps its index: there, a row changed keeps the entries of the columns that did not.)
ALTER TABLE deliveries DROP CONSTRAINT deliveries_idempotency_key_key;
-- The states a delivery can be in, spelt out: statements may then name the unfinished
-- ones as those not finished.
ALTER TABLE deliveries ADD CONSTRAINT deliveries_state
    CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'superseded'));
