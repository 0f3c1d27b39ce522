"""Two peers in one process, real aiortc over real UDP on 127.0.0.1, fake signalling."""

from __future__ import annotations

import asyncio
import threading

import pytest

from app.core.errors import ErrorCode
from app.core.liveness import VIDEO_OFF_BY_PUBLISHER
from app.core.media_signals import from_payload
from app.media.engine import MediaEngine
from app.media.faults import drop_outgoing
from app.media.publisher import Publisher
from app.media.signalling import LoopbackHub
from app.media.sources import TestPatternTrack, ToneTrack
from tests.media.recording import Recorder, until

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def hub():
    return LoopbackHub()


@pytest.fixture
async def call(hub):
    """Publisher engine "pub" serving stream "s1"; a factory for subscriber engines."""
    engines = []

    def engine(name):
        e = MediaEngine(hub.endpoint(name))
        engines.append(e)
        return e

    pub_engine = engine("pub")
    publisher = await pub_engine.publish(
        "s1", Publisher(video=TestPatternTrack(320, 240, 30), audio=ToneTrack())
    )
    yield publisher, engine
    for e in engines:
        await e.close()


async def test_decoded_frame_counter_increases_and_audio_flows(call):
    publisher, engine = call
    rec = Recorder()
    sub = engine("a").subscribe("s1", "pub", rec)
    stamps = await rec.frames(30)
    counters = [s.counter for s in stamps]
    assert counters == sorted(counters) and len(set(counters)) == 30
    assert counters[-1] - counters[0] < 40  # few or no frames lost on loopback
    await rec.wait_for(lambda: rec.audio >= 10)
    assert rec.names() == ["on_connected"]
    assert sub.stream_id == "s1" and sub.generation == 1


async def test_video_off_and_on_gives_disabled_then_enabled_without_disconnect(call):
    publisher, engine = call
    rec = Recorder()
    engine("a").subscribe("s1", "pub", rec)
    await rec.frames(5)
    publisher.set_video_enabled(False)
    await rec.wait_for(lambda: "on_video_disabled" in rec.names())
    await asyncio.sleep(3.0)  # longer than the stall timeout: video off is not a stall
    publisher.set_video_enabled(True)
    await rec.wait_for(lambda: "on_video_enabled" in rec.names())
    await rec.frames(5)
    assert [(n, d) for n, _, d in rec.history] == [
        ("on_connected", None),
        ("on_video_disabled", VIDEO_OFF_BY_PUBLISHER),
        ("on_video_enabled", VIDEO_OFF_BY_PUBLISHER),
    ]


async def test_three_subscribers_one_encode_per_frame(call):
    publisher, engine = call
    recs = [Recorder() for _ in range(3)]
    for i, rec in enumerate(recs):
        engine(f"s{i}").subscribe("s1", "pub", rec)
    for rec in recs:
        await rec.frames(20)
    assert len(publisher.peer_connections) == 3
    # Count over a window in which all three receive every frame.
    loop = asyncio.get_running_loop()
    before_enc = publisher.encodes
    before_audio = publisher.audio_fanout.encodes
    counts = [len(r.stamps) for r in recs]
    audio_counts = [r.audio for r in recs]
    started = loop.time()
    await asyncio.sleep(1.0)
    encoded = publisher.encodes - before_enc
    audio_encoded = publisher.audio_fanout.encodes - before_audio
    elapsed = loop.time() - started  # a loaded machine oversleeps: count against the real time
    received = [len(r.stamps) - c for r, c in zip(recs, counts, strict=True)]
    audio_received = [r.audio - c for r, c in zip(recs, audio_counts, strict=True)]
    # The source makes 30 frames a second; encoding per peer connection would be ~90.
    assert 10 <= encoded <= 30 * elapsed + 4
    assert all(abs(n - encoded) <= 3 for n in received)
    # Audio too: 50 Opus packets a second, once, however many listen (not ~150).
    assert 20 <= audio_encoded <= 50 * elapsed + 5
    assert all(abs(n - audio_encoded) <= 5 for n in audio_received)
    # The same frames reached everyone: counters seen by all three overlap.
    sets = [{s.counter for s, _ in r.stamps} for r in recs]
    assert len(sets[0] & sets[1] & sets[2]) >= 40


@pytest.mark.parametrize("failure", ["pc_closed", "black_hole"])
async def test_media_only_failure_recovers_with_the_same_subscriber(call, failure):
    publisher, engine = call
    rec = Recorder()
    sub = engine("a").subscribe("s1", "pub", rec)
    await rec.frames(10)
    loop = asyncio.get_running_loop()
    (pc,) = publisher.peer_connections
    cut = loop.time()
    if failure == "pc_closed":
        await pc.close()
    else:
        drop_outgoing(pc)
    await rec.wait_for(lambda: "on_disconnected" in rec.names())
    noticed = loop.time() - cut
    await rec.wait_for(lambda: "on_reconnected" in rec.names())
    stamps = await rec.frames(10)
    assert 1.5 < noticed < 3.0
    assert rec.names() == ["on_connected", "on_disconnected", "on_reconnected"]
    assert all(s is sub for _, s, _ in rec.history)
    assert sub.stream_id == "s1" and sub.generation == 2
    assert sub.renegotiations == ["subscribe", "media_stalled"]
    assert stamps[-1].counter > stamps[0].counter
    assert len(publisher.peer_connections) == 1 and publisher.peer_connections[0] is not pc
    # The closed PC stopped only its own proxy tracks; the sources and encoder go on.
    assert publisher.video_fanout.source.readyState == "live"
    assert len(publisher.video_fanout.tracks) == 1 and len(publisher.audio_fanout.tracks) == 1


async def test_signalling_and_media_down_then_session_resume(call, hub):
    publisher, engine = call
    rec = Recorder()
    sub_engine = engine("a")
    sub = sub_engine.subscribe("s1", "pub", rec)
    await rec.frames(5)
    hub.connected = False
    drop_outgoing(publisher.peer_connections[0])
    await rec.wait_for(lambda: "on_disconnected" in rec.names())
    await asyncio.sleep(1.0)  # the offer for generation 2 failed: not connected
    assert sub.generation == 2 and rec.names()[-1] == "on_disconnected"
    hub.connected = True
    sub_engine.session_resumed()  # renegotiates now, without waiting for the schedule
    await rec.wait_for(lambda: "on_reconnected" in rec.names(), timeout=10.0)
    assert sub.renegotiations == ["subscribe", "media_stalled", "session_resumed"]
    assert rec.names() == ["on_connected", "on_disconnected", "on_reconnected"]


async def test_stale_answer_is_ignored(call, hub):
    publisher, engine = call
    rec = Recorder()
    sub = engine("a").subscribe("s1", "pub", rec)
    await rec.frames(3)
    old_answer = next(p for frm, to, p in hub.sent if p["t"] == "media_answer")
    sub.handle(from_payload(old_answer))  # a duplicate of the answer already applied
    (pc,) = publisher.peer_connections
    await pc.close()
    await rec.wait_for(lambda: "on_reconnected" in rec.names())
    # Replaying generation 1's answer to the generation-2 subscriber changes nothing.
    hub.endpoints["a"]._deliver("pub", old_answer)
    await rec.frames(10)
    assert sub.generation == 2 and sub.pc.signalingState == "stable"


async def test_offer_for_unknown_stream_gives_on_error(call):
    _, engine = call
    rec = Recorder()
    engine("a").subscribe("nope", "pub", rec)
    await rec.wait_for(lambda: "on_error" in rec.names())
    assert rec.history[0][2] == ErrorCode.UNKNOWN_STREAM


async def test_clean_shutdown_closes_every_pc_and_thread(hub):
    pub_engine = MediaEngine(hub.endpoint("pub"))
    publisher = await pub_engine.publish(
        "s1", Publisher(video=TestPatternTrack(320, 240, 30), audio=ToneTrack())
    )
    engines = [MediaEngine(hub.endpoint(f"s{i}")) for i in range(2)]
    recs = [Recorder() for _ in engines]
    subs = [e.subscribe("s1", "pub", r) for e, r in zip(engines, recs, strict=True)]
    for rec in recs:
        await rec.frames(5)
    pcs = publisher.peer_connections + [s.pc for s in subs]
    for e in engines + [pub_engine]:
        await e.close()
    assert all(pc.connectionState == "closed" for pc in pcs)
    assert publisher.peer_connections == []
    assert publisher.video_fanout.source.readyState == "ended"
    await asyncio.get_running_loop().shutdown_default_executor()
    assert [t.name for t in threading.enumerate()] == [threading.main_thread().name]


async def test_publisher_interrupted_while_media_flows_needs_no_new_pc(call):
    """The server says the publisher's link dropped, but its media path is fine."""
    publisher, engine = call
    rec = Recorder()
    sub_engine = engine("a")
    sub = sub_engine.subscribe("s1", "pub", rec)
    await rec.frames(5)
    sub_engine.connection_interrupted("pub", True)
    await rec.frames(60)  # two seconds of frames while "interrupted"
    sub_engine.connection_interrupted("pub", False)
    assert rec.names() == ["on_connected", "on_disconnected", "on_reconnected"]
    assert sub.generation == 1


async def test_publisher_interrupted_with_dead_media_renegotiates_on_its_resume(call, hub):
    publisher, engine = call
    rec = Recorder()
    sub_engine = engine("a")
    sub = sub_engine.subscribe("s1", "pub", rec)
    await rec.frames(5)
    sub_engine.connection_interrupted("pub", True)
    drop_outgoing(publisher.peer_connections[0])
    await asyncio.sleep(4.0)  # stalled, but no offers while the publisher is away
    assert sub.generation == 1
    sub_engine.connection_interrupted("pub", False)
    await rec.wait_for(lambda: "on_reconnected" in rec.names(), timeout=10.0)
    assert rec.names() == ["on_connected", "on_disconnected", "on_reconnected"]
    assert sub.renegotiations == ["subscribe", "publisher_resumed"]


async def test_stream_dropped_closes_the_subscriber_and_the_publisher_pc(call):
    publisher, engine = call
    rec = Recorder()
    sub_engine = engine("a")
    sub = sub_engine.subscribe("s1", "pub", rec)
    await rec.frames(5)
    pc = sub.pc
    sub_engine.stream_dropped("s1")
    await until(lambda: pc.connectionState == "closed" and not publisher.peer_connections)
    assert sub_engine.subscribers == {}


async def test_stream_update_from_the_server_disables_video_once(call):
    publisher, engine = call
    rec = Recorder()
    sub_engine = engine("a")
    sub_engine.subscribe("s1", "pub", rec)
    await rec.frames(5)
    # The server's stream_updated and the publisher's heartbeat both say "video off".
    sub_engine.stream_updated("s1", has_video=False)
    publisher.set_video_enabled(False)
    await asyncio.sleep(1.0)
    assert rec.names() == ["on_connected", "on_video_disabled"]


async def test_audio_only_stream_is_live_on_audio_and_heartbeats(hub):
    pub_engine, sub_engine = MediaEngine(hub.endpoint("pub")), MediaEngine(hub.endpoint("a"))
    await pub_engine.publish("s1", Publisher(audio=ToneTrack()))
    rec = Recorder()
    sub = sub_engine.subscribe("s1", "pub", rec, has_video=False)
    await rec.wait_for(lambda: "on_connected" in rec.names())
    await asyncio.sleep(3.0)  # no video at all for longer than the stall timeout
    assert rec.names() == ["on_connected"] and rec.audio > 100
    assert sub.video_frames == 0 and sub.generation == 1
    await sub_engine.close()
    await pub_engine.close()


async def test_five_media_failures_in_a_row_leak_nothing(call):
    publisher, engine = call
    rec = Recorder()
    sub = engine("a").subscribe("s1", "pub", rec)
    await rec.frames(5)
    threads = _own_threads()
    for n in range(1, 6):
        drop_outgoing(publisher.peer_connections[0])
        await rec.wait_for(lambda n=n: rec.names().count("on_reconnected") == n)
        await rec.frames(5)
    assert rec.names() == ["on_connected"] + ["on_disconnected", "on_reconnected"] * 5
    assert sub.generation == 6 and len(publisher.peer_connections) == 1
    assert len(publisher.video_fanout.tracks) == 1
    await until(lambda: _own_threads() <= threads)  # old PCs' decoder threads have ended


def _own_threads():
    # The loop's default executor grows lazily (aiortc encodes Opus there): not a leak.
    return sum(not t.name.startswith("asyncio_") for t in threading.enumerate())
