"""``tether --self-test`` as a person (or the packaging job) runs it: a subprocess, JSON out."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("app.server.runner")
pytest.importorskip("app.client.session")

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(120)
def test_self_test_passes_and_reports_widget_states():
    env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}  # it sets its own
    proc = subprocess.run(
        [sys.executable, "-m", "app.ui.main", "--self-test"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=100,
    )
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert proc.returncode == 0, (report, proc.stderr)
    assert report["ok"] is True
    assert [c["name"] for c in report["checks"] if not c["ok"]] == []
    assert [state for _, state, _ in report["banner"]] == [
        "hidden",
        "reconnecting",
        "reconnected",
        "hidden",
    ]
    assert [text for _, text in report["bot_tile"]] == ["", "Bot is reconnecting…", ""]
    assert proc.stderr == ""  # no console noise
