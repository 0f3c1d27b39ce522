"""A subscription to another participant's stream, at the session level.

A :class:`Subscriber` follows its stream's owner: when the server says the
owner's connection is interrupted the subscriber reports ``on_disconnected``,
and ``on_reconnected`` when it is back.  When the stream is dropped the
subscriber closes (``on_closed``) and says nothing more.  The media layer
attaches its WebRTC work through :meth:`Subscriber.add_listener` and adds
frame-level liveness of its own.

Callbacks are optional methods of the ``callbacks`` object and run on the
event loop's thread; one that raises is logged and does not disturb others.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from app.client.callbacks import call
from app.core.protocol import StreamInfo

logger = logging.getLogger(__name__)

CONNECTED = "connected"
DISCONNECTED = "disconnected"  # the stream's owner is interrupted
CLOSED = "closed"  # the stream is gone, or unsubscribe() was called


class Subscriber:
    """Created by :meth:`Session.subscribe`; not constructed directly."""

    def __init__(self, stream: StreamInfo, callbacks: Any, *, interrupted: bool = False) -> None:
        self.stream = stream
        self.callbacks = callbacks
        self.state = DISCONNECTED if interrupted else CONNECTED
        self._listeners: list[Callable[[Subscriber, str], None]] = []
        self._on_unsubscribe: Callable[[Subscriber], None] | None = None

    def __repr__(self) -> str:
        return f"<Subscriber {self.stream.id} {self.state}>"

    def add_listener(self, listener: Callable[[Subscriber, str], None]) -> Callable[[], None]:
        """``listener(subscriber, what)`` with ``what`` in disconnected / reconnected /
        updated / closed.  Returns a function that removes the listener."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def unsubscribe(self) -> None:
        if self.state == CLOSED:
            return
        self.state = CLOSED
        if self._on_unsubscribe is not None:
            self._on_unsubscribe(self)
        self._notify("closed")

    # --- driven by the Session -----------------------------------------------------------

    def _owner_interrupted(self) -> None:
        if self.state != CONNECTED:
            return
        self.state = DISCONNECTED
        self._notify("disconnected")
        call(self.callbacks, "on_disconnected", self)

    def _owner_resumed(self) -> None:
        if self.state != DISCONNECTED:
            return
        self.state = CONNECTED
        self._notify("reconnected")
        call(self.callbacks, "on_reconnected", self)

    def _stream_updated(self, stream: StreamInfo) -> None:
        if self.state == CLOSED:
            return
        self.stream = stream
        self._notify("updated")

    def _stream_dropped(self, reason: str) -> None:
        if self.state == CLOSED:
            return
        self.state = CLOSED
        self._notify("closed")
        call(self.callbacks, "on_closed", self, reason)

    def _notify(self, what: str) -> None:
        for listener in list(self._listeners):
            try:
                listener(self, what)
            except Exception:
                logger.exception("subscriber listener %r failed on %s", listener, what)
