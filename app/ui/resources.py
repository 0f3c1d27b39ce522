"""Find Tether's bundled resources (stylesheet, icons) in a checkout, a wheel or a frozen app.

Resources live in ``resources/`` next to the ``app`` package (a checkout), or in
``<prefix>/share/tether`` (a wheel installing them as data files).  A frozen build
(PyInstaller and friends set ``sys._MEIPASS`` / ``sys.frozen``) must ship that
directory as ``resources/`` beside the bundled package; ``TETHER_RESOURCES``
overrides both for packagers with another layout.
"""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path

from PySide6.QtGui import QIcon

_PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # the directory that holds app/


def _candidates() -> list[Path]:
    found = []
    if env := os.environ.get("TETHER_RESOURCES"):
        found.append(Path(env))
    if bundle := getattr(sys, "_MEIPASS", None):
        found.append(Path(bundle) / "resources")
    if getattr(sys, "frozen", False):
        found.append(Path(sys.executable).resolve().parent / "resources")
    found.append(_PACKAGE_ROOT / "resources")  # a checkout or an editable install
    found.append(Path(sys.prefix) / "share" / "tether")  # a wheel's data files
    return found


@functools.cache
def resource_dir() -> Path:
    for path in _candidates():
        if (path / "tether.qss").is_file():
            return path
    raise FileNotFoundError(
        "Tether's resources/ directory is missing; looked in "
        + ", ".join(str(p) for p in _candidates())
    )


def resource_path(*parts: str) -> Path:
    return resource_dir().joinpath(*parts)


def load_stylesheet() -> str:
    return resource_path("tether.qss").read_text(encoding="utf-8")


def icon(name: str) -> QIcon:
    """An icon from ``resources/icons/<name>.svg``."""
    return QIcon(str(resource_path("icons", f"{name}.svg")))
