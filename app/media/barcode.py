"""A frame counter and capture time drawn into a picture, readable after VP8 compression.

The code is a grid of 16x16 luma blocks (one VP8 macroblock each, so the encoder never
mixes two bits in one block) along the top of the picture: 32 bits of frame counter,
48 bits of capture time in milliseconds since the Unix epoch, and a CRC-8 over both.
A receiver averages the centre of each block and thresholds it; the CRC rejects a
picture that was decoded too damaged to trust.

Pure functions over luma bytes: no av, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass

BLOCK = 16
COUNTER_BITS = 32
TIME_BITS = 48
CRC_BITS = 8
PAYLOAD_BITS = COUNTER_BITS + TIME_BITS + CRC_BITS
BLACK = 16
WHITE = 235
_THRESHOLD = (BLACK + WHITE) // 2
# Makes an all-black (or all-white) picture fail the check instead of reading as frame 0.
_CRC_XOR = 0xA5


@dataclass(frozen=True)
class Stamp:
    counter: int
    capture_ms: int  # capture time, milliseconds since the Unix epoch

    @property
    def capture_time(self) -> float:
        return self.capture_ms / 1000.0


def crc8(data: bytes) -> int:
    """CRC-8 (polynomial 0x07, as in ATM HEC without the final XOR)."""
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def band_height(width: int) -> int:
    """Rows of pixels the code occupies at the top of a picture ``width`` wide."""
    cols = _columns(width)
    rows = -(-PAYLOAD_BITS // cols)
    return rows * BLOCK


def _columns(width: int) -> int:
    cols = width // BLOCK
    if cols < 8:
        raise ValueError(f"picture width {width} is too narrow for the frame code (min 128)")
    return cols


def _bits(stamp: Stamp) -> list[int]:
    counter = stamp.counter & 0xFFFFFFFF
    ms = stamp.capture_ms & ((1 << TIME_BITS) - 1)
    body = counter.to_bytes(4, "big") + ms.to_bytes(6, "big")
    value = int.from_bytes(body + bytes([crc8(body) ^ _CRC_XOR]), "big")
    return [(value >> (PAYLOAD_BITS - 1 - i)) & 1 for i in range(PAYLOAD_BITS)]


def render_band(stamp: Stamp, width: int) -> list[bytes]:
    """The code as luma rows: one ``width``-byte row per block row (repeat it BLOCK times)."""
    cols = _columns(width)
    bits = _bits(stamp)
    rows = []
    for start in range(0, PAYLOAD_BITS, cols):
        line = bytearray([BLACK]) * width
        for col, bit in enumerate(bits[start : start + cols]):
            if bit:
                x = col * BLOCK
                line[x : x + BLOCK] = bytes([WHITE]) * BLOCK
        rows.append(bytes(line))
    return rows


def read(luma: bytes | memoryview, width: int, stride: int) -> Stamp | None:
    """Decode the code from a luma plane, or ``None`` if it is missing or damaged."""
    cols = _columns(width)
    if len(luma) < band_height(width) * stride:
        return None
    value = 0
    for i in range(PAYLOAD_BITS):
        row, col = divmod(i, cols)
        # Sample the 4x4 centre of the block, away from edges the codec smears.
        y0 = row * BLOCK + BLOCK // 2 - 2
        x0 = col * BLOCK + BLOCK // 2 - 2
        total = 0
        for y in range(y0, y0 + 4):
            off = y * stride + x0
            total += sum(luma[off : off + 4])
        value = (value << 1) | (1 if total > _THRESHOLD * 16 else 0)
    raw = value.to_bytes(PAYLOAD_BITS // 8, "big")
    body, crc = raw[:10], raw[10]
    if crc8(body) ^ _CRC_XOR != crc:
        return None
    return Stamp(
        counter=int.from_bytes(body[:4], "big"), capture_ms=int.from_bytes(body[4:], "big")
    )
