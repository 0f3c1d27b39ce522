"""A screenshot of the real window under Xvfb (xcb), kept as a CI artifact.

Saved to ``artifacts/ui/reconnecting-window.png`` (``TETHER_ARTIFACTS``
overrides the directory).  The picture is checked, not only written: the
banner's pixels have the reconnecting colour and the interrupted tile is dimmed.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtGui import QColor, QImage

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="needs xvfb-run"),
    pytest.mark.timeout(120),
]


def run_scene(out: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            "xvfb-run",
            "-a",
            "-s",
            "-screen 0 1280x800x24",
            sys.executable,
            "-m",
            "tests.ui.scene",
            str(out),
        ],
        cwd=ROOT,
        env={**os.environ, "QT_QPA_PLATFORM": "xcb"},
        capture_output=True,
        text=True,
        timeout=100,
    )


def test_reconnecting_window_screenshot():
    out_dir = Path(os.environ.get("TETHER_ARTIFACTS", ROOT / "artifacts")) / "ui"
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / "reconnecting-window.png"
    out.unlink(missing_ok=True)
    try:
        proc = run_scene(out)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"the scene hung; its stderr:\n{exc.stderr}")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["platform"] == "xcb"
    assert report["banner_text"] == "Connection lost — reconnecting…"
    assert report["tile_overlay_text"] == "Grace Hopper is reconnecting…"
    assert report["tile_frame_counter"] is not None  # a real decoded frame under the overlay

    image = QImage(str(out))
    assert (image.width(), image.height()) == (1280, 800)
    bx, by, bw, bh = report["banner"]
    assert image.pixelColor(bx + bw // 2, by + bh - 3) == QColor("#fff4ce")
    tx, ty, tw, th = report["tile"]
    # Dimmed by the overlay, the test pattern's picture is well under half lightness.
    assert image.pixelColor(tx + tw // 2, ty + th // 3).lightness() < 128
