"""What the client connection reports to its driver: commands to run and events that happened.

Both are frozen values.  Times are on the clock the driver passes in as ``now``
(``loop.time()`` for the asyncio driver), not wall-clock time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.core.protocol import ConnectionInfo, StreamInfo
from app.core.reconnect import State

# --- commands: what the driver must do ---------------------------------------------------


@dataclass(frozen=True)
class OpenTransport:
    """Open a new socket to the server and report back with ``transport_id``."""

    transport_id: int


@dataclass(frozen=True)
class SendMessage:
    """Send this message on the open transport ``transport_id``."""

    transport_id: int
    message: Any  # an app.core.protocol client message


@dataclass(frozen=True)
class CloseTransport:
    """Close transport ``transport_id``; do not report its loss back (it is already known).

    ``graceful``: write what is already queued on it first (the ``leave``), then close;
    otherwise abort at once (the link is presumed dead).
    """

    transport_id: int
    reason: str
    graceful: bool = False


Command = OpenTransport | SendMessage | CloseTransport

# --- events: what happened -------------------------------------------------------------


@dataclass(frozen=True)
class StateChanged:
    old: State
    new: State


@dataclass(frozen=True)
class Connected:
    session_id: str
    connection: ConnectionInfo


@dataclass(frozen=True)
class ConnectFailed:
    """The first join did not succeed; the session is disconnected."""

    code: int
    message: str


@dataclass(frozen=True)
class ReconnectionStarted:
    reason: str  # why the link counts as lost: "silence", "socket closed: …"
    window_deadline: float


@dataclass(frozen=True)
class Reconnected:
    attempts: int  # how many attempts this outage took
    replay_count: int  # how many missed messages the server replays after this


@dataclass(frozen=True)
class Disconnected:
    reason: str  # "client_disconnected", "network_disconnected", "resume_rejected", …
    code: int | None = None  # the error code behind it, when there is one


@dataclass(frozen=True)
class ErrorReceived:
    """An error the server reported that is not about one request."""

    code: int
    message: str


@dataclass(frozen=True)
class ConnectionCreated:
    connection: ConnectionInfo


@dataclass(frozen=True)
class ConnectionDropped:
    connection: ConnectionInfo
    reason: str


@dataclass(frozen=True)
class ConnectionInterrupted:
    """Another participant lost its link; the server keeps its place for the window."""

    connection: ConnectionInfo


@dataclass(frozen=True)
class ConnectionResumed:
    connection: ConnectionInfo


@dataclass(frozen=True)
class StreamReceived:
    stream: StreamInfo


@dataclass(frozen=True)
class StreamDropped:
    stream: StreamInfo
    reason: str


@dataclass(frozen=True)
class StreamUpdated:
    stream: StreamInfo


@dataclass(frozen=True)
class StreamInterrupted:
    """The stream's owner is interrupted: its subscribers report ``on_disconnected``."""

    stream: StreamInfo


@dataclass(frozen=True)
class StreamResumed:
    """The stream's owner is back: its subscribers report ``on_reconnected``."""

    stream: StreamInfo


@dataclass(frozen=True)
class SignalReceived:
    type: str
    data: str
    from_id: str
    to: str | None


@dataclass(frozen=True)
class RtcReceived:
    from_id: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class RequestDone:
    """The outcome of one request (signal, publish, unpublish, update_stream, rtc)."""

    request_id: int
    kind: str
    status: str  # "sent" (the server acknowledged it) or "failed"
    code: int | None = None
    message: str = ""
    stream_id: str | None = None


Event = (
    StateChanged
    | Connected
    | ConnectFailed
    | ReconnectionStarted
    | Reconnected
    | Disconnected
    | ErrorReceived
    | ConnectionCreated
    | ConnectionDropped
    | ConnectionInterrupted
    | ConnectionResumed
    | StreamReceived
    | StreamDropped
    | StreamUpdated
    | StreamInterrupted
    | StreamResumed
    | SignalReceived
    | RtcReceived
    | RequestDone
)
