"""A lab participant with media, until ``tether bot`` publishes: the bot's JSON-line contract
plus a published test pattern and a subscription to every stream.

    python -m tests.lab.media_bot --server URL --token T --session S [--name N]
        [--no-publish] [--size 320x240] [--fps 15]

Prints what ``tether bot`` prints (same callbacks, same fields, same stdin commands) and, per
subscribed stream, the media subscriber's ``on_disconnected`` / ``on_reconnected`` (with
``"stream"`` and ``"subscriber": true``) and ``on_render_frame`` for the first frame and the
first after each ``on_reconnected`` (``"frames"``: frames decoded so far on that stream), and
once a second ``{"event": "stats", "streams": {"<id>": {"frames": n}}}``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
import threading
from typing import Any

import aioice.ice

from app.client.bot import EXIT_CANNOT_JOIN, EXIT_ENDED, EXIT_OK, BotCallbacks, _handle_command
from app.client.bot import _Out as Out
from app.client.bot import _read_stdin as read_stdin
from app.client.session import Session
from app.core.errors import TetherError
from app.core.protocol import StreamInfo
from app.media.session_link import MediaSession
from app.media.sources import TestPatternTrack

_host_addresses = aioice.ice.get_host_addresses


def _lab_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    # Inside a lab namespace the only non-loopback address is eth0's: candidates go there.
    # Anywhere else, loopback only: never this machine's real interfaces.
    return [a for a in _host_addresses(use_ipv4, use_ipv6) if a.startswith("10.77.")] or [
        "127.0.0.1"
    ]


aioice.ice.get_host_addresses = _lab_addresses


class MediaSubscriberCallbacks:
    def __init__(self, out: Out, stream_id: str) -> None:
        self.out = out
        self.stream_id = stream_id
        self.frames = 0
        self.report_next = True  # the first frame, and the first after each on_reconnected

    def on_render_frame(self, subscriber: Any, frame: Any) -> None:
        self.frames += 1
        if self.report_next:
            self.report_next = False
            self.out.emit("on_render_frame", stream=self.stream_id, frames=self.frames)

    def on_disconnected(self, subscriber: Any) -> None:
        self.out.emit("on_disconnected", stream=self.stream_id, subscriber=True)

    def on_reconnected(self, subscriber: Any) -> None:
        self.report_next = True
        self.out.emit("on_reconnected", stream=self.stream_id, subscriber=True)

    def on_error(self, subscriber: Any, code: int, message: str) -> None:
        self.out.emit("on_error", stream=self.stream_id, code=int(code), message=message)


class MediaBotCallbacks(BotCallbacks):
    def __init__(self, out: Out) -> None:
        super().__init__(out, subscribe=False)
        self.media: MediaSession | None = None
        self.waiting: list[StreamInfo] = []  # streams seen before media was set up
        self.subscribers: dict[str, MediaSubscriberCallbacks] = {}

    def stats(self) -> dict[str, dict[str, int]]:
        return {sid: {"frames": cb.frames} for sid, cb in self.subscribers.items()}

    def on_stream_received(self, stream: StreamInfo) -> None:
        super().on_stream_received(stream)
        if self.media is None:
            self.waiting.append(stream)
        else:
            self._subscribe(stream)

    def _subscribe(self, stream: StreamInfo) -> None:
        assert self.media is not None
        callbacks = self.subscribers[stream.id] = MediaSubscriberCallbacks(self.out, stream.id)
        self.media.subscribe(stream, callbacks)

    def media_ready(self, media: MediaSession) -> None:
        self.media = media
        for stream in self.waiting:
            self._subscribe(stream)
        self.waiting.clear()


async def _run(args: argparse.Namespace, out: Out) -> int:
    callbacks = MediaBotCallbacks(out)
    session = Session(args.server, args.token, callbacks, session_id=args.session, name=args.name)
    callbacks.session = session
    try:
        await session.connect()
    except TetherError as err:
        print(f"media bot: cannot join {args.server}: {err}", file=sys.stderr)
        return EXIT_CANNOT_JOIN
    media = MediaSession(session)
    if args.publish:
        width, height = (int(x) for x in args.size.split("x"))
        await media.publish(
            args.name, video=TestPatternTrack(width=width, height=height, fps=args.fps)
        )
    callbacks.media_ready(media)

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    commands: asyncio.Queue[str | None] = asyncio.Queue()
    threading.Thread(target=read_stdin, args=(loop, commands), daemon=True).start()

    async def command_loop() -> None:
        while True:
            line = await commands.get()
            if line is None:
                return
            if line.strip() and _handle_command(session, out, line):
                stop.set()
                return

    async def stats_loop() -> None:
        while True:
            await asyncio.sleep(1.0)
            out.emit("stats", streams=callbacks.stats())

    reader = loop.create_task(command_loop())
    ticker = loop.create_task(stats_loop())
    stopped = loop.create_task(stop.wait())
    ended = loop.create_task(session.wait_disconnected())
    await asyncio.wait([stopped, ended], return_when=asyncio.FIRST_COMPLETED)
    reader.cancel()
    ticker.cancel()
    stopped.cancel()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(media.close(), 5)
    if ended.done():
        return EXIT_OK if session.disconnect_reason == "client_disconnected" else EXIT_ENDED
    ended.cancel()
    await session.disconnect()
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.lab.media_bot")
    parser.add_argument("--server", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--session", default=None)
    parser.add_argument("--name", default="mbot")
    parser.add_argument("--no-publish", dest="publish", action="store_false")
    parser.add_argument("--size", default="320x240")
    parser.add_argument("--fps", type=float, default=15.0)
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr)
    try:
        return asyncio.run(_run(args, Out()))
    except KeyboardInterrupt:
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
