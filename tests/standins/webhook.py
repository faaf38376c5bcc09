"""A stand-in webhook receiver: a real local HTTP server that records what it receives.

It honours `Idempotency-Key` the way idempotent APIs do (a repeated key is
answered 200 but applied once), keeps every raw request for the tests to
inspect, and can be told to fail: 429 with `retry_after`, 5xx, connection
resets, answers slower than the client's timeout.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

# A fault plan looks at the request number (1-based) and the target, and says what to do:
# None (answer 200), ("429", seconds), ("500",), ("reset",), ("slow", seconds), ("403",).
Fault = tuple[Any, ...] | None
FaultPlan = Callable[[int, str], Fault]


@dataclass
class Received:
    at: float
    target: str
    key: str
    revision: int
    incident: str
    body: dict[str, Any]


@dataclass
class WebhookStandIn:
    faults: FaultPlan = lambda n, target: None
    delay: float = 0.0
    secret: str | None = None  # when set, X-Unavoz-Signature is checked and counted
    signatures: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    requests: list[Received] = field(default_factory=list)
    applied: dict[str, Received] = field(default_factory=dict)
    answered: list[tuple[float, str, int]] = field(default_factory=list)
    _count: int = 0
    _runner: web.AppRunner | None = None
    port: int = 0

    def url(self, target: str) -> str:
        return f"http://127.0.0.1:{self.port}/t/{target}"

    async def start(self) -> WebhookStandIn:
        app = web.Application()
        app.router.add_post("/t/{target}", self.handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self._count += 1
        target = request.match_info["target"]
        now = time.monotonic()
        fault = self.faults(self._count, target)
        try:
            raw = await request.read()
        except ConnectionResetError:  # the sender died mid-request (the crash tests kill it)
            return web.Response(status=499)
        if fault is not None and fault[0] != "slow":
            kind = fault[0]
            if kind == "reset":
                assert request.transport is not None
                request.transport.abort()
                raise asyncio.CancelledError
            status = 429 if kind == "429" else int(kind)
            self.answered.append((now, target, status))
            if kind == "429":
                return web.json_response(
                    {"ok": False, "error_code": 429, "parameters": {"retry_after": fault[1]}},
                    status=429,
                )
            return web.json_response({"ok": False}, status=status)
        # Accepted on arrival, in arrival order: a slow answer is slow after the fact, like a
        # server that applied a request and then stalled before replying.
        self._accept(request, target, now, raw)
        if self.delay:
            await asyncio.sleep(self.delay)
        if fault is not None:
            await asyncio.sleep(fault[1])
        return web.json_response({"ok": True})

    def _accept(self, request: web.Request, target: str, now: float, raw: bytes) -> None:
        if self.secret is not None:
            digest = hmac.new(self.secret.encode(), raw, hashlib.sha256).hexdigest()
            given = request.headers.get("X-Unavoz-Signature", "")
            valid = hmac.compare_digest(given, f"sha256={digest}")
            self.signatures["valid" if valid else "bad"] += 1
        received = Received(
            at=now,
            target=target,
            key=request.headers["Idempotency-Key"],
            revision=int(request.headers["X-Unavoz-Revision"]),
            incident=request.headers["X-Unavoz-Incident"],
            body=json.loads(raw),
        )
        self.requests.append(received)
        self.applied.setdefault(received.key, received)
        self.answered.append((now, target, 200))

    # What the tests ask --------------------------------------------------------------------

    def raw_duplicates(self) -> int:
        return len(self.requests) - len(self.applied)

    def latest(self) -> dict[tuple[str, str], Received]:
        """Per (target, incident), the last change applied."""
        out: dict[tuple[str, str], Received] = {}
        for received in self.applied.values():
            key = (received.target, received.incident)
            if key not in out or received.revision > out[key].revision:
                out[key] = received
        return out

    def in_order(self) -> bool:
        """Each target received each incident's changes in revision order."""
        seen: dict[tuple[str, str], int] = defaultdict(int)
        for received in self.requests:
            key = (received.target, received.incident)
            if received.revision < seen[key]:
                return False
            seen[key] = received.revision
        return True

    def most_in_window(self, seconds: float, target: str | None = None) -> int:
        """The most requests (of every answer) seen in any window of `seconds`."""
        times = sorted(at for at, t, _ in self.answered if target is None or t == target)
        most, start = 0, 0
        for end, moment in enumerate(times):
            while moment - times[start] >= seconds:
                start += 1
            most = max(most, end - start + 1)
        return most


def main() -> None:  # pragma: no cover - a standalone receiver for the benchmark
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()

    async def serve() -> None:
        standin = await WebhookStandIn(port=args.port).start()
        print(json.dumps({"port": standin.port}), flush=True)
        await asyncio.Event().wait()

    asyncio.run(serve())


if __name__ == "__main__":  # pragma: no cover
    main()
