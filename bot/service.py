"""The feed service: file edits and operators' changes become revisions; it holds the current one.

Every source of change goes through here — the watched file, the CLI, the
admin API, later the Telegram admins — so each becomes a numbered revision
with its author, the YAML file stays the source of truth, and an invalid
change never replaces the last good revision.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

from filelock import AsyncFileLock

from bot import metrics
from bot.delivery.model import NewDelivery
from bot.feed.changes import Change, ChangeError, Edit, edit_feed
from bot.feed.loader import LoadedFeed, parse_feed, revalidate
from bot.feed.yamlsource import FeedError, Problem
from bot.registry import Registry, default_registry
from bot.state import FeedState
from bot.store import RevisionRecord, Store

if TYPE_CHECKING:
    from bot.delivery.plan import Planner

log = logging.getLogger(__name__)

Listener = Callable[[FeedState], Awaitable[None]]


def write_atomically(path: Path, content: str | bytes) -> None:
    """Write to a temporary file beside `path`, then rename: readers see the old or the new file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    data = content.encode("utf-8") if isinstance(content, str) else content
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp makes the file private; keep the mode of the file it replaces, or make it
        # readable like any other file (a web server reads exported files).
        os.chmod(tmp, path.stat().st_mode & 0o777 if path.exists() else 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_feed_text(path: Path) -> str:
    """The feed file as text; a file that is not UTF-8 is a FeedError at the line of the first
    bad byte (an editor saved it in Latin-1, say), never a crash."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise FeedError(
            [Problem(str(path), line, f"not UTF-8 text ({exc.reason}): save the file as UTF-8")]
        ) from None


def _read_or_none(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class InvalidHandEdit(ChangeError):
    """The feed file holds an invalid hand edit: no change can be written on top of it.

    Said as what it is — someone's edit of the file, where, since when and by whom if
    known — not as a problem of the change asked for, with the way out for whoever fixes it.
    """

    def __init__(
        self, path: Path, problems: list[Problem], since: dt.datetime, by: str | None, good: int
    ) -> None:
        self.problems = problems
        self.since = since
        self.by = by
        first = problems[0]
        who = f" by {by}" if by else ""
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(
            f"the feed file {path} has an invalid hand edit at {first.file}:{first.line}: "
            f"{first.message}{more} — since {since.isoformat(timespec='seconds')}{who}. Your "
            f"change was not made, and nothing can be until the file is fixed: fix that line "
            f"(`unavoz validate {path}` lists every problem; the change is then picked up "
            f"within a second), or put back the last good revision ({good}: "
            f"GET /api/v1/revisions/{good} holds its YAML). Every channel keeps telling "
            f"revision {good} meanwhile."
        )


def _file_owner(path: Path) -> str | None:
    """Who last wrote the file, as far as the system knows (its owner), if it has a name."""
    try:
        import pwd

        return pwd.getpwuid(path.stat().st_uid).pw_name
    except (ImportError, KeyError, OSError):
        return None


class FeedService:
    def __init__(
        self,
        feed_path: str | Path,
        store: Store,
        *,
        clock: Callable[[], dt.datetime] = utcnow,
        planner: Planner | None = None,
        registry: Registry | None = None,
    ) -> None:
        self.feed_path = Path(feed_path)
        self.store = store
        self.clock = clock
        self.planner = planner
        # The channels whose options the feed may hold and whose voices render it.
        self.registry = registry or default_registry()
        self._state: FeedState | None = None
        self._listeners: list[Listener] = []
        # One writer at a time across processes (CLI + server) for read-modify-write changes.
        self._file_lock = AsyncFileLock(str(self.feed_path) + ".lock")
        self._reload_lock = asyncio.Lock()
        # What is wrong with the file on disk now (empty when it is valid), since when.
        self.last_problems: list[Problem] = []
        self.invalid_since: dt.datetime | None = None
        self._last_edit: Edit | None = None  # where the items of the text it wrote lie

    def _parse(self, text: str, file: str) -> LoadedFeed:
        return parse_feed(text, file, self.registry)

    def _parse_edit(self, text: str, edit: Edit) -> LoadedFeed:
        """The edited text validated: item by item when `text` is the current revision's
        (`revalidate`), whole otherwise."""
        if self._state is not None and self._state.loaded.text == text:
            return revalidate(self._state.loaded, edit, str(self.feed_path), self.registry)
        return self._parse(edit.text, str(self.feed_path))

    def _build(self, loaded: LoadedFeed, record: RevisionRecord) -> FeedState:
        # What the current revision already made for the parts unchanged is reused.
        return FeedState.build(loaded, record, self.registry.renderers, previous=self._state)

    @property
    def state(self) -> FeedState:
        if self._state is None:
            raise RuntimeError("no valid feed revision has been loaded yet")
        return self._state

    @property
    def has_state(self) -> bool:
        return self._state is not None

    def subscribe(self, listener: Listener) -> None:
        """Be told of every new current revision (web live updates, delivery fan-out…)."""
        self._listeners.append(listener)

    async def start(self) -> FeedState:
        """Load the file; if it is invalid, keep telling the last good revision from the store."""
        try:
            return await self.reload_from_file()
        except FeedError as error:
            latest = await self.store.latest_revision()
            if latest is None:
                raise
            log.error(
                "the feed file is invalid; serving revision %d until it is fixed:\n%s",
                latest.number,
                error,
            )
            loaded = self._parse(latest.document, f"{self.feed_path} (revision {latest.number})")
            await self._adopt(self._build(loaded, latest))
            return self.state

    async def reload_from_file(self, *, author: str = "file", source: str = "file") -> FeedState:
        """Read the file; record it as a revision if it changed. Raises FeedError when invalid."""
        async with self._reload_lock:
            try:
                text = await asyncio.to_thread(read_feed_text, self.feed_path)
            except FileNotFoundError:
                raise FeedError([Problem(str(self.feed_path), 1, "no such file")]) from None
            except FeedError as error:
                self._file_invalid(error.problems)
                raise
            if self._state is not None and self._state.loaded.text == text:
                self._file_valid()  # restored byte for byte: the file is good again
                return self._state
            try:
                loaded = self._parse(text, str(self.feed_path))
            except FeedError as error:
                self._file_invalid(error.problems)
                metrics.FEED_REJECTED.labels(source=source).inc()
                raise
            self._file_valid()
            # Where its incidents lie, found now rather than at the first edge told on it.
            self._last_edit = Edit.of(text)
            record, created, state = await self._record(loaded, author=author, source=source)
            if created:
                log.info("revision %d from %s by %s", record.number, source, author)
            return await self._adopt(state or self._build(loaded, record))

    async def apply(self, change: Change, *, author: str, source: str) -> FeedState:
        """Apply an operator's change: validate, record the revision, rewrite the file atomically.

        Raises FeedError (the change would make the feed invalid) or ChangeError.
        """
        async with self._file_lock:
            try:
                text = await asyncio.to_thread(read_feed_text, self.feed_path)
            except FeedError as error:
                self._file_invalid(error.problems)
                good = self._state.revision.number if self._state is not None else 0
                raise InvalidHandEdit(
                    self.feed_path,
                    error.problems,
                    self.invalid_since or self.clock(),
                    _file_owner(self.feed_path),
                    good,
                ) from None
            self._refuse_on_invalid_hand_edit(text)
            layout = self._last_edit.layout if self._last_edit is not None else None
            edit = edit_feed(text, change, author=author, now=self.clock(), layout=layout)
            try:
                loaded = self._parse_edit(text, edit)
            except FeedError:
                metrics.FEED_REJECTED.labels(source=source).inc()
                raise
            self._last_edit = edit

            async def write_file(_: RevisionRecord) -> None:
                await asyncio.to_thread(write_atomically, self.feed_path, edit.text)

            record, _created, state = await self._record(
                loaded, author=author, source=source, before_commit=write_file
            )
            self._file_valid()  # the file now holds this valid revision
        log.info(
            "revision %d: %s %s by %s via %s",
            record.number,
            change.action,
            change.id,
            author,
            source,
        )
        async with self._reload_lock:
            return await self._adopt(state or self._build(loaded, record))

    def _file_valid(self) -> None:
        self.last_problems = []
        self.invalid_since = None

    def _file_invalid(self, problems: list[Problem]) -> None:
        if not self.last_problems or self.invalid_since is None:
            self.invalid_since = self.clock()
        self.last_problems = list(problems)

    def _refuse_on_invalid_hand_edit(self, text: str) -> None:
        """A change is made on the file as it is; when someone's hand edit there is invalid,
        say so plainly instead of reporting their parse error as the change's."""
        if self._state is not None and text == self._state.loaded.text:
            return
        try:
            self._parse(text, str(self.feed_path))
        except FeedError as error:
            self._file_invalid(error.problems)
            since = self.invalid_since or self.clock()
            good = self._state.revision.number if self._state is not None else 0
            raise InvalidHandEdit(
                self.feed_path, error.problems, since, _file_owner(self.feed_path), good
            ) from None

    async def _record(
        self,
        loaded: LoadedFeed,
        *,
        author: str,
        source: str,
        before_commit: Callable[[RevisionRecord], Awaitable[None]] | None = None,
    ) -> tuple[RevisionRecord, bool, FeedState | None]:
        """Record `loaded` as a revision with the deliveries it needs, in one transaction."""
        built: list[FeedState] = []

        async def plan(
            previous: RevisionRecord | None, record: RevisionRecord
        ) -> list[NewDelivery]:
            current = self._build(loaded, record)
            built.append(current)
            if self.planner is None:
                return []
            return self.planner.plan(await self._state_of(previous), current)

        record, created = await self.store.record_revision(
            loaded.text, author=author, source=source, plan=plan, before_commit=before_commit
        )
        return record, created, built[-1] if created and built else None

    async def _state_of(self, record: RevisionRecord | None) -> FeedState | None:
        if record is None:
            return None
        if self._state is not None and self._state.revision.number == record.number:
            return self._state
        try:
            return self._build(self._parse(record.document, f"revision {record.number}"), record)
        except FeedError:  # an old revision valid under older rules: plan as if new
            return None

    async def sync_from_store(self) -> FeedState | None:
        """Adopt a newer revision another instance recorded, and write it to our file too."""
        latest = await self.store.latest_revision()
        if latest is None or (self._state and self._state.revision.number >= latest.number):
            return None
        loaded = self._parse(latest.document, str(self.feed_path))
        async with self._file_lock:
            current = await asyncio.to_thread(_read_or_none, self.feed_path)
            if current != latest.document:
                await asyncio.to_thread(write_atomically, self.feed_path, latest.document)
        async with self._reload_lock:
            return await self._adopt(self._build(loaded, latest))

    async def _adopt(self, state: FeedState) -> FeedState:
        if self._state is not None and self._state.revision.number >= state.revision.number:
            return self._state  # a concurrent reload already adopted this or a newer revision
        self._state = state
        metrics.REVISION.set(state.revision.number)
        metrics.OPEN_INCIDENTS.set(sum(1 for i in state.feed.incidents if i.is_open))
        for listener in self._listeners:
            try:
                await listener(state)
            except Exception:  # one failing listener must not stop the others hearing the truth
                log.exception("listener %r failed on revision %d", listener, state.revision.number)
        return state
