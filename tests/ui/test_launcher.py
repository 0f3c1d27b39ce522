"""Launch to call with the real dialog and window; the session is the recording fake.

The local test call uses a stand-in server that signs real tokens, so the
invite and bot command shown are checked against app.core.tokens.
"""

import asyncio
import time

import pytest
from PySide6.QtCore import QSettings

from app.core.errors import ErrorCode, TetherError
from app.core.tokens import make_token, read_token
from app.ui.invite import parse_invite
from app.ui.launcher import Launcher
from app.ui.main import parse_args
from app.ui.settings import Settings
from tests.ui.fakes import FakeSession

SECRET = "a-test-secret-long-enough-for-hs256-keys"


class FakeServer:
    def __init__(self) -> None:
        self.calls = []
        self.url = "ws://127.0.0.1:45678"

    async def start(self):
        self.calls.append("start")

    async def stop(self):
        self.calls.append("stop")

    def make_token(self, session_id, *, role="publisher", data=""):
        return make_token(SECRET, session_id, now=time.time(), role=role, data=data)


@pytest.fixture
def settings(tmp_path):
    return Settings(QSettings(str(tmp_path / "tether.ini"), QSettings.Format.IniFormat))


def make_launcher(qtbot, settings, factory=FakeSession, server=None):
    FakeSession.instances.clear()
    launcher = Launcher(session_factory=factory, server_factory=lambda: server, settings=settings)
    qtbot.addWidget(launcher.dialog)
    return launcher


async def until(predicate, timeout=10.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.005)


def test_direct_join_remembers_server_and_name(qtbot, qloop, settings):
    launcher = make_launcher(qtbot, settings)

    async def scenario():
        launcher.start(server="127.0.0.1:9", token="a.b.c", name="Ada")
        await until(lambda: launcher.window is not None and launcher.window.isVisible())
        qtbot.addWidget(launcher.window)
        assert not launcher.dialog.isVisible()
        assert FakeSession.instances[0].calls == [
            ("init", "ws://127.0.0.1:9", "a.b.c"),
            ("connect",),
            ("publish_stream", "Ada", True, False),
        ]
        assert (settings.last_server, settings.last_name) == ("ws://127.0.0.1:9", "Ada")

        finished = []
        launcher.finished.connect(finished.append)
        launcher.window.leave_action.trigger()
        await until(lambda: finished)
        assert finished == [0]
        assert FakeSession.instances[0].calls[-1] == ("disconnect",)

    qloop.run_until_complete(scenario())


def test_bad_token_shows_inline_error_and_no_window(qtbot, qloop, settings):
    def refusing(url, token, callbacks):
        error = TetherError(ErrorCode.AUTHORIZATION_FAILURE, "token signature is invalid")
        return FakeSession(url, token, callbacks, connect_error=error)

    launcher = make_launcher(qtbot, settings, factory=refusing)

    async def scenario():
        launcher.start(server="ws://127.0.0.1:9", token="a.b.c")
        await until(lambda: launcher.dialog.error.isVisible())
        assert "not valid" in launcher.dialog.error.text()
        assert launcher.dialog.token.property("error") is True
        assert launcher.dialog.join_button.isEnabled()
        assert launcher.window is None
        assert settings.last_server == ""

    qloop.run_until_complete(scenario())


def test_local_test_call_shows_invite_and_bot_command(qtbot, qloop, settings):
    server = FakeServer()
    launcher = make_launcher(qtbot, settings, server=server)

    async def scenario():
        launcher.start()
        launcher.dialog.name.setText("Ada")
        launcher.dialog.local_button.click()
        await until(lambda: launcher.local_dialog is not None)
        qtbot.addWidget(launcher.window)
        assert launcher.window.isVisible() and launcher.local_dialog.isVisible()
        session = FakeSession.instances[0]
        assert session.url == server.url

        own = read_token(SECRET, session.token, now=time.time())
        invite = parse_invite(launcher.local_dialog.invite.text())
        assert invite.server == server.url
        guest = read_token(SECRET, invite.token, now=time.time())
        assert guest.session_id == own.session_id
        assert (own.data, guest.data) == ('{"name": "Ada"}', '{"name": "Guest"}')
        command = launcher.local_dialog.command.text()
        assert command.startswith(f"tether bot --server {server.url} --token {invite.token}")

        await launcher.shutdown(0)
        assert server.calls == ["start", "stop"]

    qloop.run_until_complete(scenario())


def test_parse_args_accepts_an_invite_link():
    args = parse_args(["tether://join?server=ws%3A%2F%2Fh%3A1&token=x.y.z", "--name", "Bo"])
    assert (args.server, args.token, args.name) == ("ws://h:1", "x.y.z", "Bo")
    with pytest.raises(SystemExit):
        parse_args(["not-a-link"])
