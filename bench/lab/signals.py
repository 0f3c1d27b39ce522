"""Signal throughput and latency through the Tether server, against a bare WebSocket relay.

    python -m bench.lab.signals [--quick] [--json PATH]

Three systems, each a server in its own process on 127.0.0.1 and clients in this process:

- ``baseline``: ``bench.lab.ws_baseline`` (ack + relay, no session logic) with raw aiohttp
  WebSocket clients;
- ``tether-raw``: the Tether server (``bench.lab.tether_server``: the real server with its
  300 signals/s per-connection limit lifted) with raw aiohttp clients speaking the Tether protocol
  (join, signal with csq, ack, ping with ack) — the server's own cost;
- ``tether-session``: ``tether server`` with the real client library (``Session``):
  outbox, inbox, heartbeats — what an app sees.

Scenarios: 1→1 (a signal to one connection) and 1→10 (to everyone: ten receivers, plus the
sender's own copy, which is not counted).  Throughput: N signals sent back to back, time until
every receiver has all of them and the sender every ack (at most 500 unacknowledged at a
time, for every system: the client library's outbox holds 1,000).  Latency: one signal at a
time, send → the last receiver has it.  The figure is tether / baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import time
from typing import Any

import aiohttp

from app.client.session import Session
from app.core.tokens import make_token, new_session_id
from bench.lab.common import ROOT, summary, table, write_json

PAYLOAD = "x" * 100
# Signals in flight (sent, not yet acknowledged) for every system alike: the client library
# refuses more than 1,000 waiting requests, so a sender must pace itself.
WINDOW = 500


class Tally:
    """Counts what each receiver got; an event fires when all reached the target."""

    def __init__(self, receivers: int) -> None:
        self.counts = [0] * receivers
        self.target = 0
        self.event = asyncio.Event()

    def hit(self, i: int) -> None:
        self.counts[i] += 1
        if self.counts[i] >= self.target and all(c >= self.target for c in self.counts):
            self.event.set()

    async def wait(self, target: int, timeout: float = 120.0) -> None:
        self.target = target
        if all(c >= target for c in self.counts):
            return
        self.event = asyncio.Event()
        if all(c >= target for c in self.counts):
            return
        await asyncio.wait_for(self.event.wait(), timeout)


# -- clients ---------------------------------------------------------------------------------


class RawClient:
    """A WebSocket client of either server, without the client library."""

    def __init__(self, http: aiohttp.ClientSession, url: str, tally: Tally | None, index: int):
        self.http, self.url, self.tally, self.index = http, url, tally, index
        self.id: Any = None
        self.csq = itertools.count(1)
        self.acks = 0
        self.ack_event = asyncio.Event()
        self.ack_target = 0
        self.seq = 0
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.reader: asyncio.Task[None] | None = None

    async def open(self, hello: dict[str, Any] | None) -> None:
        self.ws = await self.http.ws_connect(self.url, max_msg_size=0)
        if hello is not None:
            await self.ws.send_str(json.dumps(hello))
        first = json.loads((await self.ws.receive(timeout=10)).data)
        if first["op"] == "welcome":
            self.id = first["connection"]["id"]
        elif first["op"] == "hello":
            self.id = first["id"]
        else:
            raise RuntimeError(f"unexpected first message {first}")
        self.reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        assert self.ws is not None
        async for msg in self.ws:
            m = json.loads(msg.data)
            op = m.get("op")
            if "seq" in m:
                self.seq = m["seq"]
                if self.seq % 200 == 0:  # let the server trim its replay buffer
                    await self.ws.send_str(json.dumps({"op": "ping", "t": 0, "ack": self.seq}))
            if op == "signal_received":
                if self.tally is not None:
                    self.tally.hit(self.index)
            elif op == "ack":
                self.acks += 1
                if self.acks >= self.ack_target:
                    self.ack_event.set()

    async def send(self, to: Any) -> None:
        assert self.ws is not None
        await self.ws.send_str(
            json.dumps(
                {"op": "signal", "csq": next(self.csq), "type": "b", "data": PAYLOAD, "to": to}
            )
        )

    async def wait_acks(self, n: int) -> None:
        self.ack_target = n
        if self.acks >= n:
            return
        self.ack_event = asyncio.Event()
        if self.acks >= n:
            return
        await asyncio.wait_for(self.ack_event.wait(), 120)

    async def close(self) -> None:
        if self.reader is not None:
            self.reader.cancel()
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close()


class SessionClient:
    """The real client library as a benchmark participant."""

    def __init__(self, url: str, token: str, sid: str, tally: Tally | None, index: int) -> None:
        self.tally, self.index = tally, index
        self.session = Session(url, token, self, session_id=sid, name=f"bench{index}")
        self.acks = 0
        self.failed: list[Any] = []
        self.ack_target = 0
        self.ack_event = asyncio.Event()

    def on_signal_received(self, type_: str, data: str, connection_id: str) -> None:
        if self.tally is not None:
            self.tally.hit(self.index)

    @property
    def id(self) -> str:
        assert self.session.connection is not None
        return self.session.connection.id

    async def open(self) -> None:
        await self.session.connect()

    async def send(self, to: Any) -> None:
        self.session.send_signal("b", PAYLOAD, to=to).add_done_callback(self._acked)

    def _acked(self, result: Any) -> None:
        if not result.ok:
            self.failed.append(result)
        self.acks += 1
        if self.acks >= self.ack_target:
            self.ack_event.set()

    async def wait_acks(self, n: int) -> None:
        self.ack_target = n
        if self.acks < n:
            self.ack_event = asyncio.Event()
            if self.acks < n:
                await asyncio.wait_for(self.ack_event.wait(), 120)
        assert not self.failed, self.failed[:3]

    async def close(self) -> None:
        await self.session.disconnect()


# -- servers ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProc:
    def __init__(self, kind: str, secret: str) -> None:
        self.kind = kind
        self.port = free_port()
        if kind == "baseline":
            argv = ["-m", "bench.lab.ws_baseline", "--port", str(self.port)]
        else:  # the real server, its per-connection rate limits lifted (a policy, not a cost)
            argv = ["-m", "bench.lab.tether_server", "--port", str(self.port), "--secret", secret]
        self.proc = subprocess.Popen(
            [sys.executable, *argv],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"},
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.proc.stdout is not None
        deadline = time.monotonic() + 20
        for line in self.proc.stdout:
            if "listening" in line:
                break
            if time.monotonic() > deadline:
                break
        if self.proc.poll() is not None:
            raise RuntimeError(f"{kind} server did not start")
        self.url = f"ws://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


# -- measurements ----------------------------------------------------------------------------


async def run_system(
    kind: str, url: str, secret: str, receivers: int, n_throughput: int, n_latency: int
) -> dict[str, Any]:
    tally = Tally(receivers)
    sid = new_session_id()
    async with aiohttp.ClientSession() as http:

        def token(i: int) -> str:
            return make_token(secret, sid, now=time.time(), data=f"b{i}")

        clients: list[Any] = []
        try:
            for i in range(receivers + 1):
                rx_tally = tally if i > 0 else None
                if kind == "tether-session":
                    c: Any = SessionClient(url, token(i), sid, rx_tally, i - 1)
                    await c.open()
                else:
                    c = RawClient(http, url, rx_tally, i - 1)
                    hello = (
                        None
                        if kind == "baseline"
                        else {"op": "join", "token": token(i), "session_id": sid}
                    )
                    await c.open(hello)
                clients.append(c)
            sender, rxs = clients[0], clients[1:]
            to = rxs[0].id if receivers == 1 else None
            if kind != "baseline":
                await asyncio.sleep(0.2)  # let connection_created settle

            sent = 0

            async def burst(n: int) -> float:
                nonlocal sent
                t0 = time.perf_counter()
                for k in range(n):
                    if sent + k - WINDOW > sender.acks:  # at most WINDOW unacknowledged
                        await sender.wait_acks(sent + k - WINDOW)
                    await sender.send(to)
                    if k % 64 == 63:
                        await asyncio.sleep(0)  # let the reader run, as a real app would
                sent += n
                await tally.wait(sent)
                await sender.wait_acks(sent)
                return time.perf_counter() - t0

            await burst(50)  # warm-up
            elapsed = await burst(n_throughput)
            latencies = []
            for _ in range(n_latency):
                latencies.append(await burst(1) * 1000)
        finally:
            for c in clients:
                with contextlib.suppress(Exception):
                    await c.close()
    return {
        "throughput_msgs_per_s": n_throughput / elapsed,
        "deliveries_per_s": n_throughput * receivers / elapsed,
        "latency_ms": summary(latencies),
    }


def measure(quick: bool) -> dict[str, Any]:
    secret = secrets.token_hex(16)
    reps = 1 if quick else 5
    plan = {
        "1->1": (1, 1000 if quick else 20000, 100 if quick else 500),
        "1->10": (10, 300 if quick else 5000, 50 if quick else 300),
    }
    kinds = ["baseline", "tether-raw", "tether-session"]
    raw: dict[str, dict[str, list[dict[str, Any]]]] = {s: {k: [] for k in kinds} for s in plan}
    for _ in range(reps):  # alternate systems, so drift hits all of them alike
        for kind in kinds:
            server = ServerProc("baseline" if kind == "baseline" else "tether", secret)
            try:
                for scen, (r, n, m) in plan.items():
                    raw[scen][kind].append(
                        asyncio.run(run_system(kind, server.url, secret, r, n, m))
                    )
            finally:
                server.stop()
    result: dict[str, Any] = {"reps": reps, "plan": plan, "scenarios": {}}
    for scen in plan:
        out = {}
        for kind in kinds:
            runs = raw[scen][kind]
            out[kind] = {
                "throughput_msgs_per_s": statistics.median(
                    x["throughput_msgs_per_s"] for x in runs
                ),
                "deliveries_per_s": statistics.median(x["deliveries_per_s"] for x in runs),
                "latency_median_ms": statistics.median(x["latency_ms"]["median"] for x in runs),
                "latency_p95_ms": statistics.median(x["latency_ms"]["p95"] for x in runs),
                "runs": runs,
            }
        base = out["baseline"]
        for kind in kinds[1:]:
            out[kind]["throughput_ratio"] = (
                out[kind]["throughput_msgs_per_s"] / base["throughput_msgs_per_s"]
            )
            out[kind]["latency_ratio"] = out[kind]["latency_median_ms"] / base["latency_median_ms"]
            # Runs of one rep ran back to back: their ratio is less exposed to a busy machine.
            out[kind]["throughput_ratio_paired"] = statistics.median(
                r["throughput_msgs_per_s"] / b["throughput_msgs_per_s"]
                for r, b in zip(out[kind]["runs"], base["runs"], strict=True)
            )
        result["scenarios"][scen] = out
    return result


def render(result: dict[str, Any]) -> str:
    rows = []
    for scen, out in result["scenarios"].items():
        for kind, r in out.items():
            rows.append(
                [
                    scen,
                    kind,
                    r["throughput_msgs_per_s"],
                    r["deliveries_per_s"],
                    r.get("throughput_ratio", 1.0),
                    r.get("throughput_ratio_paired", 1.0),
                    r["latency_median_ms"],
                    r["latency_p95_ms"],
                    r.get("latency_ratio", 1.0),
                ]
            )
    return table(
        f"Signals through the server (127.0.0.1, median of {result['reps']} runs)",
        [
            "scenario",
            "system",
            "signals/s",
            "deliveries/s",
            "x base",
            "x base paired",
            "lat med ms",
            "lat p95 ms",
            "lat x base",
        ],  # fmt: skip
        rows,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.lab.signals")
    parser.add_argument("--quick", action="store_true", help="fewer signals, one run")
    parser.add_argument("--json", default="bench/results/lab_signals.json")
    args = parser.parse_args(argv)
    result = measure(args.quick)
    print(render(result))
    path = write_json(args.json, {"benchmark": "signals", "quick": args.quick, **result})
    print(f"\nJSON: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
