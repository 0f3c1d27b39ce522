"""app/ui imports only what its layer may: core, client, media, PySide6, qasync, the stdlib.

The server is reached only through its public runner (for the local test call).
"""

import ast
import sys
from pathlib import Path

UI = Path(__file__).resolve().parents[2] / "app" / "ui"
ALLOWED_APP = ("app.core", "app.client", "app.ui", "app.media", "app.server.runner")
# av and aiortc for media only: decoded frames to mix / convert, and the switchable
# source track the publisher reads.
ALLOWED_THIRD_PARTY = {"PySide6", "qasync", "platformdirs", "msgspec", "av", "aiortc"}


def imports(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module


def test_ui_imports_stay_in_their_layer():
    bad = []
    for path in sorted(UI.glob("*.py")):
        for name in imports(path):
            top = name.split(".")[0]
            if top == "app":
                ok = name.startswith(ALLOWED_APP)
            else:
                ok = top in ALLOWED_THIRD_PARTY or top in sys.stdlib_module_names
            if not ok:
                bad.append(f"{path.name}: {name}")
    assert bad == []
