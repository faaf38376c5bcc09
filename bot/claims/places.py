"""Areas, postcodes and services a reply names, found against the feed's own names.

Built once per feed (`PlaceIndex.build`), then each reply is a walk over its
words: exact names first, then rapidfuzz for typos ("Chamberi", "Fuencaral").
Area names that are also everyday words ("centro", "sol", "cortes" — cuts) only
count when written as a name: capitalised, or after "distrito"/"barrio".
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from bot.claims.text import fold, word_set
from bot.feed.lookup import normalize_postcode
from bot.feed.models import Feed

_WORD = re.compile(r"[a-zñ0-9]+")
_POSTCODE = re.compile(r"(?<![\d+.,:/])\d{5}(?![\d/]|[:.,]\d)")
_YOURS = re.compile(
    r"\b(?:tu|su|vuestra|vuestro|your|ur|yr)\s+(?:zona|barrio|area|distrito|district|cp|c\.p\."
    r"|codigo\s+postal|postcode|post\s+code|zip(?:\s+code)?|calle|street|direccion|address"
    r"|neighbou?rhood|localidad|domicilio)\b|\bdonde\s+(?:vives|estas|resides)\b"
    r"|\bwhere\s+you\s+(?:live|are)\b"
)
_NAME_PREFIX = re.compile(r"(?:distrito|barrio|zona|district|area|neighbou?rhood)\s*$")
_NAME_SUFFIX = re.compile(r"^\s*(?:district|area|neighbou?rhood)\b")
# Words in area names that say what kind of place it is, not which.
_GENERIC_PLACE = word_set("distrito district barrio zona area de del la el the")
# Names that are everyday words too: they need to look like a name to count.
_EVERYDAY = word_set(
    "centro center centre sol norte north sur south este east oeste west cortes palacio "
    "universidad justicia puerta plaza parque rio valle puerto estrella paz"
)
_GENERIC_SERVICE = word_set(
    "de del la el los las the and y en of for servicio servicios service services online "
    "home hogar sistema system web"
)
# Words a customer uses for a service that its name may not contain.
_SYNONYMS: tuple[frozenset[str], ...] = tuple(
    word_set(group)
    for group in (
        "fibra fibre fiber internet wifi router conexion connection broadband ftth",
        "permiso permisos permit permits aparcamiento aparcar parking residente residentes "
        "resident residents estacionamiento",
        "sede portal tramites tramite",
        "agua water",
        "luz electricidad electricity power",
        "autobus autobuses bus buses",
    )
)
_STOP = word_set(
    "para pero como esta este estos estas that this with from have they your their there "
    "which will when what sobre desde hasta todos todas muchos many more most some porque "
    "because after before ni una uno unos unas los las del que por con sin han has had not "
    "funciona works work working down caido caida fallo failing error cannot pueden puede "
    "nuestro nuestra nuestras nuestros our during durante will estara estaran"
)


@dataclass(frozen=True, slots=True)
class PlaceMention:
    start: int
    end: int
    area_ids: tuple[str, ...]  # empty for a postcode the feed does not know
    postcode: str | None = None
    yours: bool = False  # "tu zona", "your postcode": the place the customer asked about


@dataclass(frozen=True, slots=True)
class ServiceMention:
    start: int
    end: int
    service_ids: tuple[str, ...]


def _words(text: str) -> list[str]:
    return _WORD.findall(fold(text))


class PlaceIndex:
    """The feed's names of areas, postcodes and services, folded for matching."""

    def __init__(self, feed: Feed) -> None:
        self.parents = {area.id: area.parent for area in feed.areas}
        children: dict[str, list[str]] = defaultdict(list)
        for area_id, parent in self.parents.items():
            if parent:
                children[parent].append(area_id)
        self.children = dict(children)
        names: dict[str, set[str]] = defaultdict(set)
        for area in feed.areas:
            for text in area.name.values():
                words = _words(text)
                core = [w for w in words if w not in _GENERIC_PLACE]
                for key in {" ".join(words), " ".join(core)}:
                    if key:
                        names[key].add(area.id)
        self.names = {k: tuple(sorted(v)) for k, v in names.items()}
        fuzzy: dict[int, list[str]] = defaultdict(list)
        for key in self.names:
            if key not in _EVERYDAY and len(key) >= 5:
                fuzzy[key.count(" ") + 1].append(key)
        self.fuzzy_names = dict(fuzzy)  # by number of words: "fuencarral is" is no name
        self.max_words = max((k.count(" ") + 1 for k in self.names), default=1)
        postcodes: dict[str, set[str]] = defaultdict(set)
        for area in feed.areas:
            for postcode in area.postcodes:
                postcodes[normalize_postcode(postcode)].add(area.id)
        self.postcodes = {k: tuple(sorted(v)) for k, v in postcodes.items()}
        self.prefixes = frozenset(p[:2] for p in self.postcodes)
        self.service_words, self.acronyms = _service_words(feed)

    def below(self, area_ids: Iterable[str]) -> set[str]:
        """The areas and every area under them."""
        out: set[str] = set()
        stack = list(area_ids)
        while stack:
            area_id = stack.pop()
            if area_id not in out:
                out.add(area_id)
                stack.extend(self.children.get(area_id, ()))
        return out

    def above(self, area_id: str) -> list[str]:
        out = []
        parent = self.parents.get(area_id)
        while parent and parent not in out:
            out.append(parent)
            parent = self.parents.get(parent)
        return out

    def places(self, original: str, folded: str) -> list[PlaceMention]:
        found = [*self._named(original, folded), *self._postcodes(folded)]
        found.extend(
            PlaceMention(m.start(), m.end(), (), None, True) for m in _YOURS.finditer(folded)
        )
        return sorted(found, key=lambda m: m.start)

    def _postcodes(self, folded: str) -> list[PlaceMention]:
        out = []
        for match in _POSTCODE.finditer(folded):
            code = match[0]
            if code in self.postcodes or code[:2] in self.prefixes:
                out.append(
                    PlaceMention(match.start(), match.end(), self.postcodes.get(code, ()), code)
                )
        return out

    def _named(self, original: str, folded: str) -> list[PlaceMention]:
        tokens = [(m.start(), m.end(), m[0]) for m in _WORD.finditer(folded)]
        out: list[PlaceMention] = []
        index = 0
        while index < len(tokens):
            match = self._name_at(original, folded, tokens, index)
            if match is None:
                index += 1
                continue
            size, area_ids = match
            out.append(PlaceMention(tokens[index][0], tokens[index + size - 1][1], area_ids))
            index += size
        return out

    def _name_at(
        self, original: str, folded: str, tokens: list[tuple[int, int, str]], index: int
    ) -> tuple[int, tuple[str, ...]] | None:
        for size in range(min(self.max_words, len(tokens) - index), 0, -1):
            start, end = tokens[index][0], tokens[index + size - 1][1]
            key = " ".join(t[2] for t in tokens[index : index + size])
            area_ids = self.names.get(key)
            if area_ids is not None:
                if key in _EVERYDAY and not _looks_like_a_name(original, folded, start, end):
                    return None
                return size, area_ids
            if len(key) >= 5 and not key.isdigit():
                choices = self.fuzzy_names.get(size, [])
                best = process.extractOne(key, choices, scorer=fuzz.ratio, score_cutoff=84)
                if best is not None:
                    return size, self.names[best[0]]
        return None

    def services(self, original: str, folded: str) -> list[ServiceMention]:
        out = []
        for match in _WORD.finditer(folded):
            word = match[0]
            service_ids = self.service_words.get(word)
            if service_ids is None and word in self.acronyms:
                written = original[match.start() : match.end()]
                service_ids = self.acronyms[word] if written.isupper() else None
            if service_ids:
                out.append(ServiceMention(match.start(), match.end(), service_ids))
        return out


def _looks_like_a_name(original: str, folded: str, start: int, end: int) -> bool:
    return (
        original[start : start + 1].isupper()
        or _NAME_PREFIX.search(folded, max(0, start - 12), start) is not None
        or _NAME_SUFFIX.match(folded[end : end + 14]) is not None
    )


def _service_words(
    feed: Feed,
) -> tuple[dict[str, tuple[str, ...]], dict[str, tuple[str, ...]]]:
    organization = set(_words(" ".join(feed.organization.name.values())))
    words: dict[str, set[str]] = defaultdict(set)
    acronyms: dict[str, set[str]] = defaultdict(set)
    for service in feed.services:
        for text in service.name.values():
            for written in re.findall(r"\w+", text):
                word = fold(written).lower()
                if word in _GENERIC_SERVICE or word in organization:
                    continue
                if len(word) <= 3:
                    if written.isupper():
                        acronyms[word].add(service.id)
                    continue
                words[word].add(service.id)
                for group in _SYNONYMS:
                    if word in group:
                        for synonym in group:
                            words[synonym].add(service.id)
    # A word two services share tells neither apart.
    return (
        {k: tuple(sorted(v)) for k, v in words.items() if len(v) == 1},
        {k: tuple(sorted(v)) for k, v in acronyms.items() if len(v) == 1},
    )


def incident_words(feed: Feed, index: PlaceIndex) -> dict[str, frozenset[str]]:
    """Per incident, the words of its title and summary no other incident uses."""
    per_incident = {
        incident.id: {
            word
            for text in (*incident.title.values(), *incident.summary.values())
            for word in _words(text)
            if len(word) >= 4 and word not in _STOP and word not in index.names
        }
        for incident in feed.incidents
    }
    counts: dict[str, int] = defaultdict(int)
    for words in per_incident.values():
        for word in words:
            counts[word] += 1
    return {
        incident_id: frozenset(w for w in words if counts[w] == 1)
        for incident_id, words in per_incident.items()
    }
