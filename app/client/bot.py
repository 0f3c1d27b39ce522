"""``tether bot``: a headless participant driven over stdin / stdout.

::

    tether bot --server ws://127.0.0.1:8080 --token TOKEN [--name NAME]
               [--publish test-pattern|none] [--subscribe all|none] [--ice-address ADDR]...

stdout: one JSON object per line for every callback, named exactly as the
callback, with a wall-clock ``time`` (``time.time()``)::

    {"event": "on_connected", "time": 1764870000.12, "connection": "con_…"}
    {"event": "on_reconnection_started", "time": …}
    {"event": "on_signal_received", "time": …, "type": "chat", "data": "hi", "from": "con_…"}
    {"event": "on_disconnected", "time": …, "reason": "network_disconnected"}
    {"event": "on_error", "time": …, "code": 1004, "message": "…"}

Media (:mod:`app.client.bot_media`): by default the bot publishes a test pattern and a
tone (``on_stream_created`` with its ``"stream"``) and subscribes to every stream it
receives, including those already there when it joins.  Subscriber callbacks carry
``"stream"`` and ``"subscriber": true``; ``on_render_frame`` is printed for a
subscriber's first frame and the first after each of its ``on_reconnected``, with the
frame ``counter``, ``latency_ms`` and ``frames`` decoded so far; a ``stats`` line
follows once a second::

    {"event": "stats", "time": …, "streams": {"str_…": {"frames": 91, "fps": 30.0,
     "latency_ms": 12.5, "counter": 95, "skipped": 0, "audio_frames": 150}}}

``--publish none --subscribe none`` is a pure signalling participant.  Media host
candidates are the ``--ice-address`` list, or loopback alone when the server is on
loopback, else every interface (aioice's choice).

stdin: one JSON command per line::

    {"cmd": "signal", "id": "c1", "type": "chat", "data": "hi", "to": null,
     "retry_after_reconnect": true}
        -> {"event": "signal_result", "id": "c1", "status": "sent" | "failed", "code": …}
    {"cmd": "video", "id": "v1", "on": false}     # own video off / on
        -> {"event": "video_result", "id": "v1", "on": false, "status": "ok" | "failed", …}
    {"cmd": "drop_media"}   # fault injection: current peer connections stop sending
        -> {"event": "drop_media_result", "peer_connections": 2}
    {"cmd": "disconnect"}

Leaving closes every peer connection and ends the encoder thread before the session
disconnects.  Exit status: 0 after a clean disconnect (the command, SIGINT / SIGTERM);
2 when it cannot join (message on stderr); 1 when the session ends otherwise
(e.g. the reconnection window passed).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import json
import logging
import signal
import sys
import threading
import time
from typing import Any

from app.client.bot_media import PUBLISH_CHOICES, SUBSCRIBE_CHOICES, BotMedia
from app.client.session import Session
from app.core.errors import ErrorCode, TetherError
from app.core.protocol import ConnectionInfo, StreamInfo
from app.media.ice import addresses_for_server, use_host_addresses

EXIT_OK = 0
EXIT_ENDED = 1
EXIT_CANNOT_JOIN = 2


class _Out:
    """Writes one JSON object per line to stdout, flushed at once."""

    def __init__(self, stream: Any = None) -> None:
        self.stream = stream or sys.stdout

    def emit(self, event: str, **fields: Any) -> None:
        line = json.dumps({"event": event, "time": round(time.time(), 6), **fields})
        with contextlib.suppress(BrokenPipeError, ValueError):
            self.stream.write(line + "\n")
            self.stream.flush()


def _conn(c: ConnectionInfo) -> dict[str, Any]:
    return {"id": c.id, "data": c.data, "role": c.role}


def _stream(s: StreamInfo) -> dict[str, Any]:
    return {
        "stream": s.id,
        "connection": s.connection_id,
        "name": s.name,
        "has_audio": s.has_audio,
        "has_video": s.has_video,
    }


class BotCallbacks:
    def __init__(self, out: _Out, subscribe: bool = False) -> None:
        # ``subscribe`` is accepted for older callers and unused: subscribing is media's
        # job now (``self.media``, a :class:`BotMedia`).
        self.out = out
        self.session: Session | None = None
        self.media: BotMedia | None = None

    def on_connected(self) -> None:
        assert self.session is not None and self.session.connection is not None
        self.out.emit(
            "on_connected",
            connection=self.session.connection.id,
            session=self.session.session_id,
        )

    def on_disconnected(self, reason: str) -> None:
        self.out.emit("on_disconnected", reason=reason)

    def on_reconnection_started(self) -> None:
        self.out.emit("on_reconnection_started")

    def on_reconnected(self) -> None:
        self.out.emit("on_reconnected")

    def on_connection_created(self, connection: ConnectionInfo) -> None:
        self.out.emit("on_connection_created", connection=_conn(connection))

    def on_connection_dropped(self, connection: ConnectionInfo, reason: str) -> None:
        self.out.emit("on_connection_dropped", connection=_conn(connection), reason=reason)

    def on_stream_received(self, stream: StreamInfo) -> None:
        self.out.emit("on_stream_received", **_stream(stream))
        if self.media is not None:
            self.media.stream_received(stream)

    def on_stream_dropped(self, stream: StreamInfo, reason: str) -> None:
        self.out.emit("on_stream_dropped", **_stream(stream), reason=reason)
        if self.media is not None:
            self.media.stream_dropped(stream)

    def on_connection_interrupted(self, connection: ConnectionInfo) -> None:
        self.out.emit("on_connection_interrupted", connection=_conn(connection))

    def on_connection_resumed(self, connection: ConnectionInfo) -> None:
        self.out.emit("on_connection_resumed", connection=_conn(connection))

    def on_stream_updated(self, stream: StreamInfo) -> None:
        self.out.emit("on_stream_updated", **_stream(stream))

    def on_signal_received(self, type_: str, data: str, connection_id: str) -> None:
        self.out.emit("on_signal_received", type=type_, data=data, **{"from": connection_id})

    def on_error(self, code: int, message: str) -> None:
        self.out.emit("on_error", code=int(code), message=message)


def _read_stdin(loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[str | None]) -> None:
    # A daemon thread: a blocked readline must never keep the process alive at exit.
    try:
        for line in sys.stdin:
            loop.call_soon_threadsafe(queue.put_nowait, line)
    except (OSError, ValueError):
        pass
    with contextlib.suppress(RuntimeError):  # the loop may be gone already
        loop.call_soon_threadsafe(queue.put_nowait, None)


async def _run(args: argparse.Namespace, out: _Out) -> int:
    # Before any peer connection gathers candidates (see app.media.ice).
    use_host_addresses(args.ice_address or addresses_for_server(args.server))
    # Read stdin from the start: joining and publishing wait for the server, which an
    # outage can hold up, and whoever drives the bot must never block on a full pipe
    # meanwhile.  Commands wait in the queue until the bot is in.
    commands: asyncio.Queue[str | None] = asyncio.Queue()
    threading.Thread(
        target=_read_stdin, args=(asyncio.get_running_loop(), commands), daemon=True
    ).start()
    callbacks = BotCallbacks(out)
    session = Session(
        args.server,
        args.token,
        callbacks,
        session_id=args.session,
        name=args.name,
        ca_file=args.ca_file,
    )
    callbacks.session = session
    media: BotMedia | None = None
    if args.publish != "none" or args.subscribe != "none":
        # Made before connect(): streams already there are received while joining.
        media = callbacks.media = BotMedia(
            session,
            out,
            publish=args.publish,
            subscribe=args.subscribe == "all",
            video=args.video,
            size=args.size,
            fps=args.fps,
        )
    try:
        await session.connect()
    except TetherError as err:
        if media is not None:
            await media.close()
        print(f"tether bot: cannot join {args.server}: {err}", file=sys.stderr)
        return EXIT_CANNOT_JOIN
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    if media is not None:
        await media.start(args.name)

    async def command_loop() -> None:
        while True:
            line = await commands.get()
            if line is None:
                return  # stdin closed: keep running until told or the session ends
            if not line.strip():
                continue
            if _handle_command(session, out, line, media):
                stop.set()
                return

    reader = loop.create_task(command_loop())
    stopped = loop.create_task(stop.wait())
    ended = loop.create_task(session.wait_disconnected())
    await asyncio.wait([stopped, ended], return_when=asyncio.FIRST_COMPLETED)
    reader.cancel()
    stopped.cancel()
    for task in list(_background):
        task.cancel()
    await asyncio.gather(reader, *_background, return_exceptions=True)
    # Media first: its goodbyes to publishers still go out over the live session.
    if media is not None:
        await media.close()
    if ended.done():
        return EXIT_OK if session.disconnect_reason == "client_disconnected" else EXIT_ENDED
    ended.cancel()
    await session.disconnect()
    return EXIT_OK


_background: set[asyncio.Task[None]] = set()


def _handle_command(session: Session, out: _Out, line: str, media: BotMedia | None = None) -> bool:
    """Run one stdin command; True when the bot should disconnect."""
    try:
        cmd = json.loads(line)
        if not isinstance(cmd, dict):
            raise ValueError("a command is a JSON object")
        name = cmd.get("cmd")
    except ValueError as exc:
        out.emit("command_error", message=f"not a JSON command: {exc}")
        return False
    if name == "disconnect":
        return True
    if name == "video":
        # Its answer waits for the server's ack (queued while reconnecting): run it beside
        # the command loop so a disconnect behind it is not held up.
        task = asyncio.get_running_loop().create_task(_video_command(media, out, cmd))
        _background.add(task)
        task.add_done_callback(_background.discard)
        return False
    if name == "drop_media":
        cut = media.drop_media() if media is not None else 0
        out.emit("drop_media_result", id=cmd.get("id"), peer_connections=cut)
        return False
    if name != "signal":
        out.emit("command_error", id=cmd.get("id"), message=f"unknown cmd {name!r}")
        return False
    cid = cmd.get("id")
    try:
        pending = session.send_signal(
            cmd.get("type", ""),
            cmd.get("data", ""),
            to=cmd.get("to"),
            retry_after_reconnect=bool(cmd.get("retry_after_reconnect", True)),
        )
    except TetherError as err:
        out.emit("signal_result", id=cid, status="failed", code=int(err.code), message=err.message)
        return False

    def report(result: Any) -> None:
        out.emit(
            "signal_result",
            id=cid,
            status=result.status,
            code=result.code,
            message=result.message,
        )

    pending.add_done_callback(report)
    return False


async def _video_command(media: BotMedia | None, out: _Out, cmd: dict[str, Any]) -> None:
    on = bool(cmd.get("on", True))
    cid = cmd.get("id")
    try:
        if media is None:
            raise TetherError(ErrorCode.INVALID_PARAMETER, "not publishing (--publish none)")
        await media.set_video(on)
    except TetherError as err:
        out.emit(
            "video_result", id=cid, on=on, status="failed", code=int(err.code), message=err.message
        )
        return
    out.emit("video_result", id=cid, on=on, status="ok", code=None)


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(x) for x in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT, e.g. 640x480: {text!r}") from None
    if width < 128 or height < 96 or width % 2 or height % 2:
        raise argparse.ArgumentTypeError(f"{text}: even sizes from 128x96 up")
    return width, height


def _address(text: str) -> str:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an IP address: {text!r}") from None


def _subscribe_choice(text: str) -> str:
    if text not in SUBSCRIBE_CHOICES:
        raise argparse.ArgumentTypeError(f"choose from {', '.join(SUBSCRIBE_CHOICES)}")
    return text


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tether bot", description="A headless Tether participant driven over stdin/stdout."
    )
    parser.add_argument("--server", required=True, help="server URL, e.g. ws://127.0.0.1:8080")
    parser.add_argument("--token", required=True, help="a join token (tether token …)")
    parser.add_argument(
        "--session", default=None, help="the session id to join (refused if the token differs)"
    )
    parser.add_argument("--name", default="bot", help="a name for logs (default: bot)")
    parser.add_argument(
        "--ca-file", default=None, help="PEM certificate(s) to trust for wss:// (tether cert)"
    )
    parser.add_argument(
        "--publish",
        choices=PUBLISH_CHOICES,
        default="test-pattern",
        help="what to publish: a test pattern with a tone, or nothing (default: test-pattern)",
    )
    parser.add_argument(
        "--subscribe",
        nargs="?",
        const="all",  # a bare --subscribe, as before, follows every stream
        default="all",
        type=_subscribe_choice,
        metavar="{all,none}",
        help="subscribe to every stream received, or to none (default: all)",
    )
    parser.add_argument(
        "--video",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="start with own video on (--no-video: off until the video command)",
    )
    parser.add_argument(
        "--size", type=_size, default=(640, 480), help="test pattern size (default: 640x480)"
    )
    parser.add_argument(
        "--fps", type=float, default=30.0, help="test pattern frame rate (default: 30)"
    )
    parser.add_argument(
        "--ice-address",
        action="append",
        type=_address,
        default=None,
        metavar="ADDR",
        help="offer only this local address as a media host candidate (repeatable); "
        "default: 127.0.0.1 when the server is on loopback, else every interface",
    )
    parser.add_argument("--log-level", default="WARNING", help="stderr log level")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        stream=sys.stderr,
        format=f"%(asctime)s {args.name} %(levelname)s %(name)s: %(message)s",
    )
    try:
        status = asyncio.run(_run(args, _Out()))
    except KeyboardInterrupt:
        status = EXIT_OK
    # Every peer connection and encoder thread should be gone by now; say so if not, so a
    # leak shows up in tests instead of as a hang or an abort at interpreter exit.
    left = [
        t.name for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon
    ]
    if left:
        print(f"tether bot: threads still running at exit: {', '.join(left)}", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
