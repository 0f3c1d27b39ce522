"""``tether --self-test`` as a person (or the packaging job) runs it: a subprocess, JSON out."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

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
    # The bot's tile is overlaid during the bot's drop and, as its media stalls too,
    # may be during this client's own drop; each time it clears again.
    texts = [text for _, text in report["bot_tile"]]
    assert texts[0] == "" and texts[-2:] == ["Bot is reconnecting…", ""], texts
    on = "Bot is reconnecting…"
    assert texts in (["", on, ""], ["", on, "", on, ""]), texts
    # The bot's video was painted before, after this client's drop and after the bot's.
    frames = report["frames"]
    assert frames["before_drop"] < frames["after_drop"] < frames["after_bot_drop"], frames
    assert proc.stderr == ""  # no console noise
