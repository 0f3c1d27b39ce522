"""From launch to call: the join dialog (or ``--server/--token``), the local test call, the window.

Everything network-facing is an asyncio task on the qasync loop; the dialog
stays responsive and shows errors inline.  :attr:`Launcher.finished` carries
the exit status when the person closes the dialog or leaves the call.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtGui import QGuiApplication

from app.core.tokens import new_session_id
from app.ui.bridge import SessionBridge
from app.ui.call import CallController, SessionFactory, default_session_factory, spawn
from app.ui.join import JoinDialog, JoinRequest
from app.ui.localcall import LocalCall, LocalCallDialog, guest_data
from app.ui.mainwindow import MainWindow
from app.ui.settings import Settings
from app.ui.state import JoinError

logger = logging.getLogger(__name__)


def default_server_factory() -> Any:
    from app.server.runner import TetherServer  # its public entry point; imported late

    return TetherServer(host="127.0.0.1", port=0)


class Launcher(QObject):
    finished = Signal(int)

    def __init__(
        self,
        parent: QObject | None = None,
        *,
        session_factory: SessionFactory = default_session_factory,
        server_factory: Callable[[], Any] = default_server_factory,
        settings: Settings | None = None,
    ) -> None:
        super().__init__(parent)
        self.settings = settings or Settings()
        self._server_factory = server_factory
        self.bridge = SessionBridge(self)
        self.controller = CallController(self.bridge, self, session_factory=session_factory)
        self.dialog = JoinDialog()
        self.window: MainWindow | None = None
        self.local_server: Any = None
        self.local_call: LocalCall | None = None
        self.local_dialog: LocalCallDialog | None = None
        self._tasks: set[asyncio.Future] = set()
        self._closing = False
        self._connect_signals()

    def _connect_signals(self) -> None:
        self.dialog.join_requested.connect(self._on_join_requested)
        self.dialog.local_test_requested.connect(self._on_local_requested)
        self.dialog.rejected.connect(self._on_dialog_closed)
        self.controller.left.connect(self._on_left)

    # --- entry -------------------------------------------------------------------------------

    def start(
        self, *, server: str = "", token: str = "", name: str = "", local: bool = False
    ) -> None:
        """Join at once when ``server`` and ``token`` are given, or start a local test call
        when ``local``; else just show the dialog."""
        self.dialog.set_values(
            server=server or self.settings.last_server,
            name=name or self.settings.last_name,
            token=token,
        )
        self.dialog.show()
        if server and token:
            self.dialog.join_button.click()  # same checks and errors as a click
        elif local:
            self.dialog.local_button.click()

    # --- join --------------------------------------------------------------------------------

    @Slot(object)
    def _on_join_requested(self, request: JoinRequest) -> None:
        self._spawn(self.join(request))

    async def join(self, request: JoinRequest) -> bool:
        self.dialog.set_busy(True)
        failures: list[JoinError] = []
        self.controller.join_failed.connect(failures.append)
        try:
            ok = await self.controller.join(request)
        finally:
            self.controller.join_failed.disconnect(failures.append)
        if not ok:
            self.dialog.show_error(failures[0] if failures else JoinError("", "Could not join."))
            return False
        self.settings.remember(server=request.server, name=request.name)
        self.dialog.set_busy(False)
        self.dialog.hide()
        self._show_window(request.name)
        return True

    def _show_window(self, name: str) -> None:
        if self.window is None:
            self.window = MainWindow(self.bridge, self.controller, display_name=name)
        self.window.show()
        if QGuiApplication.platformName() not in ("offscreen", "minimal"):
            self.window.raise_()

    # --- local test call ---------------------------------------------------------------------

    @Slot()
    def _on_local_requested(self) -> None:
        self._spawn(self.start_local_call())

    async def start_local_call(self) -> bool:
        """Start an embedded server, join it, and show how a second participant joins."""
        self.dialog.set_busy(True)
        name = " ".join(self.dialog.name.text().split()) or "Me"
        try:
            if self.local_server is None:
                server = self._server_factory()
                await server.start()
                self.local_server = server
        except OSError as exc:
            self.dialog.show_error(JoinError("", f"Could not start a local server: {exc}"))
            return False
        server = self.local_server
        session_id = new_session_id()
        call = LocalCall(
            server=server.url,
            session_id=session_id,
            own_token=server.make_token(session_id, data=guest_data(name)),
            guest_token=server.make_token(session_id, data=guest_data("Guest")),
        )
        self.local_call = call
        ok = await self.join(JoinRequest(server=call.server, token=call.own_token, name=name))
        if ok:
            self.local_dialog = LocalCallDialog(call, self.window)
            self.local_dialog.show()
        return ok

    # --- the end -----------------------------------------------------------------------------

    @Slot()
    def _on_dialog_closed(self) -> None:
        if self.window is None or not self.window.isVisible():
            self._spawn(self.shutdown(0))

    @Slot()
    def _on_left(self) -> None:
        self._spawn(self.shutdown(0))

    async def shutdown(self, status: int) -> None:
        """Leave, stop the local server, emit :attr:`finished` once."""
        if self._closing:
            return
        self._closing = True
        if self.controller.session is not None:
            await self.controller.leave()
        if self.local_server is not None:
            server, self.local_server = self.local_server, None
            await server.stop()
        self.bridge.converter.shutdown()
        if self.window is not None:
            self.window.hide()
        self.finished.emit(status)

    def _spawn(self, coro: Any) -> asyncio.Future | None:
        task = spawn(coro)
        if task is None:
            return None
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(_log_failure)
        return task


def _log_failure(task: asyncio.Future) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("launcher task failed", exc_info=task.exception())
