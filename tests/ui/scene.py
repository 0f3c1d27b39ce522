"""Render the real main window mid-outage and save a screenshot of the X screen.

    xvfb-run -a python -m tests.ui.scene OUT.png

Runs under a real X server (xcb), not offscreen, so the picture is what a
person sees.  Real embedded server, real Sessions, real drops: a bot joins
behind its own fault proxy and publishes; the bot's link is black-holed (its
tile is overlaid), then this client's (the banner says reconnecting).  No media
is wired yet, so the bot's "last frame" is handed to the tile through the
subscriber's ``on_render_frame`` callback — the path the media layer will use.

Prints one JSON line with the banner's and the overlaid tile's geometry in
screen pixels, which the test uses to check the saved picture.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from pathlib import Path

import av
import qasync
from PySide6.QtCore import QPoint, QSettings
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from app.client.faultproxy import FaultProxy
from app.client.session import Session
from app.core.tokens import new_session_id
from app.server.runner import TetherServer
from app.ui.join import JoinRequest
from app.ui.launcher import Launcher
from app.ui.main import make_app
from app.ui.settings import Settings


def test_pattern(width: int = 640, height: int = 360) -> av.VideoFrame:
    """A light diagonal gradient, as an av frame in the decoder's usual format."""
    frame = av.VideoFrame(width, height, "rgb24")
    plane = frame.planes[0]
    rows = []
    for y in range(height):
        row = bytearray()
        for x in range(width):
            shade = 255 - (x + y) * 40 // (width + height)
            row += bytes((shade, shade, 255))
        rows.append(bytes(row) + bytes(plane.line_size - 3 * width))
    plane.update(b"".join(rows))
    return frame.reformat(format="yuv420p")


def screen_rect(widget) -> list[int]:
    top_left = widget.mapToGlobal(QPoint(0, 0))
    return [top_left.x(), top_left.y(), widget.width(), widget.height()]


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
            assert await launcher.join(JoinRequest(server.url, token, "Ada"))
            window = launcher.window
            window.resize(1100, 680)
            window.move(40, 40)
            assert QTest.qWaitForWindowExposed(window, 5000)

            proxy = FaultProxy("127.0.0.1", server.port)
            await proxy.start()
            bot_token = server.make_token(sid, data=json.dumps({"name": "Grace Hopper"}))
            bot = Session(f"ws://127.0.0.1:{proxy.port}", bot_token, None, name="bot")
            await bot.connect()
            await bot.publish_stream("Grace Hopper", True, True)
            await until(lambda: len(window.grid) == 2)
            key = window.grid.keys()[1]
            tile = window.grid.tile(key)
            launcher.bridge.subscriber_callbacks(key).on_render_frame(None, test_pattern())
            await until(lambda: tile.frame is not None)

            bot.send_signal("chat", "Can you hear me? <b>not bold</b>")
            launcher.controller.send_chat("Yes, all good", False)
            await until(lambda: len(window.chat.entries()) >= 2)

            proxy.black_hole()  # the bot goes quiet: its tile is overlaid
            await until(lambda: tile.property("reconnecting") is True)
            launcher.controller.simulate_drop(15)  # then this client
            await until(lambda: window.banner.property("state") == "reconnecting")
            launcher.controller.send_chat("Still there?", False)
            await asyncio.sleep(0.3)
            QApplication.processEvents()
            shot = window.screen().grabWindow(0)
            assert shot.save(out), f"cannot write {out}"
            report = {
                "platform": QApplication.platformName(),
                "out": out,
                "banner": screen_rect(window.banner),
                "banner_text": launcher.bridge.banner.text,
                "tile": screen_rect(tile),
                "tile_overlay_text": tile.overlay.reconnecting_text,
            }
            await launcher.shutdown(0)
            proxy.restore()
            await bot.disconnect()
            await proxy.stop()
        return report


def main(argv: list[str]) -> int:
    make_app([])
    report = qasync.run(scene(argv[0]))
    print(json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
