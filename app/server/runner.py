"""Start and stop a session server inside a running asyncio loop.

    async with TetherServer(port=0) as server:
        token = server.make_token(new_session_id())
        ...  # clients connect to server.url

Used by ``tether server``, by the desktop app's "Start a local test call" and
by the tests.
"""

from __future__ import annotations

import secrets
import ssl
import time

from aiohttp import web

from app.core.tokens import DEFAULT_TTL, make_token
from app.server.app import ServerApp
from app.server.hub import (
    DEFAULT_AUTH_TIMEOUT,
    DEFAULT_HEARTBEAT_TIMEOUT,
    DEFAULT_WINDOW,
    Hub,
    Limits,
)


class TetherServer:
    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        secret: str | None = None,
        reconnection_window: float = DEFAULT_WINDOW,
        heartbeat_timeout: float = DEFAULT_HEARTBEAT_TIMEOUT,
        ssl_context: ssl.SSLContext | None = None,
        limits: Limits | None = None,
        auth_timeout: float = DEFAULT_AUTH_TIMEOUT,
    ) -> None:
        self.host = host
        self.port = port
        self.generated_secret = secret is None
        # Hex, 256 bits: a printed secret must never begin with "-", or
        # `tether token --secret …` would take it for an option.
        self.secret = secret if secret is not None else secrets.token_hex(32)
        self.hub = Hub(
            self.secret,
            reconnection_window=reconnection_window,
            heartbeat_timeout=heartbeat_timeout,
            limits=limits,
            auth_timeout=auth_timeout,
        )
        self._ssl = ssl_context
        self._server_app = ServerApp(self.hub)
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        scheme = "wss" if self._ssl else "ws"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}"

    @property
    def http_url(self) -> str:
        return "http" + self.url[2:]

    def make_token(
        self,
        session_id: str,
        *,
        role: str = "publisher",
        data: str = "",
        ttl: float = DEFAULT_TTL,
        can_signal: bool = True,
    ) -> str:
        return make_token(
            self.secret,
            session_id,
            now=time.time(),
            role=role,
            data=data,
            ttl=ttl,
            can_signal=can_signal,
        )

    async def start(self) -> None:
        runner = web.AppRunner(
            self._server_app.app, access_log=None, handle_signals=False, shutdown_timeout=2.0
        )
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port, ssl_context=self._ssl)
        await site.start()
        self._runner = runner
        if self.port == 0:
            server = site._server  # aiohttp keeps the asyncio server here
            assert server is not None and server.sockets
            self.port = server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self) -> TetherServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
