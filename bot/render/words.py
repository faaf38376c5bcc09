"""The few fixed words Unavoz says itself, per built-in locale (templates hold the rest)."""

from __future__ import annotations

from bot.feed.models import Status

STATUS_LABELS: dict[str, dict[Status, str]] = {
    "es": {
        Status.SCHEDULED: "programado",
        Status.INVESTIGATING: "investigando",
        Status.IDENTIFIED: "causa identificada",
        Status.IN_PROGRESS: "en curso",
        Status.MONITORING: "en observación",
        Status.RESOLVED: "resuelto",
    },
    "en": {
        Status.SCHEDULED: "scheduled",
        Status.INVESTIGATING: "investigating",
        Status.IDENTIFIED: "cause identified",
        Status.IN_PROGRESS: "in progress",
        Status.MONITORING: "monitoring",
        Status.RESOLVED: "resolved",
    },
}

# Relative day names and the joiner before a time ("hoy a las 14:30", "today at 2:30 PM").
TODAY = {"es": "hoy", "en": "today"}
TOMORROW = {"es": "mañana", "en": "tomorrow"}
YESTERDAY = {"es": "ayer", "en": "yesterday"}
AT_TIME = {"es": "a las", "en": "at"}
AT_ONE = {"es": "a la", "en": "at"}  # "a la 1:30"
NO_ETA = {
    "es": "aún no tenemos una hora estimada de solución",
    "en": "we do not have an estimated fix time yet",
}
WEBSITE = {"es": "nuestra web", "en": "our website"}
AND = {"es": "y", "en": "and"}
MORE = {"es": "{n} zonas más", "en": "{n} more areas"}

FALLBACK_LOCALE = "en"


def word(table: dict[str, str], locale: str) -> str:
    return table.get(locale) or table[FALLBACK_LOCALE]


def status_label(status: Status, locale: str) -> str:
    labels = STATUS_LABELS.get(locale) or STATUS_LABELS[FALLBACK_LOCALE]
    return labels[status]
