"""The tile grid: self view first, then one tile per subscriber, re-laid as they come and go."""

from __future__ import annotations

import math

from PySide6.QtWidgets import QGridLayout, QWidget

from app.ui.tile import VideoTile


def grid_shape(count: int) -> tuple[int, int]:
    """(rows, columns) for ``count`` tiles: as square as possible, wider than tall."""
    if count <= 0:
        return (0, 0)
    cols = math.ceil(math.sqrt(count))
    rows = math.ceil(count / cols)
    return (rows, cols)


class TileGrid(QWidget):
    """Holds :class:`VideoTile` s by key (``"self"`` or a stream id), in arrival order."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("tileGrid")
        self.setAccessibleName("Participants' video")
        self._tiles: dict[str, VideoTile] = {}
        self._layout = QGridLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(6)

    def keys(self) -> list[str]:
        return list(self._tiles)

    def tile(self, key: str) -> VideoTile | None:
        return self._tiles.get(key)

    def __len__(self) -> int:
        return len(self._tiles)

    def add_tile(self, key: str, tile: VideoTile) -> None:
        """Add ``tile`` under ``key``; a tile already there is replaced."""
        if key in self._tiles:
            self.remove_tile(key)
        tile.setParent(self)
        self._tiles[key] = tile
        self._relayout()
        tile.show()

    def remove_tile(self, key: str) -> VideoTile | None:
        tile = self._tiles.pop(key, None)
        if tile is None:
            return None
        self._layout.removeWidget(tile)
        tile.hide()
        tile.setParent(None)
        tile.deleteLater()
        self._relayout()
        return tile

    def position(self, key: str) -> tuple[int, int]:
        """The (row, column) of ``key``'s tile in the layout."""
        index = self._layout.indexOf(self._tiles[key])
        row, col, _, _ = self._layout.getItemPosition(index)
        return (row, col)

    def _relayout(self) -> None:
        for tile in self._tiles.values():
            self._layout.removeWidget(tile)
        rows, cols = grid_shape(len(self._tiles))
        for i in range(self._layout.columnCount()):
            self._layout.setColumnStretch(i, 0)
        for i in range(self._layout.rowCount()):
            self._layout.setRowStretch(i, 0)
        for index, tile in enumerate(self._tiles.values()):
            self._layout.addWidget(tile, index // cols, index % cols)
        for i in range(cols):
            self._layout.setColumnStretch(i, 1)
        for i in range(rows):
            self._layout.setRowStretch(i, 1)
