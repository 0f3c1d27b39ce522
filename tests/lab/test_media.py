"""Media back after a real link cut: frames flow again, the stream dropped past the window.

Participants publish a test pattern and subscribe to every stream: ``tether bot --publish
test-pattern --subscribe all`` once the bot has media, until then ``tests.lab.media_bot`` (the
same JSON lines, over the same Session and MediaSession).  Each prints ``on_render_frame`` for
the first frame of each subscriber and the first after each ``on_reconnected``.
"""

from __future__ import annotations

import pytest

from tests.lab.checks import session_story
from tests.lab.conftest import LabCall

pytestmark = pytest.mark.lab

MEDIA_ARGS = ["--publish", "test-pattern", "--subscribe", "all"]


def _participant() -> tuple[tuple[str, ...], list[str]] | None:
    """``tether bot`` once it publishes; until then the lab's media bot (same JSON lines)."""
    from app.client.bot import build_parser

    options = {o for a in build_parser()._actions for o in a.option_strings}
    if "--publish" in options:
        return ("-m", "app", "bot"), MEDIA_ARGS
    try:
        import app.media.session_link  # noqa: F401
    except ImportError:
        return None
    return ("-m", "tests.lab.media_bot"), []


PARTICIPANT = _participant()
needs_media = pytest.mark.skipif(PARTICIPANT is None, reason="no media in this checkout")


def _media_call(make_lab, window: float) -> LabCall:
    from app.core.tokens import new_session_id

    lab = make_lab(clients=2)
    lab.start_server(window=window)
    assert PARTICIPANT is not None
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


@needs_media
@pytest.mark.timeout(120)
def test_media_comes_back_after_a_5s_cut(make_lab):
    call = _media_call(make_lab, window=8)
    cut, other = call.bots
    mark_cut, mark_other = cut.mark(), other.mark()
    call.lab.cut(cut.host, 5.0)
    cut.wait_for("on_reconnected", 30, after=mark_cut)
    theirs, mine = _stream_of(cut, other), _stream_of(other, cut)
    # Each side's subscriber notices the stall, comes back, and renders a new frame.
    for viewer, stream, mark in ((other, mine, mark_other), (cut, theirs, mark_cut)):
        viewer.wait_for("on_reconnected", 30, after=mark, stream=stream, subscriber=True)
        viewer.wait_for("on_render_frame", 30, after=mark, stream=stream)
        story = _subscriber_story(viewer, stream)
        assert story == [
            "on_render_frame",
            "on_disconnected",
            "on_reconnected",
            "on_render_frame",
        ], story
    assert session_story(cut) == ["on_connected", "on_reconnection_started", "on_reconnected"]
    assert set(call.leave_all().values()) == {0}


@needs_media
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
