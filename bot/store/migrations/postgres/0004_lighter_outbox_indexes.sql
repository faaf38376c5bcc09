-- Each index a delivery's state change touches is paid on every claim and every outcome,
-- and again in the pages each commit writes. Supersession only ever looks for unfinished
-- deliveries of an incident and target, so that index now holds only those, without the
-- state: a delivery enters it once and leaves once, instead of moving on every change.
DROP INDEX deliveries_incident;
CREATE INDEX deliveries_incident ON deliveries (channel, target, incident_id)
    WHERE state IN ('pending', 'sending');
-- "When is the next retry due" becomes one index probe instead of a walk of the queue.
DROP INDEX deliveries_pending;
CREATE INDEX deliveries_pending ON deliveries (channel, next_attempt_at) WHERE state = 'pending';
