"""Two ``tether bot`` processes: time from a resume to the first new frame.

    python -m bench.bot_media_resume [--runs 5] [--outage 3] [--size 640x480]
                                     [--json bot_media_resume.json]

Per run: a real server on 127.0.0.1 (heartbeat timeout 2 s) and two bot processes
(``python -m app bot``, test pattern + tone, subscribe to all), media on loopback.  One
bot's whole network goes away: its WebSocket is black-holed in the fault proxy and its
peer connections stop sending (the bot's ``drop_media`` command) until ``--outage``
seconds after the other bot's subscriber said ``on_disconnected``.  Times are the bots'
own ``time`` fields (wall clock, one machine).

* ``other side``: the bot that dropped is the publisher.  Measured at the watching bot,
  from ``on_connection_resumed`` (the server says the publisher is back) — and from the
  publisher's own ``on_reconnected`` — to the first ``on_render_frame`` after its
  subscriber's ``on_reconnected``.
* ``own side``: the watching bot is the one that dropped; from its own ``on_reconnected``
  (session resumed) to its first new frame.
* both: subscriber ``on_disconnected`` -> ``on_reconnected`` (the outage as seen).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
from pathlib import Path
from typing import Any

from app.client.faultproxy import FaultProxy
from app.core.tokens import new_session_id
from app.server.runner import TetherServer

ROOT = Path(__file__).resolve().parents[1]
WAIT = 30.0
LOG_DIR = os.environ.get("BOT_LOG_DIR")


class Bot:
    def __init__(self, proc: asyncio.subprocess.Process, name: str) -> None:
        self.proc = proc
        self.name = name
        self.lines: list[dict[str, Any]] = []

    @classmethod
    async def start(cls, url: str, token: str, name: str, size: str) -> Bot:
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
            "--size",
            size,
            cwd=ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=open(f"{LOG_DIR}/{name}.log", "w") if LOG_DIR else asyncio.subprocess.DEVNULL,
        )
        return cls(proc, name)

    async def send(self, command: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(command) + "\n").encode())
        await self.proc.stdin.drain()

    async def expect(self, event: str, *, after: int = 0, **match: Any) -> dict[str, Any]:
        def matches(line: dict[str, Any]) -> bool:
            return line["event"] == event and all(line.get(k) == v for k, v in match.items())

        for line in self.lines[after:]:
            if matches(line):
                return line
        assert self.proc.stdout is not None
        while True:
            raw = await asyncio.wait_for(self.proc.stdout.readline(), WAIT)
            if not raw:
                code = await self.proc.wait()
                tail = [x for x in self.lines[-3:] if x["event"] != "stats"]
                raise RuntimeError(f"{self.name} exited ({code}) before {event}; last: {tail}")
            line = json.loads(raw)
            self.lines.append(line)
            if matches(line):
                return line

    async def leave(self) -> None:
        await self.send({"cmd": "disconnect"})
        try:
            await asyncio.wait_for(self.proc.wait(), WAIT)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()


async def run_once(case: str, outage: float, size: str) -> dict[str, float]:
    server = TetherServer(host="127.0.0.1", port=0, secret=None, heartbeat_timeout=2.0)
    await server.start()
    proxy = await FaultProxy("127.0.0.1", int(server.url.rsplit(":", 1)[1])).start()
    token = server.make_token(new_session_id())
    # a publishes what b watches; the one behind the proxy is the one that drops.
    a = await Bot.start(proxy.url if case == "other side" else server.url, token, "a", size)
    a_stream = (await a.expect("on_stream_created"))["stream"]
    b = await Bot.start(proxy.url if case == "own side" else server.url, token, "b", size)
    dropper = a if case == "other side" else b
    try:
        await b.expect("on_render_frame", stream=a_stream)
        await b.expect("stats", after=len(b.lines))
        mark = len(b.lines)
        await dropper.send({"cmd": "drop_media"})
        proxy.black_hole()
        down = await b.expect("on_disconnected", after=mark, stream=a_stream)
        await asyncio.sleep(outage)
        proxy.restore()
        back = await b.expect("on_reconnected", after=mark, stream=a_stream)
        frame = await b.expect("on_render_frame", after=b.lines.index(back), stream=a_stream)
        dropper_back = await dropper.expect("on_reconnected", stream=None)
        result = {
            "on_disconnected -> on_reconnected": back["time"] - down["time"],
            "on_reconnected -> first new frame": frame["time"] - back["time"],
        }
        if case == "other side":
            resumed = await b.expect("on_connection_resumed", after=mark)
            result["on_connection_resumed -> first new frame"] = frame["time"] - resumed["time"]
            result["publisher on_reconnected -> first new frame"] = (
                frame["time"] - dropper_back["time"]
            )
        else:
            result["own on_reconnected -> first new frame"] = frame["time"] - dropper_back["time"]
        return result
    finally:
        await a.leave()
        await b.leave()
        await proxy.stop()
        await server.stop()


async def main(runs: int, outage: float, size: str, json_path: str) -> None:
    results: dict[str, dict[str, list[float]]] = {}
    for i in range(runs):
        for case in ("other side", "own side"):
            for key, value in (await run_once(case, outage, size)).items():
                results.setdefault(case, {}).setdefault(key, []).append(value)
        print(f"run {i + 1}/{runs} done", file=sys.stderr, flush=True)
    summary: dict[str, Any] = {
        "runs": runs,
        "outage_s": outage,
        "size": size,
        "command": " ".join(["python -m bench.bot_media_resume", *sys.argv[1:]]),
        "cases": {},
    }
    print(f"{'case':<11} {'interval':<46} {'n':>3} {'median':>8} {'min':>7} {'max':>7}  (ms)")
    for case, measures in results.items():
        for key, values in measures.items():
            ms = sorted(v * 1000 for v in values)
            row = {
                "n": len(ms),
                "median_ms": round(statistics.median(ms), 1),
                "min_ms": round(ms[0], 1),
                "max_ms": round(ms[-1], 1),
                "all_ms": [round(v, 1) for v in ms],
            }
            summary["cases"].setdefault(case, {})[key] = row
            print(
                f"{case:<11} {key:<46} {row['n']:>3} {row['median_ms']:>8.0f}"
                f" {row['min_ms']:>7.0f} {row['max_ms']:>7.0f}"
            )
    Path(json_path).write_text(json.dumps(summary, indent=2) + "\n")
    print(f"written: {json_path}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--outage", type=float, default=3.0)
    parser.add_argument("--size", default="640x480")
    parser.add_argument("--json", default="bot_media_resume.json")
    args = parser.parse_args()
    asyncio.run(main(args.runs, args.outage, args.size, args.json))
