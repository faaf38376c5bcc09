"""Prometheus metrics of the process (served at /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

REVISION = Gauge("unavoz_feed_revision", "Number of the feed revision currently told.")
OPEN_INCIDENTS = Gauge(
    "unavoz_open_incidents", "Incidents not yet resolved in the current revision."
)
FEED_REJECTED = Counter(
    "unavoz_feed_rejected_total", "Changes to the feed rejected as invalid.", ["source"]
)
HTTP_REQUESTS = Histogram(
    "unavoz_http_request_seconds",
    "Time to answer HTTP requests.",
    ["route", "method", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
)
DELIVERIES = Counter(
    "unavoz_deliveries_total", "Delivery attempts by outcome.", ["channel", "outcome"]
)
DELIVERY_SECONDS = Histogram(
    "unavoz_delivery_seconds",
    "Time a channel took to accept a delivery.",
    ["channel"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0),
)
SCHEDULER_ROLE = Gauge("unavoz_scheduler_role", "1 when this instance runs the scheduled jobs.")
CHANNEL_STATE = Gauge(
    "unavoz_channel_state", "1 for the channel's current consistency state.", ["channel", "state"]
)
OVERDUE_UPDATES = Gauge(
    "unavoz_overdue_updates", "Open incidents whose promised next update is overdue."
)
INBOUND = Counter(
    "unavoz_inbound_total", "Messages, buttons and mentions received, by channel.", ["channel"]
)
INBOUND_FAILED = Counter(
    "unavoz_inbound_failed_total", "Inbound events whose handler failed.", ["channel"]
)
EDGES_TOLD = Counter(
    "unavoz_time_edges_total", "Time edges told (promises that fell due).", ["edge"]
)
