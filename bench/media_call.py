"""Publisher CPU with N subscribers, and capture-to-decode latency, in two processes.

    python -m bench.media_call --subscribers 1 --seconds 20
    python -m bench.media_call --subscribers 3 --seconds 20
    python -m bench.media_call --subscribers 3 --seconds 20 --encode-per-pc   # plain aiortc

The parent starts a publisher process (640x480@30 test pattern + tone by default) and a
subscriber process with N subscriptions, joined by loopback-TCP signalling; media goes
over UDP on 127.0.0.1 only (aioice is made to offer 127.0.0.1).  After a warm-up, the
publisher reports its own CPU time over the window and its encoder count; the
subscriber reports frames and capture-to-decode latency (decode time minus the capture
time read from the picture; both processes use this machine's wall clock).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import time

import aioice.ice

aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]

from app.media import barcode  # noqa: E402
from app.media.engine import MediaEngine  # noqa: E402
from app.media.fanout import RawFanout  # noqa: E402
from app.media.publisher import Publisher  # noqa: E402
from app.media.sources import TestPatternTrack, ToneTrack  # noqa: E402
from app.media.subscriber import SubscriberCallbacks  # noqa: E402
from bench.media_tcp_signalling import TcpLink  # noqa: E402


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def publisher(args) -> None:
    ready = asyncio.Event()
    links = []

    async def on_client(reader, writer):
        links.append(TcpLink(reader, writer))
        ready.set()

    server = await asyncio.start_server(on_client, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    print(json.dumps({"port": port}), flush=True)
    await ready.wait()
    engine = MediaEngine(links[0].endpoint("pub"))
    video = TestPatternTrack(args.width, args.height, args.fps, noise=args.noise)
    audio = ToneTrack() if args.audio else None
    publisher = Publisher(video=video, audio=audio)
    if args.encode_per_pc:
        # For comparison: plain aiortc, where every PC's sender encodes the raw frames.
        publisher.video_fanout = RawFanout(video)
        if audio is not None:
            publisher.audio_fanout = RawFanout(audio)
    pub = await engine.publish("s1", publisher)
    while len(pub.peer_connections) < args.subscribers:
        await asyncio.sleep(0.1)
    await asyncio.sleep(args.warmup)
    cpu0, wall0, enc0 = _cpu(), time.monotonic(), pub.encodes
    peers = len(pub.peer_connections)
    await asyncio.sleep(args.seconds)
    cpu1, wall1, enc1 = _cpu(), time.monotonic(), pub.encodes
    print(
        json.dumps(
            {
                "role": "publisher",
                "subscribers": peers,
                "cpu_percent_of_one_core": round(100 * (cpu1 - cpu0) / (wall1 - wall0), 1),
                "shared_encodes_per_second": round((enc1 - enc0) / (wall1 - wall0), 1),
                "mode": "encode-per-pc" if args.encode_per_pc else "encode-once",
                "audio": args.audio,
                "picture": "noise" if args.noise else "stripes",
            }
        ),
        flush=True,
    )
    await asyncio.sleep(1.0)
    await engine.close()


class _Stats(SubscriberCallbacks):
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.frames = 0
        self.recording = False

    def on_render_frame(self, subscriber, frame):
        now = time.time()
        self.frames += 1
        plane = frame.planes[0]
        stamp = barcode.read(memoryview(plane), frame.width, plane.line_size)
        if stamp is not None and self.recording:
            self.latencies.append(now - stamp.capture_time)


async def subscriber(args) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", args.port)
    link = TcpLink(reader, writer)
    engines = [MediaEngine(link.endpoint(f"sub{i}")) for i in range(args.subscribers)]
    stats = [_Stats() for _ in engines]
    for engine, st in zip(engines, stats, strict=True):
        engine.subscribe("s1", "pub", st)
    await asyncio.sleep(args.warmup)
    for st in stats:
        st.recording = True
        st.frames = 0
    await asyncio.sleep(args.seconds)
    lat = sorted(x for st in stats for x in st.latencies)
    print(
        json.dumps(
            {
                "role": "subscriber",
                "fps_per_subscriber": [round(st.frames / args.seconds, 1) for st in stats],
                "latency_ms_median": round(1000 * statistics.median(lat), 1),
                "latency_ms_p95": round(1000 * lat[int(0.95 * (len(lat) - 1))], 1),
                "latency_samples": len(lat),
            }
        ),
        flush=True,
    )
    await asyncio.sleep(args.warmup + 2)  # keep the publisher's window full of subscribers
    for engine in engines:
        await engine.close()
    await link.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--role", choices=["parent", "publisher", "subscriber"], default="parent")
    parser.add_argument("--subscribers", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--no-audio", dest="audio", action="store_false")
    parser.add_argument("--port", type=int)
    parser.add_argument("--encode-per-pc", action="store_true")
    parser.add_argument("--noise", action="store_true", help="random texture: hardest to encode")
    args = parser.parse_args()
    if args.role == "publisher":
        asyncio.run(publisher(args))
        return
    if args.role == "subscriber":
        asyncio.run(subscriber(args))
        return
    common = [
        f"--subscribers={args.subscribers}",
        f"--seconds={args.seconds}",
        f"--warmup={args.warmup}",
        f"--width={args.width}",
        f"--height={args.height}",
        f"--fps={args.fps}",
    ]
    common += (
        ([] if args.audio else ["--no-audio"])
        + (["--encode-per-pc"] if args.encode_per_pc else [])
        + (["--noise"] if args.noise else [])
    )
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    pub = subprocess.Popen(
        [sys.executable, "-m", "bench.media_call", "--role=publisher", *common],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    port = json.loads(pub.stdout.readline())["port"]
    sub = subprocess.Popen(
        [sys.executable, "-m", "bench.media_call", "--role=subscriber", f"--port={port}", *common],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    sub_out, _ = sub.communicate(timeout=args.seconds + args.warmup + 60)
    pub_out, _ = pub.communicate(timeout=30)
    for line in (pub_out + sub_out).splitlines():
        print(line)


if __name__ == "__main__":
    main()
