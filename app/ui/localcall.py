"""The "Start a local test call" panel: how a second participant joins this call."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from app.ui.invite import make_invite


@dataclass(frozen=True)
class LocalCall:
    server: str
    session_id: str
    own_token: str
    guest_token: str

    @property
    def invite(self) -> str:
        return make_invite(self.server, self.guest_token)

    @property
    def bot_command(self) -> str:
        return shlex.join(
            ["tether", "bot", "--server", self.server, "--token", self.guest_token, "--name", "Bot"]
        )


def guest_data(name: str) -> str:
    """Connection data for a token: JSON with the name, which the UI shows as plain text."""
    return json.dumps({"name": name})


class LocalCallDialog(QDialog):
    """Shows the invite link and the ``tether bot`` command, each with a Copy button."""

    def __init__(self, call: LocalCall, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Local test call — Tether")
        self.setMinimumWidth(560)
        self.invite = self._field(call.invite, "Invite link")
        self.command = self._field(call.bot_command, "Bot command")
        note = QLabel(
            "The server runs inside this app and stops when you leave the call. "
            "Another Tether on this machine can join with the invite link; "
            "a headless participant with the command.",
            self,
        )
        note.setTextFormat(Qt.TextFormat.PlainText)
        note.setWordWrap(True)
        form = QFormLayout(self)
        form.addRow(note)
        form.addRow("Invite link:", self._with_copy(self.invite))
        form.addRow("Second participant:", self._with_copy(self.command))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _field(self, text: str, name: str) -> QLineEdit:
        line = QLineEdit(text, self)
        line.setReadOnly(True)
        line.setAccessibleName(name)
        line.setCursorPosition(0)
        return line

    def _with_copy(self, line: QLineEdit) -> QWidget:
        box = QWidget(self)
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(line, 1)
        copy = QPushButton("Copy", box)
        copy.setAccessibleName(f"Copy {line.accessibleName().lower()}")
        copy.clicked.connect(lambda: QApplication.clipboard().setText(line.text()))
        row.addWidget(copy)
        return box
