"""The media layer's only view of the session: send a payload, hear payloads.

:class:`Signalling` is what :class:`app.media.engine.MediaEngine` needs.  The real
``Session`` is wrapped by a thin adapter (``send`` -> ``session.send_rtc``; the ``rtc_relay``
listener -> the registered handlers); tests use :class:`LoopbackHub`, an in-process relay
that can also hold back or drop payloads.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, Protocol

from app.core.errors import ErrorCode, TetherError

logger = logging.getLogger(__name__)

PayloadHandler = Callable[[str, dict[str, Any]], None]
"""``handler(from_connection_id, payload)``, called on the event loop's thread."""


class Signalling(Protocol):
    @property
    def local_id(self) -> str:
        """This client's connection id."""
        ...

    async def send(self, to: str, payload: dict[str, Any]) -> None:
        """Relay ``payload`` to connection ``to``; return once the server took it.

        Raise :class:`TetherError` when it cannot be delivered (e.g. 1010 while the
        session is reconnecting: stale offers must not be queued for later).
        """
        ...

    def add_payload_listener(self, handler: PayloadHandler) -> Callable[[], None]:
        """Call ``handler`` for every payload relayed to us; returns an unsubscribe."""
        ...


class LoopbackHub:
    """An in-process relay between :class:`LoopbackSignalling` endpoints.

    ``connected = False`` makes sends fail with 1010, as a reconnecting session would.
    """

    def __init__(self) -> None:
        self.endpoints: dict[str, LoopbackSignalling] = {}
        self.connected = True
        self.sent: list[tuple[str, str, dict[str, Any]]] = []

    def endpoint(self, connection_id: str) -> LoopbackSignalling:
        endpoint = LoopbackSignalling(self, connection_id)
        self.endpoints[connection_id] = endpoint
        return endpoint


class LoopbackSignalling:
    def __init__(self, hub: LoopbackHub, connection_id: str) -> None:
        self._hub = hub
        self._id = connection_id
        self._handlers: list[PayloadHandler] = []

    @property
    def local_id(self) -> str:
        return self._id

    async def send(self, to: str, payload: dict[str, Any]) -> None:
        if not self._hub.connected:
            raise TetherError(ErrorCode.NOT_CONNECTED, "the session is reconnecting")
        target = self._hub.endpoints.get(to)
        if target is None:
            raise TetherError(ErrorCode.UNKNOWN_CONNECTION, f"no connection {to!r}")
        self._hub.sent.append((self._id, to, payload))
        # Deliver on a later loop turn, like a message that crossed a socket.
        asyncio.get_running_loop().call_soon(target._deliver, self._id, dict(payload))

    def add_payload_listener(self, handler: PayloadHandler) -> Callable[[], None]:
        self._handlers.append(handler)
        return lambda: self._handlers.remove(handler) if handler in self._handlers else None

    def _deliver(self, sender: str, payload: dict[str, Any]) -> None:
        for handler in list(self._handlers):
            try:
                handler(sender, payload)
            except Exception:
                logger.exception("payload handler failed")
