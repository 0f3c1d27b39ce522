"""Reconnection timing on loopback, through the fault proxy, with real Sessions.

    python bench/reconnect.py [--runs 10] [--hole 5.0] [--json artifacts/reconnect.json]

Per run, a Session joined through the proxy:

* black-hole (half-open link) -> ``on_reconnection_started``: the silence rule at work
  (3 s without a frame from the server; pings every 1 s);
* restore -> ``on_reconnected`` after a ``--hole`` seconds outage.  Measured twice: with
  the proxy holding connection attempts made during the hole (one in flight goes through
  the moment the link returns), and with those attempts lost outright (``SYN lost``: the
  proxy accepts them and never forwards a byte, so each waits out the 4 s opening
  timeout, and the attempts started beside them every 0.25 s decide);
* reset (RST on both sides, network up) -> ``on_reconnection_started`` and
  -> ``on_reconnected``: socket error noticed at once, first retry immediate.

Each run starts at a random phase of the ping cycle.  Prints median / p95 / min /
max in milliseconds and writes all samples as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import statistics
import sys
import time

# Run from a checkout: prefer its `app` over any installed copy.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from app.client.faultproxy import FaultProxy  # noqa: E402
from app.client.session import Session  # noqa: E402
from app.core.tokens import new_session_id  # noqa: E402
from app.server.runner import TetherServer  # noqa: E402


class Clock:
    """Session callbacks that stamp the moment each one runs."""

    def __init__(self) -> None:
        self.stamps: dict[str, list[float]] = {}
        self._changed = asyncio.Event()

    def _stamp(self, name: str) -> None:
        self.stamps.setdefault(name, []).append(time.perf_counter())
        self._changed.set()

    def on_reconnection_started(self) -> None:
        self._stamp("on_reconnection_started")

    def on_reconnected(self) -> None:
        self._stamp("on_reconnected")

    def on_disconnected(self, reason: str) -> None:
        self._stamp("on_disconnected")

    async def next(self, name: str, timeout: float = 40.0) -> float:
        count = len(self.stamps.get(name, []))
        async with asyncio.timeout(timeout):
            while len(self.stamps.get(name, [])) <= count:
                self._changed.clear()
                await self._changed.wait()
        return self.stamps[name][-1]


def summary(values_ms: list[float]) -> dict[str, float]:
    ordered = sorted(values_ms)
    return {
        "median": statistics.median(ordered),
        "p95": ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))],
        "min": ordered[0],
        "max": ordered[-1],
    }


async def measure(runs: int, hole: float, seed: int) -> dict:
    rng = random.Random(seed)
    samples: dict[str, list[float]] = {
        "black_hole_to_reconnection_started_ms": [],
        "restore_to_reconnected_ms": [],
        "restore_to_reconnected_syn_lost_ms": [],
        "reset_to_reconnection_started_ms": [],
        "reset_to_reconnected_ms": [],
    }
    async with TetherServer(reconnection_window=30.0, heartbeat_timeout=5.0) as server:
        port = int(server.url.rsplit(":", 1)[1])
        async with FaultProxy("127.0.0.1", port) as proxy:
            clock = Clock()
            session = Session(proxy.url, server.make_token(new_session_id()), clock, name="bench")
            await session.connect()
            for run in range(runs):
                await asyncio.sleep(1.0 + rng.random())  # random phase of the ping cycle
                t0 = time.perf_counter()
                proxy.black_hole()
                started = await clock.next("on_reconnection_started")
                await asyncio.sleep(max(0.0, hole - (time.perf_counter() - t0)))
                t1 = time.perf_counter()
                proxy.restore()
                back = await clock.next("on_reconnected")
                samples["black_hole_to_reconnection_started_ms"].append((started - t0) * 1000)
                samples["restore_to_reconnected_ms"].append((back - t1) * 1000)

                # Same outage, but connection attempts made during it are lost outright.
                await asyncio.sleep(1.0 + rng.random())
                t0 = time.perf_counter()
                proxy.black_hole(drop_new=True)
                await clock.next("on_reconnection_started")
                await asyncio.sleep(max(0.0, hole - (time.perf_counter() - t0)))
                t1 = time.perf_counter()
                proxy.restore()
                back = await clock.next("on_reconnected")
                samples["restore_to_reconnected_syn_lost_ms"].append((back - t1) * 1000)

                await asyncio.sleep(1.0 + rng.random())
                t2 = time.perf_counter()
                proxy.cut()
                proxy.restore()
                started = await clock.next("on_reconnection_started")
                back = await clock.next("on_reconnected")
                samples["reset_to_reconnection_started_ms"].append((started - t2) * 1000)
                samples["reset_to_reconnected_ms"].append((back - t2) * 1000)
                print(
                    f"run {run + 1:2}/{runs}: black-hole->started "
                    f"{samples['black_hole_to_reconnection_started_ms'][-1]:7.1f} ms, "
                    f"restore->reconnected {samples['restore_to_reconnected_ms'][-1]:7.1f} ms "
                    f"(SYN lost: {samples['restore_to_reconnected_syn_lost_ms'][-1]:7.1f}), "
                    f"reset->reconnected {samples['reset_to_reconnected_ms'][-1]:6.1f} ms",
                    flush=True,
                )
            await session.disconnect()
    return {
        "runs": runs,
        "hole_s": hole,
        "seed": seed,
        "heartbeat_interval_s": 1.0,
        "silence_timeout_s": 3.0,
        "summary_ms": {k: summary(v) for k, v in samples.items()},
        "samples_ms": samples,
        "machine": f"{platform.machine()} {platform.python_version()} {os.cpu_count()} cpu",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--hole", type=float, default=5.0, help="black-hole length, seconds")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", default="artifacts/reconnect.json")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    result = asyncio.run(measure(args.runs, args.hole, args.seed))
    print(f"\nreconnection on loopback via the fault proxy, {result['runs']} runs")
    print(f"{'':42}{'median':>9}{'p95':>9}{'min':>9}{'max':>9}  (ms)")
    for key, r in result["summary_ms"].items():
        print(f"{key:42}{r['median']:9.1f}{r['p95']:9.1f}{r['min']:9.1f}{r['max']:9.1f}")
    if args.json:
        os.makedirs(os.path.dirname(args.json) or ".", exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
