"""The thin adapter between the client ``Session`` and :class:`Signalling`.

The session owns the WebSocket; the media layer only needs to relay ``rtc`` payloads.
:class:`SessionSignalling` takes the three session hooks as plain callables so it does not
depend on their method names:

* ``local_id()`` — this client's connection id (it survives a resume);
* ``send_rtc(to, payload)`` — sends ``{"op": "rtc", ...}`` *only while connected* and
  returns an awaitable outcome: it either raises :class:`TetherError`, or resolves to
  something with ``status`` (``"sent"`` / ``"failed"``) and ``code`` — both are accepted;
* ``add_rtc_listener(handler)`` — calls ``handler(from_connection_id, payload)`` for every
  ``rtc_relay``, returns an unsubscribe callable.

Lifecycle wiring (the session's callbacks -> the engine) is listed in
:mod:`app.media.engine`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from app.core.errors import ErrorCode, TetherError
from app.media.signalling import PayloadHandler


class SessionSignalling:
    def __init__(
        self,
        *,
        local_id: Callable[[], str],
        send_rtc: Callable[[str, dict[str, Any]], Any],
        add_rtc_listener: Callable[[PayloadHandler], Callable[[], None]],
    ) -> None:
        self._local_id = local_id
        self._send_rtc = send_rtc
        self._add_rtc_listener = add_rtc_listener

    @property
    def local_id(self) -> str:
        return self._local_id()

    async def send(self, to: str, payload: dict[str, Any]) -> None:
        outcome: Any = self._send_rtc(to, payload)
        if inspect.isawaitable(outcome):
            outcome = await outcome
        status = getattr(outcome, "status", "sent")
        if status != "sent":
            code = getattr(outcome, "code", None) or ErrorCode.SIGNAL_NOT_SENT
            message = getattr(outcome, "message", "") or f"rtc payload to {to} not sent"
            raise TetherError(ErrorCode(int(code)), message)

    def add_payload_listener(self, handler: PayloadHandler) -> Callable[[], None]:
        return self._add_rtc_listener(handler)
