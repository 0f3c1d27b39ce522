"""The real StatusBanner driven through its states; state read back from its widgets."""

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget

from app.ui.banner import StatusBanner
from app.ui.state import BannerInfo, BannerState, BannerTracker


def parts(banner):
    text = banner.findChild(QLabel, "bannerText")
    detail = banner.findChild(QLabel, "bannerDetail")
    buttons = {b.text().replace("&", ""): b for b in banner.findChildren(QPushButton)}
    return text, detail, buttons


def make(qtbot, timer):
    """A banner inside a shown window, as in the app (a hidden child stays hidden)."""
    host = QWidget()
    qtbot.addWidget(host)
    banner = StatusBanner(host, hide_timer=timer)
    QVBoxLayout(host).addWidget(banner)
    host.resize(400, 80)
    host.show()
    banner.test_host = host  # keep the window alive as long as the test holds the banner
    return banner


def test_starts_hidden(qtbot, fake_timer):
    banner = make(qtbot, fake_timer)
    assert not banner.isVisible()
    assert banner.property("state") == "hidden"
    assert banner.accessibleName() == "Connection status"


def test_reconnecting_then_reconnected_then_auto_hides(qtbot, fake_timer, styled):
    banner = make(qtbot, fake_timer)
    text, detail, buttons = parts(banner)
    tracker = BannerTracker()
    progress = {"attempt": 2, "next_retry_at": 13.0, "queued": 3}

    banner.set_info(tracker.update("reconnecting", progress, now=10.2))
    assert banner.isVisible()
    assert banner.property("state") == "reconnecting"
    assert text.text() == "Connection lost — reconnecting…"
    assert detail.text() == "Attempt 2 · next try in 3 s · 3 messages waiting to send"
    assert buttons["Retry now"].isVisible() and not buttons["Rejoin"].isVisible()
    assert banner.accessibleDescription() == "Connection lost — reconnecting…"
    assert text.textFormat() == Qt.TextFormat.PlainText

    # The countdown ticks without re-announcing.
    banner.setAccessibleDescription("")
    banner.set_info(tracker.update("reconnecting", progress, now=11.5))
    assert detail.text() == "Attempt 2 · next try in 2 s · 3 messages waiting to send"
    assert banner.accessibleDescription() == ""

    with qtbot.waitSignal(banner.retry_requested, timeout=1000):
        qtbot.mouseClick(buttons["Retry now"], Qt.MouseButton.LeftButton)

    banner.set_info(tracker.update("connected", None, now=12.0))
    assert banner.property("state") == "reconnected"
    assert text.text() == "Reconnected"
    assert not detail.isVisible()
    assert not buttons["Retry now"].isVisible()
    assert banner.isVisible()
    assert fake_timer.history == [("start", 4000)]
    assert banner.accessibleDescription() == "Reconnected"

    fake_timer.fire()
    assert not banner.isVisible()
    assert banner.property("state") == "hidden"


def test_reconnect_again_before_hide_cancels_the_hide(qtbot, fake_timer):
    banner = make(qtbot, fake_timer)
    banner.set_info(BannerInfo(BannerState.RECONNECTED))
    banner.set_info(BannerInfo(BannerState.RECONNECTING, attempt=1))
    assert fake_timer.history == [("start", 4000), ("stop", None)]
    assert not fake_timer.isActive()
    assert banner.isVisible() and banner.property("state") == "reconnecting"


def test_disconnected_is_kept_with_rejoin(qtbot, fake_timer, styled):
    banner = make(qtbot, fake_timer)
    text, _detail, buttons = parts(banner)
    banner.set_info(BannerInfo(BannerState.RECONNECTING, attempt=30, seconds_to_retry=1))
    banner.set_info(BannerInfo(BannerState.DISCONNECTED, reason="network_disconnected"))
    assert text.text() == "Disconnected: the network connection was lost"
    assert banner.property("state") == "disconnected"
    assert buttons["Rejoin"].isVisible() and not buttons["Retry now"].isVisible()
    assert not fake_timer.isActive()  # stays on screen
    assert banner.accessibleDescription() == text.text()
    with qtbot.waitSignal(banner.rejoin_requested, timeout=1000):
        qtbot.mouseClick(buttons["Rejoin"], Qt.MouseButton.LeftButton)


def test_colour_comes_from_the_stylesheet_property(qtbot, fake_timer, styled):
    banner = make(qtbot, fake_timer)
    banner.set_info(BannerInfo(BannerState.RECONNECTING))
    inside = (banner.width() // 2, banner.height() - 3)
    yellow = banner.grab().toImage().pixelColor(*inside)
    banner.set_info(BannerInfo(BannerState.DISCONNECTED, reason="x"))
    red = banner.grab().toImage().pixelColor(*inside)
    assert yellow.name() == "#fff4ce"
    assert red.name() == "#fde7e9"
