"""Two real windows in a call with real media over loopback, through a real server.

Each window publishes the test pattern and tone; what a tile shows is read back
from its pixels (the pattern's frame code), so "frames arrive" means decoded,
converted off the UI thread and painted.
"""

import asyncio
import json
import time

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QLabel

from app.core.tokens import new_session_id
from app.server import runner  # noqa: E402
from app.ui.join import JoinRequest
from app.ui.launcher import Launcher
from app.ui.settings import Settings
from tests.ui.media_helpers import grabbed_stamp, stamp_of, until

pytestmark = pytest.mark.timeout(120)

SMALL = (320, 240, 15)  # two encoders and decoders in one test process


def make_launcher(qtbot, tmp_path, name):
    settings = Settings(QSettings(str(tmp_path / f"{name}.ini"), QSettings.Format.IniFormat))
    launcher = Launcher(settings=settings)
    launcher.controller.media.video_format = SMALL
    qtbot.addWidget(launcher.dialog)
    return launcher


async def join(launcher, server, sid, name):
    token = server.make_token(sid, data=json.dumps({"name": name}))
    assert await launcher.join(JoinRequest(server.url, token, name))
    return launcher.window


def remote_tile(window):
    keys = window.grid.keys()
    return window.grid.tile(keys[1]) if len(keys) > 1 else None


async def fresh_stamp(tile, after=-1, what="frames"):
    """Wait until the tile paints a frame whose counter is above ``after``."""
    seen = []

    def check():
        stamp = grabbed_stamp(tile)
        if stamp is not None and stamp.counter > after:
            seen.append(stamp)
        return bool(seen)

    await until(check, what=what)
    return seen[0]


def test_two_windows_see_each_other_camera_off_and_a_drop(qtbot, qloop, tmp_path, styled):
    ada = make_launcher(qtbot, tmp_path, "ada")
    grace = make_launcher(qtbot, tmp_path, "grace")

    async def scenario():
        async with runner.TetherServer(heartbeat_timeout=2.0) as server:
            sid = new_session_id()
            wa = await join(ada, server, sid, "Ada")
            wb = await join(grace, server, sid, "Grace")
            qtbot.addWidget(wa)
            qtbot.addWidget(wb)
            await until(lambda: len(wa.grid) == 2 and len(wb.grid) == 2, what="tiles")
            a_sees, b_sees = remote_tile(wa), remote_tile(wb)
            assert a_sees.findChild(QLabel, "tileName").text() == "Grace"
            assert b_sees.findChild(QLabel, "tileName").text() == "Ada"

            # Real frames, painted: the counter read from the tile's pixels moves on.
            first = await fresh_stamp(a_sees, what="Grace's frames at Ada")
            later = await fresh_stamp(a_sees, first.counter + 5, what="more frames")
            assert later.counter > first.counter
            await fresh_stamp(b_sees, what="Ada's frames at Grace")
            assert (a_sees.frame.width(), a_sees.frame.height()) == SMALL[:2]
            # The self view shows the local source.
            own = wa.grid.tile("self")
            await until(lambda: stamp_of(own.frame) is not None, what="self view")
            assert not own.overlay.camera_off

            # Ada's camera off: Grace's tile of Ada shows the placeholder, then video again.
            wa.camera_action.trigger()
            assert own.overlay.camera_off
            await until(lambda: b_sees.property("cameraOff") is True, what="placeholder")
            assert b_sees.findChild(QLabel, "tilePlaceholder").isVisible()
            assert b_sees.findChild(QLabel, "tilePlaceholder").text() == "A"
            wa.camera_action.trigger()
            await until(lambda: b_sees.property("cameraOff") is False, what="video back")
            mark = b_sees.frame and stamp_of(b_sees.frame)
            await fresh_stamp(b_sees, mark.counter if mark else -1, what="Ada's video again")

            # Ada's network goes dead for 5 s: her banner, both overlays, then frames again.
            assert ada.controller.simulate_drop(5)
            cut_at = time.monotonic()
            await until(lambda: wa.banner.property("state") == "reconnecting", what="banner")
            await until(lambda: b_sees.property("reconnecting") is True, what="Grace's overlay")
            assert b_sees.findChild(QLabel, "tileOverlay").text() == "Ada is reconnecting…"
            await until(lambda: a_sees.property("reconnecting") is True, what="Ada's overlay")
            before = stamp_of(a_sees.frame)
            assert before is not None  # the last frame stays under the overlay
            # Nothing new arrives while the link is dead.
            await asyncio.sleep(max(0.0, 4.5 - (time.monotonic() - cut_at)))
            assert stamp_of(a_sees.frame) == before or time.monotonic() - cut_at >= 5
            await until(
                lambda: wa.banner.property("state") == "reconnected", timeout=30, what="resume"
            )
            await until(lambda: a_sees.property("reconnecting") is False, what="overlay off")
            await until(lambda: b_sees.property("reconnecting") is False, what="overlay off")
            await fresh_stamp(a_sees, before.counter, what="Grace's frames after the drop")
            mark = stamp_of(b_sees.frame)
            await fresh_stamp(b_sees, mark.counter if mark else -1, what="Ada's after")

            await grace.shutdown(0)
            await until(lambda: len(wa.grid) == 1, what="Grace's tile removed")
            await ada.shutdown(0)

    qloop.run_until_complete(scenario())


def test_audio_without_a_sound_device_is_said_once(qtbot, qloop, tmp_path, styled):
    ada = make_launcher(qtbot, tmp_path, "ada")
    grace = make_launcher(qtbot, tmp_path, "grace")
    notes = []
    ada.controller.media.notice.connect(notes.append)

    async def scenario():
        async with runner.TetherServer() as server:
            sid = new_session_id()
            wa = await join(ada, server, sid, "Ada")
            await join(grace, server, sid, "Grace")
            qtbot.addWidget(wa)
            playback = ada.controller.media.playback
            await until(lambda: playback._opened, what="the first audio frame")
            await asyncio.sleep(1.0)  # a second of audio frames more
            await ada.shutdown(0)
            await grace.shutdown(0)
            return wa, playback

    wa, playback = qloop.run_until_complete(scenario())
    from PySide6.QtMultimedia import QMediaDevices

    if QMediaDevices.defaultAudioOutput().isNull():
        assert notes == ["No sound output device: audio from others is not played."]
        assert wa.notice.text() == notes[0]
    else:  # a machine with sound: played, nothing to say
        assert notes == [] and playback.unavailable == ""
