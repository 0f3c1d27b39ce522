"""The call's lifecycle behind the UI: join, rejoin, leave, chat, retry, simulate a drop.

The controller owns the client ``Session`` (and, through :class:`~app.ui.media.CallMedia`,
its media) and reports through Qt signals; it never blocks the UI thread — every
network step is an asyncio task on the qasync loop.  ``session_factory(url, token,
callbacks)`` builds the session (the real ``app.client`` one by default; tests pass a
recording fake, which carries no media).
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from app.core.errors import ErrorCode, TetherError
from app.ui.bridge import CHAT_TYPE, SessionBridge
from app.ui.join import JoinRequest
from app.ui.media import CallMedia
from app.ui.state import ChatEntry, Delivery, JoinError, join_error, reason_words

logger = logging.getLogger(__name__)

SessionFactory = Callable[[str, str, Any], Any]

_SIGNAL_FAILURES = {
    int(ErrorCode.NOT_CONNECTED): "not connected",
    int(ErrorCode.SIGNAL_NOT_SENT): "the call ended before it was sent",
    int(ErrorCode.SIGNAL_QUEUE_FULL): "too many messages waiting",
}


def spawn(coro: Any) -> asyncio.Future | None:
    """Schedule ``coro`` on the loop; ``None`` (and the coroutine closed) when the loop is gone.

    Slots can still fire while the app tears down (a dialog closed after the loop
    ended); that must not leave a never-awaited coroutine or raise into Qt.
    """
    try:
        loop = asyncio.get_running_loop()  # qasync sets it while Qt dispatches slots
    except RuntimeError:
        loop = None
    if loop is None:
        if inspect.iscoroutine(coro):
            coro.close()
        return None
    return asyncio.ensure_future(coro, loop=loop)


def default_session_factory(url: str, token: str, callbacks: Any) -> Any:
    from app.client.session import Session  # the client layer; imported late on purpose

    return Session(url, token, callbacks)


def _field(result: Any, name: str, default: Any = None) -> Any:
    if isinstance(result, dict):
        return result.get(name, default)
    return getattr(result, name, default)


def failure_words(code: Any, message: str = "") -> str:
    if code is not None and int(code) in _SIGNAL_FAILURES:
        return _SIGNAL_FAILURES[int(code)]
    if message and "_" in message and " " not in message:
        return reason_words(message)  # a reason code such as "network_disconnected"
    return message or (f"error {code}" if code is not None else "not sent")


class CallController(QObject):
    joined = Signal()
    join_failed = Signal(object)  # JoinError
    left = Signal()
    chat_entry = Signal(object)  # ChatEntry, own messages (queued, then sent / failed)

    def __init__(
        self,
        bridge: SessionBridge,
        parent: QObject | None = None,
        *,
        session_factory: SessionFactory = default_session_factory,
        media: CallMedia | None = None,
    ) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self._factory = session_factory
        self.media = media if media is not None else CallMedia(bridge, self)
        self.own_stream: Any = None  # StreamInfo of this client's announced stream
        self._mic_muted = False
        self._camera_off = False
        self._with_media = False  # the current session carries media
        self._request: JoinRequest | None = None
        self._tasks: set[asyncio.Future] = set()
        self._sent = 0
        self.session: Any = None

    @property
    def request(self) -> JoinRequest | None:
        return self._request

    # --- lifecycle ---------------------------------------------------------------------------

    async def join(self, request: JoinRequest) -> bool:
        """Connect with ``request``; emits :attr:`joined` or :attr:`join_failed`."""
        self._request = request
        session = self._factory(request.server, request.token, self.bridge)
        self.session = session
        self.bridge.attach(session)
        # Before connect(): the streams already there are subscribed while it joins.
        self._with_media = self.media.attach(session, request.server)
        try:
            await session.connect()
        except TetherError as exc:
            await self.media.close()
            self.join_failed.emit(join_error(int(exc.code), exc.message))
            self.bridge.refresh()
            return False
        except OSError as exc:  # a session that does not wrap socket errors
            await self.media.close()
            self.join_failed.emit(join_error(int(ErrorCode.CONNECT_FAILED), str(exc)))
            return False
        except Exception as exc:  # never a traceback in the dialog
            logger.exception("join failed")
            await self.media.close()
            self.join_failed.emit(JoinError("", f"Could not join: {exc}"))
            return False
        self.bridge.refresh()
        await self._publish(request.name)
        self.joined.emit()
        return True

    @property
    def has_media(self) -> bool:
        """The current session sends and receives audio and video."""
        return self._with_media and self.session is not None

    async def _publish(self, name: str) -> None:
        """Publish this client's stream so others get a tile (name, mic state, video).

        With media, the camera (or test pattern) and microphone (or tone); a session
        without media only announces the stream.  A subscriber-only token may not
        publish; that is fine, the person just watches.
        """
        self.own_stream = None
        if self._with_media:
            self.media.mic_muted = self._mic_muted
            self.media.video_on = not self._camera_off
            self.own_stream = await self.media.publish(name or "Guest")
            return
        publish = getattr(self.session, "publish_stream", None)
        if publish is None:
            return
        try:
            self.own_stream = await publish(name or "Guest", not self._mic_muted, False)
        except TetherError as exc:
            logger.info("not publishing: %s", exc)

    @Slot(bool)
    def set_mic_muted(self, muted: bool) -> None:
        """Mute / unmute this client's audio; the others' tile shows the mark."""
        self._mic_muted = muted
        if self._with_media:
            self.media.set_mic_muted(muted)
            return
        stream, session = self.own_stream, self.session
        if stream is None or session is None:
            return
        self._spawn(self._update_stream(session, stream.id, has_audio=not muted))

    @Slot(bool)
    def set_camera_off(self, off: bool) -> None:
        """Stop / resume sending video; the others' tile shows the camera-off placeholder."""
        self._camera_off = off
        self.media.set_video_enabled(not off)

    async def _update_stream(self, session: Any, stream_id: str, **changes: Any) -> None:
        try:
            await session.update_stream(stream_id, **changes)
        except TetherError as exc:
            logger.info("stream update not sent: %s", exc)

    async def rejoin(self) -> bool:
        """Join again with the last request, after a disconnect."""
        if self._request is None:
            return False
        await self._close_session()
        return await self.join(self._request)

    async def leave(self) -> None:
        await self._close_session()
        self.left.emit()

    async def _close_session(self) -> None:
        session, self.session = self.session, None
        self.own_stream = None
        await self.media.close()  # peer connections first, while signalling still works
        self._with_media = False
        if session is not None:
            try:
                await session.disconnect()
            except Exception:
                logger.exception("disconnect failed")

    @property
    def can_simulate_drop(self) -> bool:
        return hasattr(self.session, "simulate_drop")

    # --- slots the window connects ---------------------------------------------------------

    @Slot()
    def request_rejoin(self) -> None:
        self._spawn(self.rejoin())

    @Slot()
    def request_leave(self) -> None:
        self._spawn(self.leave())

    @Slot()
    def retry_now(self) -> None:
        if self.session is not None:
            self.session.retry_now()
            self.bridge.refresh()

    @Slot(int)
    def simulate_drop(self, seconds: float) -> bool:
        """Cut this client's link to the server and its media for ``seconds``, as a
        dead network would; False if the session cannot."""
        cut = getattr(self.session, "simulate_drop", None)
        if cut is None:
            return False
        outcome = cut(seconds)
        if inspect.isawaitable(outcome):
            self._spawn(outcome)
        if self._with_media:
            self.media.cut(seconds)
        return True

    @Slot(str, bool)
    def send_chat(self, text: str, only_while_connected: bool) -> ChatEntry:
        """Send ``text`` as a ``chat`` signal; its entry goes queued -> sent / failed."""
        self._sent += 1
        entry = ChatEntry(
            id=f"own-{self._sent}",
            sender="You",
            text=text,
            own=True,
            delivery=Delivery.QUEUED,
            only_while_connected=only_while_connected,
        )
        self.chat_entry.emit(entry)
        if self.session is None:
            return self._finish(entry, "failed", int(ErrorCode.NOT_CONNECTED), "")
        try:
            result = self.session.send_signal(
                CHAT_TYPE, text, retry_after_reconnect=not only_while_connected
            )
        except TetherError as exc:
            return self._finish(entry, "failed", int(exc.code), exc.message)
        self.bridge.refresh()  # the queued count on the banner
        if inspect.isawaitable(result):
            self._spawn(self._await_result(entry, result))
        else:
            self._finish(
                entry,
                _field(result, "status"),
                _field(result, "code"),
                _field(result, "message", ""),
            )
        return entry

    async def _await_result(self, entry: ChatEntry, result: Any) -> None:
        try:
            outcome = await result
        except TetherError as exc:
            self._finish(entry, "failed", int(exc.code), exc.message)
        else:
            self._finish(
                entry,
                _field(outcome, "status"),
                _field(outcome, "code"),
                _field(outcome, "message", "") or "",
            )
        self.bridge.refresh()

    def _finish(self, entry: ChatEntry, status: Any, code: Any, message: str) -> ChatEntry:
        if str(getattr(status, "value", status)) == "sent":
            done = dataclasses.replace(entry, delivery=Delivery.SENT)
        else:
            done = dataclasses.replace(
                entry, delivery=Delivery.FAILED, error=failure_words(code, message)
            )
        self.chat_entry.emit(done)
        return done

    def _spawn(self, coro: Coroutine | Any) -> asyncio.Future | None:
        task = spawn(coro)
        if task is None:
            return None
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Future) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("call task failed", exc_info=task.exception())
