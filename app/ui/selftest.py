"""``tether --self-test``: a whole call, offscreen, checked by reading the real widgets.

Starts an embedded server and a headless bot participant (a client Session
behind its own loopback fault proxy, announcing a stream), joins from the real
main window, simulates a drop of this client and then of the bot, and checks
that the banner went hidden -> reconnecting -> reconnected and the bot's tile
overlay on -> off.  Prints one JSON report; exit status 0 when every check passed.
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


async def _until(predicate, timeout: float = STEP_TIMEOUT) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


async def run_self_test() -> Report:
    from app.client.faultproxy import FaultProxy
    from app.client.session import Session
    from app.server.runner import TetherServer

    report = Report()
    settings_dir = tempfile.TemporaryDirectory(prefix="tether-self-test-")
    settings = Settings(
        QSettings(str(Path(settings_dir.name) / "t.ini"), QSettings.Format.IniFormat)
    )
    launcher = Launcher(settings=settings)
    watcher = WidgetWatcher(launcher, report)
    bot = bot_proxy = None
    try:
        async with TetherServer(heartbeat_timeout=2.0) as server:
            sid = new_session_id()
            token = server.make_token(sid, data=json.dumps({"name": "Self-test"}))
            joined = await launcher.join(JoinRequest(server.url, token, "Self-test"))
            if not report.check("join", joined, launcher.dialog.error.text()):
                return report
            window = launcher.window
            assert window is not None

            bot_proxy = FaultProxy("127.0.0.1", server.port)
            await bot_proxy.start()
            bot_token = server.make_token(sid, data=json.dumps({"name": "Bot"}))
            bot = Session(f"ws://127.0.0.1:{bot_proxy.port}", bot_token, None, name="bot")
            await bot.connect()
            await bot.publish_stream("Bot", True, True)
            ok = await _until(lambda: len(window.grid) == 2)
            if not report.check("bot tile appears", ok, f"tiles: {window.grid.keys()}"):
                return report
            watcher.bot_key = window.grid.keys()[1]

            # This client drops.
            t0 = time.monotonic()
            report.check("drop can be simulated", launcher.controller.simulate_drop(DROP_SECONDS))
            ok = await _until(lambda: "reconnecting" in watcher.banner_states())
            report.timings["drop_to_reconnecting_banner"] = round(time.monotonic() - t0, 2)
            report.check("banner shows reconnecting", ok)
            ok = await _until(lambda: "reconnected" in watcher.banner_states())
            report.timings["drop_to_reconnected_banner"] = round(time.monotonic() - t0, 2)
            report.check("banner shows reconnected", ok)
            ok = await _until(lambda: watcher.banner_states()[-1] == "hidden", timeout=10)
            report.check("banner hides again", ok)
            states = watcher.banner_states()
            report.check(
                "banner order",
                states[:4] == ["hidden", "reconnecting", "reconnected", "hidden"],
                " -> ".join(states),
            )

            # The bot drops: its tile overlay comes and goes.
            t0 = time.monotonic()
            bot_proxy.black_hole()
            ok = await _until(lambda: report.bot_tile and report.bot_tile[-1][1] != "")
            report.timings["bot_drop_to_overlay"] = round(time.monotonic() - t0, 2)
            report.check(
                "bot overlay on",
                ok and report.bot_tile[-1][1] == "Bot is reconnecting…",
                str(report.bot_tile[-1:]),
            )
            await asyncio.sleep(1.0)  # away a little longer than it takes to notice
            bot_proxy.restore()
            t0 = time.monotonic()
            ok = await _until(lambda: report.bot_tile and report.bot_tile[-1][1] == "")
            report.timings["bot_restore_to_overlay_off"] = round(time.monotonic() - t0, 2)
            report.check("bot overlay off", ok)
            await bot.disconnect()
            bot = None
            await launcher.shutdown(0)  # leave before the server stops
    except Exception as exc:  # the report says what broke; never a bare traceback
        report.check("no unexpected error", False, f"{type(exc).__name__}: {exc}")
    finally:
        watcher.stop()
        if bot is not None:
            await bot.disconnect()
        if bot_proxy is not None:
            await bot_proxy.stop()
        await launcher.shutdown(0)
        settings_dir.cleanup()
    return report
