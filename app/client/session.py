"""``Session``: the public asyncio API of a Tether client.

::

    session = Session("ws://127.0.0.1:8080", token, callbacks)
    await session.connect()                    # raises TetherError if the join fails
    result = await session.send_signal("chat", "hi")
    await session.disconnect()

Reconnection is automatic (see docs/protocol.md and the seed): when the link
drops, ``on_reconnection_started`` is called, signals wait in an outbox, and
``on_reconnected`` follows when the server took the client back; if the
window closes first, ``on_disconnected(reason)``.

**Callbacks** are optional methods of ``callbacks`` (call only those present):
``on_connected()``, ``on_disconnected(reason)``, ``on_reconnection_started()``,
``on_reconnected()``, ``on_connection_created(connection)``,
``on_connection_dropped(connection, reason)``, ``on_stream_received(stream)``,
``on_stream_dropped(stream, reason)``, ``on_stream_updated(stream)``,
``on_signal_received(type, data, connection_id)``, ``on_error(code, message)``;
and, beyond the seed, ``on_connection_interrupted(connection)`` /
``on_connection_resumed(connection)``.  They run on the event loop's thread, in
the order things happened.  A callback that raises is logged; the session goes
on.  Callbacks may call any method of the session.

``on_disconnected(reason)`` reasons: ``client_disconnected`` (you called
disconnect), ``network_disconnected`` (the reconnection window passed),
``resume_rejected`` (the server no longer held this connection: restarted, or
its window passed first), ``token_expired`` (at resume), or the reason of a
server ``closing`` (e.g. ``server_shutdown``).  After it nothing is retried.

All times here (``progress.next_retry_at`` …) are on ``loop.time()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import ssl
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import aiohttp

from app.client.callbacks import call
from app.client.subscriber import Subscriber
from app.client.transport import CONNECT_TIMEOUT, WsTransport, client_timeout
from app.core import events as ev
from app.core.backoff import BackoffFactory
from app.core.connection import ClientConnection
from app.core.errors import ErrorCode, TetherError
from app.core.protocol import ConnectionInfo, StreamInfo
from app.core.reconnect import State

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SignalResult:
    """The outcome of a signal (or any request): ``sent`` means the server acknowledged it."""

    status: str  # "sent" | "failed"
    code: int | None = None
    message: str = ""
    stream_id: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "sent"


@dataclass(frozen=True)
class ReconnectionProgress:
    state: str
    attempt: int  # attempts made in this outage (0 when not reconnecting)
    next_retry_at: float | None  # loop.time() of the next attempt, if one is waiting
    window_deadline: float | None  # loop.time() when the session gives up
    queued: int  # requests waiting for the link


class Pending:
    """An awaitable for the outcome of one request.  ``await pending`` -> SignalResult."""

    def __init__(self, request_id: int, future: asyncio.Future[SignalResult]) -> None:
        self.request_id = request_id
        self._future = future

    def __await__(self):  # type: ignore[no-untyped-def]
        return asyncio.shield(self._future).__await__()

    def done(self) -> bool:
        return self._future.done()

    def result(self) -> SignalResult:
        return self._future.result()

    def add_done_callback(self, fn: Callable[[SignalResult], None]) -> None:
        self._future.add_done_callback(lambda f: fn(f.result()))


class Session:
    def __init__(
        self,
        url: str,
        token: str,
        callbacks: Any = None,
        *,
        session_id: str | None = None,
        heartbeat_interval: float = 1.0,
        silence_timeout: float = 3.0,
        backoff: BackoffFactory | Iterable[float] | None = None,
        connect_timeout: float = 10.0,
        attempt_timeout: float | None = None,
        socket_timeout: float = CONNECT_TIMEOUT,
        max_pending: int = 1000,
        max_pending_bytes: int = 1_000_000,
        name: str = "session",
        ca_file: str | None = None,
    ) -> None:
        """``ca_file``: PEM certificates to trust for ``wss://`` besides the system's
        (default: the ``TETHER_CA_FILE`` environment variable, so the app and the
        tools trust a development certificate the same way).

        Certificates are always verified; there is no switch to turn that off.
        """
        self.url = url
        ca_file = ca_file or os.environ.get("TETHER_CA_FILE") or None
        self._ssl: ssl.SSLContext | bool = (
            ssl.create_default_context(cafile=ca_file) if ca_file else True
        )
        self.name = name
        self.callbacks = callbacks
        self._conn = ClientConnection(
            token,
            session_id=session_id,
            heartbeat_interval=heartbeat_interval,
            silence_timeout=silence_timeout,
            backoff=backoff,
            connect_timeout=connect_timeout,
            attempt_timeout=attempt_timeout,
            max_pending=max_pending,
            max_pending_bytes=max_pending_bytes,
            name=name,
        )
        self._socket_timeout = socket_timeout
        self._loop: asyncio.AbstractEventLoop | None = None
        self._http: aiohttp.ClientSession | None = None
        self._transports: dict[int, WsTransport] = {}
        self._closing: set[WsTransport] = set()  # closing gracefully (after a leave)
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._pending: dict[int, asyncio.Future[SignalResult]] = {}
        self._joined: asyncio.Future[None] | None = None
        self._ended: asyncio.Future[str] | None = None
        self._subscribers: dict[str, list[Subscriber]] = {}
        self._listeners: list[Callable[[ev.Event], None]] = []
        self._rtc_listeners: list[Callable[[str, dict[str, Any]], None]] = []
        self._pumping = False
        self._cleanup: asyncio.Task[None] | None = None
        self._cut_until = 0.0  # loop.time() until which the link is simulated dead
        self.disconnect_reason: str | None = None

    # --- reading ------------------------------------------------------------------------

    @property
    def state(self) -> State:
        return self._conn.state

    @property
    def connection(self) -> ConnectionInfo | None:
        """This client's own connection, once joined."""
        return self._conn.connection

    @property
    def session_id(self) -> str:
        return self._conn.session_id

    @property
    def connections(self) -> dict[str, ConnectionInfo]:
        """The other connections, by id."""
        return self._conn.connections

    @property
    def streams(self) -> dict[str, StreamInfo]:
        """The other connections' streams, by id."""
        return self._conn.streams

    @property
    def own_streams(self) -> dict[str, StreamInfo]:
        return dict(self._conn.own_streams)

    def is_interrupted(self, connection_id: str) -> bool:
        return connection_id in self._conn.interrupted

    @property
    def progress(self) -> ReconnectionProgress:
        """Where a reconnection stands; readable at any time (zeros when connected)."""
        p = self._conn.progress()
        return ReconnectionProgress(
            p["state"], p["attempt"], p["next_retry_at"], p["window_deadline"], p["queued"]
        )

    # --- lifecycle ----------------------------------------------------------------------

    async def connect(self) -> None:
        """Join the session.  Raises :class:`TetherError` (1004, 1005, 1007, 1013 …) on failure.

        ``on_connected`` is called before this returns, then ``on_connection_created`` /
        ``on_stream_received`` for everyone already there.
        """
        if self.state is not State.NOT_CONNECTED:
            raise TetherError(ErrorCode.INVALID_PARAMETER, "connect() may be called once")
        self._loop = asyncio.get_running_loop()
        self._http = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(force_close=True),
            timeout=client_timeout(self._socket_timeout),
        )
        self._joined = self._loop.create_future()
        self._ended = self._loop.create_future()
        self._conn.connect(self._now())
        self._pump()
        try:
            await asyncio.shield(self._joined)
        except asyncio.CancelledError:
            self._conn.disconnect(self._now())
            self._pump()
            raise

    async def disconnect(self) -> None:
        """Leave the session; ``on_disconnected("client_disconnected")`` is called before
        this returns.  Harmless if already disconnected."""
        if self.state is State.NOT_CONNECTED:
            return
        self._conn.disconnect(self._now())
        self._pump()
        assert self._ended is not None
        await asyncio.shield(self._ended)
        await self._close_http()

    async def wait_disconnected(self) -> str:
        """Wait until the session ends for any reason; returns the reason."""
        assert self._ended is not None, "connect() first"
        return await asyncio.shield(self._ended)

    def retry_now(self) -> bool:
        """While reconnecting, try again now instead of waiting.  False if nothing to skip."""
        ok = self._conn.retry_now(self._now())
        self._pump()
        return ok

    def simulate_drop(self, seconds: float) -> None:
        """Make this client's link go dead for ``seconds``, as a lost network would.

        For a demo or a test ("Network → Simulate connection drop"): frames to and from
        the server are discarded without closing the socket, so only the heartbeats
        notice, and sockets opened meanwhile fail after the connect timeout.  The
        session reconnects by itself afterwards.  Works the same for ws:// and wss://.
        A second call while a drop lasts extends it.
        """
        if not seconds > 0:
            raise TetherError(ErrorCode.INVALID_PARAMETER, "a drop lasts a positive time")
        self._cut_until = max(self._cut_until, self._now() + seconds)
        logger.info("%s: simulated link drop for %.1f s", self.name, seconds)

    def _cut(self) -> bool:
        return self._cut_until > 0 and self._now() < self._cut_until

    # --- requests -----------------------------------------------------------------------

    def send_signal(
        self,
        type: str,
        data: str,
        *,
        to: str | None = None,
        retry_after_reconnect: bool = True,
    ) -> Pending:
        """Send a signal to everyone (``to=None``) or one connection id.

        Returns at once; ``await`` the result for the outcome (``sent`` = the server
        acknowledged it; ``failed`` with a code).  Local misuse (bad type, data too
        long, not connected, outbox full) raises :class:`TetherError` at once.
        """
        rid = self._conn.send_signal(
            type, data, to=to, retry_after_reconnect=retry_after_reconnect, now=self._now()
        )
        return self._track(rid)

    async def publish_stream(self, name: str, has_audio: bool, has_video: bool) -> StreamInfo:
        """Announce a stream (media hook).  Raises :class:`TetherError` if the server refuses
        (1501 for a subscriber token).  Queued while reconnecting."""
        rid = self._conn.publish(name, has_audio, has_video, now=self._now())
        result = await self._track(rid)
        self._raise_if_failed(result)
        assert result.stream_id is not None
        return self._conn.own_streams[result.stream_id]

    async def unpublish_stream(self, stream_id: str) -> None:
        rid = self._conn.unpublish(stream_id, now=self._now())
        self._raise_if_failed(await self._track(rid))

    async def update_stream(
        self, stream_id: str, has_audio: bool | None = None, has_video: bool | None = None
    ) -> None:
        rid = self._conn.update_stream(
            stream_id, has_audio=has_audio, has_video=has_video, now=self._now()
        )
        self._raise_if_failed(await self._track(rid))

    async def force_disconnect(self, connection_id: str) -> None:
        """Moderator: remove a connection; it sees ``on_disconnected("force_disconnected")``.
        Raises :class:`TetherError` 1503 without a moderator token."""
        rid = self._conn.force_disconnect(connection_id, now=self._now())
        self._raise_if_failed(await self._track(rid))

    async def force_unpublish(self, stream_id: str) -> None:
        """Moderator: stop another connection's stream (1503 without a moderator token)."""
        rid = self._conn.force_unpublish(stream_id, now=self._now())
        self._raise_if_failed(await self._track(rid))

    def send_rtc(self, to: str, payload: dict[str, Any]) -> Pending:
        """Relay a WebRTC offer / answer / candidate (media hook).  Sent only while connected:
        during an outage the result is ``failed`` 1010 at once (renegotiate on resume)."""
        return self._track(self._conn.send_rtc(to, payload, now=self._now()))

    # --- hooks for the media layer and the UI ------------------------------------------

    def subscribe(self, stream: StreamInfo | str, callbacks: Any = None) -> Subscriber:
        """Follow another participant's stream; see :class:`Subscriber`."""
        stream_id = stream if isinstance(stream, str) else stream.id
        info = self._conn.streams.get(stream_id)
        if info is None:
            raise TetherError(ErrorCode.UNKNOWN_STREAM, f"no stream {stream_id} in the session")
        sub = Subscriber(info, callbacks, interrupted=info.connection_id in self._conn.interrupted)
        sub._on_unsubscribe = self._forget_subscriber
        self._subscribers.setdefault(stream_id, []).append(sub)
        return sub

    def add_listener(self, listener: Callable[[ev.Event], None]) -> Callable[[], None]:
        """Every event of :mod:`app.core.events` as it happens (``Reconnected``,
        ``Disconnected``, ``StateChanged``, ``StreamInterrupted`` …), before the user
        callbacks.  Returns a function that removes the listener."""
        self._listeners.append(listener)
        return lambda: _remove(self._listeners, listener)

    def add_rtc_listener(
        self, listener: Callable[[str, dict[str, Any]], None]
    ) -> Callable[[], None]:
        """``listener(from_connection_id, payload)`` for every ``rtc_relay``."""
        self._rtc_listeners.append(listener)
        return lambda: _remove(self._rtc_listeners, listener)

    # --- the pump: sans-I/O core <-> sockets, timers and callbacks --------------------

    def _now(self) -> float:
        loop = self._loop or asyncio.get_running_loop()
        return loop.time()

    def _pump(self) -> None:
        if self._pumping:  # a callback called back in; the outer loop picks it up
            return
        self._pumping = True
        try:
            while True:
                commands = self._conn.take_commands()
                events = self._conn.take_events()
                if not commands and not events:
                    break
                for command in commands:
                    self._run(command)
                for event in events:
                    self._dispatch(event)
        finally:
            self._pumping = False
        self._arm_timer()

    def _arm_timer(self) -> None:
        at = self._conn.get_timer()
        if at == self._timer_at:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._timer_at = at
        if at is not None and self._loop is not None:
            self._timer = self._loop.call_at(at, self._on_timer)

    def _on_timer(self) -> None:
        at = self._timer_at
        self._timer = None
        self._timer_at = None
        # call_at may fire a hair early (clock resolution): never hand the core a time
        # before the deadline it asked for.
        self._conn.handle_timer(max(self._now(), at or 0.0))
        self._pump()

    def _run(self, command: ev.Command) -> None:
        if isinstance(command, ev.OpenTransport):
            assert self._http is not None
            if self._cut():  # a dead network: the attempt times out
                assert self._loop is not None
                self._loop.call_later(
                    self._socket_timeout,
                    self.transport_failed,
                    command.transport_id,
                    "timed out (simulated drop)",
                )
                return
            transport = WsTransport(
                command.transport_id,
                self.url,
                self._http,
                self,
                ssl_context=self._ssl,
            )
            self._transports[command.transport_id] = transport
            transport.start()
        elif isinstance(command, ev.SendMessage):
            transport = self._transports.get(command.transport_id)
            if transport is not None and not self._cut():
                transport.send(command.message)
        elif isinstance(command, ev.CloseTransport):
            transport = self._transports.pop(command.transport_id, None)
            if transport is not None:
                logger.debug(
                    "%s: closing transport %d: %s", self.name, transport.tid, command.reason
                )
                if command.graceful:
                    transport.close()
                    self._closing.add(transport)
                else:
                    transport.abort()

    # TransportOwner: called by WsTransport on the loop thread.
    def transport_opened(self, tid: int) -> None:
        self._conn.transport_opened(tid, self._now())
        self._pump()

    def transport_failed(self, tid: int, reason: str, refused: bool = False) -> None:
        self._transports.pop(tid, None)
        self._conn.transport_failed(tid, self._now(), reason, refused=refused)
        self._pump()

    def transport_message(self, tid: int, message: Any) -> None:
        if self._cut():
            return
        self._conn.receive(tid, message, self._now())
        self._pump()

    def transport_lost(self, tid: int, reason: str) -> None:
        self._transports.pop(tid, None)
        self._conn.transport_lost(tid, self._now(), reason)
        self._pump()

    def transport_bad_frame(self, tid: int, error: TetherError) -> None:
        logger.warning("%s: ignoring a bad frame from the server: %s", self.name, error)

    # --- events -> callbacks ------------------------------------------------------------

    def _dispatch(self, event: ev.Event) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                logger.exception("session listener %r failed", listener)
        cb = self.callbacks
        match event:
            case ev.Connected():
                if self._joined is not None and not self._joined.done():
                    self._joined.set_result(None)
                call(cb, "on_connected")
            case ev.ConnectFailed(code=code, message=message):
                call(cb, "on_error", code, message)
                self._ended_with(f"connect_failed: {message}")
                if self._joined is not None and not self._joined.done():
                    self._joined.set_exception(TetherError(_code(code), message))
            case ev.ReconnectionStarted():
                call(cb, "on_reconnection_started")
            case ev.Reconnected():
                call(cb, "on_reconnected")
            case ev.Disconnected(reason=reason):
                self.disconnect_reason = reason
                if self._joined is not None and not self._joined.done():
                    self._joined.set_exception(
                        TetherError(
                            ErrorCode.NOT_CONNECTED, f"disconnected before joining: {reason}"
                        )
                    )
                for subs in self._subscribers.values():
                    for sub in list(subs):
                        sub._stream_dropped(reason)
                self._subscribers.clear()
                call(cb, "on_disconnected", reason)
                self._ended_with(reason)
            case ev.ErrorReceived(code=code, message=message):
                call(cb, "on_error", code, message)
            case ev.ConnectionCreated(connection=conn):
                call(cb, "on_connection_created", conn)
            case ev.ConnectionDropped(connection=conn, reason=reason):
                call(cb, "on_connection_dropped", conn, reason)
            case ev.ConnectionInterrupted(connection=conn):
                call(cb, "on_connection_interrupted", conn)
            case ev.ConnectionResumed(connection=conn):
                call(cb, "on_connection_resumed", conn)
            case ev.StreamReceived(stream=stream):
                call(cb, "on_stream_received", stream)
            case ev.StreamDropped(stream=stream, reason=reason):
                for sub in self._subscribers.pop(stream.id, []):
                    sub._stream_dropped(reason)
                call(cb, "on_stream_dropped", stream, reason)
            case ev.StreamUpdated(stream=stream):
                for sub in self._subscribers.get(stream.id, []):
                    sub._stream_updated(stream)
                call(cb, "on_stream_updated", stream)
            case ev.StreamInterrupted(stream=stream):
                for sub in list(self._subscribers.get(stream.id, [])):
                    sub._owner_interrupted()
            case ev.StreamResumed(stream=stream):
                for sub in list(self._subscribers.get(stream.id, [])):
                    sub._owner_resumed()
            case ev.SignalReceived(type=type_, data=data, from_id=from_id):
                call(cb, "on_signal_received", type_, data, from_id)
            case ev.RtcReceived(from_id=from_id, payload=payload):
                for listener in list(self._rtc_listeners):
                    try:
                        listener(from_id, payload)
                    except Exception:
                        logger.exception("rtc listener %r failed", listener)
            case ev.RequestDone():
                future = self._pending.pop(event.request_id, None)
                if future is not None and not future.done():
                    future.set_result(
                        SignalResult(event.status, event.code, event.message, event.stream_id)
                    )
            case ev.StateChanged():
                pass

    # --- helpers ------------------------------------------------------------------------

    def _track(self, request_id: int) -> Pending:
        loop = self._loop or asyncio.get_running_loop()
        future: asyncio.Future[SignalResult] = loop.create_future()
        self._pending[request_id] = future
        self._pump()  # may resolve it at once (e.g. failed while reconnecting)
        return Pending(request_id, future)

    @staticmethod
    def _raise_if_failed(result: SignalResult) -> None:
        if not result.ok:
            raise TetherError(_code(result.code or ErrorCode.SIGNAL_NOT_SENT), result.message)

    def _forget_subscriber(self, sub: Subscriber) -> None:
        subs = self._subscribers.get(sub.stream.id, [])
        if sub in subs:
            subs.remove(sub)

    def _ended_with(self, reason: str) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
            self._timer_at = None
        if self._ended is not None and not self._ended.done():
            self._ended.set_result(reason)
        if self._loop is not None and self._cleanup is None:
            self._cleanup = self._loop.create_task(self._release())

    async def _close_http(self) -> None:
        if self._cleanup is None:
            assert self._loop is not None
            self._cleanup = self._loop.create_task(self._release())
        await asyncio.shield(self._cleanup)

    async def _release(self) -> None:
        """Flush the leave, drop every socket, close the HTTP client.  Runs once."""
        for transport in list(self._transports.values()):
            transport.abort()
        self._transports.clear()
        closing, self._closing = self._closing, set()
        for transport in closing:
            await transport.wait_closed()
        http, self._http = self._http, None
        if http is not None:
            with contextlib.suppress(Exception):
                await http.close()


def _code(code: int) -> ErrorCode:
    try:
        return ErrorCode(code)
    except ValueError:
        return ErrorCode.INTERNAL_ERROR


def _remove(items: list[Any], item: Any) -> None:
    if item in items:
        items.remove(item)
