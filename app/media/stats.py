"""Per-stream receive statistics for ``tether bot``'s once-a-second ``stats`` line.

Feed each rendered frame (``frame_rendered(frame, wall_now)``); ``snapshot(wall_now)``
returns frames so far, frames per second over the last second, the capture-to-decode
latency read from the test pattern's frame code, and counter gaps (lost or skipped).
"""

from __future__ import annotations

import collections
import statistics
from dataclasses import dataclass

import av

from app.media import barcode


@dataclass(frozen=True)
class StreamStats:
    frames: int
    fps: float
    latency_ms: float | None  # median over the last second; None without a frame code
    skipped: int  # counter values never seen (lost, or dropped before encoding)
    last_counter: int | None


class FrameMeter:
    def __init__(self, window: float = 1.0) -> None:
        self.window = window
        self.frames = 0
        self.skipped = 0
        self.last_counter: int | None = None
        self._recent: collections.deque[tuple[float, float | None]] = collections.deque()

    def frame_rendered(self, frame: av.VideoFrame, now: float) -> barcode.Stamp | None:
        plane = frame.planes[0]
        stamp = barcode.read(memoryview(plane), frame.width, plane.line_size)
        self.frames += 1
        latency = None
        if stamp is not None:
            latency = now - stamp.capture_time
            if self.last_counter is not None and stamp.counter > self.last_counter + 1:
                self.skipped += stamp.counter - self.last_counter - 1
            self.last_counter = stamp.counter
        self._recent.append((now, latency))
        self._trim(now)
        return stamp

    def snapshot(self, now: float) -> StreamStats:
        self._trim(now)
        latencies = [lat for _, lat in self._recent if lat is not None]
        return StreamStats(
            frames=self.frames,
            fps=len(self._recent) / self.window,
            latency_ms=round(1000 * statistics.median(latencies), 1) if latencies else None,
            skipped=self.skipped,
            last_counter=self.last_counter,
        )

    def _trim(self, now: float) -> None:
        while self._recent and self._recent[0][0] <= now - self.window:
            self._recent.popleft()
