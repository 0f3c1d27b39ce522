"""wss:// with a development certificate: verified by clients that trust it, refused otherwise."""

from __future__ import annotations

import json
import ssl

import aiohttp
import pytest

from app.core.tokens import new_session_id
from app.server.runner import TetherServer
from app.server.tls import server_context, write_dev_certificate


@pytest.fixture
def dev_cert(tmp_path):
    return write_dev_certificate(tmp_path, ["127.0.0.1", "localhost"])


async def test_wss_join_with_trusted_certificate(dev_cert) -> None:
    crt, key = dev_cert
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    async with TetherServer(ssl_context=server_context(crt, key)) as server:
        assert server.url.startswith("wss://127.0.0.1:")
        trust = ssl.create_default_context(cafile=str(crt))
        async with aiohttp.ClientSession() as http:
            ws = await http.ws_connect(server.url, ssl=trust)
            await ws.send_str(
                json.dumps({"op": "join", "token": server.make_token(new_session_id())})
            )
            assert json.loads((await ws.receive(timeout=5)).data)["op"] == "welcome"
            await ws.close()


async def test_wss_refused_without_trust(dev_cert) -> None:
    crt, key = dev_cert
    async with TetherServer(ssl_context=server_context(crt, key)) as server:
        async with aiohttp.ClientSession() as http:
            with pytest.raises(aiohttp.ClientConnectorCertificateError):
                await http.ws_connect(server.url)  # default verification on


async def test_client_session_verifies_and_trusts_a_ca_file(dev_cert) -> None:
    from app.client.session import Session
    from app.core.errors import TetherError

    crt, key = dev_cert
    async with TetherServer(ssl_context=server_context(crt, key)) as server:
        token = server.make_token(new_session_id())
        untrusting = Session(server.url, token, connect_timeout=3.0)
        with pytest.raises(TetherError) as refused:
            await untrusting.connect()
        assert refused.value.code == 1013 and "certificate" in refused.value.message.lower()
        trusting = Session(server.url, token, ca_file=str(crt))
        await trusting.connect()
        assert trusting.connection is not None
        await trusting.disconnect()


async def test_tether_ca_file_environment_is_trusted(dev_cert, monkeypatch) -> None:
    from app.client.session import Session

    crt, key = dev_cert
    monkeypatch.setenv("TETHER_CA_FILE", str(crt))
    async with TetherServer(ssl_context=server_context(crt, key)) as server:
        session = Session(server.url, server.make_token(new_session_id()))
        await session.connect()
        assert session.connection is not None
        await session.disconnect()


def test_bot_joins_wss_with_ca_file(dev_cert) -> None:
    import asyncio
    import subprocess
    import sys

    crt, key = dev_cert

    async def run() -> tuple[str, int]:
        async with TetherServer(ssl_context=server_context(crt, key)) as server:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "app",
                "bot",
                "--server",
                server.url,
                "--token",
                server.make_token(new_session_id()),
                "--ca-file",
                str(crt),
                "--publish",
                "none",
                "--subscribe",
                "none",
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
            )
            first = await asyncio.wait_for(proc.stdout.readline(), 30)
            proc.stdin.write(b'{"cmd": "disconnect"}\n')
            await proc.stdin.drain()
            return first.decode(), await asyncio.wait_for(proc.wait(), 30)

    first, code = asyncio.run(run())
    assert json.loads(first)["event"] == "on_connected" and code == 0
