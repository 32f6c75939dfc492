"""Monte Carlo of the growth (linear) null curve's two tests under b = 0, at the growth
model's design, 16 provinces.

Run from the repository root (after ``make panel``)::

    .venv/bin/python benchmarks/montecarlo_growth_null.py              # 400 reps, B = 399
    .venv/bin/python benchmarks/montecarlo_growth_null.py --reps 20    # a quick look

Not a test. Writes ``benchmarks/results/montecarlo_growth_null.json``.

Design (H0 true for every model: both focal coefficients are 0 in the DGP)
--------------------------------------------------------------------------
The regressors of ``table2_growth/fgls_main`` from the real panel, held fixed: 16 provinces
(Sejong excluded) x 2002-2017, 256 rows; lagged 재정자립도 (``fiscal_self_reliance_l1``,
focal role decentralization), lagged macro-region patents per million
(``ln_patents_pm_macro_l1``, focal role innovation), lagged ln real GRDP per capita,
population growth, ``sejong_break`` and year dummies. The outcome (the growth rate) is

    y_it = x_it'b^ + u_g + s_g v_it,

b^ the fitted FGLS (hetero, AR(1)) coefficients with both focal coefficients set to 0 (the
systematic part is checked against the fit's fitted values), v_it a within-province AR(1)
with coefficient rho and unit variance (v_i,2002 drawn from the stationary distribution),
s_g^2 the fit's panel variances (xtgls's sigma_i^2), u_g ~ N(0, sd_u^2) a province effect.
Two parameter sets, each a separate Monte Carlo:

* ``fitted``: rho = the fit's rho (0.0065) and sd_u = the random-effects fit's (``re_main``)
  sigma_u (Swamy-Arora: 0): heteroskedastic, essentially independent errors, as estimated;
* ``stress``: rho = 0.5 and sd_u = 0.3 mean(s_g), the errors of
  ``montecarlo_inference.py``'s fixed-effects design: serially correlated within province and
  with a province effect, which the pooled, RE and FGLS models' own covariances ignore.

Each sample is fitted by a small curve of eight linear models that share the provinces, built
as a ``[[curve]]`` block (:func:`curve_block`) and run through the package's own code exactly
as ``make curve`` runs it: :func:`regrowth.curve.validate`, ``enumerate_specs``,
``group_specs``, ``run_batch`` (the model records) and
:func:`regrowth.curve.null_curve` with ``method="linear"`` (the growth curve's default): four
estimators (pooled OLS, two-way-style FE, RE, FGLS hetero AR(1); all with year effects) x two
control sets (lagged income and population growth; the same plus one irrelevant regressor, a
standard normal column drawn once from a fixed seed and held fixed), sample 2002-2017 without
Sejong, lag 1, inference model and cluster (xtgls has only its own covariance, excluded as in
the growth curve). The null curve's p of record is the clustered p for pooled, FE and RE and
the model p for FGLS (``null.NULL_RECORD``). Each sample gets its own curve seed, so its B
null draws resample provinces independently of the other samples'.

Per sample and focal role, the null record gives the observed median estimate and share of
models with p < 0.05 and those of the B draws; the counts of draws as extreme,
#{|median_b| >= |median_obs|} and #{share_b >= share_obs}, are recomputed from the record with
null_curve's own expressions (and checked against its p = (1 + #) / (1 + B)). A test rejects
at 5% when (1 + #) <= 0.05 (1 + B): decisions on counts, no floating-point ties. Monte Carlo
SE of a rejection rate r over R samples: sqrt(r (1 - r) / R) (1.1 points at 5% with R = 400).
Each sample has its own seed (``SeedSequence([seed, design]).spawn(reps)``), so the output
does not depend on ``--jobs``, and the first R samples of a longer run are those of a shorter.

Also reported: the size of each model's analytic p-value of record (share of samples with
p < 0.05; clustered for pooled/FE/RE, model for FGLS) and of the model covariance p of the
linearmodels estimators (FGLS's is its p of record); and the mean observed and null shares
of p < 0.05.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import tomllib
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
FOCAL = {"innovation": "ln_patents_pm_macro_l1", "decentralization": "fiscal_self_reliance_l1"}
OUTCOME = "grdp_pc_real_growth"
EXTRA = "mc_extra"
EXTRA_SEED = 20181208
YEARS = (2002, 2017)
DESIGNS = ("fitted", "stress")


def curve_block(draws: int) -> str:
    """The Monte Carlo's small growth curve, as a ``[[curve]]`` block."""
    return f"""
[[curve]]
id = "mc_growth"
title = "Monte Carlo growth curve"
outcome = "{OUTCOME}"
focal = ["innovation", "decentralization"]
seed = 1
bootstrap = {{ reps = 0 }}
null_draws = {draws}
rationale = "benchmarks/montecarlo_growth_null.py"

[curve.dimensions]
decentralization = ["fiscal_self_reliance"]
innovation = ["ln_patents_pm_macro"]
lag = [1]
year_effects = [true]
inference = ["model", "cluster"]

[curve.dimensions.controls]
convergence_pop = ["ln_grdp_pc_real_l1", "population_growth"]
convergence_pop_extra = ["ln_grdp_pc_real_l1", "population_growth", "{EXTRA}"]

[curve.dimensions.estimator]
pooled = {{ estimator = "pooled" }}
fe = {{ estimator = "fe" }}
re = {{ estimator = "re" }}
fgls_hetero_ar1 = {{ estimator = "fgls", options = {{ panels = "hetero", corr = "ar1" }} }}

[curve.dimensions.sample]
p16 = {{ years = [{YEARS[0]}, {YEARS[1]}], exclude = ["sejong"] }}

[[curve.exclude]]
when = {{ estimator = ["fgls_hetero_ar1"], inference = ["cluster"] }}
reason = "xtgls reports only its own covariance"
"""


def design(draws: int, root=None) -> dict:
    """The fixed regressors, the DGP's parameters and the small curve."""
    from regrowth import curve
    from regrowth import panel as panel_mod
    from regrowth.fit import refit

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fg = refit("table2_growth", "fgls_main", root)
        re = refit("table2_growth", "re_main", root)
    beta = fg.params.copy()
    for term in FOCAL.values():
        beta[term] = 0.0
    vd = getattr(re, "results", re).variance_decomposition
    panel = panel_mod.load(Path(root or ROOT) / "data" / "processed")
    keep = ["fiscal_self_reliance", "fiscal_self_reliance_l1", "ln_patents_pm_macro",
            "ln_patents_pm_macro_l1", "ln_grdp_pc_real_l1", "population_growth",
            "sejong_break", OUTCOME]
    panel = panel[keep].copy()
    panel[EXTRA] = np.random.default_rng(EXTRA_SEED).standard_normal(len(panel))
    (c,) = curve.validate(tomllib.loads(curve_block(draws))["curve"], list(panel.columns))
    data = curve.prepare_panel(panel, [c])
    reg = data.index.get_level_values("region")
    yr = data.index.get_level_values("year")
    rows = (reg != "sejong") & (yr >= YEARS[0]) & (yr <= YEARS[1])
    sub = data.loc[rows]
    # the systematic part x'b^ (focal terms 0) from the fit's own coefficient names
    xb = np.full(len(sub), float(beta["Intercept"]))
    for name, b in beta.items():
        if name == "Intercept":
            continue
        if name.startswith("year_"):
            xb += b * (sub.index.get_level_values("year") == int(name[5:]))
        else:
            xb += b * sub[name].to_numpy(dtype=float)
    # check: with the fitted focal coefficients it reproduces the fit's fitted values
    full = xb + sum(float(fg.params[t]) * sub[t].to_numpy(dtype=float) for t in FOCAL.values())
    fv = pd.Series(np.asarray(fg.fitted_values).ravel(), index=fg.resids.index)
    assert np.allclose(full, fv.reindex(sub.index).to_numpy(), atol=1e-8), "systematic part"
    codes, uniq = pd.factorize(sub.index.get_level_values("region"), sort=True)
    # simulate()'s AR(1) runs down the rows: they must be sorted by province, then year
    assert np.all(np.diff(codes) >= 0) and np.all(
        np.diff(sub.index.get_level_values("year"))[np.diff(codes) == 0] == 1)
    s_g = np.sqrt(fg.panel_variances.reindex(uniq).to_numpy(dtype=float))
    assert len(sub) == 256 and np.isfinite(sub[list(FOCAL.values())].to_numpy()).all()
    specs, _ = curve.enumerate_specs(c)
    return {"curve": c, "data": data, "rows": rows, "xb": xb, "codes": codes, "s_g": s_g,
            "regions": list(uniq), "specs": specs, "groups": curve.group_specs(specs),
            "params": {"fitted": {"rho": float(fg.rho),
                                  "sd_u": float(np.sqrt(vd["Effects"]))},
                       "stress": {"rho": 0.5, "sd_u": float(0.3 * np.mean(s_g))}},
            "sigma_g": dict(zip(uniq, s_g.round(4).tolist()))}


def simulate(d: dict, rng: np.random.Generator, rho: float, sd_u: float) -> np.ndarray:
    """One outcome vector on the sample rows (sorted by province, year)."""
    codes = d["codes"]
    n = len(codes)
    e = rng.normal(size=n)
    v = np.empty(n)
    first = np.r_[True, codes[1:] != codes[:-1]]
    a = np.sqrt(1.0 - rho * rho)
    for i in range(n):
        v[i] = e[i] if first[i] else rho * v[i - 1] + a * e[i]
    u = rng.normal(scale=sd_u, size=len(d["regions"]))[codes] if sd_u > 0 else 0.0
    return d["xb"] + u + d["s_g"][codes] * v


def replication(d: dict, which: str, seed, B: int) -> dict:
    from regrowth import curve
    from regrowth.curve.fitting import run_batch

    rng = np.random.default_rng(seed)
    par = d["params"][which]
    data = d["data"].copy()
    y = np.full(len(data), np.nan)
    y[d["rows"]] = simulate(d, rng, par["rho"], par["sd_u"])
    data[OUTCOME] = y
    c = replace(d["curve"], seed=int(rng.integers(2 ** 31)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        models = run_batch(c, d["groups"], data)["records"]
        if any(m["error"] for m in models):
            return {"ok": False, "failed": sorted(m["id"] for m in models if m["error"])}
        nul = curve.null_curve(c, d["specs"], models, data, curve.Executor("serial"),
                               method="linear")
    out = {"ok": True, "roles": {}}
    for role in c.focal:
        r = nul["roles"][role]
        med = np.array([v for v in r["null_median"] if v is not None])
        share = np.array([v for v in r["null_share_p05"] if v is not None])
        n_med = int(np.count_nonzero(np.abs(med) >= abs(r["observed_median"])))
        n_share = int(np.count_nonzero(share >= r["observed_share_p05"]))
        # the record's p-values are (1 + count) / (1 + draws): the counts must match
        assert round(r["p_median"] * (1 + med.size)) == 1 + n_med
        assert round(r["p_share_p05"] * (1 + share.size)) == 1 + n_share
        terms = [m["terms"][role] for m in models]
        record = [t["p_value"].get("cluster", t["p_value"]["model"]) for t in terms]
        out["roles"][role] = {
            "n_median": n_med, "n_share": n_share, "n_draws_median": int(med.size),
            "n_draws_share": int(share.size), "failed_draws": int(r["failed_refits"]),
            "borderline": int(r["borderline_draws"]) + int(r["p05_borderline"]),
            "observed_share": r["observed_share_p05"],
            "null_share_mean": float(np.mean(share)),
            "record_p05": [bool(p < 0.05) for p in record],
            "model_p05": [bool(t["p_value"]["model"] < 0.05) for t in terms]}
    names = {g[0].model_id: short(g[0]) for g in d["groups"]}
    out["models"] = [names[m["id"]] for m in models]
    return out


def short(spec) -> str:
    """``pooled``, ``fe+extra``, ...: the estimator, and whether the irrelevant control is in."""
    return spec.choice("estimator") + ("+extra" if EXTRA in spec.regressors else "")


def run(d: dict, which: str, reps: int, B: int, seed: int, jobs: int) -> dict:
    from joblib import Parallel, delayed

    seeds = np.random.SeedSequence([seed, DESIGNS.index(which)]).spawn(reps)
    t0 = time.perf_counter()
    rows = Parallel(n_jobs=jobs)(delayed(replication)(d, which, s, B) for s in seeds)
    secs = time.perf_counter() - t0
    ok = [r for r in rows if r["ok"]]
    R = len(ok)
    cut = 0.05 * (1 + B)       # reject when (1 + count) <= 0.05 (1 + B)
    names = ok[0]["models"]

    def rate(flags) -> dict:
        r = float(np.mean(flags))
        return {"rejection_5pct": r, "mc_se": float(np.sqrt(r * (1 - r) / R))}

    roles = {}
    for role in FOCAL:
        x = [o["roles"][role] for o in ok]
        assert all(v["n_draws_median"] == B for v in x), "a draw without a median"
        roles[role] = {
            "null_curve_median_test": rate([(1 + v["n_median"]) <= cut + 1e-9 for v in x]),
            "null_curve_share_test": rate([(1 + v["n_share"]) <= cut + 1e-9 for v in x]),
            "mean_observed_share_p05": float(np.mean([v["observed_share"] for v in x])),
            "mean_null_share_p05": float(np.mean([v["null_share_mean"] for v in x])),
            "per_model_size_p_of_record": dict(zip(names, np.mean(
                [v["record_p05"] for v in x], axis=0).round(4).tolist())),
            "per_model_size_model_p": dict(zip(names, np.mean(
                [v["model_p05"] for v in x], axis=0).round(4).tolist())),
            "failed_draws": int(sum(v["failed_draws"] for v in x)),
            "borderline": int(sum(v["borderline"] for v in x))}
    return {"design": which, "params": d["params"][which], "reps": reps, "samples_ok": R,
            "failed": sorted({f for r in rows if not r["ok"] for f in r["failed"]}),
            "draws": B, "seconds": round(secs, 1), "roles": roles}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=400)
    ap.add_argument("--draws", type=int, default=399)
    ap.add_argument("--seed", type=int, default=20261205)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--designs", default=",".join(DESIGNS))
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results"
                                         / "montecarlo_growth_null.json"))
    args = ap.parse_args(argv)
    load0 = os.getloadavg()
    t0 = time.perf_counter()
    d = design(args.draws)
    out = {"reps": args.reps, "draws": args.draws, "seed": args.seed, "jobs": args.jobs,
           "models": [short(g[0]) for g in d["groups"]], "sigma_g": d["sigma_g"],
           "load_average_start": load0, "designs": {}}
    for which in args.designs.split(","):
        res = run(d, which, args.reps, args.draws, args.seed, args.jobs)
        out["designs"][which] = res
        print(json.dumps(res, indent=1), flush=True)
    out["seconds_total"] = round(time.perf_counter() - t0, 1)
    out["load_average_end"] = os.getloadavg()
    path = Path(args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {path} in {out['seconds_total']:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
