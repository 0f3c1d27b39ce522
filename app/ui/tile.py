"""One participant's video: frame, name, mic-muted mark, camera-off and reconnecting overlays."""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt, Slot
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QStyle,
    QStyleOption,
    QWidget,
)

from app.ui.a11y import announce, repolish
from app.ui.resources import icon
from app.ui.state import TileOverlay


class VideoTile(QWidget):
    """Paints the latest frame (a ``QImage`` made off the UI thread) under a :class:`TileOverlay`.

    While ``reconnecting`` the last frame stays, dimmed by the overlay label
    (its colour is in the stylesheet, keyed on the ``reconnecting`` property).
    """

    def __init__(self, overlay: TileOverlay, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setMinimumSize(QSize(160, 90))
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._frame: QImage | None = None
        self._overlay: TileOverlay | None = None

        self._placeholder = QLabel(self)
        self._placeholder.setObjectName("tilePlaceholder")
        self._placeholder.setTextFormat(Qt.TextFormat.PlainText)
        self._placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._dim = QLabel(self)  # covers the frame; dims it and carries the text
        self._dim.setObjectName("tileOverlay")
        self._dim.setTextFormat(Qt.TextFormat.PlainText)
        self._dim.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._dim.setWordWrap(True)
        self._dim.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self._name = QLabel(self)
        self._name.setObjectName("tileName")
        self._name.setTextFormat(Qt.TextFormat.PlainText)
        self._mic = QLabel(self)
        self._mic.setObjectName("tileMicMuted")
        self._mic.setPixmap(icon("mic-off").pixmap(16, 16))
        self._mic.setAccessibleName("Microphone muted")
        self._mic.setToolTip("Microphone muted")

        bottom = QHBoxLayout()
        bottom.setContentsMargins(6, 0, 6, 6)
        bottom.addWidget(self._name)
        bottom.addWidget(self._mic)
        bottom.addStretch(1)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(0)
        grid.addWidget(self._placeholder, 0, 0, Qt.AlignmentFlag.AlignCenter)
        grid.addWidget(self._dim, 0, 0, 2, 1)
        grid.addLayout(bottom, 1, 0)
        grid.setRowStretch(0, 1)
        self._dim.raise_()
        self._name.raise_()
        self._mic.raise_()
        self.set_overlay(overlay)

    # --- slots ---------------------------------------------------------------------------

    @property
    def overlay(self) -> TileOverlay:
        assert self._overlay is not None
        return self._overlay

    @property
    def frame(self) -> QImage | None:
        return self._frame

    @Slot(object)
    def set_overlay(self, overlay: TileOverlay) -> None:
        if overlay == self._overlay:
            return
        was_reconnecting = self._overlay is not None and self._overlay.reconnecting
        self._overlay = overlay
        self._name.setText(overlay.name)
        self._mic.setVisible(overlay.mic_muted)
        self._placeholder.setText(overlay.initials)
        self._placeholder.setVisible(overlay.camera_off)
        self._dim.setText(overlay.reconnecting_text)
        self.setProperty("reconnecting", overlay.reconnecting)
        self.setProperty("cameraOff", overlay.camera_off)
        self.setAccessibleName(f"Video of {overlay.name}")
        if overlay.reconnecting != was_reconnecting:
            announce(self, overlay.reconnecting_text)
        repolish(self)

    @Slot(QImage)
    def set_frame(self, image: QImage) -> None:
        """Keep ``image`` (already converted off the UI thread) and repaint."""
        self._frame = image
        self.update()

    def clear_frame(self) -> None:
        self._frame = None
        self.update()

    # --- painting ------------------------------------------------------------------------

    def frame_rect(self) -> QRect:
        """Where the frame is drawn: aspect-fit and centred."""
        if self._frame is None or self._frame.isNull():
            return QRect()
        size = self._frame.size().scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio)
        x = (self.width() - size.width()) // 2
        y = (self.height() - size.height()) // 2
        return QRect(x, y, size.width(), size.height())

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt name)
        painter = QPainter(self)
        option = QStyleOption()
        option.initFrom(self)
        self.style().drawPrimitive(QStyle.PrimitiveElement.PE_Widget, option, painter, self)
        overlay = self._overlay
        if self._frame is not None and overlay is not None and not overlay.camera_off:
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.drawImage(self.frame_rect(), self._frame)
        painter.end()
