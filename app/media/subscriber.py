"""The subscribing side: a :class:`Subscriber` that outlives its peer connections.

A subscriber offers to the publisher's connection and renders what comes back.  When
:class:`app.core.liveness.SubscriberLiveness` says the stream stalled (or after a
resume) it throws the peer connection away and negotiates a fresh one with the next
generation number; the ``Subscriber`` object, its stream id and its callbacks stay the
same.  Payloads and frames from an older generation are ignored.

Callbacks run on the event loop's thread; an exception in one is logged and ignored.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import av
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from app.core import liveness as lv
from app.core.errors import TetherError
from app.core.media_signals import (
    MediaAnswer,
    MediaBye,
    MediaOffer,
    MediaPayload,
    MediaRefused,
    decode_heartbeat,
    to_payload,
)
from app.media.rtc import PcCloser, opus_preferences, rtc_configuration, vp8_preferences

logger = logging.getLogger(__name__)

Send = Callable[[str, dict[str, Any]], Awaitable[None]]


class SubscriberCallbacks:
    """Override what you need; every method is optional.  Runs on the loop's thread."""

    def on_connected(self, subscriber: Subscriber) -> None: ...

    def on_render_frame(self, subscriber: Subscriber, frame: av.VideoFrame) -> None: ...

    def on_audio_frame(self, subscriber: Subscriber, frame: av.AudioFrame) -> None: ...

    def on_video_disabled(self, subscriber: Subscriber, reason: str) -> None: ...

    def on_video_enabled(self, subscriber: Subscriber, reason: str) -> None: ...

    def on_error(self, subscriber: Subscriber, code: int, message: str) -> None: ...

    def on_disconnected(self, subscriber: Subscriber) -> None: ...

    def on_reconnected(self, subscriber: Subscriber) -> None: ...


class Subscriber:
    """Receives one stream.  Made by :meth:`MediaEngine.subscribe`; ends with :meth:`close`."""

    def __init__(
        self,
        *,
        stream_id: str,
        connection_id: str,
        callbacks: SubscriberCallbacks,
        send: Send,
        has_video: bool = True,
        configuration: RTCConfiguration | None = None,
        config: lv.LivenessConfig | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.stream_id = stream_id
        self.connection_id = connection_id  # the publisher's connection
        self.callbacks = callbacks
        self.sub_id = uuid.uuid4().hex
        self.generation = 0
        self.video_frames = 0
        self.audio_frames = 0
        self.renegotiations: list[str] = []  # reasons, in order
        self.pc: RTCPeerConnection | None = None
        self._send = send
        self._configuration = configuration or rtc_configuration()
        self._loop = asyncio.get_running_loop()
        self._clock = clock or self._loop.time
        self._liveness = lv.SubscriberLiveness(
            now=self._clock(), remote_video=has_video, config=config or lv.LivenessConfig()
        )
        self._timer: asyncio.TimerHandle | None = None
        self._negotiation: asyncio.Task[None] | None = None
        self._heartbeat_seq = 0  # highest seen on the current PC (the channel is unordered)
        self._readers: set[asyncio.Task[None]] = set()
        self._closer = PcCloser()
        self._closed = False

    # --- public ---------------------------------------------------------------------------

    @property
    def state(self) -> lv.State:
        return self._liveness.state

    @property
    def disconnected(self) -> bool:
        return self._liveness.shown_disconnected

    def subscribe_to_video(self, enabled: bool) -> None:
        """Stop / resume rendering this stream's video (``on_video_disabled`` with
        ``subscribe_to_video``).  Frames still arrive and still count as liveness."""
        self._liveness.set_subscribe_to_video(enabled)
        self._process()

    async def close(self) -> None:
        """Tell the publisher, close the peer connection, stop every task."""
        if self._closed:
            return
        self._closed = True
        self._liveness.close()
        if self._timer is not None:
            self._timer.cancel()
        if self._negotiation is not None:
            self._negotiation.cancel()
            await asyncio.gather(self._negotiation, return_exceptions=True)
        try:
            await self._send(self.connection_id, to_payload(MediaBye(self.stream_id, self.sub_id)))
        except TetherError:
            pass  # the publisher closes it when our connection goes
        if self.pc is not None:
            self._closer.close(self.pc)
            self.pc = None
        await self._closer.wait()
        for task in list(self._readers):
            task.cancel()
        await asyncio.gather(*self._readers, return_exceptions=True)

    # --- engine side ----------------------------------------------------------------------

    def start(self) -> None:
        self._renegotiate("subscribe")

    def handle(self, message: MediaPayload) -> None:
        if self._closed or message.gen != self.generation:
            return
        if isinstance(message, MediaAnswer):
            self._loop.create_task(self._accept(message, self.pc))
        elif isinstance(message, MediaRefused):
            # Offering again would be refused again: the engine closes this subscriber.
            self._call("on_error", message.code, message.message)

    def session_resumed(self) -> None:
        self._liveness.session_resumed(self._clock())
        self._process()

    def owner_interrupted(self, interrupted: bool) -> None:
        self._liveness.owner_interrupted_changed(self._clock(), interrupted)
        self._process()

    def stream_updated(self, has_video: bool) -> None:
        self._liveness.stream_updated(self._clock(), has_video)
        self._process()

    # --- negotiation ----------------------------------------------------------------------

    def _renegotiate(self, reason: str) -> None:
        if self._closed:
            return
        self.renegotiations.append(reason)
        if self._negotiation is not None:
            self._negotiation.cancel()
        self._negotiation = self._loop.create_task(self._negotiate())

    async def _negotiate(self) -> None:
        self.generation += 1
        gen = self.generation
        self._heartbeat_seq = 0
        if self.pc is not None:
            self._closer.close(self.pc)
        self._liveness.negotiation_started(self._clock())
        pc = self.pc = RTCPeerConnection(self._configuration)
        video = pc.addTransceiver("video", direction="recvonly")
        video.setCodecPreferences(vp8_preferences())
        audio = pc.addTransceiver("audio", direction="recvonly")
        audio.setCodecPreferences(opus_preferences())
        channel = pc.createDataChannel("tether-heartbeat", ordered=False, maxRetransmits=0)
        channel.on("message", lambda data: self._on_heartbeat(gen, data))
        pc.on("track", lambda track: self._read(gen, track))
        try:
            await pc.setLocalDescription(await pc.createOffer())
            offer = MediaOffer(self.stream_id, self.sub_id, gen, pc.localDescription.sdp)
            await self._send(self.connection_id, to_payload(offer))
        except TetherError as exc:
            # Signalling is down: the liveness schedule (or the resume) tries again.
            logger.info("offer gen %d for %s not sent: %s", gen, self.stream_id, exc)
        except Exception:
            # The liveness schedule tries again with a fresh PC.
            logger.exception("offer gen %d for %s failed", gen, self.stream_id)

    async def _accept(self, answer: MediaAnswer, pc: RTCPeerConnection | None) -> None:
        if pc is None or pc is not self.pc or pc.signalingState != "have-local-offer":
            return
        try:
            await pc.setRemoteDescription(RTCSessionDescription(answer.sdp, "answer"))
        except Exception as exc:
            logger.warning("bad answer gen %d for %s: %s", answer.gen, self.stream_id, exc)

    # --- media ----------------------------------------------------------------------------

    def _read(self, gen: int, track: MediaStreamTrack) -> None:
        task = self._loop.create_task(self._reader(gen, track))
        self._readers.add(task)
        task.add_done_callback(self._readers.discard)

    async def _reader(self, gen: int, track: MediaStreamTrack) -> None:
        kind = track.kind
        try:
            while not self._closed:
                frame = await track.recv()
                if gen != self.generation or self._closed:
                    return
                self._liveness.frame_received(self._clock(), kind)
                self._process()
                if kind == "video":
                    self.video_frames += 1
                    if self._liveness.subscribe_to_video:
                        self._call("on_render_frame", frame)
                else:
                    self.audio_frames += 1
                    self._call("on_audio_frame", frame)
        except MediaStreamError:
            pass

    def _on_heartbeat(self, gen: int, data: str | bytes) -> None:
        if gen != self.generation or self._closed:
            return
        try:
            heartbeat = decode_heartbeat(data)
        except TetherError as exc:
            logger.warning("%s", exc)
            return
        if heartbeat.seq <= self._heartbeat_seq:
            return  # overtaken by a newer one on the unordered channel
        self._heartbeat_seq = heartbeat.seq
        self._liveness.heartbeat_received(self._clock(), heartbeat.video)
        self._process()

    # --- events ---------------------------------------------------------------------------

    def _process(self) -> None:
        for event in self._liveness.events_received():
            if isinstance(event, lv.Renegotiate):
                self._renegotiate(event.reason)
            elif isinstance(event, lv.Connected):
                self._call("on_connected")
            elif isinstance(event, lv.Disconnected):
                logger.info("stream %s disconnected: %s", self.stream_id, event.reason)
                self._call("on_disconnected")
            elif isinstance(event, lv.Reconnected):
                self._call("on_reconnected")
            elif isinstance(event, lv.VideoDisabled):
                self._call("on_video_disabled", event.reason)
            elif isinstance(event, lv.VideoEnabled):
                self._call("on_video_enabled", event.reason)
        self._arm_timer()

    def _arm_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        deadline = self._liveness.get_timer()
        if deadline is not None and not self._closed:
            delay = max(0.0, deadline - self._clock())
            self._timer = self._loop.call_later(delay, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._liveness.handle_timer(self._clock())
        self._process()

    def _call(self, name: str, *args: Any) -> None:
        try:
            getattr(self.callbacks, name)(self, *args)
        except Exception:
            logger.exception("subscriber callback %s raised", name)
