"""A network fault lab: Linux network namespaces joined by veth links through a switch.

::

    with Lab(clients=3) as lab:                 # needs root
        server = lab.start_server(window=8)
        a = lab.start_bot("c1", name="a")
        b = lab.start_bot("c2", name="b")
        a.wait_for("on_connected")
        lab.link_down("c1")                     # c1's cable is pulled at the switch
        ...
        lab.link_up("c1")

Topology: one namespace per host (``srv`` at 10.77.0.1, ``c1`` … at 10.77.0.11 …), each with
an ``eth0`` whose peer is a port of a bridge in a switch namespace.  Every address, link and
route lives inside namespaces this lab created; the root namespace is never touched, so traffic
cannot leave the lab.

Faults:

- ``link_down(host)`` takes the host's switch port down: the host's ``eth0`` loses carrier
  and every packet to or from it is lost, the way a pulled cable or a vanished access point
  behaves.  ``side="host"`` takes the host's own ``eth0`` down instead (its routes go away, so
  local sends fail at once).
- ``partition(a, b)`` drops traffic between two hosts only (blackhole routes on both), the rest
  of the network stays up.
- ``kill_server()`` / ``restart_server()``.

Clean-up: namespaces are named ``tl<pid>x<n>-<host>``.  ``close()`` (also run by the context
manager, at interpreter exit and by the pytest fixture's finalizer) kills every process the lab
started, by its id, and deletes its namespaces, which removes their links.  ``sweep_stale()``
removes namespaces left by a lab whose process is gone (a crash, ``kill -9``); it runs when a
lab starts.

Every call that waits takes a timeout; a lab also refuses to outlive ``max_lifetime``.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import json
import logging
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from tests.lab.bot import BotProcess

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
SCRATCH = Path(tempfile.gettempdir()) / "lab-scratch"
SUBNET = "10.77.0"
SERVER_PORT = 8765
_PREFIX_RE = re.compile(r"^tl(\d+)x\d+-")
_counter = itertools.count(1)


class LabError(RuntimeError):
    """The lab could not do what was asked (a command failed, a wait timed out)."""


def lab_available() -> str | None:
    """None when a lab can run here; otherwise one line saying why not."""
    if sys.platform != "linux":
        return "the network lab needs Linux network namespaces"
    if os.geteuid() != 0:
        return "the network lab needs root (network namespaces, veth links): skipped"
    if shutil.which("ip") is None:
        return "the network lab needs iproute2's `ip` command"
    return None


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10)
    if check and proc.returncode != 0:
        raise LabError(f"ip {' '.join(args)}: {proc.stderr.strip() or proc.returncode}")
    return proc


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _namespaces() -> list[str]:
    out = _ip("netns", "list", check=False).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def _kill_namespace(ns: str) -> None:
    """Kill what still runs in one of our namespaces (by pid), then delete it."""
    pids = _ip("netns", "pids", ns, check=False).stdout.split()
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid), signal.SIGKILL)
    _ip("netns", "del", ns, check=False)


def sweep_stale() -> list[str]:
    """Delete lab namespaces whose creating process is gone; return their names."""
    removed = []
    for ns in _namespaces():
        m = _PREFIX_RE.match(ns)
        if m and not _alive(int(m.group(1))):
            _kill_namespace(ns)
            removed.append(ns)
    if removed:
        logger.warning("removed %d stale lab namespaces: %s", len(removed), removed)
    return removed


@dataclass
class Host:
    name: str
    ns: str
    addr: str
    port: str  # the switch-side end of its veth link


@dataclass
class ServerProcess:
    proc: subprocess.Popen[str]
    url: str
    args: list[str]
    output: list[str] = field(default_factory=list)


class Lab:
    def __init__(
        self,
        clients: int = 3,
        *,
        secret: str | None = None,
        max_lifetime: float = 900.0,
        log_dir: Path | None = None,
        python: str = sys.executable,
    ) -> None:
        if not 1 <= clients <= 200:
            raise ValueError("clients must be 1..200")
        self.prefix = f"tl{os.getpid()}x{next(_counter)}-"
        self.secret = secret or secrets.token_hex(16)
        self.python = python
        self.switch_ns = self.prefix + "sw"
        self.hosts: dict[str, Host] = {
            "srv": Host("srv", self.prefix + "srv", f"{SUBNET}.1", "p-srv")
        }
        for i in range(1, clients + 1):
            name = f"c{i}"
            self.hosts[name] = Host(name, self.prefix + name, f"{SUBNET}.{10 + i}", f"p-{name}")
        self._log_dir = log_dir  # made by start(): a Lab that never starts leaves nothing
        self.actions: list[tuple[float, str, str]] = []  # (wall time, action, target)
        self.server: ServerProcess | None = None
        self._procs: list[subprocess.Popen[Any]] = []
        self._bots: list[BotProcess] = []
        self._timers: list[threading.Timer] = []
        self._files: list[IO[Any]] = []
        self._created: list[str] = []
        self._closed = False
        self._closing = threading.Event()  # wakes a cut() that sleeps on a timer thread
        self._lock = threading.Lock()
        self._started_at = time.monotonic()
        self._max_lifetime = max_lifetime
        self._watchdog: threading.Timer | None = None

    # -- life cycle -------------------------------------------------------------------------

    def __enter__(self) -> Lab:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> Lab:
        why = lab_available()
        if why:
            raise LabError(why)
        sweep_stale()
        if self._log_dir is None:
            self._log_dir = Path(tempfile.mkdtemp(prefix=self.prefix, dir=_scratch()))
        atexit.register(self.close)
        self._watchdog = threading.Timer(self._max_lifetime, self._expire)
        self._watchdog.daemon = True
        self._watchdog.start()
        try:
            self._build()
        except BaseException:
            self.close()
            raise
        return self

    def _build(self) -> None:
        sw = self.switch_ns
        self._add_ns(sw)
        _ip("-n", sw, "link", "add", "name", "br0", "type", "bridge")
        _ip("-n", sw, "link", "set", "dev", "br0", "up")
        for host in self.hosts.values():
            self._add_ns(host.ns)
            _ip("-n", sw, "link", "add", "name", host.port, "type", "veth",
                "peer", "name", "eth0", "netns", host.ns)  # fmt: skip
            _ip("-n", sw, "link", "set", "dev", host.port, "master", "br0")
            _ip("-n", sw, "link", "set", "dev", host.port, "up")
            _ip("-n", host.ns, "addr", "add", f"{host.addr}/24", "dev", "eth0")
            _ip("-n", host.ns, "link", "set", "dev", "eth0", "up")
            _ip("-n", host.ns, "link", "set", "dev", "lo", "up")

    def _add_ns(self, ns: str) -> None:
        _ip("netns", "add", ns)
        self._created.append(ns)

    def _expire(self) -> None:
        logger.error("lab %s outlived %.0f s; tearing it down", self.prefix, self._max_lifetime)
        self.close()

    def close(self) -> None:
        """Stop every process, timer and namespace this lab made.  Safe to call twice."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._closing.set()
        for timer in self._timers:
            timer.cancel()
        if self._watchdog is not None:
            self._watchdog.cancel()
        for proc in self._procs:
            _stop(proc)
        for bot in self._bots:
            bot.join_readers(1.0)
        for ns in reversed(self._created):
            _kill_namespace(ns)
        for f in self._files:
            with contextlib.suppress(OSError):
                f.close()
        with contextlib.suppress(Exception):
            atexit.unregister(self.close)

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def log_dir(self) -> Path:
        """Where the server's and bots' stderr go (one file each)."""
        if self._log_dir is None:
            raise LabError("the lab has not started")
        return self._log_dir

    # -- faults -----------------------------------------------------------------------------

    def _record(self, action: str, target: str) -> float:
        now = time.time()
        self.actions.append((now, action, target))
        logger.info("lab %s %s %s", self.prefix, action, target)
        return now

    def link_down(self, host: str, *, side: str = "switch") -> float:
        """Take ``host``'s link down; return the wall-clock time it happened."""
        self._set_link(host, "down", side)
        return self._record("link_down", host)

    def link_up(self, host: str, *, side: str = "switch") -> float:
        self._set_link(host, "up", side)
        return self._record("link_up", host)

    def _set_link(self, host: str, state: str, side: str) -> None:
        h = self.hosts[host]
        if side == "switch":
            _ip("-n", self.switch_ns, "link", "set", "dev", h.port, state)
        elif side == "host":
            _ip("-n", h.ns, "link", "set", "dev", "eth0", state)
        else:
            raise ValueError("side is 'switch' or 'host'")

    def cut(self, host: str, seconds: float) -> tuple[float, float]:
        """Link down for ``seconds``, then up; returns (down time, up time)."""
        down = self.link_down(host)
        try:
            self._closing.wait(seconds)
        finally:
            up = self.link_up(host) if not self._closed else time.time()
        return down, up

    def pin_neighbours(self) -> None:
        """Give every host a permanent ARP entry for every other one.

        A link taken down at the switch then loses packets and nothing else: no neighbour
        entry goes stale or fails, so what comes back is the path, as after a loss
        beyond the first hop (the router's link was fine all along).  Without this, the
        kernel's own ARP retries decide when packets flow again after a link returns.
        """
        macs = {}
        for name, host in self.hosts.items():
            info = json.loads(_ip("-j", "-n", host.ns, "link", "show", "dev", "eth0").stdout)
            macs[name] = info[0]["address"]
        for name, host in self.hosts.items():
            for other, peer in self.hosts.items():
                if other != name:
                    _ip("-n", host.ns, "neigh", "replace", peer.addr, "lladdr", macs[other],
                        "dev", "eth0", "nud", "permanent")  # fmt: skip

    def partition(self, a: str, b: str) -> float:
        """Lose every packet between hosts ``a`` and ``b`` (others still reach both)."""
        for x, y in ((a, b), (b, a)):
            _ip("-n", self.hosts[x].ns, "route", "add", "blackhole", f"{self.hosts[y].addr}/32")
        return self._record("partition", f"{a}|{b}")

    def heal(self, a: str, b: str) -> float:
        for x, y in ((a, b), (b, a)):
            _ip("-n", self.hosts[x].ns, "route", "del", "blackhole", f"{self.hosts[y].addr}/32")
        return self._record("heal", f"{a}|{b}")

    def wait_action(self, action: str, target: str, timeout: float) -> float:
        """Wait until the lab did ``action`` on ``target`` (e.g. a timer's link_up)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for when, a, t in list(self.actions):
                if (a, t) == (action, target):
                    return when
            time.sleep(0.02)
        raise LabError(f"{action} {target} did not happen within {timeout} s")

    def at(self, delay: float, action: Any, *args: Any) -> threading.Timer:
        """Run ``action(*args)`` after ``delay`` seconds on a timer thread (cancelled by close)."""

        def run() -> None:
            try:
                action(*args)
            except LabError:
                if not self._closed:  # a fault planned for after the lab closed is moot
                    raise

        timer = threading.Timer(delay, run)
        timer.daemon = True
        self._timers.append(timer)
        timer.start()
        return timer

    # -- processes --------------------------------------------------------------------------

    def popen(self, host: str, argv: list[str], **kwargs: Any) -> subprocess.Popen[Any]:
        """Start ``argv`` inside ``host``'s namespace; the lab stops it on close."""
        if self._closed:
            raise LabError("the lab is closed")
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
        proc = subprocess.Popen(
            ["ip", "netns", "exec", self.hosts[host].ns, *argv],
            cwd=ROOT,
            env=env,
            start_new_session=True,
            **kwargs,
        )
        self._procs.append(proc)
        return proc

    def start_server(
        self, *, window: float = 8.0, heartbeat_timeout: float = 5.0, timeout: float = 20.0
    ) -> ServerProcess:
        srv = self.hosts["srv"]
        args = [
            self.python, "-m", "app", "server", "--host", srv.addr, "--port", str(SERVER_PORT),
            "--secret", self.secret, "--window", f"{window}s",
            "--heartbeat-timeout", f"{heartbeat_timeout}s",
        ]  # fmt: skip
        self.server = self._launch_server(args, timeout)
        return self.server

    def _launch_server(self, args: list[str], timeout: float) -> ServerProcess:
        log = self._open_log("server.stderr")
        proc = self.popen("srv", args, stdout=subprocess.PIPE, stderr=log, text=True)
        server = ServerProcess(proc, f"ws://{self.hosts['srv'].addr}:{SERVER_PORT}", args)
        ready = threading.Event()

        def read() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                server.output.append(line.rstrip("\n"))
                if "listening on" in line:
                    ready.set()

        threading.Thread(target=read, daemon=True).start()
        deadline = time.monotonic() + timeout
        while not ready.wait(0.05):
            if proc.poll() is not None or time.monotonic() > deadline:
                _stop(proc)
                raise LabError(
                    f"tether server did not start (exit {proc.returncode}); see {log.name}"
                )
        self._record("server_started", str(proc.pid))
        return server

    def kill_server(self, sig: int = signal.SIGKILL) -> float:
        assert self.server is not None, "no server"
        proc = self.server.proc
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, sig)
        proc.wait(timeout=10)
        return self._record("server_killed", str(proc.pid))

    def restart_server(self, timeout: float = 20.0) -> ServerProcess:
        assert self.server is not None, "no server"
        if self.server.proc.poll() is None:
            raise LabError("the server is still running")
        self.server = self._launch_server(self.server.args, timeout)
        return self.server

    def token(self, session_id: str, *, data: str = "", role: str = "publisher") -> str:
        from app.core.tokens import make_token

        return make_token(self.secret, session_id, now=time.time(), role=role, data=data)

    def start_bot(
        self,
        host: str,
        *,
        session_id: str,
        name: str | None = None,
        data: str | None = None,
        extra: list[str] | tuple[str, ...] = (),
        program: tuple[str, ...] = ("-m", "app", "bot"),
    ) -> BotProcess:
        """Start ``tether bot`` (or ``program``, a participant with the same command line and
        JSON lines) in ``host``, joining ``session_id`` on the lab's server."""
        assert self.server is not None, "start the server first"
        name = name or host
        token = self.token(session_id, data=name if data is None else data)
        argv = [
            self.python, *program, "--server", self.server.url, "--token", token,
            "--session", session_id, "--name", name, *extra,
        ]  # fmt: skip
        stderr = self._open_log(f"bot-{name}.stderr")
        proc = self.popen(
            host,
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            bufsize=1,
        )
        bot = BotProcess(name, host, proc, stderr_path=Path(stderr.name))
        self._bots.append(bot)
        return bot

    def _open_log(self, name: str) -> IO[Any]:
        path = self.log_dir / name
        n = 1
        while path.exists():
            n += 1
            path = self.log_dir / f"{name}.{n}"
        f = open(path, "w")  # noqa: SIM115 - closed by close()
        self._files.append(f)
        return f

    def describe(self) -> str:
        return json.dumps(
            {
                "prefix": self.prefix,
                "hosts": {h.name: h.addr for h in self.hosts.values()},
                "logs": str(self.log_dir),
            }
        )


def _scratch() -> Path:
    SCRATCH.mkdir(parents=True, exist_ok=True)
    return SCRATCH


def _stop(proc: subprocess.Popen[Any], grace: float = 2.0) -> None:
    """SIGTERM, then SIGKILL after ``grace``: by process id, the group it leads included."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
    if proc.stdin is not None:  # stdout ends by itself; its reader thread sees EOF
        with contextlib.suppress(OSError, ValueError):
            proc.stdin.close()
