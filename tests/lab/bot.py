"""Drive one ``tether bot`` process: JSON commands in, JSON callback lines out.

A reader thread parses every stdout line as it comes, so the bot never blocks on a full pipe
and a test can wait for a line with a timeout.  ``lines`` is the whole history, in order.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

DEFAULT_TIMEOUT = 30.0


class BotTimeout(AssertionError):
    pass


class BotProcess:
    def __init__(
        self,
        name: str,
        host: str,
        proc: subprocess.Popen[str],
        *,
        stderr_path: Path | None = None,
    ) -> None:
        self.name = name
        self.host = host
        self.proc = proc
        self.stderr_path = stderr_path
        self.lines: list[dict[str, Any]] = []
        self.garbage: list[str] = []  # stdout lines that were not JSON objects
        self._cond = threading.Condition()
        self._eof = False
        self._write_lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, name=f"bot-{name}", daemon=True)
        self._reader.start()

    # -- output -----------------------------------------------------------------------------

    def _read(self) -> None:
        assert self.proc.stdout is not None
        with contextlib.suppress(ValueError, OSError):
            for raw in self.proc.stdout:
                try:
                    line = json.loads(raw)
                    if not isinstance(line, dict):
                        raise ValueError
                except ValueError:
                    with self._cond:
                        self.garbage.append(raw)
                    continue
                with self._cond:
                    self.lines.append(line)
                    self._cond.notify_all()
        with self._cond:
            self._eof = True
            self._cond.notify_all()

    @property
    def ended(self) -> bool:
        """Its stdout is closed: the process is exiting or gone."""
        return self._eof

    def join_readers(self, timeout: float) -> None:
        self._reader.join(timeout)

    def wait_until(
        self,
        predicate: Callable[[list[dict[str, Any]]], Any],
        timeout: float = DEFAULT_TIMEOUT,
        what: str = "a condition",
    ) -> Any:
        """Block until ``predicate(lines)`` is truthy; return its value."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                value = predicate(self.lines)
                if value:
                    return value
                left = deadline - time.monotonic()
                if left <= 0 or self._eof:
                    raise BotTimeout(
                        f"bot {self.name}: {what} not seen "
                        f"({'exited' if self._eof else f'{timeout:.0f} s'}); "
                        f"events: {self.summary()}{self._stderr_tail()}"
                    )
                self._cond.wait(min(left, 0.5))

    def wait_for(
        self, event: str, timeout: float = DEFAULT_TIMEOUT, *, after: int = 0, **match: Any
    ) -> dict[str, Any]:
        """The first line from index ``after`` on with this event and these fields."""

        def find(lines: list[dict[str, Any]]) -> dict[str, Any] | None:
            for line in lines[after:]:
                if line.get("event") == event and all(line.get(k) == v for k, v in match.items()):
                    return line
            return None

        return self.wait_until(find, timeout, f"{event} {match or ''}".strip())

    def wait_count(
        self, event: str, count: int, timeout: float = DEFAULT_TIMEOUT, **match: Any
    ) -> list[dict[str, Any]]:
        def enough(lines: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
            found = [
                x
                for x in lines
                if x.get("event") == event and all(x.get(k) == v for k, v in match.items())
            ]
            return (found,) if len(found) >= count else None

        return self.wait_until(enough, timeout, f"{count} x {event} {match or ''}".strip())[0]

    def mark(self) -> int:
        """An index for ``wait_for(after=…)``: only lines from now on."""
        with self._cond:
            return len(self.lines)

    def events(self, *names: str) -> list[str]:
        with self._cond:
            return [x["event"] for x in self.lines if not names or x["event"] in names]

    def select(self, event: str, **match: Any) -> list[dict[str, Any]]:
        with self._cond:
            return [
                x
                for x in self.lines
                if x.get("event") == event and all(x.get(k) == v for k, v in match.items())
            ]

    def summary(self, limit: int = 40) -> str:
        names = [x.get("event", "?") for x in self.lines]
        compact: list[str] = []
        for n in names:
            if compact and compact[-1].split(" x")[0] == n:
                base, _, k = compact[-1].partition(" x")
                compact[-1] = f"{base} x{int(k or 1) + 1}"
            else:
                compact.append(n)
        return ", ".join(compact[-limit:])

    def _stderr_tail(self) -> str:
        if self.stderr_path is None:
            return ""
        with contextlib.suppress(OSError):
            tail = self.stderr_path.read_text()[-800:]
            if tail.strip():
                return f"\nstderr: {tail}"
        return ""

    @property
    def connection_id(self) -> str:
        return self.wait_for("on_connected")["connection"]

    # -- input ------------------------------------------------------------------------------

    def send(self, command: dict[str, Any]) -> None:
        self.send_many([command])

    def send_many(self, commands: Iterable[dict[str, Any]]) -> None:
        text = "".join(json.dumps(c) + "\n" for c in commands)
        assert self.proc.stdin is not None
        with self._write_lock:
            self.proc.stdin.write(text)
            self.proc.stdin.flush()

    def signal(
        self,
        cid: str,
        data: str,
        *,
        type_: str = "seq",
        to: str | None = None,
        retry_after_reconnect: bool = True,
    ) -> None:
        self.send(_signal(cid, data, type_, to, retry_after_reconnect))

    def signals(
        self,
        items: Iterable[tuple[str, str]],
        *,
        type_: str = "seq",
        to: str | None = None,
        retry_after_reconnect: bool = True,
    ) -> None:
        self.send_many(_signal(c, d, type_, to, retry_after_reconnect) for c, d in items)

    def disconnect(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.send({"cmd": "disconnect"})

    def wait_exit(self, timeout: float = DEFAULT_TIMEOUT) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise BotTimeout(
                f"bot {self.name} still running after {timeout:.0f} s; events: {self.summary()}"
            ) from None

    def stderr_text(self) -> str:
        if self.stderr_path is None:
            return ""
        return self.stderr_path.read_text()


def _signal(cid: str, data: str, type_: str, to: str | None, retry: bool) -> dict[str, Any]:
    return {
        "cmd": "signal",
        "id": cid,
        "type": type_,
        "data": data,
        "to": to,
        "retry_after_reconnect": retry,
    }
