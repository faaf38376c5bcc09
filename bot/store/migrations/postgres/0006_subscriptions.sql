-- Subscriptions: who asked to be told, on which channel (phone, Telegram…), about which
-- places, in which language. They generalise the phone's callbacks (a caller who pressed 1
-- is a subscription of the phone channel to their postcode, asking about the incidents
-- found there). The callbacks are moved here and their table dropped: kept, it would be a
-- second copy of the callers' numbers that nothing reads and /forget would not delete.
-- (A release from before this migration cannot run on the database after it.)
CREATE TABLE subscriptions (
    id                     BIGSERIAL PRIMARY KEY,
    channel                TEXT    NOT NULL,
    address                TEXT    NOT NULL,
    locale                 TEXT    NOT NULL,
    created_at             DOUBLE PRECISION NOT NULL,
    last_notified_revision BIGINT,
    UNIQUE (channel, address)
);
-- A subscription's places, `kind:value`. The channel is repeated here so one index finds
-- a channel's subscribers of a place (and counts them) without reading the subscriptions.
CREATE TABLE subscription_places (
    subscription_id BIGINT  NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
    channel         TEXT    NOT NULL,
    place           TEXT    NOT NULL CHECK (place LIKE 'area:_%' OR place LIKE 'postcode:_%'
        OR place LIKE 'service:_%'),
    PRIMARY KEY (subscription_id, place)
);
CREATE INDEX subscription_places_by_place ON subscription_places (channel, place, subscription_id);
-- Per subscription and incident: asked about by name, and the latest revision told of it
-- (NULL: not told yet). Kept per incident, not per subscription: two incidents changing in
-- one revision are two things to tell.
CREATE TABLE subscription_notices (
    subscription_id BIGINT  NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
    incident_id     TEXT    NOT NULL,
    asked           BOOLEAN NOT NULL DEFAULT FALSE,
    revision        BIGINT,
    PRIMARY KEY (subscription_id, incident_id)
);
CREATE INDEX subscription_notices_asked ON subscription_notices (incident_id) WHERE asked;

-- One subscription per caller, in the language of their latest call.
INSERT INTO subscriptions (channel, address, locale, created_at)
    SELECT 'phone', g.phone,
        (SELECT c.locale FROM callbacks c WHERE c.phone = g.phone ORDER BY c.id DESC LIMIT 1),
        min(g.created_at)
    FROM callbacks g GROUP BY g.phone ORDER BY min(g.id);
INSERT INTO subscription_places (subscription_id, channel, place)
    SELECT DISTINCT s.id, 'phone', 'postcode:' || c.postcode
    FROM callbacks c JOIN subscriptions s ON s.channel = 'phone' AND s.address = c.phone
    WHERE c.postcode <> '';
-- A callback queued was told at the revision the phone's ledger shows for it, or (its
-- call not made yet) at one no later than the latest: what matters is that it is told.
INSERT INTO subscription_notices (subscription_id, incident_id, asked, revision)
    SELECT s.id, c.incident_id, TRUE, CASE WHEN c.state = 'waiting' THEN NULL ELSE COALESCE(
        (SELECT l.revision FROM ledger l WHERE l.channel = 'phone' AND l.target = c.phone
            AND l.incident_id = c.incident_id),
        (SELECT max(r.number) FROM revisions r), 0) END
    FROM callbacks c JOIN subscriptions s ON s.channel = 'phone' AND s.address = c.phone;
UPDATE subscriptions SET last_notified_revision = (SELECT max(n.revision)
    FROM subscription_notices n WHERE n.subscription_id = subscriptions.id);
DROP TABLE callbacks;
