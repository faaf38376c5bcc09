"""Typed model of the status feed: organization, services, areas, incidents, staff, channels.

Plain data, no I/O. Structural rules live here (types, enums, required fields);
rules that need the whole document and its line numbers (unknown ids, a text
missing in a declared locale, an ETA before the start…) live in `checks.py`.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, Generic, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

Identifier = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$"),
    Field(description="Lower-case id: letters, digits, '-', '_' or '.', at most 64 characters."),
]
LocaleCode = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(_[A-Z]{2})?$")]
NonEmptyText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Postcode = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9 -]{2,12}$")
]


def _printable(text: str) -> str:
    """No control characters (a line break or tab is fine) and no lone surrogates: each would
    break an output later (XML in TwiML, VoiceXML and Atom; JSON; a voice)."""
    for char in text:
        code = ord(char)
        if (code < 0x20 and char not in "\n\t") or 0x7F <= code < 0xA0 or 0xD800 <= code < 0xE000:
            raise ValueError(f"contains the control character U+{code:04X}; remove it")
        if char in "\u2028\u2029\ufffe\uffff":
            raise ValueError(f"contains the character U+{code:04X}; remove it")
    return text


def _localized(limit: int, description: str) -> Any:
    """A text per locale, each at most `limit` characters (so every channel can tell it whole)."""
    return Annotated[
        dict[
            LocaleCode,
            Annotated[
                str,
                StringConstraints(strip_whitespace=True, min_length=1, max_length=limit),
                AfterValidator(_printable),
            ],
        ],
        Field(description=f"{description} Per locale, at most {limit} characters."),
    ]


# Length limits per field: a title is never cut on any channel, so it must fit the shortest
# (an X post with status, ETA and link); other texts are dropped whole when they do not fit.
TEXT_LIMITS = {
    "title": 80,
    "name": 60,
    "summary": 400,
    "workaround": 300,
    "apology": 200,
    "resolution": 300,
    "hours": 60,
    "staff_instructions": 1000,
    "message": 1000,
}
if TYPE_CHECKING:  # to mypy, a text per locale; to pydantic, one with its limits
    LocalizedText = dict[str, str]
    TitleText = dict[str, str]
    NameText = dict[str, str]
    SummaryText = dict[str, str]
    WorkaroundText = dict[str, str]
    ApologyText = dict[str, str]
    ResolutionText = dict[str, str]
    HoursText = dict[str, str]
    StaffText = dict[str, str]
    MessageText = dict[str, str]
else:
    LocalizedText = _localized(1000, "The same text in each locale of the organization.")
    TitleText = _localized(TEXT_LIMITS["title"], "A short title, never cut on any channel.")
    NameText = _localized(TEXT_LIMITS["name"], "A name as people say it.")
    SummaryText = _localized(
        TEXT_LIMITS["summary"], "What is wrong, in words a customer understands."
    )
    WorkaroundText = _localized(
        TEXT_LIMITS["workaround"], "What a customer can do meanwhile (provisional alternative)."
    )
    ApologyText = _localized(TEXT_LIMITS["apology"], "The apology.")
    ResolutionText = _localized(TEXT_LIMITS["resolution"], "What was fixed.")
    HoursText = _localized(TEXT_LIMITS["hours"], "Opening hours as a person would say them.")
    StaffText = _localized(
        TEXT_LIMITS["staff_instructions"],
        "Internal: what field staff must do (never shown to customers).",
    )
    MessageText = _localized(TEXT_LIMITS["message"], "A timeline entry telling what changed.")


Timestamp = Annotated[
    AwareDatetime,
    Field(
        description="ISO 8601 date and time with its UTC offset, e.g. 2026-11-24T09:10:00+01:00."
    ),
]


class _Model(BaseModel):
    """Every feed model rejects unknown keys, so a typo is an error, not a silent no-op."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Kind(StrEnum):
    INCIDENT = "incident"
    MAINTENANCE = "maintenance"


class Status(StrEnum):
    """Where an incident stands. `scheduled` and `in_progress` are for maintenance."""

    SCHEDULED = "scheduled"
    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    IN_PROGRESS = "in_progress"
    MONITORING = "monitoring"
    RESOLVED = "resolved"


INCIDENT_STATUSES = frozenset(
    {Status.INVESTIGATING, Status.IDENTIFIED, Status.MONITORING, Status.RESOLVED}
)
MAINTENANCE_STATUSES = frozenset(
    {Status.SCHEDULED, Status.IN_PROGRESS, Status.MONITORING, Status.RESOLVED}
)


class Severity(StrEnum):
    MINOR = "minor"
    MAJOR = "major"
    CRITICAL = "critical"


class HumanContact(_Model):
    """How a customer reaches a person: said on the phone, shown on the web, sent in replies."""

    phone: Annotated[str, StringConstraints(pattern=r"^\+?[0-9 ()-]{3,20}$")]
    hours: HoursText
    url: str | None = Field(default=None, description="Contact form or chat page.")
    opening_hours: list[OpeningHours] = Field(
        default_factory=list,
        description="Machine-readable opening hours (for routing calls); empty means always open.",
    )


class OpeningHours(_Model):
    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]]
    opens: dt.time
    closes: dt.time


class ClaimsLint(_Model):
    """How the claims lint treats what a person writes to a customer."""

    warn: list[Literal["eta", "resolved", "area", "service", "contact", "next_update"]] = Field(
        default_factory=list,
        description="Kinds of finding that only warn instead of blocking the reply.",
    )


class Organization(_Model):
    name: NameText
    timezone: str = Field(description="IANA time zone in which people read times.")
    locales: list[LocaleCode] = Field(min_length=1)
    default_locale: LocaleCode
    status_page_url: str = Field(
        description="Public status page; linked from short channels.",
        max_length=200,
        pattern=r"^https?://[^\s<>\"]+$",
    )
    postcode_pattern: str = Field(
        default=r"\d{5}",
        max_length=100,
        description="Regular expression every postcode of the feed must match whole. A caller "
        "keys postcodes in on a phone's keypad, so keep it to digits (default: five digits).",
    )
    human_contact: HumanContact
    apology: ApologyText = Field(
        description="The organization's apology: said in the phone's greeting, and by any "
        "incident that does not carry its own."
    )
    maintenance_reminders: list[dt.timedelta] = Field(
        default_factory=lambda: [dt.timedelta(hours=24), dt.timedelta(hours=1)],
        max_length=5,
        description="How long before a maintenance starts every channel reminds of it "
        "(ISO 8601 durations, e.g. [PT24H, PT1H]; [] for none).",
    )
    claims_lint: ClaimsLint | None = Field(
        default=None, description="Claims lint settings (which findings only warn)."
    )

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name)") from None
        return value

    @field_validator("postcode_pattern")
    @classmethod
    def _a_pattern_of_digits(cls, value: str) -> str:
        import re

        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a regular expression: {exc}") from None
        if re.search(r"[A-Za-z]", value.replace("\\d", "")):
            raise ValueError(
                "a postcode pattern with letters: callers key postcodes in on a phone's keypad "
                "(use digits, e.g. \\d{5})"
            )
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class Service(_Model):
    id: Identifier
    name: NameText
    contact: HumanContact | None = Field(
        default=None, description="Who answers for this service, if not the organization."
    )


class Area(_Model):
    id: Identifier
    name: NameText
    postcodes: list[Postcode] = Field(default_factory=list)
    parent: Identifier | None = None


class Edge(StrEnum):
    """A moment a promise falls due, told by the scheduler as a timeline entry of its own."""

    NEXT_UPDATE_OVERDUE = "next_update_overdue"  # `next_update_by` passed with no update
    ETA_PASSED = "eta_passed"  # the ETA passed unresolved
    MAINTENANCE_REMINDER = "maintenance_reminder"  # a while before the window starts
    MAINTENANCE_STARTED = "maintenance_started"
    MAINTENANCE_ENDED = "maintenance_ended"


class Update(_Model):
    """One entry of an incident's timeline, newest last."""

    at: Timestamp
    status: Status
    message: MessageText
    author: str | None = None
    edge: Edge | None = Field(
        default=None,
        description="Set by the scheduler: the kind of promise that fell due (written once).",
    )
    about: Timestamp | None = Field(
        default=None, description="With `edge`: the time promised (the ETA, the next update…)."
    )


class Maintenance(_Model):
    starts_at: Timestamp
    ends_at: Timestamp


class Incident(_Model):
    id: Identifier
    kind: Kind = Kind.INCIDENT
    title: TitleText
    summary: SummaryText
    status: Status
    severity: Severity = Severity.MAJOR
    services: list[Identifier] = Field(min_length=1)
    areas: list[Identifier] = Field(min_length=1)
    started_at: Timestamp
    eta: Timestamp | None = Field(
        default=None, description="Honest estimate of the fix; leave empty when there is none."
    )
    next_update_by: Timestamp | None = Field(
        default=None, description="When the next update will be given, at the latest."
    )
    workaround: WorkaroundText | None = None
    apology: ApologyText | None = None
    staff_instructions: StaffText | None = None
    updates: list[Update] = Field(default_factory=list)
    resolved_at: Timestamp | None = None
    resolution: ResolutionText | None = None
    maintenance: Maintenance | None = None

    @property
    def is_open(self) -> bool:
        return self.status is not Status.RESOLVED

    def as_of(self, now: dt.datetime) -> Incident:
        """This incident as every channel tells it at `now` (see `effective_status`)."""
        status = effective_status(self.kind, self.status, self.maintenance, now)
        if status is self.status:
            return self
        update: dict[str, Any] = {"status": status}
        if status is Status.RESOLVED and self.maintenance is not None:
            update["resolved_at"] = self.resolved_at or self.maintenance.ends_at
        return self.model_copy(update=update)


def effective_status(
    kind: Kind, status: Status, window: Maintenance | None, now: dt.datetime
) -> Status:
    """The one rule for a maintenance's state at `now`, from its status and its window.

    The scheduler writes the window's edges into the feed, but between an edge and its
    revision — and in a preview or a static export, where no scheduler runs — the window
    decides: a `scheduled` maintenance is in progress inside its window, and any open
    maintenance is completed (resolved) once its window has ended. Every channel reads
    this, so none tells "scheduled" while another tells "under maintenance".
    """
    if kind is not Kind.MAINTENANCE or window is None or status is Status.RESOLVED:
        return status
    if now >= window.ends_at:
        return Status.RESOLVED
    if status is Status.SCHEDULED and now >= window.starts_at:
        return Status.IN_PROGRESS
    return status


class StaffGroup(_Model):
    id: Identifier
    name: NonEmptyText
    locale: LocaleCode | None = None
    areas: list[Identifier] = Field(default_factory=list, description="Empty means every area.")
    services: list[Identifier] = Field(
        default_factory=list, description="Empty means every service."
    )
    telegram_chat_ids: list[int] = Field(default_factory=list)
    escalate_after: dt.timedelta = Field(
        default=dt.timedelta(minutes=10),
        gt=dt.timedelta(0),
        description="An alert nobody acknowledged this long after (ISO 8601, e.g. PT10M, or"
        " seconds) is repeated in the group, then as long again later sent to `escalate_to`.",
    )
    escalate_to: Identifier | None = Field(
        default=None, description="The staff group told when an alert is not acknowledged."
    )


class ChannelOptions(BaseModel):
    """The base of every channel's options (`channels.<name>.options`): unknown keys are
    errors, and a key left empty in the YAML (`urls:`) takes its default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _empty_is_default(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: v for k, v in value.items() if v is not None and v != ""}
        return value


class NoOptions(ChannelOptions):
    """A channel without options of its own."""


OptionsT = TypeVar("OptionsT", bound=BaseModel)


class ChannelSettings(_Model, Generic[OptionsT]):
    """`channels.<name>` in the feed: on or off, wording overrides, the channel's own options.

    `options` is typed by the channel itself (its `options_model`, unknown keys rejected),
    so a misspelt option is a `file:line` error rather than a setting that does nothing.
    """

    enabled: bool = True
    templates: dict[LocaleCode, NonEmptyText] = Field(
        default_factory=dict,
        description="Jinja2 template per locale replacing the built-in one (sandboxed).",
    )
    options: OptionsT

    @model_validator(mode="before")
    @classmethod
    def _options_default(cls, value: Any) -> Any:
        if isinstance(value, dict) and value.get("options") is None:
            return {**value, "options": {}}
        return value


class Channels(_Model):
    """The feed's `channels:` section. The registry makes the real model, one field per
    channel it knows (`bot.registry`); this base only knows how to look one up."""

    def get(self, name: str) -> ChannelSettings[Any]:
        settings = getattr(self, name, None) if name in type(self).model_fields else None
        if not isinstance(settings, ChannelSettings):
            raise KeyError(name)
        return settings


class Feed(_Model):
    """The whole status feed, as `status_feed.yaml` holds it."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        title="Unavoz status feed",
        json_schema_extra={"$id": "https://unavoz.example/schema/status_feed.schema.json"},
    )

    version: int = Field(default=1, ge=1, le=1, description="Format version of this file.")
    organization: Organization
    services: list[Service] = Field(min_length=1)
    areas: list[Area] = Field(min_length=1)
    incidents: list[Incident] = Field(default_factory=list)
    staff_groups: list[StaffGroup] = Field(default_factory=list)
    channels: Channels = Channels()

    def incident(self, incident_id: str) -> Incident | None:
        return next((i for i in self.incidents if i.id == incident_id), None)


HumanContact.model_rebuild()
