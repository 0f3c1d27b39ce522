"""A recording subscriber-callbacks double and waiting helpers for the media tests."""

from __future__ import annotations

import asyncio
import time

from app.media import barcode
from app.media.subscriber import SubscriberCallbacks


class Recorder(SubscriberCallbacks):
    """Records every callback in order as (name, subscriber, detail)."""

    def __init__(self) -> None:
        self.history: list[tuple[str, object, object]] = []
        self.stamps: list[tuple[barcode.Stamp, float]] = []  # (stamp, wall-clock decode time)
        self.audio = 0
        self._changed = asyncio.Event()

    def _record(self, name, subscriber, detail=None):
        self.history.append((name, subscriber, detail))
        self._changed.set()

    def names(self) -> list[str]:
        return [name for name, _, _ in self.history]

    def on_connected(self, subscriber):
        self._record("on_connected", subscriber)

    def on_render_frame(self, subscriber, frame):
        plane = frame.planes[0]
        stamp = barcode.read(memoryview(plane), frame.width, plane.line_size)
        if stamp is not None:
            self.stamps.append((stamp, time.time()))
        self._changed.set()

    def on_audio_frame(self, subscriber, frame):
        self.audio += 1

    def on_video_disabled(self, subscriber, reason):
        self._record("on_video_disabled", subscriber, reason)

    def on_video_enabled(self, subscriber, reason):
        self._record("on_video_enabled", subscriber, reason)

    def on_error(self, subscriber, code, message):
        self._record("on_error", subscriber, code)

    def on_disconnected(self, subscriber):
        self._record("on_disconnected", subscriber)

    def on_reconnected(self, subscriber):
        self._record("on_reconnected", subscriber)

    async def wait_for(self, predicate, timeout: float = 10.0) -> None:
        async def loop():
            while not predicate():
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(loop(), timeout)

    async def frames(self, count: int, timeout: float = 10.0) -> list[barcode.Stamp]:
        """Wait for ``count`` more decoded frames and return their stamps."""
        start = len(self.stamps)
        await self.wait_for(lambda: len(self.stamps) >= start + count, timeout)
        return [s for s, _ in self.stamps[start : start + count]]


async def until(predicate, timeout: float = 10.0, step: float = 0.05) -> None:
    """Poll ``predicate`` (for state no callback announces, e.g. a PC closing)."""

    async def loop():
        while not predicate():
            await asyncio.sleep(step)

    await asyncio.wait_for(loop(), timeout)
