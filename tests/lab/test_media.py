"""Media back after a real link cut: frames flow again, the stream dropped past the window.

Participants are ``tether bot --publish test-pattern --subscribe all``: each prints
``on_render_frame`` for the first frame of each subscriber and the first after each
``on_reconnected``.
"""

from __future__ import annotations

import pytest

from tests.lab.checks import session_story
from tests.lab.conftest import LabCall

pytestmark = pytest.mark.lab

MEDIA_ARGS = ["--publish", "test-pattern", "--subscribe", "all"]


PARTICIPANT = (("-m", "app", "bot"), MEDIA_ARGS)


def _media_call(make_lab, window: float) -> LabCall:
    from app.core.tokens import new_session_id

    lab = make_lab(clients=2)
    lab.start_server(window=window)
    program, args = PARTICIPANT
    call = LabCall(lab, new_session_id(), bot_args=args, program=program)
    a, b = call.join("c1"), call.join("c2")
    call.settle()
    for me, other in ((a, b), (b, a)):
        stream = me.wait_for("on_stream_received", 30, connection=other.connection_id)["stream"]
        me.wait_for("on_render_frame", 30, stream=stream)
    return call


def _stream_of(viewer, owner) -> str:
    return viewer.wait_for("on_stream_received", 5, connection=owner.connection_id)["stream"]


def _subscriber_story(bot, stream: str) -> list[str]:
    return [
        x["event"]
        for x in bot.lines
        if x.get("stream") == stream
        and x["event"] in ("on_disconnected", "on_reconnected", "on_render_frame")
        and (x.get("subscriber") or x["event"] == "on_render_frame")
    ]


def _frames(bot, stream: str, until: float) -> int:
    """Frames of ``stream`` decoded by ``bot`` as of its last stats line before ``until``."""
    counts = [
        x["streams"].get(stream, {}).get("frames", 0)
        for x in bot.lines
        if x["event"] == "stats" and x["time"] <= until
    ]
    return counts[-1] if counts else 0


@pytest.mark.timeout(150)
@pytest.mark.parametrize(
    ("seconds", "window"), [(1.0, 8.0), (5.0, 8.0), (20.0, 30.0)], ids=["1s", "5s", "20s"]
)
def test_media_comes_back_after_a_cut(make_lab, seconds, window):
    call = _media_call(make_lab, window=window)
    cut, other = call.bots
    mark_cut = cut.mark()
    _, up = call.lab.cut(cut.host, seconds)
    noticed = seconds >= 5  # 1 s passes inside TCP retransmission and the 3 s silence rule
    if noticed:
        cut.wait_for("on_reconnected", 30, after=mark_cut, subscriber=None)
    theirs, mine = _stream_of(cut, other), _stream_of(other, cut)
    for viewer, stream in ((other, mine), (cut, theirs)):
        # Media back: frames of the other's stream keep coming after the link returned.
        before = _frames(viewer, stream, up)
        viewer.wait_until(
            lambda lines, viewer=viewer, stream=stream, before=before: any(
                x["event"] == "stats"
                and x["time"] > up
                and x["streams"].get(stream, {}).get("frames", 0) >= before + 10
                for x in lines
            ),
            20,
            f"10 new frames of {stream}",
        )
        story = _subscriber_story(viewer, stream)
        again = ["on_render_frame", "on_disconnected", "on_reconnected", "on_render_frame"]
        if noticed:
            assert story == again, story
        else:
            assert story in (["on_render_frame"], again), story
    resumed = ["on_connected", "on_reconnection_started", "on_reconnected"]
    if noticed:
        assert session_story(cut) == resumed
    else:
        assert session_story(cut) in (["on_connected"], resumed)
    assert session_story(other) == ["on_connected"]
    assert set(call.leave_all().values()) == {0}


@pytest.mark.timeout(120)
def test_stream_dropped_with_a_reason_past_the_window(make_lab):
    window = 8.0
    call = _media_call(make_lab, window=window)
    cut, other = call.bots
    mine = _stream_of(other, cut)
    call.lab.link_down(cut.host)
    cut.wait_for("on_disconnected", window + 10)
    dropped = other.wait_for("on_stream_dropped", window + 15, stream=mine)
    assert dropped["reason"] == "network_disconnected"
    call.lab.link_up(cut.host)
