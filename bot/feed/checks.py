"""Whole-document rules of a feed, checked on the raw YAML so every error keeps its line.

These run even when the structural (pydantic) validation failed, so one
`unavoz validate` run reports every problem, not the first layer of them.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Any

from bot.feed.models import INCIDENT_STATUSES, MAINTENANCE_STATUSES
from bot.feed.yamlsource import PathItem, Problem, YamlDocument
from bot.words import locales as builtin_locales

# Locales whose built-in wording (templates, status words) ships with Unavoz.

Path = tuple[PathItem, ...]
MAX_WINDOW = dt.timedelta(days=31)  # a longer "maintenance" is an outage by another name


@dataclass(frozen=True, slots=True)
class IncidentRules:
    """What the rules on one incident need from the rest of the document, as written there.

    A change that edits only incidents leaves all of this as it was, so checking the
    incidents it touched against these (and their ids against the others') is checking
    the whole document.
    """

    service_ids: frozenset[str]
    area_ids: frozenset[str]
    # The organization's locales, when they can be checked against (a list of texts).
    locales: frozenset[str] | None
    # Each incident's id as written (None when it is not a text), in the document's order.
    incident_ids: tuple[str | None, ...]


def check_document(
    doc: YamlDocument, voices: Collection[str] = ()
) -> tuple[list[Problem], IncidentRules | None]:
    """Rules across the document, and what they need to check an incident again later.
    `voices`: the channels with built-in wording, which a locale Unavoz has no words for
    must give templates for."""
    data = doc.data
    if not isinstance(data, dict):
        return [], None  # the structural validation says the document must be a mapping
    problems: list[Problem] = []
    ids = {
        section: _check_unique_ids(doc, section, problems)
        for section in ("services", "areas", "incidents", "staff_groups")
    }
    rules = IncidentRules(
        service_ids=frozenset(ids["services"]),
        area_ids=frozenset(ids["areas"]),
        locales=_declared_locales(data),
        incident_ids=incident_ids(data.get("incidents")),
    )
    _check_areas(doc, ids["areas"], problems)
    _check_postcodes(doc, problems)
    for index, incident in _items(data, "incidents"):
        check_incident(doc, ("incidents", index), incident, rules, problems)
    _check_staff_groups(doc, ids["services"], ids["areas"], problems)
    _check_escalations(doc, ids["staff_groups"], problems)
    _check_locales(doc, voices, problems)
    return problems, rules


def incident_ids(incidents: Any) -> tuple[str | None, ...]:
    """The id of each item of an `incidents:` section as written (None: not a text)."""
    if not isinstance(incidents, list):
        return ()
    return tuple(
        item.get("id") if isinstance(item, dict) and isinstance(item.get("id"), str) else None
        for item in incidents
    )


def repeated_ids(ids: Collection[str | None]) -> bool:
    """Whether two items share an id (the rule `_check_unique_ids` reports)."""
    named = [i for i in ids if i is not None]
    return len(set(named)) != len(named)


def check_incident(
    doc: YamlDocument,
    here: Path,
    incident: dict[str, Any],
    rules: IncidentRules,
    problems: list[Problem],
) -> None:
    """Every rule on one incident item (at `here` in `doc`) but the uniqueness of its id."""
    _check_refs(
        doc, (*here, "services"), incident.get("services"), rules.service_ids, "service", problems
    )
    _check_refs(doc, (*here, "areas"), incident.get("areas"), rules.area_ids, "area", problems)
    kind = incident.get("kind", "incident")
    status = incident.get("status")
    _check_status(doc, here, kind, status, incident, problems)
    _check_times(doc, here, status, incident, problems)
    if rules.locales is not None:
        for pattern in _INCIDENT_TEXTS:
            for path, text in _expand(incident, pattern, here):
                _check_text_locales(doc, path, text, rules.locales, problems)


DEFAULT_POSTCODE_PATTERN = r"\d{5}"


def _check_postcodes(doc: YamlDocument, problems: list[Problem]) -> None:
    """Every postcode matches the organization's pattern (`postcode_pattern`), so a caller
    can key it in and the lookup finds it."""
    organization = doc.data.get("organization")
    pattern = DEFAULT_POSTCODE_PATTERN
    if isinstance(organization, dict) and isinstance(organization.get("postcode_pattern"), str):
        pattern = organization["postcode_pattern"]
    try:
        compiled = re.compile(pattern)
    except re.error:
        return  # the model reports the pattern itself
    for index, area in _items(doc.data, "areas"):
        postcodes = area.get("postcodes")
        if not isinstance(postcodes, list):
            continue
        for number, postcode in enumerate(postcodes):
            if isinstance(postcode, str) and not compiled.fullmatch(postcode.strip()):
                problems.append(
                    doc.problem(
                        ("areas", index, "postcodes", number),
                        f"postcode {postcode[:20]!r} does not match the organization's "
                        f"postcode_pattern {pattern!r}",
                    )
                )


def _items(data: Any, section: str) -> Iterator[tuple[int, dict[str, Any]]]:
    values = data.get(section) if isinstance(data, dict) else None
    if isinstance(values, list):
        for index, item in enumerate(values):
            if isinstance(item, dict):
                yield index, item


def _check_unique_ids(doc: YamlDocument, section: str, problems: list[Problem]) -> set[str]:
    seen: dict[str, int] = {}
    for index, item in _items(doc.data, section):
        item_id = item.get("id")
        if not isinstance(item_id, str):
            continue
        if item_id in seen:
            first = doc.line_of((section, seen[item_id], "id"))
            problems.append(
                doc.problem(
                    (section, index, "id"),
                    f"duplicate id {item_id!r} in {section} (first defined on line {first})",
                )
            )
        else:
            seen[item_id] = index
    return set(seen)


def _check_refs(
    doc: YamlDocument,
    path: Path,
    values: Any,
    known: Collection[str],
    what: str,
    problems: list[Problem],
) -> None:
    if not isinstance(values, list):
        return
    for index, value in enumerate(values):
        if isinstance(value, str) and value not in known:
            problems.append(doc.problem((*path, index), f"unknown {what} {value!r}"))


def _check_areas(doc: YamlDocument, area_ids: set[str], problems: list[Problem]) -> None:
    parents: dict[str, str] = {}
    for index, area in _items(doc.data, "areas"):
        parent = area.get("parent")
        if isinstance(parent, str):
            if parent not in area_ids:
                problems.append(doc.problem(("areas", index, "parent"), f"unknown area {parent!r}"))
            elif isinstance(area.get("id"), str):
                parents[area["id"]] = parent
    for index, area in _items(doc.data, "areas"):
        start = area.get("id")
        seen: set[str] = set()
        current = start
        while isinstance(current, str) and current in parents:
            if current in seen:
                problems.append(
                    doc.problem(("areas", index, "parent"), f"area {start!r} is its own ancestor")
                )
                break
            seen.add(current)
            current = parents[current]


def _time(value: Any) -> dt.datetime | None:
    """Parse a timestamp the way pydantic will; None when absent or malformed (reported there)."""
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _check_staff_groups(
    doc: YamlDocument, service_ids: set[str], area_ids: set[str], problems: list[Problem]
) -> None:
    for index, group in _items(doc.data, "staff_groups"):
        here: Path = ("staff_groups", index)
        _check_refs(
            doc, (*here, "services"), group.get("services"), service_ids, "service", problems
        )
        _check_refs(doc, (*here, "areas"), group.get("areas"), area_ids, "area", problems)


def _check_escalations(doc: YamlDocument, group_ids: set[str], problems: list[Problem]) -> None:
    for index, group in _items(doc.data, "staff_groups"):
        target = group.get("escalate_to")
        if target is None:
            continue
        here: Path = ("staff_groups", index, "escalate_to")
        if target not in group_ids:
            problems.append(doc.problem(here, f"unknown staff group {target!r}"))
        elif target == group.get("id"):
            problems.append(doc.problem(here, "a staff group cannot escalate to itself"))


def _check_status(
    doc: YamlDocument,
    here: Path,
    kind: Any,
    status: Any,
    incident: dict[str, Any],
    problems: list[Problem],
) -> None:
    allowed = {"incident": INCIDENT_STATUSES, "maintenance": MAINTENANCE_STATUSES}.get(kind)
    if allowed is not None and isinstance(status, str) and status not in {s.value for s in allowed}:
        words = ", ".join(sorted(s.value for s in allowed))
        problems.append(
            doc.problem((*here, "status"), f"status {status!r} is not one of a {kind}'s: {words}")
        )
    if kind == "maintenance" and incident.get("maintenance") is None:
        problems.append(
            doc.problem(here, "a maintenance needs a 'maintenance' window (starts_at, ends_at)")
        )
    if status == "resolved":
        if incident.get("resolved_at") is None:
            problems.append(doc.problem((*here, "status"), "a resolved incident needs resolved_at"))
    elif isinstance(status, str):
        if incident.get("resolved_at") is not None:
            problems.append(
                doc.problem(
                    (*here, "resolved_at"), f"resolved_at is set but the status is {status!r}"
                )
            )
        if kind == "incident" and incident.get("next_update_by") is None:
            problems.append(
                doc.problem(
                    here,
                    "an open incident needs next_update_by: customers are owed the time of the"
                    " next update",
                )
            )


def _check_times(
    doc: YamlDocument, here: Path, status: Any, incident: dict[str, Any], problems: list[Problem]
) -> None:
    started = _time(incident.get("started_at"))
    if started is not None:
        for field, label in (
            ("eta", "the ETA"),
            ("next_update_by", "next_update_by"),
            ("resolved_at", "resolved_at"),
        ):
            when = _time(incident.get(field))
            if when is not None and when < started:
                problems.append(
                    doc.problem(
                        (*here, field),
                        f"{label} ({when.isoformat()}) is before started_at"
                        f" ({started.isoformat()})",
                    )
                )
    window = incident.get("maintenance")
    if isinstance(window, dict):
        starts, ends = _time(window.get("starts_at")), _time(window.get("ends_at"))
        if starts is not None and ends is not None and ends <= starts:
            problems.append(
                doc.problem(
                    (*here, "maintenance", "ends_at"), "the maintenance ends before it starts"
                )
            )
        elif starts is not None and ends is not None and ends - starts > MAX_WINDOW:
            problems.append(
                doc.problem(
                    (*here, "maintenance", "ends_at"),
                    f"the maintenance window lasts {(ends - starts).days} days: more than"
                    f" {MAX_WINDOW.days} is not a maintenance (split it, or declare an incident)",
                )
            )
    updates = incident.get("updates")
    if isinstance(updates, list):
        previous: dt.datetime | None = None
        for number, update in enumerate(updates):
            at = _time(update.get("at")) if isinstance(update, dict) else None
            if at is not None and previous is not None and at < previous:
                problems.append(
                    doc.problem(
                        (*here, "updates", number, "at"),
                        "updates must be in time order, oldest first",
                    )
                )
            previous = at or previous


# Every text a customer or employee reads, by where it sits in the document (`*` is each
# item); those of an incident by where they sit in it (checked with the incident).
_LOCALIZED: tuple[Path, ...] = (
    ("organization", "name"),
    ("organization", "apology"),
    ("organization", "human_contact", "hours"),
    ("services", "*", "name"),
    ("services", "*", "contact", "hours"),
    ("areas", "*", "name"),
)
_INCIDENT_TEXTS: tuple[Path, ...] = (
    ("title",),
    ("summary",),
    ("workaround",),
    ("apology",),
    ("staff_instructions",),
    ("resolution",),
    ("updates", "*", "message"),
)


def _expand(data: Any, pattern: Path, prefix: Path = ()) -> Iterator[tuple[Path, Any]]:
    if not pattern:
        yield prefix, data
        return
    head, rest = pattern[0], pattern[1:]
    if head == "*":
        if isinstance(data, list):
            for index, item in enumerate(data):
                yield from _expand(item, rest, (*prefix, index))
    elif isinstance(data, dict) and head in data:
        yield from _expand(data[head], rest, (*prefix, head))


def _declared_locales(data: dict[str, Any]) -> frozenset[str] | None:
    organization = data.get("organization")
    if not isinstance(organization, dict):
        return None
    locales = organization.get("locales")
    if not isinstance(locales, list) or not all(isinstance(x, str) for x in locales):
        return None
    return frozenset(locales)


def _check_locales(doc: YamlDocument, voices: Collection[str], problems: list[Problem]) -> None:
    """The organization's texts in its locales (an incident's are checked with it)."""
    declared = _declared_locales(doc.data)
    if declared is None:
        return
    default = doc.data["organization"].get("default_locale")
    if isinstance(default, str) and default not in declared:
        problems.append(
            doc.problem(
                ("organization", "default_locale"),
                f"default_locale {default!r} is not in organization.locales",
            )
        )
    for pattern in _LOCALIZED:
        for path, text in _expand(doc.data, pattern):
            _check_text_locales(doc, path, text, declared, problems)
    _check_builtin_wording(doc, set(declared), voices, problems)


def _check_text_locales(
    doc: YamlDocument, path: Path, text: Any, declared: frozenset[str], problems: list[Problem]
) -> None:
    """A text in every declared locale, and in no other."""
    if not isinstance(text, dict):
        return
    for missing in sorted(declared - set(text)):
        problems.append(doc.problem(path, f"{_dotted(path)} has no {missing!r} text"))
    for extra in sorted(set(text) - declared):
        problems.append(
            doc.problem(
                (*path, extra),
                f"locale {extra!r} is not declared in organization.locales",
                key=True,
            )
        )


def _check_builtin_wording(
    doc: YamlDocument, declared: set[str], voices: Collection[str], problems: list[Problem]
) -> None:
    """A locale Unavoz has no words in cannot be told: say so rather than mix languages."""
    known = builtin_locales()
    channels = doc.data.get("channels")
    for locale in sorted(declared - known):
        problems.append(
            doc.problem(
                ("organization", "locales"),
                f"Unavoz has no built-in words in {locale!r} (it speaks"
                f" {', '.join(sorted(known))}): add bot/words/{locale}.yaml",
            )
        )
        for channel in voices:
            settings = channels.get(channel) if isinstance(channels, dict) else None
            templates = settings.get("templates") if isinstance(settings, dict) else None
            if not isinstance(templates, dict) or locale not in templates:
                problems.append(
                    doc.problem(
                        ("organization", "locales"),
                        f"Unavoz has no built-in {channel} wording in {locale!r}:"
                        f" add channels.{channel}.templates.{locale}",
                    )
                )


def _dotted(path: Path) -> str:
    out = ""
    for item in path:
        out += f"[{item}]" if isinstance(item, int) else (f".{item}" if out else item)
    return out
