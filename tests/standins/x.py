"""A stand-in X API v2 server: the real wire format, OAuth checked, rate limits counted, faults.

It serves what Unavoz's X channel uses — `GET /2/users/me`, `POST /2/tweets`,
`DELETE /2/tweets/:id`, `GET /2/tweets/:id`, `GET /2/users/:id/mentions` and
`GET /2/users/:id/tweets` — with X's shapes: `{"data": ..., "includes": ..., "meta": ...}`,
problem details (`{"title", "detail", "type", "status"}`) for errors, the rate-limit headers
on every answer (`x-rate-limit-*`, and `x-user-limit-24hour-*` / `x-app-limit-24hour-*` on
posts), 403 for a duplicate post, 429 when a window is used up.

Authentication is checked like X does: user-context endpoints need OAuth 1.0a (consumer key
and access token matching, HMAC-SHA1 signature verified with oauthlib); the read endpoints
also take the app's Bearer token; anything else is 401.

What tests do to it: add mentions (`add_mention`), read posts and threads (`posts`,
`thread`), and plan faults per call (`faults=when(too_many_requests(60), endpoint="POST
/2/tweets")`): 429, 401, 403 suspended, 5xx, resets, slow answers and lost answers (the post
is stored, then the connection is cut before the answer).

Run it for a person: `python -m tests.standins.x --port 8082`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import time
from collections.abc import Awaitable, Callable, Collection, Iterable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, Literal
from urllib.parse import urlsplit

from aiohttp import web
from oauthlib.oauth1.rfc5849 import signature as oauth_signature
from oauthlib.oauth1.rfc5849 import utils as oauth_utils
from twitter_text import parse_tweet

X_API = "https://api.twitter.com"  # what tweepy signs, whatever host it is sent to
FIFTEEN_MINUTES = 15 * 60.0
ONE_DAY = 24 * 3600.0
MAX_RESULTS = range(5, 101)

# Requests per 15 minutes per endpoint (per user, or per app with a Bearer token), and posts
# per 24 hours; X's figures vary by plan and over time: these are the Free plan's of 2024.
WINDOW_LIMITS = {
    "GET /2/users/me": 75,
    "POST /2/tweets": 100,
    "DELETE /2/tweets/:id": 50,
    "GET /2/tweets/:id": 900,
    "GET /2/users/:id/mentions": 180,
    "GET /2/users/:id/tweets": 900,
}
POSTS_PER_DAY = 17


@dataclass(frozen=True)
class Credentials:
    """What the stand-in accepts; any value works as long as client and stand-in agree."""

    consumer_key: str = "standin-consumer-key"
    consumer_secret: str = "standin-consumer-secret"
    access_token: str = "1600000000000000001-standin-access-token"
    access_token_secret: str = "standin-access-token-secret"
    bearer_token: str = "standin-bearer-token"

    def environment(self) -> dict[str, str]:
        return {
            "X_BEARER_TOKEN": self.bearer_token,
            "X_CONSUMER_KEY": self.consumer_key,
            "X_CONSUMER_SECRET": self.consumer_secret,
            "X_ACCESS_TOKEN": self.access_token,
            "X_ACCESS_TOKEN_SECRET": self.access_token_secret,
        }


# Faults ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fault:
    """What the stand-in does to a call instead of answering it normally.

    `error` answers `status` with a problem body and changes nothing (`reset_in` sets a
    429's `x-rate-limit-reset`; `html` answers a proxy's HTML page instead of JSON);
    `reset` cuts the connection before doing anything; `lost` does the call (a post is
    stored) and then cuts the connection; `slow` does the call and answers after `seconds`.
    """

    action: Literal["error", "reset", "lost", "slow"]
    status: int = 0
    title: str = ""
    detail: str = ""
    reset_in: float = FIFTEEN_MINUTES
    seconds: float = 0.0
    html: bool = False


def too_many_requests(reset_in: float = FIFTEEN_MINUTES) -> Fault:
    return Fault("error", 429, "Too Many Requests", "Too Many Requests", reset_in=reset_in)


def unauthorized() -> Fault:
    return Fault("error", 401, "Unauthorized", "Unauthorized")


def suspended() -> Fault:
    return Fault(
        "error",
        403,
        "Forbidden",
        "Your account is suspended and is not permitted to access this feature.",
    )


def server_error(status: int = 503, *, html: bool = False) -> Fault:
    titles = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}
    title = titles.get(status, "Server Error")
    return Fault("error", status, title, title, html=html)


def reset() -> Fault:
    return Fault("reset")


def lost() -> Fault:
    return Fault("lost")


def slow(seconds: float) -> Fault:
    return Fault("slow", seconds=seconds)


@dataclass
class Call:
    """One request as the stand-in understood it."""

    number: int  # 1-based, over every call the stand-in received
    method: str
    path: str
    endpoint: str  # "POST /2/tweets", "GET /2/users/:id/mentions"
    params: dict[str, str]
    body: Any
    auth: Literal["oauth1", "bearer", "none"]
    at: float  # time.monotonic()
    status: int = 0  # the HTTP status answered; 0 while pending or when the connection was cut


FaultPlan = Callable[[Call], Fault | None]


def no_faults(call: Call) -> Fault | None:
    return None


def when(
    fault: Fault,
    *,
    endpoint: str | None = None,
    numbers: Collection[int] | None = None,
    times: int | None = None,
) -> FaultPlan:
    """A plan that answers `fault` to the calls matching every filter given, `times` times."""
    fired = 0

    def plan(call: Call) -> Fault | None:
        nonlocal fired
        if endpoint is not None and call.endpoint != endpoint:
            return None
        if numbers is not None and call.number not in numbers:
            return None
        if times is not None and fired >= times:
            return None
        fired += 1
        return fault

    return plan


class Problem(Exception):
    """An error answer in X's problem-details shape."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        *,
        kind: str = "about:blank",
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.headers = headers
        self.body: dict[str, Any] = {
            "title": title,
            "detail": detail,
            "type": kind,
            "status": status,
        }
        if errors is not None:
            self.body = {"errors": errors, **self.body}

    @classmethod
    def of(cls, fault: Fault) -> Problem:
        return cls(fault.status, fault.title, fault.detail)


def _invalid(parameter: str, value: str, message: str) -> Problem:
    return Problem(
        400,
        "Invalid Request",
        "One or more parameters to your request was invalid.",
        kind="https://api.twitter.com/2/problems/invalid-request",
        errors=[{"parameters": {parameter: [value]}, "message": message}],
    )


# What it keeps -----------------------------------------------------------------------------


@dataclass
class Post:
    id: str
    text: str
    author_id: str
    created_at: dt.datetime
    conversation_id: str
    in_reply_to: str | None = None  # the post this one answers
    deleted: bool = False


@dataclass
class Window:
    """A fixed rate-limit window that starts at its first request."""

    limit: int
    seconds: float
    used: int = 0
    resets_at: float = 0.0  # epoch seconds

    def refresh(self, now: float) -> None:
        if now >= self.resets_at:
            self.used, self.resets_at = 0, now + self.seconds

    @property
    def remaining(self) -> int:
        return max(self.limit - self.used, 0)


Handler = Callable[[web.Request, Call, str], Awaitable[tuple[int, dict[str, Any]]]]


@dataclass
class XStandIn:
    credentials: Credentials = field(default_factory=Credentials)
    username: str = "unavoz_status"
    name: str = "Unavoz"
    faults: FaultPlan = no_faults
    verify_signatures: bool = True
    window_limits: dict[str, int] = field(default_factory=lambda: dict(WINDOW_LIMITS))
    posts_per_day_user: int = POSTS_PER_DAY
    posts_per_day_app: int = POSTS_PER_DAY
    clock: Callable[[], float] = time.time  # posts' created_at and the windows' resets
    host: str = "127.0.0.1"
    port: int = 0
    calls: list[Call] = field(default_factory=list)
    users: dict[str, dict[str, str]] = field(default_factory=dict)  # by id
    all_posts: dict[str, Post] = field(default_factory=dict)  # by id, in id order
    windows: dict[tuple[str, str], Window] = field(default_factory=dict)
    _last_id: int = 1_860_000_000_000_000_000
    _runner: web.AppRunner | None = None

    def __post_init__(self) -> None:
        self.account = {
            "id": self.credentials.access_token.split("-", 1)[0],
            "name": self.name,
            "username": self.username,
        }
        self.users[self.account["id"]] = self.account

    # Lifecycle -----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """What X_API_URL is set to."""
        return f"http://{self.host}:{self.port}"

    async def start(self) -> XStandIn:
        app = web.Application()
        routes: list[tuple[str, str, Literal["user", "any"], Handler]] = [
            ("GET", "/2/users/me", "user", self._me),
            ("POST", "/2/tweets", "user", self._create),
            ("DELETE", "/2/tweets/{id}", "user", self._delete),
            ("GET", "/2/tweets/{id}", "any", self._lookup),
            ("GET", "/2/users/{id}/mentions", "any", self._mentions),
            ("GET", "/2/users/{id}/tweets", "any", self._timeline),
        ]
        for method, path, auth, handler in routes:
            endpoint = f"{method} {path.replace('{id}', ':id')}"
            app.router.add_route(method, path, self._endpoint(endpoint, auth, handler))
        app.router.add_route("*", "/2/{tail:.*}", self._not_found)
        app.add_subapp("/_standin/", self._demo_app())
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> XStandIn:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # The API -------------------------------------------------------------------------------

    def _endpoint(
        self, endpoint: str, auth: Literal["user", "any"], handler: Handler
    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handle(request: web.Request) -> web.StreamResponse:
            body = await _read_json(request)
            call = Call(
                len(self.calls) + 1,
                request.method,
                request.path,
                endpoint,
                dict(request.query),
                body,
                _auth_kind(request),
                time.monotonic(),
            )
            self.calls.append(call)
            headers = self._untouched_headers(endpoint)
            try:
                principal = self._authenticate(request, call, user_only=auth == "user")
                fault = self.faults(call)
                if fault is not None and fault.action == "reset":
                    _cut(request)
                if fault is not None and fault.action == "error":
                    if fault.status == 429:
                        headers = self._untouched_headers(endpoint, fault.reset_in, remaining=0)
                    if fault.html:
                        call.status = fault.status
                        return _html_error(fault.status, fault.title, headers)
                    raise Problem.of(fault)
                headers = self._take(endpoint, principal)
                status, answer = await handler(request, call, principal)
            except Problem as problem:
                call.status = problem.status
                headers = problem.headers or headers
                return web.json_response(problem.body, status=problem.status, headers=headers)
            if fault is not None and fault.action == "lost":
                _cut(request)
            if fault is not None and fault.action == "slow":
                await asyncio.sleep(fault.seconds)
            call.status = status
            return web.json_response(answer, status=status, headers=headers)

        return handle

    def _authenticate(self, request: web.Request, call: Call, *, user_only: bool) -> str:
        """Who is calling: the access token (OAuth 1.0a) or "app" (Bearer); else 401/403."""
        given = request.headers.get("Authorization", "")
        if call.auth == "bearer":
            if given.split(" ", 1)[1] != self.credentials.bearer_token:
                raise Problem.of(unauthorized())
            if user_only:
                raise Problem(
                    403,
                    "Unsupported Authentication",
                    "Authenticating with OAuth 2.0 Application-Only is forbidden for this "
                    "endpoint.  Supported authentication types are [OAuth 1.0a User Context, "
                    "OAuth 2.0 User Context].",
                    kind="https://api.twitter.com/2/problems/unsupported-authentication",
                )
            return "app"
        if call.auth != "oauth1":
            raise Problem.of(unauthorized())
        try:
            oauth = dict(oauth_utils.parse_authorization_header(given))
        except ValueError:
            raise Problem.of(unauthorized()) from None
        keys_match = (
            oauth.get("oauth_consumer_key") == self.credentials.consumer_key
            and oauth.get("oauth_token") == self.credentials.access_token
        )
        if not keys_match:
            raise Problem.of(unauthorized())
        if self.verify_signatures and not oauth1_signature_valid(
            request.method,
            _signed_urls(request),
            given,
            self.credentials.consumer_secret,
            self.credentials.access_token_secret,
        ):
            raise Problem.of(unauthorized())
        return self.credentials.access_token

    def _window(self, key: str, principal: str, limit: int, seconds: float) -> Window:
        window = self.windows.setdefault((key, principal), Window(limit, seconds))
        window.refresh(self.clock())
        return window

    def _take(self, endpoint: str, principal: str) -> dict[str, str]:
        """Count the request in its windows; 429 when one is used up. Returns the headers."""
        windows = {
            "x-rate-limit": self._window(
                endpoint, principal, self.window_limits[endpoint], FIFTEEN_MINUTES
            )
        }
        if endpoint == "POST /2/tweets":
            app = self.credentials.consumer_key
            windows["x-user-limit-24hour"] = self._window(
                "posts", principal, self.posts_per_day_user, ONE_DAY
            )
            windows["x-app-limit-24hour"] = self._window(
                "posts", app, self.posts_per_day_app, ONE_DAY
            )
        full = any(window.remaining == 0 for window in windows.values())
        if not full:
            for window in windows.values():
                window.used += 1
        headers = {
            f"{prefix}-{name}": str(value)
            for prefix, window in windows.items()
            for name, value in (
                ("limit", window.limit),
                ("remaining", window.remaining),
                ("reset", int(window.resets_at)),
            )
        }
        if full:
            fault = too_many_requests()
            raise Problem(fault.status, fault.title, fault.detail, headers=headers)
        return headers

    def _untouched_headers(
        self, endpoint: str, reset_in: float = FIFTEEN_MINUTES, remaining: int | None = None
    ) -> dict[str, str]:
        """The rate-limit headers of an answer that counted in no window (401, a fault)."""
        limit = self.window_limits[endpoint]
        return {
            "x-rate-limit-limit": str(limit),
            "x-rate-limit-remaining": str(limit if remaining is None else remaining),
            "x-rate-limit-reset": str(int(self.clock() + reset_in)),
        }

    async def _me(self, request: web.Request, call: Call, principal: str) -> tuple[int, Any]:
        return 200, {"data": self.account}

    async def _create(self, request: web.Request, call: Call, principal: str) -> tuple[int, Any]:
        body = call.body if isinstance(call.body, dict) else {}
        text = body.get("text")
        if not isinstance(text, str) or not text:
            raise _invalid("text", str(text), "The `text` field is required to create a Tweet.")
        if not parse_tweet(text).valid:
            raise Problem(
                403,
                "Forbidden",
                "Your Tweet text is too long. For more information on how X determines text "
                "length see https://github.com/twitter/twitter-text.",
            )
        author = self.account["id"]
        if any(p.text == text for p in self.posts(author) if not p.deleted):
            raise Problem(
                403, "Forbidden", "You are not allowed to create a Tweet with duplicate content."
            )
        replied = (body.get("reply") or {}).get("in_reply_to_tweet_id")
        if replied is not None and (
            str(replied) not in self.all_posts or self.all_posts[str(replied)].deleted
        ):
            raise Problem(
                403,
                "Forbidden",
                "You attempted to reply to a Tweet that is deleted or not visible to you.",
            )
        post = self._store(author, text, None if replied is None else str(replied))
        return 201, {"data": _tweet(post, set(), self)}

    async def _delete(self, request: web.Request, call: Call, principal: str) -> tuple[int, Any]:
        post = self.all_posts.get(request.match_info["id"])
        if post is None or post.author_id != self.account["id"]:
            raise Problem(
                403, "Forbidden", "You are not allowed to delete a Tweet you did not create."
            )
        post.deleted = True
        return 200, {"data": {"deleted": True}}

    async def _lookup(self, request: web.Request, call: Call, principal: str) -> tuple[int, Any]:
        post_id = request.match_info["id"]
        post = self.all_posts.get(post_id)
        if post is None or post.deleted:
            return 200, {"errors": [_not_found("tweet", "id", post_id)]}
        return 200, _page([post], call.params, self, meta=False)

    async def _mentions(self, request: web.Request, call: Call, principal: str) -> tuple[int, Any]:
        user_id = request.match_info["id"]
        if user_id not in self.users:
            return 200, {"errors": [_not_found("user", "id", user_id)]}
        handle = "@" + self.users[user_id]["username"].lower()
        found = [
            post
            for post in self.all_posts.values()
            if not post.deleted and post.author_id != user_id and handle in post.text.lower()
        ]
        return 200, _page(found, call.params, self)

    async def _timeline(self, request: web.Request, call: Call, principal: str) -> tuple[int, Any]:
        user_id = request.match_info["id"]
        if user_id not in self.users:
            return 200, {"errors": [_not_found("user", "id", user_id)]}
        found = [post for post in self.posts(user_id) if not post.deleted]
        return 200, _page(found, call.params, self)

    async def _not_found(self, request: web.Request) -> web.Response:
        body = {"title": "Not Found", "detail": "Not Found", "type": "about:blank", "status": 404}
        return web.json_response(body, status=404)

    def _store(self, author_id: str, text: str, in_reply_to: str | None) -> Post:
        self._last_id += 1
        post_id = str(self._last_id)
        root = self.all_posts[in_reply_to].conversation_id if in_reply_to else post_id
        created = dt.datetime.fromtimestamp(self.clock(), dt.UTC)
        post = Post(post_id, text, author_id, created, root, in_reply_to)
        self.all_posts[post_id] = post
        return post

    # What tests do and ask -----------------------------------------------------------------

    def add_user(self, username: str, name: str | None = None) -> dict[str, str]:
        """A person on X (found by handle when it exists)."""
        for user in self.users.values():
            if user["username"].lower() == username.lower():
                return user
        self._last_id += 1
        user = {"id": str(self._last_id), "name": name or username, "username": username}
        self.users[user["id"]] = user
        return user

    def add_mention(
        self,
        author: str,
        text: str,
        *,
        created_at: dt.datetime | None = None,
        in_reply_to: str | None = None,
    ) -> Post:
        """Someone (by handle) mentions the account; `@account` is put first when missing."""
        user = self.add_user(author.lstrip("@"))
        handle = "@" + self.username
        if handle.lower() not in text.lower():
            text = f"{handle} {text}"
        post = self._store(user["id"], text, in_reply_to)
        if created_at is not None:
            post.created_at = created_at.astimezone(dt.UTC)
        return post

    def posts(self, author_id: str | None = None) -> list[Post]:
        """Every post by someone (the account by default), oldest first, deleted ones too."""
        author_id = author_id or self.account["id"]
        return [post for post in self.all_posts.values() if post.author_id == author_id]

    def thread(self, post_id: str) -> list[Post]:
        """The post and those it answers, from the first of the conversation to it."""
        chain = [self.all_posts[post_id]]
        while chain[0].in_reply_to is not None and chain[0].in_reply_to in self.all_posts:
            chain.insert(0, self.all_posts[chain[0].in_reply_to])
        return chain

    def replies(self, post_id: str) -> list[Post]:
        return [post for post in self.all_posts.values() if post.in_reply_to == post_id]

    def calls_to(self, endpoint: str) -> list[Call]:
        return [call for call in self.calls if call.endpoint == endpoint]

    # For a person trying a channel ---------------------------------------------------------

    def _demo_app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/mentions", self._demo_mention)
        app.router.add_get("/posts", self._demo_posts)
        app.router.add_get("/calls", self._demo_calls)
        app.router.add_get("/thread/{id}", self._demo_thread)
        return app

    async def _demo_mention(self, request: web.Request) -> web.Response:
        body = await request.json()
        in_reply_to = body.get("in_reply_to")
        post = self.add_mention(
            str(body.get("author", "vecina_ana")),
            str(body["text"]),
            in_reply_to=None if in_reply_to is None else str(in_reply_to),
        )
        return web.json_response(_tweet(post, _ALL_FIELDS, self), status=201)

    async def _demo_posts(self, request: web.Request) -> web.Response:
        posts = [_tweet(post, _ALL_FIELDS, self) for post in self.all_posts.values()]
        return web.json_response(posts)

    async def _demo_thread(self, request: web.Request) -> web.Response:
        post_id = request.match_info["id"]
        if post_id not in self.all_posts:
            return web.json_response({"error": f"no post {post_id}"}, status=404)
        chain = self.thread(post_id) + self.replies(post_id)
        return web.json_response([_tweet(post, _ALL_FIELDS, self) for post in chain])

    async def _demo_calls(self, request: web.Request) -> web.Response:
        calls = [
            {
                "number": call.number,
                "endpoint": call.endpoint,
                "path": call.path,
                "params": call.params,
                "body": call.body,
                "auth": call.auth,
                "status": call.status,
            }
            for call in self.calls
        ]
        return web.json_response(calls)


# Wire helpers ------------------------------------------------------------------------------

_ALL_FIELDS = {
    "created_at",
    "author_id",
    "conversation_id",
    "in_reply_to_user_id",
    "referenced_tweets",
}


def oauth1_signature_valid(
    method: str,
    urls: Iterable[str],
    authorization: str,
    consumer_secret: str,
    token_secret: str,
) -> bool:
    """Whether an OAuth 1.0a HMAC-SHA1 `Authorization` header signs `method` on one of `urls`.

    A client signs the URL it believes it calls (tweepy: https://api.twitter.com/...), so
    the caller passes every URL the request may have been signed for.
    """
    oauth = dict(oauth_utils.parse_authorization_header(authorization))
    if oauth.get("oauth_signature_method") != "HMAC-SHA1":
        return False
    for url in urls:
        params = oauth_signature.collect_parameters(
            uri_query=urlsplit(url).query, headers={"Authorization": authorization}
        )
        signed = SimpleNamespace(
            uri=url,
            http_method=method.upper(),
            params=params,
            signature=oauth_utils.unescape(oauth.get("oauth_signature", "")),
        )
        if oauth_signature.verify_hmac_sha1(signed, consumer_secret, token_secret):
            return True
    return False


async def _read_json(request: web.Request) -> Any:
    if not request.can_read_body:
        return None
    raw = await request.read()
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")


def _signed_urls(request: web.Request) -> list[str]:
    path_qs = request.raw_path
    return [f"{X_API}{path_qs}", f"{request.scheme}://{request.host}{path_qs}"]


def _auth_kind(request: web.Request) -> Literal["oauth1", "bearer", "none"]:
    given = request.headers.get("Authorization", "")
    if given.lower().startswith("oauth "):
        return "oauth1"
    if given.lower().startswith("bearer "):
        return "bearer"
    return "none"


def _fields(params: dict[str, str], name: str) -> set[str]:
    return {value for value in params.get(name, "").split(",") if value}


def _tweet(post: Post, fields: set[str], standin: XStandIn) -> dict[str, Any]:
    tweet: dict[str, Any] = {
        "id": post.id,
        "text": post.text,
        "edit_history_tweet_ids": [post.id],
    }
    if "created_at" in fields:
        tweet["created_at"] = post.created_at.strftime("%Y-%m-%dT%H:%M:%S.") + (
            f"{post.created_at.microsecond // 1000:03d}Z"
        )
    if "author_id" in fields:
        tweet["author_id"] = post.author_id
    if "conversation_id" in fields:
        tweet["conversation_id"] = post.conversation_id
    replied = standin.all_posts.get(post.in_reply_to or "")
    if "in_reply_to_user_id" in fields and replied is not None:
        tweet["in_reply_to_user_id"] = replied.author_id
    if "referenced_tweets" in fields and replied is not None:
        tweet["referenced_tweets"] = [{"type": "replied_to", "id": replied.id}]
    return tweet


def _page(
    posts: list[Post], params: dict[str, str], standin: XStandIn, *, meta: bool = True
) -> dict[str, Any]:
    """X's answer for a list of posts, newest first, with `since_id`, `until_id`,
    `max_results`, `pagination_token`, `tweet.fields` and `expansions=author_id` applied."""
    newest_first = sorted(posts, key=lambda post: int(post.id), reverse=True)
    bounds = {}
    for name in ("since_id", "until_id", "pagination_token"):
        if name in params:
            if not params[name].isdigit():
                raise _invalid(name, params[name], f"The `{name}` query parameter is invalid.")
            bounds[name] = int(params[name])
    if "since_id" in bounds:
        newest_first = [p for p in newest_first if int(p.id) > bounds["since_id"]]
    for name in ("until_id", "pagination_token"):
        if name in bounds:
            newest_first = [p for p in newest_first if int(p.id) < bounds[name]]
    size = 10
    if meta and "max_results" in params:
        given = params["max_results"]
        if not given.isdigit() or int(given) not in MAX_RESULTS:
            raise _invalid(
                "max_results",
                given,
                f"The `max_results` query parameter value [{given}] is not between 5 and 100",
            )
        size = int(given)
    shown, more = newest_first[:size], newest_first[size:]
    fields = _fields(params, "tweet.fields")
    expansions = _fields(params, "expansions")
    if not shown:
        return {"meta": {"result_count": 0}}
    answer: dict[str, Any] = {"data": [_tweet(post, fields, standin) for post in shown]}
    if "author_id" in expansions:
        authors = dict.fromkeys(post.author_id for post in shown)
        answer["includes"] = {"users": [standin.users[author] for author in authors]}
    if not meta:
        answer["data"] = answer["data"][0]
        return answer
    answer["meta"] = {
        "result_count": len(shown),
        "newest_id": shown[0].id,
        "oldest_id": shown[-1].id,
    }
    if more:
        answer["meta"]["next_token"] = shown[-1].id
    return answer


def _not_found(kind: str, parameter: str, value: str) -> dict[str, Any]:
    return {
        "value": value,
        "detail": f"Could not find {kind} with {parameter}: [{value}].",
        "title": "Not Found Error",
        "resource_type": kind,
        "parameter": parameter,
        "resource_id": value,
        "type": "https://api.twitter.com/2/problems/resource-not-found",
    }


def _html_error(status: int, reason: str, headers: dict[str, str]) -> web.Response:
    page = f"<html><head><title>{status} {reason}</title></head><body>{reason}</body></html>"
    return web.Response(status=status, text=page, content_type="text/html", headers=headers)


def _cut(request: web.Request) -> None:
    """Close the connection without an answer, the way a crash or a proxy would."""
    assert request.transport is not None
    request.transport.abort()
    raise asyncio.CancelledError


# Run it for a person -----------------------------------------------------------------------


def main() -> None:  # pragma: no cover - a foreground server for demos
    parser = argparse.ArgumentParser(
        prog="python -m tests.standins.x",
        description="A stand-in X API v2 server for trying Unavoz without an account.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8082)
    parser.add_argument("--username", default="unavoz_status", help="the account's handle")
    parser.add_argument("--posts-per-day", type=int, default=POSTS_PER_DAY)
    args = parser.parse_args()

    async def serve() -> None:
        standin = XStandIn(
            host=args.host,
            port=args.port,
            username=args.username,
            posts_per_day_user=args.posts_per_day,
            posts_per_day_app=args.posts_per_day,
        )
        await standin.start()
        print(_demo_help(standin), flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await standin.stop()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())


def _demo_help(standin: XStandIn) -> str:  # pragma: no cover
    url = standin.url
    exports = "\n".join(
        f"  export {name}={value}" for name, value in standin.credentials.environment().items()
    )
    return f"""\
X stand-in listening on {url} (API at {url}/2/...), as @{standin.username} \
(user id {standin.account["id"]})

Point Unavoz at it:
  export X_API_URL={url}
{exports}

Someone mentions the account:
  curl -s {url}/_standin/mentions -H 'Content-Type: application/json' \\
    -d '{{"author": "vecina_ana", "text": "¿Cuándo vuelven los permisos SER?"}}'
What was posted:  curl -s {url}/_standin/posts     a thread:  curl -s {url}/_standin/thread/ID
Every call:       curl -s {url}/_standin/calls
Ctrl+C stops it."""


if __name__ == "__main__":  # pragma: no cover
    main()
