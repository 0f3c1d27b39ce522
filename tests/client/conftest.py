"""Live fixtures: the real session server on loopback, the fault proxy, recording callbacks."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest

from app.client.faultproxy import FaultProxy  # noqa: E402
from app.client.session import Session  # noqa: E402
from app.core.tokens import new_session_id  # noqa: E402
from app.server import runner  # noqa: E402

WAIT = 20.0  # generous bound for anything that should happen "soon"

SESSION_CALLBACKS = (
    "on_connected",
    "on_disconnected",
    "on_reconnection_started",
    "on_reconnected",
    "on_connection_created",
    "on_connection_dropped",
    "on_connection_interrupted",
    "on_connection_resumed",
    "on_stream_received",
    "on_stream_dropped",
    "on_stream_updated",
    "on_signal_received",
    "on_error",
)


class Recorder:
    """A callbacks object that records every call, in order, with its monotonic time."""

    def __init__(self, names: tuple[str, ...] = SESSION_CALLBACKS) -> None:
        self.calls: list[tuple[float, str, tuple[Any, ...]]] = []
        for name in names:
            if not hasattr(type(self), name):  # a subclass may define its own
                setattr(self, name, self._recorder(name))

    def _recorder(self, name: str) -> Callable[..., None]:
        def record(*args: Any) -> None:
            self.calls.append((time.monotonic(), name, args))

        return record

    def names(self, *only: str) -> list[str]:
        return [n for _, n, _ in self.calls if not only or n in only]

    def args(self, name: str) -> list[tuple[Any, ...]]:
        return [a for _, n, a in self.calls if n == name]

    def time_of(self, name: str, index: int = -1) -> float:
        return [t for t, n, _ in self.calls if n == name][index]

    async def until(self, predicate: Callable[[], bool], timeout: float = WAIT) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; history: {self.names()}")
            await asyncio.sleep(0.01)

    async def wait_for(self, name: str, count: int = 1, timeout: float = WAIT) -> None:
        await self.until(lambda: self.names().count(name) >= count, timeout)


class SubRecorder(Recorder):
    def __init__(self) -> None:
        super().__init__(("on_disconnected", "on_reconnected", "on_closed"))


class Call:
    """One session on a real server, with helpers to add participants."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self.session_id = new_session_id()
        self.sessions: list[Session] = []
        self.proxies: list[FaultProxy] = []

    @property
    def port(self) -> int:
        return int(self.server.url.rsplit(":", 1)[1])

    async def proxy(self) -> FaultProxy:
        proxy = await FaultProxy("127.0.0.1", self.port).start()
        self.proxies.append(proxy)
        return proxy

    async def join(
        self, via: FaultProxy | None = None, name: str = "s", role: str = "publisher", **kwargs: Any
    ) -> tuple[Session, Recorder]:
        rec = Recorder()
        url = via.url if via is not None else self.server.url
        token = self.server.make_token(self.session_id, role=role)
        session = Session(url, token, rec, name=name, **kwargs)
        self.sessions.append(session)
        await asyncio.wait_for(session.connect(), WAIT)
        return session, rec

    async def close(self) -> None:
        for proxy in self.proxies:
            proxy.restore()
        for session in self.sessions:
            try:
                await asyncio.wait_for(session.disconnect(), 5)
            except Exception:
                pass
        for proxy in self.proxies:
            await proxy.stop()


@pytest.fixture
async def live():
    """``call = await live(reconnection_window=3.0, heartbeat_timeout=2.0)``."""
    made: list[Call] = []

    async def factory(**server_kwargs: Any) -> Call:
        server = runner.TetherServer(host="127.0.0.1", port=0, secret=None, **server_kwargs)
        await server.start()
        call = Call(server)
        made.append(call)
        return call

    yield factory
    for call in made:
        await call.close()
        # Bounded: a slow server shutdown must not hang the suite.
        await asyncio.wait([asyncio.ensure_future(call.server.stop())], timeout=5)
