"""python-telegram-bot's HTTP layer on aiohttp: one `ClientSession` per bot, kept-alive pooled
connections, and PTB's timeouts and errors, so `Bot` and everything above it work unchanged.

Why not PTB's default (`HTTPXRequest`): httpx and httpcore cost ~3 ms of CPU a message here
(httpcore walks its whole pool and looks up which async library runs, an import attempt,
on every request), which capped one core at ~150 messages a second; aiohttp, already
Unavoz's HTTP client and server, does the same request for a fraction of that.

What PTB expects of a `BaseRequest` (`telegram/request/_baserequest.py`): `do_request`
answers (status, body) for any status, and raises `TimedOut` when a timeout fires and
`NetworkError` when the connection fails; `BaseRequest.post` then turns an error body
(`description`, `parameters.retry_after`, `parameters.migrate_to_chat_id`) into
`RetryAfter`, `ChatMigrated`, `Forbidden`, `BadRequest`... exactly as with httpx.

Bodies go as JSON (Telegram's documented `application/json`); a request with files goes as
multipart form data, its other parameters as form fields.

Timeouts, in PTB's four kinds: `connect` bounds opening a connection; `pool` bounds waiting
for a free one (aiohttp counts both in one `connect` allowance: their sum); `read` bounds
each wait for the answer's bytes. aiohttp has no per-write timeout: `write` bounds the whole
exchange with the others (`total` = the sum of the four) — a JSON body is written at once,
an upload is the case it is there for.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import aiohttp
from telegram._utils.defaultvalue import DefaultValue  # (as PTB's HTTPXRequest reads them)
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

if TYPE_CHECKING:
    from telegram._utils.types import ODVInput

JSON = "application/json"


class AiohttpRequest(BaseRequest):
    """A `telegram.request.BaseRequest` on one aiohttp session (`initialize` → `shutdown`)."""

    __slots__ = ("_defaults", "_pool_size", "_session", "_timeout")

    def __init__(
        self,
        *,
        connection_pool_size: int = 1,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
    ) -> None:
        self._pool_size = connection_pool_size
        # read, write, connect, pool: as PTB names and orders them.
        self._defaults = (read_timeout, write_timeout, connect_timeout, pool_timeout)
        self._timeout = client_timeout(*self._defaults)  # built once: most calls use it
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._defaults[0]

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size),
                headers={"User-Agent": self.USER_AGENT},
                timeout=self._timeout,
            )

    async def shutdown(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("this AiohttpRequest is not initialized (call initialize first)")
        asked = (read_timeout, write_timeout, connect_timeout, pool_timeout)
        timeout = self._timeout
        if not all(isinstance(value, DefaultValue) for value in asked):
            read, write, connect, pool = (
                default if isinstance(value, DefaultValue) else value
                for value, default in zip(asked, self._defaults, strict=True)
            )
            timeout = client_timeout(read, write, connect, pool)
        body, headers = encode(request_data)
        try:
            async with self._session.request(
                method, url, data=body, headers=headers, timeout=timeout
            ) as response:
                return response.status, await response.read()
        except TimeoutError as exc:  # (aiohttp's ServerTimeoutError is one too)
            raise TimedOut(f"Timed out: {type(exc).__name__}: {exc}") from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {exc}") from exc


def client_timeout(
    read: float | None, write: float | None, connect: float | None, pool: float | None
) -> aiohttp.ClientTimeout:
    """PTB's four timeouts as aiohttp's (see the module's docstring); None: no limit."""
    parts = (read, write, connect, pool)
    return aiohttp.ClientTimeout(
        total=None if None in parts else sum(p for p in parts if p is not None),
        connect=None if connect is None or pool is None else connect + pool,
        sock_connect=connect,
        sock_read=read,
    )


def encode(request_data: RequestData | None) -> tuple[Any, dict[str, str] | None]:
    """The request's body and its headers: JSON, or multipart form data when it has files."""
    if request_data is None:
        return None, None
    files = request_data.multipart_data
    if not files:
        # (Not PTB's `json_payload`: it holds objects as JSON text inside the JSON.)
        return json.dumps(request_data.parameters).encode(), {"Content-Type": JSON}
    form = aiohttp.FormData()
    for name, value in request_data.json_parameters.items():
        form.add_field(name, value)
    for name, (filename, content, mimetype) in files.items():
        form.add_field(name, content, filename=filename, content_type=mimetype)
    return form, None


__all__ = ["AiohttpRequest", "client_timeout", "encode"]
