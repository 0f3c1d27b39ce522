"""The frozen desktop app: its self-test, run from a copy unpacked somewhere else."""

from __future__ import annotations

import json
import shutil
import signal
from pathlib import Path

import pytest

from tests.packaging.frozen import Frozen


@pytest.fixture
def moved(frozen: Frozen, tmp_path: Path) -> Frozen:
    """The bundle copied to a path with a space in it: resources must not be looked up by
    the build path."""
    target = tmp_path / "unpacked here" / "tether"
    shutil.copytree(frozen.bundle, target, symlinks=True)
    return Frozen(target / "tether", frozen.home)


@pytest.mark.timeout(300)
def test_self_test_passes_offscreen_and_exits_cleanly(moved: Frozen) -> None:
    result = moved.run("--self-test", timeout=240)
    # A negative status is a signal (SIGABRT at exit is -6): never acceptable.
    assert result.returncode >= 0, f"killed by {signal.Signals(-result.returncode).name}"
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert lines, f"no report on stdout; stderr: {result.stderr[-3000:]}"
    report = json.loads(lines[-1])
    assert result.returncode == 0, json.dumps(report, indent=2) + result.stderr[-3000:]
    print(json.dumps(report, indent=2))

    # Whatever the app remembered went below the XDG directories, not into the bundle.
    assert {p.name for p in moved.home.iterdir()} <= {".config", ".local", ".cache", "runtime"}
    assert [p for p in moved.bundle.rglob("*") if p.suffix in {".conf", ".ini", ".log"}] == []
