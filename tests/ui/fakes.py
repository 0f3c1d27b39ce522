"""A recording stand-in for the client Session, with the described public API.

Tests drive it like the network would (``drop()``, ``resume()``,
``give_up()``, ``remote_*``) and assert on ``calls``, the whole history of what
the UI asked of it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from app.core.errors import ErrorCode, TetherError
from app.core.protocol import ConnectionInfo, StreamInfo


@dataclass
class Progress:
    attempt: int = 0
    next_retry_at: float | None = None
    window_deadline: float | None = None
    queued: int = 0


@dataclass(frozen=True)
class SignalResult:
    status: str
    code: int | None = None
    message: str = ""


class FakeSession:
    instances: list[FakeSession] = []

    def __init__(
        self, url: str, token: str, callbacks, *, connect_error: TetherError | None = None
    ):
        self.url, self.token, self.callbacks = url, token, callbacks
        self.calls: list[tuple] = [("init", url, token)]
        self.state = "not_connected"
        self._progress = Progress()
        self.subscribers: dict[str, object] = {}
        self.connection = ConnectionInfo(
            id="me", data='{"name": "Me"}', created_at=0.0, role="publisher"
        )
        self.connect_error = connect_error
        self._pending: list[asyncio.Future] = []
        FakeSession.instances.append(self)

    # --- the API the UI uses -------------------------------------------------------------

    async def connect(self) -> None:
        self.calls.append(("connect",))
        self.state = "connecting"
        await asyncio.sleep(0)
        if self.connect_error is not None:
            self.state = "disconnected"
            raise self.connect_error
        self.state = "connected"
        self.callbacks.on_connected()

    async def disconnect(self) -> None:
        self.calls.append(("disconnect",))
        self.state = "disconnected"
        self.callbacks.on_disconnected("client_disconnected")

    def send_signal(self, type_, data, *, to=None, retry_after_reconnect=True):
        self.calls.append(("send_signal", type_, data, to, retry_after_reconnect))
        future = asyncio.get_running_loop().create_future()
        if self.state == "connected":
            future.set_result(SignalResult("sent"))  # acked at once
        elif self.state == "reconnecting" and retry_after_reconnect:
            self._pending.append(future)
            self._progress.queued = len(self._pending)
        else:
            future.set_result(SignalResult("failed", int(ErrorCode.NOT_CONNECTED), "not connected"))
        return future

    def retry_now(self) -> bool:
        self.calls.append(("retry_now",))
        return self.state == "reconnecting"

    async def publish_stream(self, name, has_audio, has_video):
        self.calls.append(("publish_stream", name, has_audio, has_video))
        self.own = StreamInfo("s-me", "me", name, has_audio, has_video, 0.0)
        return self.own

    async def update_stream(self, stream_id, has_audio=None, has_video=None):
        self.calls.append(("update_stream", stream_id, has_audio, has_video))

    @property
    def progress(self) -> Progress:
        return self._progress

    def subscribe(self, stream, callbacks=None):
        self.calls.append(("subscribe", stream.id))
        self.subscribers[stream.id] = callbacks
        return callbacks

    def owner_interrupted(self, stream_id: str, interrupted: bool) -> None:
        """The server says the stream's owner is away / back: its subscriber reports it."""
        callbacks = self.subscribers[stream_id]
        if interrupted:
            callbacks.on_disconnected(object())
        else:
            callbacks.on_reconnected(object())

    # --- the network, played by the test -------------------------------------------------

    def drop(self, *, attempt: int, next_retry_at: float) -> None:
        self.state = "reconnecting"
        self._progress = Progress(attempt, next_retry_at, next_retry_at + 30, len(self._pending))
        self.callbacks.on_reconnection_started()

    def resume(self) -> None:
        self.state = "connected"
        self._progress = Progress()
        self.callbacks.on_reconnected()
        pending, self._pending = self._pending, []
        for future in pending:
            future.set_result(SignalResult("sent"))

    def give_up(self, reason: str = "network_disconnected") -> None:
        self.state = "disconnected"
        pending, self._pending = self._pending, []
        for future in pending:
            future.set_result(SignalResult("failed", int(ErrorCode.SIGNAL_NOT_SENT), reason))
        self._progress = Progress()
        self.callbacks.on_disconnected(reason)

    def remote_join(
        self, conn_id: str, name: str, stream_id: str | None = None
    ) -> StreamInfo | None:
        conn = ConnectionInfo(
            id=conn_id, data=f'{{"name": "{name}"}}', created_at=1.0, role="publisher"
        )
        self.callbacks.on_connection_created(conn)
        if stream_id is None:
            return None
        stream = StreamInfo(stream_id, conn_id, "", True, True, 1.0)
        self.callbacks.on_stream_received(stream)
        return stream
