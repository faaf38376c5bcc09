"""The claims lint: what a person wrote to a customer, checked against the feed.

Pure: no I/O, no clock of its own (the caller passes now). One call reads the
reply once — its times, state words, places, services and contacts — decides
which incidents it is about, and compares each claim with those incidents.
A claim is a finding only when it contradicts every incident the reply is about:
when in doubt, the lint stays quiet rather than block a correct reply.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from bot.claims import contacts, cues
from bot.claims.language import detect
from bot.claims.places import PlaceIndex, PlaceMention, ServiceMention, incident_words
from bot.claims.states import CLAUSE_BREAK, StateMention, find_states
from bot.claims.text import MAX_LENGTH, Reply, clean
from bot.claims.times import TimeMention, find_times
from bot.claims.wording import Wording
from bot.feed.lookup import is_current, normalize_postcode
from bot.feed.models import Feed, Incident, Kind, Status
from bot.statement import Statement, build_statement

FindingKind = Literal["eta", "resolved", "area", "service", "contact", "next_update"]
KINDS: tuple[FindingKind, ...] = ("eta", "resolved", "area", "service", "contact", "next_update")

_PRECISE = dt.timedelta(minutes=5)  # "a las 18:00" for 18:00
_APPROXIMATE = dt.timedelta(minutes=30)  # "sobre las 6", "en 6 horas" for 18:00
_PAST = dt.timedelta(minutes=10)


class LintInputError(ValueError):
    """The text or the context cannot be linted (empty, too long, unknown id…)."""


@dataclass(frozen=True, slots=True)
class Finding:
    kind: FindingKind
    start: int
    end: int
    claim: str  # the words as written
    feed_says: str
    suggestion: str
    blocks: bool
    incident: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "start": self.start,
            "end": self.end,
            "claim": self.claim,
            "feed_says": self.feed_says,
            "suggestion": self.suggestion,
            "blocks": self.blocks,
        }


@dataclass(frozen=True, slots=True)
class LintResult:
    ok: bool  # False exactly when a finding blocks
    findings: tuple[Finding, ...]
    locale: str
    incidents: tuple[str, ...]  # the incidents the reply was checked against
    notes: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "findings": [f.as_json() for f in self.findings],
            "locale": self.locale,
            "incidents": list(self.incidents),
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class FeedFacts:
    """What the lint needs from one feed, built once per feed (per revision)."""

    feed: Feed
    places: PlaceIndex
    words: dict[str, frozenset[str]]
    desks: dict[str | None, contacts.Desk]
    _statements: dict[tuple[str, str], Statement] = field(default_factory=dict, repr=False)

    @classmethod
    def build(cls, feed: Feed) -> FeedFacts:
        places = PlaceIndex(feed)
        return cls(feed, places, incident_words(feed, places), contacts.desks(feed))

    def statement(self, incident: Incident, locale: str) -> Statement:
        key = (incident.id, locale)
        found = self._statements.get(key)
        if found is None:
            found = self._statements[key] = build_statement(self.feed, incident, locale, 0)
        return found

    def desk_of(self, incident: Incident) -> contacts.Desk:
        for service_id in incident.services:
            if service_id in self.desks:
                return self.desks[service_id]
        return self.desks[None]

    def covered(self, incidents: Iterable[Incident]) -> set[str]:
        return self.places.below(a for i in incidents for a in i.areas)


_FACTS: dict[int, FeedFacts] = {}


def facts_of(feed: Feed) -> FeedFacts:
    """The feed's facts, memoised by identity (a feed is immutable; a revision is a new one)."""
    found = _FACTS.get(id(feed))
    if found is None or found.feed is not feed:
        if len(_FACTS) >= 8:
            _FACTS.clear()
        found = _FACTS[id(feed)] = FeedFacts.build(feed)
    return found


def lint_reply(
    text: str,
    feed: Feed,
    now: dt.datetime,
    *,
    incident: str | None = None,
    area: str | None = None,
    postcode: str | None = None,
    locale: str | None = None,
) -> LintResult:
    """Check a reply a person wrote (Spanish or English) against the feed at `now`.

    `incident` (an id) says what the reply answers; else `area` or `postcode` (what the
    customer asked about) narrows it; else the reply's own words (service, places,
    postcodes) decide. Raises LintInputError for empty or over-long text, an unknown
    incident or area id, or a locale the lint does not speak.
    """
    if now.tzinfo is None:
        raise LintInputError("now must be an aware datetime (with its UTC offset)")
    return _Lint(text, facts_of(feed), now, incident, area, postcode, locale).run()


class _Lint:
    def __init__(
        self,
        text: str,
        facts: FeedFacts,
        now: dt.datetime,
        incident_id: str | None,
        area_id: str | None,
        postcode: str | None,
        locale: str | None,
    ) -> None:
        self.facts = facts
        self.feed = facts.feed
        self.tz = self.feed.organization.tz
        self.now = now.astimezone(self.tz)
        self.notes: list[str] = []
        self.text = self._checked_text(text)
        self.reply = Reply.of(self.text)
        self.locale = self._locale(locale)
        self.wording = Wording(self.locale, self.now, self.tz)
        self.incident = self._incident(incident_id)
        self.place = self._place(area_id, postcode)
        self.findings: list[Finding] = []
        warn = self.feed.organization.claims_lint.warn if self.feed.organization.claims_lint else []
        self.warn_only = frozenset(warn)

    # ------------------------------------------------------------ input

    def _checked_text(self, text: str) -> str:
        if not isinstance(text, str):
            raise LintInputError("the text must be a string")
        if len(text) > MAX_LENGTH:
            raise LintInputError(
                f"the text is {len(text):,} characters long; a reply is at most {MAX_LENGTH:,}"
            )
        cleaned, had_controls = clean(text)
        if not cleaned.strip():
            raise LintInputError("the text is empty")
        if had_controls:
            self.notes.append("control characters were read as spaces")
        return cleaned

    def _locale(self, wanted: str | None) -> str:
        language = detect(self.reply.folded)
        if wanted is not None:
            if wanted not in ("es", "en"):
                raise LintInputError(f"unknown locale {wanted!r}: the lint reads es and en")
            return wanted
        if language.locale is None and language.foreign:
            self.notes.append(
                "the text is in neither Spanish nor English: only numbers, links, "
                "postcodes and times were checked"
            )
        if language.mixed:
            self.notes.append(
                "the text mixes Spanish and English; findings are in "
                f"{'Spanish' if language.locale == 'es' else 'English'}"
            )
        return language.locale or self.feed.organization.default_locale

    def _incident(self, incident_id: str | None) -> Incident | None:
        if incident_id is None:
            return None
        found = self.feed.incident(incident_id)
        if found is None:
            raise LintInputError(f"unknown incident {incident_id!r}")
        return found

    def _place(self, area_id: str | None, postcode: str | None) -> PlaceMention | None:
        if area_id is not None and postcode is not None:
            raise LintInputError("give an area or a postcode, not both")
        if area_id is not None:
            if area_id not in self.facts.places.parents:
                raise LintInputError(f"unknown area {area_id!r}")
            return PlaceMention(0, 0, (area_id,))
        if postcode is not None:
            code = normalize_postcode(postcode)
            if not code or len(code) > 12:
                raise LintInputError(f"{postcode!r} is not a postcode")
            areas = self.facts.places.postcodes.get(code, ())
            if not areas:
                self.notes.append(f"postcode {code} is in no area of the feed")
            return PlaceMention(0, 0, areas, code)
        return None

    # ------------------------------------------------------------ run

    def run(self) -> LintResult:
        folded, original = self.reply.folded, self.reply.original
        places = self.facts.places.places(original, folded)
        self.services = self.facts.places.services(original, folded)
        about = self._about(places, [s.service_ids for s in self.services])
        self.times = times = find_times(folded, self.now, self.tz)
        self._times(times, about)
        self._states(about)
        self._places(places, about)
        self._services(self.services, about)
        self._contacts(times, about)
        if not about and (times or self.findings):
            self.notes.append("the text names no incident: give one to check times and states")
        findings = tuple(sorted(_deduplicated(self.findings), key=lambda f: (f.start, f.kind)))
        return LintResult(
            ok=not any(f.blocks for f in findings),
            findings=findings,
            locale=self.locale,
            incidents=tuple(i.id for i in about),
            notes=tuple(self.notes),
        )

    def _about(self, places: list[PlaceMention], services: list[tuple[str, ...]]) -> list[Incident]:
        """The incidents the reply is about: the one given, else those its words name best,
        else those open now where the customer asked, else the only one open now."""
        if self.incident is not None:
            return [self.incident]
        words = set(_words(self.reply.folded))
        scores: dict[str, int] = {}
        for incident in self.feed.incidents:
            score = 2 * sum(1 for ids in services if set(ids) & set(incident.services))
            score += len(words & self.facts.words.get(incident.id, frozenset()))
            if score and incident.is_open:
                covered = self.facts.covered([incident])
                score += sum(1 for p in places if p.area_ids and set(p.area_ids) & covered)
                if self.place is not None and set(self.place.area_ids) & covered:
                    score += 1
            scores[incident.id] = score
        best = max(scores.values(), default=0)
        if best > 0:
            return [i for i in self.feed.incidents if scores[i.id] == best]
        current = [i for i in self.feed.incidents if _is_current(i, self.now)]
        if self.place is not None:
            here = set(self.place.area_ids)
            return [i for i in current if here & self.facts.covered([i])]
        return current if len(current) == 1 else []

    # ------------------------------------------------------------ kinds

    def _add(
        self, kind: FindingKind, start: int, end: int, says: tuple[str, str], incident: str | None
    ) -> None:
        claim = self.reply.original[start:end]
        stripped = claim.strip()
        start += len(claim) - len(claim.lstrip())
        end = start + len(stripped)
        self.findings.append(
            Finding(
                kind, start, end, stripped, says[0], says[1], kind not in self.warn_only, incident
            )
        )

    def _times(self, times: list[TimeMention], about: list[Incident]) -> None:
        if not about:
            return
        for mention in times:
            sentence = self.reply.sentence_of(mention.start)
            topic = cues.topic_of(self.reply.folded, sentence, mention.start, mention.end)
            if topic in ("past", "hours") or not self._is_promise(mention):
                continue
            if self._other_service(sentence, about):
                continue  # a time for another service: the service finding says what is wrong
            if topic == "next_update":
                self._next_update(mention, about)
            else:
                self._eta(mention, about)

    def _is_promise(self, mention: TimeMention) -> bool:
        """A time still to come, given as a moment or a deadline (not "since 8:00")."""
        if mention.past or mention.relation == "from":
            return False
        return mention.latest >= self.now - _PAST

    def _other_service(self, sentence: tuple[int, int], about: list[Incident]) -> bool:
        told = {s for i in about for s in i.services}
        named = [m for m in self.services if sentence[0] <= m.start < sentence[1]]
        return bool(named) and not any(set(m.service_ids) & told for m in named)

    def _eta(self, mention: TimeMention, about: list[Incident]) -> None:
        if any(_fits_eta(mention, i, self.now) for i in about):
            return
        first = about[0]
        self._add("eta", mention.start, mention.end, self.wording.eta(first), first.id)

    def _next_update(self, mention: TimeMention, about: list[Incident]) -> None:
        promised = [i for i in about if i.next_update_by is not None and i.is_open]
        if not promised:
            return
        tolerance = _APPROXIMATE if mention.approximate else _PRECISE
        claimed = mention.latest if mention.relation == "by" else mention.earliest
        if any(claimed <= i.next_update_by + tolerance for i in promised if i.next_update_by):
            return
        first = promised[0]
        assert first.next_update_by is not None
        says = self.wording.next_update(first.next_update_by)
        self._add("next_update", mention.start, mention.end, says, first.id)

    def _states(self, about: list[Incident]) -> None:
        if not about:
            return
        promised = [t for t in self.times if self._is_promise(t)]
        for state in find_states(self.reply.folded, self.reply.sentences):
            if state.claim == "fixed" and any(self._same_clause(state, t) for t in promised):
                continue  # "lo tienes solucionado en dos horas": an ETA, checked as one
            first = about[0]
            if _contradicts(state.claim, about):
                says = (
                    self.wording.state(first)
                    if state.claim in ("fixed", "down")
                    else self.wording.kind(first)
                )
            else:
                continue
            self._add("resolved", state.start, state.end, says, first.id)

    def _same_clause(self, state: StateMention, time: TimeMention) -> bool:
        start, end = min(state.end, time.end), max(state.start, time.start)
        between = self.reply.folded[start : end + 3]  # + "ya " of "… y ya funciona"
        return end - start <= 40 and not CLAUSE_BREAK.search(between)

    def _places(self, places: list[PlaceMention], about: list[Incident]) -> None:
        open_about = [i for i in about if i.is_open]
        if about and not open_about:
            return  # a fixed incident affects nowhere now
        scope = open_about or [i for i in self.feed.incidents if _is_current(i, self.now)]
        covered = self.facts.covered(scope)
        for mention in places:
            place = mention
            if mention.yours:
                if self.place is None:
                    continue
                place = PlaceMention(
                    mention.start, mention.end, self.place.area_ids, self.place.postcode, yours=True
                )
            sentence = self.reply.sentence_of(mention.start)
            affected = cues.place_polarity(self.reply.folded, sentence, mention.start, mention.end)
            if affected is None:
                continue
            hit = set(place.area_ids) & covered
            partly = any(self.facts.places.below([a]) & covered for a in place.area_ids)
            if affected and not hit:
                self._area(mention, place, scope, claims_affected=True)
            elif not affected and (hit or partly):
                self._area(mention, place, scope, claims_affected=False)

    def _area(
        self,
        mention: PlaceMention,
        place: PlaceMention,
        scope: list[Incident],
        *,
        claims_affected: bool,
    ) -> None:
        name = self.reply.original[mention.start : mention.end].strip()
        if mention.yours:
            name = place.postcode or self._area_name(place.area_ids)
        if not scope:
            says = (self.wording.say("no_incident_here", place=name), "")
            self._add("area", mention.start, mention.end, says, None)
            return
        first = scope[0]
        statement = self.facts.statement(first, self.locale)
        if claims_affected:
            areas = ", ".join(statement.areas)
            says = (self.wording.say("not_affected", place=name, areas=areas), areas)
        else:
            says = (
                self.wording.say("yes_affected", place=name, title=statement.title),
                self.wording.say("yes_affected_say", place=name),
            )
        self._add("area", mention.start, mention.end, says, first.id)

    def _area_name(self, area_ids: tuple[str, ...]) -> str:
        areas = {a.id: a for a in self.feed.areas}
        names = [areas[a].name.get(self.locale) or a for a in area_ids if a in areas]
        return ", ".join(names) or self.wording.say("your_area")

    def _services(self, services: list[ServiceMention], about: list[Incident]) -> None:
        if not about:
            return
        told = {s for i in about for s in i.services}
        for mention in services:
            if set(mention.service_ids) & told:
                continue
            before = self.reply.folded[max(0, mention.start - 24) : mention.start]
            if _NEGATION.search(before):
                continue
            sentence = self.reply.sentence_of(mention.start)
            if (
                cues.place_polarity(self.reply.folded, sentence, mention.start, mention.end)
                is False
            ):
                continue
            first = about[0]
            says = self.wording.services(self.facts.statement(first, self.locale))
            self._add("service", mention.start, mention.end, says, first.id)

    def _contacts(self, times: list[TimeMention], about: list[Incident]) -> None:
        desks = [self.facts.desk_of(i) for i in about] + [self.facts.desks[None]]
        if not about:
            desks = list(self.facts.desks.values())
        first = about[0] if about else None
        incident_id = first.id if first else None
        desk = desks[0]
        hours = desk.contact.hours.get(self.locale) or next(iter(desk.contact.hours.values()))
        contact_says = self.wording.say("contact", phone=desk.contact.phone, hours=hours)
        postcodes = set(self.facts.places.postcodes)
        phones = {d.phone for d in desks} | contacts.EMERGENCY
        for span in contacts.find_phones(self.reply.folded, postcodes):
            if span.value not in phones:
                says = (contact_says, desk.contact.phone)
                self._add("contact", span.start, span.end, says, incident_id)
        urls = {d.url for d in desks if d.url}
        urls.add(contacts.normalize_url(self.feed.organization.status_page_url))
        hosts = {u.split("/", 1)[0] for u in urls}
        links = sorted({d.contact.url for d in desks if d.contact.url})
        links.append(self.feed.organization.status_page_url)
        for span in contacts.find_urls(self.reply.folded):
            if span.value in urls or span.value in hosts:
                continue
            says = (self.wording.say("link", urls=", ".join(links)), links[0])
            self._add("contact", span.start, span.end, says, incident_id)
        self._hours(times, desks, (self.wording.say("hours", hours=hours), hours), incident_id)

    def _hours(
        self,
        times: list[TimeMention],
        desks: list[contacts.Desk],
        says: tuple[str, str],
        incident_id: str | None,
    ) -> None:
        folded = self.reply.folded
        if not all(d.known for d in desks):
            return  # a desk whose hours the lint cannot read might be the one meant
        for mention in times:
            sentence = self.reply.sentence_of(mention.start)
            if cues.topic_of(folded, sentence, mention.start, mention.end) != "hours":
                continue
            if not any(_desk_hours_fit(d, mention, folded) for d in desks):
                self._add("contact", mention.start, mention.end, says, incident_id)
        for days in contacts.find_days(folded):
            if not any(d.open_on(days.days) for d in desks):
                self._add("contact", days.start, days.end, says, incident_id)
        for always in contacts.find_always_open(folded):
            if not any(d.always_open for d in desks):
                self._add("contact", always.start, always.end, says, incident_id)


_NEGATION = re.compile(
    r"\b(?:no|not|ni|nor|sin|without|isn'?t|aren'?t|nada\s+que\s+ver\s+con)\b(?:\s+\w+){0,2}\s*$"
)


def _words(folded: str) -> list[str]:
    return folded.replace("'", " ").split()


def _is_current(incident: Incident, now: dt.datetime) -> bool:
    return is_current(incident, now)


def _contradicts(claim: str, about: list[Incident]) -> bool:
    """Whether a state claim ("fixed", "down", "planned", "unplanned") is false of them all."""
    if claim == "fixed":
        return all(i.is_open for i in about)
    if claim == "down":
        return not any(i.is_open for i in about)
    if claim == "planned":
        return all(i.kind is Kind.INCIDENT for i in about)
    return all(i.kind is Kind.MAINTENANCE and i.status is not Status.RESOLVED for i in about)


def _fits_eta(mention: TimeMention, incident: Incident, now: dt.datetime) -> bool:
    """Whether the time a reply gives for the fix agrees with what the feed says of it."""
    if incident.status is Status.RESOLVED:
        return False
    window = incident.maintenance if incident.kind is Kind.MAINTENANCE else None
    target = incident.eta or (window.ends_at if window else None)
    if target is None:
        return False
    tolerance = (
        _APPROXIMATE
        if mention.approximate or mention.relative
        else _PRECISE
        if mention.precise
        else dt.timedelta(minutes=15)
    )
    if mention.relation == "by":
        return target <= mention.latest + tolerance
    if mention.relation == "after":
        return target >= mention.earliest - tolerance
    if mention.relation == "range" and window is not None:
        return (
            abs(mention.earliest - window.starts_at) <= tolerance
            and abs(mention.latest - target) <= tolerance
        )
    return mention.earliest - tolerance <= target <= mention.latest + tolerance


def _desk_hours_fit(desk: contacts.Desk, mention: TimeMention, folded: str) -> bool:
    """Whether the hours a reply gives for a desk are the desk's: opening, closing or both."""
    clocks = mention.clocks
    if not clocks:
        return True  # "call us this afternoon": no hours given
    if desk.always_open:
        return False
    hours = [_both_halves(c.hour, c.explicit) for c in clocks]
    if len(clocks) >= 2:
        return any(desk.opens_at(h, clocks[0].minute) for h in hours[0]) and any(
            desk.closes_at(h, clocks[-1].minute) for h in hours[-1]
        )
    before = folded[max(0, mention.start - 30) : mention.start]
    closing = re.search(r"cierr|cerr|clos|hasta|until|till|\bto\b", before)
    test = desk.closes_at if closing else desk.opens_at
    return any(test(h, clocks[0].minute) for h in hours[0])


def _both_halves(hour: int, explicit: bool) -> list[int]:
    return [hour] if explicit or hour >= 12 else [hour, hour + 12]


def _deduplicated(findings: list[Finding]) -> list[Finding]:
    out: list[Finding] = []
    for finding in findings:
        if any(
            f.kind == finding.kind and f.start < finding.end and finding.start < f.end for f in out
        ):
            continue
        out.append(finding)
    return out
