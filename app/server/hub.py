"""The session server's rules, without I/O.

:class:`Hub` is a sans-I/O state machine in the manner of h11 and aioquic:
the driver (``app.server.app``) tells it about sockets ("links") and the
frames they carry, passing the current time as ``now`` (seconds since the
epoch), and then collects :meth:`Hub.actions` — frames to send and sockets to
close.  It owns membership, the reconnection window, the per-connection
replay buffer and the de-duplication of client requests.

Call :meth:`Hub.handle_timer` at or after :meth:`Hub.get_timer`.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import msgspec

from app.core import protocol as p
from app.core.errors import ErrorCode, TetherError, close_code
from app.core.limits import check_signal
from app.core.ratelimit import TokenBucket
from app.core.tokens import TokenClaims, can_publish, can_subscribe, read_token
from app.server.store import ConnectionRecord, MemoryStore, SessionRecord, Store

log = logging.getLogger(__name__)

DEFAULT_WINDOW = 30.0
DEFAULT_HEARTBEAT_INTERVAL = 1.0
DEFAULT_HEARTBEAT_TIMEOUT = 5.0
DEFAULT_AUTH_TIMEOUT = 5.0
DEFAULT_REPLAY_LIMIT = 10_000  # sequenced messages held per connection

WS_NORMAL = 1000
WS_GOING_AWAY = 1001


@dataclass(frozen=True)
class Limits:
    """What one client may ask of the server.  Refusals carry 1420, 1421 or 1429."""

    connections_per_session: int = 100
    sessions: int = 10_000
    # Signals per connection: a burst that covers flushing a full client outbox
    # (1,000 signals) after a resume, then a steady rate.
    signal_burst: float = 1200.0
    signal_rate: float = 300.0
    # WebRTC offers / answers / candidates per connection.
    rtc_burst: float = 300.0
    rtc_rate: float = 60.0
    # Refused joins per source address, refilled over a minute: a token guesser
    # is slowed down, a person who mistyped is not.
    failed_joins_per_minute: float = 20.0


@dataclass(frozen=True)
class Send:
    link: int
    data: bytes


@dataclass(frozen=True)
class Close:
    link: int
    code: int
    reason: str


Action = Send | Close


@dataclass
class _Link:
    opened_at: float
    address: str = ""
    connection_id: str | None = None


class Hub:
    def __init__(
        self,
        secret: str,
        *,
        reconnection_window: float = DEFAULT_WINDOW,
        heartbeat_interval: float = DEFAULT_HEARTBEAT_INTERVAL,
        heartbeat_timeout: float = DEFAULT_HEARTBEAT_TIMEOUT,
        auth_timeout: float = DEFAULT_AUTH_TIMEOUT,
        replay_limit: int = DEFAULT_REPLAY_LIMIT,
        limits: Limits | None = None,
        store: Store | None = None,
        new_id: Callable[[str], str] | None = None,
    ) -> None:
        self._secret = secret
        self.reconnection_window = reconnection_window
        self.heartbeat_interval = heartbeat_interval
        self.heartbeat_timeout = heartbeat_timeout
        self.auth_timeout = auth_timeout
        self.replay_limit = replay_limit
        self.limits = limits or Limits()
        self._store: Store = store if store is not None else MemoryStore()
        self._new_id = new_id or (lambda prefix: prefix + secrets.token_urlsafe(12))
        self._links: dict[int, _Link] = {}
        self._actions: list[Action] = []
        self._signal_buckets: dict[str, TokenBucket] = {}
        self._rtc_buckets: dict[str, TokenBucket] = {}
        self._join_failures: dict[str, TokenBucket] = {}
        # Counters for /metrics; gauges are computed on demand.
        self.counters: Counter[str] = Counter()
        self.rejected_joins: Counter[str] = Counter()

    # --- entry points ---------------------------------------------------------------------

    def link_opened(self, link: int, now: float, address: str = "") -> None:
        """A socket opened; ``address`` is its peer's, for per-address limits."""
        self._links[link] = _Link(opened_at=now, address=address)

    def link_closed(self, link: int, now: float) -> None:
        """The socket closed, for whatever reason.  Not a leave: the window opens."""
        state = self._links.pop(link, None)
        if state is None or state.connection_id is None:
            return
        conn = self._store.connection(state.connection_id)
        if conn is not None and conn.link == link:
            self._interrupt(conn, now, close_link=False)

    def receive(self, link: int, data: bytes | str, now: float) -> None:
        """One frame from a socket."""
        state = self._links.get(link)
        if state is None:
            return
        conn = self._store.connection(state.connection_id) if state.connection_id else None
        if conn is not None:
            conn.last_heard = now
        try:
            message = p.decode_client(data)
        except TetherError as exc:
            self._refuse(link, conn, exc, close=conn is None)
            return
        self.counters["messages_in"] += 1
        try:
            if conn is None:
                self._receive_unjoined(link, state, message, now)
            else:
                self._receive_joined(conn, message, now)
        except TetherError as exc:
            self._refuse(link, conn, exc, close=conn is None, csq=getattr(message, "csq", None))
            if conn is None and exc.code != ErrorCode.TOO_MANY_REQUESTS:
                self._count_failed_join(state.address, now)

    def frame_too_large(self, link: int, now: float) -> None:
        """The driver refused a frame over the size limit; the socket is closing."""
        self._send_raw(
            link,
            p.Error(code=ErrorCode.MESSAGE_TOO_LARGE, message="frame is over the 64 KiB limit"),
        )

    def get_timer(self) -> float | None:
        deadlines = [
            s.opened_at + self.auth_timeout for s in self._links.values() if not s.connection_id
        ]
        for conn in self._store.connections():
            if conn.interrupted_at is not None:
                deadlines.append(conn.interrupted_at + self.reconnection_window)
            else:
                deadlines.append(conn.last_heard + self.heartbeat_timeout)
        return min(deadlines, default=None)

    def handle_timer(self, now: float) -> None:
        for address, bucket in list(self._join_failures.items()):
            if bucket.full(now):
                del self._join_failures[address]
        for link, state in list(self._links.items()):
            if state.connection_id is None and now >= state.opened_at + self.auth_timeout:
                self._links.pop(link)
                self.rejected_joins["auth_timeout"] += 1
                self._close(
                    link, ErrorCode.AUTHORIZATION_FAILURE, "no join within the time allowed"
                )
        for conn in self._store.connections():
            if conn.interrupted_at is not None:
                if now >= conn.interrupted_at + self.reconnection_window:
                    self.counters["expiries"] += 1
                    log.info("connection %s expired after the window", conn.id)
                    self._drop(conn, p.REASON_NETWORK_DISCONNECTED)
            elif now >= conn.last_heard + self.heartbeat_timeout:
                log.info("connection %s silent for %.1f s", conn.id, now - conn.last_heard)
                self._interrupt(conn, now, close_link=True)

    def shutdown(self) -> None:
        """Tell every connected client the server is going away for good."""
        for conn in self._store.connections():
            if conn.link is not None:
                self._send_raw(
                    conn.link, p.Closing(code=WS_GOING_AWAY, reason=p.REASON_SERVER_SHUTDOWN)
                )
                self._actions.append(Close(conn.link, WS_GOING_AWAY, p.REASON_SERVER_SHUTDOWN))

    def actions(self) -> list[Action]:
        """Return and forget what the driver must do, in order."""
        actions, self._actions = self._actions, []
        return actions

    # --- read-only views ------------------------------------------------------------------

    def gauges(self) -> dict[str, int]:
        conns = self._store.connections()
        return {
            "connections": sum(1 for c in conns if not c.interrupted),
            "connections_interrupted": sum(1 for c in conns if c.interrupted),
            "sessions": self._store.session_count(),
            "sockets": len(self._links),
        }

    def connection(self, connection_id: str) -> ConnectionRecord | None:
        return self._store.connection(connection_id)

    # --- joining and resuming -------------------------------------------------------------

    def _receive_unjoined(
        self, link: int, state: _Link, message: p.ClientMessage, now: float
    ) -> None:
        if isinstance(message, p.Join):
            self._join(link, state, message, now)
        elif isinstance(message, p.Resume):
            self._resume(link, state, message, now)
        else:
            raise TetherError(ErrorCode.NOT_JOINED, "send join or resume first")

    def _count_failed_join(self, address: str, now: float) -> None:
        rate = self.limits.failed_joins_per_minute
        bucket = self._join_failures.get(address)
        if bucket is None:
            bucket = self._join_failures[address] = TokenBucket(rate / 60.0, rate, now)
        bucket.allow(now)

    def _check_join_rate(self, address: str, now: float) -> None:
        bucket = self._join_failures.get(address)
        if bucket is not None and bucket.available(now) < 1.0:
            log.warning("joins from %s refused: too many failed attempts", address)
            raise TetherError(
                ErrorCode.TOO_MANY_REQUESTS,
                "too many failed joins from this address; wait a minute",
            )

    def _join(self, link: int, state: _Link, message: p.Join, now: float) -> None:
        self._check_join_rate(state.address, now)
        claims = read_token(self._secret, message.token, now=now)
        if message.session_id is not None and message.session_id != claims.session_id:
            raise TetherError(ErrorCode.INVALID_SESSION, "the token is for another session")
        session = self._store.session(claims.session_id)
        if session is None:
            if self._store.session_count() >= self.limits.sessions:
                raise TetherError(
                    ErrorCode.SERVER_FULL, "this server has no room for another session"
                )
            session = SessionRecord(id=claims.session_id)
            self._store.add_session(session)
        for other_id in list(session.connection_ids):
            other = self._store.connection(other_id)
            if other is not None and other.identity == claims.nonce and other.interrupted:
                log.info("connection %s replaced by a fresh join", other.id)
                self._drop(other, p.REASON_REPLACED)
        session = self._store.session(claims.session_id)
        if session is None:  # the drop above emptied and removed it
            session = SessionRecord(id=claims.session_id)
            self._store.add_session(session)
        if len(session.connection_ids) >= self.limits.connections_per_session:
            raise TetherError(ErrorCode.SESSION_FULL, "this session is full")
        conn = self._new_connection(link, claims, now)
        others = self._others(session, conn.id)
        session.connection_ids.append(conn.id)
        self._store.add_connection(conn)
        state.connection_id = conn.id
        self.counters["joins"] += 1
        self._send_raw(
            link,
            p.Welcome(
                session_id=session.id,
                connection=conn.info,
                resume_key=conn.resume_key,
                reconnection_window=self.reconnection_window,
                heartbeat_interval=self.heartbeat_interval,
                heartbeat_timeout=self.heartbeat_timeout,
                connections=[o.info for o in others],
                streams=list(session.streams.values()),
                interrupted=[o.id for o in others if o.interrupted],
            ),
        )
        self._broadcast(session, p.ConnectionCreated(connection=conn.info), exclude=conn.id)

    def _new_connection(self, link: int, claims: TokenClaims, now: float) -> ConnectionRecord:
        info = p.ConnectionInfo(
            id=self._new_id("con_"), data=claims.data, created_at=now, role=claims.role
        )
        return ConnectionRecord(
            info=info,
            session_id=claims.session_id,
            identity=claims.nonce,
            token_expires_at=claims.expires_at,
            resume_key=secrets.token_urlsafe(32),
            link=link,
            last_heard=now,
            can_signal=claims.can_signal,
        )

    def _resume(self, link: int, state: _Link, message: p.Resume, now: float) -> None:
        self._check_join_rate(state.address, now)
        conn = self._store.connection(message.connection_id)
        if conn is None or not hmac.compare_digest(
            conn.resume_key.encode(), message.resume_key.encode()
        ):
            self.counters["resumes_rejected"] += 1
            log.warning("resume refused for %r: not held or wrong key", message.connection_id)
            raise TetherError(
                ErrorCode.RESUME_REJECTED, "this connection is no longer held by the server"
            )
        if now >= conn.token_expires_at:
            self.counters["resumes_rejected"] += 1
            self._drop(conn, p.REASON_NETWORK_DISCONNECTED)
            raise TetherError(
                ErrorCode.TOKEN_EXPIRED, "token expired while away; ask for a new one"
            )
        while conn.unacked and conn.unacked[0][0] <= message.last_seq:
            conn.unacked.popleft()
        first_held = conn.unacked[0][0] if conn.unacked else conn.seq + 1
        if conn.replay_lost or message.last_seq > conn.seq or first_held > message.last_seq + 1:
            self.counters["resumes_rejected"] += 1
            self._drop(conn, p.REASON_NETWORK_DISCONNECTED)
            raise TetherError(
                ErrorCode.RESUME_REJECTED, "messages missed while away are no longer held"
            )
        was_interrupted = conn.interrupted
        if conn.link is not None:  # the old socket is half-open: the client saw the cut first
            old = self._links.pop(conn.link, None)
            if old is not None:
                self._actions.append(Close(conn.link, WS_NORMAL, "superseded by a resume"))
        conn.link = link
        conn.interrupted_at = None
        conn.last_heard = now
        conn.resume_key = secrets.token_urlsafe(32)
        state.connection_id = conn.id
        self.counters["resumes"] += 1
        session = self._store.session(conn.session_id)
        assert session is not None
        others = self._others(session, conn.id)
        self._send_raw(
            link,
            p.Resumed(
                resume_key=conn.resume_key,
                last_csq=conn.last_csq,
                replay_from=message.last_seq + 1,
                replay_count=len(conn.unacked),
                connections=[o.info for o in others],
                streams=list(session.streams.values()),
                interrupted=[o.id for o in others if o.interrupted],
            ),
        )
        for _, data in conn.unacked:
            self._actions.append(Send(link, data))
        if was_interrupted:
            self._broadcast(session, p.ConnectionResumed(connection_id=conn.id), exclude=conn.id)

    # --- requests of a joined connection --------------------------------------------------

    def _receive_joined(self, conn: ConnectionRecord, message: p.ClientMessage, now: float) -> None:
        if isinstance(message, p.Ping):
            self._trim(conn, message.ack)
            assert conn.link is not None
            self._send_raw(conn.link, p.Pong(t=message.t))
            return
        if isinstance(message, p.Leave):
            self._drop(conn, p.REASON_CLIENT_DISCONNECTED, close=(WS_NORMAL, "left"))
            return
        if isinstance(message, p.Join | p.Resume):
            raise TetherError(ErrorCode.ALREADY_JOINED, "this socket has already joined")
        csq = message.csq
        if csq <= conn.last_csq:
            self._send(conn, p.Ack(csq=csq, duplicate=True))
            return
        conn.last_csq = csq
        session = self._store.session(conn.session_id)
        assert session is not None
        handler = self._handlers[type(message)]
        handler(self, conn, session, message, now)

    def _on_signal(
        self, conn: ConnectionRecord, session: SessionRecord, m: p.Signal, now: float
    ) -> None:
        if not conn.can_signal:
            raise TetherError(ErrorCode.SIGNAL_FORBIDDEN, "this token does not allow signals")
        self._limit(
            self._signal_buckets, conn, now, self.limits.signal_rate, self.limits.signal_burst
        )
        check_signal(m.type, m.data)
        if m.to is not None and m.to not in session.connection_ids:
            raise TetherError(
                ErrorCode.UNKNOWN_CONNECTION, f"no connection {m.to!r} in this session"
            )
        self._send(conn, p.Ack(csq=m.csq))
        out = p.SignalReceived(from_=conn.id, type=m.type, data=m.data, to=m.to)
        if m.to is None:
            self._broadcast(session, out)
        else:
            target = self._store.connection(m.to)
            assert target is not None
            self._send(target, out)
        self.counters["signals_relayed"] += 1

    def _on_publish(
        self, conn: ConnectionRecord, session: SessionRecord, m: p.Publish, now: float
    ) -> None:
        if not can_publish(conn.info.role):
            raise TetherError(
                ErrorCode.PUBLISH_FORBIDDEN, f"a {conn.info.role} token may not publish"
            )
        stream = p.StreamInfo(
            id=self._new_id("str_"),
            connection_id=conn.id,
            name=m.name[:256],
            has_audio=m.has_audio,
            has_video=m.has_video,
            created_at=now,
        )
        session.streams[stream.id] = stream
        conn.stream_ids.append(stream.id)
        self._send(conn, p.Ack(csq=m.csq, stream_id=stream.id))
        self._broadcast(session, p.StreamCreated(stream=stream), exclude=conn.id)

    def _own_stream(
        self, conn: ConnectionRecord, session: SessionRecord, stream_id: str
    ) -> p.StreamInfo:
        stream = session.streams.get(stream_id)
        if stream is None:
            raise TetherError(ErrorCode.UNKNOWN_STREAM, f"no stream {stream_id!r} in this session")
        if stream.connection_id != conn.id:
            raise TetherError(
                ErrorCode.NOT_STREAM_OWNER, "that stream belongs to another connection"
            )
        return stream

    def _on_unpublish(
        self, conn: ConnectionRecord, session: SessionRecord, m: p.Unpublish, now: float
    ) -> None:
        stream = self._own_stream(conn, session, m.stream_id)
        self._send(conn, p.Ack(csq=m.csq, stream_id=stream.id))
        self._remove_stream(session, conn, stream.id, p.REASON_UNPUBLISHED)

    def _on_update(
        self, conn: ConnectionRecord, session: SessionRecord, m: p.UpdateStream, now: float
    ) -> None:
        stream = self._own_stream(conn, session, m.stream_id)
        changes: dict[str, object] = {}
        if m.has_audio is not None:
            changes["has_audio"] = m.has_audio
        if m.has_video is not None:
            changes["has_video"] = m.has_video
            changes["video_reason"] = "" if m.has_video else "publish_video_off"
        stream = msgspec.structs.replace(stream, **changes)
        session.streams[stream.id] = stream
        self._send(conn, p.Ack(csq=m.csq, stream_id=stream.id))
        self._broadcast(session, p.StreamUpdated(stream=stream), exclude=conn.id)

    def _on_rtc(self, conn: ConnectionRecord, session: SessionRecord, m: p.Rtc, now: float) -> None:
        self._limit(self._rtc_buckets, conn, now, self.limits.rtc_rate, self.limits.rtc_burst)
        # Subscribing is peer to peer: the subscriber's media offer is what to refuse.
        if m.payload.get("t") == "media_offer" and not can_subscribe(conn.info.role):
            raise TetherError(
                ErrorCode.SUBSCRIBE_FORBIDDEN, f"a {conn.info.role} token may not subscribe"
            )
        target = self._store.connection(m.to) if m.to in session.connection_ids else None
        if target is None:
            raise TetherError(
                ErrorCode.UNKNOWN_CONNECTION, f"no connection {m.to!r} in this session"
            )
        self._send(conn, p.Ack(csq=m.csq))
        self._send(target, p.RtcRelay(from_=conn.id, payload=m.payload))

    def _on_force_disconnect(
        self, conn: ConnectionRecord, session: SessionRecord, m: p.ForceDisconnect, now: float
    ) -> None:
        self._require_moderator(conn)
        target = (
            self._store.connection(m.connection_id)
            if m.connection_id in session.connection_ids
            else None
        )
        if target is None:
            raise TetherError(
                ErrorCode.UNKNOWN_CONNECTION, f"no connection {m.connection_id!r} in this session"
            )
        self._send(conn, p.Ack(csq=m.csq))
        log.info("connection %s force-disconnected by %s", target.id, conn.id)
        if target.link is not None:
            self._send_raw(
                target.link, p.Closing(code=WS_NORMAL, reason=p.REASON_FORCE_DISCONNECTED)
            )
        self._drop(target, p.REASON_FORCE_DISCONNECTED)

    def _on_force_unpublish(
        self, conn: ConnectionRecord, session: SessionRecord, m: p.ForceUnpublish, now: float
    ) -> None:
        self._require_moderator(conn)
        stream = session.streams.get(m.stream_id)
        owner = self._store.connection(stream.connection_id) if stream is not None else None
        if stream is None or owner is None:
            raise TetherError(
                ErrorCode.UNKNOWN_STREAM, f"no stream {m.stream_id!r} in this session"
            )
        self._send(conn, p.Ack(csq=m.csq, stream_id=stream.id))
        self._remove_stream(session, owner, stream.id, p.REASON_FORCE_UNPUBLISHED)
        # The owner is told too: its stream is gone although it did not ask.
        self._send(owner, p.StreamDropped(stream_id=stream.id, reason=p.REASON_FORCE_UNPUBLISHED))

    def _require_moderator(self, conn: ConnectionRecord) -> None:
        if conn.info.role != "moderator":
            raise TetherError(ErrorCode.MODERATION_FORBIDDEN, "only a moderator token may do this")

    def _limit(
        self,
        buckets: dict[str, TokenBucket],
        conn: ConnectionRecord,
        now: float,
        rate: float,
        burst: float,
    ) -> None:
        bucket = buckets.get(conn.id)
        if bucket is None:
            bucket = buckets[conn.id] = TokenBucket(rate, burst, now)
        if not bucket.allow(now):
            self.counters["rate_limited"] += 1
            raise TetherError(ErrorCode.TOO_MANY_REQUESTS, "too many requests; slow down")

    _handlers: dict[type, Callable[..., None]] = {
        p.Signal: _on_signal,
        p.Publish: _on_publish,
        p.Unpublish: _on_unpublish,
        p.UpdateStream: _on_update,
        p.Rtc: _on_rtc,
        p.ForceDisconnect: _on_force_disconnect,
        p.ForceUnpublish: _on_force_unpublish,
    }

    # --- membership changes ---------------------------------------------------------------

    def _interrupt(self, conn: ConnectionRecord, now: float, *, close_link: bool) -> None:
        if conn.link is not None:
            self._links.pop(conn.link, None)
            if close_link:
                self._actions.append(Close(conn.link, WS_GOING_AWAY, "heartbeat timeout"))
        conn.link = None
        conn.interrupted_at = now
        self.counters["interruptions"] += 1
        session = self._store.session(conn.session_id)
        if session is not None:
            self._broadcast(
                session, p.ConnectionInterrupted(connection_id=conn.id), exclude=conn.id
            )

    def _drop(
        self, conn: ConnectionRecord, reason: str, *, close: tuple[int, str] | None = None
    ) -> None:
        session = self._store.session(conn.session_id)
        if conn.link is not None:
            self._links.pop(conn.link, None)
            code, text = close or (WS_NORMAL, reason)
            self._actions.append(Close(conn.link, code, text))
        self._store.remove_connection(conn.id)
        self._signal_buckets.pop(conn.id, None)
        self._rtc_buckets.pop(conn.id, None)
        if session is None:
            return
        for stream_id in list(conn.stream_ids):
            self._remove_stream(session, conn, stream_id, reason)
        session.connection_ids.remove(conn.id)
        self._broadcast(session, p.ConnectionDropped(connection_id=conn.id, reason=reason))
        if not session.connection_ids:
            self._store.remove_session(session.id)

    def _remove_stream(
        self, session: SessionRecord, conn: ConnectionRecord, stream_id: str, reason: str
    ) -> None:
        session.streams.pop(stream_id, None)
        if stream_id in conn.stream_ids:
            conn.stream_ids.remove(stream_id)
        self._broadcast(
            session, p.StreamDropped(stream_id=stream_id, reason=reason), exclude=conn.id
        )

    # --- sending --------------------------------------------------------------------------

    def _others(self, session: SessionRecord, connection_id: str) -> list[ConnectionRecord]:
        found = (
            self._store.connection(cid) for cid in session.connection_ids if cid != connection_id
        )
        return [c for c in found if c is not None]

    def _broadcast(
        self, session: SessionRecord, message: p._Msg, *, exclude: str | None = None
    ) -> None:
        for cid in list(session.connection_ids):
            if cid != exclude:
                target = self._store.connection(cid)
                if target is not None:
                    self._send(target, message)

    def _send(self, conn: ConnectionRecord, message: p._Msg) -> None:
        """Send a sequenced message; hold it until the client acknowledges it."""
        conn.seq += 1
        data = p.encode(msgspec.structs.replace(message, seq=conn.seq))
        conn.unacked.append((conn.seq, data))
        if len(conn.unacked) > self.replay_limit:
            conn.unacked.popleft()
            if conn.interrupted:
                conn.replay_lost = True  # it can no longer resume without a gap
        if conn.link is not None:
            self._actions.append(Send(conn.link, data))
        self.counters["messages_out"] += 1

    def _send_raw(self, link: int, message: p._Msg) -> None:
        self._actions.append(Send(link, p.encode(message)))

    def _trim(self, conn: ConnectionRecord, ack: int) -> None:
        while conn.unacked and conn.unacked[0][0] <= ack:
            conn.unacked.popleft()

    def _refuse(
        self,
        link: int,
        conn: ConnectionRecord | None,
        exc: TetherError,
        *,
        close: bool,
        csq: int | None = None,
    ) -> None:
        error = p.Error(code=int(exc.code), message=exc.message, csq=csq)
        if conn is not None and csq is not None:
            self._send(conn, error)
        else:
            self._send_raw(link, error)
        if close:
            if conn is None:
                self.rejected_joins[exc.code.name.lower()] += 1
            self._links.pop(link, None)
            self._actions.append(Close(link, close_code(exc.code), exc.message[:120]))

    def _close(self, link: int, code: ErrorCode, message: str) -> None:
        self._send_raw(link, p.Error(code=int(code), message=message))
        self._actions.append(Close(link, close_code(code), message[:120]))
