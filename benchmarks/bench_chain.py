"""Time the two-stage chain's province bootstrap: batched draws against draw-by-draw refits.

Run from the repository root (after ``make panel``)::

    .venv/bin/python benchmarks/bench_chain.py [--reps 999] [--refit-reps 999] [--dask]

This is a benchmark, not a test: it asserts nothing. In one run it times
:func:`regrowth.analyses.chain.fit_chain` on the replication's chain (Table 1's
``[table.analyses.chain]``: stage-1 GNB ``gnb_main``, stage-2 nominal growth, 16 provinces,
stratified by ``capital_region``) with

* ``method="refit"`` -- every draw refitted from scratch (the reference; what ``make
  replicate`` did before), ``--refit-reps`` draws;
* ``method="batch"`` -- all draws at once (:mod:`regrowth.models.gnb_draws`), serial, and with
  the draws' chunks on ``processes`` (2 workers) and, with ``--dask``, a Dask LocalCluster;

and prints wall times, the ratio refit / batch (per draw when the two draw counts differ),
the largest difference between the two methods' draws, SEs and interval ends on the common
draws, whether the backends gave the same bytes, the draws refitted one by one, and the load
average. Writes ``benchmarks/results/bench_chain.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from regrowth import panel as panel_mod
from regrowth import specs
from regrowth.analyses.chain import chain_settings, fit_chain
from regrowth.curve.backends import Executor

OUT = Path("benchmarks/results/bench_chain.json")


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=999, help="draws of the batched runs")
    ap.add_argument("--refit-reps", type=int, default=999, help="draws of the refit run")
    ap.add_argument("--dask", action="store_true", help="also time a Dask LocalCluster")
    args = ap.parse_args()
    panel = panel_mod.load("data/processed")
    base = chain_settings(specs.load("specs/models.toml"))
    s_batch = replace(base, reps=args.reps)
    s_refit = replace(base, reps=args.refit_reps)
    load0 = os.getloadavg()

    fit_chain(panel, replace(base, reps=2))  # warm-up: imports, caches
    t_batch, batch = timed(lambda: fit_chain(panel, s_batch, method="batch"))
    t_refit, refit = timed(lambda: fit_chain(panel, s_refit, method="refit"))
    rows = {"batch serial": t_batch}
    same, startup = {}, {}
    backends = [("processes", {"workers": 2})] + ([("dask", {"workers": 2})] if args.dask else [])
    for name, kw in backends:
        with Executor(name, **kw) as ex:
            t0, _ = timed(lambda: fit_chain(panel, replace(base, reps=2), method="batch",
                                            executor=ex))  # workers start, import regrowth
            t, res = timed(lambda: fit_chain(panel, s_batch, method="batch", executor=ex))
        rows[f"batch {name} x2"] = t
        startup[name] = t0
        same[name] = bool(res.draws.to_numpy().tobytes() == batch.draws.to_numpy().tobytes()
                          and res.table.equals(batch.table))

    n = min(args.reps, args.refit_reps)
    common = fit_chain(panel, replace(base, reps=n), method="batch") if n != args.reps else batch
    cols = ["std_error", "ci_low", "ci_high"]
    ref_common = refit if n == args.refit_reps else fit_chain(panel, replace(base, reps=n),
                                                              method="refit")
    draw_diff = float(np.max(np.abs(common.draws.to_numpy() - ref_common.draws.to_numpy())))
    ci_diff = float(np.max(np.abs(common.table[cols].to_numpy()
                                  - ref_common.table[cols].to_numpy())))
    per_draw = (t_refit / args.refit_reps) / (t_batch / args.reps)

    print(f"chain bootstrap, {args.reps} batched draws, {args.refit_reps} refitted draws "
          f"(load average before: {load0[0]:.1f})")
    print(f"{'method':28s} {'wall s':>8s}")
    print(f"{'refit (draw by draw)':28s} {t_refit:8.2f}")
    for k, v in rows.items():
        print(f"{k:28s} {v:8.2f}")
    print(f"ratio refit / batch serial, per draw: {per_draw:.1f}x")
    print(f"largest |batch - refit| over {n} draws: {draw_diff:.2e}; SE and interval ends: "
          f"{ci_diff:.2e}")
    print(f"draws refitted one by one in the batch: {batch.sample['reps_refit']}; failed "
          f"{batch.reps_failed} (refit: {refit.reps_failed}); boundary "
          f"{batch.sample['reps_boundary']}")
    for k, v in startup.items():
        print(f"{k}: first call (workers import regrowth; not in the times above) {v:.2f} s")
    for k, v in same.items():
        print(f"{k}: same bytes as serial: {v}")
    record = {"reps": args.reps, "refit_reps": args.refit_reps, "seconds": rows,
              "refit_seconds": t_refit, "ratio_per_draw": per_draw,
              "max_draw_difference": draw_diff, "max_se_interval_difference": ci_diff,
              "reps_refit": batch.sample["reps_refit"], "same_bytes": same,
              "startup_seconds": startup,
              "load_average_before": load0[0]}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
