import fractions

import av
import pytest

from app.media import barcode
from app.media.sources import TestPatternTrack


def test_round_trip_on_raw_luma():
    stamp = barcode.Stamp(counter=0xDEADBEEF, capture_ms=1_764_870_000_123)
    width = 640
    rows = barcode.render_band(stamp, width)
    luma = b"".join(line * barcode.BLOCK for line in rows)
    assert barcode.read(luma, width, width) == stamp


def test_black_picture_is_not_frame_zero():
    width = 640
    assert barcode.read(bytes([barcode.BLACK]) * width * 64, width, width) is None


def test_flipped_bit_is_rejected():
    stamp = barcode.Stamp(counter=7, capture_ms=1000)
    rows = barcode.render_band(stamp, 640)
    luma = bytearray(b"".join(line * barcode.BLOCK for line in rows))
    for y in range(16):  # flip the first block
        luma[y * 640 : y * 640 + 16] = bytes([255 - luma[y * 640]]) * 16
    assert barcode.read(bytes(luma), 640, 640) is None


def test_narrow_picture_is_refused():
    with pytest.raises(ValueError):
        barcode.band_height(100)


async def test_stamp_survives_vp8_at_low_bitrate():
    """Every decoded picture of a 300 kbit/s VP8 stream still reads back its own stamp."""
    track = TestPatternTrack(640, 480, 30)
    enc = av.CodecContext.create("libvpx", "w")
    enc.width, enc.height, enc.pix_fmt = 640, 480, "yuv420p"
    enc.bit_rate = 300_000
    enc.time_base = fractions.Fraction(1, 90000)
    enc.options = {"deadline": "realtime", "lag-in-frames": "0", "cpu-used": "-6"}
    dec = av.CodecContext.create("libvpx", "r")
    read = []
    for n in range(60):
        frame = track.render(n, 1_764_870_000.0 + n / 30)
        frame.pts = n * 3000
        frame.time_base = fractions.Fraction(1, 90000)
        for packet in enc.encode(frame):
            for out in dec.decode(packet):
                plane = out.planes[0]
                read.append(barcode.read(memoryview(plane), out.width, plane.line_size))
    assert [s.counter for s in read] == list(range(60))
    assert read[59].capture_ms == int((1_764_870_000.0 + 59 / 30) * 1000)
