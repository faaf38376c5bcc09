"""Operations on incidents — open, update, resolve — shared by the CLI, the admin API and bots.

Each change edits the YAML text with ruamel.yaml's round-trip mode, so the
operator's comments and key order survive, and adds a timeline entry with its
author. The caller validates the result and records it as a revision.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import re
from dataclasses import dataclass
from typing import Any, Literal
from zoneinfo import ZoneInfo

import yaml as pyyaml
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.representer import RoundTripRepresenter

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
from bot.render.when import say_when
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
        this_minute = now.replace(second=0, microsecond=0)  # "+2h" said at 12:00:07 is 14:00
        return _round_up(this_minute + dt.timedelta(**{unit: amount}))
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


def _round_up(moment: dt.datetime) -> dt.datetime:
    """A relative time told as people say it, `moment` on a whole minute: "+1h" at 12:01 is
    13:05, not 13:01 (up, never down: a promise a few minutes later than asked, never
    earlier)."""
    return moment + dt.timedelta(minutes=-moment.minute % 5)


_FAST_LOADER = getattr(pyyaml, "CSafeLoader", pyyaml.SafeLoader)


def _yaml() -> YAML:
    yaml = YAML()  # round-trip: comments, order and quoting survive
    yaml.preserve_quotes = True
    yaml.width = 100
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


class _Stamp(str):
    """A time written as YAML writes it by hand: a plain timestamp, not a quoted string."""


def _stamp(moment: dt.datetime, tz: dt.tzinfo) -> str:
    return _Stamp(moment.astimezone(tz).isoformat(timespec="seconds"))


RoundTripRepresenter.add_representer(
    _Stamp, lambda r, data: r.represent_scalar("tag:yaml.org,2002:timestamp", str(data))
)


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
    """The feed text with `change` applied. Raises ChangeError when it cannot apply.

    Only the incidents the change touches are read and written with ruamel.yaml (a
    round trip of a whole feed of thousands of incidents takes tens of seconds); the
    rest of the text is kept byte for byte. A feed laid out in a way that fast path
    does not recognise (flow style, unusual indentation) is edited whole.
    """
    return edit_feed(text, change, author=author, now=now).text


@dataclass(frozen=True)
class Edit:
    """A change applied to a feed's text: the new text and, when the change rewrote only
    some incident items in place, which ones and where the items of the new text lie — so
    the new text can be checked item by item (`bot.feed.loader.revalidate`) and edited
    again without reading it all (`edit_feed`'s `layout`)."""

    text: str
    layout: _Layout | None = None  # where the incidents of `text` lie; None: edited whole
    touched: tuple[int, ...] = ()  # the items rewritten or added, by position in `text`
    replaced: str = ""  # the text of the items they replaced

    @classmethod
    def of(cls, text: str) -> Edit:
        """`text` as it is, with where its items lie: what the next edit starts from."""
        return cls(text, _Layout.of(text))

    def item_count(self) -> int:
        return len(self.layout.items) if self.layout is not None else 0

    def item_id(self, index: int) -> str | None:
        """The id item `index` of the new text shows on its `id:` line."""
        return self.layout.ids[index] if self.layout is not None else None

    def item_text(self, index: int) -> str:
        """Item `index` of the new text, as written there (up to the next item)."""
        if self.layout is None:
            raise ValueError("an edit of the whole feed has no items of its own")
        start, end = self.layout.items[index]
        return "".join(self.layout.lines[start:end])


def edit_feed(
    text: str, change: Change, *, author: str, now: dt.datetime, layout: _Layout | None = None
) -> Edit:
    """`apply_change`, saying which incident items it rewrote. `layout`: where the items
    of `text` lie, when an earlier edit said so (`Edit.layout`); found in `text` else."""
    if layout is None or layout.text() != text:
        layout = _Layout.of(text)
    if layout is None:
        return Edit(_apply_whole(text, change, author=author, now=now))
    return layout.apply(change, author=author, now=now)


def _apply_whole(text: str, change: Change, *, author: str, now: dt.datetime) -> str:
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
    _change_incidents(incidents, change, author=author, now=now, tz=tz, locales=locales)
    out = io.StringIO()
    yaml.dump(document, out)
    return out.getvalue()


def _change_incidents(
    incidents: CommentedSeq,
    change: Change,
    *,
    author: str,
    now: dt.datetime,
    tz: dt.tzinfo,
    locales: list[str],
) -> None:
    _check_past_times(change, now, tz)
    if isinstance(change, OpenIncident):
        _open(incidents, change, author=author, now=now, tz=tz, locales=locales)
    elif isinstance(change, TellEdges):
        told = [e for e in change.edges if _tell_edge(incidents, e, author, now, tz, locales)]
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


_TOP_KEY = re.compile(r"^([A-Za-z_][\w-]*)[ \t]*:(.*)$")
_DASH = re.compile(r"^( *)-(?: |$)")
_ITEM_ID = re.compile(r"""^ *(?:- +)?id *: *["']?([A-Za-z0-9_.-]+)["']? *(?:#.*)?$""")
_SEQUENCE_OFFSET = 2  # where _yaml() puts a sequence's dash


@dataclass
class _Layout:
    """Where the `incidents:` items of a block-style feed lie, line by line."""

    lines: list[str]
    section: tuple[int, int]  # the lines after `incidents:`, up to the next top-level key
    items: list[tuple[int, int]]  # each item's lines
    ids: list[str | None]
    indent: int  # the column of the items' dashes
    organization: dict[str, Any]
    _text: str | None = dataclasses.field(default=None, compare=False, repr=False)

    def text(self) -> str:
        if self._text is None:
            self._text = "".join(self.lines)
        return self._text

    @classmethod
    def of(cls, text: str) -> _Layout | None:
        lines = text.splitlines(keepends=True)
        if not lines or not lines[-1].endswith("\n"):
            return None
        tops = [(n, m) for n, line in enumerate(lines) if (m := _TOP_KEY.match(line))]
        where = {m.group(1): n for n, m in tops}
        heads = [n for n, _ in tops]
        if "incidents" not in where or "organization" not in where:
            return None
        head = where["incidents"]
        if tops[heads.index(head)][1].group(2).split("#", 1)[0].strip():
            return None  # `incidents: []` or a flow list: edit the whole feed
        later = [n for n in heads if n > head]
        section = (head + 1, later[0] if later else len(lines))
        dashes = [(n, len(m.group(1))) for n in range(*section) if (m := _DASH.match(lines[n]))]
        indent = min((col for _, col in dashes), default=_SEQUENCE_OFFSET)
        starts = [n for n, col in dashes if col == indent]
        if any(
            line.strip() and not line.lstrip().startswith("#") and _leading(line) < indent
            for line in lines[section[0] : section[1]]
        ):
            return None
        items = [
            (start, starts[k + 1] if k + 1 < len(starts) else section[1])
            for k, start in enumerate(starts)
        ]
        ids = [cls._id_of(lines[a:b], indent) for a, b in items]
        organization = cls._organization(lines, where["organization"], heads)
        if organization is None:
            return None
        return cls(lines, section, items, ids, indent, organization)

    @staticmethod
    def _id_of(block: list[str], indent: int) -> str | None:
        key_column = indent + 2  # "- id:" or "  id:" under the dash
        for line in block:
            match = _ITEM_ID.match(line)
            if match and (line.lstrip().startswith("- ") or _leading(line) == key_column):
                return match.group(1)
        return None

    @staticmethod
    def _organization(lines: list[str], head: int, heads: list[int]) -> dict[str, Any] | None:
        later = [n for n in heads if n > head]
        block = "".join(lines[head : later[0] if later else len(lines)])
        try:
            loaded = pyyaml.load(block, Loader=_FAST_LOADER)
        except pyyaml.YAMLError:
            return None
        organization = loaded.get("organization") if isinstance(loaded, dict) else None
        return organization if isinstance(organization, dict) else None

    def apply(self, change: Change, *, author: str, now: dt.datetime) -> Edit:
        tz = _zone(self.organization.get("timezone"))
        locales = [str(x) for x in self.organization.get("locales") or ["es"]]
        if isinstance(change, OpenIncident):
            if change.id in self.ids:
                raise ChangeError(f"an incident with id {change.id!r} already exists")
            wanted: list[int] = []
        elif isinstance(change, TellEdges):
            names = {e.incident for e in change.edges}
            wanted = [k for k, found in enumerate(self.ids) if found in names]
        else:
            wanted = [k for k, found in enumerate(self.ids) if found == change.id]
            if not wanted:
                raise UnknownIncident(f"no incident with id {change.id!r}")
        if len(wanted) != len(set(self.ids[k] for k in wanted)) or None in self.ids:
            return Edit(_apply_whole(self.text(), change, author=author, now=now))
        yaml = _yaml()
        shift = _SEQUENCE_OFFSET - self.indent
        # Each item without the blank and comment lines that close it (kept as they are).
        bodies = [self._body(k) for k in wanted]
        blocks = ["".join(_reindent(body, shift)) for body in bodies]
        incidents = yaml.load("".join(blocks)) if blocks else CommentedSeq()
        if incidents is None:
            incidents = CommentedSeq()
        if not isinstance(incidents, CommentedSeq) or len(incidents) != len(wanted):
            return Edit(_apply_whole(self.text(), change, author=author, now=now))
        _change_incidents(incidents, change, author=author, now=now, tz=tz, locales=locales)
        out = io.StringIO()
        yaml.dump(incidents, out)
        written = _reindent(out.getvalue().splitlines(keepends=True), -shift)
        if not wanted:
            return self._append(written)
        return self._splice(wanted, written)

    def _append(self, written: list[str]) -> Edit:
        """A new incident, after the last one (before the blank lines closing the section)."""
        at = self.items[-1][1] if self.items else self.section[0]
        while at > self.section[0] and not self.lines[at - 1].strip():
            at -= 1
        lines = self.lines[:at] + written + self.lines[at:]
        items = list(self.items)
        # The last item no longer ends with the section's blank lines: it is touched too.
        touched = [len(items) - 1] if items else []
        replaced = self._segment(items[-1]) if items else ""
        if items:
            items[-1] = (items[-1][0], at)
        items.append((at, self.section[1] + len(written)))
        touched.append(len(items) - 1)
        layout = self._edited(lines, items, {len(items) - 1: written})
        return Edit(layout.text(), layout, tuple(touched), replaced)

    def _splice(self, wanted: list[int], written: list[str]) -> Edit:
        """One block per incident changed, in the order they came: each put back in place."""
        blocks = dict(zip(wanted, _split_items(written, self.indent), strict=True))
        lines: list[str] = []
        items: list[tuple[int, int]] = []
        copied = 0  # lines of the old text copied so far
        shift = 0  # how far the items from here on moved
        for k, (start, end) in enumerate(self.items):
            block = blocks.get(k)
            if block is None:
                items.append((start + shift, end + shift))
                continue
            body = len(self._body(k))
            lines += self.lines[copied:start]
            lines += block
            copied = start + body
            items.append((start + shift, end + shift + len(block) - body))
            shift += len(block) - body
        lines += self.lines[copied:]
        replaced = "".join(self._segment(self.items[k]) for k in wanted)
        layout = self._edited(lines, items, blocks)
        return Edit(layout.text(), layout, tuple(wanted), replaced)

    def _edited(
        self, lines: list[str], items: list[tuple[int, int]], blocks: dict[int, list[str]]
    ) -> _Layout:
        """The layout of the text edited: these `lines`, `items`, and the ids of `blocks`."""
        ids = list(self.ids)
        ids.extend([None] * (len(items) - len(ids)))
        for k, block in blocks.items():
            ids[k] = self._id_of(block, self.indent)
        section = (self.section[0], self.section[1] + len(lines) - len(self.lines))
        return _Layout(lines, section, items, ids, self.indent, self.organization)

    def _segment(self, item: tuple[int, int]) -> str:
        return "".join(self.lines[item[0] : item[1]])

    def _body(self, k: int) -> list[str]:
        a, b = self.items[k]
        block = self.lines[a:b]
        return block[: len(block) - len(_trailing_blank(block))]


def _leading(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _reindent(lines: list[str], shift: int) -> list[str]:
    if shift >= 0:
        return [(" " * shift + line) if line.strip() else line for line in lines]
    return [line[-shift:] if line.strip() else line for line in lines]


def _split_items(lines: list[str], indent: int) -> list[list[str]]:
    items: list[list[str]] = []
    for line in lines:
        match = _DASH.match(line)
        if match and len(match.group(1)) == indent:
            items.append([])
        if items:
            items[-1].append(line)
    return items


def _trailing_blank(block: list[str]) -> list[str]:
    """The blank and comment lines that end an item (they separate it from the next)."""
    end = len(block)
    while end > 0 and (not block[end - 1].strip() or block[end - 1].lstrip().startswith("#")):
        end -= 1
    return block[end:]


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


def _named(tz: dt.tzinfo) -> ZoneInfo:
    return tz if isinstance(tz, ZoneInfo) else ZoneInfo("UTC")


def _moment(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _tell_edge(
    incidents: CommentedSeq,
    told: EdgeToTell,
    author: str,
    now: dt.datetime,
    tz: dt.tzinfo,
    locales: list[str],
) -> bool:
    """Write one edge into its incident; False when it no longer stands (resolved, its time
    moved by an operator, the maintenance already moved on, or told already)."""
    incident = next((i for i in incidents if i.get("id") == told.incident), None)
    if incident is None or incident.get("status") == Status.RESOLVED.value:
        return False
    window = incident.get("maintenance") or {}
    starts = _moment(window.get("starts_at"))
    status = Status(str(incident.get("status")))
    if told.edge is Edge.MAINTENANCE_REMINDER:
        # A reminder stands while the window is ahead and not started by hand.
        if starts is None or not told.at < starts or status is not Status.SCHEDULED:
            return False
    else:
        field_value = {
            Edge.NEXT_UPDATE_OVERDUE: incident.get("next_update_by"),
            Edge.ETA_PASSED: incident.get("eta"),
            Edge.MAINTENANCE_STARTED: window.get("starts_at"),
            Edge.MAINTENANCE_ENDED: window.get("ends_at"),
        }[told.edge]
        if _moment(field_value) != told.at:
            return False
    if told.edge is Edge.MAINTENANCE_STARTED and status is not Status.SCHEDULED:
        return False  # an operator started (or finished) it already: their change wins
    updates = incident.get("updates") or []
    for update in updates:
        if update.get("edge") == told.edge.value and _moment(update.get("about")) == told.at:
            return False
    # Told now (at its instant, or at start after a downtime); never before the timeline's
    # last entry, should the clock have jumped back.
    latest = max((m for u in updates if (m := _moment(u.get("at"))) is not None), default=None)
    at = max(now, told.at, latest) if latest is not None else max(now, told.at)
    if told.edge is Edge.MAINTENANCE_STARTED:
        status = Status.IN_PROGRESS
    elif told.edge is Edge.MAINTENANCE_ENDED:
        status = Status.RESOLVED
        incident["resolved_at"] = _stamp(told.at, tz)
        incident["resolution"] = _texts(
            {locale: words(locale)("timeline.maintenance_ended") for locale in locales}
        )
    incident["status"] = status.value
    if told.edge is Edge.MAINTENANCE_REMINDER and starts is not None:
        message = {
            locale: words(locale)(
                "timeline.maintenance_reminder", when=say_when(starts, at, locale, _named(tz))
            )
            for locale in locales
        }
    else:
        message = {locale: words(locale)(f"timeline.{told.edge.value}") for locale in locales}
    entry = _timeline_entry(
        at,
        status,
        message,
        author=author,
        tz=tz,
        locales=locales,
    )
    entry["edge"] = told.edge.value
    entry["about"] = _stamp(told.at, tz)
    _append_update(incident, entry)
    return True


def _append_update(incident: CommentedMap, entry: CommentedMap) -> None:
    updates = incident.get("updates")
    if updates is None:
        incident["updates"] = CommentedSeq([entry])
    else:
        updates.append(entry)
