"""One client's media: its published streams and its subscriptions, over one Signalling.

The engine is the seam between the session and aiortc.  It routes every relayed
``media_*`` payload to the publisher or subscriber it belongs to, and it is told about
the session's lifecycle by the adapter that wraps the real ``Session``:

==================================  ===================================================
Session event                       engine call
==================================  ===================================================
``rtc_relay`` (from, payload)       the handler registered through ``Signalling``
our session resumed                 :meth:`session_resumed`
``connection_interrupted`` / back   :meth:`connection_interrupted` (id, True / False)
``connection_dropped``              :meth:`connection_dropped`
``stream_updated`` (has_video)      :meth:`stream_updated`
``stream_dropped``                  :meth:`stream_dropped` (the subscriber is closed)
==================================  ===================================================

Publishing: ``info = await session.publish_stream(name, has_audio, has_video)`` then
``await engine.publish(info.id, Publisher(video=..., audio=...))``.
All methods run on the event loop's thread.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from aiortc import RTCConfiguration

from app.core.errors import ErrorCode, TetherError
from app.core.liveness import LivenessConfig
from app.core.media_signals import (
    MediaAnswer,
    MediaBye,
    MediaCandidate,
    MediaOffer,
    MediaRefused,
    from_payload,
    is_media_payload,
    to_payload,
)
from app.media.ice import ice_servers_from_environment
from app.media.publisher import Publisher
from app.media.rtc import rtc_configuration
from app.media.signalling import Signalling
from app.media.subscriber import Subscriber, SubscriberCallbacks

logger = logging.getLogger(__name__)


class MediaEngine:
    def __init__(
        self,
        signalling: Signalling,
        *,
        configuration: RTCConfiguration | None = None,
        liveness: LivenessConfig | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.signalling = signalling
        self.configuration = configuration or rtc_configuration(ice_servers_from_environment())
        self.liveness = liveness or LivenessConfig()
        self._clock = clock
        self.publishers: dict[str, Publisher] = {}
        self.subscribers: dict[str, Subscriber] = {}  # by sub_id
        self._tasks: set[asyncio.Task[None]] = set()
        self._unlisten = signalling.add_payload_listener(self._on_payload)
        self._closed = False

    # --- publishing -----------------------------------------------------------------------

    async def publish(self, stream_id: str, publisher: Publisher) -> Publisher:
        """Serve ``stream_id`` (as announced by the session) from ``publisher``."""
        if stream_id in self.publishers:
            raise TetherError(ErrorCode.INVALID_PARAMETER, f"stream {stream_id} already published")
        publisher.start(stream_id, self.signalling.send, self.configuration)
        self.publishers[stream_id] = publisher
        return publisher

    async def unpublish(self, stream_id: str) -> None:
        publisher = self.publishers.pop(stream_id, None)
        if publisher is not None:
            await publisher.close()

    # --- subscribing ----------------------------------------------------------------------

    def subscribe(
        self,
        stream_id: str,
        connection_id: str,
        callbacks: SubscriberCallbacks,
        *,
        has_video: bool = True,
    ) -> Subscriber:
        """Start receiving ``stream_id`` published by connection ``connection_id``."""
        subscriber = Subscriber(
            stream_id=stream_id,
            connection_id=connection_id,
            callbacks=callbacks,
            send=self.signalling.send,
            has_video=has_video,
            configuration=self.configuration,
            config=self.liveness,
            clock=self._clock,
        )
        self.subscribers[subscriber.sub_id] = subscriber
        subscriber.start()
        return subscriber

    async def unsubscribe(self, subscriber: Subscriber) -> None:
        self.subscribers.pop(subscriber.sub_id, None)
        await subscriber.close()

    # --- session lifecycle ----------------------------------------------------------------

    def session_resumed(self) -> None:
        for subscriber in list(self.subscribers.values()):
            subscriber.session_resumed()

    def connection_interrupted(self, connection_id: str, interrupted: bool) -> None:
        for subscriber in list(self.subscribers.values()):
            if subscriber.connection_id == connection_id:
                subscriber.owner_interrupted(interrupted)

    def connection_dropped(self, connection_id: str) -> None:
        for publisher in self.publishers.values():
            publisher.connection_dropped(connection_id)
        for subscriber in list(self.subscribers.values()):
            if subscriber.connection_id == connection_id:
                self._spawn(self.unsubscribe(subscriber))

    def stream_updated(self, stream_id: str, has_video: bool) -> None:
        for subscriber in list(self.subscribers.values()):
            if subscriber.stream_id == stream_id:
                subscriber.stream_updated(has_video)

    def stream_dropped(self, stream_id: str) -> None:
        for subscriber in list(self.subscribers.values()):
            if subscriber.stream_id == stream_id:
                self._spawn(self.unsubscribe(subscriber))

    async def close(self) -> None:
        """Close every subscriber and publisher, and with them every peer connection."""
        self._closed = True
        self._unlisten()
        await asyncio.gather(*(self.unsubscribe(s) for s in list(self.subscribers.values())))
        for stream_id in list(self.publishers):
            await self.unpublish(stream_id)
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # --- routing --------------------------------------------------------------------------

    def _on_payload(self, sender: str, payload: dict[str, Any]) -> None:
        if self._closed or not is_media_payload(payload):
            return
        try:
            message = from_payload(payload)
        except TetherError as exc:
            logger.warning("from %s: %s", sender, exc)
            return
        if isinstance(message, (MediaOffer, MediaBye)):
            publisher = self.publishers.get(message.stream_id)
            if publisher is not None:
                self._spawn(publisher.handle(sender, message))
            elif isinstance(message, MediaOffer):
                refused = MediaRefused(
                    message.stream_id,
                    message.sub_id,
                    message.gen,
                    int(ErrorCode.UNKNOWN_STREAM),
                    f"stream {message.stream_id} is not published here",
                )
                self._spawn(self._reply(sender, to_payload(refused)))
        elif isinstance(message, (MediaAnswer, MediaRefused, MediaCandidate)):
            subscriber = self.subscribers.get(message.sub_id)
            if subscriber is not None and subscriber.connection_id == sender:
                subscriber.handle(message)
                if isinstance(message, MediaRefused) and message.gen == subscriber.generation:
                    self._spawn(self.unsubscribe(subscriber))

    async def _reply(self, to: str, payload: dict[str, Any]) -> None:
        try:
            await self.signalling.send(to, payload)
        except TetherError as exc:
            logger.info("reply to %s not sent: %s", to, exc)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
