"""Encode once, send to many: one encoder per published track, one proxy track per PC.

aiortc's :class:`RTCRtpSender` accepts an already-encoded :class:`av.Packet` from
``track.recv()`` and only packetizes it (``encoder.pack``), so one VP8 encode and one
Opus encode can feed every peer connection.  Each peer connection gets its own
:class:`FanoutTrack`: when a PC closes, aiortc stops the track its sender read, and that
must never be the source.

A keyframe request (PLI / FIR) reaches the sender, which for pre-encoded packets would
ignore it; :func:`route_keyframe_requests` forwards it to the shared encoder, so any one
subscriber's request makes the next frame a keyframe for all of them.

Everything here runs on the event loop's thread except the encodes themselves, which run
on each fan-out's own single worker thread (ended by its :meth:`stop`).
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import fractions
import logging
import multiprocessing
from typing import Any

import av
from aiortc import RTCRtpSender
from aiortc.codecs.opus import SAMPLES_PER_FRAME as OPUS_SAMPLES_PER_FRAME
from aiortc.codecs.opus import TIME_BASE as OPUS_TIME_BASE
from aiortc.codecs.opus import OpusEncoder
from aiortc.codecs.vpx import number_of_threads
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

logger = logging.getLogger(__name__)

DEFAULT_VIDEO_BITRATE = 1_000_000
_QUEUE_MAX = 30  # a second of video; a sender this far behind gets a fresh keyframe


class FanoutTrack(MediaStreamTrack):
    """One peer connection's view of a shared source.  Stopping it detaches it only."""

    def __init__(self, fanout: _Fanout) -> None:
        super().__init__()
        self.kind = fanout.kind
        self._fanout = fanout
        self._items: collections.deque[Any] = collections.deque()
        self._wakeup = asyncio.Event()
        self.delivered = 0

    def _put(self, item: Any) -> None:
        if len(self._items) >= _QUEUE_MAX:
            self._items.clear()
            self._fanout._overflowed(self)
        self._items.append(item)
        self._wakeup.set()

    async def recv(self) -> Any:
        while not self._items:
            if self.readyState != "live":
                raise MediaStreamError
            self._wakeup.clear()
            await self._wakeup.wait()
        self.delivered += 1
        return self._items.popleft()

    def stop(self) -> None:
        if self.readyState == "live":
            super().stop()
            self._fanout._detach(self)
            self._wakeup.set()


class _Fanout:
    """Reads a source track and hands what it makes of each frame to every live proxy."""

    def __init__(self, source: MediaStreamTrack) -> None:
        self.kind = source.kind
        self.source = source
        self.enabled = True
        self._tracks: list[FanoutTrack] = []
        self._task: asyncio.Task[None] | None = None

    @property
    def tracks(self) -> tuple[FanoutTrack, ...]:
        return tuple(self._tracks)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._pump())

    def new_track(self) -> FanoutTrack:
        """A proxy track for one peer connection; call :meth:`start` first."""
        track = FanoutTrack(self)
        self._tracks.append(track)
        self._attached(track)
        return track

    def set_enabled(self, enabled: bool) -> None:
        """While disabled, source frames are read and dropped (a camera must not back up)."""
        self.enabled = enabled

    async def stop(self) -> None:
        """Stop the pump and every proxy; the source itself is stopped too."""
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        for track in list(self._tracks):
            track.stop()
        self.source.stop()

    async def _pump(self) -> None:
        try:
            while True:
                frame = await self.source.recv()
                if not self.enabled or not self._tracks:
                    self._idle()
                    continue
                for item in await self._process(frame):
                    for track in list(self._tracks):
                        track._put(item)
        except MediaStreamError:
            logger.info("%s source ended", self.kind)
        finally:
            for track in list(self._tracks):
                track.stop()

    async def _process(self, frame: Any) -> list[Any]:
        return [frame]

    def _idle(self) -> None:
        pass

    def _attached(self, track: FanoutTrack) -> None:
        pass

    def _overflowed(self, track: FanoutTrack) -> None:
        pass

    def _detach(self, track: FanoutTrack) -> None:
        if track in self._tracks:
            self._tracks.remove(track)


class RawFanout(_Fanout):
    """Shares raw frames; each peer connection's sender encodes them itself."""


class _EncodingFanout(_Fanout):
    """Encodes on its own single worker thread, ended (and waited for) by :meth:`stop`."""

    thread_name = "tether-encode"

    def __init__(self, source: MediaStreamTrack) -> None:
        super().__init__(source)
        self.encodes = 0  # encoder invocations, one per source frame sent
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix=self.thread_name
        )

    async def stop(self) -> None:
        await super().stop()
        # Wait for the worker thread: a clean shutdown leaves no thread behind.
        await asyncio.get_running_loop().run_in_executor(None, self._executor.shutdown, True)

    async def _encoded(self, encode: Any, *args: Any) -> list[av.Packet]:
        loop = asyncio.get_running_loop()
        packets = await loop.run_in_executor(self._executor, encode, *args)
        self.encodes += 1
        return packets


class AudioFanout(_EncodingFanout):
    """Encodes each source frame once (Opus) and shares the packets with every proxy.

    The encoder is aiortc's own (48 kHz stereo, 20 ms, 96 kbit/s, ``voip``), so a
    receiver cannot tell the difference; its payloads become :class:`av.Packet`s that
    every sender packetizes.  Packet times count from the stream's first packet; each
    sender adds its own random RTP timestamp origin.  Subscribers offer Opus only
    (:func:`app.media.rtc.opus_preferences`).
    """

    thread_name = "tether-opus"

    def __init__(self, source: MediaStreamTrack) -> None:
        super().__init__(source)
        self._opus: OpusEncoder | None = None

    async def stop(self) -> None:
        await super().stop()
        self._opus = None

    async def _process(self, frame: av.AudioFrame) -> list[av.Packet]:
        return await self._encoded(self._encode, frame)

    def _encode(self, frame: av.AudioFrame) -> list[av.Packet]:
        if self._opus is None:
            self._opus = OpusEncoder()
        payloads, timestamp = self._opus.encode(frame)
        packets = []
        for i, payload in enumerate(payloads):
            packet = av.Packet(payload)
            packet.pts = timestamp + i * OPUS_SAMPLES_PER_FRAME
            packet.time_base = OPUS_TIME_BASE
            packets.append(packet)
        return packets


class VideoFanout(_EncodingFanout):
    """Encodes each source frame once (VP8) and shares the packets with every proxy."""

    thread_name = "tether-vp8"

    def __init__(self, source: MediaStreamTrack, *, bitrate: int = DEFAULT_VIDEO_BITRATE) -> None:
        super().__init__(source)
        self.bitrate = bitrate
        self.keyframes = 0
        self._force_keyframe = True
        self._codec: Any = None
        self._size: tuple[int, int] | None = None

    def request_keyframe(self) -> None:
        """Make the next encoded frame a keyframe (any subscriber may ask)."""
        self._force_keyframe = True

    def set_enabled(self, enabled: bool) -> None:
        if enabled and not self.enabled:
            self._force_keyframe = True  # receivers have nothing to predict from
        super().set_enabled(enabled)

    async def stop(self) -> None:
        await super().stop()
        self._codec = None

    def _idle(self) -> None:
        # Nobody watched this frame: whoever comes next needs a keyframe to start from.
        self._force_keyframe = True

    def _attached(self, track: FanoutTrack) -> None:
        self._force_keyframe = True

    def _overflowed(self, track: FanoutTrack) -> None:
        self._force_keyframe = True

    async def _process(self, frame: av.VideoFrame) -> list[av.Packet]:
        keyframe = self._force_keyframe
        self._force_keyframe = False
        packets = await self._encoded(self._encode, frame, keyframe)
        if keyframe:
            self.keyframes += 1
        return packets

    def _encode(self, frame: av.VideoFrame, keyframe: bool) -> list[av.Packet]:
        if frame.format.name != "yuv420p":
            frame = frame.reformat(format="yuv420p")
        if self._codec is None or self._size != (frame.width, frame.height):
            self._codec = _vp8_encoder(frame.width, frame.height, self.bitrate)
            self._size = (frame.width, frame.height)
        frame.pict_type = (
            av.video.frame.PictureType.I if keyframe else av.video.frame.PictureType.NONE
        )
        packets = self._codec.encode(frame)
        for packet in packets:
            # The sender converts pts with the packet's own time base.
            packet.pts = frame.pts
            packet.time_base = frame.time_base
        return packets


def _vp8_encoder(width: int, height: int, bitrate: int) -> Any:
    # The settings aiortc's own Vp8Encoder uses for real-time calls.
    codec = av.CodecContext.create("libvpx", "w")
    codec.width = width
    codec.height = height
    codec.bit_rate = bitrate
    codec.pix_fmt = "yuv420p"
    codec.time_base = fractions.Fraction(1, 90000)
    codec.gop_size = 3000
    codec.qmin = 2
    codec.qmax = 56
    codec.options = {
        "bufsize": str(bitrate),
        "cpu-used": "-6",
        "deadline": "realtime",
        "lag-in-frames": "0",
        "minrate": str(bitrate),
        "maxrate": str(bitrate),
        "noise-sensitivity": "4",
        "overshoot-pct": "15",
        "partitions": "0",
        "static-thresh": "1",
        "undershoot-pct": "100",
    }
    # aiortc's rule: one thread up to 640x480.  More threads cost more CPU than they save
    # at this size (measured: 2 threads ~6 ms/frame of CPU vs ~1 ms with one).
    codec.thread_count = number_of_threads(width * height, multiprocessing.cpu_count())
    return codec


def route_keyframe_requests(sender: RTCRtpSender, fanout: VideoFanout) -> None:
    """Send this sender's PLI / FIR on to the shared encoder.

    aiortc handles PLI / FIR by setting a flag for its own encoder, which pre-encoded
    packets bypass; wrapping the instance's ``_send_keyframe`` is the one hook it offers.
    """
    original = sender._send_keyframe

    def send_keyframe() -> None:
        original()
        fanout.request_keyframe()

    sender._send_keyframe = send_keyframe  # type: ignore[method-assign]
