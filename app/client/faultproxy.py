"""A loopback TCP proxy that breaks the link on demand, for tests and benchmarks.

::

    async with FaultProxy("127.0.0.1", server_port) as proxy:
        url = f"ws://127.0.0.1:{proxy.port}"
        proxy.black_hole()   # stop forwarding, keep every socket open (half-open link)
        proxy.restore()      # forward again; bytes held during the hole flow on
        proxy.cut()          # reset both sides of every connection (RST); refuse new ones
        proxy.restore()
        proxy.latency = 0.6  # hold every chunk 0.6 s each way: a long round trip

Modes:

* ``forward`` — bytes flow both ways.
* ``black_hole`` — nothing is forwarded and nothing is closed: each side sees
  silence, as on a dead Wi-Fi link, and only heartbeats can tell.  Held bytes
  are delivered after :meth:`restore`, like TCP retransmission after a short
  outage.  New connections are accepted and held the same way (they go through
  at once on restore), or with ``black_hole(drop_new=True)`` accepted and never
  forwarded, not even after restore — like a SYN lost on the way, which only
  the client's connect timeout ends.
* ``cut`` — every open connection is reset on both sides at once; new
  connections are reset as soon as they arrive, until :meth:`restore`.

Loopback only: it listens on 127.0.0.1 and forwards to the target given.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct

logger = logging.getLogger(__name__)

FORWARD = "forward"
BLACK_HOLE = "black_hole"
CUT = "cut"
_CHUNK = 65536


class _Pair:
    def __init__(
        self,
        proxy: FaultProxy,
        client: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    ) -> None:
        self.proxy = proxy
        self.client_reader, self.client_writer = client
        self.server_reader: asyncio.StreamReader | None = None
        self.server_writer: asyncio.StreamWriter | None = None
        self.tasks: list[asyncio.Task[None]] = []

    async def run(self) -> None:
        try:
            self.server_reader, self.server_writer = await asyncio.open_connection(
                self.proxy.target_host, self.proxy.target_port
            )
        except OSError as exc:
            logger.info("fault proxy: cannot reach the target: %s", exc)
            self.reset()
            return
        loop = asyncio.get_running_loop()
        self.tasks = [
            loop.create_task(self._pump(self.client_reader, self.server_writer)),
            loop.create_task(self._pump(self.server_reader, self.client_writer)),
        ]
        await asyncio.gather(*self.tasks, return_exceptions=True)
        self.close()

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                # Wait for the link before reading, so a black hole stops reading too and the
                # sender's socket buffers fill as they would behind a dead router.
                await self.proxy._open.wait()
                data = await reader.read(_CHUNK)
                if not data:
                    break
                if self.proxy.latency > 0:
                    await asyncio.sleep(self.proxy.latency)
                await self.proxy._open.wait()
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            # One side finished: finish the other (half-close is not worth modelling here).
            for task in self.tasks:
                if task is not asyncio.current_task():
                    task.cancel()

    def reset(self) -> None:
        """Abort both sockets with RST."""
        for task in self.tasks:
            task.cancel()
        for writer in (self.client_writer, self.server_writer):
            if writer is not None:
                _abort_with_rst(writer)

    def close(self) -> None:
        for writer in (self.client_writer, self.server_writer):
            if writer is not None and not writer.is_closing():
                writer.close()
        self.proxy._pairs.discard(self)


def _abort_with_rst(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class FaultProxy:
    def __init__(self, target_host: str, target_port: int, *, listen_port: int = 0) -> None:
        self.target_host = target_host
        self.target_port = target_port
        self._listen_port = listen_port
        self.mode = FORWARD
        self.latency = 0.0  # seconds each chunk is held, each way
        self._drop_new = False
        self._dead: set[asyncio.StreamWriter] = set()  # connections lost in a hole
        self._open = asyncio.Event()
        self._open.set()
        self._pairs: set[_Pair] = set()
        self._server: asyncio.base_events.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    async def start(self) -> FaultProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self._listen_port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for pair in list(self._pairs):
            pair.reset()
        for writer in list(self._dead):
            writer.transport.abort()
        for task in list(self._tasks):
            task.cancel()
        if self._server is not None:
            with contextlib.suppress(Exception):
                await self._server.wait_closed()

    async def __aenter__(self) -> FaultProxy:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def connections(self) -> int:
        return len(self._pairs)

    def black_hole(self, *, drop_new: bool = False) -> None:
        logger.info("fault proxy: %s -> black_hole", self.mode)
        self.mode = BLACK_HOLE
        self._drop_new = drop_new
        self._open.clear()

    def cut(self) -> None:
        logger.info("fault proxy: %s -> cut", self.mode)
        self.mode = CUT
        self._open.clear()
        for pair in list(self._pairs):
            pair.reset()
            self._pairs.discard(pair)

    def restore(self) -> None:
        logger.info("fault proxy: %s -> forward", self.mode)
        self.mode = FORWARD
        self._open.set()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.mode == CUT:
            _abort_with_rst(writer)
            return
        if self.mode == BLACK_HOLE and self._drop_new:
            # Never forwarded: the client's connect attempt must time out on its own.
            self._dead.add(writer)
            try:
                while await reader.read(_CHUNK):
                    pass
            except (ConnectionError, OSError):
                pass
            finally:
                self._dead.discard(writer)
                writer.close()
            return
        pair = _Pair(self, (reader, writer))
        self._pairs.add(pair)
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await pair.run()
        except asyncio.CancelledError:
            pair.reset()
        finally:
            self._pairs.discard(pair)
            if task is not None:
                self._tasks.discard(task)
