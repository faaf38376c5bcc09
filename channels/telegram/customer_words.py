"""The fixed words the customer bot says itself, per locale (English when a locale has none)."""

from __future__ import annotations

WORDS: dict[str, dict[str, str]] = {
    "es": {
        "start": "Hola{name}. Soy el asistente de estado de {org}.\n{help}",
        "help": "Escríbame un código postal (28012), un barrio o un servicio («fibra»,"
        " «permisos») y le digo si hay algún problema, cuándo se espera que se arregle y"
        " qué puede hacer mientras.\n"
        "/subscribe 28012 — avisarle de cada cambio allí\n"
        "/unsubscribe — dejar de recibir avisos\n"
        "/mysubscriptions — sus avisos\n"
        "/human — hablar con una persona\n"
        "/language — English / español\n"
        "/forget — borrar todo lo que sabemos de este chat",
        "nothing_known": "No hay problemas conocidos en {place} (comprobado a las {time})."
        "\nEstado de todos los servicios: {url}",
        "unknown_postcode": "No conozco el código postal {postcode}. Pruebe con otro código,"
        " un barrio o un servicio.",
        "not_understood": "No he entendido qué zona o servicio le interesa. Escríbame un código"
        " postal (28012), un barrio o un servicio.",
        "choose": "¿A cuál se refiere?",
        "notify_me": "🔔 Avisarme",
        "subscribed": "🔔 Le avisaré de cada cambio en {place}. /unsubscribe para dejarlo.",
        "subscribe_what": "¿De qué zona o servicio quiere avisos? Por ejemplo: /subscribe 28012",
        "unsubscribed": "No recibirá más avisos de {place}.",
        "unsubscribed_all": "No recibirá más avisos.",
        "no_subscriptions": "No tiene avisos activos. /subscribe 28012 para recibirlos.",
        "subscriptions": "Le aviso de cambios en: {places}.",
        "forgotten": "He borrado todo lo que sabía de este chat (avisos, idioma, conversación).",
        "language_pick": "Elija idioma / Choose a language:",
        "language_set": "A partir de ahora le hablo en español.",
        "human": "Para hablar con una persona: {phone} ({hours}). {open}\nHe pasado también"
        " su conversación a nuestro equipo: le responderán aquí.",
        "open_now": "Ahora está abierto.",
        "closed_now": "Ahora está cerrado.",
        "handoff_noted": "Lo he pasado a nuestro equipo; le responderán aquí.",
        "slow_down": "Recibo demasiados mensajes seguidos; espere un minuto, por favor.",
        "update": "🔔 Actualización",
        "fixed": "✅ Solucionado",
        "new": "⚠️ Nuevo aviso",
        "from_team": "👤 Nuestro equipo:",
    },
    "en": {
        "start": "Hello{name}. I am {org}'s status assistant.\n{help}",
        "help": "Send me a postcode (28012), a neighbourhood or a service (“fibre”, “permits”)"
        " and I will tell you whether anything is wrong there, when it should be fixed and what"
        " you can do meanwhile.\n"
        "/subscribe 28012 — be told of every change there\n"
        "/unsubscribe — stop the notifications\n"
        "/mysubscriptions — your notifications\n"
        "/human — talk to a person\n"
        "/language — English / español\n"
        "/forget — delete everything we know about this chat",
        "nothing_known": "No known problems in {place} (checked at {time}).\n"
        "Status of every service: {url}",
        "unknown_postcode": "I do not know the postcode {postcode}. Try another postcode, a"
        " neighbourhood or a service.",
        "not_understood": "I did not catch which area or service you mean. Send me a postcode"
        " (28012), a neighbourhood or a service.",
        "choose": "Which one do you mean?",
        "notify_me": "🔔 Notify me",
        "subscribed": "🔔 I will tell you of every change in {place}. /unsubscribe to stop.",
        "subscribe_what": "Which area or service do you want to hear about? For example:"
        " /subscribe 28012",
        "unsubscribed": "No more notifications about {place}.",
        "unsubscribed_all": "No more notifications.",
        "no_subscriptions": "You have no notifications. /subscribe 28012 to get them.",
        "subscriptions": "I tell you of changes in: {places}.",
        "forgotten": "I deleted everything I knew about this chat (notifications, language,"
        " conversation).",
        "language_pick": "Elija idioma / Choose a language:",
        "language_set": "I will speak English from now on.",
        "human": "To talk to a person: {phone} ({hours}). {open}\nI have also passed your"
        " conversation to our team: they will answer you here.",
        "open_now": "It is open now.",
        "closed_now": "It is closed now.",
        "handoff_noted": "I passed it to our team; they will answer you here.",
        "slow_down": "I am getting too many messages at once; please wait a minute.",
        "update": "🔔 Update",
        "fixed": "✅ Fixed",
        "new": "⚠️ New notice",
        "from_team": "👤 Our team:",
    },
}


def word(locale: str, key: str, **values: object) -> str:
    text = WORDS.get(locale, WORDS["en"]).get(key) or WORDS["en"][key]
    return text.format(**values) if values else text
