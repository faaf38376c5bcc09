"""A stand-in for Twilio's REST API: records the calls it is asked to place (Calls.json)."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass, field

from aiohttp import web


@dataclass
class PlacedCall:
    account: str
    to: str
    from_: str
    twiml: str


@dataclass
class TwilioStandIn:
    account_sid: str = "AC" + "0" * 32
    auth_token: str = "twilio-auth-token"
    fail_first: int = 0  # answer the first N requests with 500, to prove retries
    calls: list[PlacedCall] = field(default_factory=list)
    requests: int = 0
    port: int = 0
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> TwilioStandIn:
        app = web.Application()
        app.router.add_post("/2010-04-01/Accounts/{account}/Calls.json", self.create_call)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def create_call(self, request: web.Request) -> web.Response:
        self.requests += 1
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if request.headers.get("Authorization") != f"Basic {expected}":
            return web.json_response({"code": 20003, "message": "Authenticate"}, status=401)
        if self.requests <= self.fail_first:
            return web.json_response({"code": 20500, "message": "Internal"}, status=500)
        form = await request.post()
        call = PlacedCall(
            request.match_info["account"], str(form["To"]), str(form["From"]), str(form["Twiml"])
        )
        self.calls.append(call)
        return web.json_response(
            {
                "sid": "CA" + uuid.uuid4().hex,
                "status": "queued",
                "to": call.to,
                "from": call.from_,
                "account_sid": call.account,
            },
            status=201,
        )
