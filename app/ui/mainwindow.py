"""The call window: status banner over the tile grid, chat at the side, menus and shortcuts."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QAction, QActionGroup, QImage, QKeySequence
from PySide6.QtWidgets import QLabel, QMainWindow, QSplitter, QVBoxLayout, QWidget

from app.ui import sources as src
from app.ui.banner import StatusBanner
from app.ui.bridge import SessionBridge
from app.ui.call import CallController
from app.ui.chat import ChatPanel
from app.ui.grid import TileGrid
from app.ui.media import SELF_KEY
from app.ui.resources import icon
from app.ui.state import TileOverlay
from app.ui.tile import VideoTile

VIDEO_CHOICES = ((src.TEST_PATTERN, "&Test pattern"), (src.CAMERA, "&Camera (v4l2)"))
AUDIO_CHOICES = ((src.TONE, "T&one"), (src.MICROPHONE, "&Microphone (ALSA)"))
DROP_CHOICES = (5, 15, 45)  # seconds; 45 outlasts the default 30 s reconnection window
_TITLE_STATE = {
    "connecting": "joining…",
    "connected": "in call",
    "reconnecting": "reconnecting…",
    "disconnecting": "leaving…",
    "disconnected": "disconnected",
    "not_connected": "not connected",
}


class MainWindow(QMainWindow):
    """Widgets and wiring only; the call's logic is in :class:`CallController`."""

    mic_toggled = Signal(bool)  # True = muted
    camera_toggled = Signal(bool)  # True = camera off

    def __init__(
        self,
        bridge: SessionBridge,
        controller: CallController,
        *,
        display_name: str = "",
        banner: StatusBanner | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.controller = controller
        self.setWindowIcon(icon("tether"))
        self.setMinimumSize(640, 400)
        self.resize(1100, 680)

        self.banner = banner or StatusBanner()
        self.grid = TileGrid()
        self.chat = ChatPanel()
        self._self_overlay = TileOverlay(
            name=f"{display_name or 'You'} (you)", camera_off=not controller.has_media
        )
        self.grid.add_tile(SELF_KEY, VideoTile(self._self_overlay))
        for stream_id, overlay in bridge.tiles():  # streams already there when we joined
            self.grid.add_tile(stream_id, VideoTile(overlay))

        left = QWidget()
        column = QVBoxLayout(left)
        column.setContentsMargins(6, 6, 6, 6)
        column.addWidget(self.banner)
        column.addWidget(self.grid, 1)
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(left)
        splitter.addWidget(self.chat)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        self.setCentralWidget(splitter)
        self.notice = QLabel()  # one-time notes: no sound device, no camera …
        self.notice.setObjectName("notice")
        self.notice.setAccessibleName("Notes")
        self.notice.setTextFormat(Qt.TextFormat.PlainText)
        self.notice.setWordWrap(True)
        self.statusBar().addWidget(self.notice, 1)
        self._notices: list[str] = []

        self._make_actions()
        self._connect_signals()
        self._set_title(bridge.state or "not_connected")
        self._update_actions()

    # --- actions -----------------------------------------------------------------------------

    def _make_actions(self) -> None:
        call = self.menuBar().addMenu("&Call")
        self.mute_action = QAction("&Mute microphone", self, checkable=True)
        self.mute_action.setShortcut(QKeySequence("Ctrl+D"))
        self.camera_action = QAction("&Camera", self, checkable=True)  # checked = on
        self.camera_action.setShortcut(QKeySequence("Ctrl+E"))
        self.camera_action.setChecked(self.controller.has_media)
        self.leave_action = QAction("&Leave call", self)
        self.leave_action.setShortcut(QKeySequence("Ctrl+W"))
        for action in (self.mute_action, self.camera_action, self.leave_action):
            call.addAction(action)

        network = self.menuBar().addMenu("&Network")
        self.drop_actions: dict[int, QAction] = {}
        for seconds in DROP_CHOICES:
            action = QAction(f"Simulate connection drop ({seconds} s)", self)
            action.setData(seconds)
            network.addAction(action)
            self.drop_actions[seconds] = action
        self.drop_actions[DROP_CHOICES[0]].setShortcut(QKeySequence("Ctrl+Shift+D"))

        devices = self.menuBar().addMenu("&Devices")
        self.device_actions: dict[str, QAction] = {}
        for title, choices in (("Video", VIDEO_CHOICES), ("Audio", AUDIO_CHOICES)):
            devices.addSection(title)
            group = QActionGroup(self)
            for choice, text in choices:
                action = QAction(text, self, checkable=True)
                action.setData(choice)
                group.addAction(action)
                devices.addAction(action)
                self.device_actions[choice] = action
        self._show_devices(self.controller.media.video_choice, self.controller.media.audio_choice)

    def _connect_signals(self) -> None:
        bridge, controller = self.bridge, self.controller
        # Session state -> banner and title.
        bridge.banner_changed.connect(self.banner.set_info)
        bridge.state_changed.connect(self._set_title)
        bridge.state_changed.connect(self._update_actions)
        # Subscribers -> tiles.
        bridge.tile_added.connect(self._add_tile)
        bridge.tile_changed.connect(self._change_tile)
        bridge.tile_removed.connect(self.grid.remove_tile)
        bridge.frame_ready.connect(self._show_frame)
        # Chat, both ways.
        bridge.chat_received.connect(self.chat.show_entry)
        controller.chat_entry.connect(self.chat.show_entry)
        self.chat.send_requested.connect(controller.send_chat)
        # Banner buttons.
        self.banner.retry_requested.connect(controller.retry_now)
        self.banner.rejoin_requested.connect(controller.request_rejoin)
        # Menus.
        self.leave_action.triggered.connect(controller.request_leave)
        self.mute_action.toggled.connect(self._on_mute)
        self.mic_toggled.connect(controller.set_mic_muted)
        self.camera_action.toggled.connect(self._on_camera)
        self.camera_toggled.connect(controller.set_camera_off)
        # Devices and media notes.
        media = controller.media
        for choice, action in self.device_actions.items():
            pick = media.choose_video if choice in dict(VIDEO_CHOICES) else media.choose_audio
            action.triggered.connect(lambda _=False, c=choice, p=pick: p(c))
        media.devices_changed.connect(self._show_devices)
        media.notice.connect(self.show_notice)
        for seconds, action in self.drop_actions.items():
            action.triggered.connect(lambda _=False, s=seconds: controller.simulate_drop(s))

    # --- slots -------------------------------------------------------------------------------

    @Slot(str)
    def _set_title(self, state: str) -> None:
        self.setWindowTitle(f"Tether — {_TITLE_STATE.get(state, state.replace('_', ' '))}")

    @Slot()
    def _update_actions(self) -> None:
        can_drop = self.controller.can_simulate_drop and self.bridge.state == "connected"
        for action in self.drop_actions.values():
            action.setEnabled(can_drop)
        self.camera_action.setEnabled(self.controller.has_media)
        if not self.controller.has_media:
            self.camera_action.setToolTip("This call carries no video")

    @Slot(str, str)
    def _show_devices(self, video: str, audio: str) -> None:
        for choice in (video, audio):
            if choice in self.device_actions:
                self.device_actions[choice].setChecked(True)

    @Slot(str)
    def show_notice(self, text: str) -> None:
        """Add a note for the person to the status bar (each said once)."""
        if text in self._notices:
            return
        self._notices.append(text)
        self.notice.setText("  ·  ".join(self._notices))

    @Slot(str, object)
    def _add_tile(self, stream_id: str, overlay: TileOverlay) -> None:
        self.grid.add_tile(stream_id, VideoTile(overlay))

    @Slot(str, object)
    def _change_tile(self, stream_id: str, overlay: TileOverlay) -> None:
        tile = self.grid.tile(stream_id)
        if tile is not None:
            tile.set_overlay(overlay)

    @Slot(str, QImage)
    def _show_frame(self, key: str, image: QImage) -> None:
        tile = self.grid.tile(key)
        if tile is not None:
            tile.set_frame(image)

    @Slot(bool)
    def _on_mute(self, muted: bool) -> None:
        self.mute_action.setText("Un&mute microphone" if muted else "&Mute microphone")
        self._update_self(mic_muted=muted)
        self.mic_toggled.emit(muted)

    @Slot(bool)
    def _on_camera(self, on: bool) -> None:
        self._update_self(camera_off=not on)
        self.camera_toggled.emit(not on)

    def _update_self(self, **changes: bool) -> None:
        from dataclasses import replace

        self._self_overlay = replace(self._self_overlay, **changes)
        tile = self.grid.tile(SELF_KEY)
        if tile is not None:
            tile.set_overlay(self._self_overlay)

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt name)
        self.controller.request_leave()
        super().closeEvent(event)
