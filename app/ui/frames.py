"""Turn decoded video frames into ``QImage`` s off the UI thread, newest frame wins.

A frame is anything with av's ``VideoFrame`` shape (``width``, ``height``,
``reformat(format=…)`` and ``planes``) or a ``QImage``.  Conversion runs in a
small worker pool; per stream at most one conversion is in flight and only the
newest waiting frame is kept, so a slow UI drops frames instead of queueing
them.  Results come back through :attr:`FrameConverter.frame_ready`, a Qt
signal, so they land on the UI thread.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from app.media import barcode

logger = logging.getLogger(__name__)


def frame_to_qimage(frame: Any) -> QImage:
    """Convert one frame to an RGB ``QImage`` that owns its pixels.  Thread-safe."""
    if isinstance(frame, QImage):
        return frame.copy()
    rgb = frame
    if getattr(frame.format, "name", None) != "rgb24":
        rgb = frame.reformat(format="rgb24")
    plane = rgb.planes[0]
    data = bytes(plane)
    image = QImage(data, rgb.width, rgb.height, plane.line_size, QImage.Format.Format_RGB888)
    return image.copy()  # detach from `data`, which Python may free


def stamp_of(image: QImage | None) -> barcode.Stamp | None:
    """The frame code of a converted test-pattern frame (counter, capture time), or None.

    The code band is black / white in luma over constant chroma; green follows luma
    closely enough to threshold, so it stands in for the Y plane.
    """
    if image is None or image.isNull():
        return None
    rgb = image.convertToFormat(QImage.Format.Format_RGB888)
    width, height, stride = rgb.width(), rgb.height(), rgb.bytesPerLine()
    data = bytes(rgb.constBits())[: stride * height]
    luma = bytearray(width * height)
    for y in range(barcode.band_height(width)):
        row = data[y * stride : y * stride + 3 * width]
        luma[y * width : (y + 1) * width] = row[1::3]
    return barcode.read(bytes(luma), width, width)


class FrameConverter(QObject):
    frame_ready = Signal(str, QImage)  # key (stream id or "self"), image

    def __init__(self, parent: QObject | None = None, *, executor: Executor | None = None) -> None:
        super().__init__(parent)
        self._own_executor = executor is None
        self._executor = executor or ThreadPoolExecutor(2, thread_name_prefix="frames")
        self._lock = threading.Lock()
        self._busy: set[str] = set()
        self._waiting: dict[str, Any] = {}
        self.dropped = 0

    def submit(self, key: str, frame: Any) -> None:
        """Queue ``frame`` for ``key``; callable from any thread."""
        with self._lock:
            if key in self._busy:
                if key in self._waiting:
                    self.dropped += 1
                self._waiting[key] = frame
                return
            self._busy.add(key)
        self._executor.submit(self._convert, key, frame)

    def forget(self, key: str) -> None:
        with self._lock:
            self._waiting.pop(key, None)

    def _convert(self, key: str, frame: Any) -> None:
        while True:
            try:
                image = frame_to_qimage(frame)
            except Exception:
                logger.exception("cannot convert a frame for %s", key)
            else:
                self.frame_ready.emit(key, image)
            with self._lock:
                frame = self._waiting.pop(key, None)
                if frame is None:
                    self._busy.discard(key)
                    return

    def shutdown(self) -> None:
        if self._own_executor:
            self._executor.shutdown(wait=True, cancel_futures=True)
