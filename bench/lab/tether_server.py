"""``tether server`` with its per-connection rate limits lifted, for the signal benchmark.

    python -m bench.lab.tether_server --port P --secret S

The default server allows a sender 300 signals/s after a burst of 1,200 (``Limits`` in
app/server/hub.py): a policy, not a capacity.  To measure what the relay itself can carry,
this one raises the signal and rtc limits out of reach; everything else is the real server.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses

from app.server.hub import Limits
from app.server.runner import TetherServer

UNLIMITED = 1e12


async def serve(port: int, secret: str) -> None:
    server = TetherServer(
        host="127.0.0.1", port=port, secret=secret, reconnection_window=30, heartbeat_timeout=60
    )
    server.hub.limits = dataclasses.replace(
        server.hub.limits or Limits(),
        signal_rate=UNLIMITED,
        signal_burst=UNLIMITED,
        rtc_rate=UNLIMITED,
        rtc_burst=UNLIMITED,
    )
    await server.start()
    print(f"Tether server (no rate limits) listening on {server.url}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await server.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--secret", required=True)
    args = parser.parse_args()
    try:
        asyncio.run(serve(args.port, args.secret))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
