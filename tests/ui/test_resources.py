"""Resources are found in a checkout, beside a frozen bundle, or where TETHER_RESOURCES says."""

import sys

import pytest

from app.ui import resources


@pytest.fixture(autouse=True)
def fresh_cache():
    resources.resource_dir.cache_clear()
    yield
    resources.resource_dir.cache_clear()


def make_bundle(root):
    (root / "resources" / "icons").mkdir(parents=True)
    (root / "resources" / "tether.qss").write_text("/* bundled */")
    return root / "resources"


def test_checkout_has_stylesheet_icons_and_desktop_file():
    base = resources.resource_dir()
    assert 'StatusBanner[state="reconnecting"]' in resources.load_stylesheet()
    assert not resources.icon("tether").isNull()
    assert not resources.icon("mic-off").isNull()
    assert "Exec=tether %u" in (base / "tether.desktop").read_text()


def test_frozen_bundle_wins(tmp_path, monkeypatch):
    bundled = make_bundle(tmp_path)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    monkeypatch.delenv("TETHER_RESOURCES", raising=False)
    assert resources.resource_dir() == bundled
    assert resources.load_stylesheet() == "/* bundled */"


def test_environment_override(tmp_path, monkeypatch):
    bundled = make_bundle(tmp_path)
    monkeypatch.setenv("TETHER_RESOURCES", str(bundled))
    assert resources.resource_dir() == bundled


def test_missing_resources_say_where_they_looked(tmp_path, monkeypatch):
    monkeypatch.setattr(resources, "_candidates", lambda: [tmp_path / "nope"])
    with pytest.raises(FileNotFoundError, match="nope"):
        resources.resource_dir()
