"""The media layer never imports Qt; the pure core modules never touch I/O or the clock."""

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _imports(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module


def test_media_imports_no_qt_and_no_other_layers():
    for path in (ROOT / "app" / "media").glob("*.py"):
        for name in _imports(path):
            top = name.split(".")[0]
            assert top not in {"PySide6", "qasync"}, (path, name)
            assert not name.startswith(("app.ui", "app.server")), (path, name)


def test_pure_media_core_modules():
    for module in ("liveness.py", "media_signals.py"):
        for name in _imports(ROOT / "app" / "core" / module):
            top = name.split(".")[0]
            assert top not in {"asyncio", "aiortc", "av", "socket", "time", "PySide6"}, name
