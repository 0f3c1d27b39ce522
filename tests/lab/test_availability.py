"""Runs everywhere: without root the lab says why in one line instead of failing."""

from __future__ import annotations

import os

import pytest

from tests.lab.netlab import Lab, LabError, lab_available


def test_without_root_the_reason_is_one_line(monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    why = lab_available()
    assert why is not None and "root" in why and "\n" not in why
    with pytest.raises(LabError, match="root"):
        Lab(clients=1).start()
