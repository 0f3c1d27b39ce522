"""Who else is in the session and what they publish, as this client knows it.

The roster applies the server's membership messages and turns them into
events.  After a resume it reconciles itself with the server's list of
connections and streams, so a participant who came or went while this client
was away (and whose news was not in the replay) is still reported — nobody is
left a ghost.  Own streams are not in the roster; the client tracks them
itself.
"""

from __future__ import annotations

from app.core import events as ev
from app.core.protocol import (
    REASON_NETWORK_DISCONNECTED,
    ConnectionInfo,
    StreamInfo,
)

# The reason given for a connection or stream found gone on reconcile, when the
# replay did not carry its real drop message.
REASON_GONE_WHILE_AWAY = REASON_NETWORK_DISCONNECTED


class Roster:
    def __init__(self) -> None:
        self.own_id = ""
        self.connections: dict[str, ConnectionInfo] = {}
        self.streams: dict[str, StreamInfo] = {}
        self.interrupted: set[str] = set()

    def clear(self) -> None:
        self.connections.clear()
        self.streams.clear()
        self.interrupted.clear()

    def load(
        self,
        own_id: str,
        connections: list[ConnectionInfo],
        streams: list[StreamInfo],
        interrupted: list[str] | None = None,
    ) -> list[ev.Event]:
        """The first picture (``welcome``): everyone already there is reported as created;
        those who are away right now are marked so (their subscribers start disconnected)."""
        self.own_id = own_id
        self.clear()
        out: list[ev.Event] = []
        for conn in connections:
            out += self.connection_created(conn)
        for stream in streams:
            out += self.stream_created(stream)
        self.interrupted = {c for c in interrupted or () if c in self.connections}
        return out

    # --- membership messages ------------------------------------------------------------

    def connection_created(self, conn: ConnectionInfo) -> list[ev.Event]:
        if conn.id == self.own_id:
            return []
        known = conn.id in self.connections
        self.connections[conn.id] = conn
        return [] if known else [ev.ConnectionCreated(conn)]

    def connection_dropped(self, conn_id: str, reason: str) -> list[ev.Event]:
        conn = self.connections.pop(conn_id, None)
        self.interrupted.discard(conn_id)
        if conn is None:
            return []
        # The server drops streams first; any left over go with their owner.
        out: list[ev.Event] = []
        for stream in [s for s in self.streams.values() if s.connection_id == conn_id]:
            out += self.stream_dropped(stream.id, reason)
        out.append(ev.ConnectionDropped(conn, reason))
        return out

    def connection_interrupted(self, conn_id: str) -> list[ev.Event]:
        conn = self.connections.get(conn_id)
        if conn is None or conn_id in self.interrupted:
            return []
        self.interrupted.add(conn_id)
        out: list[ev.Event] = [ev.ConnectionInterrupted(conn)]
        out += [ev.StreamInterrupted(s) for s in self._streams_of(conn_id)]
        return out

    def connection_resumed(self, conn_id: str) -> list[ev.Event]:
        conn = self.connections.get(conn_id)
        if conn is None or conn_id not in self.interrupted:
            return []
        self.interrupted.discard(conn_id)
        out: list[ev.Event] = [ev.ConnectionResumed(conn)]
        out += [ev.StreamResumed(s) for s in self._streams_of(conn_id)]
        return out

    def stream_created(self, stream: StreamInfo) -> list[ev.Event]:
        if stream.connection_id == self.own_id:
            return []
        known = stream.id in self.streams
        self.streams[stream.id] = stream
        if known:
            return [ev.StreamUpdated(stream)]
        return [ev.StreamReceived(stream)]

    def stream_dropped(self, stream_id: str, reason: str) -> list[ev.Event]:
        stream = self.streams.pop(stream_id, None)
        return [] if stream is None else [ev.StreamDropped(stream, reason)]

    def stream_updated(self, stream: StreamInfo) -> list[ev.Event]:
        if stream.connection_id == self.own_id:
            return []
        if stream.id not in self.streams:
            return self.stream_created(stream)
        if self.streams[stream.id] == stream:
            return []
        self.streams[stream.id] = stream
        return [ev.StreamUpdated(stream)]

    # --- after a resume -----------------------------------------------------------------

    def reconcile(
        self,
        connections: list[ConnectionInfo],
        streams: list[StreamInfo],
        interrupted: list[str] | None = None,
    ) -> list[ev.Event]:
        """Make the roster equal to the server's picture and report every difference.

        ``interrupted`` (who is away now) is applied only when the server sent it."""
        want_conns = {c.id: c for c in connections if c.id != self.own_id}
        want_streams = {s.id: s for s in streams if s.connection_id != self.own_id}
        out: list[ev.Event] = []
        for stream_id in [s for s in self.streams if s not in want_streams]:
            out += self.stream_dropped(stream_id, REASON_GONE_WHILE_AWAY)
        for conn_id in [c for c in self.connections if c not in want_conns]:
            out += self.connection_dropped(conn_id, REASON_GONE_WHILE_AWAY)
        for conn in want_conns.values():
            out += self.connection_created(conn)
        for stream in want_streams.values():
            out += self.stream_updated(stream)
        if interrupted is not None:
            away = set(interrupted)
            for conn_id in list(self.connections):
                if conn_id in away:
                    out += self.connection_interrupted(conn_id)
                else:
                    out += self.connection_resumed(conn_id)
        return out

    def _streams_of(self, conn_id: str) -> list[StreamInfo]:
        return [s for s in self.streams.values() if s.connection_id == conn_id]
