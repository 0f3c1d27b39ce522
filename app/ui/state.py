"""Pure derivations: session / subscriber state -> what the widgets show.

Nothing here touches Qt, asyncio or the clock; the current time is passed in
as ``now`` (the same clock as the session's ``progress`` times, i.e. the
event loop's ``loop.time()``).  The bridge calls these on every session event
and on a slow tick, and forwards a value to a widget only when it changed, so a
widget never repaints for nothing and tests can move time by hand.

These could move to ``app/core`` once the session's state enum settles there;
they only depend on plain values.
"""

from __future__ import annotations

import enum
import json
import math
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

# --- reasons and error codes in words ------------------------------------------------------

_REASON_WORDS = {
    "network_disconnected": "the network connection was lost",
    "client_disconnected": "you left the call",
    "force_disconnected": "a moderator removed you from the call",
    "replaced": "you joined the call again from somewhere else",
    "server_shutdown": "the server shut down",
    "unpublished": "they stopped sharing",
    "resume_rejected": "the server no longer held your place in the call",
    "token_expired": "your invitation expired while you were away",
}


def reason_words(reason: str) -> str:
    """Say a drop / disconnect reason code in words a person understands.

    Unknown codes are shown as words rather than hidden, so a new server reason
    still says something (``"some_new_reason"`` -> ``"some new reason"``).
    """
    if not reason:
        return "the connection ended"
    return _REASON_WORDS.get(reason, reason.replace("_", " ").strip())


# Error codes from app.core.errors; numbers are stable, so they are spelled out
# here without importing the enum into every caller.
_JOIN_ERRORS: dict[int, tuple[str, str]] = {
    1004: ("token", "This token is not valid. Check that it was copied in full."),
    1005: ("token", "This token is for a different call. Ask for a token for this one."),
    1007: ("token", "This token has expired. Ask for a new one."),
    1013: ("server", "Cannot reach the server. Check the address and your network."),
    1501: ("token", "This token may only watch, not join with a camera."),
}


@dataclass(frozen=True)
class JoinError:
    """An error to show inline in the join dialog, next to the field to fix."""

    field: str  # "server", "token", "name" or "" (not tied to one field)
    text: str
    code: int = 0


def join_error(code: int, message: str = "") -> JoinError:
    """Map a :class:`TetherError`'s code to the words the join dialog shows."""
    field_, text = _JOIN_ERRORS.get(int(code), ("", message or f"Could not join (error {code})."))
    return JoinError(field=field_, text=text, code=int(code))


# --- names ---------------------------------------------------------------------------------

NAME_MAX = 40


def display_name(connection_data: str, fallback: str = "Guest") -> str:
    """A short, printable name from a connection's data.

    The data is whatever the token's issuer put there; it is shown as plain text
    only.  Accepted shapes: JSON ``{"name": …}``, ``name=Alice&…`` or the bare string.
    """
    name = ""
    data = (connection_data or "").strip()
    if data.startswith("{"):
        try:
            obj = json.loads(data)
        except ValueError:
            obj = None
        if isinstance(obj, dict) and isinstance(obj.get("name"), str):
            name = obj["name"]
    if not name and "name=" in data:
        for part in data.replace(";", "&").split("&"):
            key, _, value = part.partition("=")
            if key.strip() == "name":
                name = value
                break
    if not name and not data.startswith("{") and "=" not in data:
        name = data
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip()
    if len(name) > NAME_MAX:
        name = name[: NAME_MAX - 1] + "…"
    return name or fallback


def initials(name: str) -> str:
    words = [w for w in name.split() if w[:1].isalnum()]
    if not words:
        return "?"
    if len(words) == 1:
        return words[0][:1].upper()
    return (words[0][:1] + words[-1][:1]).upper()


# --- the status banner ---------------------------------------------------------------------


class BannerState(enum.Enum):
    HIDDEN = "hidden"
    RECONNECTING = "reconnecting"
    RECONNECTED = "reconnected"
    DISCONNECTED = "disconnected"


@dataclass(frozen=True)
class BannerInfo:
    state: BannerState = BannerState.HIDDEN
    attempt: int = 0
    seconds_to_retry: int | None = None  # whole seconds, rounded up; 0 = trying now
    queued: int = 0
    reason: str = ""  # the reason code; ``text`` says it in words

    @property
    def text(self) -> str:
        if self.state is BannerState.RECONNECTING:
            return "Connection lost — reconnecting…"
        if self.state is BannerState.RECONNECTED:
            return "Reconnected"
        if self.state is BannerState.DISCONNECTED:
            return f"Disconnected: {reason_words(self.reason)}"
        return ""

    @property
    def detail(self) -> str:
        if self.state is not BannerState.RECONNECTING:
            return ""
        parts = []
        if self.attempt:
            parts.append(f"Attempt {self.attempt}")
        if self.seconds_to_retry is not None:
            parts.append(
                "trying now"
                if self.seconds_to_retry <= 0
                else f"next try in {self.seconds_to_retry} s"
            )
        if self.queued:
            noun = "message" if self.queued == 1 else "messages"
            parts.append(f"{self.queued} {noun} waiting to send")
        return " · ".join(parts)

    @property
    def announcement(self) -> str:
        """What a screen reader should say: the text, without the ticking countdown."""
        return self.text


def state_name(state: Any) -> str:
    """Normalise a session state (enum member or string) to ``"reconnecting"`` etc."""
    if state is None:
        return "not_connected"
    if isinstance(state, enum.Enum):
        name = state.value if isinstance(state.value, str) else state.name
    else:
        name = str(state)
    return str(name).strip().lower().replace(" ", "_").replace("-", "_")


def _progress_field(progress: Any, name: str, default: Any = None) -> Any:
    if progress is None:
        return default
    if isinstance(progress, dict):
        return progress.get(name, default)
    return getattr(progress, name, default)


def reconnecting_info(progress: Any, now: float) -> BannerInfo:
    attempt = int(_progress_field(progress, "attempt", 0) or 0)
    queued = int(_progress_field(progress, "queued", 0) or 0)
    next_at = _progress_field(progress, "next_retry_at")
    # No next retry time, or a socket opening, means an attempt is under way right now.
    if next_at is None or _progress_field(progress, "trying", False):
        seconds = 0
    else:
        seconds = max(0, math.ceil(float(next_at) - now - 1e-9))
    return BannerInfo(
        BannerState.RECONNECTING, attempt=attempt, seconds_to_retry=seconds, queued=queued
    )


@dataclass
class BannerTracker:
    """Derive the banner from the session; :meth:`update` returns a value only on change.

    "Reconnected" is not a session state but a transition (reconnecting ->
    connected); the tracker remembers the last state to see it.  It stays the
    derived value while the session stays connected; the banner hides itself
    after a few seconds.
    """

    current: BannerInfo = field(default_factory=BannerInfo)

    def derive(self, state: Any, progress: Any, now: float, reason: str = "") -> BannerInfo:
        name = state_name(state)
        last = self.current.state
        if name == "reconnecting":
            return reconnecting_info(progress, now)
        if name == "connected":
            if last in (BannerState.RECONNECTING, BannerState.RECONNECTED):
                return BannerInfo(BannerState.RECONNECTED)
            return BannerInfo()
        if name == "disconnected":
            if reason == "client_disconnected":  # the person left on purpose
                return BannerInfo()
            if not reason and last is BannerState.DISCONNECTED:
                return self.current
            return BannerInfo(BannerState.DISCONNECTED, reason=reason)
        return BannerInfo()

    def update(self, state: Any, progress: Any, now: float, reason: str = "") -> BannerInfo | None:
        info = self.derive(state, progress, now, reason)
        if info == self.current:
            return None
        self.current = info
        return info


# --- video tiles ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TileOverlay:
    name: str
    reconnecting: bool = False  # the publisher's link is down; keep the last frame, dimmed
    camera_off: bool = False
    mic_muted: bool = False

    @property
    def initials(self) -> str:
        return initials(self.name)

    @property
    def reconnecting_text(self) -> str:
        return f"{self.name} is reconnecting…" if self.reconnecting else ""


@dataclass(frozen=True)
class SubscriberView:
    """What the UI knows about one subscribed stream, from subscriber/session callbacks."""

    name: str
    has_video: bool = True
    has_audio: bool = True
    interrupted: bool = False  # subscriber on_disconnected seen, on_reconnected not yet
    video_disabled: bool = False  # subscriber on_video_disabled seen


def tile_overlay(view: SubscriberView) -> TileOverlay:
    return TileOverlay(
        name=view.name,
        reconnecting=view.interrupted,
        camera_off=(not view.has_video) or view.video_disabled,
        mic_muted=not view.has_audio,
    )


K = TypeVar("K")
V = TypeVar("V")


class ChangeFilter(Generic[K, V]):
    """Remember the last value per key; :meth:`changed` says whether to emit."""

    def __init__(self) -> None:
        self._last: dict[K, V] = {}

    def changed(self, key: K, value: V) -> bool:
        if key in self._last and self._last[key] == value:
            return False
        self._last[key] = value
        return True

    def forget(self, key: K) -> None:
        self._last.pop(key, None)


# --- chat ----------------------------------------------------------------------------------


class Delivery(enum.Enum):
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"


@dataclass(frozen=True)
class ChatEntry:
    """One chat line.  ``delivery`` is set for own messages only."""

    id: str
    sender: str
    text: str
    own: bool = False
    delivery: Delivery | None = None
    only_while_connected: bool = False
    error: str = ""  # why it failed, in words

    @property
    def status_text(self) -> str:
        if self.delivery is Delivery.QUEUED:
            return "queued"
        if self.delivery is Delivery.SENT:
            return "sent"
        if self.delivery is Delivery.FAILED:
            return f"failed: {self.error}" if self.error else "failed"
        return ""
