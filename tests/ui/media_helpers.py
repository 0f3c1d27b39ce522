"""Reading what a tile really shows: the test pattern's frame code from its pixels."""

from __future__ import annotations

import asyncio

from app.media import barcode
from app.ui.frames import stamp_of

__all__ = ["stamp_of", "grabbed_stamp", "until"]


def grabbed_stamp(tile) -> barcode.Stamp | None:
    """Read the code from the tile's on-screen pixels (the frame as painted, scaled)."""
    shot = tile.grab().toImage()
    rect = tile.frame_rect()
    if rect.isEmpty():
        return None
    return stamp_of(shot.copy(rect).scaled(tile.frame.width(), tile.frame.height()))


async def until(predicate, timeout=20.0, what="condition"):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)
