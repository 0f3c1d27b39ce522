"""``tether`` (the desktop app): ``run(argv) -> exit status``.

tether                                  # the join dialog
tether --server ws://host:8765 --token T [--name NAME]
tether tether://join?server=…&token=…   # an invite link (the .desktop file passes %u)
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys

import qasync
from PySide6.QtCore import QtMsgType, qInstallMessageHandler
from PySide6.QtWidgets import QApplication

from app.ui.invite import parse_invite
from app.ui.launcher import Launcher
from app.ui.resources import icon, load_stylesheet
from app.ui.settings import APPLICATION, ORGANIZATION


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="tether", description="Tether video calls")
    parser.add_argument("invite", nargs="?", default="", help="an invite link (tether://join?…)")
    parser.add_argument("--server", default="", help="session server, e.g. ws://host:8765")
    parser.add_argument("--token", default="", help="join token")
    parser.add_argument("--name", default="", help="your display name")
    parser.add_argument("--self-test", action="store_true", help="run the offscreen self-test")
    parser.add_argument("--local", action="store_true", help="start a local test call at once")
    args = parser.parse_args(argv)
    if args.invite:
        invite = parse_invite(args.invite)
        if invite is None:
            parser.error(f"not an invite link: {args.invite}")
        args.server, args.token = args.server or invite.server, args.token or invite.token
    return args


_QT_LEVELS = {
    QtMsgType.QtDebugMsg: logging.DEBUG,
    QtMsgType.QtInfoMsg: logging.DEBUG,
    QtMsgType.QtWarningMsg: logging.WARNING,
    QtMsgType.QtCriticalMsg: logging.ERROR,
    QtMsgType.QtFatalMsg: logging.CRITICAL,
}
# Qt Multimedia reports every optional library it did not find and a missing sound
# server on stderr; the app says what matters (no sound device) once, in the window.
# The offscreen platform (self-test, CI) cannot size windows from hints, and says so.
_QUIET = (
    "qt.multimedia",
    "PulseAudioService:",
    "No audio device detected",
    "This plugin does not support propagateSizeHints()",
)


def _qt_message(mode: QtMsgType, context, message: str) -> None:
    category = getattr(context, "category", "") or ""
    level = _QT_LEVELS.get(mode, logging.WARNING)
    if category.startswith(_QUIET[0]) or message.startswith(_QUIET[1:]):
        level = min(level, logging.DEBUG)
    logging.getLogger(f"qt.{category or 'default'}").log(level, "%s", message)


def make_app(argv: list[str]) -> QApplication:
    qInstallMessageHandler(_qt_message)  # Qt's messages go through logging: no stray noise
    app = QApplication.instance() or QApplication(["tether", *argv])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName("Tether")
    app.setDesktopFileName("tether")
    app.setWindowIcon(icon("tether"))
    app.setStyleSheet(load_stylesheet())
    return app


async def _main(launcher: Launcher, server: str, token: str, name: str, local: bool) -> int:
    done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    launcher.finished.connect(lambda status: done.done() or done.set_result(status))
    _quit_on_signals(launcher)
    launcher.start(server=server, token=token, name=name, local=local)
    return await done


def _quit_on_signals(launcher: Launcher) -> None:
    """Ctrl-C or SIGTERM leaves the call properly (others see a clean leave)."""
    loop = asyncio.get_running_loop()

    def on_signal(signum: int, frame: object) -> None:
        loop.call_soon_threadsafe(lambda: loop.create_task(launcher.shutdown(0)))

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, on_signal)


def run(argv: list[str] | argparse.Namespace | None = None) -> int:
    """Run the desktop app until the person leaves; returns the exit status.

    ``argv`` is the command line after the program name, or the namespace
    ``app.cli`` already parsed (``server``, ``token``, ``name``, ``self_test``).
    """
    if isinstance(argv, argparse.Namespace):
        args = argv
    else:
        args = parse_args(list(sys.argv[1:] if argv is None else argv))
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if getattr(args, "self_test", False):
        return run_self_test_app()
    app = make_app([])
    app.setQuitOnLastWindowClosed(False)  # the launcher decides when the app is done
    launcher = Launcher()
    return qasync.run(
        _main(
            launcher,
            args.server or "",
            args.token or "",
            getattr(args, "name", "") or "",
            bool(getattr(args, "local", False)),
        )
    )


def run_self_test_app() -> int:
    """``tether --self-test``: offscreen, prints a JSON report, 0 if every check passed."""
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from app.ui.selftest import run_self_test

    app = make_app([])
    app.setQuitOnLastWindowClosed(False)
    report = qasync.run(run_self_test())
    print(report.to_json(), flush=True)
    return 0 if report.ok else 1


if __name__ == "__main__":
    raise SystemExit(run())
