"""ChatPanel: own messages through queued/sent/failed, incoming shown as plain text."""

from PySide6.QtCore import Qt

from app.ui.chat import ChatPanel
from app.ui.state import ChatEntry, Delivery


def make(qtbot):
    panel = ChatPanel()
    qtbot.addWidget(panel)
    panel.show()
    return panel


def test_send_emits_text_and_switch(qtbot):
    panel = make(qtbot)
    sent = []
    panel.send_requested.connect(lambda text, only: sent.append((text, only)))
    qtbot.keyClicks(panel.input, "hello")
    qtbot.keyClick(panel.input, Qt.Key.Key_Return)
    panel.only_while_connected.setChecked(True)
    qtbot.keyClicks(panel.input, "only now")
    qtbot.mouseClick(panel.send_button, Qt.MouseButton.LeftButton)
    qtbot.keyClicks(panel.input, "   ")
    qtbot.keyClick(panel.input, Qt.Key.Key_Return)
    assert sent == [("hello", False), ("only now", True)]
    assert panel.input.text() == "   "


def test_too_long_message_is_refused_inline(qtbot):
    panel = make(qtbot)
    sent = []
    panel.send_requested.connect(lambda *a: sent.append(a))
    panel.input.setText("é" * 5000)  # 10,000 bytes of UTF-8
    qtbot.keyClick(panel.input, Qt.Key.Key_Return)
    assert sent == []
    assert panel.input_error.isVisible()
    assert "limit is 8192" in panel.input_error.text()


def test_own_message_states(qtbot, styled):
    panel = make(qtbot)
    queued = ChatEntry("m1", "Me", "hi", own=True, delivery=Delivery.QUEUED)
    panel.show_entry(queued)
    row = panel.row("m1")
    assert (row.sender.text(), row.body.text(), row.status.text()) == ("You", "hi", "queued")
    assert row.status.property("delivery") == "queued"

    panel.show_entry(ChatEntry("m1", "Me", "hi", own=True, delivery=Delivery.SENT))
    assert panel.row("m1") is row and row.status.text() == "sent"
    assert row.status.property("delivery") == "sent"

    failed = ChatEntry(
        "m2",
        "Me",
        "later",
        own=True,
        delivery=Delivery.FAILED,
        only_while_connected=True,
        error="not connected",
    )
    panel.show_entry(failed)
    row2 = panel.row("m2")
    assert row2.status.text() == "failed: not connected"
    assert row2.only_connected.isVisible()
    assert not row.only_connected.isVisible()
    assert [e.id for e in panel.entries()] == ["m1", "m2"]


def test_incoming_is_plain_text_with_sender(qtbot):
    panel = make(qtbot)
    html = '<img src="x" onerror="boom"><b>bold</b>'
    panel.show_entry(ChatEntry("in1", "<a href='x'>Eve</a>", html))
    row = panel.row("in1")
    assert row.sender.text() == "<a href='x'>Eve</a>"
    assert row.body.text() == html
    for label in (row.sender, row.body, row.status):
        assert label.textFormat() == Qt.TextFormat.PlainText
    assert not row.status.isVisible()
