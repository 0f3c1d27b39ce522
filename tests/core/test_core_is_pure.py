"""app/core stays sans-I/O: no event loop, sockets, clock, Qt or media imports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[2] / "app" / "core"
FORBIDDEN = {
    "asyncio",
    "socket",
    "time",
    "aiohttp",
    "PySide6",
    "qasync",
    "aiortc",
    "av",
    "selectors",
    "threading",
    "app.client",
    "app.server",
    "app.ui",
}


@pytest.mark.parametrize("path", sorted(CORE.glob("*.py")), ids=lambda p: p.name)
def test_core_module_imports_nothing_impure(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        else:
            continue
        for name in names:
            assert not any(name == f or name.startswith(f + ".") for f in FORBIDDEN), (
                f"{path.name} imports {name}"
            )


def test_client_does_not_import_qt():
    for path in (CORE.parent / "client").glob("*.py"):
        text = path.read_text()
        assert "PySide6" not in text and "qasync" not in text, path.name
