"""Pytest fixtures for the network lab.  Without root every lab test skips with one line."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest

from app.core.tokens import new_session_id
from tests.lab.bot import BotProcess
from tests.lab.netlab import Lab, lab_available

WHY_NOT = lab_available()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if WHY_NOT is None:
        return
    skip = pytest.mark.skip(reason=WHY_NOT)
    for item in items:
        if item.get_closest_marker("lab") is not None:
            item.add_marker(skip)


@dataclass
class LabCall:
    """A lab with a server and one bot per client host, all in one session."""

    lab: Lab
    session_id: str
    # Extra `tether bot` options for all; signalling only unless a test asks for media.
    bot_args: list[str] = field(default_factory=lambda: ["--publish", "none"])
    program: tuple[str, ...] = ("-m", "app", "bot")
    bots: list[BotProcess] = field(default_factory=list)

    def join(self, host: str, name: str | None = None, *, wait: bool = True) -> BotProcess:
        bot = self.lab.start_bot(
            host,
            session_id=self.session_id,
            name=name or host,
            extra=self.bot_args,
            program=self.program,
        )
        self.bots.append(bot)
        if wait:
            bot.wait_for("on_connected", 30)
        return bot

    def settle(self, timeout: float = 30.0) -> None:
        """Wait until every bot has been told about every other one."""
        for bot in self.bots:
            bot.wait_count("on_connection_created", len(self.bots) - 1, timeout)

    def leave_all(self, timeout: float = 20.0) -> dict[str, int]:
        """Disconnect every bot still running; exit codes by bot name."""
        for bot in self.bots:
            if bot.proc.poll() is None:
                bot.disconnect()
        return {bot.name: bot.wait_exit(timeout) for bot in self.bots}


@pytest.fixture
def make_lab() -> Iterator[Callable[..., Lab]]:
    """``make_lab(clients=3)`` -> a started Lab; every one is torn down after the test."""
    labs: list[Lab] = []

    def make(clients: int = 3, **kwargs: object) -> Lab:
        lab = Lab(clients=clients, **kwargs)  # type: ignore[arg-type]
        labs.append(lab)
        return lab.start()

    try:
        yield make
    finally:
        for lab in labs:
            lab.close()


@pytest.fixture
def lab_call(make_lab: Callable[..., Lab]) -> Callable[..., LabCall]:
    """``lab_call(bots=3, window=8)`` -> a LabCall with bots on c1…cN, connected and settled."""

    def make(
        bots: int = 3, *, window: float = 8.0, heartbeat_timeout: float = 5.0, clients: int = 0
    ) -> LabCall:
        lab = make_lab(clients=max(bots, clients))
        lab.start_server(window=window, heartbeat_timeout=heartbeat_timeout)
        call = LabCall(lab, new_session_id())
        for i in range(1, bots + 1):
            call.join(f"c{i}", wait=False)
        for bot in call.bots:
            bot.wait_for("on_connected", 30)
        call.settle()
        return call

    return make
