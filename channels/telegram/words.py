"""The fixed words the staff bot says itself, per locale (English when a locale has none)."""

from __future__ import annotations

WORDS: dict[str, dict[str, str]] = {
    "es": {
        "ack": "Recibido",
        "acked_by": "✅ Recibido por {names}",
        "ack_thanks": "Recibido: gracias.",
        "ack_stale": "Esta alerta está desactualizada: mire la más reciente.",
        "ack_unknown": "Este botón ya no sirve.",
        "stale": "⚠️ DESACTUALIZADA: no siga estas instrucciones; vea la alerta nueva{link}.",
        "repeat": "🔁 Nadie ha confirmado esta alerta. Pulse «Recibido».",
        "escalation": "⏰ Sin confirmar en «{group}» tras {minutes} min. Nadie de ese grupo"
        " ha pulsado «Recibido»:",
        "no_incidents": "No hay incidencias abiertas en sus zonas y servicios.",
        "help": "Soy el bot de alertas de Unavoz.\n/status: incidencias abiertas en sus zonas"
        " y servicios.\nPulse «Recibido» bajo cada alerta para confirmar que la ha leído.",
    },
    "en": {
        "ack": "Acknowledge",
        "acked_by": "✅ Acknowledged by {names}",
        "ack_thanks": "Acknowledged: thank you.",
        "ack_stale": "This alert is out of date: see the newest one.",
        "ack_unknown": "This button no longer works.",
        "stale": "⚠️ OUT OF DATE: do not follow these instructions; see the new alert{link}.",
        "repeat": "🔁 Nobody has acknowledged this alert yet. Press Acknowledge.",
        "escalation": "⏰ Not acknowledged in “{group}” after {minutes} min. Nobody in that"
        " group has pressed Acknowledge:",
        "no_incidents": "No open incidents in your areas and services.",
        "help": "I am Unavoz's alert bot.\n/status: open incidents in your areas and"
        " services.\nPress Acknowledge under each alert to confirm you have read it.",
    },
}


def word(locale: str, key: str, **values: object) -> str:
    text = WORDS.get(locale, WORDS["en"]).get(key) or WORDS["en"][key]
    return text.format(**values) if values else text
