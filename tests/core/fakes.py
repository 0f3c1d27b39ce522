"""Test doubles for the sans-I/O client: a message-level server and a network with a fake clock.

``FakeServer`` speaks docs/protocol.md at the level of message objects (no
sockets): join, resume with replay, acks with duplicate checks, heartbeats,
the reconnection window.  ``Net`` wires ``ClientConnection``s to it through
links that can be up, black-holed or cut, and moves a fake clock from one
timer to the next.  Nothing sleeps.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any

from app.core import events as ev
from app.core import protocol as p
from app.core.connection import ClientConnection

Key = tuple[str, int]  # (peer name, transport id): one socket


@dataclass
class _Held:
    info: p.ConnectionInfo
    key: str
    socket: Key | None
    last_rx: float
    seq: int = 0
    last_csq: int = 0
    buffer: list[Any] = field(default_factory=list)  # unacknowledged story messages
    window_end: float = math.inf


class FakeServer:
    def __init__(self, window: float = 30.0, heartbeat_timeout: float = 5.0) -> None:
        self.window = window
        self.heartbeat_timeout = heartbeat_timeout
        self.held: dict[str, _Held] = {}  # by connection id
        self.by_socket: dict[Key, str] = {}
        self.streams: dict[str, p.StreamInfo] = {}
        self.out: list[tuple[Key, Any]] = []  # messages to deliver
        self.closed: list[Key] = []  # sockets the server closed
        self.received: list[tuple[str, Any]] = []  # (connection id, message) it processed
        self._ids = itertools.count(1)
        self.forget_buffers = False  # simulate a replay buffer that overflowed

    # --- helpers --------------------------------------------------------------------------

    def _story(self, cid: str, msg: Any) -> None:
        h = self.held[cid]
        h.seq += 1
        msg = type(msg)(**{**_fields(msg), "seq": h.seq})
        h.buffer.append(msg)
        if h.socket is not None:
            self.out.append((h.socket, msg))

    def _others(self, cid: str) -> list[str]:
        return [c for c in self.held if c != cid]

    def _close(self, sock: Key) -> None:
        self.by_socket.pop(sock, None)
        self.closed.append(sock)

    # --- socket events --------------------------------------------------------------------

    def receive(self, sock: Key, msg: Any, now: float) -> None:
        cid = self.by_socket.get(sock)
        if cid is not None:
            self.held[cid].last_rx = now
        if isinstance(msg, p.Join):
            self._join(sock, msg, now)
        elif isinstance(msg, p.Resume):
            self._resume(sock, msg, now)
        elif cid is None:
            self.out.append((sock, p.Error(code=1402, message="not joined")))
        elif isinstance(msg, p.Ping):
            h = self.held[cid]
            h.buffer = [m for m in h.buffer if m.seq > msg.ack]
            self.out.append((sock, p.Pong(t=msg.t)))
        elif isinstance(msg, p.Leave):
            self._drop(cid, p.REASON_CLIENT_DISCONNECTED)
            self._close(sock)
        else:
            self._request(cid, msg)

    def _join(self, sock: Key, msg: p.Join, now: float) -> None:
        if msg.token != "ok":
            self.out.append((sock, p.Error(code=1004, message="token signature is invalid")))
            self._close(sock)
            return
        n = next(self._ids)
        cid = f"c{n}"
        info = p.ConnectionInfo(id=cid, data=sock[0], created_at=now, role="publisher")
        others = [self.held[c].info for c in self.held]
        self.held[cid] = _Held(info, f"k{n}-0", sock, now)
        self.by_socket[sock] = cid
        self.out.append(
            (
                sock,
                p.Welcome(
                    session_id="ses_test0000",
                    connection=info,
                    resume_key=self.held[cid].key,
                    reconnection_window=self.window,
                    heartbeat_interval=1.0,
                    heartbeat_timeout=self.heartbeat_timeout,
                    connections=others,
                    streams=list(self.streams.values()),
                    interrupted=[c for c, h in self.held.items() if h.socket is None],
                ),
            )
        )
        for other in self._others(cid):
            self._story(other, p.ConnectionCreated(connection=info))

    def _resume(self, sock: Key, msg: p.Resume, now: float) -> None:
        h = self.held.get(msg.connection_id)
        if h is None or h.key != msg.resume_key:
            self.out.append((sock, p.Error(code=1012, message="resume rejected")))
            self._close(sock)
            return
        was_interrupted = h.socket is None
        if h.socket is not None:  # the old socket is half-open; the resume takes over
            self.by_socket.pop(h.socket, None)
        h.socket = sock
        h.last_rx = now
        h.window_end = math.inf
        h.key = h.key.split("-")[0] + f"-{int(h.key.split('-')[1]) + 1}"
        self.by_socket[sock] = msg.connection_id
        h.buffer = [m for m in h.buffer if m.seq > msg.last_seq]
        if self.forget_buffers:
            h.buffer = []
        replay = list(h.buffer)
        self.out.append(
            (
                sock,
                p.Resumed(
                    resume_key=h.key,
                    last_csq=h.last_csq,
                    replay_from=replay[0].seq if replay else h.seq + 1,
                    replay_count=len(replay),
                    connections=[self.held[c].info for c in self._others(msg.connection_id)],
                    streams=list(self.streams.values()),
                    interrupted=[
                        c for c in self._others(msg.connection_id) if self.held[c].socket is None
                    ],
                ),
            )
        )
        self.out.extend((sock, m) for m in replay)
        if was_interrupted:
            for other in self._others(msg.connection_id):
                self._story(other, p.ConnectionResumed(connection_id=msg.connection_id))

    def _request(self, cid: str, msg: Any) -> None:
        h = self.held[cid]
        if msg.csq <= h.last_csq:
            self._story(cid, p.Ack(csq=msg.csq, duplicate=True))
            return
        h.last_csq = msg.csq
        self.received.append((cid, msg))
        if isinstance(msg, p.Signal):
            if msg.to is not None and msg.to not in self.held:
                self._story(cid, p.Error(code=1404, message="unknown connection", csq=msg.csq))
                return
            self._story(cid, p.Ack(csq=msg.csq))
            targets = list(self.held) if msg.to is None else [msg.to]
            for t in targets:
                self._story(t, p.SignalReceived(from_=cid, type=msg.type, data=msg.data, to=msg.to))
        elif isinstance(msg, p.Publish):
            sid = f"s{next(self._ids)}"
            stream = p.StreamInfo(
                id=sid,
                connection_id=cid,
                name=msg.name,
                has_audio=msg.has_audio,
                has_video=msg.has_video,
                created_at=0.0,
            )
            self.streams[sid] = stream
            self._story(cid, p.Ack(csq=msg.csq, stream_id=sid))
            for other in self._others(cid):
                self._story(other, p.StreamCreated(stream=stream))
        else:
            self._story(cid, p.Ack(csq=msg.csq))

    def socket_closed(self, sock: Key, now: float) -> None:
        cid = self.by_socket.pop(sock, None)
        if cid is not None and self.held[cid].socket == sock:
            self._interrupt(cid, now)

    def _interrupt(self, cid: str, now: float) -> None:
        h = self.held[cid]
        h.socket = None
        h.window_end = now + self.window
        for other in self._others(cid):
            self._story(other, p.ConnectionInterrupted(connection_id=cid))

    def _drop(self, cid: str, reason: str) -> None:
        for sid in [s for s, st in self.streams.items() if st.connection_id == cid]:
            del self.streams[sid]
            for other in self._others(cid):
                self._story(other, p.StreamDropped(stream_id=sid, reason=reason))
        for other in self._others(cid):
            self._story(other, p.ConnectionDropped(connection_id=cid, reason=reason))
        del self.held[cid]

    def forget(self, cid: str) -> None:
        """Like a restarted server: the connection is gone and nobody is told."""
        h = self.held.pop(cid)
        if h.socket:
            self.by_socket.pop(h.socket, None)

    # --- time ---------------------------------------------------------------------------

    def next_deadline(self) -> float:
        times = [math.inf]
        for h in self.held.values():
            times.append(h.last_rx + self.heartbeat_timeout if h.socket else h.window_end)
        return min(times)

    def tick(self, now: float) -> None:
        for cid, h in list(self.held.items()):
            if h.socket is not None and now >= h.last_rx + self.heartbeat_timeout:
                self.by_socket.pop(h.socket, None)
                self.closed.append(h.socket)
                self._interrupt(cid, now)
            elif h.socket is None and now >= h.window_end:
                self._drop(cid, p.REASON_NETWORK_DISCONNECTED)


def _fields(msg: Any) -> dict[str, Any]:
    return {f: getattr(msg, f) for f in msg.__struct_fields__}


# --- the network ----------------------------------------------------------------------


class Peer:
    def __init__(self, name: str, conn: ClientConnection) -> None:
        self.name = name
        self.conn = conn
        self.link = "up"  # "up" | "slow" | "black_hole" | "down" | "unreachable"
        self.open_after = 0.0  # on a "slow" link: how long a new connection takes
        self.open: set[int] = set()  # transport ids the client believes open
        # Frames caught in a black hole: ("up" | "down", transport id, message).  Like TCP,
        # a socket that survives the hole delivers them late; a socket closed meanwhile
        # loses them.
        self.held: list[tuple[str, int, Any]] = []
        self.history: list[tuple[float, Any]] = []  # every event with its time

    def events(self, *types: type) -> list[Any]:
        """Recorded events (without StateChanged), optionally of the given types only."""
        return [
            e
            for _, e in self.history
            if not isinstance(e, ev.StateChanged) and (not types or isinstance(e, types))
        ]

    def names(self) -> list[str]:
        return [type(e).__name__ for e in self.events()]


CONNECT_ATTEMPT_TIMEOUT = 1.0  # the driver's per-attempt socket timeout
FLOWING = ("up", "slow")  # links on which open sockets carry messages


class Net:
    def __init__(self, server: FakeServer | None = None, start: float = 1000.0) -> None:
        self.server = server or FakeServer()
        self.now = start
        self.peers: dict[str, Peer] = {}
        # Connects not yet answered: (when, peer, tid, opens?) -- black-holed or slow.
        self._pending_opens: list[tuple[float, str, int, bool]] = []

    def add(self, name: str, token: str = "ok", connect: bool = True, **kwargs: Any) -> Peer:
        peer = Peer(name, ClientConnection(token, name=name, **kwargs))
        self.peers[name] = peer
        if connect:
            peer.conn.connect(self.now)
            self.pump()
        return peer

    # --- link faults --------------------------------------------------------------------

    def cut(self, name: str) -> None:
        """Reset both ends (the server and the client learn at once); refuse new ones."""
        self.peers[name].link = "down"
        self._reset_sockets(name)

    def reset(self, name: str) -> None:
        """Reset the sockets, but the network stays up: a new connection works at once."""
        self._reset_sockets(name)

    def _reset_sockets(self, name: str) -> None:
        peer = self.peers[name]
        for tid in sorted(peer.open):
            self.server.socket_closed((name, tid), self.now)
            peer.open.discard(tid)
            peer.conn.transport_lost(tid, self.now, "connection reset")
        self.pump()

    def black_hole(self, name: str) -> None:
        self.peers[name].link = "black_hole"

    def unreachable(self, name: str) -> None:
        """Reset the sockets; new connections fail at once with no answer (Wi-Fi off)."""
        self.peers[name].link = "unreachable"
        self._reset_sockets(name)

    def slow(self, name: str, open_after: float) -> None:
        """A working link on which a new connection takes ``open_after`` seconds to open."""
        self.peers[name].link = "slow"
        self.peers[name].open_after = open_after

    def opening(self, name: str) -> int:
        """How many of ``name``'s connects are still unanswered."""
        return sum(1 for _, n, _, _ in self._pending_opens if n == name)

    def restore(self, name: str) -> None:
        peer = self.peers[name]
        peer.link = "up"
        held, peer.held = peer.held, []
        for direction, tid, msg in held:
            if tid not in peer.open:
                continue
            if direction == "up":
                if (name, tid) in self.server.by_socket:
                    self.server.receive((name, tid), msg, self.now)
            else:
                peer.conn.receive(tid, msg, self.now)
        self.pump()

    # --- running ------------------------------------------------------------------------

    def pump(self) -> None:
        busy = True
        while busy:
            busy = False
            for peer in self.peers.values():
                for cmd in peer.conn.take_commands():
                    busy = True
                    self._run(peer, cmd)
                for event in peer.conn.take_events():
                    peer.history.append((self.now, event))
            out, self.server.out = self.server.out, []
            for (name, tid), msg in out:
                busy = True
                peer = self.peers[name]
                if peer.link in FLOWING and tid in peer.open:
                    peer.conn.receive(tid, msg, self.now)
                elif peer.link == "black_hole" and tid in peer.open:
                    peer.held.append(("down", tid, msg))
            closed, self.server.closed = self.server.closed, []
            for name, tid in closed:
                busy = True
                peer = self.peers[name]
                if peer.link in FLOWING and tid in peer.open:
                    peer.open.discard(tid)
                    peer.conn.transport_lost(tid, self.now, "closed by server")

    def _run(self, peer: Peer, cmd: ev.Command) -> None:
        key = (peer.name, getattr(cmd, "transport_id", 0))
        if isinstance(cmd, ev.OpenTransport):
            if peer.link == "up":
                peer.open.add(cmd.transport_id)
                peer.conn.transport_opened(cmd.transport_id, self.now)
            elif peer.link == "down":
                peer.conn.transport_failed(
                    cmd.transport_id, self.now, "connection refused", refused=True
                )
            elif peer.link == "unreachable":
                peer.conn.transport_failed(cmd.transport_id, self.now, "network is unreachable")
            elif peer.link == "slow":
                self._pending_opens.append(
                    (self.now + peer.open_after, peer.name, cmd.transport_id, True)
                )
            else:
                self._pending_opens.append(
                    (self.now + CONNECT_ATTEMPT_TIMEOUT, peer.name, cmd.transport_id, False)
                )
        elif isinstance(cmd, ev.SendMessage):
            if peer.link in FLOWING and cmd.transport_id in peer.open:
                self.server.receive(key, cmd.message, self.now)
            elif peer.link == "black_hole" and cmd.transport_id in peer.open:
                peer.held.append(("up", cmd.transport_id, cmd.message))
        elif isinstance(cmd, ev.CloseTransport):
            # A closed (aborted) connect reports nothing more, as the real driver's.
            self._pending_opens = [
                x for x in self._pending_opens if (x[1], x[2]) != (peer.name, cmd.transport_id)
            ]
            if cmd.transport_id in peer.open:
                peer.open.discard(cmd.transport_id)
                if peer.link in FLOWING:
                    self.server.socket_closed(key, self.now)

    def _next_time(self) -> float:
        times = [self.server.next_deadline()]
        times += [t for t, _, _, _ in self._pending_opens]
        for peer in self.peers.values():
            t = peer.conn.get_timer()
            if t is not None:
                times.append(t)
        return min(times)

    def run_until(self, t: float) -> None:
        while True:
            nxt = self._next_time()
            if nxt > t:
                break
            self.now = max(self.now, nxt)
            due = [x for x in self._pending_opens if x[0] <= self.now]
            self._pending_opens = [x for x in self._pending_opens if x[0] > self.now]
            for _, name, tid, opens in due:
                peer = self.peers[name]
                if opens and peer.link in ("up", "slow"):
                    peer.open.add(tid)
                    peer.conn.transport_opened(tid, self.now)
                else:
                    peer.conn.transport_failed(tid, self.now, "timed out")
            self.server.tick(self.now)
            for peer in self.peers.values():
                timer = peer.conn.get_timer()
                if timer is not None and timer <= self.now:
                    peer.conn.handle_timer(self.now)
            self.pump()
        self.now = max(self.now, t)
        self.pump()

    def advance(self, dt: float) -> None:
        self.run_until(self.now + dt)
