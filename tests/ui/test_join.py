"""JoinDialog: local checks, invite links, inline errors from the owner."""

from PySide6.QtCore import Qt

from app.ui.invite import make_invite
from app.ui.join import JoinDialog, JoinRequest
from app.ui.state import join_error

TOKEN = "eyJhbGciOi.eyJzaWQiOi.c2lnbmF0dXJl"


def make(qtbot):
    dialog = JoinDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    requests = []
    dialog.join_requested.connect(requests.append)
    return dialog, requests


def test_join_request_normalised(qtbot):
    dialog, requests = make(qtbot)
    qtbot.keyClicks(dialog.server, "127.0.0.1:8765")
    qtbot.keyClicks(dialog.token, TOKEN)
    qtbot.keyClicks(dialog.name, "  Ada   Lovelace ")
    qtbot.mouseClick(dialog.join_button, Qt.MouseButton.LeftButton)
    assert requests == [JoinRequest("ws://127.0.0.1:8765", TOKEN, "Ada Lovelace")]
    assert not dialog.error.isVisible()


def test_invite_link_in_token_field_fills_both(qtbot):
    dialog, requests = make(qtbot)
    dialog.token.setText(make_invite("ws://10.9.8.7:9000", TOKEN))
    assert dialog.server.text() == "ws://10.9.8.7:9000"
    assert dialog.token.text() == TOKEN
    dialog.server.setText(f"http://h:1/?token={TOKEN}x")
    assert (dialog.server.text(), dialog.token.text()) == ("ws://h:1/", TOKEN + "x")


def test_local_errors_inline_and_nothing_sent(qtbot):
    dialog, requests = make(qtbot)
    qtbot.mouseClick(dialog.join_button, Qt.MouseButton.LeftButton)
    assert dialog.error.isVisible() and "server address" in dialog.error.text()
    assert dialog.server.property("error") is True

    dialog.server.setText("ws://h:1")
    dialog.token.setText("not a token")
    qtbot.mouseClick(dialog.join_button, Qt.MouseButton.LeftButton)
    assert "does not look like a token" in dialog.error.text()
    assert dialog.token.property("error") is True and dialog.server.property("error") is False
    assert requests == []

    qtbot.keyClicks(dialog.token, "x")  # typing clears the error
    assert not dialog.error.isVisible()
    assert dialog.token.property("error") is False


def test_remote_errors_from_the_owner(qtbot):
    dialog, _ = make(qtbot)
    dialog.set_busy(True)
    assert not dialog.join_button.isEnabled() and dialog.join_button.text() == "Joining…"
    for code, field, words in [
        (1004, "token", "not valid"),
        (1007, "token", "expired"),
        (1005, "token", "different call"),
        (1013, "server", "Cannot reach the server"),
    ]:
        dialog.show_error(join_error(code, "raw"))
        assert dialog.error.isVisible() and words in dialog.error.text()
        assert dialog._fields[field].property("error") is True
        assert dialog.join_button.isEnabled()
        assert dialog.error.accessibleDescription() == dialog.error.text()
    assert dialog.error.textFormat() == Qt.TextFormat.PlainText


def test_local_test_button(qtbot):
    dialog, _ = make(qtbot)
    with qtbot.waitSignal(dialog.local_test_requested, timeout=1000):
        qtbot.mouseClick(dialog.local_button, Qt.MouseButton.LeftButton)
