"""``tether --self-test``: a whole call, offscreen, checked by reading the real widgets.

Starts an embedded server and a headless bot participant (a client Session and
its media, publishing the test pattern and tone over loopback), joins from the
real main window, simulates a drop of this client and then of the bot (signalling
and media both), and checks that the banner went hidden -> reconnecting ->
reconnected, that the bot's tile overlay came and went, and that the bot's video
was rendered — its frame counter read from the tile's picture — before the drop,
after it, and after the bot's own drop.  Prints one JSON report; exit status 0
when every check passed.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QLabel

from app.core.tokens import new_session_id
from app.ui.frames import stamp_of
from app.ui.join import JoinRequest
from app.ui.launcher import Launcher
from app.ui.settings import Settings

DROP_SECONDS = 5.0
STEP_TIMEOUT = 25.0


@dataclass
class Check:
    name: str
    ok: bool
    detail: str = ""


@dataclass
class Report:
    ok: bool = False
    checks: list[Check] = field(default_factory=list)
    banner: list[list[Any]] = field(default_factory=list)  # [seconds, state, text]
    bot_tile: list[list[Any]] = field(default_factory=list)  # [seconds, overlay text]
    timings: dict[str, float] = field(default_factory=dict)
    frames: dict[str, int] = field(default_factory=dict)  # bot frame counter seen, by moment

    def check(self, name: str, ok: bool, detail: str = "") -> bool:
        self.checks.append(Check(name, bool(ok), detail))
        return bool(ok)

    def to_json(self) -> str:
        self.ok = bool(self.checks) and all(c.ok for c in self.checks)
        return json.dumps(asdict(self), ensure_ascii=False)


class WidgetWatcher:
    """Samples the banner and one tile from the widgets every 20 ms; keeps each change."""

    def __init__(self, launcher: Launcher, report: Report) -> None:
        self.launcher = launcher
        self.report = report
        self.bot_key: str | None = None
        self._t0 = time.monotonic()
        self._timer = QTimer()
        self._timer.setInterval(20)
        self._timer.timeout.connect(self.sample)
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def sample(self) -> None:
        window = self.launcher.window
        if window is None:
            return
        now = round(time.monotonic() - self._t0, 2)
        banner = window.banner
        state = banner.property("state") if banner.isVisible() else "hidden"
        text = banner.findChild(QLabel, "bannerText").text() if banner.isVisible() else ""
        if not self.report.banner or self.report.banner[-1][1:] != [state, text]:
            self.report.banner.append([now, state, text])
        tile = window.grid.tile(self.bot_key) if self.bot_key else None
        if tile is not None:
            overlay = tile.findChild(QLabel, "tileOverlay").text()
            if not self.report.bot_tile or self.report.bot_tile[-1][1] != overlay:
                self.report.bot_tile.append([now, overlay])

    def banner_states(self) -> list[str]:
        return [state for _, state, _ in self.report.banner]

    def bot_counter(self) -> int | None:
        """The frame counter of the picture the bot's tile shows now."""
        window = self.launcher.window
        tile = window.grid.tile(self.bot_key) if window and self.bot_key else None
        stamp = stamp_of(tile.frame) if tile is not None else None
        return stamp.counter if stamp is not None else None

    async def fresh_frame(self, report: Report, moment: str, after: int = -1) -> bool:
        """Wait for the bot's tile to show a frame newer than ``after``; record it."""
        ok = await _until(lambda: (self.bot_counter() or -1) > after)
        if ok:
            report.frames[moment] = self.bot_counter() or 0
        return ok


async def _until(predicate, timeout: float = STEP_TIMEOUT) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


async def run_self_test() -> Report:
    from app.client.mediabot import MediaBot
    from app.server.runner import TetherServer

    report = Report()
    settings_dir = tempfile.TemporaryDirectory(prefix="tether-self-test-")
    settings = Settings(
        QSettings(str(Path(settings_dir.name) / "t.ini"), QSettings.Format.IniFormat)
    )
    launcher = Launcher(settings=settings)
    watcher = WidgetWatcher(launcher, report)
    bot = None
    try:
        async with TetherServer(heartbeat_timeout=2.0) as server:
            sid = new_session_id()
            token = server.make_token(sid, data=json.dumps({"name": "Self-test"}))
            joined = await launcher.join(JoinRequest(server.url, token, "Self-test"))
            if not report.check("join", joined, launcher.dialog.error.text()):
                return report
            window = launcher.window
            assert window is not None

            bot_token = server.make_token(sid, data=json.dumps({"name": "Bot"}))
            bot = await MediaBot(server.url, bot_token, "Bot").start()
            ok = await _until(lambda: len(window.grid) == 2)
            if not report.check("bot tile appears", ok, f"tiles: {window.grid.keys()}"):
                return report
            watcher.bot_key = window.grid.keys()[1]
            ok = await watcher.fresh_frame(report, "before_drop")
            report.check("bot video rendered before the drop", ok, str(report.frames))

            # This client drops.
            t0 = time.monotonic()
            report.check("drop can be simulated", launcher.controller.simulate_drop(DROP_SECONDS))
            ok = await _until(lambda: "reconnecting" in watcher.banner_states())
            report.timings["drop_to_reconnecting_banner"] = round(time.monotonic() - t0, 2)
            report.check("banner shows reconnecting", ok)
            ok = await _until(lambda: "reconnected" in watcher.banner_states())
            report.timings["drop_to_reconnected_banner"] = round(time.monotonic() - t0, 2)
            report.check("banner shows reconnected", ok)
            ok = await watcher.fresh_frame(
                report, "after_drop", report.frames.get("before_drop", 0)
            )
            report.timings["drop_to_bot_video_again"] = round(time.monotonic() - t0, 2)
            report.check("bot video rendered after the drop", ok, str(report.frames))
            ok = await _until(lambda: watcher.banner_states()[-1] == "hidden", timeout=10)
            report.check("banner hides again", ok)
            states = watcher.banner_states()
            report.check(
                "banner order",
                states[:4] == ["hidden", "reconnecting", "reconnected", "hidden"],
                " -> ".join(states),
            )

            ok = await _until(lambda: report.bot_tile[-1][1] == "", timeout=10)
            report.check("bot overlay clear before the bot drops", ok)

            # The bot drops: its tile overlay comes and goes, then its video.
            t0 = time.monotonic()
            bot.drop(DROP_SECONDS)
            ok = await _until(lambda: report.bot_tile and report.bot_tile[-1][1] != "")
            report.timings["bot_drop_to_overlay"] = round(time.monotonic() - t0, 2)
            report.check(
                "bot overlay on",
                ok and report.bot_tile[-1][1] == "Bot is reconnecting…",
                str(report.bot_tile[-1:]),
            )
            ok = await _until(lambda: report.bot_tile and report.bot_tile[-1][1] == "")
            report.timings["bot_drop_to_overlay_off"] = round(time.monotonic() - t0, 2)
            report.check("bot overlay off", ok)
            ok = await watcher.fresh_frame(
                report, "after_bot_drop", report.frames.get("after_drop", 0)
            )
            report.check("bot video rendered after its drop", ok, str(report.frames))
            await bot.close()
            bot = None
            await launcher.shutdown(0)  # leave before the server stops
    except Exception as exc:  # the report says what broke; never a bare traceback
        report.check("no unexpected error", False, f"{type(exc).__name__}: {exc}")
    finally:
        watcher.stop()
        if bot is not None:
            await bot.close()
        await launcher.shutdown(0)
        settings_dir.cleanup()
    return report
