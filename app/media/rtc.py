"""Small aiortc helpers shared by the publisher and subscriber sides."""

from __future__ import annotations

import asyncio
import logging

from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCRtpSender

logger = logging.getLogger(__name__)


def rtc_configuration(ice_servers: list[RTCIceServer] | None = None) -> RTCConfiguration:
    """A configuration with exactly these ICE servers.

    aiortc falls back to Google's public STUN server when none are given; a LAN call
    needs none, so an empty list is passed explicitly.  STUN / TURN (coturn) come from
    the app's configuration.
    """
    return RTCConfiguration(iceServers=list(ice_servers or []))


def vp8_preferences() -> list:
    """VP8 (and its RTX) only: the shared encoder makes VP8 packets for every PC."""
    codecs = RTCRtpSender.getCapabilities("video").codecs
    return [c for c in codecs if c.mimeType.lower() in ("video/vp8", "video/rtx")]


def opus_preferences() -> list:
    """Opus only: the shared encoder makes Opus packets for every PC."""
    codecs = RTCRtpSender.getCapabilities("audio").codecs
    return [c for c in codecs if c.mimeType.lower() == "audio/opus"]


class PcCloser:
    """Closes peer connections in the background and remembers them until they are done."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def close(self, pc: RTCPeerConnection) -> None:
        task = asyncio.get_running_loop().create_task(self._close(pc))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _close(self, pc: RTCPeerConnection) -> None:
        try:
            await pc.close()
        except Exception:
            logger.exception("closing a peer connection failed")

    async def wait(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
