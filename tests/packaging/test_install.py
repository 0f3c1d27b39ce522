"""install-desktop.sh puts the bundle, menu entry and icon under ~/.local, and takes them out."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from app import __version__
from tests.packaging.frozen import Frozen

SCRIPT = Path(__file__).resolve().parents[2] / "packaging" / "install-desktop.sh"


def _script(frozen: Frozen, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**frozen.env}
    env.pop("XDG_DATA_HOME")  # the default, ~/.local/share
    return subprocess.run(
        ["bash", str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_install_then_uninstall(frozen: Frozen) -> None:
    local = frozen.home / ".local"
    result = _script(frozen, "--bundle", str(frozen.bundle))
    assert result.returncode == 0, result.stderr

    program = local / "lib" / "tether" / "tether"
    desktop = local / "share" / "applications" / "tether.desktop"
    icon = local / "share" / "icons" / "hicolor" / "scalable" / "apps" / "tether.svg"
    link = local / "bin" / "tether"
    assert icon.read_text().lstrip().startswith("<")
    entry = desktop.read_text().splitlines()
    assert f'Exec="{program}" %u' in entry
    assert f"TryExec={program}" in entry
    assert "Icon=tether" in entry
    if shutil.which("desktop-file-validate"):
        check = subprocess.run(["desktop-file-validate", str(desktop)], capture_output=True)
        assert check.returncode == 0, check.stdout + check.stderr

    # The link in ~/.local/bin runs the installed copy, found through the symlink.
    version = subprocess.run([str(link), "--version"], capture_output=True, text=True)
    assert version.stdout.strip() == f"tether {__version__}"

    # Installing again replaces the copy in place.
    assert _script(frozen, "--bundle", str(frozen.bundle)).returncode == 0
    assert sorted(p.name for p in program.parent.parent.iterdir()) == ["tether"]

    result = _script(frozen, "--uninstall")
    assert result.returncode == 0, result.stderr
    for path in (program.parent, desktop, icon, link):
        assert not os.path.lexists(path), path
