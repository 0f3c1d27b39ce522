"""Media liveness of one subscription: notice a stalled stream, ask for a fresh PC.

aiortc notices a vanished peer only after ~31 s and cannot restart ICE, so the
subscriber watches for itself: every decoded frame and every data-channel heartbeat from
the publisher is evidence of life.  No evidence for ``stall_timeout`` seconds (or no
video while the publisher says its video is on) means the stream stalled: the subscriber
reports ``Disconnected`` and asks its driver to renegotiate with a fresh peer connection,
again after each delay of the injected schedule, until evidence flows on the new one.

A publisher that turned its video off is not stalled: its heartbeats (and audio) still
flow, and they say video is off.  The session layer adds what the server knows: the
publisher's connection was interrupted / resumed, or our own session resumed.

Sans-I/O: every input takes ``now``; the driver arms a timer at :meth:`get_timer` and
calls :meth:`handle_timer`; :meth:`events_received` returns what happened, in order.

Subscriber states (one table, :data:`_TRANSITIONS`)::

    CONNECTING --evidence--> LIVE --no evidence for stall_timeout--> STALLED
        STALLED --evidence on the current PC--> LIVE
    any --close--> CLOSED

What the user sees is derived: disconnected = connected once and (STALLED or the
publisher's connection is interrupted); ``Disconnected`` / ``Reconnected`` fire on change.
"""

from __future__ import annotations

import enum
import itertools
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)

VIDEO_OFF_BY_PUBLISHER = "publish_video_off"
VIDEO_OFF_BY_SUBSCRIBER = "subscribe_to_video"


def default_renegotiation_delays() -> Iterator[float]:
    """How long a fresh PC gets to bring media before the next one: 3, 4, then every 5 s."""
    return itertools.chain([3.0, 4.0], itertools.repeat(5.0))


@dataclass(frozen=True)
class LivenessConfig:
    stall_timeout: float = 2.0
    # A fresh peer connection's time to bring its first evidence before the next attempt.
    renegotiation_delays: Callable[[], Iterator[float]] = default_renegotiation_delays


class State(enum.Enum):
    CONNECTING = "connecting"
    LIVE = "live"
    STALLED = "stalled"
    CLOSED = "closed"


_TRANSITIONS: dict[State, frozenset[State]] = {
    State.CONNECTING: frozenset({State.LIVE, State.CLOSED}),
    State.LIVE: frozenset({State.STALLED, State.CLOSED}),
    State.STALLED: frozenset({State.LIVE, State.CLOSED}),
    State.CLOSED: frozenset(),
}


class IllegalTransition(RuntimeError):
    pass


# --- events -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Connected:
    """First evidence of media: the subscription works."""


@dataclass(frozen=True)
class Disconnected:
    reason: str  # "media_stalled" or "publisher_interrupted"


@dataclass(frozen=True)
class Reconnected:
    pass


@dataclass(frozen=True)
class VideoDisabled:
    reason: str  # VIDEO_OFF_BY_PUBLISHER or VIDEO_OFF_BY_SUBSCRIBER


@dataclass(frozen=True)
class VideoEnabled:
    reason: str


@dataclass(frozen=True)
class Renegotiate:
    """Driver: close the current peer connection and negotiate a fresh one now."""

    reason: str  # "media_stalled", "no_media", "session_resumed", "publisher_resumed"


Event = Connected | Disconnected | Reconnected | VideoDisabled | VideoEnabled | Renegotiate


@dataclass
class SubscriberLiveness:
    """Liveness rules for one subscription.  Create it when the first PC is negotiated."""

    now: float
    remote_video: bool = True
    config: LivenessConfig = field(default_factory=LivenessConfig)

    def __post_init__(self) -> None:
        self.state = State.CONNECTING
        self.owner_interrupted = False
        self.subscribe_to_video = True
        self._ever_connected = False
        self._shown_disconnected = False
        self._shown_video = (self.remote_video, VIDEO_OFF_BY_PUBLISHER)
        self._last_evidence = self.now
        self._last_video = float("-inf")
        self._last_heartbeat = float("-inf")
        self._video_expected_since = self.now
        self._negotiated_at = self.now
        self._delays = self.config.renegotiation_delays()
        self._delay = next(self._delays)
        self._events: list[Event] = []

    # --- inputs ---------------------------------------------------------------------------

    def frame_received(self, now: float, kind: str) -> None:
        """A decoded frame (``"video"`` or ``"audio"``) from the current peer connection."""
        if self.state is State.CLOSED:
            return
        self._last_evidence = now
        if kind == "video":
            self._last_video = now
        self._check_alive(now)

    def heartbeat_received(self, now: float, video: bool) -> None:
        """A heartbeat from the publisher on the current PC; ``video`` is its video state."""
        if self.state is State.CLOSED:
            return
        self._last_evidence = now
        self._last_heartbeat = now
        self._set_remote_video(now, video)
        self._check_alive(now)

    def stream_updated(self, now: float, has_video: bool) -> None:
        """The server's ``stream_updated``.  While heartbeats flow they are the truth: they
        come straight from the publisher, usually before the server's notice, and a late
        notice must not flip the state back and forth."""
        if now - self._last_heartbeat < self.config.stall_timeout:
            return
        self._set_remote_video(now, has_video)

    def _set_remote_video(self, now: float, enabled: bool) -> None:
        if enabled and not self.remote_video:
            # Give the first new frame (a keyframe) the whole stall timeout to arrive.
            self._video_expected_since = now
        self.remote_video = enabled
        self._update_video()

    def set_subscribe_to_video(self, enabled: bool) -> None:
        self.subscribe_to_video = enabled
        self._update_video()

    def negotiation_started(self, now: float) -> None:
        """The driver opened a fresh PC; only its evidence counts from now on."""
        self._negotiated_at = now

    def owner_interrupted_changed(self, now: float, interrupted: bool) -> None:
        """The server says the publisher's connection is interrupted (or back)."""
        if self.state is State.CLOSED or interrupted == self.owner_interrupted:
            return
        self.owner_interrupted = interrupted
        if not interrupted and self.state is not State.LIVE:
            self._renegotiate(now, "publisher_resumed")
        self._derive()

    def session_resumed(self, now: float) -> None:
        """Our own session came back.  A PC that still carries media is kept."""
        if self.state is not State.LIVE and self.state is not State.CLOSED:
            self._renegotiate(now, "session_resumed")

    def close(self) -> None:
        if self.state is not State.CLOSED:
            self._set_state(State.CLOSED)

    # --- timer ----------------------------------------------------------------------------

    def get_timer(self) -> float | None:
        if self.state is State.LIVE:
            return self._stall_deadline()
        if self.state in (State.CONNECTING, State.STALLED) and not self.owner_interrupted:
            return self._negotiated_at + self._delay
        return None

    def handle_timer(self, now: float) -> None:
        if self.state is State.LIVE:
            if now >= self._stall_deadline():
                self._set_state(State.STALLED)
                self._derive()
                self._restart_delays()
                # Offers to an interrupted publisher would only queue up at the server;
                # its resume triggers the renegotiation instead.
                if not self.owner_interrupted:
                    self._renegotiate(now, "media_stalled")
        elif self.state in (State.CONNECTING, State.STALLED) and not self.owner_interrupted:
            if now >= self._negotiated_at + self._delay:
                self._delay = next(self._delays)
                self._renegotiate(now, "no_media")

    def events_received(self) -> list[Event]:
        events, self._events = self._events, []
        return events

    # --- internals ------------------------------------------------------------------------

    @property
    def shown_disconnected(self) -> bool:
        """Whether the user was last told ``Disconnected`` (and not yet ``Reconnected``)."""
        return self._shown_disconnected

    @property
    def video_expected(self) -> bool:
        return self.remote_video

    def _stall_deadline(self) -> float:
        deadline = self._last_evidence + self.config.stall_timeout
        if self.video_expected:
            last_video = max(self._last_video, self._video_expected_since)
            deadline = min(deadline, last_video + self.config.stall_timeout)
        return deadline

    def _check_alive(self, now: float) -> None:
        if self.state is State.LIVE:
            return
        # Frames flow again: video when the publisher sends video, anything otherwise.
        if self.video_expected and self._last_video < self._negotiated_at:
            return
        if self.video_expected and now - self._last_video > self.config.stall_timeout:
            return
        first = self.state is State.CONNECTING
        self._set_state(State.LIVE)
        self._restart_delays()
        if first:
            self._ever_connected = True
            self._events.append(Connected())
        self._derive()

    def _restart_delays(self) -> None:
        self._delays = self.config.renegotiation_delays()
        self._delay = next(self._delays)

    def _renegotiate(self, now: float, reason: str) -> None:
        self._negotiated_at = now
        self._events.append(Renegotiate(reason))

    def _derive(self) -> None:
        disconnected = self._ever_connected and (
            self.owner_interrupted or self.state is State.STALLED
        )
        if disconnected != self._shown_disconnected:
            self._shown_disconnected = disconnected
            if disconnected:
                reason = "publisher_interrupted" if self.owner_interrupted else "media_stalled"
                self._events.append(Disconnected(reason))
            else:
                self._events.append(Reconnected())

    def _update_video(self) -> None:
        if not self.remote_video:
            shown = (False, VIDEO_OFF_BY_PUBLISHER)
        elif not self.subscribe_to_video:
            shown = (False, VIDEO_OFF_BY_SUBSCRIBER)
        else:
            shown = (True, self._shown_video[1])
        if shown[0] != self._shown_video[0]:
            self._events.append(VideoEnabled(shown[1]) if shown[0] else VideoDisabled(shown[1]))
        self._shown_video = shown

    def _set_state(self, new: State) -> None:
        if new not in _TRANSITIONS[self.state]:
            raise IllegalTransition(f"{self.state.value} -> {new.value}")
        logger.debug("subscriber liveness %s -> %s", self.state.value, new.value)
        self.state = new
