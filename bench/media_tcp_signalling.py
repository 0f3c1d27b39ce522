"""Signalling over one loopback TCP socket, for the benchmarks' two-process calls.

Each line is JSON ``{"from": id, "to": id, "payload": {...}}``.  Several local endpoints
(one per engine) can share the socket.  Bench-only; the app uses the session server.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

from app.core.errors import ErrorCode, TetherError

logger = logging.getLogger(__name__)


class TcpLink:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._endpoints: dict[str, TcpEndpoint] = {}
        self._task = asyncio.get_running_loop().create_task(self._read())

    def endpoint(self, connection_id: str) -> TcpEndpoint:
        endpoint = TcpEndpoint(self, connection_id)
        self._endpoints[connection_id] = endpoint
        return endpoint

    async def _write(self, line: dict[str, Any]) -> None:
        if self._writer.is_closing():
            raise TetherError(ErrorCode.NOT_CONNECTED, "signalling socket closed")
        try:
            self._writer.write(json.dumps(line).encode() + b"\n")
            await self._writer.drain()
        except ConnectionError as exc:
            raise TetherError(ErrorCode.NOT_CONNECTED, f"signalling socket: {exc}") from None

    async def _read(self) -> None:
        try:
            await self._read_lines()
        except ConnectionError:
            pass  # the other process finished first

    async def _read_lines(self) -> None:
        while line := await self._reader.readline():
            msg = json.loads(line)
            endpoint = self._endpoints.get(msg["to"])
            if endpoint is not None:
                endpoint._deliver(msg["from"], msg["payload"])

    async def close(self) -> None:
        self._task.cancel()
        self._writer.close()


class TcpEndpoint:
    def __init__(self, link: TcpLink, connection_id: str) -> None:
        self._link = link
        self._id = connection_id
        self._handlers: list[Callable[[str, dict[str, Any]], None]] = []

    @property
    def local_id(self) -> str:
        return self._id

    async def send(self, to: str, payload: dict[str, Any]) -> None:
        await self._link._write({"from": self._id, "to": to, "payload": payload})

    def add_payload_listener(self, handler):
        self._handlers.append(handler)
        return lambda: self._handlers.remove(handler)

    def _deliver(self, sender: str, payload: dict[str, Any]) -> None:
        for handler in list(self._handlers):
            handler(sender, payload)
