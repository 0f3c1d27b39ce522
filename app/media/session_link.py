"""The thin adapter between the client ``Session`` and :class:`Signalling`.

The session owns the WebSocket; the media layer only needs to relay ``rtc`` payloads.
:class:`SessionSignalling` takes the three session hooks as plain callables so it does not
depend on their method names:

* ``local_id()`` — this client's connection id (it survives a resume);
* ``send_rtc(to, payload)`` — sends ``{"op": "rtc", ...}`` *only while connected* and
  returns an awaitable outcome: it either raises :class:`TetherError`, or resolves to
  something with ``status`` (``"sent"`` / ``"failed"``) and ``code`` — both are accepted;
* ``add_rtc_listener(handler)`` — calls ``handler(from_connection_id, payload)`` for every
  ``rtc_relay``, returns an unsubscribe callable.

Lifecycle wiring (the session's callbacks -> the engine) is listed in
:mod:`app.media.engine`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from app.core import events as ev
from app.core.errors import ErrorCode, TetherError
from app.media.engine import MediaEngine
from app.media.publisher import Publisher
from app.media.signalling import PayloadHandler
from app.media.subscriber import SubscriberCallbacks


class SessionSignalling:
    def __init__(
        self,
        *,
        local_id: Callable[[], str],
        send_rtc: Callable[[str, dict[str, Any]], Any],
        add_rtc_listener: Callable[[PayloadHandler], Callable[[], None]],
    ) -> None:
        self._local_id = local_id
        self._send_rtc = send_rtc
        self._add_rtc_listener = add_rtc_listener

    @property
    def local_id(self) -> str:
        return self._local_id()

    async def send(self, to: str, payload: dict[str, Any]) -> None:
        outcome: Any = self._send_rtc(to, payload)
        if inspect.isawaitable(outcome):
            outcome = await outcome
        status = getattr(outcome, "status", "sent")
        if status != "sent":
            code = getattr(outcome, "code", None) or ErrorCode.SIGNAL_NOT_SENT
            message = getattr(outcome, "message", "") or f"rtc payload to {to} not sent"
            raise TetherError(ErrorCode(int(code)), message)

    def add_payload_listener(self, handler: PayloadHandler) -> Callable[[], None]:
        return self._add_rtc_listener(handler)


class MediaSession:
    """Wires a client ``Session`` to a :class:`MediaEngine`: publish, subscribe, recover.

    ::

        media = MediaSession(session)
        publisher = await media.publish("cam", video=TestPatternTrack(), audio=ToneTrack())
        subscriber = media.subscribe(stream_info, callbacks)   # app.media.subscriber
        await media.set_video_enabled(publisher, False)
        await media.close()                                    # before session.disconnect()

    The media :class:`~app.media.subscriber.Subscriber` is the one that calls the user's
    subscriber callbacks: it follows the session-level subscription (owner interrupted /
    resumed, stream updated, stream dropped) through its listener and adds frame-level
    liveness, so ``on_disconnected`` / ``on_reconnected`` fire once per outage whichever
    noticed first.  Our own session's resume renegotiates stalled streams at once.
    Runs on the session's event loop.
    """

    def __init__(
        self,
        session: Any,
        *,
        configuration: Any = None,
        liveness: Any = None,
    ) -> None:
        self.session = session
        self.signalling = SessionSignalling(
            local_id=lambda: session.connection.id,
            send_rtc=session.send_rtc,
            add_rtc_listener=session.add_rtc_listener,
        )
        self.engine = MediaEngine(self.signalling, configuration=configuration, liveness=liveness)
        self._unlisten = session.add_listener(self._on_session_event)
        self._unlisten_subs: list[Callable[[], None]] = []

    async def publish(
        self,
        name: str = "",
        *,
        video: Any = None,
        audio: Any = None,
        video_bitrate: int = 1_000_000,
    ) -> Any:
        """Announce a stream to the session and serve it; returns the :class:`Publisher`."""
        info = await self.session.publish_stream(name, audio is not None, video is not None)
        publisher = Publisher(video=video, audio=audio, video_bitrate=video_bitrate)
        return await self.engine.publish(info.id, publisher)

    async def unpublish(self, publisher: Any) -> None:
        await self.engine.unpublish(publisher.stream_id)
        await self.session.unpublish_stream(publisher.stream_id)

    async def set_video_enabled(self, publisher: Any, enabled: bool) -> None:
        """Video off / on without leaving: subscribers hear it from the publisher's
        heartbeat at once and from the server's ``stream_updated``."""
        publisher.set_video_enabled(enabled)
        await self.session.update_stream(publisher.stream_id, has_video=enabled)

    async def set_audio_enabled(self, publisher: Any, enabled: bool) -> None:
        publisher.set_audio_enabled(enabled)
        await self.session.update_stream(publisher.stream_id, has_audio=enabled)

    def subscribe(self, stream: Any, callbacks: Any) -> Any:
        """Receive ``stream`` (a :class:`StreamInfo` or its id); returns the media
        :class:`~app.media.subscriber.Subscriber`, which survives renegotiations."""
        session_sub = self.session.subscribe(stream, None)
        info = session_sub.stream
        media_sub = self.engine.subscribe(
            info.id,
            info.connection_id,
            _Optional(callbacks, SubscriberCallbacks),
            has_video=info.has_video,
        )
        if session_sub.state == "disconnected":
            media_sub.owner_interrupted(True)

        def follow(sub: Any, what: str) -> None:
            if what == "disconnected":
                media_sub.owner_interrupted(True)
            elif what == "reconnected":
                media_sub.owner_interrupted(False)
            elif what == "updated":
                media_sub.stream_updated(sub.stream.has_video)
            elif what == "closed":
                self.engine.stream_dropped(sub.stream.id)

        self._unlisten_subs.append(session_sub.add_listener(follow))
        return media_sub

    async def close(self) -> None:
        """Close every peer connection; call before ``session.disconnect()``."""
        self._unlisten()
        for unlisten in self._unlisten_subs:
            unlisten()
        await self.engine.close()

    def _on_session_event(self, event: Any) -> None:
        if isinstance(event, ev.Reconnected):
            self.engine.session_resumed()
        elif isinstance(event, ev.ConnectionDropped):
            self.engine.connection_dropped(event.connection.id)


class _Optional:
    """Calls ``callbacks.<name>`` if the user defined it, else the no-op default."""

    def __init__(self, callbacks: Any, defaults: type) -> None:
        self._callbacks = callbacks
        self._defaults = defaults()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._callbacks, name, None) or getattr(self._defaults, name)
