"""Time from starting the frozen ``tether`` to its Join dialog being on screen.

    python packaging/cold_start.py [--exe dist/tether/tether] [--runs 5] [--evict]
    python packaging/cold_start.py --runs 5 -- .venv/bin/tether   # the same from source

Each run starts the program on a private Xvfb server (the real xcb platform,
not offscreen), polls the X server until a top-level window titled like the
Join dialog is viewable, records the time since the process was spawned, then
kills the program (the measurement ends at the dialog; a clean exit is checked
by the self-test).  ``--evict`` drops the bundle's own files from the page
cache before every run (posix_fadvise DONTNEED, these files only), so each run
reads the bundle from disk like a first launch; shared system libraries stay
cached.  Needs Xvfb and xwininfo.  Prints one line per run and a JSON summary.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TITLE = "Join a call"  # JoinDialog's window title starts with this
_WINDOW = re.compile(r'^\s*(0x[0-9a-f]+) "([^"]*)"', re.MULTILINE)


def evict(bundle: Path) -> int:
    """Drop ``bundle``'s files from the page cache; returns how many files."""
    count = 0
    for path in bundle.rglob("*"):
        if path.is_file() and not path.is_symlink():
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)
            count += 1
    return count


def start_xvfb() -> tuple[subprocess.Popen[bytes], str]:
    """An Xvfb on a random high display number, away from the :0 and :99 other runs use.

    ``-noreset``: by default Xvfb resets when its last client leaves (each run
    and each poll), and a program that connects during the reset fails.
    """
    for _ in range(20):
        number = random.randrange(300, 900)
        read_fd, write_fd = os.pipe()
        xvfb = subprocess.Popen(
            ["Xvfb", f":{number}", "-displayfd", str(write_fd), "-screen", "0", "1280x800x24"]
            + ["-nolisten", "tcp", "-noreset"],
            pass_fds=(write_fd,),
            stderr=subprocess.DEVNULL,
        )
        os.close(write_fd)
        with os.fdopen(read_fd) as pipe:
            ready = pipe.readline().strip()
        if ready == str(number):
            return xvfb, f":{number}"
        xvfb.terminate()  # that display was taken
        xvfb.wait()
    raise SystemExit("cold_start: Xvfb did not start")


def _viewable_join_window(display: str) -> bool:
    tree = subprocess.run(
        ["xwininfo", "-display", display, "-root", "-children"],
        capture_output=True,
        text=True,
    ).stdout
    for window_id, name in _WINDOW.findall(tree):
        if name.startswith(TITLE):
            info = subprocess.run(
                ["xwininfo", "-display", display, "-id", window_id],
                capture_output=True,
                text=True,
            ).stdout
            if "Map State: IsViewable" in info:
                return True
    return False


def measure_once(command: list[str], display: str, home: Path, timeout: float) -> float:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_RUNTIME_DIR": str(home / "runtime"),
        "DISPLAY": display,
        "QT_QPA_PLATFORM": "xcb",
        "LANG": "C.UTF-8",
    }
    (home / "runtime").mkdir(parents=True, exist_ok=True, mode=0o700)
    start = time.perf_counter()
    proc = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        while time.perf_counter() - start < timeout:
            if _viewable_join_window(display):
                return time.perf_counter() - start
            if proc.poll() is not None:
                raise SystemExit(
                    f"cold_start: tether exited {proc.returncode} before the Join dialog:\n"
                    + (proc.stderr.read() if proc.stderr else "")[-3000:]
                )
        raise SystemExit(f"cold_start: no Join dialog within {timeout} s")
    finally:
        proc.kill()
        proc.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--exe", type=Path, default=Path("dist/tether/tether"))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--evict", action="store_true", help="drop the bundle from the page cache")
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("command", nargs="*", help="another command to time instead of --exe")
    args = parser.parse_args(argv)
    exe = args.exe.resolve()
    command = args.command or [str(exe)]
    xvfb, display = start_xvfb()
    times = []
    try:
        with tempfile.TemporaryDirectory(prefix="tether-cold-start-") as tmp:
            for run in range(args.runs):
                if args.evict and not args.command:
                    evict(exe.parent)
                seconds = measure_once(command, display, Path(tmp) / f"home{run}", args.timeout)
                times.append(seconds)
                print(f"run {run + 1}: {seconds * 1000:.0f} ms", file=sys.stderr)
    finally:
        xvfb.terminate()  # not kill: let it remove its socket and lock file
        xvfb.wait()
    sys.stderr.flush()
    print(
        json.dumps(
            {
                "what": "spawn to Join dialog viewable (Xvfb, xcb)",
                "command": command,
                "evicted_page_cache": args.evict,
                "runs_ms": [round(t * 1000) for t in times],
                "median_ms": round(statistics.median(times) * 1000),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
