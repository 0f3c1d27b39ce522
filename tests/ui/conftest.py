import os
import tempfile

# Must be set before the QApplication exists; pytest-qt creates it lazily.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# The app remembers the last server and name: keep the tests' out of the user's config.
os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="tether-ui-tests-")

import asyncio  # noqa: E402

import pytest  # noqa: E402
import qasync  # noqa: E402
from PySide6.QtCore import QObject, Signal  # noqa: E402

from app.ui.resources import load_stylesheet  # noqa: E402


@pytest.fixture
def qloop(qapp):
    """A qasync loop on the test's QApplication, as the app runs (tests drive it by hand)."""
    loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(loop)
    yield loop
    loop.close()
    asyncio.set_event_loop(None)


@pytest.fixture
def styled(qapp):
    """The real stylesheet on the application, so colours and dimming are what users see."""
    qapp.setStyleSheet(load_stylesheet())
    yield qapp
    qapp.setStyleSheet("")


class FakeTimer(QObject):
    """A timer that only fires when the test says so; records its starts and stops."""

    timeout = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.history: list[tuple[str, int | None]] = []
        self.active = False
        self.interval: int | None = None

    def start(self, msec: int) -> None:
        self.history.append(("start", msec))
        self.active = True
        self.interval = msec

    def stop(self) -> None:
        if self.active:
            self.history.append(("stop", None))
        self.active = False

    def isActive(self) -> bool:  # noqa: N802 (QTimer's name)
        return self.active

    def fire(self) -> None:
        assert self.active, "fired a timer that was not started"
        self.active = False
        self.timeout.emit()


@pytest.fixture
def fake_timer():
    return FakeTimer()
