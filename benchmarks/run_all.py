"""Run every benchmark in this folder in turn (`make bench`); each prints its own table with
the ratio against its peer (R glmmTMB and nlme, statsmodels, wildboottest, pyfixest) or its
full-refit reference (the chain's and the null curve's draws), measured in the same run.

    .venv/bin/python benchmarks/run_all.py [--full]

By default the benchmarks run at the sizes below, chosen so that the whole run takes under
10 minutes on the 2-core reference machine even when it is shared (see benchmarks/README.md
for the times measured); ``--full`` runs each at its own default sizes (about an hour).
The wall time of each benchmark and of the whole run is printed at the end.
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

#: (script, arguments of the quick run) in the order they run
QUICK = (
    ("bench_gnb.py", ["--quick"]),                                   # vs glmmTMB, statsmodels
    ("bench_poisson_fe.py", ["--repeats", "3", "--dummies-max-panels", "0"]),  # vs pyfixest
    ("bench_inference.py", ["--repeat", "2"]),                       # vs wildboottest
    ("bench_fgls.py", ["--quick", "--repeat", "1", "--r-max-panels", "20"]),  # vs nlme::gls
    ("bench_chain.py", ["--refit-reps", "50"]),                      # vs draw-by-draw refits
    ("bench_randomization.py", ["--draws", "5"]),                    # vs cold refits per draw
    ("bench_curve.py", ["--null-only", "--null-draws", "199"]),      # vs full refits
    ("bench_replicate.py", ["--skip-profile"]),                      # vs the 30 s target
)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--full", action="store_true", help="each benchmark at its default sizes")
    a = ap.parse_args()
    start = time.perf_counter()
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs at the start",
          flush=True)
    spent = []
    for script, quick in QUICK:
        args = [] if a.full else quick
        print(f"\n=== {script} {' '.join(args)} ===", flush=True)
        t0 = time.perf_counter()
        done = subprocess.run([sys.executable, str(HERE / script), *args], check=False)
        spent.append((script, time.perf_counter() - t0, done.returncode))
    print("\n=== wall time ===")
    for script, seconds, rc in spent:
        print(f"  {script:22s} {seconds:7.1f} s" + (f"  (exit status {rc})" if rc else ""))
    total = time.perf_counter() - start
    print(f"  {'all':22s} {total:7.1f} s; load average {os.getloadavg()[0]:.2f} at the end")
    return 1 if any(rc for _, _, rc in spent) else 0


if __name__ == "__main__":
    sys.exit(main())
