"""Room state: plain records behind a small store interface.

The hub (``app.server.hub``) owns every rule; the store only keeps records.
:class:`MemoryStore` keeps them in this process.  A shared store (Redis, so
that several server nodes serve one session and a client can resume on
another node) would implement the same methods over serialised records.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Protocol

from app.core.protocol import ConnectionInfo, StreamInfo


@dataclass
class ConnectionRecord:
    info: ConnectionInfo
    session_id: str
    identity: str  # the token's nonce: the same token rejoining is the same identity
    token_expires_at: float
    resume_key: str
    link: int | None  # the socket it is on; None while interrupted
    last_heard: float
    interrupted_at: float | None = None
    seq: int = 0  # last server seq assigned
    # Sequenced messages not yet acknowledged by the client, oldest first.
    unacked: deque[tuple[int, bytes]] = field(default_factory=deque)
    # A gap: the client missed messages that are no longer held, so it can't resume.
    replay_lost: bool = False
    last_csq: int = 0
    can_signal: bool = True
    stream_ids: list[str] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.info.id

    @property
    def interrupted(self) -> bool:
        return self.link is None


@dataclass
class SessionRecord:
    id: str
    connection_ids: list[str] = field(default_factory=list)  # join order
    streams: dict[str, StreamInfo] = field(default_factory=dict)  # creation order


class Store(Protocol):
    def session(self, session_id: str) -> SessionRecord | None: ...
    def add_session(self, record: SessionRecord) -> None: ...
    def remove_session(self, session_id: str) -> None: ...
    def connection(self, connection_id: str) -> ConnectionRecord | None: ...
    def add_connection(self, record: ConnectionRecord) -> None: ...
    def remove_connection(self, connection_id: str) -> None: ...
    def connections(self) -> list[ConnectionRecord]: ...
    def session_count(self) -> int: ...


class MemoryStore:
    """Records in dictionaries of this process."""

    def __init__(self) -> None:
        self._sessions: dict[str, SessionRecord] = {}
        self._connections: dict[str, ConnectionRecord] = {}

    def session(self, session_id: str) -> SessionRecord | None:
        return self._sessions.get(session_id)

    def add_session(self, record: SessionRecord) -> None:
        self._sessions[record.id] = record

    def remove_session(self, session_id: str) -> None:
        self._sessions.pop(session_id, None)

    def connection(self, connection_id: str) -> ConnectionRecord | None:
        return self._connections.get(connection_id)

    def add_connection(self, record: ConnectionRecord) -> None:
        self._connections[record.id] = record

    def remove_connection(self, connection_id: str) -> None:
        self._connections.pop(connection_id, None)

    def connections(self) -> list[ConnectionRecord]:
        return list(self._connections.values())

    def session_count(self) -> int:
        return len(self._sessions)
