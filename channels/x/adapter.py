"""The X channel's I/O: posts and replies through the delivery engine, mentions polled.

One `XApiClient` (tweepy's AsyncClient on one long-lived session), opened in `start`
and closed in `stop`. It asks for raw `aiohttp.ClientResponse`s: tweepy drops the
headers of a success, and the rate-limit headers decide when to post and poll.

Exactly once: a post is recorded in the store under its delivery's idempotency key.
A delivery tried again (its answer lost, its instance killed) first looks for its key
in the store, then for its text among the account's latest posts; and X's refusal of
a duplicate is success when the post X already holds is this delivery's.

Limits: a 429 waits for `x-rate-limit-reset`, or for the 24-hour reset when the daily
post limit (`x-user-limit-24hour-*`, `x-app-limit-24hour-*`) is what ran out, through
the engine's `RetryLater`: nothing is dropped. When only `daily_reserve` posts are
left, plain updates wait for the reset so openings, resolutions and the replies a
person sends go first. Refused credentials (401) or a suspended account wait too,
five minutes at a time, with the reason in /consistency.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import html
import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import aiohttp
import tweepy

from bot.delivery.adapter import ChannelAdapter, Target
from bot.delivery.model import Delivery, Limit, PermanentError, RetryLater, TransientError
from bot.feed.models import Incident
from bot.inbound import Dispatch, Mention, Person
from bot.store import XPost, XStore
from channels.x import posts
from channels.x.client import X_API, XApiClient

if TYPE_CHECKING:
    from bot.state import FeedState

log = logging.getLogger(__name__)

HELD_RECHECK = 60.0  # seconds between looks at an update held back for the daily reserve
REFUSED_WAIT = 300.0  # seconds between tries while X refuses the credentials or the account
DAY = 24 * 3600.0
MAX_PAGES = 20  # pages of 100 mentions read per poll; older ones beyond are skipped (logged)
TIMELINE_LOOKBACK = 20  # the account's latest posts searched for a post whose answer was lost
_URL = re.compile(r"https?://\S+")
_SPACES = re.compile(r"\s+")


def same_text(ours: str, theirs: str) -> bool:
    """Whether X's copy of a post is ours: X shortens links to t.co and escapes & < >."""

    def norm(text: str) -> str:
        return _SPACES.sub(" ", _URL.sub("URL", html.unescape(text))).strip()

    return norm(ours) == norm(theirs)


def _header(headers: Mapping[str, str] | None, name: str) -> int | None:
    try:
        return int(headers[name]) if headers is not None and name in headers else None
    except ValueError:
        return None


@dataclass
class DailyBudget:
    """What is left of the 24-hour post limits, as X's last answer to a post said."""

    remaining: int | None = None
    resets_at: float | None = None  # epoch seconds

    def update(self, headers: Mapping[str, str] | None) -> None:
        found = []
        for scope in ("user", "app"):
            left = _header(headers, f"x-{scope}-limit-24hour-remaining")
            reset = _header(headers, f"x-{scope}-limit-24hour-reset")
            if left is not None:
                found.append((left, reset))
        if found:
            self.remaining, reset = min(found, key=lambda pair: pair[0])
            self.resets_at = float(reset) if reset is not None else None

    def wait(self, now: float) -> float:
        if self.resets_at is None:
            return 3600.0
        return min(max(self.resets_at - now, 1.0), DAY)

    def as_json(self) -> dict[str, Any]:
        return {
            "remaining": self.remaining,
            "resets_at": dt.datetime.fromtimestamp(self.resets_at, dt.UTC).isoformat()
            if self.resets_at is not None
            else None,
        }


class XAdapter(ChannelAdapter):
    name: ClassVar[str] = "x"
    # Posts per 15 minutes per user on X's paid tiers; the 24-hour caps come from headers.
    limits = (Limit(100, 900.0),)
    concurrency: ClassVar[int] = 4
    batch: ClassVar[int] = 32
    unique_listener: ClassVar[bool] = True

    def __init__(
        self,
        *,
        consumer_key: str,
        consumer_secret: str,
        access_token: str,
        access_token_secret: str,
        bearer_token: str | None = None,
        api_url: str | None = None,
        poll_seconds: float | None = None,
        timeout: float = 15.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = XApiClient(
            bearer_token=bearer_token,
            consumer_key=consumer_key,
            consumer_secret=consumer_secret,
            access_token=access_token,
            access_token_secret=access_token_secret,
            api_url=api_url or X_API,
            timeout=aiohttp.ClientTimeout(total=timeout),
            return_type=aiohttp.ClientResponse,
        )
        # An access token starts with its user's id ("1600…-abc"): the account, without a call.
        head = access_token.split("-", 1)[0]
        self.account_id: str | None = head if head.isdigit() else None
        self.poll_override = poll_seconds
        self.clock = clock
        self.budget = DailyBudget()
        self.refused: str | None = None  # why X refuses us, while it does
        self.refused_until = 0.0
        self.last_poll: float | None = None
        self.poll_error: str | None = None
        # Given at start by the channel (`XChannel.setup`): the store and the current feed.
        self.store: XStore | None = None
        self.state: Callable[[], FeedState] | None = None
        self.reserve: Callable[[], int] = lambda: 3
        self.poll_every: Callable[[], float] = lambda: 15.0

    # What and to whom (pure) -------------------------------------------------------------

    def targets(self, state: FeedState, incident: Incident) -> Sequence[Target]:
        return posts.targets(state, incident)

    def payload(
        self, state: FeedState, incident: Incident, target: Target, now: dt.datetime
    ) -> str:
        return posts.payload(state, incident, target, now)

    # Lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        await self.client.start()

    async def stop(self) -> None:
        await self.client.stop()

    def _store(self) -> XStore:
        if self.store is None:
            raise RuntimeError("the X channel has no store: XChannel.setup gives it one")
        return self.store

    async def _account(self) -> str:
        if self.account_id is None:
            me = await self._json(await self.client.get_me(user_auth=True))
            self.account_id = str(me["data"]["id"])
        return self.account_id

    @staticmethod
    async def _json(response: aiohttp.ClientResponse) -> Any:
        return await response.json(content_type=None)

    # Posting -----------------------------------------------------------------------------

    async def deliver(self, delivery: Delivery) -> None:
        store = self._store()
        if await store.x_post_of(delivery.idempotency_key) is not None:
            return  # posted, and recorded, by an earlier attempt
        body = posts.Payload.loads(delivery.payload)
        now = self.clock()
        if self.refused is not None and now < self.refused_until:
            raise RetryLater(self.refused_until - now, self.refused)
        reply_to = body.in_reply_to
        opening = False
        if reply_to is None:
            tip = await store.x_thread_tip(delivery.target)
            reply_to = tip.post_id if tip is not None else None
            opening = tip is None
        if delivery.attempts > 1 and await self._found_posted(delivery, body.text):
            return  # an earlier attempt's answer was lost, but the post went out
        left = self.budget.remaining
        if left is not None and left <= self.reserve() and not (body.priority or opening):
            if await store.x_newer_waiting(delivery.target, delivery.id):
                # A later post of this thread (a resolution) waits behind this update: it
                # tells the latest truth, so this one is passed over as a newer revision
                # passes over a waiting update of the same status.
                log.info("X update %s passed over for a newer post", delivery.idempotency_key)
                return
            # Looked at again every minute (no request to X): a resolution may queue behind.
            wait = min(self.budget.wait(now), HELD_RECHECK)
            raise RetryLater(
                wait,
                f"X's daily post limit: {left} left, kept for openings and resolutions;"
                " this update waits for the reset",
            )
        await self._post(delivery, body.text, reply_to)

    async def _post(self, delivery: Delivery, text: str, reply_to: str | None) -> None:
        try:
            response = await self.client.create_tweet(
                text=text, in_reply_to_tweet_id=reply_to, user_auth=True
            )
        except tweepy.TweepyException as exc:
            await self._refused(delivery, text, exc)
            return
        except aiohttp.ContentTypeError as exc:  # a proxy's HTML error page
            if exc.status >= 500 or exc.status == 0:
                raise TransientError(f"X answered {exc.status} with a page, not JSON") from exc
            raise PermanentError(f"X answered {exc.status} with a page, not JSON") from exc
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise TransientError(f"{type(exc).__name__}: {exc}") from exc
        self.budget.update(response.headers)
        self.refused = None
        answer = await self._json(response)
        await self._record(delivery, text, str(answer["data"]["id"]))

    async def _record(self, delivery: Delivery, text: str, post_id: str) -> None:
        await self._store().x_record_post(
            XPost(
                delivery.idempotency_key,
                delivery.target,
                post_id,
                text,
                delivery.revision,
                self.clock(),
            )
        )

    async def _refused(self, delivery: Delivery, text: str, exc: tweepy.TweepyException) -> None:
        response = getattr(exc, "response", None)
        headers = getattr(response, "headers", None)
        said = "; ".join(getattr(exc, "api_messages", []) or []) or str(exc)
        now = self.clock()
        if isinstance(exc, tweepy.TooManyRequests):
            self.budget.update(headers)
            daily_left = [
                _header(headers, f"x-{scope}-limit-24hour-remaining") for scope in ("user", "app")
            ]
            if 0 in daily_left:
                raise RetryLater(self.budget.wait(now), "X's daily post limit is used up") from exc
            reset = _header(headers, "x-rate-limit-reset")
            wait = min(max(reset - now, 1.0), DAY) if reset is not None else 60.0
            raise RetryLater(wait, "X's rate limit (429)") from exc
        if isinstance(exc, tweepy.TwitterServerError):
            raise TransientError(f"X server error: {said}") from exc
        if isinstance(exc, tweepy.Forbidden) and "duplicate content" in said:
            if await self._found_posted(delivery, text, duplicate=True):
                return
            raise PermanentError(
                "X refused the post as a duplicate of an earlier one: " + text[:60]
            ) from exc
        if isinstance(exc, tweepy.Forbidden) and "deleted or not visible" in said:
            raise PermanentError(f"the post answered is deleted or hidden: {said}") from exc
        if isinstance(exc, tweepy.Unauthorized | tweepy.Forbidden):
            # Nothing to gain from trying again at once: every post waits, none is dropped.
            status = getattr(response, "status", "?")
            self.refused = (
                f"X refuses the account ({status}): {said} — check X_CONSUMER_KEY,"
                " X_CONSUMER_SECRET, X_ACCESS_TOKEN, X_ACCESS_TOKEN_SECRET and the app's"
                " standing in the X developer portal"
            )
            self.refused_until = now + REFUSED_WAIT
            raise RetryLater(REFUSED_WAIT, self.refused) from exc
        raise PermanentError(f"X refused the post: {said}") from exc

    async def _found_posted(
        self, delivery: Delivery, text: str, *, duplicate: bool = False
    ) -> bool:
        """Whether this delivery's post is among the account's latest (an answer was lost);
        if so it is recorded. A post with the same text made for another delivery is not."""
        store = self._store()
        mine = {p.post_id for p in await store.x_posts_with_text(text)}
        try:
            response = await self.client.get_users_tweets(
                await self._account(),
                max_results=TIMELINE_LOOKBACK,
                tweet_fields=["created_at"],
                user_auth=True,
            )
            latest = (await self._json(response)).get("data") or []
        except (tweepy.TweepyException, aiohttp.ClientError, TimeoutError, OSError) as exc:
            if duplicate:  # X holds a post with this text: say so, try again later
                raise TransientError(f"duplicate refused, timeline unreadable: {exc}") from exc
            raise TransientError(
                f"could not read the timeline to check a lost post: {exc}"
            ) from exc
        for post in latest:
            if same_text(text, str(post.get("text", ""))) and str(post["id"]) not in mine:
                await self._record(delivery, text, str(post["id"]))
                log.info("X post %s was made by an earlier attempt: not posted again", post["id"])
                return True
        return False

    # Mentions ----------------------------------------------------------------------------

    async def listen(self, dispatch: Dispatch, stop: asyncio.Event) -> None:
        """Poll the account's mentions since the newest one read, as often as X allows."""
        while not stop.is_set():
            pause = await self.poll(dispatch)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), pause)

    async def poll(self, dispatch: Dispatch) -> float:
        """Read the new mentions once, hand each to `dispatch`, oldest first; the seconds to
        wait before the next poll."""
        store = self._store()
        floor = self.poll_override or self.poll_every()
        now = self.clock()
        try:
            account = await self._account()
            since = await store.x_cursor("since_id")
            params: dict[str, Any] = {
                "max_results": 100,
                "tweet_fields": ["created_at", "author_id", "conversation_id", "lang"],
                "expansions": ["author_id"],
                "user_fields": ["username"],
                "user_auth": True,
            }
            if since is not None:
                params["since_id"] = since
            response = await self.client.get_users_mentions(account, **params)
            page = await self._json(response)
            # Many at once (an outage trends): every page since `since_id`, then all in order.
            tweets = list(page.get("data") or [])
            users_seen = list((page.get("includes") or {}).get("users", []))
            newest = (page.get("meta") or {}).get("newest_id")
            token = (page.get("meta") or {}).get("next_token")
            for _ in range(MAX_PAGES):
                if token is None:
                    break
                response = await self.client.get_users_mentions(
                    account, **params, pagination_token=token
                )
                more = await self._json(response)
                tweets += more.get("data") or []
                users_seen += (more.get("includes") or {}).get("users", [])
                token = (more.get("meta") or {}).get("next_token")
            if token is not None:
                log.warning(
                    "more than %d mentions since the last poll: the oldest skipped", len(tweets)
                )
        except tweepy.TooManyRequests as exc:
            reset = _header(exc.response.headers, "x-rate-limit-reset")
            self.poll_error = "X's rate limit for mentions (429)"
            return max(floor, (reset - now) if reset is not None else 60.0)
        except (tweepy.Unauthorized, tweepy.Forbidden) as exc:
            self.poll_error = f"X refuses reading mentions: {exc}"
            log.error("%s", self.poll_error)
            return max(floor, REFUSED_WAIT)
        except (tweepy.TweepyException, aiohttp.ClientError, TimeoutError, OSError) as exc:
            self.poll_error = f"{type(exc).__name__}: {exc}"
            log.warning("polling X mentions failed: %s", self.poll_error)
            return floor
        self.poll_error = None
        self.last_poll = now
        users = {str(u["id"]): u for u in users_seen}
        found = sorted({str(t["id"]): t for t in tweets}.values(), key=lambda t: int(t["id"]))
        for tweet in found:
            author = str(tweet.get("author_id", ""))
            if author == account:
                continue  # our own posts (replies naming us) are not questions
            handle = users.get(author, {}).get("username")
            created = tweet.get("created_at")
            at = (
                dt.datetime.fromisoformat(created.replace("Z", "+00:00"))
                if isinstance(created, str)
                else dt.datetime.fromtimestamp(now, dt.UTC)
            )
            await dispatch(
                Mention(
                    channel=self.name,
                    conversation=str(tweet["id"]),
                    person=Person(author, handle),
                    at=at,
                    text=str(tweet.get("text") or ""),
                    post_id=str(tweet["id"]),
                    author_handle=handle,
                )
            )
        if newest is not None:
            await store.x_add_mentions([], cursor=("since_id", str(newest)))
        return max(floor, self._poll_pause(response.headers, now))

    @staticmethod
    def _poll_pause(headers: Mapping[str, str], now: float) -> float:
        """Spread what is left of the rate window evenly until it resets."""
        left = _header(headers, "x-rate-limit-remaining")
        reset = _header(headers, "x-rate-limit-reset")
        if left is None or reset is None:
            return 0.0
        return max(reset - now, 0.0) / max(left, 1)
