"""Chat over ``chat`` signals: own messages with their delivery state, incoming with the sender.

Everything a participant typed, and every name taken from connection data, is
shown as plain text (``Qt.PlainText``) — never as rich text or HTML.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import TetherError
from app.core.limits import check_signal
from app.ui.a11y import repolish
from app.ui.state import ChatEntry

CHAT_SIGNAL_TYPE = "chat"


def _plain_label(parent: QWidget, name: str) -> QLabel:
    label = QLabel(parent)
    label.setObjectName(name)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class ChatRow(QWidget):
    """One message; passive, updated through :meth:`set_entry`."""

    def __init__(self, entry: ChatEntry, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.sender = _plain_label(self, "chatSender")
        self.body = _plain_label(self, "chatText")
        self.body.setWordWrap(True)
        self.status = _plain_label(self, "chatStatus")
        self.only_connected = _plain_label(self, "chatOnlyConnected")
        head = QHBoxLayout()
        head.setContentsMargins(0, 0, 0, 0)
        head.addWidget(self.sender)
        head.addStretch(1)
        head.addWidget(self.only_connected)
        head.addWidget(self.status)
        column = QVBoxLayout(self)
        column.setContentsMargins(4, 2, 4, 2)
        column.setSpacing(0)
        column.addLayout(head)
        column.addWidget(self.body)
        self.entry = entry
        self.set_entry(entry)

    def set_entry(self, entry: ChatEntry) -> None:
        self.entry = entry
        self.sender.setText("You" if entry.own else entry.sender)
        self.body.setText(entry.text)
        self.status.setText(entry.status_text)
        self.status.setVisible(entry.own)
        self.status.setProperty("delivery", entry.delivery.value if entry.delivery else "")
        self.only_connected.setText("only while connected" if entry.only_while_connected else "")
        self.only_connected.setVisible(entry.own and entry.only_while_connected)
        who = "You" if entry.own else entry.sender
        status = f", {entry.status_text}" if entry.own else ""
        self.setAccessibleName(f"{who}: {entry.text}{status}")
        repolish(self)


class ChatPanel(QWidget):
    """The message list and the input line.

    Emits :attr:`send_requested` ``(text, only_while_connected)``; the owner
    sends the signal and reports back with :meth:`show_entry`.
    """

    send_requested = Signal(str, bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("chat")
        self.setAccessibleName("Chat")
        self.setMinimumWidth(240)
        self._rows: dict[str, ChatRow] = {}

        self._list = QWidget()
        self._list_layout = QVBoxLayout(self._list)
        self._list_layout.setContentsMargins(0, 0, 0, 0)
        self._list_layout.addStretch(1)
        self._scroll = QScrollArea(self)
        self._scroll.setWidgetResizable(True)
        self._scroll.setWidget(self._list)
        self._scroll.setAccessibleName("Chat messages")

        self.input = QLineEdit(self)
        self.input.setPlaceholderText("Message")
        self.input.setAccessibleName("Chat message")
        self.only_while_connected = QCheckBox("Send only while connected", self)
        self.only_while_connected.setToolTip(
            "If the connection is lost, fail this message instead of sending it after reconnecting"
        )
        self.send_button = QPushButton("&Send", self)
        self.send_button.setAccessibleName("Send message")
        self.input_error = _plain_label(self, "chatInputError")
        self.input_error.hide()

        row = QHBoxLayout()
        row.addWidget(self.input, 1)
        row.addWidget(self.send_button)
        column = QVBoxLayout(self)
        column.addWidget(self._scroll, 1)
        column.addWidget(self.input_error)
        column.addLayout(row)
        column.addWidget(self.only_while_connected)
        self._connect_signals()

    def _connect_signals(self) -> None:
        self.input.returnPressed.connect(self._submit)
        self.send_button.clicked.connect(self._submit)
        self.input.textEdited.connect(lambda _text: self.input_error.hide())

    def row(self, entry_id: str) -> ChatRow | None:
        return self._rows.get(entry_id)

    def entries(self) -> list[ChatEntry]:
        return [row.entry for row in self._rows.values()]

    @Slot(object)
    def show_entry(self, entry: ChatEntry) -> None:
        """Add ``entry``, or update the row with the same id (e.g. queued -> sent)."""
        row = self._rows.get(entry.id)
        if row is not None:
            row.set_entry(entry)
            return
        row = ChatRow(entry, self._list)
        self._rows[entry.id] = row
        self._list_layout.insertWidget(self._list_layout.count() - 1, row)
        row.show()
        bar = self._scroll.verticalScrollBar()
        QTimer.singleShot(0, self, lambda: bar.setValue(bar.maximum()))

    @Slot()
    def _submit(self) -> None:
        text = self.input.text()
        if not text.strip():
            return
        try:
            check_signal(CHAT_SIGNAL_TYPE, text)
        except TetherError as exc:
            self.input_error.setText(exc.message)
            self.input_error.show()
            return
        self.input.clear()
        self.send_requested.emit(text, self.only_while_connected.isChecked())
