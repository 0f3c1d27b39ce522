"""Real link cuts in the network lab: drop detection, recovery, and the queue flush.

    sudo python -m bench.lab.netfaults [--quick] [--pinned-neighbours] [--json PATH]

Needs root (network namespaces; see tests/lab/netlab.py).  A server and two ``tether bot``s
(c1 the probe, c2 a peer) in their own namespaces; c1's link is taken down at the switch.

- detection: link down -> ``on_reconnection_started`` on c1 (each cut at a random moment
  against the 1 s heartbeat, so the spread of the 3 s silence rule shows);
- recovery: link up -> ``on_reconnected``, for a link that returns 0.5 s after the client
  noticed (short outage) and one that was down 10 s (the retry loop in its steady pace);
- media: both publish a test pattern and subscribe (``tether bot --publish test-pattern``);
  5 s cuts of c1:
  link up -> ``on_reconnected`` and -> the first new frame on each side;
- queue flush: 1,000 signals queued on c1 during a cut -> all acknowledged on c1 and all
  received on c2, timed from link up and from ``on_reconnected``.

Times are wall-clock (``time.time()``) on one machine: the lab's action times and the bots'
callback times share the clock.  Baseline, in the same run: the short cycle through the session
core's loopback fault proxy (black hole, new connections lost too) with an in-process Session —
what the core's own tests see — so the figure is how a real link compares with it.  The rule
itself: heartbeat every 1 s, link lost after 3 s of silence.

A link taken down at the switch also takes the hosts' ARP entries with it, and after it
returns the kernel's own ARP retries (one a second) decide when packets flow; with
``--pinned-neighbours`` every host has permanent entries, so a cut loses packets only, as
an outage beyond the first hop does.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from typing import Any

from app.core.tokens import new_session_id
from bench.lab.common import summary, table, write_json
from tests.lab.checks import assert_exactly_once_in_order, received_data
from tests.lab.netlab import Lab, lab_available

SILENCE_RULE = 3.0  # the client's default: link lost after 3 s without a server frame


def _cycle(lab: Lab, probe: Any, hold: str) -> dict[str, float]:
    mark = probe.mark()
    time.sleep(random.uniform(0.3, 1.3))  # a random phase against the heartbeat
    down = lab.link_down("c1")
    started = probe.wait_for("on_reconnection_started", 15, after=mark, subscriber=None)
    if hold == "short":
        time.sleep(max(0.0, started["time"] + 0.5 - time.time()))
    else:
        time.sleep(max(0.0, down + 10.0 - time.time()))
    up = lab.link_up("c1")
    back = probe.wait_for("on_reconnected", 25, after=mark, subscriber=None)
    return {"detect": started["time"] - down, "recover": back["time"] - up, "down_for": up - down}


def _flush(lab: Lab, probe: Any, peer: Any, run: int, count: int = 1000) -> dict[str, float]:
    mark = probe.mark()
    lab.link_down("c1")
    probe.wait_for("on_reconnection_started", 15, after=mark, subscriber=None)
    items = [(f"q{run}:{n}", f"q{run}:{n}") for n in range(count)]
    probe.signals(items, type_=f"flush{run}")
    time.sleep(1.0)
    up = lab.link_up("c1")
    back = probe.wait_for("on_reconnected", 25, after=mark, subscriber=None)
    ids = {i for i, _ in items}
    acked = probe.wait_until(
        lambda lines: (
            [x for x in lines if x["event"] == "signal_result" and x["id"] in ids]
            if sum(1 for x in lines if x["event"] == "signal_result" and x["id"] in ids) >= count
            else None
        ),
        60,
        f"{count} results",
    )
    assert all(x["status"] == "sent" for x in acked), "a queued signal failed"
    got = peer.wait_count("on_signal_received", count, 60, type=f"flush{run}")
    assert_exactly_once_in_order(
        received_data(peer, probe, f"flush{run}"), [d for _, d in items], "flush -> peer"
    )
    last_ack = max(x["time"] for x in acked)
    last_rx = max(x["time"] for x in got)
    return {
        "reconnected_after_up": back["time"] - up,
        "all_acked_after_up": last_ack - up,
        "all_received_after_up": last_rx - up,
        "all_received_after_reconnected": last_rx - back["time"],
    }


class _Times:
    """Session callbacks recorded with ``time.time()``."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, float]] = []

    def on_reconnection_started(self) -> None:
        self.seen.append(("started", time.time()))

    def on_reconnected(self) -> None:
        self.seen.append(("reconnected", time.time()))

    async def wait(self, what: str, after: int, timeout: float = 25.0) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, when in self.seen[after:]:
                if name == what:
                    return when
            await asyncio.sleep(0.005)
        raise TimeoutError(f"{what} not seen")


async def _proxy_baseline(cycles: int) -> list[dict[str, float]]:
    """The same cycle through the loopback fault proxy (black hole, new SYNs lost too)."""
    from app.client.faultproxy import FaultProxy
    from app.client.session import Session
    from app.server.runner import TetherServer

    async with TetherServer(host="127.0.0.1", port=0, reconnection_window=30) as server:
        port = int(server.url.rsplit(":", 1)[1])
        async with FaultProxy("127.0.0.1", port) as proxy:
            times = _Times()
            sid = new_session_id()
            session = Session(proxy.url, server.make_token(sid), times, session_id=sid)
            await session.connect()
            out = []
            try:
                for _ in range(cycles):
                    mark = len(times.seen)
                    await asyncio.sleep(random.uniform(0.3, 1.3))
                    down = time.time()
                    proxy.black_hole(drop_new=True)
                    started = await times.wait("started", mark)
                    await asyncio.sleep(max(0.0, started + 0.5 - time.time()))
                    up = time.time()
                    proxy.restore()
                    back = await times.wait("reconnected", mark)
                    out.append({"detect": started - down, "recover": back - up})
            finally:
                await session.disconnect()
    return out


MEDIA_ARGS = ["--publish", "test-pattern", "--subscribe", "all"]
SIGNALLING_ARGS = ["--publish", "none", "--subscribe", "none"]


def _probe_and_peer(lab: Lab, pinned: bool, extra: list[str]) -> tuple[Any, Any]:
    """The server on ``srv``, the probe bot on c1 and its peer on c2, in one session."""
    if pinned:
        lab.pin_neighbours()
    lab.start_server(window=30, heartbeat_timeout=5)
    sid = new_session_id()
    probe = lab.start_bot("c1", session_id=sid, name="probe", extra=extra)
    peer = lab.start_bot("c2", session_id=sid, name="peer", extra=extra)
    return probe, peer


def _media_cycles(cycles: int, pinned: bool) -> list[dict[str, float]]:
    """5 s cuts with both sides publishing and subscribing: link up -> the first new frame."""
    with Lab(clients=2, max_lifetime=600) as lab:
        probe, peer = _probe_and_peer(lab, pinned, MEDIA_ARGS)
        for bot in (probe, peer):
            bot.wait_for("on_render_frame", 40)
        out = []
        for _ in range(cycles):
            marks = probe.mark(), peer.mark()
            time.sleep(random.uniform(0.5, 1.5))
            _, up = lab.cut("c1", 5.0)
            back = probe.wait_for("on_reconnected", 25, after=marks[0], subscriber=None)
            here = probe.wait_for("on_render_frame", 25, after=marks[0])
            there = peer.wait_for("on_render_frame", 25, after=marks[1])
            out.append(
                {
                    "reconnected": back["time"] - up,
                    "frame_at_cut_client": here["time"] - up,
                    "frame_at_peer": there["time"] - up,
                }
            )
            time.sleep(1.0)
        probe.disconnect()
        peer.disconnect()
    return out


def measure(quick: bool, pinned: bool = False) -> dict[str, Any]:
    short_n, long_n, flush_n = (4, 2, 1) if quick else (20, 8, 3)
    with Lab(clients=2, max_lifetime=900) as lab:
        # Signalling only: media has its own cycles below, and its requests would share
        # the probe's 1,000-request outbox with the queued signals.
        probe, peer = _probe_and_peer(lab, pinned, SIGNALLING_ARGS)
        probe.wait_for("on_connected", 30)
        peer.wait_for("on_connected", 30)
        peer.wait_count("on_connection_created", 1, 30)
        short = [_cycle(lab, probe, "short") for _ in range(short_n)]
        long = [_cycle(lab, probe, "long") for _ in range(long_n)]
        flush = [_flush(lab, probe, peer, r) for r in range(flush_n)]
        probe.disconnect()
        peer.disconnect()
        story = [x["event"] for x in probe.lines if x["event"].startswith("on_re")]
    baseline = asyncio.run(_proxy_baseline(short_n))
    media = _media_cycles(2 if quick else 10, pinned)
    cycles = short + long
    return {
        "pinned_neighbours": pinned,
        "silence_rule_s": SILENCE_RULE,
        "baseline_proxy_detection_s": summary([c["detect"] for c in baseline]),
        "baseline_proxy_recovery_s": summary([c["recover"] for c in baseline]),
        "baseline_cycles": baseline,
        "media_5s_cut": {k: summary([m[k] for m in media]) for k in media[0]},
        "media_cycles": media,
        "detection_s": summary([c["detect"] for c in cycles]),
        "recovery_short_outage_s": summary([c["recover"] for c in short]),
        "recovery_10s_outage_s": summary([c["recover"] for c in long]),
        "flush_1000": {k: summary([f[k] for f in flush]) for k in flush[0]},
        "cycles": cycles,
        "flush_runs": flush,
        "probe_resumes": story.count("on_reconnected"),
    }


def render(r: dict[str, Any]) -> str:
    rows = []
    for label, key in (
        ("link down -> on_reconnection_started", "detection_s"),
        ("link up -> on_reconnected (up 0.5 s after noticed)", "recovery_short_outage_s"),
        ("link up -> on_reconnected (down 10 s)", "recovery_10s_outage_s"),
        ("baseline: loopback proxy black hole -> started", "baseline_proxy_detection_s"),
        ("baseline: proxy restore (0.5 s after) -> reconnected", "baseline_proxy_recovery_s"),
    ):
        s = r[key]
        rows.append([label, s["n"], s["median"], s["p95"], s["min"], s["max"]])
    labels = {
        "reconnected": "media call, 5 s cut: link up -> on_reconnected",
        "frame_at_cut_client": "media call, 5 s cut: link up -> new frame (cut side)",
        "frame_at_peer": "media call, 5 s cut: link up -> new frame (peer side)",
    }
    for k, s in r["media_5s_cut"].items():
        rows.append([labels[k], s["n"], s["median"], s["p95"], s["min"], s["max"]])
    for k, s in r["flush_1000"].items():
        rows.append([f"flush 1000: {k.replace('_', ' ')}", s["n"], s["median"], s["p95"],
                     s["min"], s["max"]])  # fmt: skip
    return table(
        "Real link cuts in the lab (seconds)"
        + (", neighbours pinned" if r.get("pinned_neighbours") else ""),
        ["measure", "n", "median", "p95", "min", "max"],
        rows,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.lab.netfaults")
    parser.add_argument("--quick", action="store_true", help="a few cycles only")
    parser.add_argument("--json", default="bench/results/lab_netfaults.json")
    parser.add_argument(
        "--pinned-neighbours",
        action="store_true",
        help="permanent ARP entries: a cut loses packets only, as beyond the first hop",
    )
    args = parser.parse_args(argv)
    why = lab_available()
    if why:
        print(why, file=sys.stderr)
        return 2
    result = measure(args.quick, args.pinned_neighbours)
    print(render(result))
    path = write_json(args.json, {"benchmark": "netfaults", "quick": args.quick, **result})
    print(f"\nJSON: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
