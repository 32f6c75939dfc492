"""Per-draw cost of randomization inference: the cheap refit of
``regrowth.inference.refit.column_refit`` against the cold refit it replaces, measured in the
same run (not a test: it prints times and ratios and asserts nothing).

Run from the repository root after ``make panel``::

    .venv/bin/python benchmarks/bench_randomization.py [--draws 15]

For each main column of Tables 1 and 2 that carries a randomization test and each of its
focus terms: ``--draws`` seeded whole-series permutations of the term across the provinces
(the innovation term of Table 2 across the 7 macro-regions, as the spec declares), each
refitted

* cold (the peer): ``spec.entry.fit(spec, frame)`` and the term's row of ``tidy`` -- what
  the randomization analysis did per draw before (formulas, a cold start, a full results
  object);
* fast (ours): ``column_refit(spec, data, term)(frame)`` -- design built once, count models
  warm-started (Newton from the Poisson fit of the permuted design and the observed
  dispersion coefficients), FGLS steps on the prebuilt arrays, FE by Frisch-Waugh-Lovell,
  RE by the Swamy-Arora steps.

Both run on one BLAS thread, interleaved draw by draw so that load from other processes hits
both alike; the table gives the median ms per draw, the ratio cold / fast (above 1: the fast
refit is faster), the fallbacks to a cold fit and the largest relative difference of the
coefficient and SE between the two. Results also go to
``benchmarks/results/bench_randomization.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from regrowth import panel as panel_mod
from regrowth import specs
from regrowth.fit import estimation_sample, with_region_attributes
from regrowth.inference.refit import column_refit
from regrowth.threads import one_blas_thread

OUT = Path("benchmarks/results/bench_randomization.json")
CASES = [  # (column, term, permutation unit)
    ("table1_innovation/gnb_main", "fiscal_self_reliance_l1", "region"),
    ("table1_innovation/gnb_main", "ln_rnd_l1", "region"),
    ("table1_innovation/nb2_main", "fiscal_self_reliance_l1", "region"),
    ("table1_innovation/poisson_main", "fiscal_self_reliance_l1", "region"),
    ("table1_innovation/gnb_fiscal_autonomy", "fiscal_autonomy_old_l1", "region"),
    ("table2_growth/fgls_main", "fiscal_self_reliance_l1", "region"),
    ("table2_growth/fgls_main", "ln_patents_pm_macro_l1", "macro_region"),
    ("table2_growth/re_main", "fiscal_self_reliance_l1", "region"),
    ("table2_growth/re_main", "ln_patents_pm_macro_l1", "macro_region"),
    ("table2_growth/fe_main", "fiscal_self_reliance_l1", "region"),
    ("table2_growth/fe_main", "ln_patents_pm_macro_l1", "macro_region"),
]


def permuted_frames(data, term, unit, draws, seed):
    """``draws`` copies of ``data`` with ``term``'s whole ``unit`` series permuted."""
    keys = (np.asarray(data.index.get_level_values("region")) if unit == "region"
            else data[unit].to_numpy())
    years = data.index.get_level_values("year")
    wide = data[term].groupby([keys, years]).first().unstack()
    rng = np.random.default_rng(seed)
    rows = wide.index.get_indexer(keys)
    cols = wide.columns.get_indexer(years)
    out = []
    for _ in range(draws):
        values = wide.to_numpy()[rng.permutation(len(wide))][rows, cols]
        keep = ~np.isnan(values)
        frame = data.loc[keep].copy()
        frame[term] = values[keep]
        out.append(frame)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--draws", type=int, default=15)
    args = ap.parse_args()
    sp = specs.load("specs/models.toml")
    panel = with_region_attributes(panel_mod.load("data/processed"))
    cols = {c.name: c for c in sp.columns()}
    rows = []
    print(f"{'column':38s} {'term':26s} {'path':12s} {'cold ms':>8s} {'fast ms':>8s} "
          f"{'ratio':>6s} {'fallb':>5s} {'max rel diff':>12s}")
    with one_blas_thread():
        for name, term, unit in CASES:
            spec = cols[name]
            data, _ = estimation_sample(spec, panel)
            t0 = time.perf_counter()
            refit = column_refit(spec, data, term)
            setup = time.perf_counter() - t0
            frames = permuted_frames(data, term, unit, args.draws, seed=20181211)
            refit(frames[0]), refit.cold(frames[0])  # warm-up
            t_cold, t_fast, diff, fallbacks = [], [], 0.0, 0
            for f in frames:
                t = time.perf_counter()
                b0, s0 = refit.cold(f)
                t_cold.append(time.perf_counter() - t)
                t = time.perf_counter()
                b, s, cold = refit(f)
                t_fast.append(time.perf_counter() - t)
                fallbacks += cold
                diff = max(diff, abs(b - b0) / abs(b0), abs(s - s0) / abs(s0))
            c, q = 1e3 * float(np.median(t_cold)), 1e3 * float(np.median(t_fast))
            rows.append({"column": name, "term": term, "unit": unit, "path": refit.kind,
                         "cold_ms": c, "fast_ms": q, "ratio": c / q, "setup_ms": 1e3 * setup,
                         "fallbacks": fallbacks, "max_rel_diff": diff, "draws": args.draws})
            print(f"{name:38s} {term:26s} {refit.kind:12s} {c:8.1f} {q:8.1f} {c / q:6.1f} "
                  f"{fallbacks:5d} {diff:12.1e}", flush=True)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"draws": args.draws, "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
