"""The words around a time that say what the time is about: the fix (ETA), the next update,
a desk's opening hours, or the past ("since 8:00").

A time belongs to the nearest cue in its sentence; with none, a time still to come
in a reply about an incident is read as an ETA, as a customer would read it.
"""

from __future__ import annotations

import re
from typing import Literal

Topic = Literal["eta", "next_update", "hours", "past"]

_TOPICS: dict[Topic, re.Pattern[str]] = {
    "next_update": re.compile(
        r"\b(?:actualiz\w*|updat\w*|informa(?:mos|remos|re|rte|ros|rle|ndo)?|te\s+informo"
        r"|avis\w*|novedad\w*|noticias|news|let\s+(?:you|u)\s+know|get\s+back|keep\s+(?:you|u)"
        r"\s+posted|(?:te|os|le)\s+(?:contamos|cuento|decimos|digo|escribo|escribimos|llamamos"
        r"|llamaremos|llamo|comentamos)|decimos\s+algo|write\s+(?:to\s+you|back)|report\s+back"
        r"|(?:we|i)(?:'ll|\s+will)\s+(?:call|write|message|text)|call\s+you\s+back|check\s+in"
        r"|more\s+info|mas\s+info|confirm\w*|next\s+update|proxima\s+(?:actualizacion|info\w*)"
        r"|siguiente\s+(?:actualizacion|aviso)|seguimiento|follow[\s-]?up)"
    ),
    "hours": re.compile(
        r"\b(?:oficinas?|offices?|abr(?:e|en|imos|iremos)|abiert[oa]s?|opens?|opening|open\w*"
        r"|cierr\w*|cerr\w*|clos\w*|horarios?|hours|atencion|atend\w*|atiend\w*|llam(?:a|anos|ar|e|en)\b"
        r"|call|ring\s+us|phone\s+line|telefono|tlf|lines?|lineas?"
        r"|mostrador|desk|tiendas?|shops?|stores?|de\s+lunes|monday|weekdays|entre\s+semana"
        r"|24/7|24\s*h(?:oras)?\b|staffed|atendid\w*|disponibles?\s+de)"
    ),
    "past": re.compile(
        r"\b(?:desde|since|hace|ago|soluciono|arreglo|resolvio|reparo|volvio|empez\w*|comenz\w*|started|start|began|begun|cayo|se\s+cayo"
        r"|ayer|yesterday|was|were|fue|happened|ocurri\w*|went\s+down|broke|rompi\w*|llevamos"
        r"|been|detectamos|detected|ha\s+caido|han\s+caido|noticed|first\s+reported)\b"
    ),
    "eta": re.compile(
        r"\b(?:arregl\w*|solucion\w*|resuel\w*|resolv\w*|repar\w*|restablec\w*|restaur\w*"
        r"|funcion\w*|vuelv\w*|volver\w*|vuelta|operativ\w*|listo|lista|disponible|estara\w*"
        r"|esperamos|espera\w*|prev\w*|calcul\w*|estimad\w*|eta|fix\w*|back|restor\w*|working"
        r"|works?|up\s+and\s+running|online|available|expect\w*|should|sorted|running|done"
        r"|ready|normal\w*|solved|recuper\w*|reconect\w*|tendr\w*|tienes|tendras|have\s+it"
        r"|will|'ll|be\s+up|up\s+again|termin\w*|acab\w*|finish\w*|ends?|hasta)\b"
    ),
}
# When two cues are as near, the more specific one wins.
_ORDER: tuple[Topic, ...] = ("next_update", "hours", "past", "eta")


def topic_of(folded: str, sentence: tuple[int, int], start: int, end: int) -> Topic | None:
    """The cue nearest to the time at [start, end) within its sentence, if any."""
    first, last = sentence
    best: tuple[int, int, Topic] | None = None
    for rank, topic in enumerate(_ORDER):
        for match in _TOPICS[topic].finditer(folded, first, last):
            if match.start() < end and match.end() > start:
                continue  # the time's own words ("this evening") are not its cue
            distance = start - match.end() if match.end() <= start else match.start() - end
            key = (distance, rank, topic)
            if best is None or key[:2] < best[:2]:
                best = key
    return best[2] if best else None


_UNAFFECTED = re.compile(
    r"\b(?:no\s+(?:te\s+|le\s+|os\s+|les\s+|nos\s+)?(?:afecta\w*|incluye|entra)|no\s+(?:esta|estan"
    r"|es|son)\s+(?:afectad\w*|incluid\w*|en\s+la\s+zona|dentro|parte|de\s+la\s+zona)"
    r"|no\s+(?:hay|tenemos|consta\w*|vemos|existe|registramos|aparece)\s+(?:ningun\w*\s+|nada\s+)?"
    r"(?:problema\w*|incidencia\w*|averia\w*|corte\w*|afectacion\w*|caida\w*|fallo\w*|incidente\w*"
    r"|nada)|sin\s+(?:incidencias|problemas|afectacion|cortes)|fuera\s+de|nada\s+que\s+ver"
    r"|funciona\w*\s+(?:bien|con\s+normalidad|correctamente|sin\s+problemas|perfectamente|ok)"
    r"|(?:va|van|esta|estan)\s+bien|not\s+(?:affected|impacted|included|part\s+of|in)|unaffected"
    r"|(?:is|are)n'?t\s+(?:affected|impacted|included|part\s+of|in)|(?:does|do)(?:\s+not|n'?t)"
    r"\s+(?:affect|cover|include)|outside|no\s+(?:issues?|problems?|outages?|incidents?|faults?)"
    r"|(?:works|working|is|are)\s+(?:fine|normally|ok)|nothing\s+(?:wrong|reported)"
    r"|not\s+(?:your|ur)|no\s+es\s+(?:tu|en\s+tu)|unrelated)"
)
_AFFECTED = re.compile(
    r"\b(?:afect\w*|caid\w*|sin\s+(?:servicio|fibra|conexion|internet|sistema|acceso)"
    r"|no\s+funciona\w*|no\s+va\b|problema\w*|incidencia\w*|averia\w*|cortes?|fallo\w*|falla\w*"
    r"|down|outages?|affect\w*|issues?|problems?|disrupt\w*|no\s+(?:service|fibre|fiber"
    r"|connection|internet)|not\s+working|broken|impact\w*|interrup\w*|mantenimiento|maintenance"
    r"|solo|solamente|unicamente|only|just|tambien|also|too|incluid\w*|includ\w*|covers?"
    r"|volver\w*|vuelv\w*|arregl\w*|fix\w*|restablec\w*|repar\w*|solucion\w*|working\s+on"
    r"|trabajando|hit|zona\s+afectada|affected\s+area)\b"
)


def place_polarity(folded: str, sentence: tuple[int, int], start: int, end: int) -> bool | None:
    """True if the sentence says the place at [start, end) is affected, False if it says it
    is not, None if it says neither (a place named in passing)."""
    first, last = sentence
    best: tuple[int, int, bool] | None = None
    negatives = [m.span() for m in _UNAFFECTED.finditer(folded, first, last)]
    for rank, (spans, affected) in enumerate(
        ((negatives, False), (_positive_spans(folded, first, last, negatives), True))
    ):
        for cue_start, cue_end in spans:
            if cue_start < end and cue_end > start:
                continue
            distance = start - cue_end if cue_end <= start else cue_start - end
            if best is None or (distance, rank) < best[:2]:
                best = (distance, rank, affected)
    return None if best is None else best[2]


def _positive_spans(
    folded: str, first: int, last: int, negatives: list[tuple[int, int]]
) -> list[tuple[int, int]]:
    return [
        m.span()
        for m in _AFFECTED.finditer(folded, first, last)
        if not any(s <= m.start() < e for s, e in negatives)
    ]
