"""The real server on a loopback port, spoken to by raw WebSocket clients."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time

import aiohttp
import pytest

from app.core.errors import ErrorCode
from app.core.tokens import make_token, new_session_id
from app.server.runner import TetherServer


class Raw:
    """A bare protocol client: JSON in, JSON out, nothing hidden."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws

    async def send(self, **msg) -> None:
        await self.ws.send_str(json.dumps(msg))

    async def recv(self, timeout: float = 5.0) -> dict:
        msg = await self.ws.receive(timeout=timeout)
        if msg.type != aiohttp.WSMsgType.TEXT:
            raise AssertionError(f"expected a frame, got {msg.type} {msg.data!r} {msg.extra!r}")
        return json.loads(msg.data)

    async def until(self, op: str, timeout: float = 5.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            frame = await self.recv(max(0.01, deadline - time.monotonic()))
            if frame["op"] == op:
                return frame

    async def closed(self, timeout: float = 5.0) -> int | None:
        while True:
            msg = await self.ws.receive(timeout=timeout)
            if msg.type in (
                aiohttp.WSMsgType.CLOSE,
                aiohttp.WSMsgType.CLOSED,
                aiohttp.WSMsgType.CLOSING,
            ):
                return self.ws.close_code


@pytest.fixture
async def server():
    async with TetherServer(reconnection_window=1.5, heartbeat_timeout=5.0) as srv:
        yield srv


@pytest.fixture
async def http():
    async with aiohttp.ClientSession() as session:
        yield session


async def connect(http, server) -> Raw:
    return Raw(await http.ws_connect(server.url, max_msg_size=0))


async def joined(http, server, session_id: str, data: str, **kw) -> tuple[Raw, dict]:
    raw = await connect(http, server)
    await raw.send(op="join", token=server.make_token(session_id, data=data, **kw))
    welcome = await raw.recv()
    assert welcome["op"] == "welcome", welcome
    return raw, welcome


async def test_join_membership_and_signals(server, http) -> None:
    sid = new_session_id()
    a, wa = await joined(http, server, sid, "alice")
    b, wb = await joined(http, server, sid, "bob")
    assert [c["data"] for c in wb["connections"]] == ["alice"]
    created = await a.recv()
    assert created["op"] == "connection_created" and created["connection"]["data"] == "bob"
    await b.send(op="signal", csq=1, type="chat", data="hi all")
    assert (await b.recv())["op"] == "ack"
    for raw in (a, b):
        got = await raw.until("signal_received")
        assert (got["from"], got["data"]) == (wb["connection"]["id"], "hi all")
    await a.send(op="signal", csq=1, type="dm", data="just you", to=wb["connection"]["id"])
    assert (await a.recv())["op"] == "ack"
    assert (await b.recv())["data"] == "just you"
    await a.send(op="signal", csq=2, type="dm", data="?", to="con_nobody")
    err = await a.recv()
    assert (err["op"], err["code"], err["csq"]) == ("error", ErrorCode.UNKNOWN_CONNECTION, 2)


async def test_every_bad_input_gets_its_code_and_others_keep_working(server, http) -> None:
    sid = new_session_id()
    a, wa = await joined(http, server, sid, "alice")
    b, wb = await joined(http, server, sid, "bob")
    await a.recv()
    cases = [
        ("{oops", ErrorCode.MALFORMED_MESSAGE),
        ('{"op":"publish"}', ErrorCode.MALFORMED_MESSAGE),
        ('{"op":"warp","csq":1}', ErrorCode.UNKNOWN_MESSAGE),
        ('{"op":"signal","csq":1,"type":"' + "t" * 129 + '"}', ErrorCode.SIGNAL_TYPE_TOO_LONG),
        ('{"op":"signal","csq":2,"type":"a b"}', ErrorCode.SIGNAL_INVALID_TYPE),
        (
            '{"op":"signal","csq":3,"type":"t","data":"' + "x" * 8193 + '"}',
            ErrorCode.SIGNAL_DATA_TOO_LONG,
        ),
        ('{"op":"join","token":"x"}', ErrorCode.ALREADY_JOINED),
    ]
    for frame, code in cases:
        await b.ws.send_str(frame)
        err = await b.recv()
        assert (err["op"], err["code"]) == ("error", code), frame
    # An oversize frame closes only that socket.
    await b.ws.send_str('{"op":"signal","csq":9,"type":"t","data":"' + "x" * 70_000 + '"}')
    assert await b.closed() == 1009
    assert (await a.recv())["op"] == "connection_interrupted"
    await a.send(op="signal", csq=1, type="still", data="here")
    assert (await a.recv())["op"] == "ack"
    assert (await a.recv())["data"] == "here"


async def test_bad_tokens_close_with_stable_codes(server, http) -> None:
    sid = new_session_id()
    other = make_token("not-the-server-secret-0123456789abcdef", sid, now=time.time())
    expired = make_token(server.secret, sid, now=time.time() - 7200, ttl=3600)
    cases = [
        ({"token": "not.a.jwt"}, ErrorCode.AUTHORIZATION_FAILURE),
        ({"token": other}, ErrorCode.AUTHORIZATION_FAILURE),
        ({"token": expired}, ErrorCode.TOKEN_EXPIRED),
        (
            {"token": server.make_token(sid), "session_id": new_session_id()},
            ErrorCode.INVALID_SESSION,
        ),
    ]
    for extra, code in cases:
        raw = await connect(http, server)
        await raw.send(op="join", **extra)
        err = await raw.recv()
        assert err["code"] == code, extra
        assert await raw.closed() == 4000 + code - 1000
    async with http.get(server.http_url + "/metrics") as resp:
        text = await resp.text()
    assert 'tether_rejected_joins_total{reason="authorization_failure"} 2.0' in text
    assert 'tether_rejected_joins_total{reason="token_expired"} 1.0' in text
    assert 'tether_rejected_joins_total{reason="invalid_session"} 1.0' in text


async def test_resume_replays_missed_messages_exactly_once(server, http) -> None:
    sid = new_session_id()
    a, wa = await joined(http, server, sid, "alice")
    b, wb = await joined(http, server, sid, "bob")
    assert (await a.recv())["seq"] == 1
    await a.ws.close()  # alice's link breaks
    got = await b.recv()
    assert (got["op"], got["connection_id"]) == ("connection_interrupted", wa["connection"]["id"])
    for i in range(3):
        await b.send(op="signal", csq=i + 1, type="t", data=f"m{i}", to=wa["connection"]["id"])
        assert (await b.recv())["op"] == "ack"
    a2 = await connect(http, server)
    await a2.send(
        op="resume", connection_id=wa["connection"]["id"], resume_key=wa["resume_key"], last_seq=1
    )
    resumed = await a2.recv()
    assert resumed["op"] == "resumed" and resumed["replay_count"] == 3
    replay = [await a2.recv() for _ in range(3)]
    assert [(m["seq"], m["data"]) for m in replay] == [(2, "m0"), (3, "m1"), (4, "m2")]
    # Nothing more: no second copy.
    await a2.send(op="ping", t=1.0, ack=4)
    assert (await a2.recv())["op"] == "pong"
    assert (await b.recv())["op"] == "connection_resumed"
    # A resent request (same csq) is acknowledged but not delivered again.
    await b.send(op="signal", csq=3, type="t", data="m2", to=wa["connection"]["id"])
    assert (await b.recv()) == {"op": "ack", "csq": 3, "duplicate": True, "seq": 6}
    await a2.send(op="ping", t=2.0, ack=4)
    assert (await a2.recv())["op"] == "pong"


async def test_expiry_after_window_tells_others_the_reason(server, http) -> None:
    sid = new_session_id()
    a, wa = await joined(http, server, sid, "alice")
    b, wb = await joined(http, server, sid, "bob")
    await a.recv()
    await a.send(op="publish", csq=1, name="cam")
    stream_id = (await a.recv())["stream_id"]
    assert (await b.recv())["op"] == "stream_created"
    await a.ws.close()
    assert (await b.recv())["op"] == "connection_interrupted"
    t0 = time.monotonic()
    dropped_stream = await b.recv(timeout=5)
    dropped_conn = await b.recv(timeout=5)
    waited = time.monotonic() - t0
    assert (dropped_stream["op"], dropped_stream["stream_id"], dropped_stream["reason"]) == (
        "stream_dropped",
        stream_id,
        "network_disconnected",
    )
    assert (dropped_conn["op"], dropped_conn["reason"]) == (
        "connection_dropped",
        "network_disconnected",
    )
    assert 1.0 < waited < 4.0  # the window is 1.5 s
    a2 = await connect(http, server)
    await a2.send(
        op="resume", connection_id=wa["connection"]["id"], resume_key=wa["resume_key"], last_seq=1
    )
    assert (await a2.recv())["code"] == ErrorCode.RESUME_REJECTED


async def test_subscriber_token_cannot_publish(server, http) -> None:
    raw, _ = await joined(http, server, new_session_id(), "viewer", role="subscriber")
    await raw.send(op="publish", csq=1, name="cam")
    err = await raw.recv()
    assert err["code"] == ErrorCode.PUBLISH_FORBIDDEN and "may not publish" in err["message"]


async def test_healthz_metrics_and_plain_get(server, http) -> None:
    sid = new_session_id()
    a, _ = await joined(http, server, sid, "alice")
    async with http.get(server.http_url + "/healthz") as resp:
        assert resp.status == 200
        health = await resp.json()
    assert health["status"] == "ok" and health["connections"] == 1 and health["sessions"] == 1
    async with http.get(server.http_url + "/metrics") as resp:
        text = await resp.text()
    assert "tether_connections 1.0" in text and "tether_joins_total 1.0" in text
    async with http.get(server.http_url + "/") as resp:
        assert "WebSocket" in await resp.text()


def test_a_generated_secret_can_be_typed_after_an_option() -> None:
    # token_urlsafe once gave "-zAp…", which `tether token --secret` read as an option.
    for _ in range(200):
        secret = TetherServer().secret
        assert re.fullmatch(r"[0-9a-f]{64}", secret), secret


def test_cli_server_prints_a_working_token_and_token_command_works(tmp_path) -> None:
    env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path))
    env.pop("TETHER_SECRET", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "server", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        lines = [proc.stdout.readline() for _ in range(6)]
        text = "".join(lines)
        url = re.search(r"listening on (ws://\S+)", text).group(1)
        secret = re.search(r"this run's secret: (\S+)", text).group(1)
        printed = re.search(r"--token (\S+)", text).group(1)
        sid = new_session_id()
        made = subprocess.run(
            [
                sys.executable,
                "-m",
                "app",
                "token",
                "--session",
                sid,
                "--data",
                "cli",
                "--secret",
                secret,
            ],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        ).stdout.strip()

        async def join_both() -> list[str]:
            async with aiohttp.ClientSession() as http:
                ops = []
                for tok in (printed, made):
                    ws = await http.ws_connect(url)
                    await ws.send_str(json.dumps({"op": "join", "token": tok}))
                    ops.append(json.loads((await ws.receive(timeout=5)).data)["op"])
                    await ws.close()
                return ops

        assert asyncio.run(join_both()) == ["welcome", "welcome"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_cli_server_limits_options_are_enforced(tmp_path) -> None:
    env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path))
    secret = "cli-limits-secret-0123456789abcdef"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "app",
            "server",
            "--port",
            "0",
            "--secret",
            secret,
            "--max-connections-per-session",
            "1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        url = re.search(r"listening on (ws://\S+)", proc.stdout.readline()).group(1)
        sid = new_session_id()

        async def join_twice() -> list[dict]:
            async with aiohttp.ClientSession() as http:
                replies, sockets = [], []
                for name in ("first", "second"):
                    ws = await http.ws_connect(url)
                    sockets.append(ws)
                    token = make_token(secret, sid, data=name, now=time.time())
                    await ws.send_str(json.dumps({"op": "join", "token": token}))
                    replies.append(json.loads((await ws.receive(timeout=5)).data))
                for ws in sockets:
                    await ws.close()
                return replies

        first, second = asyncio.run(join_twice())
        assert first["op"] == "welcome"
        assert (second["op"], second["code"]) == ("error", ErrorCode.SESSION_FULL)
    finally:
        proc.terminate()
        proc.wait(timeout=10)

    bad = subprocess.run(
        [sys.executable, "-m", "app", "server", "--signal-rate", "fast"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert bad.returncode == 2 and "--signal-rate: not a number above 0" in bad.stderr


def test_cli_token_errors_are_clear(tmp_path) -> None:
    env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path))
    env.pop("TETHER_SECRET", None)

    def run(*a: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "app", "token", *a], capture_output=True, text=True, env=env
        )

    no_secret = run("--new-session")
    assert no_secret.returncode == 2 and "no secret" in no_secret.stderr
    long_data = run("--new-session", "--secret", "k" * 32, "--data", "d" * 1001)
    assert long_data.returncode == 2 and "error 1011" in long_data.stderr
    too_long = run("--new-session", "--secret", "k" * 32, "--expires", "31d")
    assert too_long.returncode == 2 and "30 days" in too_long.stderr
    (tmp_path / "tether").mkdir()
    (tmp_path / "tether" / "config.toml").write_text(
        'secret = "from-config-file-0123456789abcdef"\n'
    )
    ok = run("--new-session", "--role", "subscriber")
    assert ok.returncode == 0 and ok.stdout.count(".") == 2
