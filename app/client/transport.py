"""One WebSocket to the session server, as the client's :class:`Session` uses it.

A :class:`WsTransport` opens (with a short timeout per attempt), reads frames
and hands decoded messages to its owner, writes messages in the order they
were given, and can be aborted at once — without the WebSocket closing
handshake, which would hang on a half-open link.  It makes no decisions: the
sans-I/O :class:`~app.core.connection.ClientConnection` does.

Everything runs on the event loop that called :meth:`WsTransport.start`.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import ssl
from collections.abc import Callable
from typing import Any

import aiohttp

from app.core import protocol
from app.core.errors import TetherError
from app.core.limits import FRAME_MAX

logger = logging.getLogger(__name__)

# Per attempt, the TCP (and TLS) handshake: a black-holed SYN must not eat the window.
# The client's aiohttp session applies it (``ClientTimeout(sock_connect=...)``).
CONNECT_TIMEOUT = 1.0
# Per attempt, the whole WebSocket opening, HTTP upgrade included: a link that answered
# the SYN works, and on a long round trip the upgrade alone can take over a second.
HANDSHAKE_TIMEOUT = 4.0


def client_timeout(connect_timeout: float = CONNECT_TIMEOUT) -> aiohttp.ClientTimeout:
    """The aiohttp session timeouts for transports: only the socket connect is short."""
    return aiohttp.ClientTimeout(total=None, sock_connect=connect_timeout)


class TransportOwner:
    """What a transport reports to; every method is called on the loop thread."""

    def transport_opened(self, tid: int) -> None: ...
    def transport_failed(self, tid: int, reason: str, refused: bool = False) -> None: ...
    def transport_message(self, tid: int, message: Any) -> None: ...
    def transport_lost(self, tid: int, reason: str) -> None: ...
    def transport_bad_frame(self, tid: int, error: TetherError) -> None: ...


class WsTransport:
    def __init__(
        self,
        tid: int,
        url: str,
        http: aiohttp.ClientSession,
        owner: TransportOwner,
        *,
        handshake_timeout: float = HANDSHAKE_TIMEOUT,
        ssl_context: ssl.SSLContext | bool = True,
    ) -> None:
        """``http`` should carry :func:`client_timeout`; ``handshake_timeout`` bounds
        the whole opening."""
        self.tid = tid
        self._ssl = ssl_context
        self.url = url
        self._http = http
        self._owner = owner
        self._handshake_timeout = handshake_timeout
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._outgoing: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._writer: asyncio.Task[None] | None = None
        self._aborted = False
        self._closer: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name=f"tether-transport-{self.tid}"
        )

    def send(self, message: Any) -> None:
        """Queue a protocol message; frames go out in the order given."""
        if not self._aborted:
            self._outgoing.put_nowait(protocol.encode(message))

    def close(self, timeout: float = 1.0) -> None:
        """Write what is queued, then close the WebSocket properly (at most ``timeout``).

        Reports nothing more.  :meth:`wait_closed` waits for it."""
        if self._aborted:
            return
        self._aborted = True
        self._outgoing.put_nowait(None)
        if self._task is not None:
            self._task.cancel()
        self._closer = asyncio.get_running_loop().create_task(self._close_gracefully(timeout))

    async def _close_gracefully(self, timeout: float) -> None:
        try:
            async with asyncio.timeout(timeout):
                if self._writer is not None:
                    with contextlib.suppress(asyncio.CancelledError):
                        await self._writer
                if self._ws is not None:
                    await self._ws.close()
        except (TimeoutError, Exception) as exc:
            logger.debug("transport %d: graceful close gave up: %s", self.tid, exc)
        finally:
            self._close_socket()

    def abort(self) -> None:
        """Drop the socket now, without a closing handshake; report nothing more."""
        if self._aborted:
            return
        self._aborted = True
        if self._writer is not None:
            self._writer.cancel()
        if self._task is not None:
            self._task.cancel()
        self._close_socket()

    def _close_socket(self) -> None:
        ws = self._ws
        if ws is None:
            return
        # ClientWebSocketResponse.close() waits for the peer's close frame, which never
        # comes on a half-open link; abort the TCP transport underneath instead.
        conn = getattr(ws, "_conn", None)
        transport = getattr(conn, "transport", None) if conn is not None else None
        if transport is not None:
            transport.abort()
        response = getattr(ws, "_response", None)
        if response is not None:
            response.close()

    async def _run(self) -> None:
        loop_owner = self._owner
        try:
            self._ws = await asyncio.wait_for(
                self._http.ws_connect(
                    self.url,
                    heartbeat=None,  # the protocol has its own, which the server sees too
                    autoping=True,
                    max_msg_size=FRAME_MAX,
                    ssl=self._ssl,
                ),
                timeout=self._handshake_timeout,
            )
        except asyncio.CancelledError:
            raise
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            if not self._aborted:
                reason = "timed out" if type(exc) is TimeoutError else _describe(exc)
                loop_owner.transport_failed(self.tid, reason, refused=_refused(exc))
            return
        if self._aborted:  # aborted while the handshake finished
            self._close_socket()
            return
        self._writer = asyncio.get_running_loop().create_task(
            self._write(), name=f"tether-writer-{self.tid}"
        )
        loop_owner.transport_opened(self.tid)
        reason = "closed by the server"
        try:
            async for frame in self._ws:
                if frame.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                    try:
                        message = protocol.decode_server(frame.data)
                    except TetherError as err:
                        loop_owner.transport_bad_frame(self.tid, err)
                        continue
                    loop_owner.transport_message(self.tid, message)
                    if self._aborted:
                        return
                elif frame.type is aiohttp.WSMsgType.ERROR:
                    reason = f"socket error: {_describe(self._ws.exception())}"
                    break
            if self._ws.close_code is not None:
                reason = f"closed by the server (code {self._ws.close_code})"
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a reset surfaces as one of several exception types
            reason = f"socket error: {_describe(exc)}"
        finally:
            if self._writer is not None and self._closer is None:
                self._writer.cancel()
        if not self._aborted:
            self._aborted = True
            self._close_socket()
            loop_owner.transport_lost(self.tid, reason)

    async def _write(self) -> None:
        assert self._ws is not None
        while True:
            data = await self._outgoing.get()
            if data is None:
                return
            try:
                await self._ws.send_str(data.decode("utf-8"))
            except (ConnectionError, aiohttp.ClientError, RuntimeError) as exc:
                # The reader notices the broken socket too and reports it once.
                logger.debug("transport %d: write failed: %s", self.tid, exc)
                self._close_socket()
                return

    async def wait_closed(self) -> None:
        for task in (self._task, self._closer):
            if task is not None:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task


def _refused(exc: BaseException) -> bool:
    """Did the server's host answer this attempt (and say no)?

    A closed port (ECONNREFUSED), an HTTP error instead of the upgrade, or a TLS
    failure are answers; a timeout or an unreachable network are not.
    """
    if isinstance(exc, aiohttp.ClientResponseError | aiohttp.ClientSSLError):
        return True
    if isinstance(exc, ConnectionRefusedError):
        return True
    os_error = getattr(exc, "os_error", None)
    return isinstance(os_error, ConnectionRefusedError) or (
        isinstance(os_error, OSError) and os_error.errno == errno.ECONNREFUSED
    )


def _describe(exc: BaseException | None) -> str:
    if exc is None:
        return ""
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


TransportFactory = Callable[[int, str, aiohttp.ClientSession, TransportOwner], WsTransport]
