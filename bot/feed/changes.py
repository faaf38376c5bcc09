"""Operations on incidents — open, update, resolve — shared by the CLI, the admin API and bots.

Each change edits the YAML text with ruamel.yaml's round-trip mode, so the
operator's comments and key order survive, and adds a timeline entry with its
author. The caller validates the result and records it as a revision.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from bot.feed.models import (
    ApologyText,
    Edge,
    Identifier,
    Kind,
    MessageText,
    ResolutionText,
    Severity,
    StaffText,
    Status,
    SummaryText,
    TitleText,
    WorkaroundText,
)
from bot.words import status_label, words

# Texts per locale, e.g. {"es": "…", "en": "…"}: the feed's own types, with their length
# limits and no control characters, so a change is refused at the door with a clear 422.


class ChangeError(ValueError):
    """A change that cannot apply to this feed (already resolved, duplicate id…)."""


class UnknownIncident(ChangeError):
    """The change names an incident the feed does not have."""


class NeedsConfirmation(ChangeError):
    """A change that is probably a mistake (an ETA already in the past): made only when the
    operator confirms it (CLI `--force`, API `"confirm": true`, the console's box)."""


class _Change(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OpenIncident(_Change):
    action: Literal["open"] = "open"
    id: Identifier
    kind: Kind = Kind.INCIDENT
    title: TitleText
    summary: SummaryText
    status: Status = Status.INVESTIGATING
    severity: Severity = Severity.MAJOR
    services: list[Identifier] = Field(min_length=1, max_length=100)
    areas: list[Identifier] = Field(min_length=1, max_length=500)
    started_at: AwareDatetime | None = Field(default=None, description="Default: now.")
    eta: AwareDatetime | None = None
    next_update_by: AwareDatetime | None = None
    workaround: WorkaroundText | None = None
    apology: ApologyText | None = None
    staff_instructions: StaffText | None = None
    maintenance_starts_at: AwareDatetime | None = None
    maintenance_ends_at: AwareDatetime | None = None
    confirm: bool = Field(
        default=False, description="Make the change even with an ETA or next update in the past."
    )


class UpdateIncident(_Change):
    action: Literal["update"] = "update"
    id: Identifier
    status: Status | None = None
    severity: Severity | None = None
    message: MessageText | None = Field(
        default=None, description="Timeline entry telling what changed."
    )
    eta: AwareDatetime | None = None
    clear_eta: bool = Field(default=False, description="Withdraw the ETA: no estimate any more.")
    next_update_by: AwareDatetime | None = None
    workaround: WorkaroundText | None = None
    title: TitleText | None = None
    summary: SummaryText | None = None
    apology: ApologyText | None = None
    staff_instructions: StaffText | None = None
    areas: list[Identifier] | None = Field(default=None, max_length=500)
    services: list[Identifier] | None = Field(default=None, max_length=100)
    confirm: bool = Field(
        default=False, description="Make the change even with an ETA or next update in the past."
    )

    @model_validator(mode="before")
    @classmethod
    def _null_eta_clears_it(cls, value: Any) -> Any:
        """`"eta": null` withdraws the ETA (as `clear_eta`), rather than changing nothing."""
        if isinstance(value, dict) and "eta" in value and value["eta"] is None:
            value = {k: v for k, v in value.items() if k != "eta"}
            value["clear_eta"] = True
        return value


class ResolveIncident(_Change):
    action: Literal["resolve"] = "resolve"
    id: Identifier
    message: ResolutionText | None = Field(
        default=None, description="What was fixed (the resolution)."
    )
    resolved_at: AwareDatetime | None = Field(default=None, description="Default: now.")


class EdgeToTell(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    incident: Identifier
    edge: Edge
    at: AwareDatetime


class TellEdges(_Change):
    """The scheduler's change: promises that fell due, told as timeline entries (and, for
    maintenance, the status the window implies). Edges that no longer stand lapse."""

    action: Literal["edges"] = "edges"
    id: str = Field(description="The incidents concerned, for the log.")
    edges: list[EdgeToTell] = Field(min_length=1)


Change = OpenIncident | UpdateIncident | ResolveIncident | TellEdges

_RELATIVE = re.compile(r"^(?P<sign>[+-]?)\s*(?P<amount>\d+)\s*(?P<unit>m|min|h|d)$")


class TimeInputError(ValueError):
    """A time an operator typed that cannot be read."""


def parse_when(text: str, now: dt.datetime, tz: dt.tzinfo) -> dt.datetime:
    """ISO 8601 (an offset-less one is read in the organization's zone), "14:30", "+90m" or
    "-2h" (relative times work both ways; a past one is then checked like any other)."""
    value = text.strip()
    relative = _RELATIVE.match(value)
    if relative:
        amount = int(relative["amount"]) * (-1 if relative["sign"] == "-" else 1)
        unit = {"m": "minutes", "min": "minutes", "h": "hours", "d": "days"}[relative["unit"]]
        return now + dt.timedelta(**{unit: amount})
    if re.fullmatch(r"\d{1,2}:\d{2}", value):
        hour, minute = (int(x) for x in value.split(":"))
        local = now.astimezone(tz)
        return local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise TimeInputError(
            f"cannot read the time {text!r}: use 2026-11-24T18:00, 18:00, +90m or -2h"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=tz)


def _yaml() -> YAML:
    yaml = YAML()  # round-trip: comments, order and quoting survive
    yaml.preserve_quotes = True
    yaml.width = 100
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def _stamp(moment: dt.datetime, tz: dt.tzinfo) -> str:
    return moment.astimezone(tz).isoformat(timespec="seconds")


def _texts(values: dict[str, str]) -> CommentedMap:
    out = CommentedMap()
    for locale, text in values.items():
        out[locale] = text
    if all(len(t) < 40 for t in values.values()):  # short texts read best on one line
        out.fa.set_flow_style()
    return out


def _flow(values: list[str]) -> CommentedSeq:
    seq = CommentedSeq(values)
    seq.fa.set_flow_style()
    return seq


def apply_change(text: str, change: Change, *, author: str, now: dt.datetime) -> str:
    """The feed text with `change` applied. Raises ChangeError when it cannot apply."""
    yaml = _yaml()
    document = yaml.load(text)
    if not isinstance(document, CommentedMap):
        raise ChangeError("the feed is not a YAML mapping")
    organization = document.get("organization") or {}
    tz = _zone(organization.get("timezone"))
    locales = [str(x) for x in organization.get("locales") or ["es"]]
    incidents = document.get("incidents")
    if incidents is None:
        incidents = document["incidents"] = CommentedSeq()
    _check_past_times(change, now, tz)
    if isinstance(change, OpenIncident):
        _open(incidents, change, author=author, now=now, tz=tz, locales=locales)
    elif isinstance(change, TellEdges):
        told = [e for e in change.edges if _tell_edge(incidents, e, author, tz, locales)]
        if not told:
            raise ChangeError("no edge left to tell: each was told or changed since")
    else:
        incident = next((i for i in incidents if i.get("id") == change.id), None)
        if incident is None:
            raise UnknownIncident(f"no incident with id {change.id!r}")
        if incident.get("status") == Status.RESOLVED.value:
            raise ChangeError(f"incident {change.id!r} is already resolved")
        if isinstance(change, UpdateIncident):
            _update(incident, change, author=author, now=now, tz=tz, locales=locales)
        else:
            _resolve(incident, change, author=author, now=now, tz=tz, locales=locales)
    out = io.StringIO()
    yaml.dump(document, out)
    return out.getvalue()


def past_times(change: Change, now: dt.datetime) -> list[str]:
    """The promised times of `change` already behind `now` (ETA, next update), by name."""
    if not isinstance(change, OpenIncident | UpdateIncident):
        return []
    named = {"eta": change.eta, "next_update_by": change.next_update_by}
    return [name for name, moment in named.items() if moment is not None and moment < now]


def past_warning(change: Change, now: dt.datetime, tz: dt.tzinfo) -> str | None:
    """What an operator is told about times in the past in `change` (None when there are none)."""
    names = past_times(change, now)
    if not names:
        return None
    parts = []
    for name in names:
        moment = getattr(change, name)
        minutes = int((now - moment).total_seconds() // 60)
        ago = f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"
        label = {"eta": "the ETA", "next_update_by": "the next update"}[name]
        parts.append(f"{label} {_stamp(moment, tz)} is {ago} in the past")
    return "; ".join(parts) + (": every channel would tell a time that has already passed")


def _check_past_times(change: Change, now: dt.datetime, tz: dt.tzinfo) -> None:
    warning = past_warning(change, now, tz)
    if warning and not getattr(change, "confirm", False):
        raise NeedsConfirmation(
            f'{warning}. Give a later time, or confirm it (CLI --force, API "confirm": true, '
            f"the console's 'confirm' box)."
        )


def _zone(name: Any) -> dt.tzinfo:
    from zoneinfo import ZoneInfo

    try:
        return ZoneInfo(str(name))
    except Exception:  # the validation of the result reports a bad zone; stamp in UTC meanwhile
        return dt.UTC


def _timeline_entry(
    at: dt.datetime,
    status: Status,
    message: dict[str, str] | None,
    *,
    author: str,
    tz: dt.tzinfo,
    locales: list[str],
) -> CommentedMap:
    entry = CommentedMap()
    entry["at"] = _stamp(at, tz)
    entry["status"] = status.value
    entry["message"] = _texts(
        message or {locale: _default_message(status, locale) for locale in locales}
    )
    entry["author"] = author
    return entry


def _default_message(status: Status, locale: str) -> str:
    label = status_label(status, locale)
    return words(locale)("timeline.new_status", label=label)


def _open(
    incidents: CommentedSeq,
    change: OpenIncident,
    *,
    author: str,
    now: dt.datetime,
    tz: dt.tzinfo,
    locales: list[str],
) -> None:
    if any(i.get("id") == change.id for i in incidents):
        raise ChangeError(f"an incident with id {change.id!r} already exists")
    started = change.started_at or now
    incident = CommentedMap()
    incident["id"] = change.id
    if change.kind is not Kind.INCIDENT:
        incident["kind"] = change.kind.value
    incident["title"] = _texts(change.title)
    incident["summary"] = _texts(change.summary)
    incident["status"] = change.status.value
    incident["severity"] = change.severity.value
    incident["services"] = _flow(change.services)
    incident["areas"] = _flow(change.areas)
    incident["started_at"] = _stamp(started, tz)
    if change.eta is not None:
        incident["eta"] = _stamp(change.eta, tz)
    if change.next_update_by is not None:
        incident["next_update_by"] = _stamp(change.next_update_by, tz)
    for field in ("workaround", "apology", "staff_instructions"):
        value = getattr(change, field)
        if value is not None:
            incident[field] = _texts(value)
    if change.maintenance_starts_at is not None and change.maintenance_ends_at is not None:
        window = CommentedMap()
        window["starts_at"] = _stamp(change.maintenance_starts_at, tz)
        window["ends_at"] = _stamp(change.maintenance_ends_at, tz)
        incident["maintenance"] = window
    incident["updates"] = CommentedSeq(
        [_timeline_entry(now, change.status, change.summary, author=author, tz=tz, locales=locales)]
    )
    incidents.append(incident)


def _update(
    incident: CommentedMap,
    change: UpdateIncident,
    *,
    author: str,
    now: dt.datetime,
    tz: dt.tzinfo,
    locales: list[str],
) -> None:
    fields = change.model_dump(
        exclude_unset=True, exclude={"action", "id", "message", "clear_eta", "confirm"}
    )
    if not fields and not change.clear_eta and change.message is None:
        raise ChangeError("nothing to change: give a status, ETA, message or another field")
    for field in ("status", "severity"):
        value = getattr(change, field)
        if value is not None:
            incident[field] = value.value
    for field in ("eta", "next_update_by"):
        value = getattr(change, field)
        if value is not None:
            incident[field] = _stamp(value, tz)
    if change.clear_eta:
        incident.pop("eta", None)
    for field in ("workaround", "title", "summary", "apology", "staff_instructions"):
        value = getattr(change, field)
        if value is not None:
            incident[field] = _texts(value)
    for field in ("areas", "services"):
        value = getattr(change, field)
        if value is not None:
            incident[field] = _flow(value)
    status_changed = change.status is not None
    if change.message is not None or status_changed:
        status = Status(str(incident.get("status")))
        _append_update(
            incident,
            _timeline_entry(now, status, change.message, author=author, tz=tz, locales=locales),
        )


def _resolve(
    incident: CommentedMap,
    change: ResolveIncident,
    *,
    author: str,
    now: dt.datetime,
    tz: dt.tzinfo,
    locales: list[str],
) -> None:
    resolved_at = change.resolved_at or now
    incident["status"] = Status.RESOLVED.value
    incident["resolved_at"] = _stamp(resolved_at, tz)
    if change.message is not None:
        incident["resolution"] = _texts(change.message)
    _append_update(
        incident,
        _timeline_entry(
            resolved_at, Status.RESOLVED, change.message, author=author, tz=tz, locales=locales
        ),
    )


def _moment(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _tell_edge(
    incidents: CommentedSeq, told: EdgeToTell, author: str, tz: dt.tzinfo, locales: list[str]
) -> bool:
    """Write one edge into its incident; False when it no longer stands (resolved, its time
    moved by an operator, the maintenance already moved on, or told already)."""
    incident = next((i for i in incidents if i.get("id") == told.incident), None)
    if incident is None or incident.get("status") == Status.RESOLVED.value:
        return False
    window = incident.get("maintenance") or {}
    field_value = {
        Edge.NEXT_UPDATE_OVERDUE: incident.get("next_update_by"),
        Edge.ETA_PASSED: incident.get("eta"),
        Edge.MAINTENANCE_STARTED: window.get("starts_at"),
        Edge.MAINTENANCE_ENDED: window.get("ends_at"),
    }[told.edge]
    if _moment(field_value) != told.at:
        return False
    status = Status(str(incident.get("status")))
    if told.edge is Edge.MAINTENANCE_STARTED and status is not Status.SCHEDULED:
        return False  # an operator started (or finished) it already: their change wins
    for update in incident.get("updates") or []:
        if update.get("edge") == told.edge.value and _moment(update.get("at")) == told.at:
            return False
    if told.edge is Edge.MAINTENANCE_STARTED:
        status = Status.IN_PROGRESS
    elif told.edge is Edge.MAINTENANCE_ENDED:
        status = Status.RESOLVED
        incident["resolved_at"] = _stamp(told.at, tz)
        incident["resolution"] = _texts(
            {locale: words(locale)("timeline.maintenance_ended") for locale in locales}
        )
    incident["status"] = status.value
    entry = _timeline_entry(
        told.at,
        status,
        {locale: words(locale)(f"timeline.{told.edge.value}") for locale in locales},
        author=author,
        tz=tz,
        locales=locales,
    )
    entry["edge"] = told.edge.value
    _append_update(incident, entry)
    return True


def _append_update(incident: CommentedMap, entry: CommentedMap) -> None:
    updates = incident.get("updates")
    if updates is None:
        incident["updates"] = CommentedSeq([entry])
    else:
        updates.append(entry)
