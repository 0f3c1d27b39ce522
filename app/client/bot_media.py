"""The media half of ``tether bot``: publish a test pattern, subscribe, report frames.

:class:`BotMedia` wraps a :class:`~app.media.session_link.MediaSession` for the bot and
turns what the media subscribers see into the bot's JSON lines:

* subscriber callbacks carry ``"stream"`` and ``"subscriber": true``: ``on_connected``,
  ``on_disconnected``, ``on_reconnected``, ``on_video_disabled`` / ``on_video_enabled``
  (with ``reason``), ``on_error`` (``code``, ``message``);
* ``on_render_frame`` only for a subscriber's first frame and the first one after each of
  its ``on_reconnected``, with the frame ``counter`` and ``latency_ms`` read from the test
  pattern's frame code (``null`` when the picture carries none);
* ``{"event": "stats", "streams": {id: {"frames", "fps", "latency_ms", ...}}}`` once a
  second while anything is subscribed.

Everything runs on the session's event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any, Protocol

import av

from app.core.errors import ErrorCode, TetherError
from app.core.protocol import StreamInfo
from app.media.faults import drop_outgoing
from app.media.session_link import MediaSession
from app.media.sources import TestPatternTrack, ToneTrack
from app.media.stats import FrameMeter

logger = logging.getLogger(__name__)

PUBLISH_CHOICES = ("test-pattern", "none")
SUBSCRIBE_CHOICES = ("all", "none")


class Emitter(Protocol):
    def emit(self, event: str, **fields: Any) -> None: ...


class _Tracked:
    """What the bot keeps per subscribed stream."""

    def __init__(self) -> None:
        self.meter = FrameMeter()
        self.audio_frames = 0
        self.show_next_frame = True  # the first frame, and the first after on_reconnected


class BotMedia:
    """Publishes and subscribes for the bot; call :meth:`close` before leaving."""

    def __init__(
        self,
        session: Any,
        out: Emitter,
        *,
        publish: str = "test-pattern",
        subscribe: bool = True,
        video: bool = True,
        size: tuple[int, int] = (640, 480),
        fps: float = 30.0,
        stats_interval: float = 1.0,
    ) -> None:
        self.session = session
        self.out = out
        self.publish_kind = publish
        self.subscribe_all = subscribe
        self.video = video
        self.size = size
        self.fps = fps
        self.stats_interval = stats_interval
        self.media = MediaSession(session)
        self.publisher: Any = None
        self.subscribers: dict[str, Any] = {}  # by stream id: the media Subscriber
        self._tracked: dict[str, _Tracked] = {}
        self._stats: asyncio.Task[None] | None = None
        self._closed = False

    # --- the bot's session callbacks call these --------------------------------------------

    def stream_received(self, stream: StreamInfo) -> None:
        """Subscribe to ``stream`` if the bot subscribes to everything."""
        if not self.subscribe_all or self._closed or stream.id in self.subscribers:
            return
        try:
            sub = self.media.subscribe(stream, _Callbacks(self))
        except TetherError as err:
            self.out.emit("on_error", stream=stream.id, code=int(err.code), message=err.message)
            return
        self._tracked[stream.id] = _Tracked()
        self.subscribers[stream.id] = sub
        if self._stats is None:
            self._stats = asyncio.get_running_loop().create_task(self._report_stats())

    def stream_dropped(self, stream: StreamInfo) -> None:
        # The media session closes the subscriber itself; stop reporting the stream.
        self.subscribers.pop(stream.id, None)
        self._tracked.pop(stream.id, None)

    # --- publishing --------------------------------------------------------------------------

    async def start(self, name: str) -> None:
        """Publish (unless ``publish="none"``); reports ``on_stream_created`` or ``on_error``."""
        if self.publish_kind == "none":
            return
        width, height = self.size
        try:
            self.publisher = await self.media.publish(
                name,
                video=TestPatternTrack(width, height, self.fps),
                audio=ToneTrack(),
            )
        except TetherError as err:
            self.out.emit("on_error", code=int(err.code), message=f"cannot publish: {err.message}")
            return
        self.out.emit("on_stream_created", stream=self.publisher.stream_id, publisher=True)
        if not self.video:
            await self.set_video(False)

    async def set_video(self, on: bool) -> None:
        """Own video off / on; subscribers see ``on_video_disabled`` / ``on_video_enabled``."""
        if self.publisher is None:
            raise TetherError(ErrorCode.INVALID_PARAMETER, "not publishing")
        await self.media.set_video_enabled(self.publisher, on)

    def drop_media(self) -> int:
        """Fault injection for the lab: every current peer connection stops sending and
        receiving, as if this machine's network died (signalling is left alone; cut it in
        the fault proxy).  Fresh peer connections negotiated afterwards work.  Returns how
        many were cut."""
        pcs = list(self.publisher.peer_connections) if self.publisher is not None else []
        pcs += [sub.pc for sub in self.subscribers.values() if sub.pc is not None]
        for pc in pcs:
            drop_outgoing(pc)
            _drop_incoming(pc)
        return len(pcs)

    # --- shutdown ----------------------------------------------------------------------------

    async def close(self) -> None:
        """Close every peer connection, the encoder thread and the sources."""
        if self._closed:
            return
        self._closed = True
        if self._stats is not None:
            self._stats.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._stats
        await self.media.close()

    # --- reporting ---------------------------------------------------------------------------

    def _frame(self, stream_id: str, frame: av.VideoFrame) -> None:
        tracked = self._tracked.get(stream_id)
        if tracked is None:
            return
        now = time.time()
        stamp = tracked.meter.frame_rendered(frame, now)
        if tracked.show_next_frame:
            tracked.show_next_frame = False
            self.out.emit(
                "on_render_frame",
                stream=stream_id,
                subscriber=True,
                frames=tracked.meter.frames,  # decoded so far on this stream
                counter=stamp.counter if stamp is not None else None,
                latency_ms=round(1000 * (now - stamp.capture_time), 1) if stamp else None,
                width=frame.width,
                height=frame.height,
            )

    def _reconnected(self, stream_id: str) -> None:
        tracked = self._tracked.get(stream_id)
        if tracked is not None:
            tracked.show_next_frame = True

    def _audio(self, stream_id: str) -> None:
        tracked = self._tracked.get(stream_id)
        if tracked is not None:
            tracked.audio_frames += 1

    async def _report_stats(self) -> None:
        while True:
            await asyncio.sleep(self.stats_interval)
            if not self._tracked:
                continue
            now = time.time()
            streams = {}
            for stream_id, tracked in self._tracked.items():
                snap = tracked.meter.snapshot(now)
                streams[stream_id] = {
                    "frames": snap.frames,
                    "fps": snap.fps,
                    "latency_ms": snap.latency_ms,
                    "counter": snap.last_counter,
                    "skipped": snap.skipped,
                    "audio_frames": tracked.audio_frames,
                }
            self.out.emit("stats", streams=streams)


def _drop_incoming(pc: Any) -> None:
    # The receiving half of app.media.faults.drop_outgoing: a dead link loses datagrams
    # both ways, and the publisher on the other end would otherwise keep us fed for the
    # ~30 s aiortc takes to notice.
    transports = {t.receiver.transport.transport for t in pc.getTransceivers()}
    if pc.sctp is not None:
        transports.add(pc.sctp.transport.transport)
    for ice in transports:
        for protocol in ice._connection._protocols:
            protocol.datagram_received = lambda *args: None


class _Callbacks:
    """Media subscriber callbacks -> JSON lines.  Runs on the loop's thread."""

    def __init__(self, bot: BotMedia) -> None:
        self.bot = bot

    def _emit(self, event: str, subscriber: Any, **fields: Any) -> None:
        self.bot.out.emit(event, stream=subscriber.stream_id, subscriber=True, **fields)

    def on_connected(self, subscriber: Any) -> None:
        self._emit("on_connected", subscriber)

    def on_render_frame(self, subscriber: Any, frame: av.VideoFrame) -> None:
        self.bot._frame(subscriber.stream_id, frame)

    def on_audio_frame(self, subscriber: Any, frame: av.AudioFrame) -> None:
        self.bot._audio(subscriber.stream_id)

    def on_video_disabled(self, subscriber: Any, reason: str) -> None:
        self._emit("on_video_disabled", subscriber, reason=reason)

    def on_video_enabled(self, subscriber: Any, reason: str) -> None:
        self._emit("on_video_enabled", subscriber, reason=reason)

    def on_error(self, subscriber: Any, code: int, message: str) -> None:
        self._emit("on_error", subscriber, code=int(code), message=message)

    def on_disconnected(self, subscriber: Any) -> None:
        self._emit("on_disconnected", subscriber)

    def on_reconnected(self, subscriber: Any) -> None:
        self._emit("on_reconnected", subscriber)
        self.bot._reconnected(subscriber.stream_id)
