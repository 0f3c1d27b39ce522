"""The lab itself: isolation, faults that really cut, and clean-up in every case."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from tests.lab import netlab
from tests.lab.netlab import Lab, LabError, sweep_stale

pytestmark = pytest.mark.lab

PROBE = """
import socket, sys
s = socket.socket()
s.settimeout(float(sys.argv[2]))
try:
    s.connect((sys.argv[1], int(sys.argv[3])))
    print("open")
except ConnectionRefusedError:
    print("reachable")  # a RST came back: the host is there, nothing listens on port 9
except OSError as e:
    print(type(e).__name__)
"""


def reach(lab: Lab, src: str, dst: str, timeout: float = 0.5, port: int = 9) -> str:
    """'reachable' if ``dst`` answers a TCP SYN from ``src`` (with a RST), else why not."""
    proc = lab.popen(
        src,
        [sys.executable, "-c", PROBE, lab.hosts[dst].addr, str(timeout), str(port)],
        stdout=subprocess.PIPE,
        text=True,
    )
    out, _ = proc.communicate(timeout=timeout + 10)
    return out.strip()


def namespaces(prefix: str) -> list[str]:
    return [ns for ns in netlab._namespaces() if ns.startswith(prefix)]


def test_hosts_reach_each_other_and_faults_cut_exactly_what_they_say(make_lab):
    lab = make_lab(clients=2)
    assert reach(lab, "c1", "srv") == "reachable"
    assert reach(lab, "c1", "c2") == "reachable"

    lab.link_down("c1")
    assert reach(lab, "c1", "srv") == "TimeoutError"  # lost, not refused: a black hole
    assert reach(lab, "c2", "srv") == "reachable"
    lab.link_up("c1")
    assert reach(lab, "c1", "srv", 2.0) == "reachable"

    lab.partition("c1", "srv")
    assert reach(lab, "c1", "srv") != "reachable"
    assert reach(lab, "c1", "c2") == "reachable"
    lab.heal("c1", "srv")
    assert reach(lab, "c1", "srv", 2.0) == "reachable"
    assert [a for _, a, _ in lab.actions] == ["link_down", "link_up", "partition", "heal"]


def test_the_root_namespace_is_left_alone(make_lab):
    before = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    routes = subprocess.run(["ip", "route"], capture_output=True, text=True).stdout
    lab = make_lab(clients=3)
    assert "10.77." not in subprocess.run(["ip", "route"], capture_output=True, text=True).stdout
    lab.close()
    assert subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout == before
    assert subprocess.run(["ip", "route"], capture_output=True, text=True).stdout == routes


def test_close_kills_processes_and_removes_namespaces(make_lab):
    lab = make_lab(clients=1)
    sleeper = lab.popen("c1", [sys.executable, "-c", "import time; time.sleep(600)"])
    # A process the lab did not track, started inside one of its namespaces, goes too.
    stray = subprocess.Popen(
        [
            "ip",
            "netns",
            "exec",
            lab.hosts["srv"].ns,
            sys.executable,
            "-c",
            "import time; time.sleep(600)",
        ],  # fmt: skip
        start_new_session=True,
    )
    time.sleep(0.3)
    lab.close()
    assert sleeper.poll() is not None
    assert stray.wait(5) is not None
    assert namespaces(lab.prefix) == []
    lab.close()  # twice is harmless


def test_an_exception_inside_the_with_block_still_cleans_up():
    prefix = None
    with pytest.raises(KeyboardInterrupt), Lab(clients=1) as lab:
        prefix = lab.prefix
        assert namespaces(prefix)
        raise KeyboardInterrupt
    assert prefix and namespaces(prefix) == []


def test_stale_namespaces_of_a_dead_run_are_swept():
    dead = 1
    while netlab._alive(dead) or dead == os.getpid():
        dead += 7919
    stale = f"tl{dead}x1-sw"
    subprocess.run(["ip", "netns", "add", stale], check=True)
    try:
        assert stale in sweep_stale()
        assert stale not in netlab._namespaces()
    finally:
        subprocess.run(["ip", "netns", "del", stale], capture_output=True)


def test_a_lab_that_outlives_its_bound_tears_itself_down():
    lab = Lab(clients=1, max_lifetime=1.0).start()
    try:
        sleeper = lab.popen("c1", [sys.executable, "-c", "import time; time.sleep(600)"])
        deadline = time.monotonic() + 10
        while not lab.closed and time.monotonic() < deadline:
            time.sleep(0.1)
        assert lab.closed and sleeper.poll() is not None
        assert namespaces(lab.prefix) == []
        with pytest.raises(LabError):
            lab.popen("c1", ["true"])
    finally:
        lab.close()


def test_server_kill_and_restart(make_lab):
    lab = make_lab(clients=1)
    first = lab.start_server()
    lab.kill_server(signal.SIGKILL)
    assert first.proc.returncode == -signal.SIGKILL
    second = lab.restart_server()
    assert second.proc.poll() is None and second.url == first.url
    assert reach(lab, "c1", "srv", port=netlab.SERVER_PORT) == "open"
