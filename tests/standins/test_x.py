"""The X stand-in, driven by tweepy's AsyncClient itself: what the X channel will meet."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import tweepy
from oauthlib.oauth1 import Client as OAuthClient

from channels.x.client import XApiClient
from tests.standins.x import (
    Credentials,
    Fault,
    XStandIn,
    lost,
    oauth1_signature_valid,
    reset,
    server_error,
    slow,
    suspended,
    too_many_requests,
    unauthorized,
    when,
)


def client_for(
    standin: XStandIn, credentials: Credentials | None = None, **options: Any
) -> XApiClient:
    given = credentials or standin.credentials
    return XApiClient(
        bearer_token=given.bearer_token,
        consumer_key=given.consumer_key,
        consumer_secret=given.consumer_secret,
        access_token=given.access_token,
        access_token_secret=given.access_token_secret,
        api_url=standin.url,
        **options,
    )


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = dt.datetime(2026, 11, 24, 11, 0, tzinfo=dt.UTC).timestamp()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def standin(clock: Clock) -> AsyncIterator[XStandIn]:
    async with XStandIn(clock=clock) as running:
        yield running


@pytest.fixture
async def client(standin: XStandIn) -> AsyncIterator[XApiClient]:
    async with client_for(standin) as running:
        yield running


# The API as tweepy speaks it ----------------------------------------------------------------


async def test_get_me_is_the_account(standin: XStandIn, client: XApiClient) -> None:
    me = await client.get_me()
    assert isinstance(me.data, tweepy.User)
    assert me.data.username == "unavoz_status" and str(me.data.id) == standin.account["id"]
    call = standin.calls[0]
    assert (call.endpoint, call.auth, call.status) == ("GET /2/users/me", "oauth1", 200)


async def test_create_tweet_and_a_reply_make_a_thread(
    standin: XStandIn, client: XApiClient, clock: Clock
) -> None:
    first = await client.create_tweet(text="Permisos SER: caída en Centro. Próxima info 14:30.")
    assert set(first.data) == {"id", "text", "edit_history_tweet_ids"}
    assert first.data["edit_history_tweet_ids"] == [first.data["id"]]
    clock.now += 60
    second = await client.create_tweet(
        text="Alternativa: ticket en papel.", in_reply_to_tweet_id=first.data["id"]
    )

    thread = standin.thread(second.data["id"])
    assert [post.text for post in thread] == [first.data["text"], second.data["text"]]
    assert (
        thread[1].in_reply_to == first.data["id"] and thread[1].conversation_id == first.data["id"]
    )
    assert standin.calls[-1].body == {
        "text": "Alternativa: ticket en papel.",
        "reply": {"in_reply_to_tweet_id": first.data["id"]},
    }
    assert standin.calls[-1].status == 201
    assert standin.thread(second.data["id"])[1].created_at.timestamp() == clock.now


async def test_a_duplicate_post_is_forbidden(standin: XStandIn, client: XApiClient) -> None:
    await client.create_tweet(text="Permisos SER: resuelto.")
    with pytest.raises(tweepy.Forbidden) as raised:
        await client.create_tweet(text="Permisos SER: resuelto.")
    assert raised.value.api_messages == [
        "You are not allowed to create a Tweet with duplicate content."
    ]
    assert raised.value.response.status == 403
    assert len(standin.posts()) == 1
    await client.delete_tweet(standin.posts()[0].id)
    await client.create_tweet(text="Permisos SER: resuelto.")  # a deleted one does not count


async def test_x_refuses_a_post_too_long_or_replying_to_nothing(client: XApiClient) -> None:
    with pytest.raises(tweepy.Forbidden, match="too long"):
        await client.create_tweet(text="x" * 281)
    with pytest.raises(tweepy.Forbidden, match="deleted or not visible"):
        await client.create_tweet(text="hola", in_reply_to_tweet_id="1")
    with pytest.raises(tweepy.BadRequest) as raised:
        await client.create_tweet(text="")  # tweepy leaves out an empty text
    assert raised.value.api_messages == ["The `text` field is required to create a Tweet."]


async def test_mentions_since_id_with_their_authors(
    standin: XStandIn, client: XApiClient, clock: Clock
) -> None:
    me = standin.account["id"]
    morning = dt.datetime(2026, 11, 24, 9, 5, tzinfo=dt.UTC)
    old = standin.add_mention("vecino_luis", "¿hay multas hoy?", created_at=morning)
    standin.add_mention("vecina_ana", "@UNAVOZ_status ¿cuándo vuelve el permiso?")
    standin.add_mention("vecino_luis", "sigue sin funcionar", in_reply_to=old.id)
    await client.create_tweet(text="Una respuesta nuestra no es una mención")

    page = await client.get_users_mentions(
        me,
        since_id=old.id,
        tweet_fields=["created_at", "author_id", "conversation_id"],
        expansions="author_id",
        user_auth=True,
    )

    assert [tweet.text for tweet in page.data] == [
        "@unavoz_status sigue sin funcionar",
        "@UNAVOZ_status ¿cuándo vuelve el permiso?",
    ]
    assert page.data[0].conversation_id == int(old.id)
    assert page.data[0].created_at == dt.datetime.fromtimestamp(clock.now, dt.UTC)
    earlier = await client.get_users_mentions(
        me, until_id=page.data[1].id, tweet_fields="created_at"
    )
    assert [tweet.created_at for tweet in earlier.data] == [morning]
    assert {user.username for user in page.includes["users"]} == {"vecino_luis", "vecina_ana"}
    assert page.meta == {
        "result_count": 2,
        "newest_id": str(page.data[0].id),
        "oldest_id": str(page.data[1].id),
    }
    nothing = await client.get_users_mentions(me, since_id=page.meta["newest_id"])  # Bearer
    assert nothing.data is None and nothing.meta == {"result_count": 0}
    assert standin.calls[-1].auth == "bearer"


async def test_mentions_come_in_pages(standin: XStandIn, client: XApiClient) -> None:
    for n in range(7):
        standin.add_mention(f"vecino_{n}", f"mención {n}")
    first = await client.get_users_mentions(standin.account["id"], max_results=5)
    assert first.meta["result_count"] == 5 and "next_token" in first.meta
    rest = await client.get_users_mentions(
        standin.account["id"], max_results=5, pagination_token=first.meta["next_token"]
    )
    assert [t.text for t in rest.data] == ["@unavoz_status mención 1", "@unavoz_status mención 0"]
    with pytest.raises(tweepy.BadRequest, match="not between 5 and 100"):
        await client.get_users_mentions(standin.account["id"], max_results=3)


# Authentication -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "wrong",
    [
        Credentials(consumer_key="other-app"),
        Credentials(access_token="1600000000000000001-other-token"),
        Credentials(consumer_secret="a-wrong-secret"),  # the signature does not verify
        Credentials(access_token_secret="a-wrong-secret"),
    ],
)
async def test_wrong_oauth_credentials_are_unauthorized(
    standin: XStandIn, wrong: Credentials
) -> None:
    async with client_for(standin, wrong) as client:
        with pytest.raises(tweepy.Unauthorized) as raised:
            await client.create_tweet(text="hola")
    assert raised.value.response.status == 401 and standin.posts() == []


async def test_signatures_cover_the_query(standin: XStandIn, client: XApiClient) -> None:
    # tweepy signs the query too, and %-encodes the ':' in it after signing.
    standin.add_mention("vecina_ana", "hola")
    await client.get_users_mentions(
        standin.account["id"], start_time="2026-11-24T00:00:00Z", user_auth=True
    )
    assert standin.calls[-1].status == 200 and standin.calls[-1].auth == "oauth1"

    given = standin.credentials
    signer = OAuthClient(
        given.consumer_key, given.consumer_secret, given.access_token, given.access_token_secret
    )
    url, headers, _ = signer.sign("https://api.twitter.com/2/users/1/mentions?since_id=5")
    secrets = (given.consumer_secret, given.access_token_secret)
    assert oauth1_signature_valid("GET", [url], headers["Authorization"], *secrets)
    tampered = url.replace("since_id=5", "since_id=6")
    assert not oauth1_signature_valid("GET", [tampered], headers["Authorization"], *secrets)
    assert not oauth1_signature_valid("POST", [url], headers["Authorization"], *secrets)


async def test_app_only_bearer_cannot_post(standin: XStandIn, client: XApiClient) -> None:
    with pytest.raises(tweepy.Forbidden, match="Application-Only is forbidden"):
        await client.create_tweet(text="hola", user_auth=False)
    wrong = Credentials(bearer_token="not-ours")
    async with client_for(standin, wrong) as stranger:
        with pytest.raises(tweepy.Unauthorized):
            await stranger.get_users_mentions(standin.account["id"])


# Rate limits ------------------------------------------------------------------------------


async def test_every_answer_says_its_rate_limits(standin: XStandIn, clock: Clock) -> None:
    # return_type=ClientResponse is the only way to see the headers of a success.
    async with client_for(standin, return_type=aiohttp.ClientResponse) as raw:
        answer = await raw.create_tweet(text="Permisos SER: caída.")
    assert answer.status == 201
    headers = answer.headers
    assert headers["x-rate-limit-limit"] == "100" and headers["x-rate-limit-remaining"] == "99"
    assert int(headers["x-rate-limit-reset"]) == int(clock.now + 15 * 60)
    assert headers["x-user-limit-24hour-limit"] == "17"
    assert headers["x-user-limit-24hour-remaining"] == "16"
    assert int(headers["x-user-limit-24hour-reset"]) == int(clock.now + 24 * 3600)
    assert headers["x-app-limit-24hour-remaining"] == "16"


async def test_the_daily_post_limit_is_429_and_resets_the_next_day(
    clock: Clock,
) -> None:
    async with (
        XStandIn(clock=clock, posts_per_day_user=2) as standin,
        client_for(standin) as client,
    ):
        await client.create_tweet(text="uno")
        await client.create_tweet(text="dos")
        with pytest.raises(tweepy.TooManyRequests) as raised:
            await client.create_tweet(text="tres")
        headers = raised.value.response.headers
        assert headers["x-user-limit-24hour-remaining"] == "0"
        assert headers["x-rate-limit-remaining"] == "98"  # not the window that is used up
        # tweepy's reset_time is x-rate-limit-reset: for the daily cap, read the 24-hour one.
        assert raised.value.reset_time == int(headers["x-rate-limit-reset"])
        assert int(headers["x-user-limit-24hour-reset"]) == int(clock.now + 24 * 3600)
        clock.now += 24 * 3600
        await client.create_tweet(text="tres")
    assert [post.text for post in standin.posts()] == ["uno", "dos", "tres"]


# Faults and how tweepy reports them ---------------------------------------------------------


async def _post_with(fault: Fault, clock: Clock) -> tuple[XStandIn, BaseException]:
    plan = when(fault, endpoint="POST /2/tweets")
    async with XStandIn(clock=clock, faults=plan) as standin, client_for(standin) as client:
        with pytest.raises(Exception) as raised:
            await client.create_tweet(text="Permisos SER: caída.")
    return standin, raised.value


async def test_429_is_too_many_requests_with_the_reset_readable(clock: Clock) -> None:
    standin, error = await _post_with(too_many_requests(reset_in=120), clock)
    assert isinstance(error, tweepy.TooManyRequests)
    assert error.reset_time == int(clock.now + 120)
    assert error.response.headers["x-rate-limit-remaining"] == "0"
    assert standin.posts() == []


@pytest.mark.parametrize(
    ("fault", "kind", "message"),
    [
        (unauthorized(), tweepy.Unauthorized, "401 Unauthorized\nUnauthorized"),
        (suspended(), tweepy.Forbidden, "403 Forbidden\nYour account is suspended"),
        (server_error(503), tweepy.TwitterServerError, "503 Service Unavailable"),
        (server_error(500), tweepy.TwitterServerError, "500 Internal Server Error"),
    ],
)
async def test_refusals_map_to_tweepy_exceptions(
    clock: Clock, fault: Fault, kind: type[Exception], message: str
) -> None:
    standin, error = await _post_with(fault, clock)
    assert type(error) is kind and str(error).startswith(message)
    assert standin.posts() == []


async def test_an_html_error_page_is_not_a_tweepy_error(clock: Clock) -> None:
    # tweepy parses every error body as JSON: a proxy's HTML 502 escapes its exceptions.
    _, error = await _post_with(server_error(502, html=True), clock)
    assert isinstance(error, aiohttp.ContentTypeError) and not isinstance(
        error, tweepy.TweepyException
    )


async def test_a_reset_raises_aiohttps_error_and_nothing_was_posted(clock: Clock) -> None:
    standin, error = await _post_with(reset(), clock)
    assert isinstance(error, aiohttp.ClientConnectionError)
    assert not isinstance(error, tweepy.TweepyException)  # tweepy does not wrap network errors
    assert standin.posts() == []


async def test_a_lost_answer_posted_and_retrying_is_duplicate(clock: Clock) -> None:
    plan = when(lost(), endpoint="POST /2/tweets", times=1)
    async with XStandIn(clock=clock, faults=plan) as standin, client_for(standin) as client:
        with pytest.raises(aiohttp.ServerDisconnectedError):
            await client.create_tweet(text="Permisos SER: caída.")
        assert [post.text for post in standin.posts()] == ["Permisos SER: caída."]
        # The retry learns it went out only as a duplicate; the timeline finds its id.
        with pytest.raises(tweepy.Forbidden, match="duplicate content"):
            await client.create_tweet(text="Permisos SER: caída.")
        mine = await client.get_users_tweets(standin.account["id"], max_results=5, user_auth=True)
    assert [str(tweet.id) for tweet in mine.data] == [standin.posts()[0].id]


async def test_a_slow_answer_times_out_though_it_was_posted(clock: Clock) -> None:
    async with (
        XStandIn(clock=clock, faults=when(slow(2), endpoint="POST /2/tweets")) as standin,
        client_for(standin, timeout=aiohttp.ClientTimeout(total=0.1)) as client,
    ):
        with pytest.raises(TimeoutError):
            await client.create_tweet(text="Permisos SER: caída.")
    assert [post.text for post in standin.posts()] == ["Permisos SER: caída."]


# For a person trying it (curl) ---------------------------------------------------------------


async def test_curl_can_add_a_mention_and_see_the_posts(
    standin: XStandIn, client: XApiClient
) -> None:
    async with aiohttp.ClientSession() as session:
        body = {"author": "vecina_ana", "text": "¿cuándo vuelve?"}
        async with session.post(f"{standin.url}/_standin/mentions", json=body) as answer:
            mention = await answer.json()
        reply = await client.create_tweet(text="A las 18:00.", in_reply_to_tweet_id=mention["id"])
        async with session.get(f"{standin.url}/_standin/thread/{mention['id']}") as answer:
            thread = await answer.json()
        async with session.get(f"{standin.url}/_standin/calls") as answer:
            calls = await answer.json()
    assert [post["text"] for post in thread] == ["@unavoz_status ¿cuándo vuelve?", "A las 18:00."]
    assert thread[1]["id"] == reply.data["id"]
    assert [call["endpoint"] for call in calls] == ["POST /2/tweets"]
