"""The `unavoz` command: validate, preview, run, incident open|update|resolve, schema, lint."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import getpass
import json
import logging
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from bot.clock import Clock, start_clock
from bot.edges import DueEdge
from bot.feed.changes import (
    Change,
    ChangeError,
    OpenIncident,
    ResolveIncident,
    TimeInputError,
    UpdateIncident,
    parse_when,
    past_warning,
)
from bot.feed.loader import load_feed
from bot.feed.models import Kind, Severity, Status
from bot.feed.yamlsource import FeedError
from bot.preview import preview_feed
from bot.registry import default_registry
from bot.settings import Settings

SCHEMA_FILE = "status_feed.schema.json"
_LOCALE_TEXT = re.compile(r"^(?P<locale>[a-z]{2,3}(?:_[A-Z]{2})?)=(?P<text>.*)$", re.DOTALL)


def _settings() -> Settings:
    return Settings.from_env()


def _feed_path(given: str | None) -> str:
    return given or _settings().feed


def _clock(tz: dt.tzinfo, at: str | None = None) -> Clock:
    """The clock of this command: `--at`, else `UNAVOZ_NOW`, else the real time."""
    return start_clock(at or _settings().now, tz)


def _now(tz: dt.tzinfo, at: str | None = None) -> dt.datetime:
    return _clock(tz, at)().astimezone(tz)


# ---------------------------------------------------------------- validate, schema, preview


def cmd_validate(args: argparse.Namespace) -> int:
    path = _feed_path(args.feed)
    try:
        loaded = load_feed(path)
    except FeedError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        count = len(error.problems)
        print(f"{path}: {count} error{'s' if count != 1 else ''}", file=sys.stderr)
        return 1
    feed = loaded.feed
    open_count = sum(1 for i in feed.incidents if i.is_open)
    print(f"{path}: valid ({len(feed.incidents)} incidents, {open_count} open)")
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    feed_model = default_registry().feed_model
    schema = json.dumps(feed_model.model_json_schema(), indent=2, ensure_ascii=False) + "\n"
    if args.output == "-":
        sys.stdout.write(schema)
    else:
        Path(args.output).write_text(schema, encoding="utf-8")
        print(f"wrote {args.output}")
    return 0


def cmd_preview(args: argparse.Namespace) -> int:
    try:
        loaded = load_feed(_feed_path(args.feed))
    except FeedError as error:
        print(error, file=sys.stderr)
        return 1
    feed = loaded.feed
    tz = feed.organization.tz
    now = _now(tz, args.at)
    renderers = default_registry().renderers
    channels = [args.channel] if args.channel else list(renderers)
    if args.locale and args.locale not in feed.organization.locales:
        print(
            f"unknown locale {args.locale!r}: the feed declares "
            f"{', '.join(feed.organization.locales)}",
            file=sys.stderr,
        )
        return 2
    if args.area and args.area not in {a.id for a in feed.areas}:
        print(f"unknown area {args.area!r}", file=sys.stderr)
        return 2
    width = args.width or _terminal_width()
    print(
        preview_feed(
            feed,
            now=now,
            channels=channels,
            renderers=renderers,
            locale=args.locale,
            area=args.area,
            width=width,
        )
    )
    return 0


def _terminal_width() -> int:
    try:
        return os.get_terminal_size().columns
    except OSError:
        return 160


# ---------------------------------------------------------------- incident changes


def _texts(pairs: Sequence[str] | None, option: str) -> dict[str, str] | None:
    if not pairs:
        return None
    out: dict[str, str] = {}
    for pair in pairs:
        match = _LOCALE_TEXT.match(pair)
        if match is None:
            raise argparse.ArgumentTypeError(
                f"{option} takes LOCALE=TEXT, e.g. {option} es='Sin servicio' (got {pair!r})"
            )
        out[match["locale"]] = match["text"]
    return out


def _zone_of(feed_path: str) -> ZoneInfo:
    try:
        return load_feed(feed_path).feed.organization.tz
    except FeedError:
        return ZoneInfo("UTC")


def build_change(args: argparse.Namespace) -> Change:
    change = _build_change(args)
    if getattr(args, "force", False):
        change = change.model_copy(update={"confirm": True})
    return change


def _build_change(args: argparse.Namespace) -> Change:
    tz = _zone_of(_feed_path(args.feed))
    now = _now(tz)

    def when(value: str | None) -> dt.datetime | None:
        return parse_when(value, now, tz) if value else None

    fields: dict[str, Any] = {"id": args.id}
    if args.action == "open":
        fields |= {
            "kind": args.kind,
            "title": _texts(args.title, "--title"),
            "summary": _texts(args.summary, "--summary"),
            "status": args.status
            or (Status.SCHEDULED if args.kind == Kind.MAINTENANCE else Status.INVESTIGATING),
            "severity": args.severity,
            "services": args.service,
            "areas": args.area,
            "started_at": when(args.started_at),
            "eta": when(args.eta),
            "next_update_by": when(args.next_update),
            "workaround": _texts(args.workaround, "--workaround"),
            "apology": _texts(args.apology, "--apology"),
            "staff_instructions": _texts(args.staff, "--staff"),
        }
        if args.window:
            fields["maintenance_starts_at"] = when(args.window[0])
            fields["maintenance_ends_at"] = when(args.window[1])
        return OpenIncident.model_validate({k: v for k, v in fields.items() if v is not None})
    if args.action == "update":
        optional = {
            "status": args.status,
            "severity": args.severity,
            "message": _texts(args.message, "--message"),
            "next_update_by": when(args.next_update),
            "workaround": _texts(args.workaround, "--workaround"),
            "title": _texts(args.title, "--title"),
            "summary": _texts(args.summary, "--summary"),
            "apology": _texts(args.apology, "--apology"),
            "staff_instructions": _texts(args.staff, "--staff"),
            "areas": args.area,
            "services": args.service,
        }
        if args.eta is not None and args.eta.lower() in ("none", "unknown", "-"):
            optional["clear_eta"] = True
        else:
            optional["eta"] = when(args.eta)
        fields |= {k: v for k, v in optional.items() if v is not None}
        return UpdateIncident.model_validate(fields)
    fields |= {"message": _texts(args.message, "--message"), "resolved_at": when(args.at)}
    return ResolveIncident.model_validate({k: v for k, v in fields.items() if v is not None})


async def _apply_change(feed_path: str, change: Change, author: str) -> int:
    from bot.delivery.plan import Planner
    from bot.runner import build_adapters
    from bot.service import FeedService
    from bot.store import open_store

    settings = _settings()
    async with open_store(settings.database_url) as store:
        # The CLI plans the deliveries of its revision itself, in the revision's transaction;
        # the running server's workers send them.
        clock = _clock(_zone_of(feed_path))  # UNAVOZ_NOW too: the server's words at its time
        planner = Planner(build_adapters(settings, default_registry()), clock=clock)
        service = FeedService(feed_path, store, planner=planner, clock=clock)
        # Record a hand edit made since the last revision first; an invalid file is reported
        # below, when the change is validated.
        with contextlib.suppress(FeedError):
            await service.start()
        state = await service.apply(change, author=author, source="cli")
    verb = {"open": "opened", "update": "updated", "resolve": "resolved"}[change.action]
    print(f"revision {state.revision.number}: {verb} {change.id} (by {author})")
    warning = past_warning(change, service.clock(), state.feed.organization.tz)
    if warning:
        print(f"warning (made as confirmed with --force): {warning}", file=sys.stderr)
    return 0


def cmd_incident(args: argparse.Namespace) -> int:
    try:
        change = build_change(args)
    except (argparse.ArgumentTypeError, TimeInputError) as exc:
        print(f"unavoz incident: {exc}", file=sys.stderr)
        return 2
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            field = ".".join(str(x) for x in err["loc"]) or "input"
            print(f"unavoz incident: {field}: {err['msg']}", file=sys.stderr)
        return 2
    author = args.author or _settings().author or getpass.getuser()
    try:
        return asyncio.run(_apply_change(_feed_path(args.feed), change, author))
    except ChangeError as exc:
        print(f"unavoz incident: {exc}", file=sys.stderr)
        return 2
    except FeedError as error:
        print("the change was not made: the feed would be invalid", file=sys.stderr)
        for problem in error.problems:
            print(problem, file=sys.stderr)
        return 1


# ---------------------------------------------------------------- export-static


def cmd_export_static(args: argparse.Namespace) -> int:
    """Export the feed file as it is now (no store needed: a revision 0 of the file)."""
    from bot.state import FeedState
    from bot.store import RevisionRecord

    try:
        loaded = load_feed(_feed_path(args.feed))
    except FeedError as error:
        print(error, file=sys.stderr)
        return 1
    tz = loaded.feed.organization.tz
    now = _now(tz, args.at)
    record = RevisionRecord(0, loaded.content_hash, "export", "file", now, loaded.text)
    state = FeedState.build(loaded, record)
    written = [
        path
        for channel in default_registry().channels
        for path in channel.export_static(state, Path(args.directory), now)
    ]
    print(f"wrote {len(written)} files to {args.directory}")
    return 0


# ---------------------------------------------------------------- audit


def cmd_audit(args: argparse.Namespace) -> int:
    from bot.delivery import consistency
    from bot.delivery.overview import overview, table
    from bot.feed.loader import parse_feed
    from bot.feed.lookup import Lookup
    from bot.runner import build_adapters
    from bot.store import open_store

    settings = _settings()
    registry = default_registry()
    names = [a.name for a in build_adapters(settings, registry)]

    async def gather() -> tuple[
        int, list[consistency.ChannelConsistency], str | None, dict[str, Any]
    ]:
        async with open_store(settings.database_url) as store:
            revision, channels = await consistency.check(store, names)
            latest = await store.latest_revision()
            details = {}
            for channel in registry.channels:
                if channel.name in names:
                    found = await channel.details(store, ())
                    if found is not None:
                        details[channel.name] = found
            return revision, channels, latest.document if latest else None, details

    revision, channels, document, details = asyncio.run(gather())
    rows = []
    if document is not None:
        try:
            feed = parse_feed(document, f"revision {revision}", registry).feed
        except FeedError:
            feed = None
        if feed is not None:
            tz = feed.organization.tz
            open_now = Lookup(feed).open_at(_now(tz))
            rows = overview(registry, settings, feed, revision, len(open_now), channels)
    overdue = _overdue_promises(args.feed)
    if args.json:
        report = consistency.report(revision, channels)
        for name, found in details.items():
            report["channels"].setdefault(name, {"channel": name})["details"] = found
        print(
            json.dumps(
                {
                    **report,
                    "overview": [r.as_json() for r in rows],
                    "overdue": [e.as_json() for e in overdue],
                },
                indent=2,
            )
        )
    else:
        print(f"revision {revision}")
        print(table(rows) if rows else "no revision recorded yet: nothing is told")
        print()
        print("deliveries:")
        print(consistency.table(revision, channels))
        for name, found in details.items():
            for line in registry.get(name).detail_lines(found):
                print(line)
        for edge in overdue:
            what = "next update owed since" if edge.edge == "next_update_overdue" else "ETA passed"
            print(f"overdue: {edge.incident_id}: {what} {edge.at.isoformat()}")
    healthy = consistency.healthy(channels, args.max_lag) and not overdue
    return 0 if healthy else 1


def _overdue_promises(feed: str | None) -> list[DueEdge]:
    """Promises customers were made that are past: a missed next update, a passed ETA."""
    from bot.edges import overdue_promises

    try:
        loaded = load_feed(_feed_path(feed))
    except FeedError:
        return []  # `unavoz validate` says what is wrong with the file
    return list(overdue_promises(loaded.feed, _now(loaded.feed.organization.tz)))


# ---------------------------------------------------------------- run


def cmd_run(args: argparse.Namespace) -> int:
    from bot.runner import run_server

    environ = dict(os.environ)
    if args.export_static:  # the same as UNAVOZ_EXPORT_STATIC (the web channel's setting)
        environ["UNAVOZ_EXPORT_STATIC"] = args.export_static
    settings = Settings.from_env(environ)
    overrides: dict[str, Any] = {
        "feed": args.feed or settings.feed,
        "host": args.host or settings.host,
        "port": args.port if args.port is not None else settings.port,
        "now": args.at or settings.now,
    }
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    quiet_libraries(settings.log_level)
    try:
        asyncio.run(run_server(settings.model_copy(update=overrides)))
    except FeedError as error:
        print(
            f"cannot start: the feed is invalid and no earlier revision exists\n{error}",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        pass
    return 0


def quiet_libraries(level: str) -> None:
    """Keep APScheduler's per-run lines out of the log unless debugging: at INFO it logs
    every run of every job (the timekeeper's twice a second); our own lines say what
    happened."""
    if level.upper() != "DEBUG":
        logging.getLogger("apscheduler").setLevel(logging.WARNING)


# ---------------------------------------------------------------- parser


def _add_texts(parser: argparse.ArgumentParser, *names: str) -> None:
    helps = {
        "title": "short title",
        "summary": "what is wrong, for customers",
        "message": "timeline entry (what changed)",
        "workaround": "what customers can do meanwhile",
        "apology": "apology (default: the organization's)",
        "staff": "instructions for field staff (internal)",
    }
    for name in names:
        parser.add_argument(
            f"--{name}",
            action="append",
            metavar="LOCALE=TEXT",
            help=f"{helps[name]}; repeat once per locale",
        )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="unavoz", description="One outage feed, every channel telling the same truth."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    validate = commands.add_parser("validate", help="check a feed; print every error as FILE:LINE")
    validate.add_argument("feed", nargs="?", help="feed file (default $UNAVOZ_FEED)")
    validate.set_defaults(handler=cmd_validate)

    schema = commands.add_parser("schema", help="write the feed's JSON Schema (for YAML editors)")
    schema.add_argument("--output", "-o", default=SCHEMA_FILE, help="file, or - for stdout")
    schema.set_defaults(handler=cmd_schema)

    preview = commands.add_parser("preview", help="what every channel would say, side by side")
    preview.add_argument("feed", nargs="?", help="feed file (default $UNAVOZ_FEED)")
    preview.add_argument("--channel", help="one channel's voice (ivr, web, x, staff, customer)")
    preview.add_argument("--locale")
    preview.add_argument("--area", help="only incidents affecting this area id")
    preview.add_argument("--at", help="pretend it is this time (ISO 8601, 14:30, +2h)")
    preview.add_argument("--width", type=int, help="output width (default: the terminal's)")
    preview.set_defaults(handler=cmd_preview)

    export = commands.add_parser(
        "export-static", help="write the banner JSON, status page and feeds as files"
    )
    export.add_argument("directory", help="where to write them")
    export.add_argument("--feed", help="feed file (default $UNAVOZ_FEED)")
    export.add_argument("--at", help="pretend it is this time (ISO 8601, 14:30, +2h)")
    export.set_defaults(handler=cmd_export_static)

    audit = commands.add_parser(
        "audit", help="is every channel telling the current revision? (exit 1 if not)"
    )
    audit.add_argument(
        "--max-lag",
        type=float,
        default=300.0,
        help="seconds a channel may lag before the audit fails (default 300)",
    )
    audit.add_argument("--json", action="store_true", help="print the /consistency JSON")
    audit.add_argument("--feed", help="feed file whose overdue promises to list")
    audit.set_defaults(handler=cmd_audit)

    run = commands.add_parser("run", help="serve the feed: HTTP, file watcher, channels")
    run.add_argument("--feed", help="feed file (default $UNAVOZ_FEED or status_feed.yaml)")
    run.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    run.add_argument("--port", type=int, help="port (default 8080)")
    run.add_argument(
        "--export-static", metavar="DIR", help="keep a static export of the public web in DIR"
    )
    run.add_argument(
        "--at", help="start the clock at this time and let it run on (ISO 8601, 14:30, +2h)"
    )
    run.set_defaults(handler=cmd_run)

    incident = commands.add_parser("incident", help="open, update or resolve an incident")
    actions = incident.add_subparsers(dest="action", required=True, metavar="ACTION")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("id", help="incident id, e.g. fibre-outage-north")
    common.add_argument("--feed", help="feed file (default $UNAVOZ_FEED)")
    common.add_argument("--author", help="who makes the change (default $UNAVOZ_AUTHOR or user)")

    open_ = actions.add_parser("open", parents=[common], help="declare a new incident")
    open_.add_argument("--kind", choices=[k.value for k in Kind], default=Kind.INCIDENT.value)
    open_.add_argument("--status", choices=[s.value for s in Status])
    open_.add_argument(
        "--severity", choices=[s.value for s in Severity], default=Severity.MAJOR.value
    )
    open_.add_argument("--service", action="append", required=True, help="service id (repeat)")
    open_.add_argument("--area", action="append", required=True, help="area id (repeat)")
    open_.add_argument("--started-at", help="default: now")
    open_.add_argument("--eta", help="expected fix (ISO 8601, 18:00, +2h)")
    open_.add_argument("--next-update", help="next update at the latest (e.g. +30m)")
    open_.add_argument("--window", nargs=2, metavar=("START", "END"), help="maintenance window")
    _add_texts(open_, "title", "summary", "workaround", "apology", "staff")

    update = actions.add_parser("update", parents=[common], help="change an open incident")
    update.add_argument("--status", choices=[s.value for s in Status])
    update.add_argument("--severity", choices=[s.value for s in Severity])
    update.add_argument("--eta", help="new expected fix, or 'none' to withdraw it")
    update.add_argument("--next-update", help="next update at the latest (e.g. +30m)")
    update.add_argument("--service", action="append", help="replace the services (repeat)")
    update.add_argument("--area", action="append", help="replace the areas (repeat)")
    _add_texts(update, "message", "workaround", "title", "summary", "apology", "staff")

    resolve = actions.add_parser("resolve", parents=[common], help="mark an incident resolved")
    resolve.add_argument("--at", help="when it was fixed (default: now)")
    _add_texts(resolve, "message")
    for sub in (open_, update):
        sub.add_argument(
            "--force",
            action="store_true",
            help="make the change even with an ETA or next update in the past",
        )
    for sub in (open_, update, resolve):
        sub.set_defaults(handler=cmd_incident)

    from bot.lint_command import add_command as add_lint  # `unavoz lint TEXT`

    add_lint(commands)
    return parser


# Options that take a time: "-2h" after them is a time, not an option.
_TIME_OPTIONS = frozenset({"--eta", "--next-update", "--at", "--started-at"})
_NEGATIVE_TIME = re.compile(r"^-\s*\d+\s*(m|min|h|d)$")


def _join_negative_times(argv: Sequence[str]) -> list[str]:
    """`--eta -2h` → `--eta=-2h`: argparse would take "-2h" for an option and stop."""
    out: list[str] = []
    for arg in argv:
        if out and out[-1] in _TIME_OPTIONS and _NEGATIVE_TIME.match(arg):
            out[-1] = f"{out[-1]}={arg}"
        else:
            out.append(arg)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    argv = _join_negative_times(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    code: int = args.handler(args)
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
