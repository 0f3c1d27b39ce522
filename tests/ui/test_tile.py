"""VideoTile and TileGrid: overlays read back from the real widgets and their pixels."""

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QLabel

from app.ui.grid import TileGrid, grid_shape
from app.ui.state import SubscriberView, TileOverlay, tile_overlay
from app.ui.tile import VideoTile


def solid(color: str, w: int = 320, h: int = 180) -> QImage:
    image = QImage(w, h, QImage.Format.Format_RGB32)
    image.fill(QColor(color))
    return image


def make_tile(qtbot, overlay):
    tile = VideoTile(overlay)
    qtbot.addWidget(tile)
    tile.resize(320, 180)
    tile.show()
    return tile


def labels(tile):
    return {
        name: tile.findChild(QLabel, name)
        for name in ("tileName", "tileMicMuted", "tilePlaceholder", "tileOverlay")
    }


def test_name_and_mic_mark(qtbot):
    tile = make_tile(qtbot, TileOverlay(name="<i>Ada</i>"))
    parts = labels(tile)
    assert parts["tileName"].text() == "<i>Ada</i>"
    assert parts["tileName"].textFormat() == Qt.TextFormat.PlainText
    assert not parts["tileMicMuted"].isVisible()
    tile.set_overlay(TileOverlay(name="<i>Ada</i>", mic_muted=True))
    assert parts["tileMicMuted"].isVisible()
    assert parts["tileMicMuted"].accessibleName() == "Microphone muted"


def test_reconnecting_overlay_dims_the_last_frame_and_clears(qtbot, styled):
    view = SubscriberView(name="Grace Hopper")
    tile = make_tile(qtbot, tile_overlay(view))
    tile.set_frame(solid("#ffffff"))
    parts = labels(tile)
    centre = (160, 60)
    bright = tile.grab().toImage().pixelColor(*centre)
    assert bright.lightness() > 240

    tile.set_overlay(tile_overlay(SubscriberView(name="Grace Hopper", interrupted=True)))
    assert tile.property("reconnecting") is True
    assert parts["tileOverlay"].text() == "Grace Hopper is reconnecting…"
    assert tile.frame is not None  # the last frame is kept
    dimmed = tile.grab().toImage().pixelColor(*centre)
    assert dimmed.lightness() < 140
    assert tile.accessibleDescription() == "Grace Hopper is reconnecting…"

    tile.set_overlay(tile_overlay(view))
    assert tile.property("reconnecting") is False
    assert parts["tileOverlay"].text() == ""
    assert tile.grab().toImage().pixelColor(*centre) == bright


def test_camera_off_placeholder_with_initials(qtbot, styled):
    tile = make_tile(qtbot, TileOverlay(name="Grace Hopper"))
    tile.set_frame(solid("#ff0000"))
    parts = labels(tile)
    assert not parts["tilePlaceholder"].isVisible()
    assert tile.grab().toImage().pixelColor(20, 20) == QColor("#ff0000")

    tile.set_overlay(tile_overlay(SubscriberView(name="Grace Hopper", has_video=False)))
    assert parts["tilePlaceholder"].isVisible()
    assert parts["tilePlaceholder"].text() == "GH"
    assert tile.grab().toImage().pixelColor(20, 20) != QColor("#ff0000")  # frame not drawn


def test_grid_relays_tiles_as_they_come_and_go(qtbot):
    grid = TileGrid()
    qtbot.addWidget(grid)
    grid.resize(640, 480)
    grid.show()
    for key in ("self", "s1", "s2", "s3", "s4"):
        grid.add_tile(key, VideoTile(TileOverlay(name=key)))
    assert grid.keys() == ["self", "s1", "s2", "s3", "s4"]
    assert [grid.position(k) for k in grid.keys()] == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1)]

    gone = grid.remove_tile("s1")
    assert gone is not None and grid.tile("s1") is None
    assert [grid.position(k) for k in grid.keys()] == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert grid.remove_tile("nope") is None
    assert all(grid.tile(k).isVisible() for k in grid.keys())


def test_grid_shape():
    assert [grid_shape(n) for n in range(6)] == [(0, 0), (1, 1), (1, 2), (2, 2), (2, 2), (2, 3)]
