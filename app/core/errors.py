"""Stable error codes shared by the server, the client and the tools.

Codes follow the spirit of the Vonage Video API's: 1xxx numbers that never
change meaning.  Each code has a direction:

* ``LOCAL`` — the caller misused the API (bad argument, not connected); fixing
  the call fixes it.
* ``REMOTE`` — the server refused or the network failed; the person may act
  (get a new token, check the network) but the code was used correctly.

When the server must close a socket because of an error, the WebSocket close
code is ``4000 + (code - 1000)``, e.g. 1004 closes with 4004.
"""

from __future__ import annotations

import enum


class Direction(enum.Enum):
    LOCAL = "local"
    REMOTE = "remote"


class ErrorCode(enum.IntEnum):
    # Authentication and session.
    AUTHORIZATION_FAILURE = 1004  # forged, malformed or unsigned token
    INVALID_SESSION = 1005  # token is for another session / bad session id
    TOKEN_EXPIRED = 1007
    NOT_CONNECTED = 1010
    INVALID_PARAMETER = 1011
    RESUME_REJECTED = 1012  # connection not held, or resume key wrong
    CONNECT_FAILED = 1013  # server unreachable
    # Protocol.
    MALFORMED_MESSAGE = 1400
    UNKNOWN_MESSAGE = 1401
    NOT_JOINED = 1402  # a message other than join/resume before joining
    ALREADY_JOINED = 1403
    UNKNOWN_CONNECTION = 1404
    UNKNOWN_STREAM = 1405
    MESSAGE_TOO_LARGE = 1409  # WebSocket frame over the server's limit
    SESSION_FULL = 1420  # connections per session
    SERVER_FULL = 1421  # sessions per server
    TOO_MANY_REQUESTS = 1429  # a rate limit; slow down and try again
    # Signals.
    SIGNAL_DATA_TOO_LONG = 1413
    SIGNAL_TYPE_TOO_LONG = 1414
    SIGNAL_INVALID_TYPE = 1461
    SIGNAL_QUEUE_FULL = 1462  # local outbox is full
    SIGNAL_NOT_SENT = 1463  # the session ended before the signal went out
    # Roles.
    PUBLISH_FORBIDDEN = 1501  # token's role may not publish
    NOT_STREAM_OWNER = 1502
    MODERATION_FORBIDDEN = 1503  # force-disconnect / force-unpublish need a moderator token
    SUBSCRIBE_FORBIDDEN = 1504  # the token's role may not subscribe
    SIGNAL_FORBIDDEN = 1505  # the token does not allow sending signals
    # Server.
    INTERNAL_ERROR = 2000


DIRECTION: dict[ErrorCode, Direction] = {
    ErrorCode.AUTHORIZATION_FAILURE: Direction.REMOTE,
    ErrorCode.INVALID_SESSION: Direction.REMOTE,
    ErrorCode.TOKEN_EXPIRED: Direction.REMOTE,
    ErrorCode.NOT_CONNECTED: Direction.LOCAL,
    ErrorCode.INVALID_PARAMETER: Direction.LOCAL,
    ErrorCode.RESUME_REJECTED: Direction.REMOTE,
    ErrorCode.CONNECT_FAILED: Direction.REMOTE,
    ErrorCode.MALFORMED_MESSAGE: Direction.LOCAL,
    ErrorCode.UNKNOWN_MESSAGE: Direction.LOCAL,
    ErrorCode.NOT_JOINED: Direction.LOCAL,
    ErrorCode.ALREADY_JOINED: Direction.LOCAL,
    ErrorCode.UNKNOWN_CONNECTION: Direction.LOCAL,
    ErrorCode.UNKNOWN_STREAM: Direction.LOCAL,
    ErrorCode.MESSAGE_TOO_LARGE: Direction.LOCAL,
    ErrorCode.SESSION_FULL: Direction.REMOTE,
    ErrorCode.SERVER_FULL: Direction.REMOTE,
    ErrorCode.TOO_MANY_REQUESTS: Direction.REMOTE,
    ErrorCode.SIGNAL_DATA_TOO_LONG: Direction.LOCAL,
    ErrorCode.SIGNAL_TYPE_TOO_LONG: Direction.LOCAL,
    ErrorCode.SIGNAL_INVALID_TYPE: Direction.LOCAL,
    ErrorCode.SIGNAL_QUEUE_FULL: Direction.LOCAL,
    ErrorCode.SIGNAL_NOT_SENT: Direction.REMOTE,
    ErrorCode.PUBLISH_FORBIDDEN: Direction.REMOTE,
    ErrorCode.NOT_STREAM_OWNER: Direction.LOCAL,
    ErrorCode.MODERATION_FORBIDDEN: Direction.REMOTE,
    ErrorCode.SUBSCRIBE_FORBIDDEN: Direction.REMOTE,
    ErrorCode.SIGNAL_FORBIDDEN: Direction.REMOTE,
    ErrorCode.INTERNAL_ERROR: Direction.REMOTE,
}


def close_code(code: int) -> int:
    """WebSocket close code (4000-4999, application range) for an error code."""
    return 4000 + (int(code) - 1000) if 1000 <= int(code) < 2000 else 4999


class TetherError(Exception):
    """An error with a stable code and a message a person can act on."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(f"[{int(code)}] {message}")
        self.code = ErrorCode(code)
        self.message = message

    @property
    def direction(self) -> Direction:
        return DIRECTION.get(self.code, Direction.REMOTE)
