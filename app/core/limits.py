"""Limits that both ends enforce, so a bad call fails before it is sent."""

from __future__ import annotations

import re

from app.core.errors import ErrorCode, TetherError

SIGNAL_TYPE_MAX = 128
SIGNAL_DATA_MAX = 8192  # bytes of UTF-8
CONNECTION_DATA_MAX = 1000  # characters
FRAME_MAX = 64 * 1024  # bytes of one WebSocket frame
_SIGNAL_TYPE_RE = re.compile(r"[A-Za-z0-9\-_~]*")


def check_signal(type_: str, data: str) -> None:
    """Raise :class:`TetherError` if a signal's type or data breaks the limits."""
    if not isinstance(type_, str) or not isinstance(data, str):
        raise TetherError(ErrorCode.INVALID_PARAMETER, "signal type and data must be strings")
    if len(type_) > SIGNAL_TYPE_MAX:
        raise TetherError(
            ErrorCode.SIGNAL_TYPE_TOO_LONG,
            f"signal type is {len(type_)} characters; the limit is {SIGNAL_TYPE_MAX}",
        )
    if _SIGNAL_TYPE_RE.fullmatch(type_) is None:
        raise TetherError(
            ErrorCode.SIGNAL_INVALID_TYPE,
            "signal type may only contain A-Z a-z 0-9 - _ ~",
        )
    size = len(data.encode("utf-8", "surrogatepass"))
    if size > SIGNAL_DATA_MAX:
        raise TetherError(
            ErrorCode.SIGNAL_DATA_TOO_LONG,
            f"signal data is {size} bytes; the limit is {SIGNAL_DATA_MAX}",
        )
