"""A headless participant that publishes the test pattern and tone, for the self-test.

In-process, on the same loop as the window: a client ``Session`` plus a
``MediaSession``.  :meth:`MediaBot.drop` cuts its link and media for a while, the
same way the window's "Simulate connection drop" cuts this client's.
"""

from __future__ import annotations

import asyncio
from typing import Any

from app.media.netcut import MediaCut


class MediaBot:
    def __init__(self, url: str, token: str, name: str = "Bot", callbacks: Any = None) -> None:
        self.url = url
        self.callbacks = callbacks  # the session's
        self.token = token
        self.name = name
        self.session: Any = None
        self.media: Any = None
        self.publisher: Any = None
        self._restore: asyncio.TimerHandle | None = None
        self._cut: MediaCut | None = None

    async def start(self, *, width: int = 320, height: int = 240, fps: float = 15) -> MediaBot:
        from app.client.session import Session
        from app.media.ice import addresses_for_server, use_host_addresses
        from app.media.session_link import MediaSession
        from app.media.sources import TestPatternTrack, ToneTrack

        use_host_addresses(addresses_for_server(self.url))
        self.session = Session(self.url, self.token, self.callbacks, name="bot")
        await self.session.connect()
        self.media = MediaSession(self.session)
        self.publisher = await self.media.publish(
            self.name, video=TestPatternTrack(width, height, fps), audio=ToneTrack()
        )
        return self

    @property
    def stream_id(self) -> str:
        return self.publisher.stream_id

    def drop(self, seconds: float) -> None:
        """The bot's network goes dead for ``seconds``: signalling and media."""
        self.session.simulate_drop(seconds)
        self._cut = MediaCut(self.publisher.peer_connections)
        self._restore = asyncio.get_running_loop().call_later(seconds, self._end_drop)

    def _end_drop(self) -> None:
        self._restore = None
        cut, self._cut = self._cut, None
        if cut is not None:
            cut.restore()

    async def set_video_enabled(self, on: bool) -> None:
        await self.media.set_video_enabled(self.publisher, on)

    async def close(self) -> None:
        if self._restore is not None:
            self._restore.cancel()
        self._end_drop()
        if self.media is not None:
            await self.media.close()
        if self.session is not None:
            await self.session.disconnect()
