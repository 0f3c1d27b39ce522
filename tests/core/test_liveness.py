"""Subscriber liveness rules with a hand-moved clock: no sockets, no sleeps."""

import itertools

import pytest

from app.core.liveness import (
    VIDEO_OFF_BY_PUBLISHER,
    VIDEO_OFF_BY_SUBSCRIBER,
    Connected,
    Disconnected,
    IllegalTransition,
    LivenessConfig,
    Reconnected,
    Renegotiate,
    State,
    SubscriberLiveness,
    VideoDisabled,
    VideoEnabled,
)

CONFIG = LivenessConfig(
    stall_timeout=2.0, renegotiation_delays=lambda: itertools.chain([3.0], itertools.repeat(5.0))
)


def make(now=0.0, video=True):
    return SubscriberLiveness(now=now, remote_video=video, config=CONFIG)


def frames(lv, start, end, step=1 / 30, kind="video"):
    t = start
    while t < end:
        run_timer(lv, t)
        lv.frame_received(t, kind)
        t += step
    return t


def run_timer(lv, now):
    timer = lv.get_timer()
    if timer is not None and timer <= now:
        lv.handle_timer(now)


def test_first_video_frame_connects():
    lv = make()
    lv.heartbeat_received(0.3, video=True)
    assert lv.events_received() == []  # a heartbeat alone is not picture
    lv.frame_received(0.4, "video")
    assert lv.events_received() == [Connected()]
    assert lv.state is State.LIVE


def test_video_off_publisher_connects_on_heartbeat():
    lv = make(video=False)
    lv.heartbeat_received(0.3, video=False)
    assert lv.events_received() == [Connected()]


def test_stall_is_noticed_after_stall_timeout_and_renegotiates():
    lv = make()
    frames(lv, 0.1, 5.0)
    assert lv.events_received() == [Connected()]
    assert lv.get_timer() == pytest.approx(5.0 - 1 / 30 + 2.0, abs=0.05)
    lv.handle_timer(6.9)
    assert lv.events_received() == []
    lv.handle_timer(7.0)
    assert lv.events_received() == [Disconnected("media_stalled"), Renegotiate("media_stalled")]
    assert lv.state is State.STALLED


def test_renegotiation_repeats_per_schedule_until_frames_flow():
    lv = make()
    frames(lv, 0.1, 1.0)
    lv.events_received()
    lv.handle_timer(3.0)
    assert lv.events_received() == [Disconnected("media_stalled"), Renegotiate("media_stalled")]
    lv.negotiation_started(3.0)
    assert lv.get_timer() == 6.0
    lv.handle_timer(6.0)
    assert lv.events_received() == [Renegotiate("no_media")]
    assert lv.get_timer() == 11.0
    lv.handle_timer(11.0)
    assert lv.events_received() == [Renegotiate("no_media")]
    lv.negotiation_started(11.0)
    lv.heartbeat_received(11.2, video=True)  # the new PC is up, video not yet decoded
    assert lv.events_received() == []
    lv.frame_received(11.3, "video")
    assert lv.events_received() == [Reconnected()]
    assert lv.get_timer() == pytest.approx(13.3)


def test_video_turned_off_is_not_a_stall():
    lv = make()
    frames(lv, 0.1, 2.0)
    lv.heartbeat_received(2.0, video=False)
    assert lv.events_received() == [Connected(), VideoDisabled(VIDEO_OFF_BY_PUBLISHER)]
    # Only heartbeats (every 0.5 s) for a minute: still live, nothing happens.
    t = 2.5
    while t < 62:
        run_timer(lv, t)
        lv.heartbeat_received(t, video=False)
        t += 0.5
    assert lv.events_received() == []
    assert lv.state is State.LIVE
    lv.heartbeat_received(62.0, video=True)
    assert lv.events_received() == [VideoEnabled(VIDEO_OFF_BY_PUBLISHER)]
    frames(lv, 62.5, 64)  # first frame may take a keyframe's time, within the stall timeout
    assert lv.events_received() == []


def test_heartbeats_without_video_while_video_is_on_is_a_stall():
    lv = make()
    frames(lv, 0.1, 1.0)
    lv.events_received()
    t = 1.0
    while t < 4:
        run_timer(lv, t)
        lv.heartbeat_received(t, video=True)
        t += 0.5
    assert lv.events_received() == [Disconnected("media_stalled"), Renegotiate("media_stalled")]


def test_audio_keeps_a_video_off_stream_alive():
    lv = make(video=False)
    frames(lv, 0.0, 10.0, step=0.02, kind="audio")
    assert lv.events_received() == [Connected()]


def test_no_media_on_first_pc_renegotiates_without_disconnected():
    lv = make()
    lv.handle_timer(3.0)
    assert lv.events_received() == [Renegotiate("no_media")]
    lv.negotiation_started(3.0)
    lv.frame_received(3.4, "video")
    assert lv.events_received() == [Connected()]


def test_publisher_interruption_shows_disconnected_and_its_resume_renegotiates():
    lv = make()
    frames(lv, 0.1, 1.0)
    lv.events_received()
    lv.owner_interrupted_changed(1.0, True)
    assert lv.events_received() == [Disconnected("publisher_interrupted")]
    lv.handle_timer(3.0)  # media also stalls while it is away: no offers into the void
    assert lv.events_received() == []
    assert lv.state is State.STALLED and lv.get_timer() is None
    lv.owner_interrupted_changed(10.0, False)
    assert lv.events_received() == [Renegotiate("publisher_resumed")]
    lv.negotiation_started(10.0)
    lv.frame_received(10.3, "video")
    assert lv.events_received() == [Reconnected()]


def test_publisher_interrupted_while_media_keeps_flowing():
    lv = make()
    frames(lv, 0.1, 1.0)
    lv.events_received()
    lv.owner_interrupted_changed(1.0, True)
    frames(lv, 1.0, 5.0)
    lv.owner_interrupted_changed(5.0, False)
    # The PC never stopped: no renegotiation, reconnected at once.
    assert lv.events_received() == [Disconnected("publisher_interrupted"), Reconnected()]


def test_session_resume_renegotiates_only_a_stalled_stream():
    lv = make()
    frames(lv, 0.1, 1.0)
    lv.session_resumed(1.0)
    assert lv.events_received() == [Connected()]
    lv.handle_timer(3.0)
    lv.events_received()
    lv.session_resumed(4.0)  # skips the wait for the next attempt
    assert lv.events_received() == [Renegotiate("session_resumed")]


def test_subscriber_can_turn_video_off_locally():
    lv = make()
    frames(lv, 0.1, 0.5)
    lv.set_subscribe_to_video(False)
    lv.heartbeat_received(0.6, video=False)
    lv.heartbeat_received(0.7, video=True)
    lv.set_subscribe_to_video(True)
    assert lv.events_received() == [
        Connected(),
        VideoDisabled(VIDEO_OFF_BY_SUBSCRIBER),
        VideoEnabled(VIDEO_OFF_BY_SUBSCRIBER),
    ]


def test_flapping_link_every_second_gives_paired_events():
    lv = make()
    frames(lv, 0.0, 1.0)
    events = lv.events_received()
    t = 1.0
    for _ in range(30):
        t += 3.0  # 3 s without media: stalled
        run_timer(lv, t)
        lv.negotiation_started(t)
        t = frames(lv, t + 0.2, t + 1.2)
        events += lv.events_received()
    kinds = [type(e).__name__ for e in events if not isinstance(e, Renegotiate)]
    assert kinds == ["Connected"] + ["Disconnected", "Reconnected"] * 30


def test_closed_ignores_everything_and_refuses_transitions():
    lv = make()
    lv.close()
    lv.frame_received(1.0, "video")
    lv.owner_interrupted_changed(1.0, True)
    assert lv.events_received() == [] and lv.get_timer() is None
    with pytest.raises(IllegalTransition):
        lv._set_state(State.LIVE)
    assert lv.state is State.CLOSED


def test_server_stream_update_counts_only_when_no_heartbeats_flow():
    lv = make()
    lv.stream_updated(0.1, has_video=False)  # before any heartbeat: the server is all we know
    assert lv.events_received() == [VideoDisabled(VIDEO_OFF_BY_PUBLISHER)]
    lv.heartbeat_received(0.5, video=True)
    assert lv.events_received() == [VideoEnabled(VIDEO_OFF_BY_PUBLISHER)]
    lv.frame_received(0.6, "video")
    lv.heartbeat_received(1.0, video=False)
    # The server's notice of the same change arrives late, then an outdated "on": ignored.
    lv.stream_updated(1.1, has_video=False)
    lv.stream_updated(1.2, has_video=True)
    assert lv.events_received() == [Connected(), VideoDisabled(VIDEO_OFF_BY_PUBLISHER)]
