"""Playback of everyone's audio, mixed, through QtMultimedia's ``QAudioSink``.

:class:`AudioMixer` is plain Python: each stream's decoded frames are resampled to
s16 stereo 48 kHz into a short per-stream buffer, and :meth:`AudioMixer.mix` sums
what every stream has, clipped to 16 bits.  :class:`AudioPlayback` feeds the mix to
the default output every 20 ms from a Qt timer.  Without an output device (or
without QtMultimedia) it says so once through :attr:`AudioPlayback.notice` and then
drops the audio; the call goes on.  Everything runs on the UI thread (which under
qasync is the loop's thread, where subscribers deliver audio frames).
"""

from __future__ import annotations

import logging
from array import array
from typing import Any

import av
from PySide6.QtCore import QObject, QTimer, Signal

logger = logging.getLogger(__name__)

RATE = 48000
CHANNELS = 2
BYTES_PER_FRAME = 2 * CHANNELS  # s16 interleaved
MAX_BUFFERED = RATE * BYTES_PER_FRAME // 5  # 200 ms per stream; older audio is dropped
TICK_MS = 20


class AudioMixer:
    def __init__(self) -> None:
        self._buffers: dict[str, bytearray] = {}
        self._resamplers: dict[str, Any] = {}
        self.overflows = 0

    def push(self, key: str, frame: av.AudioFrame) -> None:
        """Add one decoded frame of stream ``key``."""
        resampler = self._resamplers.get(key)
        if resampler is None:
            resampler = av.AudioResampler(format="s16", layout="stereo", rate=RATE)
            self._resamplers[key] = resampler
        buffer = self._buffers.setdefault(key, bytearray())
        for out in resampler.resample(frame):
            buffer += bytes(out.planes[0])[: out.samples * BYTES_PER_FRAME]
        if len(buffer) > MAX_BUFFERED:  # the output fell behind: keep the newest audio
            del buffer[: len(buffer) - MAX_BUFFERED]
            self.overflows += 1

    def forget(self, key: str) -> None:
        self._buffers.pop(key, None)
        self._resamplers.pop(key, None)

    def clear(self) -> None:
        self._buffers.clear()
        self._resamplers.clear()

    def available(self) -> int:
        """Bytes :meth:`mix` can give: what the fullest stream holds."""
        return max((len(b) for b in self._buffers.values()), default=0)

    def mix(self, nbytes: int) -> bytes:
        """Up to ``nbytes`` (whole sample frames) of every stream summed; silence-padded."""
        nbytes = min(nbytes, self.available())
        nbytes -= nbytes % BYTES_PER_FRAME
        if nbytes <= 0:
            return b""
        total: array | None = None
        for buffer in self._buffers.values():
            if not buffer:
                continue
            chunk = bytes(buffer[:nbytes])
            del buffer[:nbytes]
            samples = array("h", chunk)
            if len(chunk) < nbytes:
                samples.extend([0] * ((nbytes - len(chunk)) // 2))
            if total is None:
                total = samples
            else:
                pairs = zip(total, samples, strict=True)
                total = array("h", [max(-32768, min(32767, a + b)) for a, b in pairs])
        return total.tobytes() if total is not None else b""


class AudioPlayback(QObject):
    """Plays the mixer's output on the default device, or says once that it cannot."""

    notice = Signal(str)  # a sentence for the person, emitted at most once

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.mixer = AudioMixer()
        self._sink: Any = None
        self._device: Any = None
        self._timer = QTimer(self)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._feed)
        self._opened = False
        self.unavailable = ""  # why nothing is played, once known

    def push(self, key: str, frame: av.AudioFrame) -> None:
        """Queue ``frame`` of stream ``key`` for playback (loop / UI thread)."""
        if not self._opened:
            self._open()
        if self.unavailable:
            return
        self.mixer.push(key, frame)

    def forget(self, key: str) -> None:
        self.mixer.forget(key)

    def stop(self) -> None:
        """Close the output (at the end of a call); the next call's audio opens it again.

        Once known to be missing, the device is not looked for again: said once."""
        self._timer.stop()
        if self._sink is not None:
            self._sink.stop()
            self._sink = None
            self._device = None
        self.mixer.clear()
        if not self.unavailable:
            self._opened = False

    def _open(self) -> None:
        self._opened = True
        try:
            from PySide6.QtMultimedia import QAudioFormat, QAudioSink, QMediaDevices
        except ImportError as exc:
            self._give_up(f"Audio from others is not played: QtMultimedia is missing ({exc}).")
            return
        output = QMediaDevices.defaultAudioOutput()
        if output.isNull():
            self._give_up("No sound output device: audio from others is not played.")
            return
        fmt = QAudioFormat()
        fmt.setSampleRate(RATE)
        fmt.setChannelCount(CHANNELS)
        fmt.setSampleFormat(QAudioFormat.SampleFormat.Int16)
        sink = QAudioSink(output, fmt, self)
        device = sink.start()
        if device is None:
            self._give_up(f"Cannot open {output.description()}: audio from others is not played.")
            return
        self._sink, self._device = sink, device
        self._timer.start()

    def _give_up(self, text: str) -> None:
        self.unavailable = text
        logger.info("%s", text)
        self.notice.emit(text)

    def _feed(self) -> None:
        sink, device = self._sink, self._device
        if sink is None or device is None:
            return
        data = self.mixer.mix(sink.bytesFree())
        if data:
            device.write(data)
