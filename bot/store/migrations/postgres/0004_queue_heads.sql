-- Each target's queue has a head: its oldest unfinished delivery, the only one that may go.
-- Finding the heads by grouping the whole queue on every claim cost a pass over every
-- waiting delivery (16 ms at 50,000 on PostgreSQL, per claim); the head is now marked when
-- it becomes one (enqueued to an idle target, or the one before it finished), and a claim
-- reads the due heads off an index, oldest due first.
ALTER TABLE deliveries ADD COLUMN head BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE deliveries SET head = TRUE WHERE id IN (
    SELECT min(id) FROM deliveries WHERE state IN ('pending', 'sending') GROUP BY channel, target
);
DROP INDEX deliveries_pending;
CREATE INDEX deliveries_heads ON deliveries (channel, next_attempt_at, id)
    WHERE head AND state = 'pending';
-- Each index a delivery's state change touches is paid on every claim and every outcome,
-- and again in the pages each commit writes. Supersession looks for the unfinished
-- deliveries of an incident and target: the queue index (channel, target, id) finds the
-- target's, few since supersession keeps them few, so it needs no index of its own.
DROP INDEX deliveries_incident;
