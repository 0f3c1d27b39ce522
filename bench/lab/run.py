"""Run every lab benchmark: ``python -m bench.lab.run [--quick] [--out DIR]``.

Signals (loopback, no root needed) run first, then the real link cuts (root).  Each prints
its table and writes its JSON under ``--out`` (default bench/results).
"""

from __future__ import annotations

import argparse
import sys

from bench.lab import netfaults, signals
from tests.lab.netlab import lab_available


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.lab.run")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default="bench/results")
    args = parser.parse_args(argv)
    quick = ["--quick"] if args.quick else []
    rc = signals.main([*quick, "--json", f"{args.out}/lab_signals.json"])
    print()
    why = lab_available()
    if why:
        print(f"netfaults: {why}")
        return rc
    return rc or netfaults.main([*quick, "--json", f"{args.out}/lab_netfaults.json"])


if __name__ == "__main__":
    sys.exit(main())
