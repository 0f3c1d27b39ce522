"""The client side of a Tether session, sans I/O (the shape of aioquic's ``QuicConnection``).

:class:`ClientConnection` owns the whole client behaviour — join, heartbeat,
link-loss detection, the reconnection window and its retry schedule, resume
and replay, the signal outbox and the roster — and does no I/O and reads no
clock.  A driver feeds it what happened and runs what it asks for::

    conn.connect(now)
    loop:
        for cmd in conn.take_commands(): run it (open / send on / close a transport)
        for event in conn.take_events(): tell the application
        wait until a message arrives, a transport opens / fails / closes, or conn.get_timer()
        conn.receive(tid, msg, now) | conn.transport_opened(tid, now) | … | conn.handle_timer(now)

Transports are named by the id in :class:`~app.core.events.OpenTransport`;
news about a transport the connection has already given up on is ignored, so a
late close of an abandoned socket cannot disturb the current one.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Iterator
from typing import Any

from app.core import events as ev
from app.core import protocol as p
from app.core.backoff import BackoffFactory, as_factory
from app.core.errors import ErrorCode, TetherError
from app.core.heartbeat import Heartbeat
from app.core.inbox import Inbox
from app.core.limits import check_signal
from app.core.outbox import MAX_PENDING, MAX_PENDING_BYTES, Entry, EntryState, Outbox
from app.core.reconnect import State, StateMachine, Trigger
from app.core.roster import Roster

logger = logging.getLogger(__name__)

# Reasons given in Disconnected events.
REASON_CLIENT_DISCONNECTED = p.REASON_CLIENT_DISCONNECTED
REASON_NETWORK_DISCONNECTED = p.REASON_NETWORK_DISCONNECTED
REASON_RESUME_REJECTED = "resume_rejected"
REASON_TOKEN_EXPIRED = "token_expired"
CONNECT_RETRY_DELAY = 0.5  # between join attempts, while the connect deadline allows
# A reconnection attempt still opening after this long gets another beside it: on a dead
# link each waits out its 1 s connect timeout, and a link that comes back is tried
# within a quarter second instead of at the next 1 s step.  A refused attempt fails at
# once and the schedule's own pace applies.
HEDGE_AFTER = 0.25
# A ceiling, not a pace: an opening may take 4 s (a middlebox that accepts the TCP
# connection but never answers the upgrade), and the quarter-second pace must go on.
MAX_DIALS = 16


class ClientConnection:
    def __init__(
        self,
        token: str,
        *,
        session_id: str | None = None,
        heartbeat_interval: float = 1.0,
        silence_timeout: float = 3.0,
        backoff: BackoffFactory | Iterable[float] | None = None,
        reconnection_window: float = 30.0,
        connect_timeout: float = 10.0,
        attempt_timeout: float | None = None,
        hedge_after: float = HEDGE_AFTER,
        max_dials: int = MAX_DIALS,
        disconnect_timeout: float = 1.0,
        max_pending: int = MAX_PENDING,
        max_pending_bytes: int = MAX_PENDING_BYTES,
        name: str = "session",
    ) -> None:
        """``reconnection_window`` is used only until the server announces its own.

        ``attempt_timeout`` bounds one reconnection attempt from opening the socket to
        the server's ``resumed`` (default: 1 s + ``silence_timeout``).
        While reconnecting, an attempt whose socket has not opened after
        ``hedge_after`` seconds gets company: another attempt starts beside it, up to
        ``max_dials`` at once, and the first socket to open carries the resume.
        ``session_id``, when given, is sent with the join so a token for another session
        is refused (1005).
        """
        self._token = token
        self._join_session_id = session_id
        self._sm = StateMachine(name)
        self._hb = Heartbeat(heartbeat_interval, silence_timeout)
        self._backoff = as_factory(backoff)
        self._inbox = Inbox()
        self._outbox = Outbox(max_pending, max_pending_bytes)
        self._roster = Roster()
        self._commands: list[ev.Command] = []
        self._events: list[ev.Event] = []
        self.connect_timeout = connect_timeout
        self.attempt_timeout = (
            attempt_timeout if attempt_timeout is not None else 1.0 + silence_timeout
        )
        self.disconnect_timeout = disconnect_timeout
        self.hedge_after = hedge_after
        self.max_dials = max(1, max_dials)
        self.reconnection_window = reconnection_window
        # Joined session.
        self.session_id = ""
        self.connection: p.ConnectionInfo | None = None
        self.own_streams: dict[str, p.StreamInfo] = {}
        self._resume_key = ""
        # Transport.
        self._tid: int | None = None
        self._tid_open = False
        self._last_tid = 0
        # Deadlines.
        self._connect_deadline = math.inf
        self._disconnect_deadline = math.inf
        # The current outage.
        self._window_deadline = math.inf
        self._schedule: Iterator[float] = iter(())
        self._attempt = 0
        self._next_attempt_at: float | None = None  # the next join attempt (connecting)
        # Reconnection attempts whose sockets are still opening: tid -> give-up time.
        self._dials: dict[int, float] = {}
        self._next_delay: float | None = None  # the schedule's next step; None: used up
        self._unanswered = False  # the last failed attempt got no answer at all
        self._attempt_started = -math.inf  # the newest attempt's start
        self._attempt_deadline = math.inf  # the resuming attempt's give-up time
        # A resume whose replay is still arriving: (last seq of the replay, the Resumed).
        self._replay: tuple[int, p.Resumed] | None = None
        self._last_request_id = 0

    # --- reading ------------------------------------------------------------------------

    @property
    def state(self) -> State:
        return self._sm.state

    @property
    def connections(self) -> dict[str, p.ConnectionInfo]:
        return dict(self._roster.connections)

    @property
    def streams(self) -> dict[str, p.StreamInfo]:
        return dict(self._roster.streams)

    @property
    def interrupted(self) -> frozenset[str]:
        return frozenset(self._roster.interrupted)

    @property
    def last_seq(self) -> int:
        return self._inbox.last_seq

    @property
    def outbox(self) -> Outbox:
        return self._outbox

    def progress(self) -> dict[str, Any]:
        """Where the reconnection stands: attempt number, next retry, window end, queue."""
        reconnecting = self.state is State.RECONNECTING
        return {
            "state": self.state.value,
            "attempt": self._attempt if reconnecting else 0,
            "next_retry_at": self._next_dial_at() if reconnecting else None,
            # An attempt's socket is opening or resuming right now.
            "trying": reconnecting and (bool(self._dials) or self._tid is not None),
            "window_deadline": self._window_deadline if reconnecting else None,
            "queued": self._outbox.queued,
            "pending": self._outbox.pending,
        }

    def take_commands(self) -> list[ev.Command]:
        out, self._commands = self._commands, []
        return out

    def take_events(self) -> list[ev.Event]:
        out, self._events = self._events, []
        return out

    def get_timer(self) -> float | None:
        """The next time :meth:`handle_timer` must be called, or ``None``."""
        state = self.state
        if state is State.CONNECTING:
            deadlines = [self._connect_deadline]
            if self._next_attempt_at is not None:
                deadlines.append(self._next_attempt_at)
        elif state is State.CONNECTED:
            deadlines = [self._hb.deadline() or math.inf]
        elif state is State.RECONNECTING:
            deadlines = [self._window_deadline, *self._dials.values()]
            dial_at = self._next_dial_at()
            if dial_at is not None:
                deadlines.append(dial_at)
            if self._tid is not None:
                deadlines.append(self._attempt_deadline)
        elif state is State.DISCONNECTING:
            deadlines = [self._disconnect_deadline]
        else:
            return None
        at = min(deadlines)
        return None if at == math.inf else at

    # --- application calls --------------------------------------------------------------

    def connect(self, now: float) -> None:
        self._fire(Trigger.CONNECT, now)
        self._connect_deadline = now + self.connect_timeout
        self._open_transport()

    def disconnect(self, now: float) -> None:
        """Leave the session.  Harmless when already disconnecting or disconnected."""
        state = self.state
        if state in (State.NOT_CONNECTED, State.DISCONNECTING, State.DISCONNECTED):
            return
        self._fire(Trigger.DISCONNECT, now)
        self._next_attempt_at = None
        if state is State.CONNECTED:
            self._hb.stop()
            self._send(p.Leave())
            # Wait (briefly) for the acks of what is in flight: the server answers them
            # before it handles the leave, and the sender deserves the true outcome.
            if self._outbox.in_flight:
                self._disconnect_deadline = now + self.disconnect_timeout
                return
        self._finish_disconnect(now)

    def retry_now(self, now: float) -> bool:
        """Skip the wait before the next reconnection attempt.  False if there is none to skip."""
        if (
            self.state is not State.RECONNECTING
            or self._tid is not None
            or len(self._dials) >= self.max_dials
        ):
            return False
        self._start_attempt(now)
        return True

    def send_signal(
        self,
        type_: str,
        data: str,
        *,
        to: str | None = None,
        retry_after_reconnect: bool = True,
        now: float,
    ) -> int:
        """Send a signal; returns the request id its :class:`RequestDone` will carry.

        Raises :class:`TetherError` at once for local misuse: bad type or data
        (1461 / 1414 / 1413), not connected (1010), outbox full (1462).  While the
        session is reconnecting, a signal with ``retry_after_reconnect=False``
        fails at once with 1010 (reported as a ``RequestDone``), the others wait.
        """
        check_signal(type_, data)
        if to is not None and not isinstance(to, str):
            raise TetherError(ErrorCode.INVALID_PARAMETER, "`to` must be a connection id or None")
        return self._request(
            "signal",
            lambda csq: p.Signal(csq=csq, type=type_, data=data, to=to),
            retry_after_reconnect,
            now,
        )

    def publish(self, name: str, has_audio: bool, has_video: bool, *, now: float) -> int:
        if not isinstance(name, str) or len(name) > 1000:
            raise TetherError(ErrorCode.INVALID_PARAMETER, "stream name must be ≤ 1000 characters")
        return self._request(
            "publish",
            lambda csq: p.Publish(
                csq=csq, name=name, has_audio=bool(has_audio), has_video=bool(has_video)
            ),
            True,
            now,
        )

    def unpublish(self, stream_id: str, *, now: float) -> int:
        return self._request(
            "unpublish", lambda csq: p.Unpublish(csq=csq, stream_id=stream_id), True, now
        )

    def update_stream(
        self,
        stream_id: str,
        *,
        has_audio: bool | None = None,
        has_video: bool | None = None,
        now: float,
    ) -> int:
        return self._request(
            "update_stream",
            lambda csq: p.UpdateStream(
                csq=csq, stream_id=stream_id, has_audio=has_audio, has_video=has_video
            ),
            True,
            now,
        )

    def force_disconnect(self, connection_id: str, *, now: float) -> int:
        """Moderator: remove a connection (1503 without a moderator token)."""
        return self._request(
            "force_disconnect",
            lambda csq: p.ForceDisconnect(csq=csq, connection_id=connection_id),
            True,
            now,
        )

    def force_unpublish(self, stream_id: str, *, now: float) -> int:
        """Moderator: stop another connection's stream (1503 without a moderator token)."""
        return self._request(
            "force_unpublish",
            lambda csq: p.ForceUnpublish(csq=csq, stream_id=stream_id),
            True,
            now,
        )

    def send_rtc(self, to: str, payload: dict[str, Any], *, now: float) -> int:
        """Relay WebRTC negotiation to one connection; never queued across an outage
        (a stale offer is worse than none: the media layer renegotiates on resume)."""
        if not isinstance(payload, dict):
            raise TetherError(ErrorCode.INVALID_PARAMETER, "rtc payload must be a dict")
        return self._request("rtc", lambda csq: p.Rtc(csq=csq, to=to, payload=payload), False, now)

    def _request(self, kind: str, build: Any, retry_after_reconnect: bool, now: float) -> int:
        state = self.state
        if state not in (State.CONNECTED, State.RECONNECTING):
            raise TetherError(
                ErrorCode.NOT_CONNECTED,
                f"cannot send a {kind} while the session is {state.value}; wait for on_connected",
            )
        self._last_request_id += 1
        rid = self._last_request_id
        if state is State.RECONNECTING and not retry_after_reconnect:
            self._emit(
                ev.RequestDone(
                    rid,
                    kind,
                    "failed",
                    int(ErrorCode.NOT_CONNECTED),
                    "not connected: the session is reconnecting",
                )
            )
            return rid
        entry = self._outbox.enqueue(rid, kind, build, retry_after_reconnect=retry_after_reconnect)
        self._flush()
        logger.debug("%s csq=%d %s", kind, entry.csq, entry.state.value)
        return rid

    # --- transport news -----------------------------------------------------------------

    def transport_opened(self, tid: int, now: float) -> None:
        if tid in self._dials:
            self._dial_opened(tid, now)
            return
        if tid != self._tid:
            return
        self._tid_open = True
        if self.state is State.CONNECTING:
            self._send(p.Join(token=self._token, session_id=self._join_session_id))
        else:
            self._close_transport("not needed any more")

    def transport_failed(self, tid: int, now: float, reason: str, *, refused: bool = False) -> None:
        """The transport ``tid`` could not be opened.

        ``refused``: the server's host answered and said no (a closed port, an HTTP
        error, a certificate it could not prove).  The next attempt then waits for the
        schedule's step.  A failure with no answer (a timeout, an unreachable network)
        is retried ``hedge_after`` after the last start, as an attempt still opening is:
        it costs the server nothing, and the link may be back any moment.
        """
        if tid in self._dials:
            del self._dials[tid]
            self._unanswered = not refused
            logger.info("a reconnection attempt failed: %s", reason)
            self._check_exhausted(now)
            return
        if tid != self._tid:
            return
        self._tid = None
        self._tid_open = False
        self._transport_gone(now, reason)

    def transport_lost(self, tid: int, now: float, reason: str) -> None:
        """The open transport ``tid`` closed or failed."""
        if tid != self._tid:
            return
        self._tid = None
        self._tid_open = False
        self._transport_gone(now, reason)

    def _transport_gone(self, now: float, reason: str) -> None:
        state = self.state
        if state is State.CONNECTING:
            # A link that blinks during the join should not cost the join: try again
            # until the connect deadline, as a reconnection would.
            if now + CONNECT_RETRY_DELAY < self._connect_deadline:
                logger.info("join attempt failed (%s); trying again", reason)
                self._next_attempt_at = now + CONNECT_RETRY_DELAY
            else:
                self._join_failed(
                    now, ErrorCode.CONNECT_FAILED, f"cannot reach the server: {reason}"
                )
        elif state is State.CONNECTED:
            self._link_lost(now, f"socket closed: {reason}")
        elif state is State.RECONNECTING:
            logger.info("resume on attempt %d failed: %s", self._attempt, reason)
            self._unanswered = False  # the server was reached: keep to the schedule
            self._check_exhausted(now)
        elif state is State.DISCONNECTING:
            self._finish_disconnect(now)

    def receive(self, tid: int, msg: Any, now: float) -> None:
        """A decoded server message arrived on transport ``tid``."""
        if tid != self._tid:
            return
        self._hb.received(now)
        if not self._inbox.accept(getattr(msg, "seq", 0)):
            return
        state = self.state
        if state is State.CONNECTING:
            self._receive_connecting(msg, now)
        elif state is State.RECONNECTING:
            self._receive_resuming(msg, now)
        elif state in (State.CONNECTED, State.DISCONNECTING):
            self._receive_story(msg, now)
            if self._replay is not None and self._inbox.last_seq >= self._replay[0]:
                self._finish_replay()
            if self.state is State.DISCONNECTING and not self._outbox.in_flight:
                self._finish_disconnect(now)

    # --- timers -------------------------------------------------------------------------

    def handle_timer(self, now: float) -> None:
        state = self.state
        if state is State.CONNECTING:
            if now >= self._connect_deadline:
                self._join_failed(
                    now, ErrorCode.CONNECT_FAILED, "the server did not answer the join in time"
                )
            elif self._next_attempt_at is not None and now >= self._next_attempt_at:
                self._next_attempt_at = None
                self._open_transport()
        elif state is State.CONNECTED:
            if self._hb.is_lost(now):
                self._link_lost(now, f"no message from the server for {self._hb.silence_timeout} s")
            elif self._hb.ping_due(now):
                self._send(p.Ping(t=now, ack=self._inbox.last_seq))
                self._hb.ping_sent(now)
        elif state is State.RECONNECTING:
            if now >= self._window_deadline:
                self._give_up(now, REASON_NETWORK_DISCONNECTED, None)
            else:
                for tid, deadline in list(self._dials.items()):
                    if now >= deadline:
                        del self._dials[tid]
                        self._commands.append(ev.CloseTransport(tid, "attempt timed out", False))
                if self._tid is not None and now >= self._attempt_deadline:
                    logger.info("resume on attempt %d timed out", self._attempt)
                    self._close_transport("attempt timed out")
                dial_at = self._next_dial_at()
                if dial_at is not None and now >= dial_at:
                    self._start_attempt(now)
                else:
                    self._check_exhausted(now)
        elif state is State.DISCONNECTING:
            if now >= self._disconnect_deadline:
                self._finish_disconnect(now)

    # --- receiving, by state ------------------------------------------------------------

    def _receive_connecting(self, msg: Any, now: float) -> None:
        if isinstance(msg, p.Welcome):
            self.session_id = msg.session_id
            self.connection = msg.connection
            self._resume_key = msg.resume_key
            self.reconnection_window = msg.reconnection_window
            self._fire(Trigger.WELCOME, now)
            self._hb.start(now)
            self._emit(ev.Connected(msg.session_id, msg.connection))
            self._emit_all(
                self._roster.load(
                    msg.connection.id,
                    msg.connections,
                    msg.streams,
                    msg.interrupted,
                )
            )
        elif isinstance(msg, p.Error):
            self._join_failed(now, msg.code, msg.message)
        elif isinstance(msg, p.Closing):
            self._join_failed(now, msg.code, msg.reason)
        else:
            logger.warning("ignoring %s before welcome", type(msg).__name__)

    def _receive_resuming(self, msg: Any, now: float) -> None:
        if isinstance(msg, p.Resumed):
            self._resumed(msg, now)
        elif isinstance(msg, p.Error) and msg.csq is None:
            reason = (
                REASON_TOKEN_EXPIRED
                if msg.code == ErrorCode.TOKEN_EXPIRED
                else REASON_RESUME_REJECTED
            )
            logger.warning("resume refused: [%d] %s", msg.code, msg.message)
            self._emit(ev.ErrorReceived(msg.code, msg.message))
            self._give_up(now, reason, msg.code)
        elif isinstance(msg, p.Closing):
            self._server_closed(now, msg)
        else:
            logger.warning("ignoring %s before resumed", type(msg).__name__)

    def _receive_story(self, msg: Any, now: float) -> None:
        roster = self._roster
        match msg:
            case p.Pong():
                pass
            case p.Ack(csq=csq, stream_id=stream_id):
                self._done(self._outbox.ack(csq, stream_id))
            case p.Error(csq=None, code=code, message=message):
                self._emit(ev.ErrorReceived(code, message))
            case p.Error(csq=csq, code=code, message=message):
                self._done(self._outbox.error(csq, code, message))
            case p.ConnectionCreated(connection=conn):
                self._emit_all(roster.connection_created(conn))
            case p.ConnectionDropped(connection_id=cid, reason=reason):
                self._emit_all(roster.connection_dropped(cid, reason))
            case p.ConnectionInterrupted(connection_id=cid):
                self._emit_all(roster.connection_interrupted(cid))
            case p.ConnectionResumed(connection_id=cid):
                self._emit_all(roster.connection_resumed(cid))
            case p.StreamCreated(stream=stream):
                self._emit_all(roster.stream_created(stream))
            case p.StreamDropped(stream_id=sid, reason=reason):
                if sid in self.own_streams:  # e.g. a moderator unpublished it
                    del self.own_streams[sid]
                self._emit_all(roster.stream_dropped(sid, reason))
            case p.StreamUpdated(stream=stream):
                self._emit_all(roster.stream_updated(stream))
            case p.SignalReceived():
                self._emit(ev.SignalReceived(msg.type, msg.data, msg.from_, msg.to))
            case p.RtcRelay():
                self._emit(ev.RtcReceived(msg.from_, msg.payload))
            case p.Closing():
                self._server_closed(now, msg)
            case _:
                logger.warning("ignoring unexpected %s while connected", type(msg).__name__)

    # --- the outage ---------------------------------------------------------------------

    def _link_lost(self, now: float, reason: str) -> None:
        self._fire(Trigger.LINK_LOST, now)
        self._hb.stop()
        self._close_transport(reason)
        self._replay = None
        self._window_deadline = now + self.reconnection_window
        self._schedule = iter(self._backoff())
        self._attempt = 0
        self._next_attempt_at = None
        self._attempt_started = now
        self._next_delay = self._draw()
        self._unanswered = False
        logger.info("link lost (%s); window ends at %.3f", reason, self._window_deadline)
        self._emit(ev.ReconnectionStarted(reason, self._window_deadline))
        if self._next_delay is None:
            self._give_up(now, REASON_NETWORK_DISCONNECTED, None)
        elif self._next_delay == 0.0:
            self._start_attempt(now)

    def _draw(self) -> float | None:
        """The schedule's next step, or None once it is used up."""
        try:
            return max(0.0, float(next(self._schedule)))
        except StopIteration:
            return None

    def _next_dial_at(self) -> float | None:
        """When the next reconnection attempt starts, or None while none may.

        The schedule's steps run from one attempt's start to the next, so an attempt
        that waited out a connect timeout is followed at once.  While attempts are
        still opening, or the last one failed without an answer, another starts
        ``hedge_after`` after the newest (never more than ``max_dials`` at once).
        None while a resume is under way or the steps are used up.
        """
        if self.state is not State.RECONNECTING or self._tid is not None:
            return None
        if self._next_delay is None or len(self._dials) >= self.max_dials:
            return None
        gap = self._next_delay
        if self._dials or self._unanswered:
            gap = min(gap, self.hedge_after)
        at = self._attempt_started + gap
        return at if at < self._window_deadline else None

    def _check_exhausted(self, now: float) -> None:
        """Give up when the schedule is used up and no attempt is left under way."""
        if (
            self.state is State.RECONNECTING
            and self._next_delay is None
            and not self._dials
            and self._tid is None
        ):
            logger.info("retry schedule exhausted after %d attempts", self._attempt)
            self._give_up(now, REASON_NETWORK_DISCONNECTED, None)

    def _start_attempt(self, now: float) -> None:
        self._attempt += 1
        self._attempt_started = now
        self._next_delay = self._draw()
        self._last_tid += 1
        tid = self._last_tid
        self._dials[tid] = now + self.attempt_timeout
        logger.info("reconnection attempt %d", self._attempt)
        self._commands.append(ev.OpenTransport(tid))

    def _dial_opened(self, tid: int, now: float) -> None:
        """An attempt's socket opened: the first one carries the resume, the rest close."""
        deadline = self._dials.pop(tid)
        if self.state is not State.RECONNECTING or self._tid is not None:
            self._commands.append(ev.CloseTransport(tid, "not needed any more", False))
            return
        self._close_dials("another attempt got through")
        self._tid = tid
        self._tid_open = True
        self._attempt_deadline = deadline
        assert self.connection is not None
        self._send(
            p.Resume(
                connection_id=self.connection.id,
                resume_key=self._resume_key,
                last_seq=self._inbox.last_seq,
            )
        )

    def _close_dials(self, reason: str) -> None:
        for tid in self._dials:
            self._commands.append(ev.CloseTransport(tid, reason, False))
        self._dials.clear()

    def _resumed(self, msg: p.Resumed, now: float) -> None:
        self._resume_key = msg.resume_key
        self._fire(Trigger.RESUMED, now)
        self._hb.start(now)
        self._close_dials("resumed on another socket")
        self._window_deadline = math.inf
        self._emit(ev.Reconnected(self._attempt, msg.replay_count))
        # What the server never got goes again, in csq order, before anything new.
        for entry in self._outbox.resumed(msg.last_csq):
            self._done(entry)
        self._flush()
        replay_end = msg.replay_from + msg.replay_count - 1
        self._replay = (replay_end, msg)
        if msg.replay_count <= 0 or self._inbox.last_seq >= replay_end:
            self._finish_replay()

    def _finish_replay(self) -> None:
        assert self._replay is not None
        _, msg = self._replay
        self._replay = None
        own = self.connection.id if self.connection else ""
        for stream in msg.streams:
            if stream.connection_id == own:
                self.own_streams[stream.id] = stream
        self._emit_all(
            self._roster.reconcile(msg.connections, msg.streams, getattr(msg, "interrupted", None))
        )
        for entry in self._outbox.settle(msg.last_csq):
            self._done(entry)

    def _give_up(self, now: float, reason: str, code: int | None) -> None:
        self._fire(Trigger.GIVE_UP, now)
        self._end(reason, code)

    def _server_closed(self, now: float, msg: p.Closing) -> None:
        logger.warning("server closed the session: [%d] %s", msg.code, msg.reason)
        self._fire(Trigger.SERVER_CLOSED, now)
        self._end(msg.reason, msg.code)

    def _join_failed(self, now: float, code: int, message: str) -> None:
        self._fire(Trigger.JOIN_FAILED, now)
        self._close_transport(message)
        self._emit(ev.ConnectFailed(int(code), message))

    def _finish_disconnect(self, now: float) -> None:
        self._fire(Trigger.CLOSED, now)
        self._end(REASON_CLIENT_DISCONNECTED, None)

    def _end(self, reason: str, code: int | None) -> None:
        """Common tail of every way into ``disconnected`` after a join."""
        self._hb.stop()
        self._close_transport(reason, graceful=reason == REASON_CLIENT_DISCONNECTED)
        self._close_dials(reason)
        self._next_attempt_at = None
        self._window_deadline = math.inf
        self._replay = None
        for entry in self._outbox.fail_all(ErrorCode.SIGNAL_NOT_SENT, reason):
            self._done(entry)
        self._emit(ev.Disconnected(reason, code))

    # --- helpers ------------------------------------------------------------------------

    def _fire(self, trigger: Trigger, now: float) -> None:
        change = self._sm.fire(trigger, now)
        self._emit(ev.StateChanged(change.old, change.new))

    def _emit(self, event: ev.Event) -> None:
        self._events.append(event)

    def _emit_all(self, events: list[ev.Event]) -> None:
        self._events.extend(events)

    def _open_transport(self) -> None:
        self._last_tid += 1
        self._tid = self._last_tid
        self._tid_open = False
        self._commands.append(ev.OpenTransport(self._tid))

    def _close_transport(self, reason: str, graceful: bool = False) -> None:
        if self._tid is not None:
            self._commands.append(ev.CloseTransport(self._tid, reason, graceful and self._tid_open))
        self._tid = None
        self._tid_open = False

    def _send(self, message: Any) -> None:
        assert self._tid is not None and self._tid_open, "no open transport to send on"
        self._commands.append(ev.SendMessage(self._tid, message))

    def _flush(self) -> None:
        """Send every queued request if the link is up."""
        if self.state is not State.CONNECTED or not self._tid_open:
            return
        for entry in self._outbox.take_queued():
            self._send(entry.message)

    def _done(self, entry: Entry | None) -> None:
        if entry is None:
            return
        ok = entry.state is EntryState.ACKED
        if ok:
            self._track_own_stream(entry)
        self._emit(
            ev.RequestDone(
                entry.request_id,
                entry.kind,
                "sent" if ok else "failed",
                entry.code,
                entry.reason,
                entry.stream_id,
            )
        )

    def _track_own_stream(self, entry: Entry) -> None:
        msg = entry.message
        own = self.connection.id if self.connection else ""
        if isinstance(msg, p.Publish) and entry.stream_id:
            self.own_streams[entry.stream_id] = p.StreamInfo(
                id=entry.stream_id,
                connection_id=own,
                name=msg.name,
                has_audio=msg.has_audio,
                has_video=msg.has_video,
                created_at=0.0,  # the server's clock; not in the ack
            )
        elif isinstance(msg, p.Unpublish):
            self.own_streams.pop(msg.stream_id, None)
        elif isinstance(msg, p.UpdateStream) and msg.stream_id in self.own_streams:
            old = self.own_streams[msg.stream_id]
            self.own_streams[msg.stream_id] = p.StreamInfo(
                id=old.id,
                connection_id=old.connection_id,
                name=old.name,
                has_audio=old.has_audio if msg.has_audio is None else msg.has_audio,
                has_video=old.has_video if msg.has_video is None else msg.has_video,
                created_at=old.created_at,
                video_reason=old.video_reason,
            )
