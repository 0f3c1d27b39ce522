import asyncio

from app.media import barcode
from app.media.sources import AUDIO_RATE, TestPatternTrack, ToneTrack


async def test_pattern_counts_frames_and_stamps_capture_time():
    times = iter([100.0, 100.5, 101.0])
    track = TestPatternTrack(320, 240, 30, wall_clock=lambda: next(times))
    frames = [await track.recv() for _ in range(3)]
    stamps = [barcode.read(memoryview(f.planes[0]), 320, f.planes[0].line_size) for f in frames]
    assert [(s.counter, s.capture_ms) for s in stamps] == [(0, 100000), (1, 100500), (2, 101000)]
    assert [f.pts for f in frames] == [0, 3000, 6000]
    assert (frames[0].width, frames[0].height, frames[0].format.name) == (320, 240, "yuv420p")


async def test_pattern_moves():
    track = TestPatternTrack()
    a = bytes(track.render(0, 0.0).planes[0])
    b = bytes(track.render(1, 0.0).planes[0])
    band = barcode.band_height(640) * 640
    assert a[band:] != b[band:]


async def test_pattern_is_paced_at_its_frame_rate():
    loop = asyncio.get_running_loop()
    track = TestPatternTrack(320, 240, 50)
    await track.recv()
    start = loop.time()
    for _ in range(10):
        await track.recv()
    elapsed = loop.time() - start
    assert 0.17 < elapsed < 0.4


async def test_tone_frames_are_contiguous_20ms():
    track = ToneTrack()
    frames = [await track.recv() for _ in range(3)]
    assert [f.pts for f in frames] == [0, 960, 1920]
    assert all(f.sample_rate == AUDIO_RATE and f.samples == 960 for f in frames)
    assert any(bytes(frames[1].planes[0]))
