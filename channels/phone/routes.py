"""`/ivr/…`: the phone dialogue over HTTP, for Twilio (TwiML) and VoiceXML platforms.

A sub-application mounted at `/ivr`, with its own middleware: with `TWILIO_AUTH_TOKEN`
set, every request must carry a valid `X-Twilio-Signature` (403 otherwise). Twilio
signs the URL it called: behind a proxy that changes the scheme or host, set
`UNAVOZ_PUBLIC_URL` to the public base (e.g. `https://estado.almenara.example`) so the
signature is checked against that URL.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web
from twilio.request_validator import RequestValidator

from bot.http.keys import SERVICE
from bot.state import FeedState
from channels.phone import dialogue
from channels.phone.callbacks import ask_for_call
from channels.phone.dialogue import Links, Step
from channels.phone.markup import to_twiml, to_vxml

TWIML = Links("/ivr", "")
VOICEXML = Links("/ivr", ".vxml")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Signing:
    auth_token: str | None  # Twilio's: requests must be signed with it when set
    public_url: str | None  # the public base URL Twilio called, behind a proxy


SIGNING: web.AppKey[Signing] = web.AppKey("twilio_signing", Signing)


def signed_url(request: web.Request, public: str | None) -> str:
    if public:
        return public.rstrip("/") + request.path_qs
    return str(request.url)


@web.middleware
async def twilio_signature(request: web.Request, handler: Handler) -> web.StreamResponse:
    signing = request.app[SIGNING]
    token = signing.auth_token
    if token:
        form = await request.post() if request.method == "POST" else {}
        params = {key: str(value) for key, value in form.items()}
        signature = request.headers.get("X-Twilio-Signature", "")
        url = signed_url(request, signing.public_url)
        if not RequestValidator(token).validate(url, params, signature):
            raise web.HTTPForbidden(text="bad or missing X-Twilio-Signature")
    return await handler(request)


async def _inputs(request: web.Request) -> tuple[FeedState, str, dict[str, str]]:
    service = request.config_dict[SERVICE]
    if not service.has_state:
        raise web.HTTPServiceUnavailable()
    state = service.state
    form = await request.post() if request.method == "POST" else {}
    values = {**request.query, **{k: str(v) for k, v in form.items()}}
    locales = state.feed.organization.locales
    locale = values.get("lang") if values.get("lang") in locales else None
    return state, locale or state.feed.organization.default_locale, values


def _reply(step: Step, voicexml: bool) -> web.Response:
    if voicexml:
        return web.Response(body=to_vxml(step), content_type="application/voicexml+xml")
    return web.Response(text=to_twiml(step), content_type="text/xml")


CALLBACKS: web.AppKey[bool] = web.AppKey("phone_callbacks")
Build = Callable[[FeedState, str, dict[str, str], Links], Awaitable[Step]]


def _handler(voicexml: bool, build: Build) -> Handler:
    links = VOICEXML if voicexml else TWIML

    async def handle(request: web.Request) -> web.Response:
        state, locale, values = await _inputs(request)
        return _reply(await build(state, locale, values, links), voicexml)

    return handle


def setup(app: web.Application, signing: Signing, *, callbacks: bool = False) -> None:
    """Mount `/ivr`. `callbacks`: whether callers may ask to be called back (Twilio
    credentials are set)."""
    service = app[SERVICE]
    ivr = web.Application(middlewares=[twilio_signature])
    ivr[SIGNING] = signing
    ivr[CALLBACKS] = callbacks

    async def voice(state: FeedState, locale: str, values: dict[str, str], links: Links) -> Step:
        try:
            tries = int(values.get("tries", "0"))
        except ValueError:
            tries = 0
        return dialogue.welcome(state, locale, service.clock(), links, tries=tries)

    async def menu(state: FeedState, locale: str, values: dict[str, str], links: Links) -> Step:
        digits = values.get("Digits", "")
        return dialogue.menu(state, locale, digits, service.clock(), links, callbacks=callbacks)

    async def area(state: FeedState, locale: str, values: dict[str, str], links: Links) -> Step:
        postcode = "".join(ch for ch in values.get("postcode", "") if ch.isalnum())[:12]
        digits = values.get("Digits", "")
        now = service.clock()
        caller = values.get("From", "")
        if digits == "1" and callbacks and caller:
            incidents = [i.id for i in state.lookup.for_postcode(postcode, now)]
            if incidents:
                await ask_for_call(service.store, caller, postcode, locale, incidents, now)
                return dialogue.callback_confirmed(state, locale)
        return dialogue.area_menu(state, locale, postcode, digits, now, links, callbacks=callbacks)

    for name, build in (("voice", voice), ("menu", menu), ("area", area)):
        for voicexml in (False, True):
            path = f"/{name}{'.vxml' if voicexml else ''}"
            ivr.router.add_route("*", path, _handler(voicexml, build))
    app.add_subapp("/ivr", ivr)
