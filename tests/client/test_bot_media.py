"""`tether bot` with media: two bot processes on a real server exchange a test pattern.

Media host candidates are loopback (the server is on 127.0.0.1), so no traffic leaves
this machine.  Bounds are generous; nothing here asserts how fast something happened.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys

import pytest

from app.client.bot import build_parser
from tests.client.conftest import WAIT, live  # noqa: F401  (fixture)
from tests.client.test_bot import ROOT

pytestmark = pytest.mark.timeout(120)

SMALL = ("--size", "320x240")  # keeps two encoders and two decoders light on CI


class MediaBot:
    """A bot process; every JSON line is kept, and waits can start after a given line."""

    def __init__(self, proc: asyncio.subprocess.Process, name: str) -> None:
        self.proc = proc
        self.name = name
        self.lines: list[dict] = []

    @classmethod
    async def start(cls, url: str, token: str, name: str, *args: str) -> MediaBot:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "app",
            "bot",
            "--server",
            url,
            "--token",
            token,
            "--name",
            name,
            *args,
            cwd=ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        return cls(proc, name)

    async def send(self, command: dict) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(command) + "\n").encode())
        await self.proc.stdin.drain()

    def mark(self) -> int:
        """Position to wait from: only lines after this count."""
        return len(self.lines)

    def events(self, *names: str, stream: str | None = None) -> list[str]:
        return [
            line["event"]
            for line in self.lines
            if (not names or line["event"] in names)
            and (stream is None or line.get("stream") == stream)
        ]

    async def expect(
        self, event: str, *, after: int = 0, timeout: float = WAIT, **match: object
    ) -> dict:
        def matches(line: dict) -> bool:
            return line["event"] == event and all(line.get(k) == v for k, v in match.items())

        for line in self.lines[after:]:
            if matches(line):
                return line
        assert self.proc.stdout is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            remaining = deadline - loop.time()
            try:
                raw = await asyncio.wait_for(self.proc.stdout.readline(), max(remaining, 0.01))
            except TimeoutError:
                raise AssertionError(
                    f"{self.name}: no {event} {match}; saw {self.events()[-30:]}"
                ) from None
            assert raw, f"{self.name} exited before {event}; saw {self.events()[-30:]}"
            line = json.loads(raw)
            assert isinstance(line["time"], float)
            self.lines.append(line)
            if matches(line):
                return line

    async def leave(self, *, by_signal: bool = False) -> str:
        """Disconnect (the command, or SIGTERM), check a clean exit (status 0), return
        stderr."""
        if by_signal:
            self.proc.send_signal(signal.SIGTERM)
        else:
            await self.send({"cmd": "disconnect"})
        gone = await self.expect("on_disconnected", reason="client_disconnected")
        assert "stream" not in gone
        assert await asyncio.wait_for(self.proc.wait(), WAIT) == 0
        assert self.proc.stderr is not None
        err = (await self.proc.stderr.read()).decode()
        assert "threads still running" not in err, err
        assert "Traceback" not in err and "Abort" not in err, err
        return err


async def _stats_counter(bot: MediaBot, stream: str, after: int) -> int:
    line = await bot.expect("stats", after=after)
    while stream not in line["streams"] or line["streams"][stream]["counter"] is None:
        line = await bot.expect("stats", after=bot.lines.index(line) + 1)
    return line["streams"][stream]["counter"]


async def _increasing(bot: MediaBot, stream: str) -> None:
    """Two stats lines a second apart show the stream's frame counter moving on."""
    first = await _stats_counter(bot, stream, bot.mark())
    second = await _stats_counter(bot, stream, bot.mark())
    assert second > first, (first, second)


def test_bare_subscribe_flag_still_means_all():
    base = ["--server", "ws://127.0.0.1:1", "--token", "t"]
    assert build_parser().parse_args([*base, "--subscribe"]).subscribe == "all"
    assert build_parser().parse_args(base).subscribe == "all"
    assert build_parser().parse_args([*base, "--subscribe", "none"]).subscribe == "none"
    assert build_parser().parse_args(base).publish == "test-pattern"
    pinned = build_parser().parse_args(
        [*base, "--ice-address", "127.0.0.1", "--ice-address", "::1"]
    )
    assert pinned.ice_address == ["127.0.0.1", "::1"]
    assert build_parser().parse_args(base).ice_address is None  # loopback server -> loopback
    for bad in (["--ice-address", "eth0"], ["--size", "640"], ["--subscribe", "some"]):
        with pytest.raises(SystemExit):
            build_parser().parse_args([*base, *bad])


async def test_two_bots_exchange_media_and_switch_video_off_and_on(live):  # noqa: F811
    call = await live()
    token = call.server.make_token(call.session_id)
    a = await MediaBot.start(call.server.url, token, "a", *SMALL)
    a_stream = (await a.expect("on_stream_created"))["stream"]
    # b joins with a's stream already there: it must subscribe to it too.
    b = await MediaBot.start(call.server.url, token, "b", *SMALL)
    b_stream = (await b.expect("on_stream_created"))["stream"]

    for bot, other in ((a, b_stream), (b, a_stream)):
        await bot.expect("on_connected", stream=other, subscriber=True)
        first = await bot.expect("on_render_frame", stream=other)
        assert isinstance(first["counter"], int) and first["latency_ms"] is not None
        assert (first["width"], first["height"]) == (320, 240)
        await _increasing(bot, other)
    stats = await b.expect("stats", after=b.mark())
    assert stats["streams"][a_stream]["audio_frames"] > 0

    mark = b.mark()
    await a.send({"cmd": "video", "id": "v1", "on": False})
    assert (await a.expect("video_result", id="v1"))["status"] == "ok"
    off = await b.expect("on_video_disabled", after=mark, stream=a_stream)
    assert off["reason"] == "publish_video_off"
    await a.send({"cmd": "video", "id": "v2", "on": True})
    on = await b.expect("on_video_enabled", after=mark, stream=a_stream)
    assert on["reason"] == "publish_video_off"
    await _increasing(b, a_stream)
    # Video off is not a disconnection, and one change gives one callback.
    assert (
        b.events(stream=a_stream)[b.events(stream=a_stream).index("on_connected") :].count(
            "on_video_disabled"
        )
        == 1
    )
    assert "on_disconnected" not in b.events(stream=a_stream)
    # Only the first frame is printed while nothing reconnects.
    assert b.events("on_render_frame", stream=a_stream) == ["on_render_frame"]

    await a.leave()
    await b.expect("on_stream_dropped", stream=a_stream)
    await b.leave()


async def test_other_side_drops_and_resumes_media_comes_back(live):  # noqa: F811
    call = await live(heartbeat_timeout=2.0)
    proxy = await call.proxy()
    token = call.server.make_token(call.session_id)
    a = await MediaBot.start(proxy.url, token, "a", *SMALL)  # the one that drops
    a_stream = (await a.expect("on_stream_created"))["stream"]
    b = await MediaBot.start(call.server.url, token, "b", *SMALL)
    await b.expect("on_render_frame", stream=a_stream)

    # a's whole network goes: its signalling link and its media.
    mark = b.mark()
    await a.send({"cmd": "drop_media", "id": "d"})
    assert (await a.expect("drop_media_result", id="d"))["peer_connections"] >= 1
    proxy.black_hole()
    await b.expect("on_disconnected", after=mark, stream=a_stream, subscriber=True)
    await a.expect("on_reconnection_started")
    proxy.restore()
    await a.expect("on_reconnected", timeout=30)
    back = await b.expect("on_reconnected", after=mark, stream=a_stream, timeout=30)
    fresh = await b.expect("on_render_frame", after=b.lines.index(back), stream=a_stream)
    assert isinstance(fresh["counter"], int)
    await _increasing(b, a_stream)
    after_drop = b.events("on_disconnected", "on_reconnected", "on_render_frame", stream=a_stream)[
        1:
    ]
    assert after_drop == ["on_disconnected", "on_reconnected", "on_render_frame"]
    assert "on_stream_dropped" not in b.events()

    await a.leave()
    await b.leave(by_signal=True)


async def test_signalling_only_bot_neither_publishes_nor_subscribes(live):  # noqa: F811
    call = await live()
    token = call.server.make_token(call.session_id)
    media = await MediaBot.start(call.server.url, token, "m", *SMALL)
    stream = (await media.expect("on_stream_created"))["stream"]
    plain = await MediaBot.start(
        call.server.url, token, "p", "--publish", "none", "--subscribe", "none"
    )
    me = (await plain.expect("on_connected"))["connection"]
    await plain.expect("on_stream_received", stream=stream)
    await plain.send({"cmd": "signal", "id": "s1", "type": "chat", "data": "hi"})
    assert (await plain.expect("signal_result", id="s1"))["status"] == "sent"
    got = await media.expect("on_signal_received", data="hi")
    assert got["from"] == me
    await plain.send({"cmd": "video", "id": "v", "on": False})
    refused = await plain.expect("video_result", id="v")
    assert refused["status"] == "failed" and refused["code"] is not None
    await asyncio.sleep(1.5)  # checking for absence: long enough for a stats line
    await plain.leave()
    assert "on_stream_created" not in plain.events()
    assert not {"stats", "on_render_frame"} & set(plain.events())
    assert media.events("on_stream_received") == []  # plain published nothing
    await media.leave()
