"""Local sources the call publishes: one track per kind whose device can change mid-call.

The publisher reads a :class:`SwitchableTrack` for the whole call; choosing another
device (camera, microphone, test pattern, tone) swaps what it reads, so the others keep
the same stream and subscriber.  Timestamps are the switchable track's own, so the
encoder sees one steady clock whatever the device.  A device that fails mid-call is
replaced by the synthetic source and reported once through ``on_failure``.
"""

from __future__ import annotations

import asyncio
import fractions
import logging
from collections.abc import Callable
from typing import Any

from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from app.media import sources

logger = logging.getLogger(__name__)

VIDEO_TIME_BASE = fractions.Fraction(1, 90000)

TEST_PATTERN = "test-pattern"
CAMERA = "camera"
TONE = "tone"
MICROPHONE = "microphone"
VIDEO_FORMAT = (640, 480, 30)  # the default: 640x480 at 30 fps


class DeviceUnavailable(Exception):
    """A camera or microphone could not be opened; the message says which and why."""


def open_source(
    kind: str, choice: str, video_format: tuple[int, int, int] = VIDEO_FORMAT
) -> MediaStreamTrack:
    """A fresh track for ``choice``; :class:`DeviceUnavailable` if the device is absent.

    ``video_format`` is (width, height, fps) for the test pattern and the camera.
    Call on the event loop's thread (the synthetic sources pace on its clock)."""
    width, height, fps = video_format
    if choice == TEST_PATTERN:
        return sources.TestPatternTrack(width, height, fps)
    if choice == TONE:
        return sources.ToneTrack()
    try:
        if choice == CAMERA:
            track = sources.open_camera(width=width, height=height, fps=fps)
        else:
            track = sources.open_microphone()
    except Exception as exc:  # av raises several kinds for a missing device
        what = "camera (/dev/video0)" if choice == CAMERA else "microphone (ALSA default)"
        raise DeviceUnavailable(f"No {what}: {exc}") from exc
    if track is None:
        raise DeviceUnavailable(f"The {choice} gave no {kind} track")
    return track


class SwitchableTrack(MediaStreamTrack):
    """Reads whichever source is current; ``tee(frame)`` sees every frame it gives out."""

    def __init__(
        self,
        kind: str,
        source: MediaStreamTrack,
        *,
        fallback: Callable[[], MediaStreamTrack],
        tee: Callable[[Any], None] | None = None,
        on_failure: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__()
        self.kind = kind
        self._source = source
        self._fallback = fallback
        self._tee = tee
        self._on_failure = on_failure
        self._start: float | None = None
        self._samples = 0

    @property
    def source(self) -> MediaStreamTrack:
        return self._source

    def set_source(self, source: MediaStreamTrack) -> None:
        """Read ``source`` from the next frame on; the previous one is stopped."""
        old, self._source = self._source, source
        if old is not source:
            old.stop()

    async def recv(self) -> Any:
        while True:
            if self.readyState != "live":
                raise MediaStreamError
            source = self._source
            try:
                frame = await source.recv()
            except MediaStreamError:
                if self.readyState != "live" or source is not self._source:
                    continue  # stopped, or switched while we waited
                logger.info("%s source ended; using the synthetic one", self.kind)
                self.set_source(self._fallback())
                if self._on_failure is not None:
                    self._on_failure(f"The {self.kind} device stopped; using the synthetic one")
                continue
            self._stamp(frame)
            if self._tee is not None:
                self._tee(frame)
            return frame

    def _stamp(self, frame: Any) -> None:
        if self.kind == "video":
            now = asyncio.get_running_loop().time()
            if self._start is None:
                self._start = now
            frame.pts = int((now - self._start) * 90000)
            frame.time_base = VIDEO_TIME_BASE
        else:
            rate = frame.sample_rate or sources.AUDIO_RATE
            frame.pts = self._samples
            frame.time_base = fractions.Fraction(1, rate)
            self._samples += frame.samples

    def stop(self) -> None:
        super().stop()
        self._source.stop()
