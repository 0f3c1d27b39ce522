"""The publishing side: one shared encoder per stream, one answering PC per subscriber.

A :class:`Publisher` is handed to :meth:`MediaEngine.publish` with the stream id the
session gave it.  It never offers: each subscriber sends a ``media_offer`` and the
publisher answers on a fresh peer connection, closing the subscription's previous one.
Over each PC's data channel it sends a :class:`Heartbeat` every ``heartbeat_interval``
seconds saying whether video and audio are on, so a subscriber can tell "video off"
from "stalled".  All methods run on the event loop's thread.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiortc import RTCConfiguration, RTCDataChannel, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack

from app.core.errors import ErrorCode, TetherError
from app.core.media_signals import (
    Heartbeat,
    MediaAnswer,
    MediaBye,
    MediaOffer,
    MediaPayload,
    encode_heartbeat,
    to_payload,
)
from app.media.fanout import AudioFanout, FanoutTrack, VideoFanout, route_keyframe_requests
from app.media.rtc import PcCloser, rtc_configuration

logger = logging.getLogger(__name__)

Send = Callable[[str, dict[str, Any]], Awaitable[None]]


@dataclass
class _Peer:
    connection_id: str
    sub_id: str
    gen: int
    pc: RTCPeerConnection
    tracks: list[FanoutTrack] = field(default_factory=list)
    heartbeat: asyncio.Task[None] | None = None
    channel: RTCDataChannel | None = None
    heartbeat_seq: int = 0

    def beat(self, video: bool, audio: bool) -> None:
        if self.channel is not None and self.channel.readyState == "open":
            self.heartbeat_seq += 1
            self.channel.send(encode_heartbeat(Heartbeat(video, audio, self.heartbeat_seq)))


class Publisher:
    """Publishes one stream; ``video`` / ``audio`` are source tracks or ``None``."""

    def __init__(
        self,
        *,
        video: MediaStreamTrack | None = None,
        audio: MediaStreamTrack | None = None,
        video_bitrate: int = 1_000_000,
        heartbeat_interval: float = 0.5,
        configuration: RTCConfiguration | None = None,
    ) -> None:
        self.stream_id = ""
        self.video_fanout = VideoFanout(video, bitrate=video_bitrate) if video else None
        self.audio_fanout = AudioFanout(audio) if audio else None
        self.heartbeat_interval = heartbeat_interval
        self._configuration = configuration or rtc_configuration()
        self._peers: dict[tuple[str, str], _Peer] = {}
        self._closer = PcCloser()
        self._send: Send | None = None
        self._closed = False

    # --- public ---------------------------------------------------------------------------

    @property
    def has_video(self) -> bool:
        return self.video_fanout is not None and self.video_fanout.enabled

    @property
    def has_audio(self) -> bool:
        return self.audio_fanout is not None and self.audio_fanout.enabled

    @property
    def encodes(self) -> int:
        """VP8 encoder invocations so far (one per frame, however many subscribers)."""
        return getattr(self.video_fanout, "encodes", 0)

    @property
    def peer_connections(self) -> list[RTCPeerConnection]:
        return [peer.pc for peer in self._peers.values()]

    def set_video_enabled(self, enabled: bool) -> None:
        """Stop / resume sending video without leaving; subscribers hear it in heartbeats.

        The session adapter also calls ``session.update_stream(has_video=...)``.
        """
        if self.video_fanout is None:
            raise TetherError(
                ErrorCode.INVALID_PARAMETER, "this stream was published without video"
            )
        self.video_fanout.set_enabled(enabled)
        self._beat_all()

    def set_audio_enabled(self, enabled: bool) -> None:
        if self.audio_fanout is None:
            raise TetherError(
                ErrorCode.INVALID_PARAMETER, "this stream was published without audio"
            )
        self.audio_fanout.set_enabled(enabled)
        self._beat_all()

    # --- engine side ----------------------------------------------------------------------

    def start(
        self, stream_id: str, send: Send, configuration: RTCConfiguration | None = None
    ) -> None:
        """Begin serving ``stream_id``: called by :meth:`MediaEngine.publish`."""
        self.stream_id = stream_id
        self._send = send
        if configuration is not None:
            self._configuration = configuration
        for fanout in (self.video_fanout, self.audio_fanout):
            if fanout is not None:
                fanout.start()

    async def handle(self, sender: str, message: MediaPayload) -> None:
        if self._closed:
            return
        key = (sender, message.sub_id)
        if isinstance(message, MediaOffer):
            await self._answer(sender, message)
        elif isinstance(message, MediaBye):
            peer = self._peers.pop(key, None)
            if peer is not None:
                self._drop(peer)

    def connection_dropped(self, connection_id: str) -> None:
        """The remote connection left the session: close its peer connections."""
        for key in [k for k in self._peers if k[0] == connection_id]:
            self._drop(self._peers.pop(key))

    async def close(self) -> None:
        """Close every peer connection and stop the encoder and sources."""
        self._closed = True
        for peer in list(self._peers.values()):
            self._drop(peer)
        self._peers.clear()
        await self._closer.wait()
        for fanout in (self.video_fanout, self.audio_fanout):
            if fanout is not None:
                await fanout.stop()

    # --- internals ------------------------------------------------------------------------

    async def _answer(self, sender: str, offer: MediaOffer) -> None:
        key = (sender, offer.sub_id)
        old = self._peers.get(key)
        if old is not None and offer.gen <= old.gen:
            logger.info("ignoring stale offer gen %d (have %d) from %s", offer.gen, old.gen, sender)
            return
        if old is not None:
            self._drop(old)
        pc = RTCPeerConnection(self._configuration)
        peer = _Peer(sender, offer.sub_id, offer.gen, pc)
        self._peers[key] = peer
        pc.on("datachannel", lambda channel: self._start_heartbeat(peer, channel))
        pc.on("connectionstatechange", lambda: self._check_peer(peer))
        try:
            await pc.setRemoteDescription(RTCSessionDescription(offer.sdp, "offer"))
            for transceiver in pc.getTransceivers():
                fanout = self.video_fanout if transceiver.kind == "video" else self.audio_fanout
                if fanout is None:
                    continue
                track = fanout.new_track()
                peer.tracks.append(track)
                sender_ = pc.addTrack(track)
                if isinstance(fanout, VideoFanout):
                    route_keyframe_requests(sender_, fanout)
            await pc.setLocalDescription(await pc.createAnswer())
        except Exception as exc:
            logger.warning("cannot answer offer from %s: %s", sender, exc)
            if self._peers.get(key) is peer:
                del self._peers[key]
            self._drop(peer)
            return
        if self._peers.get(key) is not peer:
            return  # a newer offer replaced this one while we answered
        answer = MediaAnswer(
            stream_id=self.stream_id,
            sub_id=offer.sub_id,
            gen=offer.gen,
            sdp=pc.localDescription.sdp,
        )
        try:
            assert self._send is not None
            await self._send(sender, to_payload(answer))
        except TetherError as exc:
            # The subscriber will time out and offer again.
            logger.info("answer to %s not sent: %s", sender, exc)

    def _start_heartbeat(self, peer: _Peer, channel: RTCDataChannel) -> None:
        if peer.heartbeat is None:
            peer.channel = channel
            peer.heartbeat = asyncio.get_running_loop().create_task(self._heartbeat(peer))

    async def _heartbeat(self, peer: _Peer) -> None:
        channel = peer.channel
        assert channel is not None
        while channel.readyState in ("connecting", "open"):
            peer.beat(self.has_video, self.has_audio)
            await asyncio.sleep(self.heartbeat_interval)

    def _beat_all(self) -> None:
        # Tell subscribers at once rather than at the next tick.
        for peer in self._peers.values():
            peer.beat(self.has_video, self.has_audio)

    def _check_peer(self, peer: _Peer) -> None:
        # A subscriber that vanished without a bye (and without its connection being
        # dropped) is noticed by aiortc's consent checks after ~30 s: free its PC then.
        if peer.pc.connectionState in ("failed", "closed"):
            key = (peer.connection_id, peer.sub_id)
            if self._peers.get(key) is peer:
                del self._peers[key]
                self._drop(peer)

    def _drop(self, peer: _Peer) -> None:
        if peer.heartbeat is not None:
            peer.heartbeat.cancel()
        for track in peer.tracks:
            track.stop()
        self._closer.close(peer.pc)
