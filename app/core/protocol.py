"""The Tether session protocol: every message that crosses the WebSocket.

Messages are JSON objects tagged by ``"op"``.  See ``docs/protocol.md`` for
the conversation they make up.  This module only defines shapes and the
encode/decode functions; it performs no I/O.

Sequencing
----------
* Every client request except ``join``, ``resume``, ``ping`` and ``leave``
  carries ``csq``, the client sequence number (1, 2, 3 … per connection, kept
  across resumes).  The server answers each with an ``ack`` or an ``error``
  carrying the same ``csq`` and drops a ``csq`` it has already processed.
* Every server message that belongs to the session's story carries ``seq``
  (1, 2, 3 … per connection).  The server keeps the ones the client has not
  acknowledged (``ping.ack``) and replays them after a resume; ``seq == 0``
  marks a message outside the story (``welcome``, ``resumed``, ``pong`` and
  errors about unparsable input).
"""

from __future__ import annotations

from typing import Any

import msgspec

from app.core.errors import ErrorCode, TetherError

PROTOCOL_VERSION = 1


class _Msg(msgspec.Struct, tag_field="op", forbid_unknown_fields=False, omit_defaults=True):
    pass


# --- shared values -------------------------------------------------------------------------


class ConnectionInfo(msgspec.Struct, frozen=True):
    id: str
    data: str
    created_at: float
    role: str


class StreamInfo(msgspec.Struct, frozen=True):
    id: str
    connection_id: str
    name: str
    has_audio: bool
    has_video: bool
    created_at: float
    # Why video is off when has_video is False: "publish_video_off" or "".
    video_reason: str = ""


# --- client -> server ----------------------------------------------------------------------


class Join(_Msg, tag="join"):
    token: str
    version: int = PROTOCOL_VERSION
    # The session the client means to join; refused (1005) if the token is for another.
    session_id: str | None = None


class Resume(_Msg, tag="resume"):
    connection_id: str
    resume_key: str
    last_seq: int  # the highest server seq this client has received


class Ping(_Msg, tag="ping"):
    t: float = 0.0
    ack: int = 0  # highest server seq received, lets the server trim its replay buffer


class Signal(_Msg, tag="signal"):
    csq: int
    type: str = ""
    data: str = ""
    to: str | None = None


class Publish(_Msg, tag="publish"):
    csq: int
    name: str = ""
    has_audio: bool = True
    has_video: bool = True


class Unpublish(_Msg, tag="unpublish"):
    csq: int
    stream_id: str


class UpdateStream(_Msg, tag="update_stream"):
    csq: int
    stream_id: str
    has_audio: bool | None = None
    has_video: bool | None = None


class Rtc(_Msg, tag="rtc"):
    """Relay of a WebRTC offer / answer / ICE candidate to one connection."""

    csq: int
    to: str
    payload: dict[str, Any]


class ForceDisconnect(_Msg, tag="force_disconnect"):
    """A moderator removes a connection from the session."""

    csq: int
    connection_id: str


class ForceUnpublish(_Msg, tag="force_unpublish"):
    """A moderator stops a stream."""

    csq: int
    stream_id: str


class Leave(_Msg, tag="leave"):
    pass


ClientMessage = (
    Join
    | Resume
    | Ping
    | Signal
    | Publish
    | Unpublish
    | UpdateStream
    | Rtc
    | ForceDisconnect
    | ForceUnpublish
    | Leave
)

# --- server -> client ----------------------------------------------------------------------


class Welcome(_Msg, tag="welcome"):
    session_id: str
    connection: ConnectionInfo
    resume_key: str
    reconnection_window: float
    heartbeat_interval: float
    heartbeat_timeout: float
    connections: list[ConnectionInfo]  # the others, in join order
    streams: list[StreamInfo]
    interrupted: list[str] = []  # ids of the others that are away right now
    seq: int = 0


class Resumed(_Msg, tag="resumed"):
    resume_key: str  # the next key; the one just used is spent
    last_csq: int  # the highest client csq the server has processed
    replay_from: int  # first seq of the replay that follows
    replay_count: int
    connections: list[ConnectionInfo]  # the others now (after the replay is applied)
    streams: list[StreamInfo]
    interrupted: list[str] = []
    seq: int = 0


class Pong(_Msg, tag="pong"):
    t: float = 0.0
    seq: int = 0


class Ack(_Msg, tag="ack"):
    csq: int
    stream_id: str | None = None
    duplicate: bool = False
    seq: int = 0


class Error(_Msg, tag="error"):
    code: int
    message: str
    csq: int | None = None
    seq: int = 0


class ConnectionCreated(_Msg, tag="connection_created"):
    connection: ConnectionInfo
    seq: int = 0


class ConnectionDropped(_Msg, tag="connection_dropped"):
    connection_id: str
    reason: str
    seq: int = 0


class ConnectionInterrupted(_Msg, tag="connection_interrupted"):
    connection_id: str
    seq: int = 0


class ConnectionResumed(_Msg, tag="connection_resumed"):
    connection_id: str
    seq: int = 0


class StreamCreated(_Msg, tag="stream_created"):
    stream: StreamInfo
    seq: int = 0


class StreamDropped(_Msg, tag="stream_dropped"):
    stream_id: str
    reason: str
    seq: int = 0


class StreamUpdated(_Msg, tag="stream_updated"):
    stream: StreamInfo
    seq: int = 0


class SignalReceived(_Msg, tag="signal_received"):
    from_: str = msgspec.field(name="from")
    type: str = ""
    data: str = ""
    to: str | None = None
    seq: int = 0


class RtcRelay(_Msg, tag="rtc_relay"):
    from_: str = msgspec.field(name="from")
    payload: dict[str, Any] = {}
    seq: int = 0


class Closing(_Msg, tag="closing"):
    """The server is about to close this socket for good (not a network drop)."""

    code: int
    reason: str
    seq: int = 0


ServerMessage = (
    Welcome
    | Resumed
    | Pong
    | Ack
    | Error
    | ConnectionCreated
    | ConnectionDropped
    | ConnectionInterrupted
    | ConnectionResumed
    | StreamCreated
    | StreamDropped
    | StreamUpdated
    | SignalReceived
    | RtcRelay
    | Closing
)

# Drop reasons, as others see them (the seed's and Vonage's names).
REASON_CLIENT_DISCONNECTED = "client_disconnected"
REASON_NETWORK_DISCONNECTED = "network_disconnected"
REASON_FORCE_DISCONNECTED = "force_disconnected"
REASON_REPLACED = "replaced"  # the same identity joined afresh while this one was away
REASON_SERVER_SHUTDOWN = "server_shutdown"
REASON_UNPUBLISHED = "unpublished"
REASON_FORCE_UNPUBLISHED = "force_unpublished"

# --- codecs -------------------------------------------------------------------------------

_encoder = msgspec.json.Encoder()
_client_decoder = msgspec.json.Decoder(ClientMessage)
_server_decoder = msgspec.json.Decoder(ServerMessage)
CLIENT_OPS = frozenset(
    {
        "join",
        "resume",
        "ping",
        "signal",
        "publish",
        "unpublish",
        "update_stream",
        "rtc",
        "force_disconnect",
        "force_unpublish",
        "leave",
    }
)


def encode(message: _Msg) -> bytes:
    return _encoder.encode(message)


def decode_client(data: bytes | str) -> ClientMessage:
    """Parse one client message or raise :class:`TetherError` with a stable code."""
    try:
        return _client_decoder.decode(data)
    except msgspec.ValidationError as exc:
        op = _peek_op(data)
        if op is not None and op not in CLIENT_OPS:
            raise TetherError(ErrorCode.UNKNOWN_MESSAGE, f"unknown message op {op!r}") from None
        raise TetherError(ErrorCode.MALFORMED_MESSAGE, f"invalid message: {exc}") from None
    except msgspec.DecodeError as exc:
        raise TetherError(ErrorCode.MALFORMED_MESSAGE, f"not valid JSON: {exc}") from None


def decode_server(data: bytes | str) -> ServerMessage:
    try:
        return _server_decoder.decode(data)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise TetherError(ErrorCode.MALFORMED_MESSAGE, f"bad server message: {exc}") from None


def _peek_op(data: bytes | str) -> str | None:
    try:
        obj = msgspec.json.decode(data)
    except msgspec.DecodeError:
        return None
    if isinstance(obj, dict) and isinstance(obj.get("op"), str):
        return obj["op"]
    return None
