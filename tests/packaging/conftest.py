"""Tests of the frozen bundle: they run only when ``TETHER_FROZEN`` names its executable.

    bash packaging/build.sh
    TETHER_FROZEN=dist/tether/tether python -m pytest tests/packaging

Without the variable every test here is skipped.  A relative path is taken
from the repository root.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.packaging.frozen import Frozen

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def frozen_exe() -> Path:
    value = os.environ.get("TETHER_FROZEN", "")
    if not value:
        pytest.skip(
            "no frozen bundle under test: run packaging/build.sh, then set "
            "TETHER_FROZEN=dist/tether/tether"
        )
    path = Path(value)
    if not path.is_absolute():
        path = ROOT / path
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(f"TETHER_FROZEN={value}: {path} is not an executable file")
    return path


@pytest.fixture
def frozen(frozen_exe: Path, tmp_path: Path) -> Frozen:
    """The frozen ``tether`` with its own HOME and XDG directories under ``tmp_path``."""
    return Frozen(frozen_exe, tmp_path / "home")
