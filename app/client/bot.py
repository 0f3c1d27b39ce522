"""``tether bot``: a headless participant driven over stdin / stdout.

::

    tether bot --server ws://127.0.0.1:8080 --token TOKEN [--name NAME] [--subscribe]

stdout: one JSON object per line for every callback, named exactly as the
callback, with a wall-clock ``time`` (``time.time()``)::

    {"event": "on_connected", "time": 1764870000.12, "connection": "con_…"}
    {"event": "on_reconnection_started", "time": …}
    {"event": "on_signal_received", "time": …, "type": "chat", "data": "hi", "from": "con_…"}
    {"event": "on_disconnected", "time": …, "reason": "network_disconnected"}
    {"event": "on_error", "time": …, "code": 1004, "message": "…"}

Subscriber callbacks carry ``"stream"`` (``--subscribe`` follows every stream
at the session level; media arrives with the media work).

stdin: one JSON command per line::

    {"cmd": "signal", "id": "c1", "type": "chat", "data": "hi", "to": null,
     "retry_after_reconnect": true}
        -> {"event": "signal_result", "id": "c1", "status": "sent" | "failed", "code": …}
    {"cmd": "disconnect"}

Exit status: 0 after a clean disconnect (the command, SIGINT / SIGTERM);
2 when it cannot join (message on stderr); 1 when the session ends otherwise
(e.g. the reconnection window passed).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import sys
import threading
import time
from typing import Any

from app.client.session import Session
from app.core.errors import TetherError
from app.core.protocol import ConnectionInfo, StreamInfo

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
    def __init__(self, out: _Out, subscribe: bool) -> None:
        self.out = out
        self.subscribe = subscribe
        self.session: Session | None = None
        self.subscriber_callbacks = SubscriberCallbacks(out)

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
        if self.subscribe and self.session is not None:
            self.session.subscribe(stream, self.subscriber_callbacks)

    def on_stream_dropped(self, stream: StreamInfo, reason: str) -> None:
        self.out.emit("on_stream_dropped", **_stream(stream), reason=reason)

    def on_stream_updated(self, stream: StreamInfo) -> None:
        self.out.emit("on_stream_updated", **_stream(stream))

    def on_signal_received(self, type_: str, data: str, connection_id: str) -> None:
        self.out.emit("on_signal_received", type=type_, data=data, **{"from": connection_id})

    def on_error(self, code: int, message: str) -> None:
        self.out.emit("on_error", code=int(code), message=message)


class SubscriberCallbacks:
    def __init__(self, out: _Out) -> None:
        self.out = out

    def on_disconnected(self, subscriber: Any) -> None:
        self.out.emit("on_disconnected", stream=subscriber.stream.id, subscriber=True)

    def on_reconnected(self, subscriber: Any) -> None:
        self.out.emit("on_reconnected", stream=subscriber.stream.id, subscriber=True)


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
    callbacks = BotCallbacks(out, args.subscribe)
    session = Session(args.server, args.token, callbacks, session_id=args.session, name=args.name)
    callbacks.session = session
    try:
        await session.connect()
    except TetherError as err:
        print(f"tether bot: cannot join {args.server}: {err}", file=sys.stderr)
        return EXIT_CANNOT_JOIN

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    commands: asyncio.Queue[str | None] = asyncio.Queue()
    threading.Thread(target=_read_stdin, args=(loop, commands), daemon=True).start()

    async def command_loop() -> None:
        while True:
            line = await commands.get()
            if line is None:
                return  # stdin closed: keep running until told or the session ends
            if not line.strip():
                continue
            if _handle_command(session, out, line):
                stop.set()
                return

    reader = loop.create_task(command_loop())
    stopped = loop.create_task(stop.wait())
    ended = loop.create_task(session.wait_disconnected())
    await asyncio.wait([stopped, ended], return_when=asyncio.FIRST_COMPLETED)
    reader.cancel()
    stopped.cancel()
    if ended.done():
        return EXIT_OK if session.disconnect_reason == "client_disconnected" else EXIT_ENDED
    ended.cancel()
    await session.disconnect()
    return EXIT_OK


def _handle_command(session: Session, out: _Out, line: str) -> bool:
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
        "--subscribe",
        action="store_true",
        help="follow every stream (subscriber on_disconnected / on_reconnected)",
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
        return asyncio.run(_run(args, _Out()))
    except KeyboardInterrupt:
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
