"""WsTransport against real sockets: how a failed opening is reported."""

from __future__ import annotations

import asyncio
import socket

import aiohttp
import pytest
from aiohttp import web

from app.client.transport import WsTransport, client_timeout

pytestmark = pytest.mark.timeout(30)


class Owner:
    def __init__(self) -> None:
        self.failed: asyncio.Future[tuple[str, bool]] = asyncio.get_running_loop().create_future()

    def transport_failed(self, tid: int, reason: str, refused: bool = False) -> None:
        self.failed.set_result((reason, refused))

    def transport_opened(self, tid: int) -> None:
        self.failed.set_exception(AssertionError("opened"))


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def fail(url: str) -> tuple[str, bool]:
    owner = Owner()
    async with aiohttp.ClientSession(timeout=client_timeout()) as http:
        transport = WsTransport(1, url, http, owner)
        transport.start()
        result = await asyncio.wait_for(owner.failed, 10)
        await transport.wait_closed()
    return result


async def test_a_closed_port_is_an_answer():
    reason, refused = await fail(f"ws://127.0.0.1:{closed_port()}")
    assert refused is True and "Cannot connect" in reason


async def test_an_http_error_instead_of_the_upgrade_is_an_answer():
    app = web.Application()
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    try:
        reason, refused = await fail(f"ws://127.0.0.1:{port}/nowhere")
    finally:
        await runner.cleanup()
    assert refused is True and "404" in reason


async def test_a_handshake_that_never_comes_is_not_an_answer():
    # The TCP connect succeeds (the kernel accepts) but nothing is ever said back.
    silent = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    owner = Owner()
    try:
        async with aiohttp.ClientSession(timeout=client_timeout()) as http:
            transport = WsTransport(1, f"ws://127.0.0.1:{port}", http, owner, handshake_timeout=0.5)
            transport.start()
            reason, refused = await asyncio.wait_for(owner.failed, 10)
            await transport.wait_closed()
    finally:
        silent.close()
    assert refused is False and "timed out" in reason
