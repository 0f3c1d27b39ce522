"""Run the lab by hand.

    python -m tests.lab demo [--clients 3] [--cut 5] [--window 8]
        a server and one bot per client host; c1's link goes down for --cut seconds while
        every bot sends signals; prints each bot's callbacks and a signal tally.
    python -m tests.lab sweep
        remove namespaces left by a lab whose process died.

Needs root.  Everything happens inside namespaces the lab creates and removes.
"""

from __future__ import annotations

import argparse
import sys
import time

from app.core.tokens import new_session_id
from tests.lab.checks import received_data, session_story
from tests.lab.netlab import Lab, lab_available, sweep_stale


def demo(args: argparse.Namespace) -> int:
    with Lab(clients=args.clients, max_lifetime=args.cut + 120) as lab:
        print(f"lab {lab.describe()}")
        lab.start_server(window=args.window)
        sid = new_session_id()
        bots = [lab.start_bot(f"c{i}", session_id=sid, name=f"bot{i}")
                for i in range(1, args.clients + 1)]  # fmt: skip
        for bot in bots:
            bot.wait_for("on_connected", 30)
        for bot in bots:
            bot.wait_count("on_connection_created", args.clients - 1, 30)
        down = lab.link_down("c1")
        for n in range(10):
            for i, bot in enumerate(bots, 1):
                bot.signal(f"{i}-{n}", f"{i}:{n}")
            time.sleep(args.cut / 10)
        up = lab.link_up("c1")
        time.sleep(min(args.window, 10) + 2)
        print(f"c1 link down {args.cut:.1f} s ({down:.3f} -> {up:.3f})")
        for bot in bots:
            print(f"\n{bot.name} ({bot.host}): {session_story(bot)}")
            for other in bots:
                got = received_data(bot, other)
                print(f"  from {other.name}: {len(got)} signals {got[:3]}…")
        for bot in bots:
            bot.disconnect()
        for bot in bots:
            code = bot.wait_exit(15)
            print(f"{bot.name} exit {code}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.lab")
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("demo", help="a short call with a link cut")
    d.add_argument("--clients", type=int, default=3)
    d.add_argument("--cut", type=float, default=5.0)
    d.add_argument("--window", type=float, default=8.0)
    sub.add_parser("sweep", help="remove stale lab namespaces")
    args = parser.parse_args(argv)
    why = lab_available()
    if why:
        print(why, file=sys.stderr)
        return 2
    if args.command == "sweep":
        print("\n".join(sweep_stale()) or "nothing stale")
        return 0
    return demo(args)


if __name__ == "__main__":
    sys.exit(main())
