"""Time the specification curves (`regrowth curve`) on every backend; project to a cluster.

Not a test. Run from the project root after `make panel`:

    .venv/bin/python benchmarks/bench_curve.py [--workers 2] [--no-serial] [--no-dask]

Measures, on the real panel and the [[curve]] blocks of specs/models.toml:

1. per-specification cost by estimator, in one process: the analytic fit of a specification
   and the bootstrap p-value (999 draws) of a model, on a deterministic subset of each
   estimator's models;
2. both curves (innovation + growth, without the null draws) with `processes` (joblib) on
   ``--workers`` workers: wall time, specifications, bootstrap p-values, and each worker's
   resident memory after every batch (it must not grow with the specifications run);
3. the same with `serial` (the serial / 2-worker ratio) and with `dask` on a LocalCluster
   (start-up time, per-task overhead of empty tasks, wall time of the curves);
4. the growth curve's inferential (null) curve, both methods in the same run: 2 draws by
   full refits and 999 by linear maps (``--null-only`` runs this part alone); ``--null-goal``
   instead times both null curves as ``make curve`` computes them (the innovation curve's
   score null from the restricted fits its fitting keeps, and the growth curve's linear
   maps), with the count curve's fitting with and without keeping those fits;
5. the fit and bootstrap cost at 229 units (시군구) on synthetic data of that size, for the
   100,000-specification projection written in benchmarks/README.md.

The load average is printed: the reference machine is shared, so read times with it.
Results are also written to benchmarks/results/bench_curve.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from regrowth import curve  # noqa: E402
from regrowth.curve import fitting  # noqa: E402
from regrowth.errors import RegrowthError  # noqa: E402
from regrowth import panel as panel_mod  # noqa: E402


def _load() -> tuple[pd.DataFrame, tuple]:
    panel = panel_mod.load(ROOT / "data" / "processed")
    curves = curve.load(ROOT / "specs" / "models.toml", list(panel.columns))
    return curve.prepare_panel(panel, curves), curves


def per_estimator_cost(data, curves, per_estimator: int = 12) -> dict:
    """ms per analytic fit and per bootstrap (one model's focal terms), by estimator option."""
    out = {}
    warnings.simplefilter("ignore")
    for c in curves:
        specs, _ = curve.enumerate_specs(c)
        groups = curve.group_specs(specs)
        by_est: dict[str, list] = {}
        for g in groups:
            by_est.setdefault(g[0].choice("estimator"), []).append(g)
        for est, gs in by_est.items():
            step = max(1, len(gs) // per_estimator)
            pick = gs[::step][:per_estimator]
            fits, boots, fails = [], [], 0
            for g in pick:
                spec = next((s for s in g if s.inference != "bootstrap"), g[0])
                t0 = time.perf_counter()
                try:
                    fitted, clusters = fitting._fit_one(spec, data)
                except (RegrowthError, ValueError, ArithmeticError, np.linalg.LinAlgError):
                    # a failing spec is counted, as in the curve
                    fails += 1
                    continue
                fits.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                try:
                    for role, term in spec.focal_terms:
                        fitting._bootstrap_p(fitted, term, clusters, c.reps, c.weights,
                                             curve.spec_seed(c.seed, spec.model_id + role))
                    boots.append(time.perf_counter() - t0)
                except (RegrowthError, ValueError, ArithmeticError, np.linalg.LinAlgError):
                    pass    # a model whose bootstrap fails is left out of the timing
            out[f"{c.id}/{est}"] = {
                "models_timed": len(fits), "failed": fails,
                "fit_ms": 1e3 * statistics.median(fits) if fits else None,
                "bootstrap_ms": 1e3 * statistics.median(boots) if boots else None,
                "focal_terms": len(c.focal), "bootstrap_reps": c.reps}
    return out


def run_curves(data, curves, backend: str, workers: int) -> dict:
    t0 = time.perf_counter()
    with curve.Executor(backend, workers) as ex:
        t_start = time.perf_counter() - t0
        recs = [curve.run_curve(c, data, ex, prepared=True) for c in curves]
    wall = time.perf_counter() - t0
    meta = [m for r in recs for m in r["_meta"]]
    by_pid: dict[int, list] = {}
    for m in meta:
        by_pid.setdefault(m["pid"], []).append(m["rss_mb"])
    n_specs = sum(r["n_cells"] for r in recs)   # model x inference cells, as before
    n_boot = sum(1 for r in recs for s in r["models"]
                 for t in s["terms"].values() if t.get("boot_p") is not None)
    return {"backend": backend, "workers": workers if backend != "serial" else 1,
            "wall_s": wall, "startup_s": t_start, "specifications": n_specs,
            "fitted": sum(r["n_fitted"] for r in recs),
            "failed": sum(r["n_failed"] for r in recs),
            "specs_with_bootstrap_p": n_boot, "batches": len(meta),
            "worker_busy_s": sum(m["seconds"] for m in meta),
            "json": [curve.to_json(r) for r in recs],
            "rss_mb_by_worker": {str(pid): [round(v, 1) for v in vals]
                                 for pid, vals in by_pid.items()}}


def _noop(x):
    return x


def dask_overhead(workers: int, n_tasks: int = 2000) -> dict:
    from distributed import Client, LocalCluster

    t0 = time.perf_counter()
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                           dashboard_address=None, host="127.0.0.1", silence_logs=40)
    client = Client(cluster)
    startup = time.perf_counter() - t0
    client.gather(client.map(_noop, range(50), pure=False))   # warm
    t0 = time.perf_counter()
    client.gather(client.map(_noop, range(n_tasks), pure=False))
    per_task = (time.perf_counter() - t0) / n_tasks
    client.close()
    cluster.close()
    return {"startup_s": startup, "per_task_ms": 1e3 * per_task, "tasks": n_tasks}


def null_draw_cost(data, curves, workers: int, refit_draws: int = 2,
                   linear_draws: int = 999) -> dict | None:
    """The growth curve's null draws on ``processes`` x ``workers``, both methods in one run:
    ``refit`` (every specification refitted per draw; ``refit_draws`` draws) and ``linear``
    (linear maps; once with 1 draw for the fixed cost of one fit per model, once with
    ``linear_draws``). The first ``refit_draws`` draws are the same draws in both methods;
    their per-draw medians are printed side by side."""
    lin = [c for c in curves if c.null_draws and c.family == "linear"]
    if not lin:
        return None
    c = lin[0]
    with curve.Executor("processes", workers) as ex:
        specs, _ = curve.enumerate_specs(c)
        rec = curve.run_curve(replace(c, null_draws=0), data, ex, prepared=True)
        t0 = time.perf_counter()
        ref = curve.null_curve(replace(c, null_draws=refit_draws), specs, rec["models"],
                               data, ex, method="refit")
        t_refit = time.perf_counter() - t0
        t0 = time.perf_counter()
        curve.null_curve(replace(c, null_draws=1), specs, rec["models"], data, ex,
                         method="linear")
        t_one = time.perf_counter() - t0
        t0 = time.perf_counter()
        full = curve.null_curve(replace(c, null_draws=linear_draws), specs,
                                rec["models"], data, ex, method="linear")
        t_lin = time.perf_counter() - t0
    same = {role: {"refit": ref["roles"][role]["null_median"],
                   "linear": full["roles"][role]["null_median"][:refit_draws]}
            for role in c.focal}
    return {"curve": c.id, "workers": workers, "specifications": full["n_models"],
            "refit_draws": refit_draws, "refit_seconds": t_refit,
            "refit_seconds_per_draw": t_refit / refit_draws,
            "linear_draws": linear_draws, "linear_seconds": t_lin,
            "linear_seconds_one_draw": t_one,
            "linear_seconds_per_draw": (t_lin - t_one) / max(1, linear_draws - 1),
            "refit_over_linear_per_draw": (t_refit / refit_draws) / (t_lin / linear_draws),
            "p_median": {r: full["roles"][r]["p_median"] for r in c.focal},
            "p_share_p05": {r: full["roles"][r]["p_share_p05"] for r in c.focal},
            "medians_first_draws": same, "refitted_by_linear": full["refitted"]}


def large_units(n_units: int = 229, years: int = 10, seed: int = 229) -> dict:
    """Fit and bootstrap cost at 시군구 size, on synthetic data (says so)."""
    from regrowth.inference import boottest
    from regrowth.models import GeneralizedNegativeBinomial
    from regrowth.models.linear import fit_panel

    rng = np.random.default_rng(seed)
    idx = pd.MultiIndex.from_product([[f"u{i:03d}" for i in range(n_units)],
                                      range(2010, 2010 + years)], names=["region", "year"])
    n = len(idx)
    X = pd.DataFrame({"d": rng.normal(size=n), "x1": rng.normal(size=n),
                      "x2": rng.normal(size=n), "x3": rng.normal(size=n)}, index=idx)
    y = pd.Series(rng.negative_binomial(2, 2 / (2 + np.exp(1 + 0.2 * X["d"]))), index=idx,
                  name="y").astype(float)
    g = X.assign(g=1 + 0.2 * X["d"] + rng.normal(size=n))
    clusters = idx.get_level_values("region").to_numpy()
    out = {"units": n_units, "years": years, "n": n}
    t0 = time.perf_counter()
    for _ in range(3):
        res = fit_panel("fe", "g ~ 1 + d + x1 + x2 + x3", g, cov_type="clustered")
    out["fe_fit_ms"] = 1e3 * (time.perf_counter() - t0) / 3
    t0 = time.perf_counter()
    boottest(res, "d", clusters=clusters, reps=999, weights="webb", seed=1, ci=False)
    out["fe_bootstrap_ms"] = 1e3 * (time.perf_counter() - t0)
    Xc = pd.concat([pd.DataFrame({"const": 1.0}, index=idx), X], axis=1)
    Z = pd.DataFrame({"const": 1.0, "x1": X["x1"]}, index=idx)
    t0 = time.perf_counter()
    for _ in range(3):
        gres = GeneralizedNegativeBinomial(y, Xc, Z, groups=clusters).fit(cov_type="cluster")
    out["gnb_fit_ms"] = 1e3 * (time.perf_counter() - t0) / 3
    t0 = time.perf_counter()
    boottest(gres, "d", clusters=clusters, reps=999, weights="webb", seed=1, ci=False)
    out["gnb_bootstrap_ms"] = 1e3 * (time.perf_counter() - t0)
    return out


def null_goal(data, curves, workers: int, per_model: int = 48) -> dict:
    """Both null curves as ``make curve`` computes them, on ``processes`` x ``workers``:
    the count curve's score null (``null_method = "score"``: its fitting batches keep the
    restricted fits' score parts, then ``null_curve`` makes the draws) and the linear curve's
    linear-map null, each null stage timed on its own (wall seconds); the count curve's
    fitting timed with and without keeping the parts (one run each, same backend), and, in
    this process on ``per_model`` count models, the bootstrap p of a model by ``boottest``
    (``_bootstrap_p``) against the same p from the kept parts (``_score_bootstrap_p``),
    interleaved, medians; their p-values must be equal."""
    import importlib

    fitting = importlib.import_module("regrowth.curve.fitting")
    run_mod = importlib.import_module("regrowth.curve.run")   # the module, not run()

    out = {"workers": workers}
    for c in curves:
        if not c.null_draws:
            continue
        specs, _ = curve.enumerate_specs(c)
        tasks = fitting.batches(curve.group_specs(specs), c.batch_size)
        with curve.Executor("processes", workers) as ex:
            if c.family == "count":
                t0 = time.perf_counter()
                list(ex.imap(run_mod._batch_task, tasks, replace(c, null_draws=0), data))
                out["count_fit_without_parts_s"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            outs = list(ex.imap(run_mod._batch_task, tasks, c, data))
            out[f"{c.family}_fit_s"] = time.perf_counter() - t0
            models = [r for o in outs for r in o["records"]]
            parts = {k: v for o in outs for k, v in o.get("parts", {}).items()}
            t0 = time.perf_counter()
            rec = curve.null_curve(c, specs, models, data, ex, parts=parts)
            out[f"{c.family}_null_s"] = time.perf_counter() - t0
        out[f"{c.family}_null"] = {"curve": c.id, "method": rec["null_method"],
                                   "draws": rec["draws"], "models": rec["n_models"],
                                   "roles": {r: {k: v[k] for k in ("observed_median",
                                                                   "observed_share_p05",
                                                                   "p_median", "p_share_p05")}
                                             for r, v in rec["roles"].items()}}
        if c.family == "count":
            groups = curve.group_specs(specs)
            pick = groups[::max(1, len(groups) // per_model)][:per_model]
            t_bt, t_sp, same = [], [], 0
            with warnings.catch_warnings(), curve.one_blas_thread():
                warnings.simplefilter("ignore")
                for g in pick:
                    spec = next(s for s in g if s.inference == "cluster")
                    fitted, clusters = fitting._fit_one(spec, data)
                    (role, term), = spec.focal_terms
                    seed = curve.spec_seed(c.seed, f"{spec.model_id}|{role}")
                    t0 = time.perf_counter()
                    a = fitting._bootstrap_p(fitted, term, clusters, c.reps, c.weights, seed)
                    t_bt.append(time.perf_counter() - t0)
                    t0 = time.perf_counter()
                    b = fitting._score_bootstrap_p(fitted, term, clusters, c.reps, c.weights,
                                                   seed, {}, role)
                    t_sp.append(time.perf_counter() - t0)
                    same += a["p"] == b["p"]
            out["per_model"] = {"models": len(pick), "p_equal": same,
                                "boottest_ms": 1e3 * statistics.median(t_bt),
                                "kept_parts_ms": 1e3 * statistics.median(t_sp)}
    out["both_null_stages_s"] = out.get("count_null_s", 0.0) + out.get("linear_null_s", 0.0)
    return out


def count_subset(data, curves, workers: int, every: int) -> dict:
    """The wired count null (``null_curve``, method "score") on every ``every``-th GNB/NB2
    model of the count curve (its cluster specification's model, as
    ``bench_count_null_newton.py --every`` picks them), for comparison with that script's
    informative numbers on the same models."""
    import importlib

    fitting = importlib.import_module("regrowth.curve.fitting")
    run_mod = importlib.import_module("regrowth.curve.run")
    c = next(x for x in curves if x.family == "count")
    specs, _ = curve.enumerate_specs(c)
    ids = {s.model_id for s in specs
           if s.inference == "cluster" and s.estimator in ("gnb", "nb2")}
    ids = {s.model_id for s in [s for s in specs if s.model_id in ids
                                and s.inference == "cluster"][::every]}
    groups = [g for g in curve.group_specs(specs) if g[0].model_id in ids]
    t0 = time.perf_counter()
    with curve.Executor("processes", workers) as ex:
        outs = list(ex.imap(run_mod._batch_task, fitting.batches(groups, c.batch_size), c,
                            data))
        models = [r for o in outs for r in o["records"]]
        parts = {k: v for o in outs for k, v in o.get("parts", {}).items()}
        rec = curve.null_curve(c, [s for g in groups for s in g], models, data, ex,
                               parts=parts)
    out = {"every": every, "models": rec["n_models"], "seconds": time.perf_counter() - t0,
           "roles": {r: {k: v[k] for k in ("observed_median", "observed_share_p05",
                                           "p_median", "p_share_p05")}
                     for r, v in rec["roles"].items()}}
    for role, r in out["roles"].items():
        print(f"\ncount null on every {every}th GNB/NB2 model ({out['models']} models, "
              f"{out['seconds']:.1f} s with their fits), {role}: observed median "
              f"{r['observed_median']:.4g} (p = {r['p_median']:.3f}), share p<0.05 "
              f"{r['observed_share_p05']:.3f} (p = {r['p_share_p05']:.3f})")
    return out


def _print_null_goal(n: dict) -> None:
    print(f"\nboth null curves as make curve computes them (processes x{n['workers']}):")
    if "count_fit_s" in n:
        print(f"  count curve fitting: {n['count_fit_s']:.1f} s keeping the score parts, "
              f"{n['count_fit_without_parts_s']:.1f} s without (one run each)")
        print(f"  count null (score, {n['count_null']['draws']} draws, "
              f"{n['count_null']['models']} models): {n['count_null_s']:.2f} s")
        pm = n["per_model"]
        print(f"  per model, one process ({pm['models']} models): boottest {pm['boottest_ms']:.1f}"
              f" ms, p from the kept parts {pm['kept_parts_ms']:.1f} ms; equal p-values "
              f"{pm['p_equal']} of {pm['models']}")
    if "linear_null_s" in n:
        print(f"  linear null ({n['linear_null']['draws']} draws, {n['linear_null']['models']} "
              f"models): {n['linear_null_s']:.1f} s (after the curve's fits, {n['linear_fit_s']:.1f} s)")
    print(f"  both null stages: {n['both_null_stages_s']:.1f} s")
    for fam in ("count", "linear"):
        for role, r in n.get(f"{fam}_null", {}).get("roles", {}).items():
            print(f"  {fam} {role}: observed median {r['observed_median']:.4g} (p = "
                  f"{r['p_median']:.3f}), share p<0.05 {r['observed_share_p05']:.3f} (p = "
                  f"{r['p_share_p05']:.3f})")


def _print_null(n: dict | None) -> None:
    if not n:
        return
    print(f"\nnull curve ({n['curve']}, {n['specifications']} models, "
          f"{n['workers']} workers, same run):")
    print(f"  refit  : {n['refit_seconds_per_draw']:.2f} s per draw ({n['refit_draws']} draws)")
    print(f"  linear : {n['linear_seconds']:.1f} s for {n['linear_draws']} draws "
          f"({n['linear_seconds_one_draw']:.1f} s with 1 draw: one fit per model; "
          f"{1e3 * n['linear_seconds_per_draw']:.1f} ms per further draw)")
    print(f"  refit / linear time per draw: {n['refit_over_linear_per_draw']:.0f}x")
    for role, m in n["medians_first_draws"].items():
        print(f"  {role}: median of draws 0..{n['refit_draws'] - 1} refit "
              + ", ".join(f"{v:.5g}" for v in m["refit"]) + " | linear "
              + ", ".join(f"{v:.5g}" for v in m["linear"])
              + f"; p(|median|) {n['p_median'][role]:.3f}, "
                f"p(share p<0.05) {n['p_share_p05'][role]:.3f}")


def _null_only(args, report, data, curves) -> None:
    report["null"] = null_draw_cost(data, curves, args.workers, linear_draws=args.null_draws)
    _print_null(report["null"])
    report["load_average_end"] = os.getloadavg()
    out = Path(args.out).with_name("bench_curve_null.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(f"\nwrote {out}; load average {os.getloadavg()[0]:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--no-serial", action="store_true")
    ap.add_argument("--no-dask", action="store_true")
    ap.add_argument("--null-draws", type=int, default=999,
                    help="draws of the linear null curve (the refit reference makes 2)")
    ap.add_argument("--null-only", action="store_true",
                    help="time only the null curve (refit vs linear maps)")
    ap.add_argument("--null-goal", action="store_true",
                    help="time both null curves as make curve computes them (score + linear)")
    ap.add_argument("--count-subset", type=int, default=0, metavar="K",
                    help="the wired count null on every K-th GNB/NB2 model only")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "bench_curve.json"))
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    report = {"cpus": os.cpu_count(), "load_average_start": os.getloadavg()}
    data, curves = _load()
    plain = tuple(replace(c, null_draws=0) for c in curves)
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")

    if args.null_only:
        return _null_only(args, report, data, curves)
    if args.count_subset:
        report["count_subset"] = count_subset(data, curves, args.workers, args.count_subset)
        return None
    if args.null_goal:
        report["null_goal"] = null_goal(data, curves, args.workers)
        _print_null_goal(report["null_goal"])
        report["load_average_end"] = os.getloadavg()
        out = Path(args.out).with_name("bench_curve_null_goal.json")
        out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
        print(f"\nwrote {out}; load average {os.getloadavg()[0]:.2f}")
        return None
    report["per_estimator"] = per_estimator_cost(data, curves)
    print("\nper-specification cost, one process (median ms; bootstrap = all focal terms, "
          "999 draws)")
    for k, v in report["per_estimator"].items():
        f = "n/a" if v["fit_ms"] is None else f"{v['fit_ms']:.1f}"
        b = "n/a" if v["bootstrap_ms"] is None else f"{v['bootstrap_ms']:.1f}"
        print(f"  {k:32s} fit {f:>7s}  bootstrap {b:>7s}  ({v['models_timed']} models)")

    runs = {}
    runs["processes"] = run_curves(data, plain, "processes", args.workers)
    if not args.no_serial:
        runs["serial"] = run_curves(data, plain, "serial", 1)
    if not args.no_dask:
        runs["dask"] = run_curves(data, plain, "dask", args.workers)
        report["dask_overhead"] = dask_overhead(args.workers)
    ref = runs["processes"]["json"]
    print("\nboth curves, no null draws")
    for name, r in runs.items():
        same = r["json"] == ref
        print(f"  {name:10s} x{r['workers']}: {r['wall_s']:6.1f} s for {r['specifications']} "
              f"specifications ({r['fitted']} fitted, {r['failed']} failed, "
              f"{r['specs_with_bootstrap_p']} with a bootstrap p), {r['batches']} batches "
              f"busy {r['worker_busy_s']:.1f} s in all, "
              f"JSON identical to processes: {same}")
        r["json_identical_to_processes"] = same
        del r["json"]
    if "serial" in runs:
        report["serial_over_processes"] = runs["serial"]["wall_s"] / runs["processes"]["wall_s"]
        print(f"  serial / {args.workers}-worker ratio: {report['serial_over_processes']:.2f}")
    if "dask_overhead" in report:
        d = report["dask_overhead"]
        print(f"  dask LocalCluster({args.workers}): start {d['startup_s']:.1f} s, "
              f"{d['per_task_ms']:.2f} ms per empty task ({d['tasks']} tasks)")
    growth = []
    for pid, vals in runs["processes"]["rss_mb_by_worker"].items():
        growth.append(vals[-1] - vals[0])
        print(f"  worker {pid}: RSS {vals[0]:.0f} MB after its first batch, {vals[-1]:.0f} MB "
              f"after its last ({len(vals)} batches, max {max(vals):.0f})")
    report["rss_growth_mb_max"] = max(growth) if growth else None
    report["runs"] = runs

    report["null"] = null_draw_cost(data, curves, args.workers, linear_draws=args.null_draws)
    _print_null(report["null"])
    report["units_229"] = large_units()
    u = report["units_229"]
    print(f"\n229 units x {u['years']} years (synthetic): FE fit {u['fe_fit_ms']:.1f} ms, "
          f"its bootstrap {u['fe_bootstrap_ms']:.1f} ms; GNB fit {u['gnb_fit_ms']:.1f} ms, "
          f"its score bootstrap {u['gnb_bootstrap_ms']:.1f} ms")
    report["load_average_end"] = os.getloadavg()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(f"\nwrote {args.out}; load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
