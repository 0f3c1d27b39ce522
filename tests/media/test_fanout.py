import asyncio
import threading
from fractions import Fraction

import av
import pytest
from aiortc.mediastreams import MediaStreamError

from app.media import barcode
from app.media.fanout import AudioFanout, VideoFanout
from app.media.sources import TestPatternTrack, ToneTrack


def _decode_all(packets):
    dec = av.CodecContext.create("libvpx", "r")
    stamps = []
    for packet in packets:
        for frame in dec.decode(av.Packet(bytes(packet))):
            plane = frame.planes[0]
            stamps.append(barcode.read(memoryview(plane), frame.width, plane.line_size))
    return stamps


async def test_one_encode_per_frame_for_three_tracks():
    fanout = VideoFanout(TestPatternTrack(320, 240, 60))
    fanout.start()
    tracks = [fanout.new_track() for _ in range(3)]
    received = [[await t.recv() for _ in range(20)] for t in tracks]
    await fanout.stop()
    # All three saw the very same packet objects, and the encoder ran once per packet.
    assert (
        [id(p) for p in received[0]] == [id(p) for p in received[1]] == [id(p) for p in received[2]]
    )
    # Every packet any track got or still holds came from exactly one encode.
    assert fanout.encodes >= 20
    assert all(t.delivered + len(t._items) == fanout.encodes for t in tracks)
    assert received[0][0].is_keyframe
    counters = [s.counter for s in _decode_all(received[1])]
    assert counters == list(range(counters[0], counters[0] + 20))


async def test_keyframe_request_makes_next_packet_a_keyframe():
    fanout = VideoFanout(TestPatternTrack(320, 240, 60))
    fanout.start()
    track = fanout.new_track()
    first = [await track.recv() for _ in range(5)]
    assert [p.is_keyframe for p in first] == [True, False, False, False, False]
    fanout.request_keyframe()
    # The request lands between frames: the next one or the one after is a keyframe.
    nxt = [await track.recv() for _ in range(2)]
    assert any(p.is_keyframe for p in nxt)
    await fanout.stop()


async def test_stopping_one_track_leaves_the_others_and_the_source():
    source = TestPatternTrack(320, 240, 60)
    fanout = VideoFanout(source)
    fanout.start()
    a, b = fanout.new_track(), fanout.new_track()
    await a.recv()
    a.stop()
    with pytest.raises(MediaStreamError):
        await a.recv()
    for _ in range(3):
        await b.recv()
    assert source.readyState == "live"
    assert fanout.tracks == (b,)
    await fanout.stop()
    assert source.readyState == "ended" and b.readyState == "ended"


async def test_no_encoding_without_tracks_or_while_disabled():
    fanout = VideoFanout(TestPatternTrack(320, 240, 100))
    fanout.start()
    await asyncio.sleep(0.1)
    assert fanout.encodes == 0
    track = fanout.new_track()
    await track.recv()
    fanout.set_enabled(False)
    await asyncio.sleep(0.05)
    before = fanout.encodes
    await asyncio.sleep(0.1)
    assert fanout.encodes == before
    fanout.set_enabled(True)
    # Drain what was queued before disabling; the first packet after enabling is a key.
    while True:
        packet = await track.recv()
        if fanout.encodes > before and packet.pts > 0 and packet.is_keyframe:
            break
    await fanout.stop()


async def test_stop_ends_the_encoder_thread():
    fanout = VideoFanout(TestPatternTrack(320, 240, 60))
    fanout.start()
    track = fanout.new_track()
    await track.recv()
    assert any(t.name.startswith("tether-vp8") for t in threading.enumerate())
    await fanout.stop()
    assert not any(t.name.startswith("tether-vp8") for t in threading.enumerate())


async def test_audio_fanout_encodes_opus_once_for_every_track():
    fanout = AudioFanout(ToneTrack())
    fanout.start()
    tracks = [fanout.new_track() for _ in range(3)]
    received = [[await t.recv() for _ in range(25)] for t in tracks]
    await fanout.stop()
    assert (
        [id(p) for p in received[0]] == [id(p) for p in received[1]] == [id(p) for p in received[2]]
    )
    assert all(isinstance(p, av.Packet) for p in received[0])
    assert all(t.delivered + len(t._items) == fanout.encodes for t in tracks)
    # 20 ms packets at 48 kHz, counted from the first one, in order.
    pts = [p.pts for p in received[0]]
    assert pts == list(range(0, 960 * 25, 960))
    assert all(p.time_base == Fraction(1, 48000) for p in received[0])
    # Real Opus: it decodes to 20 ms of 48 kHz audio a packet.
    dec = av.CodecContext.create("libopus", "r")
    frames = [f for p in received[0] for f in dec.decode(av.Packet(bytes(p)))]
    assert len(frames) == 25 and {f.samples for f in frames} == {960}
    assert not any(t.name.startswith("tether-opus") for t in threading.enumerate())
