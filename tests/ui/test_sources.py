"""Local sources: a device that is absent or stops is replaced by the synthetic one."""

import asyncio

import pytest
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from app.ui import sources as src
from app.ui.bridge import SessionBridge
from app.ui.media import CallMedia


class Ending(MediaStreamTrack):
    kind = "video"

    def __init__(self, frames):
        super().__init__()
        self.frames = list(frames)

    async def recv(self):
        if not self.frames:
            raise MediaStreamError
        return self.frames.pop(0)


async def test_switching_sources_keeps_one_steady_clock():
    seen = []
    pattern = src.open_source("video", src.TEST_PATTERN, (320, 240, 30))
    track = src.SwitchableTrack("video", pattern, fallback=lambda: None, tee=seen.append)
    first = await track.recv()
    track.set_source(src.open_source("video", src.TEST_PATTERN, (320, 240, 30)))
    assert pattern.readyState == "ended"  # the old one is stopped
    second = await track.recv()
    assert second.pts > first.pts and seen == [first, second]
    track.stop()


async def test_a_source_that_stops_is_replaced_and_reported_once():
    reports = []
    pattern = src.open_source("video", src.TEST_PATTERN, (320, 240, 30))
    ending = Ending([await pattern.recv()])
    track = src.SwitchableTrack(
        "video",
        ending,
        fallback=lambda: src.open_source("video", src.TEST_PATTERN, (320, 240, 30)),
        on_failure=reports.append,
    )
    await track.recv()
    await track.recv()  # from the fallback
    assert isinstance(track.source, type(pattern))
    assert reports == ["The video device stopped; using the synthetic one"]
    track.stop()
    pattern.stop()


async def test_an_absent_camera_is_said_once_and_the_test_pattern_stays(qapp, monkeypatch):
    def no_camera(**_):
        raise OSError("No such file or directory: '/dev/video0'")

    monkeypatch.setattr(src.sources, "open_camera", no_camera)
    media = CallMedia(SessionBridge())
    notes, devices = [], []
    media.notice.connect(notes.append)
    media.devices_changed.connect(lambda v, a: devices.append((v, a)))
    media.choose_video(src.CAMERA)
    media.choose_video(src.CAMERA)
    assert media.video_choice == src.TEST_PATTERN
    assert devices == [(src.TEST_PATTERN, src.TONE)] * 2
    assert len(notes) == 1 and notes[0].startswith("No camera (/dev/video0)")
    assert notes[0].endswith("Using the test pattern.")


def test_open_source_names_the_missing_device(monkeypatch):
    def no_mic():
        raise OSError("cannot open audio device default")

    monkeypatch.setattr(src.sources, "open_microphone", no_mic)
    with pytest.raises(src.DeviceUnavailable, match="No microphone"):
        asyncio.run(_open_mic())


async def _open_mic():
    return src.open_source("audio", src.MICROPHONE)
