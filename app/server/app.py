"""The session server's asyncio driver: aiohttp sockets around the pure hub.

Everything here is plumbing: frames in, ``hub.receive``; ``hub.actions()`` out
to one writer task per socket (so each socket's frames keep their order); one
timer task that calls ``hub.handle_timer`` at ``hub.get_timer()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Callable

from aiohttp import WSMsgType, web
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from app.core.limits import FRAME_MAX
from app.server.hub import Close, Hub, Send

log = logging.getLogger(__name__)

# A socket whose client reads nothing while this many frames wait is cut off;
# its connection enters the reconnection window like any other drop.
_WRITER_BACKLOG = 5000


class _Writer:
    """Sends one socket's frames in order, off the hub's path."""

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws
        self.queue: asyncio.Queue[bytes | tuple[int, str]] = asyncio.Queue()
        self.task = asyncio.get_running_loop().create_task(self._run())

    def put(self, item: bytes | tuple[int, str]) -> None:
        if self.queue.qsize() >= _WRITER_BACKLOG and isinstance(item, bytes):
            log.warning("socket backlog over %d frames; closing it", _WRITER_BACKLOG)
            self.queue.put_nowait((1008, "too slow"))
            return
        self.queue.put_nowait(item)

    async def _run(self) -> None:
        while True:
            item = await self.queue.get()
            try:
                if isinstance(item, bytes):
                    await self.ws.send_str(item.decode())
                else:
                    code, reason = item
                    await self.ws.close(code=code, message=reason.encode()[:120])
                    return
            except (ConnectionError, RuntimeError) as exc:
                log.debug("socket write failed: %s", exc)
                with contextlib.suppress(Exception):
                    await self.ws.close()
                return


class _HubCollector:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    def collect(self):
        for name, value in self.hub.gauges().items():
            yield GaugeMetricFamily(f"tether_{name}", f"Current number of {name}", value=value)
        for name, help_text in (
            ("joins", "Connections that joined"),
            ("resumes", "Connections resumed within the window"),
            ("resumes_rejected", "Resume attempts refused"),
            ("expiries", "Connections dropped after the reconnection window"),
            ("interruptions", "Connections that entered the reconnection window"),
            ("signals_relayed", "Signals accepted and relayed"),
            ("rate_limited", "Requests refused by a rate limit"),
            ("messages_in", "Client messages parsed"),
            ("messages_out", "Sequenced messages sent"),
        ):
            yield CounterMetricFamily(f"tether_{name}", help_text, value=self.hub.counters[name])
        rejected = CounterMetricFamily(
            "tether_rejected_joins", "Join or resume attempts refused, by reason", labels=["reason"]
        )
        for reason, value in sorted(self.hub.rejected_joins.items()):
            rejected.add_metric([reason], value)
        yield rejected


class ServerApp:
    """Binds a :class:`Hub` to aiohttp.  ``clock`` gives seconds since the epoch."""

    def __init__(self, hub: Hub, *, clock: Callable[[], float] = time.time) -> None:
        self.hub = hub
        self.clock = clock
        self._ids = itertools.count(1)
        self._writers: dict[int, _Writer] = {}
        self._wakeup = asyncio.Event()
        self._timer_task: asyncio.Task[None] | None = None
        self.registry = CollectorRegistry()
        self.registry.register(_HubCollector(hub))
        self.app = web.Application()
        self.app.router.add_get("/", self._root)
        self.app.router.add_get("/healthz", self._healthz)
        self.app.router.add_get("/metrics", self._metrics)
        self.app.on_startup.append(self._on_startup)
        self.app.on_shutdown.append(self._on_shutdown)

    async def _on_startup(self, app: web.Application) -> None:
        self._timer_task = asyncio.get_running_loop().create_task(self._timer())

    async def _on_shutdown(self, app: web.Application) -> None:
        self.hub.shutdown()
        self._flush()
        writers = list(self._writers.values())
        if writers:
            await asyncio.wait([w.task for w in writers], timeout=2.0)
        if self._timer_task is not None:
            self._timer_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._timer_task

    async def _healthz(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", **self.hub.gauges()})

    async def _metrics(self, request: web.Request) -> web.Response:
        return web.Response(body=generate_latest(self.registry), content_type="text/plain")

    async def _root(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() != "websocket":
            return web.Response(text="Tether session server: connect with a WebSocket client.\n")
        ws = web.WebSocketResponse(heartbeat=None, max_msg_size=FRAME_MAX, autoping=True)
        await ws.prepare(request)
        link = next(self._ids)
        self._writers[link] = _Writer(ws)
        self.hub.link_opened(link, self.clock(), request.remote or "")
        self._flush()
        try:
            async for msg in ws:
                if msg.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                    self.hub.receive(link, msg.data, self.clock())
                elif msg.type == WSMsgType.ERROR:
                    if "too big" in str(ws.exception()).lower() or ws.close_code == 1009:
                        self.hub.frame_too_large(link, self.clock())
                    break
                self._flush()
        finally:
            self.hub.link_closed(link, self.clock())
            self._flush()
            writer = self._writers.pop(link, None)
            if writer is not None and not writer.task.done():
                writer.put((1000, ""))
                await asyncio.wait([writer.task], timeout=1.0)
        return ws

    def _flush(self) -> None:
        for action in self.hub.actions():
            writer = self._writers.get(action.link)
            if writer is None:
                continue
            if isinstance(action, Send):
                writer.put(action.data)
            elif isinstance(action, Close):
                writer.put((action.code, action.reason))
        self._wakeup.set()

    async def _timer(self) -> None:
        while True:
            deadline = self.hub.get_timer()
            delay = 1.0 if deadline is None else max(0.0, deadline - self.clock())
            self._wakeup.clear()
            # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancel.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(delay, 1.0)):
                    await self._wakeup.wait()
            now = self.clock()
            deadline = self.hub.get_timer()
            if deadline is not None and now >= deadline:
                self.hub.handle_timer(now)
                self._flush()
