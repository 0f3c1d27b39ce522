"""Media through the real session server: real Sessions, real aiortc on 127.0.0.1.

The session's WebSocket can go through the fault proxy; the media path is black-holed
by dropping what a peer connection sends (:func:`app.media.faults.drop_outgoing`).
"""

from __future__ import annotations

import asyncio
import time

import pytest

from app.core.liveness import VIDEO_OFF_BY_PUBLISHER
from app.media.faults import drop_outgoing
from app.media.session_link import MediaSession
from app.media.sources import TestPatternTrack, ToneTrack
from tests.client.conftest import live  # noqa: F401  (fixture)
from tests.media.recording import Recorder, until

pytestmark = pytest.mark.timeout(90)


async def _pair(call, *, publisher_via=None, subscriber_via=None):
    a, ra = await call.join(via=publisher_via, name="a")
    b, rb = await call.join(via=subscriber_via, name="b")
    media_a, media_b = MediaSession(a), MediaSession(b)
    publisher = await media_a.publish(
        "cam", video=TestPatternTrack(320, 240, 30), audio=ToneTrack()
    )
    await rb.wait_for("on_stream_received")
    stream = b.streams[publisher.stream_id]
    rec = Recorder()
    sub = media_b.subscribe(stream, rec)
    await rec.frames(10)
    return (a, ra, media_a, publisher), (b, rb, media_b, sub, rec)


async def _close(*medias):
    for media in medias:
        await media.close()


async def test_two_clients_exchange_video_and_audio_and_toggle_video(live):  # noqa: F811
    call = await live()
    (a, _, media_a, publisher), (b, _, media_b, sub, rec) = await _pair(call)
    stamps = await rec.frames(30)
    assert [s.counter for s in stamps] == sorted({s.counter for s in stamps})
    await rec.wait_for(lambda: rec.audio >= 10)
    await media_a.set_video_enabled(publisher, False)
    await rec.wait_for(lambda: "on_video_disabled" in rec.names())
    await asyncio.sleep(3.0)  # the server's stream_updated arrives too: no second event
    await media_a.set_video_enabled(publisher, True)
    await rec.wait_for(lambda: "on_video_enabled" in rec.names())
    await rec.frames(5)
    assert [(n, d) for n, _, d in rec.history] == [
        ("on_connected", None),
        ("on_video_disabled", VIDEO_OFF_BY_PUBLISHER),
        ("on_video_enabled", VIDEO_OFF_BY_PUBLISHER),
    ]
    assert b.streams[publisher.stream_id].has_video
    await _close(media_b, media_a)


async def test_media_only_failure_recovers_through_the_server(live):  # noqa: F811
    call = await live()
    (a, _, media_a, publisher), (b, rb, media_b, sub, rec) = await _pair(call)
    drop_outgoing(publisher.peer_connections[0])
    await rec.wait_for(lambda: "on_reconnected" in rec.names())
    await rec.frames(10)
    assert rec.names() == ["on_connected", "on_disconnected", "on_reconnected"]
    assert all(s is sub for _, s, _ in rec.history)
    assert sub.renegotiations == ["subscribe", "media_stalled"]
    assert rb.names("on_connection_interrupted") == []  # signalling never noticed
    await _close(media_b, media_a)


async def test_publisher_drops_off_the_network_and_resumes(live, capsys):  # noqa: F811
    call = await live(heartbeat_timeout=2.0)
    proxy = await call.proxy()
    (a, ra, media_a, publisher), (b, rb, media_b, sub, rec) = await _pair(call, publisher_via=proxy)
    stream_id = sub.stream_id
    proxy.black_hole()
    drop_outgoing(publisher.peer_connections[0])
    await rec.wait_for(lambda: "on_disconnected" in rec.names())
    await rb.wait_for("on_connection_interrupted")
    await asyncio.sleep(3.0)
    proxy.restore()
    await rb.wait_for("on_connection_resumed")
    resumed = time.time()
    await rec.wait_for(lambda: "on_reconnected" in rec.names(), timeout=10)
    first = next(t for s, t in rec.stamps if t > resumed)
    await rec.frames(10)
    assert rec.names() == ["on_connected", "on_disconnected", "on_reconnected"]
    assert all(s is sub for _, s, _ in rec.history) and sub.stream_id == stream_id
    assert sub.renegotiations[-1] == "publisher_resumed"
    with capsys.disabled():
        print(
            f"\n  publisher resume (seen by subscriber) -> first new frame: "
            f"{(first - resumed) * 1000:.0f} ms"
        )
    await _close(media_b, media_a)


async def test_subscriber_drops_off_the_network_and_its_resume_renegotiates(live):  # noqa: F811
    call = await live(heartbeat_timeout=2.0)
    proxy = await call.proxy()
    (a, ra, media_a, publisher), (b, rb, media_b, sub, rec) = await _pair(
        call, subscriber_via=proxy
    )
    proxy.black_hole()
    drop_outgoing(publisher.peer_connections[0])  # its whole network is gone
    await rec.wait_for(lambda: "on_disconnected" in rec.names())
    await rb.wait_for("on_reconnection_started")
    await asyncio.sleep(2.0)
    proxy.restore()
    await rb.wait_for("on_reconnected")
    await rec.wait_for(lambda: "on_reconnected" in rec.names(), timeout=10)
    await rec.frames(10)
    assert rec.names() == ["on_connected", "on_disconnected", "on_reconnected"]
    assert "session_resumed" in sub.renegotiations
    await _close(media_b, media_a)


async def test_stream_dropped_ends_the_subscriber(live):  # noqa: F811
    call = await live()
    (a, _, media_a, publisher), (b, rb, media_b, sub, rec) = await _pair(call)
    await media_a.unpublish(publisher)
    await rb.wait_for("on_stream_dropped")
    pc = sub.pc
    await until(lambda: sub.state.value == "closed" and pc.connectionState == "closed")
    assert media_b.engine.subscribers == {} and publisher.peer_connections == []
    await _close(media_b, media_a)
