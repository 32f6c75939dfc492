"""Time `regrowth replicate` (specs, tables, figures, notebooks) and `regrowth panel`.

Not a test: prints wall-clock seconds of each step, run as subprocesses from the project
root with the environment and data already in place (`make panel` first). The target of
issue 5 is under 60 s for replicate including notebooks on the 2-core reference machine.

    .venv/bin/python benchmarks/bench_replicate.py [--repeat 2]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def timed(args: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "regrowth", *args], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    rows = [("regrowth panel", ["panel"]),
            ("regrowth replicate --no-notebooks", ["replicate", "--no-notebooks"]),
            ("regrowth replicate (with notebooks)", ["replicate"])]
    print(f"{'step':40s} {'median s':>9s} {'min s':>7s}  (n={args.repeat})")
    for label, cmd in rows:
        times = [timed(cmd) for _ in range(args.repeat)]
        print(f"{label:40s} {statistics.median(times):9.2f} {min(times):7.2f}")


if __name__ == "__main__":
    main()
