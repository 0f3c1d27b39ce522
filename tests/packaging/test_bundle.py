"""What the frozen bundle holds: its version, resources, no unused Qt, no missing libraries."""

from __future__ import annotations

import platform
import re
import subprocess
import tarfile
from pathlib import Path

import pytest

from app import __version__
from tests.packaging.frozen import Frozen

# Qt libraries that PySide6 ships and Tether never loads (see packaging/tether.spec).
# Qml and Quick are not here: Qt's multimedia backend plugin (audio playback) links them.
UNUSED_QT = re.compile(
    r"libQt6(WebEngine|Quick3D|QuickWidgets|QuickControls|3D|Pdf|Designer|Charts|DataVisualization|Graphs|Multimedia"
    r"Widgets|Sql|Test|Bluetooth|Positioning|Location|Sensors|SerialPort|VirtualKeyboard|"
    r"RemoteObjects|Scxml|TextToSpeech|WebSockets|WebChannel|Help)"
)
# Libraries a desktop provides and this headless build machine may lack; their
# plugins (the Wayland platform, the GTK theme) load only where they exist.
SYSTEM_ONLY = re.compile(r"lib(wayland-\w+|gtk-3|gdk-3)\.so")


def _elf_files(root: Path) -> list[Path]:
    found = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            with path.open("rb") as handle:
                if handle.read(4) == b"\x7fELF":
                    found.append(path)
    return found


def test_version_is_the_source_version(frozen: Frozen) -> None:
    result = frozen.run("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"tether {__version__}"


def test_resources_are_bundled(frozen: Frozen) -> None:
    resources = frozen.bundle / "_internal" / "resources"
    for name in ("tether.qss", "tether.desktop", "icons/tether.svg"):
        assert (resources / name).is_file(), name


def test_unused_qt_is_left_out(frozen: Frozen) -> None:
    unused = sorted(p.name for p in _elf_files(frozen.bundle) if UNUSED_QT.match(p.name))
    assert unused == []


def test_every_bundled_library_resolves(frozen: Frozen) -> None:
    internal = frozen.bundle / "_internal"
    missing: dict[str, list[str]] = {}
    for path in _elf_files(frozen.bundle):
        out = subprocess.run(
            ["ldd", str(path)],
            env={"LD_LIBRARY_PATH": f"{internal}:{internal / 'PySide6' / 'Qt' / 'lib'}"},
            capture_output=True,
            text=True,
        ).stdout
        names = [
            line.split()[0]
            for line in out.splitlines()
            if "not found" in line and not SYSTEM_ONLY.search(line)
        ]
        if names:
            missing[str(path.relative_to(frozen.bundle))] = sorted(set(names))
    assert missing == {}


def test_tarball_holds_the_bundle(frozen: Frozen) -> None:
    tarball = frozen.bundle.parent / f"tether-{__version__}-linux-{platform.machine()}.tar.gz"
    if not tarball.is_file():
        pytest.skip(f"no {tarball.name} next to the bundle (packaging/build.sh makes it)")
    with tarfile.open(tarball) as tar:
        names = set(tar.getnames())
        executable = tar.getmember("tether/tether")
    assert executable.mode & 0o111
    for name in (
        "tether/install-desktop.sh",
        "tether/_internal/resources/tether.qss",
        "tether/_internal/resources/icons/tether.svg",
    ):
        assert name in names
    assert all(name == "tether" or name.startswith("tether/") for name in names)


def test_no_link_points_nowhere(frozen: Frozen) -> None:
    dangling = [p for p in frozen.bundle.rglob("*") if p.is_symlink() and not p.exists()]
    assert dangling == []
