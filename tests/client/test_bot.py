"""`tether bot` as a subprocess: JSON lines out, JSON commands in."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest

from tests.client.conftest import WAIT

pytestmark = pytest.mark.timeout(90)

ROOT = Path(__file__).resolve().parents[2]


class Bot:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[dict] = []

    @classmethod
    async def start(cls, *args: str, module: tuple[str, ...] = ("app.client.bot",)) -> Bot:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            *module,
            *args,
            cwd=ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        return cls(proc)

    async def send(self, command: dict) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(command) + "\n").encode())
        await self.proc.stdin.drain()

    async def expect(self, event: str, **match: object) -> dict:
        for line in self.lines:
            if line["event"] == event and all(line.get(k) == v for k, v in match.items()):
                return line
        assert self.proc.stdout is not None
        while True:
            raw = await asyncio.wait_for(self.proc.stdout.readline(), WAIT)
            assert raw, f"bot exited before {event}; saw {[x['event'] for x in self.lines]}"
            line = json.loads(raw)
            assert isinstance(line["time"], float)
            self.lines.append(line)
            if line["event"] == event and all(line.get(k) == v for k, v in match.items()):
                return line


async def test_bot_joins_signals_survives_a_cut_and_leaves(live):
    call = await live()
    proxy = await call.proxy()
    peer, rec = await call.join(name="peer")
    bot = await Bot.start(
        "--server", proxy.url, "--token", call.server.make_token(call.session_id), "--name", "bot1"
    )
    connected = await bot.expect("on_connected")
    me = connected["connection"]
    await bot.expect("on_connection_created")
    await bot.send(
        {
            "cmd": "signal",
            "id": "c1",
            "type": "chat",
            "data": "hi",
            "to": None,
            "retry_after_reconnect": True,
        }
    )
    result = await bot.expect("signal_result", id="c1")
    assert (result["status"], result["code"]) == ("sent", None)
    own = await bot.expect("on_signal_received")
    assert (own["type"], own["data"], own["from"]) == ("chat", "hi", me)

    proxy.cut()
    await bot.expect("on_reconnection_started")
    await bot.send({"cmd": "signal", "id": "c2", "type": "chat", "data": "queued"})
    await bot.send(
        {"cmd": "signal", "id": "c3", "type": "chat", "data": "x", "retry_after_reconnect": False}
    )
    failed = await bot.expect("signal_result", id="c3")
    assert (failed["status"], failed["code"]) == ("failed", 1010)
    await bot.send({"cmd": "signal", "id": "c4", "type": "bad type!", "data": ""})
    bad = await bot.expect("signal_result", id="c4")
    assert (bad["status"], bad["code"]) == ("failed", 1461)
    proxy.restore()
    await bot.expect("on_reconnected")
    assert (await bot.expect("signal_result", id="c2"))["status"] == "sent"

    await peer.send_signal("chat", "to the bot", to=me)
    got = await bot.expect("on_signal_received", data="to the bot")
    assert got["from"] == peer.connection.id

    await bot.send({"cmd": "disconnect"})
    gone = await bot.expect("on_disconnected")
    assert gone["reason"] == "client_disconnected"
    assert await asyncio.wait_for(bot.proc.wait(), WAIT) == 0
    await rec.wait_for("on_connection_dropped")
    assert rec.args("on_connection_dropped")[0][1] == "client_disconnected"
    events = [line["event"] for line in bot.lines]
    assert events.index("on_reconnection_started") < events.index("on_reconnected")


async def test_bot_cannot_join_exits_non_zero_with_a_message(live):
    call = await live()
    bot = await Bot.start("--server", call.server.url, "--token", "garbage")
    assert await asyncio.wait_for(bot.proc.wait(), WAIT) != 0
    err = (await bot.proc.stderr.read()).decode()
    assert "cannot join" in err and "1004" in err

    # Through the CLI this time: `tether bot` is `python -m app bot`.
    bot = await Bot.start("--server", "ws://127.0.0.1:9", "--token", "x", module=("app", "bot"))
    assert await asyncio.wait_for(bot.proc.wait(), WAIT) != 0
    assert "1013" in (await bot.proc.stderr.read()).decode()


async def test_bot_reads_its_commands_while_still_joining(live):
    call = await live()
    proxy = await call.proxy()
    proxy.black_hole(drop_new=True)  # the join waits for the network
    token = call.server.make_token(call.session_id)
    bot = await Bot.start(
        "--server", proxy.url, "--token", token, "--publish", "none", "--subscribe", "none"
    )
    lines = "".join(
        json.dumps({"cmd": "signal", "id": f"s{n}", "type": "t", "data": f"{n:04d}" + "x" * 1000})
        + "\n"
        for n in range(300)
    )
    # 300 KB: more than the pipe and the writer's buffer hold together, so the write
    # is done only if the bot reads while it is still joining.
    bot.proc.stdin.write(lines.encode())
    await asyncio.wait_for(bot.proc.stdin.drain(), 5)
    proxy.restore()
    await bot.expect("on_connected")
    for n in range(300):
        result = await bot.expect("signal_result", id=f"s{n}")
        assert result["status"] == "sent"
    await bot.send({"cmd": "disconnect"})
    assert await asyncio.wait_for(bot.proc.wait(), WAIT) == 0
