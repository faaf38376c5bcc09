"""tweepy's AsyncClient, sent to `X_API_URL` (a stand-in, a proxy) instead of api.twitter.com.

tweepy 4.17 has no seam for the host: `AsyncBaseClient.request` builds every URL inline
(`url = "https://api.twitter.com" + route`), signs it (OAuth 1.0a), and sends it with
`self.session` — or, when that is None, with a new `aiohttp.ClientSession` per request,
closed after it (and leaked when the request fails at the network level). No method
builds the URL, so there is nothing smaller to override, and overriding `request` would
copy ~80 lines of tweepy (its signing, its error mapping).

The seam tweepy does offer is the session, so this subclass owns one long-lived
session, opened and closed with `async with` (or `start`/`stop`), whose client
middleware (aiohttp ≥ 3.12) rewrites requests for api.twitter.com to `api_url` (scheme,
host, port and an optional path prefix) just before they are sent. tweepy's signature
still covers https://api.twitter.com/2/..., which is what X verifies behind a proxy and
what the stand-in verifies.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

import aiohttp
from aiohttp import ClientHandlerType, ClientRequest, ClientResponse, hdrs
from tweepy.asynchronous import AsyncClient
from yarl import URL

X_HOST = "api.twitter.com"
X_API = f"https://{X_HOST}"


class XApiClient(AsyncClient):  # type: ignore[misc]
    """tweepy's AsyncClient sending to `api_url` instead of https://api.twitter.com."""

    session: aiohttp.ClientSession | None

    def __init__(
        self,
        *args: Any,
        api_url: str = X_API,
        timeout: aiohttp.ClientTimeout | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.api_url = URL(api_url.rstrip("/"))
        self.timeout = timeout or aiohttp.ClientTimeout(total=30)

    async def start(self) -> None:
        if self.session is None:
            self.session = aiohttp.ClientSession(
                timeout=self.timeout, middlewares=(self._to_api_url,)
            )

    async def stop(self) -> None:
        if self.session is not None:
            await self.session.close()
        self.session = None

    async def __aenter__(self) -> XApiClient:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    async def _to_api_url(
        self, request: ClientRequest, handler: ClientHandlerType
    ) -> ClientResponse:
        if request.url.host == X_HOST and self.api_url != URL(X_API):
            # raw_path_qs keeps tweepy's encoding (%3A in signed query values).
            request.url = URL(f"{self.api_url}{request.url.raw_path_qs}", encoded=True)
            request.headers[hdrs.HOST] = request.url.host_port_subcomponent or ""
        return await handler(request)
