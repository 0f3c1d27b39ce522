"""One client floods; the server keeps answering everyone else (bounded, loopback only)."""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp

from app.core.errors import ErrorCode
from app.core.tokens import new_session_id
from app.server.runner import TetherServer

FLOOD_SECONDS = 3.0


async def test_heartbeats_of_others_are_answered_during_a_signal_flood() -> None:
    async with TetherServer() as server, aiohttp.ClientSession() as http:
        sid = new_session_id()
        calm = await http.ws_connect(server.url)
        await calm.send_str(
            json.dumps({"op": "join", "token": server.make_token(sid, data="calm")})
        )
        assert (await calm.receive_json(timeout=5))["op"] == "welcome"
        flood = await http.ws_connect(server.url)
        await flood.send_str(
            json.dumps({"op": "join", "token": server.make_token(sid, data="flood")})
        )
        assert (await flood.receive_json(timeout=5))["op"] == "welcome"

        refused = 0
        sent = 0

        async def flooder() -> None:
            nonlocal sent
            deadline = time.monotonic() + FLOOD_SECONDS
            while time.monotonic() < deadline and not flood.closed:
                for _ in range(200):
                    sent += 1
                    await flood.send_str(
                        json.dumps({"op": "signal", "csq": sent, "type": "spam", "data": "x" * 100})
                    )
                await asyncio.sleep(0)

        async def drain_flooder() -> None:
            nonlocal refused
            async for msg in flood:
                if msg.type == aiohttp.WSMsgType.TEXT and '"code":1429' in msg.data:
                    refused += 1

        pong_delays: list[float] = []

        async def heartbeats() -> None:
            deadline = time.monotonic() + FLOOD_SECONDS
            while time.monotonic() < deadline:
                t0 = time.monotonic()
                await calm.send_str(json.dumps({"op": "ping", "t": t0, "ack": 0}))
                while True:
                    got = await calm.receive_json(timeout=10)
                    if got["op"] == "pong" and got["t"] == t0:
                        break
                pong_delays.append(time.monotonic() - t0)
                await asyncio.sleep(0.2)

        drain = asyncio.create_task(drain_flooder())
        await asyncio.gather(flooder(), heartbeats())
        await flood.close()
        await asyncio.wait([drain], timeout=5)
        print(f"flood: {sent} sent, {refused} refused; pong max {max(pong_delays) * 1000:.0f} ms")
        assert sent > 2000  # it really was a flood (the burst allowance is 1,200)
        assert refused > 0 and ErrorCode.TOO_MANY_REQUESTS == 1429
        assert len(pong_delays) >= 5
        assert max(pong_delays) < 2.0  # generous: a 3 s silence would count as a drop
        async with http.get(server.http_url + "/healthz") as resp:
            assert (await resp.json())["status"] == "ok"
