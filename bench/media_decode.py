"""Per-frame cost of VP8 encode, decode, and conversion to QImage-ready bytes.

    python -m bench.media_decode [--frames 300] [--width 640 --height 480] [--noise]

Encodes the test pattern with the publisher's encoder settings, then times, per frame:
decode (libvpx via av, as aiortc's receiver does), conversion of the decoded yuv420p
frame to packed RGB (rgb24, for QImage.Format_RGB888) and to BGRA (QImage.Format_RGB32 on
little-endian) including the copy out to ``bytes``, and reading the frame code.
"""

from __future__ import annotations

import argparse
import statistics
import time

import av

from app.media import barcode
from app.media.fanout import _vp8_encoder
from app.media.sources import VIDEO_TIME_BASE, TestPatternTrack


def _summary(name: str, samples: list[float]) -> str:
    samples = sorted(samples)
    p95 = samples[int(0.95 * (len(samples) - 1))]
    return f"{name:<28} median {statistics.median(samples) * 1e3:7.3f} ms   p95 {p95 * 1e3:7.3f} ms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--bitrate", type=int, default=1_000_000)
    parser.add_argument("--noise", action="store_true", help="random texture: hardest content")
    args = parser.parse_args()

    import asyncio

    async def make_track():
        return TestPatternTrack(args.width, args.height, 30, noise=args.noise)

    track = asyncio.run(make_track())
    encoder = _vp8_encoder(args.width, args.height, args.bitrate)
    packets, t_render, t_encode = [], [], []
    for n in range(args.frames):
        t0 = time.perf_counter()
        frame = track.render(n, time.time())
        t1 = time.perf_counter()
        frame.pts = n * 3000
        frame.time_base = VIDEO_TIME_BASE
        out = encoder.encode(frame)
        t2 = time.perf_counter()
        t_render.append(t1 - t0)
        t_encode.append(t2 - t1)
        packets.extend(bytes(p) for p in out)

    decoder = av.CodecContext.create("libvpx", "r")
    t_decode, t_rgb, t_bgra, t_code, ok = [], [], [], [], 0
    for data in packets:
        t0 = time.perf_counter()
        frames = decoder.decode(av.Packet(data))
        t1 = time.perf_counter()
        t_decode.append(t1 - t0)
        for f in frames:
            t2 = time.perf_counter()
            rgb = bytes(f.reformat(format="rgb24").planes[0])
            t3 = time.perf_counter()
            bgra = bytes(f.reformat(format="bgra").planes[0])
            t4 = time.perf_counter()
            plane = f.planes[0]
            stamp = barcode.read(memoryview(plane), f.width, plane.line_size)
            t5 = time.perf_counter()
            t_rgb.append(t3 - t2)
            t_bgra.append(t4 - t3)
            t_code.append(t5 - t4)
            ok += stamp is not None
            assert len(rgb) >= args.width * args.height * 3 and len(bgra) >= 4 * args.width
    size = sum(map(len, packets)) / len(packets)
    picture = "noise" if args.noise else "stripes"
    print(f"{args.width}x{args.height} {picture}, {args.frames} frames, {size / 1000:.1f} kB/frame")
    print(_summary("render test pattern", t_render))
    print(_summary("VP8 encode", t_encode))
    print(_summary("VP8 decode", t_decode))
    print(_summary("yuv420p -> rgb24 bytes", t_rgb))
    print(_summary("yuv420p -> bgra bytes", t_bgra))
    print(_summary("read frame code", t_code))
    both = [a + b for a, b in zip(t_decode, t_rgb, strict=False)]
    print(_summary("decode + rgb24", both))
    print(f"frame code read back on {ok}/{len(t_code)} frames")


if __name__ == "__main__":
    main()
