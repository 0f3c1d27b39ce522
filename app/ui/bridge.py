"""The bridge from a client ``Session``'s callbacks to Qt signals the widgets connect to.

The bridge *is* the callbacks object passed to ``Session(url, token,
callbacks)``.  Session callbacks run on the asyncio loop's thread, which under
qasync is the Qt UI thread; subscriber ``on_render_frame`` may come from any
thread and only hands the frame to a worker pool.

Besides re-emitting each callback, the bridge derives what the widgets show —
the banner, each tile's overlay, incoming chat lines — and emits those only
when they change (see :mod:`app.ui.state`).  While reconnecting, a slow tick
recomputes the banner so its countdown moves.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot
from PySide6.QtGui import QImage

from app.core.protocol import ConnectionInfo, StreamInfo
from app.ui.frames import FrameConverter
from app.ui.state import (
    BannerInfo,
    BannerTracker,
    ChangeFilter,
    ChatEntry,
    SubscriberView,
    TileOverlay,
    display_name,
    state_name,
    tile_overlay,
)

logger = logging.getLogger(__name__)

CHAT_TYPE = "chat"
TICK_MS = 250


class SubscriberCallbacks:
    """Subscriber callbacks for one stream, forwarding to the bridge with the stream's id.

    Fits both the session-level subscriber (``on_disconnected(subscriber)``) and
    the media one (``on_render_frame(subscriber, frame)``): the frame is the last
    argument, the rest is ignored.
    """

    def __init__(self, bridge: SessionBridge, stream_id: str) -> None:
        self._bridge = bridge
        self.stream_id = stream_id

    def on_disconnected(self, *_: Any) -> None:
        self._bridge.subscriber_interrupted(self.stream_id, True)

    def on_reconnected(self, *_: Any) -> None:
        self._bridge.subscriber_interrupted(self.stream_id, False)

    def on_video_disabled(self, *_: Any) -> None:
        self._bridge.subscriber_video(self.stream_id, False)

    def on_video_enabled(self, *_: Any) -> None:
        self._bridge.subscriber_video(self.stream_id, True)

    def on_render_frame(self, *args: Any) -> None:
        """Any thread; the frame is converted off the UI thread, newest wins."""
        self._bridge.converter.submit(self.stream_id, args[-1])

    def on_error(self, *args: Any) -> None:
        logger.info("subscriber %s error: %s", self.stream_id, args[1:])


class SessionBridge(QObject):
    # --- the session's callbacks, one signal each (UI thread) ------------------------------
    connected = Signal()
    disconnected = Signal(str)  # reason code
    reconnection_started = Signal()
    reconnected = Signal()
    connection_created = Signal(object)  # ConnectionInfo
    connection_dropped = Signal(object, str)  # ConnectionInfo, reason
    stream_received = Signal(object)  # StreamInfo
    stream_dropped = Signal(object, str)  # StreamInfo, reason
    stream_updated = Signal(object)  # StreamInfo
    signal_received = Signal(str, str, str)  # type, data, from connection id
    error = Signal(int, str)
    # --- derived, emitted only on change -------------------------------------------------------
    state_changed = Signal(str)  # "connected", "reconnecting", …
    banner_changed = Signal(object)  # BannerInfo
    tile_added = Signal(str, object)  # stream id, TileOverlay
    tile_changed = Signal(str, object)  # stream id, TileOverlay
    tile_removed = Signal(str)  # stream id
    frame_ready = Signal(str, QImage)  # stream id (or "self"), frame
    chat_received = Signal(object)  # ChatEntry

    def __init__(
        self,
        parent: QObject | None = None,
        *,
        clock: Callable[[], float] | None = None,
        tick_timer: QObject | None = None,
        converter: FrameConverter | None = None,
    ) -> None:
        super().__init__(parent)
        self._clock = clock or _loop_clock
        self._tick = tick_timer if tick_timer is not None else QTimer(self)
        if isinstance(self._tick, QTimer):
            self._tick.setInterval(TICK_MS)
        self.converter = converter or FrameConverter(self)
        self._session: Any = None
        self._banner = BannerTracker()
        self._state = ""
        self._reason = ""
        self._connections: dict[str, ConnectionInfo] = {}
        self._views: dict[str, SubscriberView] = {}
        self._stream_owner: dict[str, str] = {}
        self._overlays: ChangeFilter[str, TileOverlay] = ChangeFilter()
        self._chat_count = 0
        self._subscribers: dict[str, Any] = {}
        # How to subscribe to a new stream: (stream, callbacks) -> subscriber.  By default the
        # session's own subscribe(); the media layer replaces it with one that also renders.
        self.subscribe_hook: Callable[[StreamInfo, SubscriberCallbacks], Any] | None = None
        self._tick.timeout.connect(self.refresh)
        self.converter.frame_ready.connect(self.frame_ready)

    # --- owner API ---------------------------------------------------------------------------

    def attach(self, session: Any) -> None:
        """Follow ``session`` (built with this bridge as its callbacks); forget the last one."""
        self.reset()
        self._session = session
        self.refresh()

    @property
    def session(self) -> Any:
        return self._session

    @property
    def banner(self) -> BannerInfo:
        return self._banner.current

    @property
    def state(self) -> str:
        return self._state

    def own_connection_id(self) -> str | None:
        conn = getattr(self._session, "connection", None)
        return getattr(conn, "id", None) if conn is not None else None

    def name_of(self, connection_id: str) -> str:
        if connection_id and connection_id == self.own_connection_id():
            return "You"
        conn = self._connections.get(connection_id)
        return display_name(conn.data if conn else "")

    def overlay(self, stream_id: str) -> TileOverlay | None:
        view = self._views.get(stream_id)
        return tile_overlay(view) if view else None

    def tiles(self) -> list[tuple[str, TileOverlay]]:
        """Every remote stream's tile as it stands, in arrival order (for a new window)."""
        return [(stream_id, tile_overlay(view)) for stream_id, view in self._views.items()]

    def subscriber_callbacks(self, stream_id: str) -> SubscriberCallbacks:
        """The callbacks object to give the subscriber of ``stream_id``."""
        return SubscriberCallbacks(self, stream_id)

    def reset(self) -> None:
        """Drop every tile and forget the roster (before a rejoin)."""
        for stream_id in list(self._views):
            self._remove_stream(stream_id)
        self._connections.clear()
        self._reason = ""

    @Slot()
    def refresh(self) -> None:
        """Recompute the derived state from the session; emit what changed."""
        session = self._session
        state = state_name(getattr(session, "state", None)) if session is not None else ""
        if state and state != self._state:
            self._state = state
            self.state_changed.emit(state)
        if state == "reconnecting":
            if not self._tick.isActive():
                self._tick.start(TICK_MS)
        elif self._tick.isActive():
            self._tick.stop()
        if session is None:
            return
        progress = getattr(session, "progress", None)
        if callable(progress):  # tolerate progress() as a method as well as a property
            progress = progress()
        info = self._banner.update(state, progress, self._clock(), self._reason)
        if info is not None:
            self.banner_changed.emit(info)

    # --- session callbacks -----------------------------------------------------------------

    def on_connected(self, *_: Any) -> None:
        self._reason = ""
        self.connected.emit()
        self.refresh()

    def on_disconnected(self, reason: str = "", *_: Any) -> None:
        self._reason = reason or ""
        self.disconnected.emit(self._reason)
        self.refresh()

    def on_reconnection_started(self, *_: Any) -> None:
        self.reconnection_started.emit()
        self.refresh()

    def on_reconnected(self, *_: Any) -> None:
        self.reconnected.emit()
        self.refresh()

    def on_connection_created(self, connection: ConnectionInfo) -> None:
        self._connections[connection.id] = connection
        self.connection_created.emit(connection)

    def on_connection_dropped(self, connection: ConnectionInfo, reason: str = "") -> None:
        # Its streams go with it, even if the server's stream_dropped is missed.
        for stream_id, owner in list(self._stream_owner.items()):
            if owner == connection.id:
                self._remove_stream(stream_id)
        self.connection_dropped.emit(connection, reason)
        self._connections.pop(connection.id, None)

    def on_stream_received(self, stream: StreamInfo) -> None:
        conn = self._connections.get(stream.connection_id)
        name = stream.name or display_name(conn.data if conn else "")
        view = SubscriberView(name=name, has_video=stream.has_video, has_audio=stream.has_audio)
        self._views[stream.id] = view
        self._stream_owner[stream.id] = stream.connection_id
        overlay = tile_overlay(view)
        self._overlays.changed(stream.id, overlay)
        self.stream_received.emit(stream)
        self.tile_added.emit(stream.id, overlay)
        self._subscribe(stream)

    def on_stream_dropped(self, stream: StreamInfo, reason: str = "") -> None:
        self._remove_stream(stream.id)
        self.stream_dropped.emit(stream, reason)

    def on_stream_updated(self, stream: StreamInfo) -> None:
        if stream.id in self._views:
            self._update_view(stream.id, has_video=stream.has_video, has_audio=stream.has_audio)
        self.stream_updated.emit(stream)

    def on_signal_received(self, type_: str, data: str, connection_id: str = "") -> None:
        self.signal_received.emit(type_, data, connection_id or "")
        own = self.own_connection_id()
        if type_ == CHAT_TYPE and not (own and connection_id == own):
            self._chat_count += 1
            self.chat_received.emit(
                ChatEntry(
                    id=f"in-{self._chat_count}", sender=self.name_of(connection_id), text=data
                )
            )

    def on_error(self, code: int, message: str = "") -> None:
        logger.info("session error %s: %s", code, message)  # the UI shows it; no console noise
        self.error.emit(int(code), message)

    # --- subscriber callbacks (through SubscriberCallbacks) ------------------------------

    def subscriber_interrupted(self, stream_id: str, interrupted: bool) -> None:
        self._update_view(stream_id, interrupted=interrupted)

    def subscriber_video(self, stream_id: str, enabled: bool) -> None:
        self._update_view(stream_id, video_disabled=not enabled)

    # --- internals -------------------------------------------------------------------------

    def _update_view(self, stream_id: str, **changes: Any) -> None:
        view = self._views.get(stream_id)
        if view is None:
            return
        view = dataclasses.replace(view, **changes)
        self._views[stream_id] = view
        overlay = tile_overlay(view)
        if self._overlays.changed(stream_id, overlay):
            self.tile_changed.emit(stream_id, overlay)

    def _subscribe(self, stream: StreamInfo) -> None:
        hook = self.subscribe_hook or getattr(self._session, "subscribe", None)
        if hook is None:
            return
        try:
            self._subscribers[stream.id] = hook(stream, self.subscriber_callbacks(stream.id))
        except Exception:
            logger.exception("cannot subscribe to %s", stream.id)

    def _remove_stream(self, stream_id: str) -> None:
        self._subscribers.pop(stream_id, None)  # the session closes it with the stream
        if self._views.pop(stream_id, None) is None:
            return
        self._stream_owner.pop(stream_id, None)
        self._overlays.forget(stream_id)
        self.converter.forget(stream_id)
        self.tile_removed.emit(stream_id)


def _loop_clock() -> float:
    """The running loop's clock (the one ``progress`` times use), else monotonic time."""
    import asyncio

    try:
        return asyncio.get_running_loop().time()
    except RuntimeError:
        return time.monotonic()
