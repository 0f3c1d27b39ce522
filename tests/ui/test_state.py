"""The pure derivations: session/subscriber state -> banner and tile overlay values."""

import enum
from dataclasses import dataclass

import pytest

from app.ui.state import (
    BannerInfo,
    BannerState,
    BannerTracker,
    ChangeFilter,
    SubscriberView,
    display_name,
    initials,
    join_error,
    reason_words,
    state_name,
    tile_overlay,
)


@dataclass
class Progress:
    attempt: int = 0
    next_retry_at: float | None = None
    window_deadline: float | None = None
    queued: int = 0


class SessionState(enum.Enum):
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    DISCONNECTED = "disconnected"


def test_reason_words_known_and_unknown():
    assert reason_words("network_disconnected") == "the network connection was lost"
    assert reason_words("force_disconnected") == "a moderator removed you from the call"
    assert reason_words("brand_new_reason") == "brand new reason"
    assert reason_words("") == "the connection ended"


def test_state_name_accepts_enums_and_strings():
    assert state_name(SessionState.RECONNECTING) == "reconnecting"
    assert state_name("Not connected") == "not_connected"
    assert state_name(None) == "not_connected"

    class Numbered(enum.Enum):
        RECONNECTING = 4

    assert state_name(Numbered.RECONNECTING) == "reconnecting"


def test_banner_goes_through_reconnecting_reconnected_and_emits_only_on_change():
    tracker = BannerTracker()
    history = []

    def feed(state, progress=None, now=0.0, reason=""):
        info = tracker.update(state, progress, now, reason)
        if info is not None:
            history.append(info)

    feed(SessionState.CONNECTED)  # still hidden: nothing to emit
    feed(SessionState.RECONNECTING, Progress(attempt=1, next_retry_at=100.0, queued=0), 100.0)
    feed(SessionState.RECONNECTING, Progress(attempt=1, next_retry_at=100.0, queued=0), 100.0)
    feed(SessionState.RECONNECTING, Progress(attempt=2, next_retry_at=102.5, queued=2), 100.1)
    feed(SessionState.RECONNECTING, Progress(attempt=2, next_retry_at=102.5, queued=2), 100.4)
    feed(SessionState.RECONNECTING, Progress(attempt=2, next_retry_at=102.5, queued=2), 101.6)
    feed(SessionState.CONNECTED, None, 103.0)
    feed(SessionState.CONNECTED, None, 104.0)

    assert history == [
        BannerInfo(BannerState.RECONNECTING, attempt=1, seconds_to_retry=0),
        BannerInfo(BannerState.RECONNECTING, attempt=2, seconds_to_retry=3, queued=2),
        BannerInfo(BannerState.RECONNECTING, attempt=2, seconds_to_retry=1, queued=2),
        BannerInfo(BannerState.RECONNECTED),
    ]
    assert history[1].text == "Connection lost — reconnecting…"
    assert history[1].detail == "Attempt 2 · next try in 3 s · 2 messages waiting to send"
    assert history[0].detail == "Attempt 1 · trying now"
    assert history[-1].text == "Reconnected"


def test_banner_disconnected_after_failed_reconnect_keeps_reason():
    tracker = BannerTracker()
    tracker.update("reconnecting", Progress(attempt=9, next_retry_at=5.0), 4.0)
    info = tracker.update("disconnected", None, 30.0, "network_disconnected")
    assert info == BannerInfo(BannerState.DISCONNECTED, reason="network_disconnected")
    assert info.text == "Disconnected: the network connection was lost"
    # A later state report without a reason keeps the reason shown.
    assert tracker.update("disconnected", None, 31.0) is None
    # Leaving on purpose is not an error to show; rejoining hides the banner.
    assert tracker.update("connecting", None, 40.0) == BannerInfo()
    assert tracker.update("disconnected", None, 41.0, "client_disconnected") is None


def test_progress_as_mapping_and_one_message():
    tracker = BannerTracker()
    info = tracker.update("reconnecting", {"attempt": 3, "queued": 1}, 0.0)
    assert info.detail == "Attempt 3 · trying now · 1 message waiting to send"


def test_an_attempt_under_way_reads_trying_now_not_a_countdown():
    tracker = BannerTracker()
    progress = {"attempt": 5, "next_retry_at": 10.25, "trying": True}
    assert tracker.update("reconnecting", progress, 10.0).detail == "Attempt 5 · trying now"
    progress = {"attempt": 5, "next_retry_at": 11.5, "trying": False}
    assert tracker.update("reconnecting", progress, 10.0).detail == "Attempt 5 · next try in 2 s"


def test_tile_overlay_from_subscriber_view():
    view = SubscriberView(name="Ada Lovelace")
    assert tile_overlay(view).reconnecting_text == ""
    down = tile_overlay(SubscriberView(name="Ada Lovelace", interrupted=True))
    assert down.reconnecting and down.reconnecting_text == "Ada Lovelace is reconnecting…"
    off = tile_overlay(SubscriberView(name="Ada Lovelace", has_video=False, has_audio=False))
    assert off.camera_off and off.mic_muted and off.initials == "AL"
    assert tile_overlay(SubscriberView(name="x", video_disabled=True)).camera_off


def test_change_filter():
    changes = ChangeFilter()
    assert changes.changed("s1", 1)
    assert not changes.changed("s1", 1)
    assert changes.changed("s1", 2)
    changes.forget("s1")
    assert changes.changed("s1", 2)


@pytest.mark.parametrize(
    ("data", "name"),
    [
        ('{"name": "Ada"}', "Ada"),
        ("name=Grace&role=x", "Grace"),
        ("Linus", "Linus"),
        ("", "Guest"),
        ('{"nick": "x"}', "Guest"),
        ("<b>bold</b>\x07", "<b>bold</b>"),
        ("x" * 100, "x" * 39 + "…"),
    ],
)
def test_display_name(data, name):
    assert display_name(data) == name


def test_initials():
    assert initials("ada") == "A"
    assert initials("Ada King Lovelace") == "AL"
    assert initials("  ") == "?"


def test_join_error_words():
    assert join_error(1007).field == "token"
    assert "expired" in join_error(1007).text
    assert join_error(1013).field == "server"
    assert join_error(1005).text.startswith("This token is for a different call")
    assert join_error(2000, "server broke").text == "server broke"
