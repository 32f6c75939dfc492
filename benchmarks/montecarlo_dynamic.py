"""Monte Carlo of the dynamic-panel estimators at the growth panel's design (issue 17, item 4).

Run from the repository root::

    .venv/bin/python benchmarks/montecarlo_dynamic.py              # 500 replications
    .venv/bin/python benchmarks/montecarlo_dynamic.py --reps 50 --quick

Design (N = 16 provinces, T = 16 estimation years, as Table 2's fixed-effects columns)
--------------------------------------------------------------------------------------
::

    y_it = rho y_i,t-1 + beta x_it + a_i + l_t + e_it,     rho = 0.8, beta = 1
    x_it = 0.5 x_i,t-1 + 0.5 a_i + v_it                     (strictly exogenous, correlated with a_i)
    a_i, l_t, e_it, v_it ~ N(0, 1)

started at zero and run for 50 burn-in years before the T + 1 kept ones (the first kept
year is the start-up value y_i0). Every estimator fits two-way effects (year effects
l_t), as the Table 2 columns do: within (FE, LSDV), split-panel jackknife (SPJ), LSDVC
(``initial`` AH and AB; ``bias`` 1, 2, 3) and Anderson-Hsiao (AH).

Reported for rho and beta: bias, SD, RMSE over the replications, and the coverage of the
nominal 95% interval of the estimator's own inference: FE -- Stata-scaled cluster SE,
t(15); SPJ -- province bootstrap (``--spj-boot`` draws), t(15); LSDVC -- xtlsdvc's
parametric bootstrap (``--lsdvc-boot`` draws), normal, for the ``--coverage`` configurations
(bootstrapping every configuration would multiply the run time); AH -- cluster SE, t(15).
Monte Carlo SE of a coverage rate p: sqrt(p (1 - p) / R).

Seeds: ``numpy.random.SeedSequence(seed)`` spawns one stream per replication (data and
bootstrap draws), so the output does not depend on ``--jobs``. BLAS is pinned to one thread
(set before numpy is imported): a shared 2-core machine made multi-threaded BLAS 30x slower.
Writes ``benchmarks/results/montecarlo_dynamic.{csv,json}`` (``--out`` to change).
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

RHO, BETA = 0.8, 1.0
DESIGN = {"N": 16, "T": 16, "rho": RHO, "beta": BETA, "x_ar": 0.5, "x_on_a": 0.5,
          "sd_a": 1.0, "sd_year": 1.0, "sd_e": 1.0, "burn_in": 50, "time_effects": True}
LSDVC_CONFIGS = [(i, b) for i in ("ah", "ab") for b in (1, 2, 3)]


def simulate(rng: np.random.Generator, *, N: int = 16, T: int = 16, rho: float = RHO,
             beta: float = BETA, burn: int = 50) -> pd.DataFrame:
    """One panel of T + 1 years (y_i0 the start-up value) on an (entity, time) index."""
    a = rng.standard_normal(N)
    y = np.zeros(N)
    x = np.zeros(N)
    Y, X = [], []
    for t in range(burn + T + 1):
        lam = rng.standard_normal()
        x = 0.5 * x + 0.5 * a + rng.standard_normal(N)
        y = rho * y + beta * x + a + lam + rng.standard_normal(N)
        if t >= burn:
            Y.append(y.copy())
            X.append(x.copy())
    Y, X = np.array(Y).T, np.array(X).T
    idx = pd.MultiIndex.from_product([range(N), range(T + 1)], names=["entity", "time"])
    return pd.DataFrame({"y": Y.ravel(), "x": X.ravel()}, index=idx)


def one_replication(seed_seq: np.random.SeedSequence, *, spj_boot: int, lsdvc_boot: int,
                    coverage: list[tuple[str, int]], N: int, T: int) -> dict:
    """Estimates, SEs and 95% limits of every estimator on one simulated panel."""
    from regrowth.models.dynamic import LSDVC, AndersonHsiao, SplitPanelJackknife

    data_seed, boot_seed = seed_seq.spawn(2)
    d = simulate(np.random.default_rng(data_seed), N=N, T=T)
    seeds = boot_seed.generate_state(len(coverage) + 1)
    out: dict = {}

    def record(name, res):
        ci = res.conf_int()
        for term, key in ((res.params.index[0], "rho"), ("x", "beta")):
            out[f"{name}:{key}:est"] = float(res.params[term])
            out[f"{name}:{key}:lo"] = float(ci.loc[term, "lower"])
            out[f"{name}:{key}:hi"] = float(ci.loc[term, "upper"])

    lag = d.groupby(level=0).y.shift(1).rename("ylag")
    dd = pd.concat([d, lag], axis=1).dropna()
    spj = SplitPanelJackknife(dd.y, dd[["ylag", "x"]], time_effects=True).fit(
        reps=spj_boot, seed=int(seeds[0]))
    record("SPJ", spj)
    # FE with its analytic (Stata-scaled) cluster SE and t(G-1)
    from scipy import stats
    q = stats.t.ppf(0.975, N - 1)
    for term, key in (("ylag", "rho"), ("x", "beta")):
        b, se = spj.fe_params[term], spj.fe_std_errors[term]
        out[f"FE:{key}:est"], out[f"FE:{key}:lo"], out[f"FE:{key}:hi"] = b, b - q * se, b + q * se
    for j, (init, bias) in enumerate(LSDVC_CONFIGS):
        boot = (init, bias) in coverage
        res = LSDVC(d.y, d[["x"]], initial=init, bias=bias, time_effects=True).fit(
            reps=lsdvc_boot if boot else 0,
            seed=int(seeds[1 + coverage.index((init, bias))]) if boot else 0)
        record(f"LSDVC-{init.upper()}{bias}", res)
    record("AH", AndersonHsiao(d.y, d[["x"]], time_effects=True).fit())
    return out


def summarise(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    names = list(dict.fromkeys(c.split(":")[0] for c in frame.columns))
    table = []
    for name in names:
        rec = {"estimator": name}
        for key, true in (("rho", RHO), ("beta", BETA)):
            est = frame[f"{name}:{key}:est"]
            lo, hi = frame[f"{name}:{key}:lo"], frame[f"{name}:{key}:hi"]
            rec[f"bias_{key}"] = float(est.mean() - true)
            rec[f"sd_{key}"] = float(est.std(ddof=1))
            rec[f"rmse_{key}"] = float(np.sqrt(((est - true) ** 2).mean()))
            finite = np.isfinite(lo) & np.isfinite(hi)
            rec[f"cover95_{key}"] = (float(((lo <= true) & (true <= hi))[finite].mean())
                                     if finite.any() else float("nan"))
        table.append(rec)
    return pd.DataFrame(table)


def run(*, reps: int = 500, seed: int = 20261205, spj_boot: int = 199, lsdvc_boot: int = 100,
        coverage: list[tuple[str, int]] | None = None, jobs: int = 1, N: int = 16, T: int = 16,
        progress: bool = True) -> tuple[pd.DataFrame, dict]:
    """Run the Monte Carlo; return (table, metadata)."""
    coverage = [("ah", 1), ("ab", 1)] if coverage is None else coverage
    streams = np.random.SeedSequence(seed).spawn(reps)
    kw = dict(spj_boot=spj_boot, lsdvc_boot=lsdvc_boot, coverage=coverage, N=N, T=T)
    t0 = time.time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if jobs == 1:
            it = streams
            if progress:
                from tqdm.auto import tqdm
                it = tqdm(streams, desc="Monte Carlo (dynamic)", unit="rep")
            rows = [one_replication(s, **kw) for s in it]
        else:
            from joblib import Parallel, delayed
            rows = Parallel(n_jobs=jobs, verbose=10 if progress else 0)(
                delayed(one_replication)(s, **kw) for s in streams)
    table = summarise(rows)
    meta = {"design": {**DESIGN, "N": N, "T": T}, "reps": reps, "seed": seed,
            "spj_boot": spj_boot, "lsdvc_boot": lsdvc_boot,
            "lsdvc_coverage_configs": [f"{i}{b}" for i, b in coverage],
            "coverage_mc_se": float(np.sqrt(0.95 * 0.05 / reps)),
            "seconds": round(time.time() - t0, 1)}
    return table, meta


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=500)
    ap.add_argument("--seed", type=int, default=20261205)
    ap.add_argument("--spj-boot", type=int, default=199)
    ap.add_argument("--lsdvc-boot", type=int, default=100)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--quick", action="store_true", help="SPJ 49, LSDVC 29 bootstrap draws")
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "results"))
    a = ap.parse_args(argv)
    if a.quick:
        a.spj_boot, a.lsdvc_boot = 49, 29
    table, meta = run(reps=a.reps, seed=a.seed, spj_boot=a.spj_boot, lsdvc_boot=a.lsdvc_boot,
                      jobs=a.jobs)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "montecarlo_dynamic.csv", index=False, float_format="%.6f")
    record = {"meta": meta, "table": table.round(6).to_dict(orient="records")}
    (out / "montecarlo_dynamic.json").write_text(json.dumps(record, indent=2) + "\n")
    pd.set_option("display.width", 160)
    print(f"\nN = {meta['design']['N']}, T = {meta['design']['T']}, rho = {RHO}, beta = {BETA}, "
          f"{meta['reps']} replications (coverage MC SE {meta['coverage_mc_se']:.3f}); "
          f"{meta['seconds']} s")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))


if __name__ == "__main__":
    main()
