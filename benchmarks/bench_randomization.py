"""Per-draw cost of randomization inference: the batched and the per-draw cheap refits of
``regrowth.inference.refit.column_refit`` against the cold refit they replace, measured in the
same run (not a test: it prints times and ratios and asserts nothing).

Run from the repository root after ``make panel``::

    .venv/bin/python benchmarks/bench_randomization.py [--draws 15] [--chunk 50] [--repeat 3]

For each main column of Tables 1 and 2 that carries a randomization test and each of its
focus terms: ``--draws`` seeded whole-series permutations of the term across the provinces
(the innovation term of Table 2 across the 7 macro-regions, as the spec declares), each
refitted

* cold (the peer): ``spec.entry.fit(spec, frame)`` and the term's row of ``tidy`` -- what
  the randomization analysis did per draw before (formulas, a cold start, a full results
  object);
* fast, draw by draw: ``column_refit(spec, data, term)(frame)`` -- design built once, count
  models warm-started (Newton from the Poisson fit of the permuted design and the observed
  dispersion coefficients), FGLS steps on the prebuilt arrays, FE by Frisch-Waugh-Lovell,
  RE by the Swamy-Arora steps: what the randomization engine did per draw before batching;
* batched (ours): ``refit.batch(xs)`` on one chunk of ``--chunk`` draws (the engine's
  default chunk, 50), as the engine now hands them over (the permuted column of every draw,
  NaN on rows a draw loses): the count models' Newton iterations on all draws at once, FE,
  RE and FGLS vectorised over the draws.

Cold and fast run on one BLAS thread interleaved draw by draw over ``--draws`` draws, so that
load from other processes hits both alike; fast and batched over the ``--chunk`` draws of one
chunk, alternating ``--repeat`` times. The table gives the median ms per draw of each, the
ratios cold / fast and fast / batched (above 1: the second is faster), the fallbacks to a
cold fit and the largest difference of the coefficient and SE between fast and cold and
between batched and fast (relative; for a coefficient near zero, relative to its SE).
Results also go to ``benchmarks/results/bench_randomization.json``.
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


def permuted(data, term, unit, draws, seed):
    """``(frames, xs)``: ``draws`` copies of ``data`` with ``term``'s whole ``unit`` series
    permuted (rows whose new value is missing dropped), and the same draws as the engine hands
    them to ``batch`` ((draws, rows) values, NaN on a lost row)."""
    keys = (np.asarray(data.index.get_level_values("region")) if unit == "region"
            else data[unit].to_numpy())
    years = data.index.get_level_values("year")
    wide = data[term].groupby([keys, years]).first().unstack()
    rng = np.random.default_rng(seed)
    rows = wide.index.get_indexer(keys)
    cols = wide.columns.get_indexer(years)
    frames, xs = [], []
    for _ in range(draws):
        values = wide.to_numpy()[rng.permutation(len(wide))][rows, cols]
        keep = ~np.isnan(values)
        frame = data.loc[keep].copy()
        frame[term] = values[keep]
        frames.append(frame)
        xs.append(values)
    return frames, np.array(xs)


def _diff(got, ref) -> float:
    """Largest difference of (coefficient, SE): relative, the coefficient's relative to its SE
    where that is larger (a coefficient near zero)."""
    (b, s), (b0, s0) = got, ref
    return max(min(abs(b - b0) / abs(b0), abs(b - b0) / abs(s0)), abs(s - s0) / abs(s0))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--draws", type=int, default=15, help="draws refitted cold and fast")
    ap.add_argument("--chunk", type=int, default=50, help="draws of the batched chunk")
    ap.add_argument("--repeat", type=int, default=3, help="fast / batched alternations")
    args = ap.parse_args()
    sp = specs.load("specs/models.toml")
    panel = with_region_attributes(panel_mod.load("data/processed"))
    cols = {c.name: c for c in sp.columns()}
    rows = []
    print(f"{'column':38s} {'term':26s} {'path':12s} {'cold ms':>8s} {'fast ms':>8s} "
          f"{'batch ms':>8s} {'c/f':>6s} {'f/b':>6s} {'fallb':>5s} {'diff f-c':>8s} "
          f"{'diff b-f':>8s}")
    with one_blas_thread():
        for name, term, unit in CASES:
            spec = cols[name]
            data, _ = estimation_sample(spec, panel)
            t0 = time.perf_counter()
            refit = column_refit(spec, data, term)
            setup = time.perf_counter() - t0
            frames, xs = permuted(data, term, unit, max(args.draws, args.chunk), seed=20181211)
            refit(frames[0]), refit.cold(frames[0]), refit.batch(xs[:2])  # warm-up
            t_cold, t_fast, diff, fallbacks = [], [], 0.0, 0
            for f in frames[:args.draws]:
                t = time.perf_counter()
                b0, s0 = refit.cold(f)
                t_cold.append(time.perf_counter() - t)
                t = time.perf_counter()
                b, s, cold = refit(f)
                t_fast.append(time.perf_counter() - t)
                fallbacks += cold
                diff = max(diff, _diff((b, s), (b0, s0)))
            chunk = frames[:args.chunk]
            per_fast, per_batch = [], []
            for _ in range(args.repeat):
                t = time.perf_counter()
                fast = [refit(f) for f in chunk]
                per_fast.append((time.perf_counter() - t) / len(chunk))
                t = time.perf_counter()
                got = refit.batch(xs[:args.chunk])
                per_batch.append((time.perf_counter() - t) / len(chunk))
            diff_b = max((_diff(g, f[:2]) for g, f in zip(got, fast) if g is not None),
                         default=float("nan"))
            settled = sum(g is not None for g in got)
            c, q = 1e3 * float(np.median(t_cold)), 1e3 * float(np.median(t_fast))
            qc, bb = 1e3 * float(np.median(per_fast)), 1e3 * float(np.median(per_batch))
            rows.append({"column": name, "term": term, "unit": unit, "path": refit.kind,
                         "cold_ms": c, "fast_ms": q, "ratio": c / q, "setup_ms": 1e3 * setup,
                         "fallbacks": fallbacks, "max_rel_diff": diff, "draws": args.draws,
                         "chunk": args.chunk, "fast_chunk_ms": qc, "batch_ms": bb,
                         "ratio_fast_batch": qc / bb, "batch_settled": settled,
                         "max_diff_batch_fast": diff_b})
            print(f"{name:38s} {term:26s} {refit.kind:12s} {c:8.1f} {q:8.1f} {bb:8.2f} "
                  f"{c / q:6.1f} {qc / bb:6.1f} {fallbacks:5d} {diff:8.0e} {diff_b:8.0e}"
                  + ("" if settled == len(got) else f"  ({len(got) - settled} left to fast)"),
                  flush=True)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"draws": args.draws, "chunk": args.chunk, "rows": rows},
                              indent=1) + "\n")


if __name__ == "__main__":
    main()
