"""The join dialog: server, token (or an invite link carrying both), display name."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.ui.a11y import announce, repolish
from app.ui.invite import AddressError, normalize_server, parse_invite
from app.ui.state import JoinError


@dataclass(frozen=True)
class JoinRequest:
    server: str  # normalised ws:// or wss:// URL
    token: str
    name: str


class JoinDialog(QDialog):
    """Collects a :class:`JoinRequest`; the owner tries it and reports back.

    The dialog stays open while joining: the owner calls :meth:`set_busy`, then
    :meth:`show_error` (the dialog stays) or ``accept()``.
    """

    join_requested = Signal(object)  # JoinRequest
    local_test_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Join a call — Tether")
        self.setMinimumWidth(460)
        self.server = QLineEdit(self)
        self.server.setObjectName("joinServer")
        self.server.setPlaceholderText("ws://host:8765")
        self.server.setAccessibleName("Server address")
        self.token = QLineEdit(self)
        self.token.setObjectName("joinToken")
        self.token.setPlaceholderText("Token or invite link")
        self.token.setAccessibleName("Token or invite link")
        self.name = QLineEdit(self)
        self.name.setObjectName("joinName")
        self.name.setPlaceholderText("How others see you")
        self.name.setAccessibleName("Display name")
        self.error = QLabel(self)
        self.error.setObjectName("joinError")
        self.error.setTextFormat(Qt.TextFormat.PlainText)
        self.error.setWordWrap(True)
        self.error.setAccessibleName("Join error")
        self.error.hide()
        self.join_button = QPushButton("&Join", self)
        self.join_button.setDefault(True)
        self.join_button.setAccessibleName("Join the call")
        self.local_button = QPushButton("Start a &local test call", self)
        self.local_button.setAccessibleName("Start a local test call")

        form = QFormLayout()
        form.addRow("&Server:", self.server)
        form.addRow("&Token:", self.token)
        form.addRow("&Name:", self.name)
        buttons = QHBoxLayout()
        buttons.addWidget(self.local_button)
        buttons.addStretch(1)
        buttons.addWidget(self.join_button)
        column = QVBoxLayout(self)
        column.addLayout(form)
        column.addWidget(self.error)
        column.addLayout(buttons)
        self._fields = {"server": self.server, "token": self.token, "name": self.name}
        self._connect_signals()

    def _connect_signals(self) -> None:
        self.join_button.clicked.connect(self._submit)
        self.local_button.clicked.connect(self.local_test_requested)
        # An invite link pasted into either field fills both.
        self.token.textChanged.connect(self._maybe_invite)
        self.server.textChanged.connect(self._maybe_invite)
        for line in self._fields.values():
            line.textEdited.connect(self._clear_error)

    # --- slots for the owner ---------------------------------------------------------------

    @Slot(str, str)
    def set_values(self, server: str = "", name: str = "", token: str = "") -> None:
        if server:
            self.server.setText(server)
        if name:
            self.name.setText(name)
        if token:
            self.token.setText(token)

    @Slot(object)
    def show_error(self, error: JoinError) -> None:
        self.set_busy(False)
        self.error.setText(error.text)
        self.error.show()
        for key, line in self._fields.items():
            line.setProperty("error", key == error.field)
            repolish(line)
        if error.field in self._fields:
            self._fields[error.field].setFocus()
        announce(self.error, error.text, assertive=True)

    @Slot(bool)
    def set_busy(self, busy: bool) -> None:
        for widget in (*self._fields.values(), self.join_button, self.local_button):
            widget.setEnabled(not busy)
        self.join_button.setText("Joining…" if busy else "&Join")

    # --- internals -------------------------------------------------------------------------

    @Slot()
    def _clear_error(self) -> None:
        if self.error.isVisible():
            self.error.hide()
            for line in self._fields.values():
                line.setProperty("error", False)
                repolish(line)

    @Slot(str)
    def _maybe_invite(self, text: str) -> None:
        invite = parse_invite(text)
        if invite is None:
            return
        # setText re-enters through textChanged with a plain value: parse_invite says None.
        self.server.setText(invite.server)
        self.token.setText(invite.token)

    @Slot()
    def _submit(self) -> None:
        try:
            server = normalize_server(self.server.text())
        except AddressError as exc:
            self.show_error(JoinError("server", str(exc)))
            return
        token = self.token.text().strip()
        if not token:
            self.show_error(JoinError("token", "Paste the token or invite link you were given."))
            return
        if token.count(".") != 2 or any(c.isspace() for c in token):
            self.show_error(
                JoinError("token", "This does not look like a token. Check it was copied in full.")
            )
            return
        name = " ".join(self.name.text().split())
        self._clear_error()
        self.join_requested.emit(JoinRequest(server=server, token=token, name=name))
