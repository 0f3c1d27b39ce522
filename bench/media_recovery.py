"""How fast a subscriber notices a dead media path and how fast frames come back.

    python -m bench.media_recovery [--runs 10]

Two engines in one process, real aiortc over UDP on 127.0.0.1, in-process signalling.
Each run black-holes the publisher's peer connection (every datagram it sends is dropped)
and measures:
  * detect:  cut -> subscriber on_disconnected (stall watchdog, 2 s timeout);
  * media-only recovery: on_disconnected -> first decoded frame on the fresh PC
    (signalling stays up, renegotiation is automatic);
  * resume: with signalling also down, ``session_resumed()`` -> first decoded frame.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import aioice.ice

aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]

from app.media.engine import MediaEngine  # noqa: E402
from app.media.faults import drop_outgoing  # noqa: E402
from app.media.publisher import Publisher  # noqa: E402
from app.media.signalling import LoopbackHub  # noqa: E402
from app.media.sources import TestPatternTrack, ToneTrack  # noqa: E402
from app.media.subscriber import SubscriberCallbacks  # noqa: E402


class Marks(SubscriberCallbacks):
    def __init__(self) -> None:
        self.marks: dict[str, float] = {}
        self.first_frame_after: float | None = None
        self.event = asyncio.Event()

    def on_disconnected(self, subscriber):
        self.marks["disconnected"] = time.monotonic()
        self.event.set()

    def on_reconnected(self, subscriber):
        self.marks["reconnected"] = time.monotonic()
        self.event.set()

    def on_render_frame(self, subscriber, frame):
        if self.first_frame_after is not None and "frame" not in self.marks:
            self.marks["frame"] = time.monotonic()
        self.event.set()

    async def wait(self, key: str) -> float:
        while key not in self.marks:
            self.event.clear()
            await asyncio.wait_for(self.event.wait(), 20)
        return self.marks[key]


async def run_once(resume: bool) -> dict[str, float]:
    hub = LoopbackHub()
    pub_engine = MediaEngine(hub.endpoint("pub"))
    sub_engine = MediaEngine(hub.endpoint("sub"))
    publisher = await pub_engine.publish(
        "s1", Publisher(video=TestPatternTrack(640, 480, 30), audio=ToneTrack())
    )
    marks = Marks()
    sub_engine.subscribe("s1", "pub", marks)
    await asyncio.sleep(1.5)
    if resume:
        hub.connected = False
    cut = time.monotonic()
    drop_outgoing(publisher.peer_connections[0])
    disconnected = await marks.wait("disconnected")
    result = {"detect": disconnected - cut}
    if resume:
        await asyncio.sleep(1.0)
        hub.connected = True
        start = time.monotonic()
        marks.first_frame_after = start
        sub_engine.session_resumed()
        result["resume_to_frame"] = await marks.wait("frame") - start
    else:
        marks.first_frame_after = disconnected
        result["stall_to_frame"] = await marks.wait("frame") - disconnected
    await marks.wait("reconnected")
    await sub_engine.close()
    await pub_engine.close()
    return result


async def main(runs: int) -> None:
    results = {"detect": [], "stall_to_frame": [], "resume_to_frame": []}
    for _ in range(runs):
        for resume in (False, True):
            for key, value in (await run_once(resume)).items():
                results[key].append(value)
    for key, values in results.items():
        values.sort()
        print(
            f"{key:<16} n={len(values):<3} median {statistics.median(values) * 1000:7.1f} ms"
            f"  min {values[0] * 1000:7.1f}  max {values[-1] * 1000:7.1f}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    asyncio.run(main(parser.parse_args().runs))
