"""What a reply says about the state of an incident: fixed, still down, planned or not.

A state word only counts as a claim when it is asserted now: "no está solucionado",
"cuando esté arreglado", "should be fixed by 6" and "is it working now?" are not
claims that it is fixed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

StateClaim = Literal["fixed", "down", "planned", "unplanned"]

_FIXED = re.compile(
    r"\b(?:"
    r"(?:ya\s+)?(?:esta|estan|quedo|ha\s+quedado|queda)?\s*(?:arreglad|solucionad|resuelt"
    r"|reparad|restablecid|restaurad|recuperad)[oa]s?"
    r"|ya\s+(?:funciona\w*|va\b|van\b|esta\b(?!\s+(?:caid|fuera|sin|en\s+marcha\s+el))"
    r"|estan\b|hay\s+(?:servicio|conexion|fibra|internet|linea)|tienes?\s+(?:servicio|conexion"
    r"|fibra|internet)|puedes|se\s+puede|furula|rula|operativ\w*)"
    r"|(?:vuelve|ha\s+vuelto|volvio|vuelven|han\s+vuelto)\s+a\s+funcionar"
    r"|funciona\w*\s+(?:de\s+nuevo|otra\s+vez|con\s+normalidad|correctamente|ok\b|perfect\w*)"
    r"|(?:ha|han)\s+vuelto|volvio|de\s+vuelta|normalidad|todo\s+(?:ok|bien|correcto|en\s+orden"
    r"|normal|listo|arreglado|solucionado)|(?:esta|estan)\s+operativ\w*|operativ[oa]\s+de\s+nuevo"
    r"|fixed|resolved|restored|sorted(?:\s+out)?|solved|repaired"
    r"|back\s+(?:to\s+normal|up|online|on\b|in\s+service)|(?:is|are|'s|s)\s+back\b"
    r"|working\s+(?:again|now|fine|normally|properly)|works?\s+(?:again|now|fine|normally)"
    r"|up\s+and\s+running|all\s+(?:good|clear|sorted|fixed|set)|everything(?:'s|\s+is)\s+(?:ok"
    r"|fine|working|back)|now\s+working|no\s+longer\s+(?:down|an\s+issue|a\s+problem)"
    r"|should\s+work\s+now|is\s+live\s+again"
    r")"
)
_DOWN = re.compile(
    r"\b(?:"
    r"seguimos\s+(?:trabajando|investigando|con\s+(?:el|la)|sin)|(?:sigue|siguen|continua\w*)"
    r"\s+(?:caid\w*|sin|fallando|con\s+(?:problemas|el\s+problema|la\s+incidencia|la\s+averia"
    r"|incidencias)|sin\s+funcionar|la\s+incidencia|la\s+averia|el\s+(?:fallo|problema|corte))"
    r"|(?:todavia|aun)\s+(?:no\s+(?:funciona|va|esta\s+(?:arreglad|solucionad|resuelt)\w*)|sin"
    r"|caid\w*|hay\s+(?:problemas|fallos|incidencia))|estamos\s+(?:trabajando|investigando"
    r"|en\s+ello|revisando)|(?:esta|estan)\s+caid[oa]s?|no\s+funciona\w*|sin\s+servicio"
    r"|still\s+(?:down|broken|not\s+working|out|failing|an\s+issue|investigating|working\s+on"
    r"|having|affected|no)|(?:is|are|'s)\s+(?:still\s+)?down\b|not\s+(?:yet\s+)?(?:fixed|working"
    r"|resolved|back|restored)|isn'?t\s+(?:fixed|working|back)|working\s+on\s+(?:it|the|a)"
    r"|we(?:'re|\s+are)\s+(?:working|investigating|looking\s+into)|outage\s+(?:is\s+)?ongoing"
    r"|ongoing"
    r")"
)
_PLANNED = re.compile(
    r"\b(?:(?:un|el|por|de|en|del)\s+)?(?:mantenimiento|manteni?miento)(?:\s+programado)?"
    r"|\btrabajos\s+programados|\bparada\s+programada|\bcorte\s+programado|\bactualizacion"
    r"\s+programada|\b(?:scheduled|planned)\s+(?:maintenance|works?|outage|downtime|upgrade|stop)"
    r"|\bmaintenance\b|\bplanned\s+works\b"
)
_UNPLANNED = re.compile(
    r"\b(?:averia|fallo|caida\s+(?:inesperada|imprevista)|imprevist\w*|inesperad\w*"
    r"|se\s+ha\s+caido|se\s+cayo|ha\s+fallado|outage|failure|fault|broke(?:n)?|crash\w*"
    r"|unexpected|unplanned|bug|went\s+down|glitch)\b"
)
CLAUSE_BREAK = re.compile(r"[,;:]|\b(?:y\s+ya|pero|aunque|but|and\s+(?:it|now|already))\b")
_NEGATED = re.compile(
    r"(?:\b(?:no|not|nor|ni|nunca|never|sin|isn'?t|aren'?t|hasn'?t|haven'?t|wasn'?t|won'?t"
    r"|todavia\s+no|aun\s+no|ya\s+no|no\s+longer|not\s+yet)|n't)(?:\s+\w+){0,2}\s*$"
)
_NOT_NOW = re.compile(
    r"\b(?:cuando|en\s+cuanto|una\s+vez|hasta\s+que|si(?!,)|once|when|until|as\s+soon\s+as|if|till"
    r"|antes\s+de\s+que|para\s+que|esperamos|espero|hopefully|hope|expect\w*|prevemos|calculamos"
    r"|deberia\w*|should|will|'ll|going\s+to|gonna|estara\w*|quedara\w*|volvera\w*|sera\w*"
    r"|tendr\w*|estimad\w*|previst\w*|va\s+a|van\s+a|vamos\s+a|eta|trabajando\s+para"
    r"|working\s+to|para\s+tenerlo|get\s+it|in\s+order\s+to|was|were|estaba|estuvo|hubo"
    r"|had\s+been|had|para|might|may|could|podria\w*|puede\s+que|quizas?|maybe|ojala"
    r"|asegur\w*\s+(?:de\s+)?que|check|comprueb\w*|confirm\w*|avisa\w*|let\s+(?:us|me)\s+know)\b"
    r"(?:\s+\S+){0,5}\s*$"
)
_PAST_DOWN = re.compile(r"\b(?:was|were|estuvo|estaba|hubo|had\s+been|ya\s+no|no\s+longer)\b\s*$")


@dataclass(frozen=True, slots=True)
class StateMention:
    start: int
    end: int
    claim: StateClaim


def find_states(folded: str, sentences: tuple[tuple[int, int], ...]) -> list[StateMention]:
    out: list[StateMention] = []
    for first, last in sentences:
        if _is_question(folded, first, last):
            continue
        out.extend(_in_sentence(folded, first, last))
    return out


def _is_question(folded: str, first: int, last: int) -> bool:
    after = folded[last : last + 2]
    return "?" in after or folded[max(0, first - 2) : first].strip() == "¿"


def _in_sentence(folded: str, first: int, last: int) -> list[StateMention]:
    out: list[StateMention] = []
    for match in _FIXED.finditer(folded, first, last):
        before = _clause_before(folded, max(first, match.start() - 40), match.start())
        if _NEGATED.search(before) or _NOT_NOW.search(before) or _is_negated_inside(match[0]):
            continue
        out.append(StateMention(*_trimmed(folded, match), "fixed"))
    for match in _DOWN.finditer(folded, first, last):
        before = folded[max(first, match.start() - 20) : match.start()]
        if _PAST_DOWN.search(before) or re.search(r"\b(?:ya\s+no|no\s+longer)\s*$", before):
            continue
        out.append(StateMention(*_trimmed(folded, match), "down"))
    planned = list(_PLANNED.finditer(folded, first, last))
    for match in planned:
        before = folded[max(first, match.start() - 25) : match.start()]
        if not _NEGATED.search(before):
            out.append(StateMention(*_trimmed(folded, match), "planned"))
    for match in _UNPLANNED.finditer(folded, first, last):
        overlaps = any(p.start() < match.end() and match.start() < p.end() for p in planned)
        before = folded[max(first, match.start() - 25) : match.start()]
        if not overlaps and not _NEGATED.search(before):
            out.append(StateMention(match.start(), match.end(), "unplanned"))
    return out


def _clause_before(folded: str, start: int, end: int) -> str:
    """The words before `end` back to `start`, cut at the last clause break: "tendremos
    arreglado a las 20:00 y ya funciona" — the future of the first clause is not the second's."""
    before = folded[start:end]
    breaks = list(CLAUSE_BREAK.finditer(before))
    return before[breaks[-1].start() :] if breaks else before


def _is_negated_inside(words: str) -> bool:
    return bool(re.search(r"\b(?:no|not)\b", words))


def _trimmed(folded: str, match: re.Match[str]) -> tuple[int, int]:
    start = match.start()
    while start < match.end() and folded[start].isspace():
        start += 1
    return start, match.end()
