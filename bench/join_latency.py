"""Join latency on loopback: WebSocket connect + join -> welcome.

    python bench/join_latency.py [--runs 200] [--quick] [--json out.json]

Prints median and p95 for a fresh socket each time (what a person's click on
Join costs), and for the join message alone on an already-open socket.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import time

import aiohttp

from app.core.tokens import new_session_id
from app.server.runner import TetherServer


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


async def measure(runs: int) -> dict:
    async with TetherServer() as server, aiohttp.ClientSession() as http:
        sid = new_session_id()
        tokens = [server.make_token(sid, data=f"p{i}") for i in range(runs)]
        full, join_only = [], []
        for tok in tokens:
            t0 = time.perf_counter()
            ws = await http.ws_connect(server.url)
            t1 = time.perf_counter()
            await ws.send_str(json.dumps({"op": "join", "token": tok}))
            msg = await ws.receive(timeout=5)
            t2 = time.perf_counter()
            assert json.loads(msg.data)["op"] == "welcome"
            full.append((t2 - t0) * 1000)
            join_only.append((t2 - t1) * 1000)
            await ws.send_str('{"op":"leave"}')
            await ws.close()
    return {
        "runs": runs,
        "connect_and_join_ms": {"median": statistics.median(full), "p95": pct(full, 0.95)},
        "join_only_ms": {"median": statistics.median(join_only), "p95": pct(join_only, 0.95)},
        "machine": f"{platform.machine()} {platform.python_version()}",
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json")
    args = parser.parse_args()
    result = asyncio.run(measure(20 if args.quick else args.runs))
    print(f"join latency on loopback, {result['runs']} joins")
    print(f"{'':24}{'median ms':>12}{'p95 ms':>10}")
    for key in ("connect_and_join_ms", "join_only_ms"):
        r = result[key]
        print(f"{key:24}{r['median']:12.2f}{r['p95']:10.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
