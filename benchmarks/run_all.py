"""Run every benchmark in this folder in turn (`make bench`). Each prints its own table."""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

for script in ("bench_gnb.py", "bench_fgls.py", "bench_replicate.py", "bench_inference.py",
               "bench_poisson_fe.py", "bench_chain.py", "bench_randomization.py"):
    print(f"\n=== {script} ===", flush=True)
    subprocess.run([sys.executable, str(HERE / script)], check=False)
