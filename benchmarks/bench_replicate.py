"""Time `regrowth replicate` (specs, tables, figures, notebooks) and `regrowth panel`.

Not a test: prints wall-clock seconds of each step, run as subprocesses from the project
root with the environment and data already in place (`make panel` first). The target of
issue 5 is under 60 s for replicate including notebooks on the 2-core reference machine.

    .venv/bin/python benchmarks/bench_replicate.py [--repeat 2] [--quick]

There is no peer to measure in the same run: each row is printed with its ratio to the
target of issue 19 (warm replicate with notebooks under 30 s). ``--quick`` (``make bench``)
times the warm replicate with notebooks once, and nothing else. The runs rewrite
``results/`` and the notebooks as ``make replicate`` does.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 30.0  # issue 19: warm `make replicate` with notebooks


def timed(args: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "regrowth", *args], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--quick", action="store_true",
                    help="the warm replicate with notebooks, once (make bench)")
    args = ap.parse_args()
    rows = [("regrowth panel", ["panel"], None),
            ("regrowth replicate --no-notebooks", ["replicate", "--no-notebooks"], None),
            ("regrowth replicate (with notebooks)", ["replicate"], TARGET_S)]
    if args.quick:
        rows, args.repeat = rows[-1:], 1
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    print(f"{'step':40s} {'median s':>9s} {'min s':>7s}  (n={args.repeat})")
    for label, cmd, target in rows:
        times = [timed(cmd) for _ in range(args.repeat)]
        ratio = (f"  ratio to the {target:.0f} s target: {statistics.median(times) / target:.2f}"
                 if target else "")
        print(f"{label:40s} {statistics.median(times):9.2f} {min(times):7.2f}{ratio}")


if __name__ == "__main__":
    main()
