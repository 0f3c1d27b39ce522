"""Attacks against a real server over real sockets: each is refused with its code,
and a well-behaved participant in the same session notices nothing."""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp
import pytest

from app.core.errors import ErrorCode
from app.core.tokens import make_token, new_session_id
from app.server.hub import Limits
from app.server.runner import TetherServer
from tests.server.test_server_ws import Raw, connect, joined


@pytest.fixture
async def http():
    async with aiohttp.ClientSession() as session:
        yield session


async def still_fine(raw: Raw, csq: int) -> None:
    """The bystander can still signal and hear itself."""
    await raw.send(op="signal", csq=csq, type="check", data=f"ok{csq}")
    assert (await raw.until("ack"))["csq"] == csq
    assert (await raw.until("signal_received"))["data"] == f"ok{csq}"


async def test_hijacking_a_connection_with_a_guessed_or_replayed_key_fails(http) -> None:
    async with TetherServer(reconnection_window=5.0) as server:
        sid = new_session_id()
        bystander, _ = await joined(http, server, sid, "bystander")
        victim, wv = await joined(http, server, sid, "victim")
        victim_id = wv["connection"]["id"]
        for key in ("A" * 43, wv["resume_key"][:-1] + "x", ""):
            thief = await connect(http, server)
            await thief.send(op="resume", connection_id=victim_id, resume_key=key, last_seq=0)
            assert (await thief.recv())["code"] == ErrorCode.RESUME_REJECTED
            assert await thief.closed() == 4012
        # The victim was never disturbed and still works.
        await still_fine(victim, 1)
        # The victim resumes legitimately; then its old key is spent.
        await victim.ws.close()
        back = await connect(http, server)
        await back.send(
            op="resume", connection_id=victim_id, resume_key=wv["resume_key"], last_seq=2
        )
        assert (await back.recv())["op"] == "resumed"
        replay = await connect(http, server)
        await replay.send(
            op="resume", connection_id=victim_id, resume_key=wv["resume_key"], last_seq=2
        )
        assert (await replay.recv())["code"] == ErrorCode.RESUME_REJECTED
        await still_fine(back, 2)
        await still_fine(bystander, 1)
        async with http.get(server.http_url + "/metrics") as resp:
            assert "tether_resumes_rejected_total 4.0" in await resp.text()


async def test_token_that_expires_during_an_outage_ends_the_connection(http) -> None:
    async with TetherServer(reconnection_window=10.0) as server:
        sid = new_session_id()
        bystander, _ = await joined(http, server, sid, "bystander")
        short = make_token(server.secret, sid, now=time.time(), data="short", ttl=2)
        raw = await connect(http, server)
        await raw.send(op="join", token=short)
        welcome = await raw.recv()
        await raw.ws.close()
        await asyncio.sleep(2.2)
        back = await connect(http, server)
        await back.send(
            op="resume",
            connection_id=welcome["connection"]["id"],
            resume_key=welcome["resume_key"],
            last_seq=0,
        )
        assert (await back.recv())["code"] == ErrorCode.TOKEN_EXPIRED
        dropped = await bystander.until("connection_dropped")
        assert dropped["connection_id"] == welcome["connection"]["id"]
        await still_fine(bystander, 1)


async def test_full_session_and_full_server_refuse_with_codes(http) -> None:
    async with TetherServer(limits=Limits(connections_per_session=2, sessions=1)) as server:
        sid = new_session_id()
        a, _ = await joined(http, server, sid, "a")
        await joined(http, server, sid, "b")
        for session_id, code in (
            (sid, ErrorCode.SESSION_FULL),
            (new_session_id(), ErrorCode.SERVER_FULL),
        ):
            raw = await connect(http, server)
            await raw.send(op="join", token=server.make_token(session_id))
            assert (await raw.recv())["code"] == code
        await still_fine(a, 1)


async def test_token_guessing_is_slowed_per_address(http) -> None:
    async with TetherServer(limits=Limits(failed_joins_per_minute=5)) as server:
        sid = new_session_id()
        bystander, _ = await joined(http, server, sid, "bystander")
        forged = make_token("guessed-secret-0123456789abcdef-xyz", sid, now=time.time())
        codes = []
        for _ in range(7):
            raw = await connect(http, server)
            await raw.send(op="join", token=forged)
            codes.append((await raw.recv())["code"])
        assert codes[:5] == [ErrorCode.AUTHORIZATION_FAILURE] * 5
        assert codes[5:] == [ErrorCode.TOO_MANY_REQUESTS] * 2
        # Even a good token from that address waits now; the one already in is unaffected.
        raw = await connect(http, server)
        await raw.send(op="join", token=server.make_token(sid))
        assert (await raw.recv())["code"] == ErrorCode.TOO_MANY_REQUESTS
        await still_fine(bystander, 1)


async def test_a_socket_that_never_joins_is_closed(http) -> None:
    async with TetherServer(auth_timeout=0.5) as server:
        raw = await connect(http, server)
        t0 = time.monotonic()
        err = await raw.recv(timeout=5)
        assert err["code"] == ErrorCode.AUTHORIZATION_FAILURE
        assert await raw.closed() == 4004
        assert time.monotonic() - t0 < 3.0


async def test_signal_flood_refused_with_1429_others_unaffected(http) -> None:
    async with TetherServer(limits=Limits(signal_burst=20, signal_rate=5)) as server:
        sid = new_session_id()
        bystander, _ = await joined(http, server, sid, "bystander")
        flood, _ = await joined(http, server, sid, "flood")
        for i in range(40):
            await flood.ws.send_str(
                json.dumps({"op": "signal", "csq": i + 1, "type": "x", "data": "y"})
            )
        refused = 0
        while refused < 20:
            got = await flood.recv()
            if got["op"] == "error":
                assert got["code"] == ErrorCode.TOO_MANY_REQUESTS
                refused += 1
        await still_fine(bystander, 1)


async def test_moderation_needs_a_moderator_token(http) -> None:
    async with TetherServer() as server:
        sid = new_session_id()
        victim, wv = await joined(http, server, sid, "victim")
        rogue, _ = await joined(http, server, sid, "rogue")
        await rogue.send(op="force_disconnect", csq=1, connection_id=wv["connection"]["id"])
        assert (await rogue.until("error"))["code"] == ErrorCode.MODERATION_FORBIDDEN
        await still_fine(victim, 1)
        mod, _ = await joined(http, server, sid, "mod", role="moderator")
        await mod.send(op="force_disconnect", csq=1, connection_id=wv["connection"]["id"])
        closing = await victim.until("closing")
        assert closing["reason"] == "force_disconnected"


async def test_roles_and_rights_a_token_does_not_grant_are_refused(http) -> None:
    async with TetherServer() as server:
        sid = new_session_id()
        bystander, wb = await joined(http, server, sid, "bystander")
        cast, _ = await joined(http, server, sid, "stage", role="broadcaster")
        offer = {"t": "media_offer", "stream_id": "str_x", "sub_id": "s", "gen": 1, "sdp": ""}
        await cast.send(op="rtc", csq=1, to=wb["connection"]["id"], payload=offer)
        assert (await cast.until("error"))["code"] == ErrorCode.SUBSCRIBE_FORBIDDEN
        quiet = await connect(http, server)
        await quiet.send(op="join", token=server.make_token(sid, data="quiet", can_signal=False))
        assert (await quiet.recv())["op"] == "welcome"
        await quiet.send(op="signal", csq=1, type="chat", data="hi")
        assert (await quiet.until("error"))["code"] == ErrorCode.SIGNAL_FORBIDDEN
        await still_fine(bystander, 1)
