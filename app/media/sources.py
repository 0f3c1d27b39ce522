"""Media sources: a synthetic test pattern and tone, and optional v4l2 / ALSA capture.

The test pattern is the default video when there is no camera.  Each picture carries its
frame counter and capture time (see :mod:`app.media.barcode`) so a receiver can check
order and measure capture-to-decode latency from the decoded frame alone.
"""

from __future__ import annotations

import asyncio
import fractions
import math
import os
import time
from collections.abc import Callable

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from app.media import barcode

VIDEO_CLOCK_RATE = 90000
VIDEO_TIME_BASE = fractions.Fraction(1, VIDEO_CLOCK_RATE)
AUDIO_RATE = 48000
AUDIO_PTIME = 0.020
AUDIO_TIME_BASE = fractions.Fraction(1, AUDIO_RATE)


class _Paced:
    """Paces a source at a fixed rate against the loop clock; restarts after a stall."""

    def __init__(self, period: float, clock: Callable[[], float]) -> None:
        self._period = period
        self._clock = clock
        self._next: float | None = None

    async def wait(self) -> None:
        now = self._clock()
        if self._next is None or now - self._next > 1.0:
            # First frame, or we fell more than a second behind: do not burst to catch up.
            self._next = now
        delay = self._next - now
        self._next += self._period
        if delay > 0:
            await asyncio.sleep(delay)


class TestPatternTrack(MediaStreamTrack):
    """A moving picture (scrolling stripes, a bouncing box) with a frame code on top.

    ``recv()`` returns yuv420p :class:`av.VideoFrame` at ``fps``; ``pts`` is in 1/90000 s.
    ``wall_clock`` gives the capture time written into the picture (default
    :func:`time.time`, so another process on this machine can compute latency).
    """

    kind = "video"
    __test__ = False  # not a pytest test class

    def __init__(
        self,
        width: int = 640,
        height: int = 480,
        fps: float = 30.0,
        *,
        wall_clock: Callable[[], float] = time.time,
        noise: bool = False,
    ) -> None:
        super().__init__()
        if width % 2 or height % 2:
            raise ValueError("width and height must be even for yuv420p")
        self.width = width
        self.height = height
        self.fps = fps
        self.counter = 0
        self._wall_clock = wall_clock
        self._pace = _Paced(1.0 / fps, asyncio.get_running_loop().time)
        self._band = barcode.band_height(width)
        if self._band + 16 > height:
            raise ValueError(f"picture height {height} leaves no room below the frame code")
        self._stripes = bytes((x * 3) & 0xFF for x in range(2 * width))
        # A moving random texture instead of stripes: the hardest content for the encoder,
        # for benchmarks (a camera picture costs somewhere in between).
        self._noise = os.urandom(2 * width * height) if noise else b""
        self._chroma_u = bytes([96]) * ((width // 2) * (height // 2))
        self._chroma_v = bytes([160]) * ((width // 2) * (height // 2))

    async def recv(self) -> av.VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        await self._pace.wait()
        frame = self.render(self.counter, self._wall_clock())
        frame.pts = int(self.counter * VIDEO_CLOCK_RATE / self.fps)
        frame.time_base = VIDEO_TIME_BASE
        self.counter += 1
        return frame

    def render(self, counter: int, capture_time: float) -> av.VideoFrame:
        """Draw picture number ``counter``; exposed for benchmarks and tests."""
        w, h = self.width, self.height
        frame = av.VideoFrame(w, h, "yuv420p")
        y_plane = frame.planes[0]
        stride = y_plane.line_size
        pad = b"\x00" * (stride - w)
        if self._noise:
            start = (counter * 7919) % (w * h)
            luma = bytearray(
                b"".join(self._noise[start + y * w : start + (y + 1) * w] + pad for y in range(h))
            )
        else:
            shift = (counter * 4) % w
            luma = bytearray((self._stripes[shift : shift + w] + pad) * h)
        # Bouncing box, 64x64, below the code band.
        span_x, span_y = w - 64, h - self._band - 64
        bx = _bounce(counter * 5, span_x)
        by = self._band + _bounce(counter * 3, span_y)
        white = bytes([barcode.WHITE]) * 64
        for y in range(by, by + 64):
            off = y * stride + bx
            luma[off : off + 64] = white
        stamp = barcode.Stamp(counter=counter, capture_ms=int(capture_time * 1000))
        for row, line in enumerate(barcode.render_band(stamp, w)):
            line = line + pad
            for y in range(row * barcode.BLOCK, (row + 1) * barcode.BLOCK):
                luma[y * stride : (y + 1) * stride] = line
        y_plane.update(bytes(luma))
        _fill(frame.planes[1], self._chroma_u, w // 2, h // 2)
        _fill(frame.planes[2], self._chroma_v, w // 2, h // 2)
        return frame


def _bounce(pos: int, span: int) -> int:
    if span <= 0:
        return 0
    pos %= 2 * span
    return pos if pos < span else 2 * span - pos


def _fill(plane: av.video.plane.VideoPlane, data: bytes, width: int, height: int) -> None:
    if plane.line_size == width:
        plane.update(data)
    else:
        row = data[:width] + b"\x00" * (plane.line_size - width)
        plane.update(row * height)


class ToneTrack(MediaStreamTrack):
    """A sine tone (default 440 Hz), mono s16 at 48 kHz in 20 ms frames."""

    kind = "audio"

    def __init__(self, frequency: float = 440.0, amplitude: float = 0.2) -> None:
        super().__init__()
        self._samples = int(AUDIO_RATE * AUDIO_PTIME)
        self._pace = _Paced(AUDIO_PTIME, asyncio.get_running_loop().time)
        self._pts = 0
        # A whole number of periods per 20 ms frame only for some tones; keep one second
        # of samples and slide through it so any frequency stays continuous.
        peak = int(32767 * amplitude)
        second = [
            int(peak * math.sin(2 * math.pi * frequency * n / AUDIO_RATE))
            for n in range(AUDIO_RATE)
        ]
        self._pcm = b"".join(s.to_bytes(2, "little", signed=True) for s in second)

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        await self._pace.wait()
        start = (self._pts % AUDIO_RATE) * 2
        chunk = self._pcm[start : start + self._samples * 2]
        if len(chunk) < self._samples * 2:
            chunk += self._pcm[: self._samples * 2 - len(chunk)]
        frame = av.AudioFrame(format="s16", layout="mono", samples=self._samples)
        frame.planes[0].update(chunk)
        frame.sample_rate = AUDIO_RATE
        frame.pts = self._pts
        frame.time_base = AUDIO_TIME_BASE
        self._pts += self._samples
        return frame


def open_camera(device: str = "/dev/video0", width: int = 640, height: int = 480, fps: int = 30):
    """A v4l2 camera as a track (aiortc's MediaPlayer over av).  Untested here: no camera."""
    from aiortc.contrib.media import MediaPlayer

    player = MediaPlayer(
        device,
        format="v4l2",
        options={"video_size": f"{width}x{height}", "framerate": str(fps)},
    )
    return player.video


def open_microphone(device: str = "default"):
    """An ALSA microphone as a track.  Untested here: no sound card."""
    from aiortc.contrib.media import MediaPlayer

    return MediaPlayer(device, format="alsa").audio
