from app.media.sources import TestPatternTrack
from app.media.stats import FrameMeter


async def test_meter_counts_fps_latency_and_gaps():
    track = TestPatternTrack(320, 240, 30)
    meter = FrameMeter()
    for n in [0, 1, 2, 5, 6]:  # 3 and 4 never arrive
        frame = track.render(n, 100.0 + n / 30)
        meter.frame_rendered(frame, 100.0 + n / 30 + 0.040)
    snap = meter.snapshot(100.0 + 6 / 30 + 0.05)
    assert (snap.frames, snap.fps, snap.skipped, snap.last_counter) == (5, 5.0, 2, 6)
    assert abs(snap.latency_ms - 40) <= 1
    assert meter.snapshot(110.0).fps == 0 and meter.snapshot(110.0).latency_ms is None
