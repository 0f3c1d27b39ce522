"""Frames become QImages off the UI thread; the newest frame per stream wins."""

import threading
from concurrent.futures import Executor, Future

import av
from PySide6.QtGui import QColor, QImage

from app.ui.frames import FrameConverter, frame_to_qimage


def test_av_frame_to_qimage():
    rgb = av.VideoFrame(64, 48, "rgb24")
    line = rgb.planes[0].line_size
    rgb.planes[0].update(bytes([200, 30, 40] * 64 + [0] * (line - 192)) * 48)
    yuv = rgb.reformat(format="yuv420p")
    out = frame_to_qimage(yuv)
    assert (out.width(), out.height()) == (64, 48)
    colour = out.pixelColor(10, 10)
    assert abs(colour.red() - 200) < 12 and abs(colour.green() - 30) < 12
    assert frame_to_qimage(rgb).pixelColor(1, 1) == QColor(200, 30, 40)


class ManualExecutor(Executor):
    """Runs submitted work when the test says so, on a real other thread."""

    def __init__(self):
        self.jobs = []

    def submit(self, fn, *args):
        self.jobs.append((fn, args))
        return Future()

    def run_next(self):
        fn, args = self.jobs.pop(0)
        worker = threading.Thread(target=fn, args=args)
        worker.start()
        worker.join()


def qimage(color):
    image = QImage(4, 4, QImage.Format.Format_RGB888)
    image.fill(QColor(color))
    return image


def test_newest_frame_wins_and_lands_on_ui_thread(qtbot):
    executor = ManualExecutor()
    converter = FrameConverter(executor=executor)
    got = []
    ui_thread = threading.get_ident()
    converter.frame_ready.connect(
        lambda key, img: got.append((key, img.pixelColor(0, 0).name(), threading.get_ident()))
    )
    converter.submit("s1", qimage("#ff0000"))
    converter.submit("s1", qimage("#00ff00"))  # waits
    converter.submit("s1", qimage("#0000ff"))  # replaces the waiting one
    converter.submit("s2", qimage("#ffffff"))
    assert len(executor.jobs) == 2  # one in flight per stream
    executor.run_next()
    executor.run_next()
    qtbot.waitUntil(lambda: len(got) == 3, timeout=1000)
    assert [g[:2] for g in got] == [("s1", "#ff0000"), ("s1", "#0000ff"), ("s2", "#ffffff")]
    assert all(g[2] == ui_thread for g in got)
    assert converter.dropped == 1
