"""The real app against a real embedded server, real Sessions and real drops.

Drops are simulated by the sessions themselves (``Session.simulate_drop``:
silence without a close, so only heartbeats notice) together with their media.
The remote participant is an in-process bot publishing the test pattern and tone.
"""

import asyncio
import json
import time

import pytest
from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtWidgets import QLabel, QPushButton

from app.client import session as session_mod  # noqa: E402
from app.client.mediabot import MediaBot  # noqa: E402
from app.core.tokens import make_token, new_session_id  # noqa: E402
from app.server import runner  # noqa: E402
from app.ui.launcher import Launcher  # noqa: E402
from app.ui.settings import Settings  # noqa: E402
from tests.ui.media_helpers import stamp_of, until  # noqa: E402

pytestmark = pytest.mark.timeout(90)


class Recorder:
    """A callbacks object that records every callback in order."""

    def __init__(self) -> None:
        self.events: list[tuple] = []

    def __getattr__(self, name):
        if not name.startswith("on_"):
            raise AttributeError(name)
        return lambda *args: self.events.append((name, *args))

    def names(self):
        return [e[0] for e in self.events]


@pytest.fixture
def launcher(qtbot, tmp_path, styled):
    settings = Settings(QSettings(str(tmp_path / "t.ini"), QSettings.Format.IniFormat))
    launcher = Launcher(settings=settings)
    qtbot.addWidget(launcher.dialog)
    yield launcher


def banner_text(window):
    return window.banner.findChild(QLabel, "bannerText").text()


def banner_button(window, text):
    return next(b for b in window.banner.findChildren(QPushButton) if b.text() == text)


def tile_stream_id(window):
    return window.grid.keys()[1]


async def join_window(launcher, server, session_id, name="Ada"):
    token = server.make_token(session_id, data=json.dumps({"name": name}))
    launcher.start(server=server.url, token=token, name=name)
    await until(lambda: launcher.window is not None and launcher.window.isVisible(), what="join")
    return launcher.window


async def start_bot(server, session_id, recorder):
    token = server.make_token(session_id, data=json.dumps({"name": "Bot"}))
    return await MediaBot(server.url, token, "Bot", recorder).start()


def test_drop_reconnect_chat_and_bot_overlay(qtbot, qloop, launcher):
    async def scenario():
        async with runner.TetherServer(heartbeat_timeout=2.0) as server:
            sid = new_session_id()
            window = await join_window(launcher, server, sid)
            qtbot.addWidget(window)
            assert window.windowTitle() == "Tether — in call"
            assert not window.banner.isVisible()

            bot_events = Recorder()
            bot = await start_bot(server, sid, bot_events)
            await until(lambda: len(window.grid) == 2, what="bot tile")
            stream_id = window.grid.keys()[1]
            tile = window.grid.tile(stream_id)
            assert tile.findChild(QLabel, "tileName").text() == "Bot"
            await until(lambda: stamp_of(tile.frame) is not None, what="the bot's video")

            # Mic state crosses both ways: our mute reaches the bot, the bot's our tile.
            await until(lambda: "on_stream_received" in bot_events.names(), what="our stream")
            window.mute_action.trigger()
            await until(
                lambda: any(
                    e[0] == "on_stream_updated" and not e[1].has_audio for e in bot_events.events
                ),
                what="mute reaches the bot",
            )
            await bot.media.set_audio_enabled(bot.publisher, False)
            await until(lambda: tile.findChild(QLabel, "tileMicMuted").isVisible(), what="mark")

            # This client's link goes silent for 6 s.
            assert launcher.controller.simulate_drop(6)
            cut_at = time.monotonic()
            await until(lambda: window.banner.property("state") == "reconnecting", what="banner")
            detected = time.monotonic() - cut_at
            assert banner_text(window) == "Connection lost — reconnecting…"
            assert window.windowTitle() == "Tether — reconnecting…"

            queued = launcher.controller.send_chat("sent while away", False)
            strict = launcher.controller.send_chat("only while connected", True)
            await until(lambda: window.chat.row(strict.id).status.text().startswith("failed"))
            assert window.chat.row(queued.id).status.text() == "queued"
            detail = window.banner.findChild(QLabel, "bannerDetail").text()
            assert "1 message waiting to send" in detail, detail

            await until(lambda: banner_text(window) == "Reconnected", timeout=20, what="resume")
            await until(lambda: window.chat.row(queued.id).status.text() == "sent")
            await until(
                lambda: (
                    ("on_signal_received", "chat", "sent while away")
                    in [e[:3] for e in bot_events.events]
                )
            )
            chats = [e for e in bot_events.events if e[0] == "on_signal_received"]
            assert [e[2] for e in chats] == ["sent while away"]  # once; the strict one never

            # Video from the bot comes back after our drop.
            before = stamp_of(tile.frame).counter
            await until(
                lambda: (
                    tile.property("reconnecting") is False
                    and getattr(stamp_of(tile.frame), "counter", before) > before + 5
                ),
                what="the bot's video after our drop",
            )

            # The bot's link goes silent: its tile shows the overlay, then clears.
            bot.drop(5)
            await until(lambda: tile.property("reconnecting") is True, what="overlay on")
            assert tile.findChild(QLabel, "tileOverlay").text() == "Bot is reconnecting…"
            await until(
                lambda: tile.property("reconnecting") is False, timeout=20, what="overlay off"
            )
            print(f"drop detected after {detected:.2f} s")

            await bot.close()
            await until(lambda: len(window.grid) == 1, what="bot tile removed")
            await launcher.shutdown(0)

    qloop.run_until_complete(scenario())


def test_window_passes_then_rejoin(qtbot, qloop, launcher):
    async def scenario():
        async with runner.TetherServer(reconnection_window=3.0, heartbeat_timeout=2.0) as server:
            sid = new_session_id()
            window = await join_window(launcher, server, sid)
            qtbot.addWidget(window)
            assert launcher.controller.simulate_drop(12)
            await until(lambda: window.banner.property("state") == "reconnecting")
            await until(lambda: window.banner.property("state") == "disconnected", timeout=20)
            assert banner_text(window).startswith("Disconnected: ")
            assert banner_text(window) != "Disconnected: "
            rejoin = banner_button(window, "Re&join")
            assert rejoin.isVisible()
            qtbot.mouseClick(rejoin, Qt.MouseButton.LeftButton)
            await until(lambda: window.windowTitle() == "Tether — in call", what="rejoined")
            assert not window.banner.isVisible()
            await launcher.shutdown(0)

    qloop.run_until_complete(scenario())


def test_bad_token_and_unreachable_server_inline(qtbot, qloop, launcher):
    async def scenario():
        async with runner.TetherServer() as server:
            forged = make_token(
                "another-secret-of-sufficient-length!", new_session_id(), now=time.time()
            )
            launcher.start(server=server.url, token=forged)
            await until(lambda: launcher.dialog.error.isVisible(), what="token error")
            assert "not valid" in launcher.dialog.error.text()
            assert launcher.window is None
            port = server.port
        launcher.dialog.token.setText(forged)
        launcher.dialog.server.setText(f"ws://127.0.0.1:{port}")
        launcher.dialog.error.hide()
        launcher.dialog.join_button.click()
        await until(lambda: launcher.dialog.error.isVisible(), timeout=20, what="server error")
        assert "Cannot reach the server" in launcher.dialog.error.text()
        await launcher.shutdown(0)

    qloop.run_until_complete(scenario())


def test_one_second_ui_stall_is_not_a_reconnection(qtbot, qloop, launcher):
    async def scenario():
        async with runner.TetherServer() as server:
            window = await join_window(launcher, server, new_session_id())
            qtbot.addWidget(window)
            seen = []
            launcher.bridge.reconnection_started.connect(lambda: seen.append("reconnecting"))
            QTimer.singleShot(0, lambda: time.sleep(1.0))  # the UI thread is busy for 1 s
            await asyncio.sleep(4.0)  # longer than the client's 3 s silence timeout
            assert seen == []
            assert window.banner.property("state") == "hidden"
            assert launcher.bridge.state == "connected"
            await launcher.shutdown(0)

    qloop.run_until_complete(scenario())


def test_local_test_call_and_a_guest_joins_with_the_invite(qtbot, qloop, launcher):
    from app.ui.invite import parse_invite

    async def scenario():
        launcher.start()
        launcher.dialog.name.setText("Ada")
        launcher.dialog.local_button.click()
        await until(lambda: launcher.local_dialog is not None, what="local call")
        window = launcher.window
        qtbot.addWidget(window)
        invite = parse_invite(launcher.local_dialog.invite.text())
        assert invite is not None and invite.server == launcher.local_server.url
        assert "tether bot --server" in launcher.local_dialog.command.text()

        guest_events = Recorder()
        guest = session_mod.Session(invite.server, invite.token, guest_events)
        await guest.connect()
        await guest.publish_stream("Guest", True, False)
        await until(lambda: len(window.grid) == 2, what="guest tile")
        tile = window.grid.tile(window.grid.keys()[1])
        assert tile.findChild(QLabel, "tileName").text() == "Guest"
        assert tile.findChild(QLabel, "tilePlaceholder").text() == "G"  # no video
        streams = [e[1] for e in guest_events.events if e[0] == "on_stream_received"]
        assert [s.name for s in streams] == ["Ada"]
        await guest.disconnect()
        server = launcher.local_server
        await launcher.shutdown(0)
        assert launcher.local_server is None and server is not None

    qloop.run_until_complete(scenario())
