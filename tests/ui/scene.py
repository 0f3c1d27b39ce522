"""Render the real main window mid-outage and save a screenshot of the X screen.

    xvfb-run -a python -m tests.ui.scene OUT.png

Runs under a real X server (xcb), not offscreen, so the picture is what a
person sees.  The session is the recording fake from ``tests.ui.fakes`` (until
the client Session lands); everything on screen is the real widgets.  Prints
one JSON line with the banner's and the interrupted tile's geometry in screen
pixels, which the test uses to check the saved picture.
"""

from __future__ import annotations

import asyncio
import json
import sys

import qasync
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QImage, QLinearGradient, QPainter
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from app.ui.bridge import SessionBridge
from app.ui.call import CallController
from app.ui.join import JoinRequest
from app.ui.main import make_app
from app.ui.mainwindow import MainWindow
from tests.ui.fakes import FakeSession


def test_pattern(width: int = 640, height: int = 360) -> QImage:
    image = QImage(width, height, QImage.Format.Format_RGB888)
    painter = QPainter(image)
    gradient = QLinearGradient(0, 0, width, height)
    gradient.setColorAt(0, QColor("#ffffff"))
    gradient.setColorAt(1, QColor("#e0e0ff"))
    painter.fillRect(image.rect(), gradient)
    painter.end()
    return image


def screen_rect(widget) -> list[int]:
    top_left = widget.mapToGlobal(QPoint(0, 0))
    return [top_left.x(), top_left.y(), widget.width(), widget.height()]


async def scene(out: str) -> dict:
    bridge = SessionBridge()
    controller = CallController(bridge, session_factory=FakeSession, drop_proxy=False)
    window = MainWindow(bridge, controller, display_name="Ada")
    window.resize(1100, 680)
    window.move(40, 40)
    window.show()
    assert QTest.qWaitForWindowExposed(window, 5000)
    await controller.join(JoinRequest("ws://127.0.0.1:1", "a.b.c", "Ada"))
    session = FakeSession.instances[-1]
    session.remote_join("c-bot", "Bot", "s-bot")
    session.remote_join("c-grace", "Grace Hopper", "s-grace")
    window.grid.tile("s-bot").set_frame(test_pattern())
    session.callbacks.on_signal_received("chat", "Can you hear me? <b>not bold</b>", "c-grace")
    controller.send_chat("Yes, all good", False)
    await asyncio.sleep(0.05)
    loop = asyncio.get_running_loop()
    session.drop(attempt=3, next_retry_at=loop.time() + 1.5)
    controller.send_chat("Still there?", False)
    session.owner_interrupted("s-bot", True)
    bridge.subscriber_callbacks("s-grace").on_video_disabled()
    await asyncio.sleep(0.3)
    QApplication.processEvents()
    shot = window.screen().grabWindow(0)
    assert shot.save(out), f"cannot write {out}"
    tile = window.grid.tile("s-bot")
    return {
        "platform": QApplication.platformName(),
        "out": out,
        "banner": screen_rect(window.banner),
        "banner_text": bridge.banner.text,
        "tile": screen_rect(tile),
        "tile_overlay_text": tile.overlay.reconnecting_text,
        "device_pixel_ratio": shot.devicePixelRatio(),
    }


def main(argv: list[str]) -> int:
    app = make_app([])
    app.setAttribute(Qt.ApplicationAttribute.AA_DontUseNativeDialogs)
    report = qasync.run(scene(argv[0]))
    print(json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
