"""What Tether remembers between runs: the last server and display name.

Kept in ``~/.config/tether/settings.ini`` (XDG), beside the tools' ``config.toml``.
"""

from __future__ import annotations

from platformdirs import user_config_path
from PySide6.QtCore import QSettings

ORGANIZATION = "Tether"
APPLICATION = "Tether"


class Settings:
    def __init__(self, store: QSettings | None = None) -> None:
        self._store = store or QSettings(
            str(user_config_path("tether") / "settings.ini"), QSettings.Format.IniFormat
        )

    @property
    def last_server(self) -> str:
        return str(self._store.value("join/server", "") or "")

    @property
    def last_name(self) -> str:
        return str(self._store.value("join/name", "") or "")

    def remember(self, *, server: str, name: str) -> None:
        self._store.setValue("join/server", server)
        self._store.setValue("join/name", name)
        self._store.sync()
