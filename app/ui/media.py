"""The call's media behind the UI: publish this client's camera / mic, render the others.

:class:`CallMedia` wraps :class:`app.media.session_link.MediaSession` for one client
``Session``.  ``attach(session, url)`` comes before ``session.connect()`` (streams that
are already there are subscribed while it joins), ``publish(name)`` after it;
``close()`` before ``session.disconnect()``.  Video frames go to the bridge's
:class:`~app.ui.frames.FrameConverter` (off the UI thread), the self view under the key
``"self"``; audio frames to :class:`~app.ui.audio.AudioPlayback`.

Everything runs on the qasync loop, i.e. the UI thread; nothing here waits on the
network there — each network step is a task.  Device trouble is reported once per
device through :attr:`notice` and the synthetic source takes over.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from PySide6.QtCore import QObject, Signal

from app.core.errors import TetherError
from app.media.netcut import MediaCut
from app.ui import sources as src
from app.ui.audio import AudioPlayback
from app.ui.bridge import SessionBridge

logger = logging.getLogger(__name__)

SELF_KEY = "self"


def supports_media(session: Any) -> bool:
    """A session the media layer can ride on (the real client Session)."""
    return all(hasattr(session, n) for n in ("send_rtc", "add_rtc_listener", "add_listener"))


class _StreamCallbacks:
    """The bridge's callbacks for one stream, plus its audio into the playback mixer."""

    def __init__(self, callbacks: Any, stream_id: str, playback: AudioPlayback) -> None:
        self._callbacks = callbacks
        self._stream_id = stream_id
        self._playback = playback

    def on_audio_frame(self, _subscriber: Any, frame: Any) -> None:
        self._playback.push(self._stream_id, frame)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._callbacks, name)


class CallMedia(QObject):
    notice = Signal(str)  # a one-time sentence for the person (status bar)
    devices_changed = Signal(str, str)  # video choice, audio choice

    def __init__(self, bridge: SessionBridge, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.playback = AudioPlayback(self)
        self.playback.notice.connect(self.notice)
        self.media: Any = None
        self.publisher: Any = None
        self.video_choice = src.TEST_PATTERN
        self.audio_choice = src.TONE
        self.video_on = True
        self.video_format = src.VIDEO_FORMAT  # (width, height, fps)
        self.mic_muted = False
        self._video: src.SwitchableTrack | None = None
        self._audio: src.SwitchableTrack | None = None
        self._cut: MediaCut | None = None
        self._restore: asyncio.TimerHandle | None = None
        self._told: set[str] = set()
        self._tasks: set[asyncio.Future] = set()
        bridge.tile_removed.connect(self.playback.forget)

    # --- lifecycle ---------------------------------------------------------------------------

    def attach(self, session: Any, url: str) -> bool:
        """Ride on ``session`` (before its ``connect()``); False if it carries no media."""
        if not supports_media(session):
            self.bridge.subscribe_hook = None
            return False
        from app.media.ice import addresses_for_server, use_host_addresses
        from app.media.session_link import MediaSession

        # A server on loopback means every peer is on this machine: keep media there.
        use_host_addresses(addresses_for_server(url))
        self.media = MediaSession(session)
        self.bridge.subscribe_hook = self._subscribe
        return True

    async def publish(self, name: str) -> Any:
        """Publish this client's stream; returns its StreamInfo, or None if refused."""
        if self.media is None:
            return None
        self._video = src.SwitchableTrack(
            "video",
            self._open("video", self.video_choice),
            fallback=lambda: src.open_source("video", src.TEST_PATTERN, self.video_format),
            tee=self._self_frame,
            on_failure=self._tell,
        )
        self._audio = src.SwitchableTrack(
            "audio",
            self._open("audio", self.audio_choice),
            fallback=lambda: src.open_source("audio", src.TONE),
            on_failure=self._tell,
        )
        try:
            self.publisher = await self.media.publish(name, video=self._video, audio=self._audio)
        except TetherError as exc:  # e.g. a subscriber-only token: just watch
            logger.info("not publishing: %s", exc)
            self._stop_sources()
            return None
        if not self.video_on:
            await self._update(self.media.set_video_enabled, False)
        if self.mic_muted:
            await self._update(self.media.set_audio_enabled, False)
        session = self.media.session
        return session.own_streams.get(self.publisher.stream_id)

    async def close(self) -> None:
        """Close every peer connection and source; before ``session.disconnect()``."""
        self._end_cut()
        media, self.media = self.media, None
        self.publisher = None
        self.bridge.subscribe_hook = None
        if media is not None:
            try:
                await media.close()
            except Exception:
                logger.exception("media close failed")
        self._stop_sources()
        self.playback.stop()
        for task in list(self._tasks):
            task.cancel()

    # --- controls ------------------------------------------------------------------------------

    def set_video_enabled(self, on: bool) -> None:
        self.video_on = on
        if self.publisher is not None:
            self._spawn(self._update(self.media.set_video_enabled, on))
        if not on:
            self.bridge.converter.forget(SELF_KEY)

    def set_mic_muted(self, muted: bool) -> None:
        self.mic_muted = muted
        if self.publisher is not None:
            self._spawn(self._update(self.media.set_audio_enabled, not muted))

    def choose_video(self, choice: str) -> None:
        """Use ``choice`` for video from now on (an absent device: the test pattern)."""
        self.video_choice = choice
        self._switch(self._video, self._open("video", choice))

    def choose_audio(self, choice: str) -> None:
        """Use ``choice`` for audio from now on (an absent device: the tone)."""
        self.audio_choice = choice
        self._switch(self._audio, self._open("audio", choice))

    def _switch(self, track: src.SwitchableTrack | None, source: Any) -> None:
        # Opened even while not publishing, so a missing device is said at once.
        if track is not None:
            track.set_source(source)
        else:
            source.stop()
        self.devices_changed.emit(self.video_choice, self.audio_choice)

    def cut(self, seconds: float) -> int:
        """Silence every peer connection for ``seconds``; returns the sockets cut."""
        self._end_cut()
        if self.media is None:
            return 0
        engine = self.media.engine
        pcs = [pc for p in engine.publishers.values() for pc in p.peer_connections]
        pcs += [s.pc for s in engine.subscribers.values() if s.pc is not None]
        self._cut = MediaCut(pcs)
        self._restore = asyncio.get_running_loop().call_later(seconds, self._end_cut)
        return self._cut.sockets

    # --- internals -----------------------------------------------------------------------------

    def _subscribe(self, stream: Any, callbacks: Any) -> Any:
        if self.media is None:
            return None
        return self.media.subscribe(stream, _StreamCallbacks(callbacks, stream.id, self.playback))

    def _self_frame(self, frame: Any) -> None:
        if self.video_on:
            self.bridge.converter.submit(SELF_KEY, frame)

    def _open(self, kind: str, choice: str) -> Any:
        try:
            return src.open_source(kind, choice, self.video_format)
        except src.DeviceUnavailable as exc:
            synthetic = src.TEST_PATTERN if kind == "video" else src.TONE
            if kind == "video":
                self.video_choice = synthetic
            else:
                self.audio_choice = synthetic
            self._tell(f"{exc}. Using the {'test pattern' if kind == 'video' else 'tone'}.")
            return src.open_source(kind, synthetic, self.video_format)

    def _tell(self, text: str) -> None:
        if text not in self._told:
            self._told.add(text)
            logger.info("%s", text)
            self.notice.emit(text)

    def _end_cut(self) -> None:
        if self._restore is not None:
            self._restore.cancel()
            self._restore = None
        cut, self._cut = self._cut, None
        if cut is not None:
            cut.restore()

    def _stop_sources(self) -> None:
        for track in (self._video, self._audio):
            if track is not None:
                track.stop()
        self._video = self._audio = None

    async def _update(self, method: Any, on: bool) -> None:
        try:
            await method(self.publisher, on)
        except TetherError as exc:  # while reconnecting; the heartbeat already told them
            logger.info("stream update not sent: %s", exc)

    def _spawn(self, coro: Any) -> None:
        try:
            task = asyncio.ensure_future(coro)
        except RuntimeError:
            coro.close()
            return
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
