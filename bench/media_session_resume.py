"""Time from a resume to the first new decoded frame, through the real session server.

    python -m bench.media_session_resume [--runs 10] [--outage 3]

Per run: a real server on 127.0.0.1, two real Sessions with MediaSession, a 320x240@30
test pattern.  One participant's network "goes away": its WebSocket is black-holed in
the fault proxy and its peer connection's datagrams are dropped, for ``--outage`` seconds
after the subscriber noticed.  Measured at the subscriber:

* publisher case: ``on_connection_resumed`` (the other side is back) -> first new frame;
* subscriber case: its own ``on_reconnected`` (session resumed) -> first new frame;
* in both, on_disconnected -> on_reconnected of the media subscriber (whole outage).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import aioice.ice

aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]

from app.client.faultproxy import FaultProxy  # noqa: E402
from app.client.session import Session  # noqa: E402
from app.core.tokens import new_session_id  # noqa: E402
from app.media.faults import drop_outgoing  # noqa: E402
from app.media.session_link import MediaSession  # noqa: E402
from app.media.sources import TestPatternTrack, ToneTrack  # noqa: E402
from app.server.runner import TetherServer  # noqa: E402


class Marks:
    def __init__(self) -> None:
        self.times: dict[str, float] = {}
        self.frames: list[float] = []

    def mark(self, name: str) -> None:
        self.times.setdefault(name, time.monotonic())

    # session callbacks
    def on_connection_resumed(self, connection):
        self.mark("connection_resumed")

    def on_reconnected(self, *args):
        # Both the session's and the media subscriber's callback are named this way.
        self.mark("media_reconnected" if args else "session_reconnected")

    def on_disconnected(self, *args):
        self.mark("media_disconnected")

    def on_render_frame(self, subscriber, frame):
        self.frames.append(time.monotonic())

    async def until(self, name: str, timeout: float = 30) -> float:
        deadline = time.monotonic() + timeout
        while name not in self.times:
            if time.monotonic() > deadline:
                raise TimeoutError(name)
            await asyncio.sleep(0.005)
        return self.times[name]

    def first_frame_after(self, t: float) -> float | None:
        return next((f for f in self.frames if f > t), None)


async def run_once(case: str, outage: float) -> dict[str, float]:
    server = TetherServer(host="127.0.0.1", port=0, secret=None, heartbeat_timeout=2.0)
    await server.start()
    proxy = await FaultProxy("127.0.0.1", int(server.url.rsplit(":", 1)[1])).start()
    sid = new_session_id()
    marks = Marks()
    url_a = proxy.url if case == "publisher" else server.url
    url_b = proxy.url if case == "subscriber" else server.url
    a = Session(url_a, server.make_token(sid), None, name="a")
    b = Session(url_b, server.make_token(sid), marks, name="b")
    await a.connect()
    await b.connect()
    media_a, media_b = MediaSession(a), MediaSession(b)
    publisher = await media_a.publish(
        "cam", video=TestPatternTrack(320, 240, 30), audio=ToneTrack()
    )
    while publisher.stream_id not in b.streams:
        await asyncio.sleep(0.01)
    media_b.subscribe(b.streams[publisher.stream_id], marks)
    while len(marks.frames) < 30:
        await asyncio.sleep(0.01)
    proxy.black_hole()
    drop_outgoing(publisher.peer_connections[0])
    await marks.until("media_disconnected")
    await asyncio.sleep(outage)
    proxy.restore()
    start = await marks.until(
        "connection_resumed" if case == "publisher" else "session_reconnected"
    )
    end = await marks.until("media_reconnected")
    first = marks.first_frame_after(start)
    result = {
        f"{case}: resume -> first frame": first - start,
        f"{case}: resume -> on_reconnected": end - start,
        f"{case}: on_disconnected -> on_reconnected": end - marks.times["media_disconnected"],
    }
    await media_b.close()
    await media_a.close()
    await b.disconnect()
    await a.disconnect()
    await proxy.stop()
    await server.stop()
    return result


async def main(runs: int, outage: float) -> None:
    results: dict[str, list[float]] = {}
    for _ in range(runs):
        for case in ("publisher", "subscriber"):
            for key, value in (await run_once(case, outage)).items():
                results.setdefault(key, []).append(value)
    for key, values in results.items():
        values.sort()
        print(
            f"{key:<44} n={len(values):<3} median {statistics.median(values) * 1000:7.0f} ms"
            f"  min {values[0] * 1000:6.0f}  max {values[-1] * 1000:6.0f}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--outage", type=float, default=3.0)
    args = parser.parse_args()
    asyncio.run(main(args.runs, args.outage))
