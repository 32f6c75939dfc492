"""Benchmark regrowth.inference.boottest against wildboottest, measured in the same run.

Run from the repository root (after ``make panel``)::

    .venv/bin/python benchmarks/bench_inference.py [--repeat 5]

This is a benchmark, not a test: it prints wall times (median of ``--repeat`` warm runs)
and the ratio wildboottest / regrowth, and writes them to
``benchmarks/results/bench_inference.json``; it asserts nothing.

Cases (real data: the replication panel, as ``make replicate`` fits it)
-----------------------------------------------------------------------
* **Growth panel, WCR, Webb, 9,999 draws** -- table2_growth/fe_main's regressors and year
  dummies as a pooled OLS on 256 observations (16 provinces) clustered by province, because
  wildboottest takes only a statsmodels ``OLS`` model (it does not know fixed effects).
  Both compute the p-value of H0: coefficient of 재정자립도 = 0 (wildboottest:
  ``wildboottest(model, B=9999, cluster=..., param=..., weights_type="webb")``, its default
  numba-parallel path, after one warm-up call so compilation is not timed; regrowth:
  ``boottest(..., ci=False)``). Note that wildboottest defines its numba kernel inside a
  method, so it is compiled again on every call: a repeated call is no faster than the
  first, and that per-call cost is what a user pays. regrowth's time with the confidence set (test inversion),
  which wildboottest does not offer, is shown too.
* **Full enumeration**: the same with Rademacher weights and reps >= 2^16: all 65,536 sign
  vectors (wildboottest enumerates too when 2^G < B).
* **Fixed effects (two-way), WCR, Webb, 9,999**: ``boottest`` on the linearmodels result of
  fe_main itself (no peer: wildboottest has no panel estimators).
* **GNB score bootstrap, Webb, 9,999 draws** on table1_innovation/gnb_main (96 observations,
  16 provinces), with and without the confidence set (each point of the set is a restricted
  GNB refit). No Python peer exists.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import statsmodels.api as sm

from regrowth.inference import boottest
from regrowth.fit import refit

OUT = Path("benchmarks/results/bench_inference.json")
PARAM = "fiscal_self_reliance_l1"


def timed(fn, repeat: int) -> tuple[float, object]:
    fn()  # warm-up (numba compilation, caches)
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    from wildboottest.wildboottest import wildboottest

    fe = refit("table2_growth", "fe_main")
    inner = getattr(fe, "results", fe)
    exog = inner.model.exog.dataframe
    dep = inner.model.dependent.dataframe.iloc[:, 0]
    years = pd.get_dummies(exog.index.get_level_values("year"), prefix="year",
                           drop_first=True, dtype=float).set_index(exog.index)
    X = sm.add_constant(pd.concat([exog.drop(columns=["Intercept"]), years], axis=1))
    region = np.asarray(exog.index.get_level_values("region"))
    codes = pd.factorize(region, sort=True)[0]
    ols = sm.OLS(dep, X)
    ols_res = ols.fit(cov_type="cluster", cov_kwds={"groups": codes})
    rows = []

    def wbt(weights, B):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return wildboottest(ols, B=B, cluster=codes, param=PARAM, weights_type=weights,
                                seed=1, show=False)

    for label, weights, B in (("WCR Webb 9,999 (growth panel, OLS)", "webb", 9999),
                              ("WCR full enumeration 2^16 = 65,536", "rademacher", 99999)):
        t_w, ref = timed(lambda w=weights, b=B: wbt(w, b), args.repeat)
        t_r, res = timed(lambda w=weights, b=B: boottest(ols_res, PARAM, clusters=region,
                                                         reps=b, weights=w, seed=1, ci=False),
                         args.repeat)
        t_rc, _ = timed(lambda w=weights, b=B: boottest(ols_res, PARAM, clusters=region,
                                                        reps=b, weights=w, seed=1),
                        args.repeat)
        rows.append({"case": label, "regrowth_s": t_r, "regrowth_with_ci_s": t_rc,
                     "wildboottest_s": t_w, "ratio": t_w / t_r,
                     "p_regrowth": res.pvalue, "p_wildboottest": float(ref["p-value"].iloc[0]),
                     "reps": res.reps})

    t_fe, res = timed(lambda: boottest(fe, PARAM, reps=9999, weights="webb", seed=1),
                      args.repeat)
    rows.append({"case": "WCR Webb 9,999, two-way FE (linearmodels), with CI",
                 "regrowth_with_ci_s": t_fe, "p_regrowth": res.pvalue, "reps": res.reps})

    gnb = refit("table1_innovation", "gnb_main")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_g, res = timed(lambda: boottest(gnb, PARAM, reps=9999, weights="webb", seed=1,
                                          ci=False), args.repeat)
        t_gc, _ = timed(lambda: boottest(gnb, PARAM, reps=9999, weights="webb", seed=1),
                        args.repeat)
    rows.append({"case": "GNB score bootstrap Webb 9,999 (innovation panel)",
                 "regrowth_s": t_g, "regrowth_with_ci_s": t_gc, "p_regrowth": res.pvalue,
                 "reps": res.reps})

    print(f"{'case':<52} {'regrowth':>9} {'+CI':>8} {'wildboot':>9} {'ratio':>7}  p (ours / peer)")
    for r in rows:
        def f(key, r=r):
            v = r.get(key)
            return f"{v:9.4f}" if v is not None else f"{'-':>9}"
        ratio = f"{r['ratio']:7.1f}" if "ratio" in r else f"{'-':>7}"
        peer = f" / {r['p_wildboottest']:.4f}" if "p_wildboottest" in r else ""
        print(f"{r['case']:<52} {f('regrowth_s')} {f('regrowth_with_ci_s')[1:]} "
              f"{f('wildboottest_s')} {ratio}  {r['p_regrowth']:.4f}{peer}")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"repeat": args.repeat, "rows": rows}, indent=1) + "\n")
    print(f"seconds are medians of {args.repeat} warm runs; written to {OUT}")


if __name__ == "__main__":
    main()
