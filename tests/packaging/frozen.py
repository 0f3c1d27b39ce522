"""Run the frozen ``tether`` as a person would: a child process with its own home directory."""

from __future__ import annotations

import os
import selectors
import subprocess
import time
from pathlib import Path


class Frozen:
    """The frozen executable plus an environment whose HOME and XDG dirs are private.

    Nothing a test runs can read or write the real ~/.config of the machine.
    """

    def __init__(self, exe: Path, home: Path) -> None:
        self.exe = exe
        self.bundle = exe.parent
        self.home = home
        self.config_home = home / ".config"
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(self.config_home),
            "XDG_DATA_HOME": str(home / ".local" / "share"),
            "XDG_STATE_HOME": str(home / ".local" / "state"),
            "XDG_CACHE_HOME": str(home / ".cache"),
            "XDG_RUNTIME_DIR": str(home / "runtime"),
            "QT_QPA_PLATFORM": "offscreen",
            "LANG": "C.UTF-8",
        }
        for path in (self.config_home, home / "runtime"):
            path.mkdir(parents=True, exist_ok=True)
        (home / "runtime").chmod(0o700)

    def run(
        self, *args: str, timeout: float = 60, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.exe), *args],
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def start(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [str(self.exe), *args],
            env={**self.env, **(env or {})},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
        )


def read_line_until(proc: subprocess.Popen[str], wanted, timeout: float) -> tuple[str, list[str]]:
    """Read ``proc``'s stdout until a line for which ``wanted(line)`` is true.

    Returns that line and every line before it; raises AssertionError with
    what was read (and stderr, if the process ended) when the deadline passes
    or stdout closes first.
    """
    assert proc.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        while (left := deadline - time.monotonic()) > 0:
            if not sel.select(left):
                continue
            line = proc.stdout.readline()
            if not line:
                break
            line = line.rstrip("\n")
            if wanted(line):
                return line, seen
            seen.append(line)
    stderr = ""
    if proc.poll() is not None and proc.stderr is not None:
        stderr = proc.stderr.read()
    raise AssertionError(
        f"no wanted line within {timeout} s; stdout so far: {seen!r}; "
        f"exit: {proc.poll()}; stderr: {stderr[-2000:]!r}"
    )


def stop(proc: subprocess.Popen[str], timeout: float = 10) -> None:
    """Kill ``proc`` if it is still running (test clean-up, not the behaviour under test)."""
    if proc.poll() is None:
        proc.kill()
        proc.wait(timeout)
