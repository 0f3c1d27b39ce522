"""Render the real main window mid-outage and save a screenshot of the X screen.

    xvfb-run -a python -m tests.ui.scene OUT.png

Runs under a real X server (xcb), not offscreen, so the picture is what a
person sees.  Real embedded server, real Sessions, real media over loopback,
real drops: a bot joins and publishes the test pattern; once its video is on
the tile, the bot's link and media go dead (its tile keeps the last frame,
overlaid), then this client's (the banner says reconnecting).

Prints one JSON line with the banner's and the overlaid tile's geometry in
screen pixels, which the test uses to check the saved picture.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from pathlib import Path

import qasync
from PySide6.QtCore import QPoint, QSettings
from PySide6.QtWidgets import QApplication

from app.client.mediabot import MediaBot
from app.core.tokens import new_session_id
from app.server.runner import TetherServer
from app.ui.frames import stamp_of
from app.ui.join import JoinRequest
from app.ui.launcher import Launcher
from app.ui.main import make_app
from app.ui.settings import Settings


def screen_rect(widget) -> list[int]:
    top_left = widget.mapToGlobal(QPoint(0, 0))
    return [top_left.x(), top_left.y(), widget.width(), widget.height()]


def step(name: str) -> None:
    """Say on stderr where the scene is, so a failure shows the step it stopped at."""
    print(f"scene: {name}", file=sys.stderr, flush=True)


async def until(predicate, timeout: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise TimeoutError("scene did not reach its state")
        await asyncio.sleep(0.02)


async def scene(out: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(QSettings(str(Path(tmp) / "t.ini"), QSettings.Format.IniFormat))
        launcher = Launcher(settings=settings)
        async with TetherServer(heartbeat_timeout=2.0) as server:
            sid = new_session_id()
            token = server.make_token(sid, data=json.dumps({"name": "Ada"}))
            step("joining")
            assert await launcher.join(JoinRequest(server.url, token, "Ada"))
            window = launcher.window
            window.resize(1100, 680)
            window.move(40, 40)
            # Not QTest.qWaitForWindowExposed: a nested event loop inside a task would
            # re-enter the media tasks.
            await until(lambda: window.windowHandle() and window.windowHandle().isExposed())

            step("window exposed; bot joining")
            bot_token = server.make_token(sid, data=json.dumps({"name": "Grace Hopper"}))
            bot = await MediaBot(server.url, bot_token, "Grace Hopper").start(
                width=640, height=360, fps=15
            )
            await until(lambda: len(window.grid) == 2)
            key = window.grid.keys()[1]
            tile = window.grid.tile(key)
            await until(lambda: stamp_of(tile.frame) is not None)  # real video on the tile

            step("video on the tile; chatting")
            bot.session.send_signal("chat", "Can you hear me? <b>not bold</b>")
            launcher.controller.send_chat("Yes, all good", False)
            await until(lambda: len(window.chat.entries()) >= 2)

            step("dropping the bot")
            bot.drop(30)  # the bot goes quiet: its tile keeps the last frame, overlaid
            await until(lambda: tile.property("reconnecting") is True)
            step("dropping this client")
            launcher.controller.simulate_drop(15)  # then this client
            await until(lambda: window.banner.property("state") == "reconnecting")
            launcher.controller.send_chat("Still there?", False)
            # Let Qt paint.  Never QApplication.processEvents() here: inside a task it
            # re-enters qasync's loop, another task's wakeup fails with "Cannot enter
            # into task" and that task never resumes.
            await asyncio.sleep(0.5)
            step("grabbing the screen")
            shot = window.screen().grabWindow(0)
            assert shot.save(out), f"cannot write {out}"
            report = {
                "platform": QApplication.platformName(),
                "out": out,
                "banner": screen_rect(window.banner),
                "banner_text": launcher.bridge.banner.text,
                "tile": screen_rect(tile),
                "tile_overlay_text": tile.overlay.reconnecting_text,
                "tile_frame_counter": getattr(stamp_of(tile.frame), "counter", None),
            }
            step("shutting down")
            await launcher.shutdown(0)
            await bot.close()
        return report


async def bounded(out: str, timeout: float = 75.0) -> dict:
    """The scene, or a clear failure: never a silent hang until the test's timeout."""
    return await asyncio.wait_for(scene(out), timeout)


def main(argv: list[str]) -> int:
    make_app([])
    report = qasync.run(bounded(argv[0]))
    print(json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
