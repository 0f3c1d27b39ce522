"""The status banner: reconnecting / reconnected / disconnected, above the tiles."""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.ui.a11y import announce, repolish
from app.ui.state import BannerInfo, BannerState

HIDE_AFTER_MS = 4000


class StatusBanner(QFrame):
    """Shows a :class:`BannerInfo`; passive apart from its two buttons.

    ``hide_timer`` is any object with ``start(ms)``, ``stop()`` and a
    ``timeout`` signal (a single-shot ``QTimer`` by default), so tests can fire
    the "Reconnected" auto-hide by hand.
    """

    retry_requested = Signal()
    rejoin_requested = Signal()

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        hide_timer: QObject | None = None,
        hide_after_ms: int = HIDE_AFTER_MS,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        self.setAccessibleName("Connection status")
        self._info = BannerInfo()
        self._hide_after_ms = hide_after_ms
        if hide_timer is None:
            hide_timer = QTimer(self)
            hide_timer.setSingleShot(True)
        self._hide_timer = hide_timer

        self._text = QLabel(self)
        self._text.setObjectName("bannerText")
        self._text.setTextFormat(Qt.TextFormat.PlainText)
        self._detail = QLabel(self)
        self._detail.setObjectName("bannerDetail")
        self._detail.setTextFormat(Qt.TextFormat.PlainText)
        self._retry = QPushButton("&Retry now", self)
        self._retry.setAccessibleName("Retry connecting now")
        self._rejoin = QPushButton("Re&join", self)
        self._rejoin.setAccessibleName("Rejoin the call")

        texts = QVBoxLayout()
        texts.setContentsMargins(0, 0, 0, 0)
        texts.addWidget(self._text)
        texts.addWidget(self._detail)
        row = QHBoxLayout(self)
        row.setContentsMargins(8, 4, 8, 4)
        row.addLayout(texts, 1)
        row.addWidget(self._retry)
        row.addWidget(self._rejoin)

        self._connect_signals()
        self._apply(self._info)

    def _connect_signals(self) -> None:
        self._retry.clicked.connect(self.retry_requested)
        self._rejoin.clicked.connect(self.rejoin_requested)
        self._hide_timer.timeout.connect(self._on_hide_timeout)

    @property
    def info(self) -> BannerInfo:
        return self._info

    @Slot(object)
    def set_info(self, info: BannerInfo) -> None:
        """Show ``info``; a change of state is announced, a ticking countdown is not."""
        if info == self._info:
            return
        state_changed = info.state is not self._info.state
        self._info = info
        self._apply(info)
        if state_changed:
            announce(self, info.announcement, assertive=info.state is BannerState.DISCONNECTED)
        self._hide_timer.stop()
        if info.state is BannerState.RECONNECTED:
            self._hide_timer.start(self._hide_after_ms)

    def _apply(self, info: BannerInfo) -> None:
        self.setProperty("state", info.state.value)
        self._text.setText(info.text)
        self._detail.setText(info.detail)
        self._detail.setVisible(bool(info.detail))
        self._retry.setVisible(info.state is BannerState.RECONNECTING)
        self._rejoin.setVisible(info.state is BannerState.DISCONNECTED)
        self.setVisible(info.state is not BannerState.HIDDEN)
        repolish(self)

    @Slot()
    def _on_hide_timeout(self) -> None:
        if self._info.state is BannerState.RECONNECTED:
            self._info = BannerInfo()
            self._apply(self._info)
            announce(self, "")
