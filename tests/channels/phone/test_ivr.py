"""The phone line, driven by a stand-in playing Twilio: signed posts, digits, what is said."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urljoin

import pytest
from aiohttp.test_utils import TestClient
from twilio.request_validator import RequestValidator

from bot.http.app import create_app
from bot.service import FeedService
from bot.settings import Settings
from tests.conftest import HOSTILE

Client = TestClient  # type: ignore[type-arg]
MakeClient = Callable[..., Awaitable[Client]]
AUTH_TOKEN = "twilio-auth-token"
VXML = "{http://www.w3.org/2001/vxml}"


@dataclass
class Call:
    """Plays Twilio: posts signed forms, follows <Gather> with digits and <Redirect>."""

    client: Client
    token: str = AUTH_TOKEN
    said: list[str] = field(default_factory=list)
    dialled: list[str] = field(default_factory=list)
    hung_up: bool = False

    async def post(self, path: str, params: dict[str, str]) -> ET.Element:
        url = str(self.client.make_url(path))
        signature = RequestValidator(self.token).compute_signature(url, params)
        response = await self.client.post(
            path, data=params, headers={"X-Twilio-Signature": signature}
        )
        assert response.status == 200, await response.text()
        return ET.fromstring(await response.read())  # a strict XML parser

    async def step(self, path: str, digits: str | None = None) -> tuple[str | None, str | None]:
        """Say what the document says; return (gather action, redirect)."""
        params = {"CallSid": "CA123", "From": "+34600000000", "To": "+34910000010"}
        if digits is not None:
            params["Digits"] = digits
        root = await self.post(path, params)
        gather_action = redirect = None
        for element in root:
            if element.tag == "Say":
                self.said.append(element.text or "")
            elif element.tag == "Gather":
                self.said.extend(say.text or "" for say in element.iter("Say"))
                gather_action = element.get("action")
            elif element.tag == "Dial":
                self.dialled.append(element.text or "")
            elif element.tag == "Hangup":
                self.hung_up = True
            elif element.tag == "Redirect":
                redirect = element.text
        return gather_action, redirect


@pytest.fixture
async def client(
    aiohttp_client: MakeClient, service: FeedService, monkeypatch: pytest.MonkeyPatch
) -> Client:
    settings = Settings.from_env({"TWILIO_AUTH_TOKEN": AUTH_TOKEN})
    return await aiohttp_client(create_app(service, settings))


async def test_a_caller_hears_the_same_facts_as_the_banner(client: Client) -> None:
    call = Call(client)
    action, _ = await call.step("/ivr/voice")
    general = call.said[0]
    assert "Le informamos de una incidencia en curso" in general and len(general) <= 300
    assert action is not None
    await call.step(urljoin("/ivr/", action), digits="28014")
    announcement = call.said[-2]
    banner = await (await client.get("/banner.json?area=sol&lang=es")).json()
    [incident] = banner["incidents"]
    assert incident["status_text"] in announcement
    assert incident["eta_text"] in announcement  # "hoy a las 18:00", said as a time
    assert incident["workaround"] in announcement
    assert "http" not in announcement


async def test_zero_reaches_a_person_and_nine_switches_language(client: Client) -> None:
    call = Call(client)
    action, _ = await call.step("/ivr/voice")
    assert action is not None
    await call.step(action, digits="0")
    assert call.dialled == ["+34 910 000 010"]
    english = Call(client)
    _, redirect = await english.step(action, digits="9")
    assert redirect == "/ivr/voice?lang=en"
    await english.step(redirect)
    assert english.said[0].startswith("There is one incident right now")


async def test_unknown_postcode_and_quiet_areas(client: Client) -> None:
    call = Call(client)
    await call.step("/ivr/menu?lang=en", digits="99999")
    assert "We do not recognise the postcode 9 9 9 9 9." in call.said
    await call.step("/ivr/menu?lang=en", digits="01001")
    assert "No incident affects your area right now." in call.said


async def test_unsigned_or_wrongly_signed_requests_are_refused(client: Client) -> None:
    assert (await client.post("/ivr/voice", data={"CallSid": "CA1"})).status == 403
    forged = Call(client, token="not-the-token")
    with pytest.raises(AssertionError):
        await forged.step("/ivr/voice")
    bad = await client.post(
        "/ivr/voice", data={"CallSid": "CA1"}, headers={"X-Twilio-Signature": "AAAA"}
    )
    assert bad.status == 403


async def test_behind_a_proxy_the_public_url_is_what_twilio_signed(
    aiohttp_client: MakeClient, service: FeedService
) -> None:
    settings = Settings.from_env(
        {"TWILIO_AUTH_TOKEN": AUTH_TOKEN, "UNAVOZ_PUBLIC_URL": "https://estado.prueba.example"}
    )
    client = await aiohttp_client(create_app(service, settings))
    params = {"CallSid": "CA1"}
    signature = RequestValidator(AUTH_TOKEN).compute_signature(
        "https://estado.prueba.example/ivr/voice?lang=en", params
    )
    ok = await client.post(
        "/ivr/voice?lang=en", data=params, headers={"X-Twilio-Signature": signature}
    )
    assert ok.status == 200


async def test_hostile_titles_are_spoken_as_text_in_twiml_and_voicexml(client: Client) -> None:
    call = Call(client)
    root = await call.post("/ivr/menu?lang=es", {"Digits": "28014"})
    spoken = " ".join(say.text or "" for say in root.iter("Say"))
    assert HOSTILE in spoken
    english = await call.post("/ivr/menu?lang=en", {"Digits": "28014"})
    spoken = " ".join(say.text or "" for say in english.iter("Say"))
    assert f'{HOSTILE} & "quotes"' in spoken  # <, & and quotes, all spoken as written
    signature = RequestValidator(AUTH_TOKEN).compute_signature(
        str(client.make_url("/ivr/menu.vxml?lang=es")), {"Digits": "28014"}
    )
    response = await client.post(
        "/ivr/menu.vxml?lang=es",
        data={"Digits": "28014"},
        headers={"X-Twilio-Signature": signature},
    )
    document = ET.fromstring(await response.read())
    assert document.tag == f"{VXML}vxml" and document.get("version") == "2.1"
    prompts = " ".join(p.text or "" for p in document.iter(f"{VXML}prompt"))
    assert HOSTILE in prompts
    submit = document.find(f".//{VXML}submit")
    assert submit is not None and submit.get("next", "").startswith("/ivr/area.vxml?")


async def test_a_silent_caller_hears_the_menu_again_then_goodbye(client: Client) -> None:
    call = Call(client)
    _, redirect = await call.step("/ivr/voice?lang=en")
    for _ in range(3):
        assert redirect is not None and not call.hung_up
        _, redirect = await call.step(redirect)
    assert call.hung_up and call.said[-1] == "Thank you for calling. Goodbye."
