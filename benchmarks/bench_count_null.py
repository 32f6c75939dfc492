"""The innovation (count) null curve by the score bootstrap (`regrowth.curve.count_null`):
cost of 999 one-step draws for every model, and their agreement with refits of the
score-perturbed likelihood on random (specification, draw) pairs, in one run.

Not a test. Run from the project root after `make panel`:

    .venv/bin/python benchmarks/bench_count_null.py [--workers 2] [--draws 999] [--pairs 120]

For every model of the innovation curve (its inference of record, the province-clustered
p-value) on `processes` x ``--workers``: the unrestricted fit (the curve's own fit, timed
but not part of the null's cost), the restricted fit and derivatives (`score_parts`,
warm-started from it), the ``--draws`` one-step draws (`score_draws`); on ``--pairs`` random
(model, draw) pairs (seed: the curve seed and "null|check") the refit of the perturbed
likelihood (`perturbed_refit`), and for those models the bootstrap p-value recomputed from
the parts against `boottest` with the curve's own weights and seed. Prints the agreement
overall and by estimator, whether it passes `count_null.AGREEMENT`, the times, and the load
average. The null p-values are printed only if the check passes. Results go to
benchmarks/results/bench_count_null.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from regrowth import curve  # noqa: E402
from regrowth import panel as panel_mod  # noqa: E402
from regrowth.curve import count_null as cn  # noqa: E402
from regrowth.curve.enumeration import spec_seed  # noqa: E402
from regrowth.curve.fitting import _fit_one, _term_row, batches  # noqa: E402
from regrowth.curve.null import _mc_p, _with_sample  # noqa: E402
from regrowth.inference import boottest  # noqa: E402
from regrowth.threads import one_blas_thread  # noqa: E402


def _task(c, data, W, labels, check: dict, specs: list) -> list[dict]:
    """Fit, parts, draws (and the checked pairs' refits) of a batch of specifications."""
    col = {lab: i for i, lab in enumerate(labels)}
    out = []
    with warnings.catch_warnings(), one_blas_thread():
        warnings.simplefilter("ignore")
        for s in specs:
            role, term = s.focal_terms[0]
            row = {"model": s.model_id, "estimator": s.estimator, "ok": False}
            try:
                keys = data.index.get_level_values("region")
                t0 = time.perf_counter()
                fitted, clusters = _fit_one(_with_sample(s), data[~keys.isin(s.sample["exclude"])])
                row["t_fit"] = time.perf_counter() - t0
                obs = _term_row(fitted, term)
                row["estimate"], row["p"] = obs["estimate"], obs["p_value"]
                parts = cn.score_parts(fitted.result, term, clusters)
                row["t_parts"] = parts.seconds
                cols = [col[lab] for lab in parts.labels]
                t0 = time.perf_counter()
                est, p = cn.score_draws(parts, W[:, cols], "cluster")
                row["t_draws"] = time.perf_counter() - t0
                row["null_est"], row["null_p"] = est.tolist(), p.tolist()
                row["ok"] = True
                if s.model_id in check:
                    d = check[s.model_id]
                    t0 = time.perf_counter()
                    e, pr = cn.perturbed_refit(fitted.result, term, clusters, W[d, cols],
                                               "cluster")
                    row["t_refit"] = time.perf_counter() - t0
                    row["pair"] = {"draw": d, "onestep": float(est[d]), "p_onestep": float(p[d]),
                                   "refit": e, "p_refit": pr, "sd": float(np.nanstd(est))}
                    seed = spec_seed(c.seed, f"{s.model_id}|{role}")
                    ref = boottest(fitted.result, term, clusters=clusters, reps=c.reps,
                                   weights=c.weights, seed=seed, ci=False)
                    row["boot_p_equal"] = cn.boot_p(parts, c.weights, c.reps, seed) == ref.pvalue
            except Exception as exc:  # noqa: BLE001 - counted and printed
                row["error"] = f"{type(exc).__name__}: {exc}"[:200]
            out.append(row)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--draws", type=int, default=999)
    ap.add_argument("--pairs", type=int, default=120)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "bench_count_null.json"))
    args = ap.parse_args(argv)
    load0 = os.getloadavg()
    panel = panel_mod.load(ROOT / "data" / "processed")
    curves = curve.load(ROOT / "specs" / "models.toml", list(panel.columns))
    c = next(x for x in curves if x.id == "innovation")
    data = curve.prepare_panel(panel, [c])
    specs, _ = curve.enumerate_specs(c)
    cl = [s for s in specs if s.inference == "cluster"]      # the inference of record
    labels = sorted({str(r) for r in data.index.get_level_values("region")})
    W = cn.null_weights(c.weights, labels, args.draws, spec_seed(c.seed, "null|score"))
    rng = np.random.default_rng(spec_seed(c.seed, "null|check"))
    picked = rng.choice(len(cl), min(args.pairs, len(cl)), replace=False)
    check = {cl[i].model_id: int(rng.integers(args.draws)) for i in sorted(picked)}
    t0 = time.perf_counter()
    rows = []
    with curve.Executor("processes", args.workers) as ex:
        for o in ex.imap(_task, batches(cl, 16), c, data, W, labels, check):
            rows += o
    wall = time.perf_counter() - t0
    ok = [r for r in rows if r["ok"]]
    pairs = [dict(r["pair"], estimator=r["estimator"]) for r in rows if "pair" in r]
    by = {"all": cn.agreement(pairs)}
    for e in sorted({r["estimator"] for r in rows}):
        by[e] = cn.agreement([p for p in pairs if p["estimator"] == e])
    passed = cn.passes(by["all"])
    sums = {k: float(sum(r.get(k, 0.0) for r in rows)) for k in ("t_fit", "t_parts", "t_draws",
                                                                  "t_refit")}
    n_ref = sum("t_refit" in r for r in rows)
    report = {"curve": c.id, "models": len(cl), "fitted": len(ok), "draws": args.draws,
              "workers": args.workers, "weights": c.weights, "wall_seconds": wall,
              "cpu_seconds": sums, "pairs": len(pairs), "agreement": by, "passes": passed,
              "threshold": cn.AGREEMENT,
              "boot_p_equal": [sum(bool(r.get("boot_p_equal")) for r in rows if "pair" in r),
                               len(pairs)],
              "errors": sorted({r["error"] for r in rows if "error" in r})[:10],
              "load_average_start": load0}
    print(f"innovation null curve by the score bootstrap: {len(ok)} of {len(cl)} models, "
          f"{args.draws} {c.weights} draws, processes x{args.workers}; load average "
          f"{load0[0]:.2f} at the start")
    print(f"  wall time of the run (fits included): {wall:.1f} s")
    print(f"  CPU seconds summed over models: unrestricted fits {sums['t_fit']:.1f} (the curve's "
          f"own, not the null's), restricted fits + derivatives {sums['t_parts']:.1f}, "
          f"{args.draws} draws {sums['t_draws']:.2f}")
    print(f"  null cost given the curve's fits, per worker: "
          f"{(sums['t_parts'] + sums['t_draws']) / args.workers:.1f} s")
    if n_ref:
        per_pair_refit = sums["t_refit"] / n_ref
        per_pair_one = sums["t_draws"] / max(1, len(ok)) / args.draws
        print(f"  refit of the perturbed likelihood: {1e3 * per_pair_refit:.1f} ms per pair "
              f"({n_ref} pairs); one-step {1e6 * per_pair_one:.2f} us per (model, draw): "
              f"{per_pair_refit / per_pair_one:.0f}x")
        report["refit_over_onestep_per_pair"] = per_pair_refit / per_pair_one
    print(f"  boottest p recomputed from the parts, equal: {report['boot_p_equal'][0]} of "
          f"{report['boot_p_equal'][1]} checked models")
    for k, a in by.items():
        if a["corr"] is None:
            print(f"  check {k}: {a['pairs']} pairs, {a['refit_failed']} refits failed")
            continue
        print(f"  check {k}: {a['pairs']} pairs, {a['refit_failed']} refits failed; "
              f"corr {a['corr']:.3f}, median |diff| {a['median_abs_diff_sd']:.3f} sd, "
              f"90th pct {a['q90_abs_diff_sd']:.3f} sd, same p<0.05 decision "
              f"{a['p05_agree']:.1%}")
    print(f"  check passes count_null.AGREEMENT {cn.AGREEMENT}: {passed}")
    if passed:
        est = np.array([r["null_est"] for r in ok], dtype=float)      # (models, draws)
        pv = np.array([r["null_p"] for r in ok], dtype=float)
        obs_med = float(np.median([r["estimate"] for r in ok]))
        obs_sig = float(np.mean([r["p"] < 0.05 for r in ok]))
        meds = np.nanmedian(est, axis=0)
        sig = np.nanmean(pv < 0.05, axis=0)
        report["p_median"] = _mc_p(np.abs(meds) >= abs(obs_med))
        report["p_share_p05"] = _mc_p(sig >= obs_sig)
        print(f"  null p-values: median {report['p_median']:.3f}, share p<0.05 "
              f"{report['p_share_p05']:.3f}")
    else:
        print("  null p-values withheld: the check failed")
    report["load_average_end"] = os.getloadavg()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {out}; load average {os.getloadavg()[0]:.2f} at the end")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
