"""The real MainWindow + bridge + controller driven by a recording fake Session.

The fake plays the network; every assertion reads the real widgets.
"""

import asyncio

import msgspec
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton

from app.core.errors import ErrorCode, TetherError
from app.core.protocol import ConnectionInfo
from app.ui.banner import StatusBanner
from app.ui.bridge import SessionBridge
from app.ui.call import CallController
from app.ui.join import JoinRequest
from app.ui.mainwindow import SELF_KEY, MainWindow
from tests.ui.fakes import FakeSession


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def call(qtbot, qloop, fake_timer, styled):
    FakeSession.instances.clear()
    clock = Clock()
    bridge = SessionBridge(clock=clock)
    controller = CallController(bridge, session_factory=FakeSession)
    window = MainWindow(
        bridge, controller, display_name="Ada", banner=StatusBanner(hide_timer=fake_timer)
    )
    qtbot.addWidget(window)
    window.show()
    return window, clock


def in_loop(loop):
    """Run the decorated coroutine function on the qasync loop, as the app does."""

    def decorate(fn):
        return loop.run_until_complete(fn())

    return decorate


async def settle():
    """Let finished futures' callbacks (chat results, spawned tasks) run."""
    for _ in range(5):
        await asyncio.sleep(0)


def banner_text(window):
    return (
        window.banner.findChild(QLabel, "bannerText").text(),
        window.banner.findChild(QLabel, "bannerDetail").text(),
    )


def button(window, text):
    return next(b for b in window.banner.findChildren(QPushButton) if b.text() == text)


REQUEST = JoinRequest("ws://127.0.0.1:1", "a.b.c", "Ada")


def test_join_drop_reconnect_and_disconnect_with_rejoin(call, qloop, fake_timer, qtbot):
    window, clock = call

    @in_loop(qloop)
    async def _():
        assert await window.controller.join(REQUEST) is True
        session = FakeSession.instances[0]
        assert window.windowTitle() == "Tether — in call"
        assert not window.banner.isVisible()
        assert window.grid.tile(SELF_KEY).overlay.name == "Ada (you)"

        # A remote participant with a stream gets a tile with their name.
        session.remote_join("c-bot", "Bot", "s-bot")
        assert window.grid.keys() == [SELF_KEY, "s-bot"]
        tile = window.grid.tile("s-bot")
        assert tile.findChild(QLabel, "tileName").text() == "Bot"

        # Connected: a chat line goes queued -> sent.
        entry = window.controller.send_chat("hello", False)
        assert window.chat.row(entry.id).status.text() == "queued"
        await settle()
        assert window.chat.row(entry.id).status.text() == "sent"

        # The link drops.
        session.drop(attempt=1, next_retry_at=102.0)
        assert window.banner.isVisible()
        assert window.windowTitle() == "Tether — reconnecting…"
        assert banner_text(window) == (
            "Connection lost — reconnecting…",
            "Attempt 1 · next try in 2 s",
        )
        clock.now = 101.2
        window.bridge.refresh()  # what the 250 ms tick does
        assert banner_text(window)[1] == "Attempt 1 · next try in 1 s"

        queued = window.controller.send_chat("while away", False)
        strict = window.controller.send_chat("only now", True)
        await settle()
        assert window.chat.row(queued.id).status.text() == "queued"
        assert window.chat.row(strict.id).status.text() == "failed: not connected"
        assert banner_text(window)[1] == "Attempt 1 · next try in 1 s · 1 message waiting to send"

        qtbot.mouseClick(button(window, "&Retry now"), Qt.MouseButton.LeftButton)

        # The bot's subscriber reports its publisher interrupted, then back.
        session.owner_interrupted("s-bot", True)
        assert tile.property("reconnecting") is True
        assert tile.findChild(QLabel, "tileOverlay").text() == "Bot is reconnecting…"
        session.owner_interrupted("s-bot", False)
        assert tile.property("reconnecting") is False

        # Back: "Reconnected", the queued line is sent, the banner hides on its timer.
        session.resume()
        await settle()
        assert banner_text(window)[0] == "Reconnected"
        assert window.chat.row(queued.id).status.text() == "sent"
        fake_timer.fire()
        assert not window.banner.isVisible()

        # A longer outage: the window passes.
        session.drop(attempt=1, next_retry_at=clock.now)
        left_behind = window.controller.send_chat("lost", False)
        session.give_up("network_disconnected")
        await settle()
        assert banner_text(window)[0] == "Disconnected: the network connection was lost"
        assert window.windowTitle() == "Tether — disconnected"
        assert window.chat.row(left_behind.id).status.text() == (
            "failed: the call ended before it was sent"
        )
        rejoin = button(window, "Re&join")
        assert rejoin.isVisible()

        qtbot.mouseClick(rejoin, Qt.MouseButton.LeftButton)
        await settle()
        assert len(FakeSession.instances) == 2
        assert FakeSession.instances[1].calls == [
            ("init", REQUEST.server, REQUEST.token),
            ("connect",),
            ("publish_stream", "Ada", True, False),
        ]
        assert not window.banner.isVisible()
        assert window.windowTitle() == "Tether — in call"
        assert window.grid.keys() == [SELF_KEY]  # the old roster is gone

        assert session.calls == [
            ("init", REQUEST.server, REQUEST.token),
            ("connect",),
            ("publish_stream", "Ada", True, False),
            ("subscribe", "s-bot"),
            ("send_signal", "chat", "hello", None, True),
            ("send_signal", "chat", "while away", None, True),
            ("send_signal", "chat", "only now", None, False),
            ("retry_now",),
            ("send_signal", "chat", "lost", None, True),
            ("disconnect",),
        ]


def test_incoming_chat_plain_and_own_echo_ignored(call, qloop):
    window, _ = call

    @in_loop(qloop)
    async def _():
        await window.controller.join(REQUEST)
        session = FakeSession.instances[0]
        session.remote_join("c-eve", "<b>Eve</b>")
        session.callbacks.on_signal_received("chat", "<script>x</script>", "c-eve")
        session.callbacks.on_signal_received("chat", "my own echo", "me")
        session.callbacks.on_signal_received("other", "ignored", "c-eve")
        entries = window.chat.entries()
        assert [(e.sender, e.text, e.own) for e in entries] == [
            ("<b>Eve</b>", "<script>x</script>", False)
        ]
        row = window.chat.row(entries[0].id)
        assert row.sender.textFormat() == Qt.TextFormat.PlainText


def test_streams_come_and_go(call, qloop):
    window, _ = call

    @in_loop(qloop)
    async def _():
        await window.controller.join(REQUEST)
        session = FakeSession.instances[0]
        s1 = session.remote_join("c1", "One", "s1")
        session.remote_join("c2", "Two", "s2")
        assert window.grid.keys() == [SELF_KEY, "s1", "s2"]
        session.callbacks.on_stream_updated(msgspec.structs.replace(s1, has_video=False))
        assert window.grid.tile("s1").findChild(QLabel, "tilePlaceholder").text() == "O"
        session.callbacks.on_stream_dropped(s1, "unpublished")
        assert window.grid.keys() == [SELF_KEY, "s2"]
        session.callbacks.on_connection_dropped(
            ConnectionInfo("c2", "", 0.0, "publisher"), "network_disconnected"
        )
        assert window.grid.keys() == [SELF_KEY]


def test_join_failure_is_reported_not_raised(call, qloop):
    window, _ = call

    @in_loop(qloop)
    async def _():
        errors = []
        window.controller.join_failed.connect(errors.append)

        def factory(url, token, callbacks):
            return FakeSession(
                url, token, callbacks, connect_error=TetherError(ErrorCode.TOKEN_EXPIRED, "expired")
            )

        window.controller._factory = factory
        assert await window.controller.join(REQUEST) is False
        assert [(e.field, e.code) for e in errors] == [("token", 1007)]
        assert "expired" in errors[0].text


def test_mute_updates_self_tile_and_tells_the_others(call, qloop):
    window, _ = call

    @in_loop(qloop)
    async def _():
        await window.controller.join(REQUEST)
        session = FakeSession.instances[0]
        muted = []
        window.mic_toggled.connect(muted.append)
        window.mute_action.trigger()
        tile = window.grid.tile(SELF_KEY)
        assert tile.findChild(QLabel, "tileMicMuted").isVisible()
        assert window.mute_action.text() == "Un&mute microphone"
        window.mute_action.trigger()
        await settle()
        assert muted == [True, False]
        assert session.calls[-2:] == [
            ("update_stream", "s-me", False, None),
            ("update_stream", "s-me", True, None),
        ]
        assert not window.camera_action.isEnabled()  # this session carries no media
        assert window.banner.accessibleName() == "Connection status"


def test_devices_menu_says_once_when_the_camera_is_absent(call, qloop, monkeypatch):
    from app.ui import sources as src

    def no_camera(**_):
        raise OSError("No such device")

    monkeypatch.setattr(src.sources, "open_camera", no_camera)
    window, _ = call

    @in_loop(qloop)
    async def _():
        assert window.device_actions[src.TEST_PATTERN].isChecked()
        window.device_actions[src.CAMERA].trigger()
        window.device_actions[src.CAMERA].trigger()
        assert window.device_actions[src.TEST_PATTERN].isChecked()  # it stays
        assert not window.device_actions[src.CAMERA].isChecked()
        assert window.notice.text().startswith("No camera (/dev/video0): No such device")
        assert window.notice.text().count("No camera") == 1
