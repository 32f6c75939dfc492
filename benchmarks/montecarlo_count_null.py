"""Monte Carlo of the count null curve's two tests (``null_method = "score"``) under b = 0,
at the innovation model's design, 16 provinces.

Run from the repository root (after ``make panel``)::

    .venv/bin/python benchmarks/montecarlo_count_null.py              # 200 reps, B = 399
    .venv/bin/python benchmarks/montecarlo_count_null.py --reps 40    # a quick look

Not a test. Writes ``benchmarks/results/montecarlo_count_null.json``.

Design (H0 true for every model: the 재정자립도 coefficient is 0 in the DGP)
-------------------------------------------------------------------------
The DGP of ``benchmarks/montecarlo_inference.py``'s GNB design: the regressors, offset and
dispersion regressors of ``table1_innovation/gnb_main`` (96 observations, 16 provinces x 6
years) held fixed; mu_it = exp(x_it'b^ + u_g), b^ the fitted coefficients with b_fsr = 0, a
province random effect u_g ~ N(0, 0.3^2); alpha_it = exp(z_it'g^); y ~ NB2(mu, alpha).

Each sample is fitted by a small curve of six models that share the provinces: GNB (the
design's dispersion equation), NB2 and Poisson, each with the design's regressors and with
one irrelevant regressor added (a standard normal column drawn once from the seed and held
fixed), all clustered by province; the focal coefficient is b_fsr in each. For each model the
score parts of its restricted fit (:func:`regrowth.curve.count_null.score_parts`) give the
observed statistic of record (the draw with w = 1: the one-step estimate and the normal p of
boottest's score t) and B null draws with Webb weights drawn once per sample, one per province
and draw, shared by the six models (:func:`count_null.null_weights`), exactly as
:func:`regrowth.curve.null.null_curve` builds the count null. The two Monte Carlo p-values,
p = (1 + #{draws as extreme}) / (1 + B), of the median estimate (|median_b| >= |median_obs|)
and of the share of models with p < 0.05 (share_b >= share_obs), are compared with 0.05 on
their counts ((1 + #) <= 0.05 (1 + B): no floating-point ties).

Also reported, for comparison: the same null with the observed share counted by the models'
clustered Wald p-values at the unrestricted fit (what the previous, unwired design compared
with the score draws); the size of each model's own score t (share of samples with its
normal p < 0.05) and of its clustered Wald test; and, per model, the one-model bootstrap
tests from the same draws, of the one-step estimate unstudentized (|est_d| >= |est_obs|,
what the median statistic aggregates) and of the score t (|t_d| >= |t_obs|, boottest's); and
the test of the median of the models' score t instead of their one-step estimates (not the
curve's statistic: a studentized alternative, for comparison). Monte Carlo SE of a rejection rate r over R
samples: sqrt(r (1 - r) / R) (1.5 points at 5% with R = 200).
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

ROOT = Path(__file__).resolve().parents[1]
PARAM = "fiscal_self_reliance_l1"
MODELS = ("gnb", "nb2", "poisson", "gnb_extra", "nb2_extra", "poisson_extra")


def design(root=None) -> dict:
    """The DGP (montecarlo_inference.gnb_design) and the fixed irrelevant regressor."""
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from montecarlo_inference import gnb_design

    d = gnb_design(root)
    d["extra"] = np.random.default_rng(20181207).standard_normal(len(d["X"]))
    return d


def _fit(kind: str, y, X: pd.DataFrame, d: dict):
    import statsmodels.api as sm

    from regrowth.models import GeneralizedNegativeBinomial

    groups = d["groups"]
    if kind == "poisson":
        return sm.Poisson(y, X, offset=d["offset"]).fit(
            disp=0, cov_type="cluster", cov_kwds={"groups": pd.factorize(groups, sort=True)[0]})
    Z = d["Z"] if kind == "gnb" else np.ones((len(y), 1))
    res = GeneralizedNegativeBinomial(y, X, Z, offset=d["offset"], groups=groups).fit(
        cov_type="cluster")
    if not res.converged:
        raise RuntimeError("not converged")
    return res


def replication(d: dict, seed, B: int) -> dict:
    from regrowth.curve import count_null as cn

    from montecarlo_inference import gnb_counts

    rng = np.random.default_rng(seed)
    groups = d["groups"]
    y, uniq = gnb_counts(d, rng)
    X0 = pd.DataFrame(d["X"], columns=d["xnames"])
    X1 = X0.assign(extra=d["extra"])
    labels = sorted(str(v) for v in uniq)
    W = cn.null_weights("webb", labels, B, int(rng.integers(2 ** 31)))
    col = {lab: i for i, lab in enumerate(labels)}
    est, pv, obs_e, obs_p, wald_p = [], [], [], [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in MODELS:
            kind = name.split("_")[0]
            try:
                res = _fit(kind, y, X1 if name.endswith("_extra") else X0, d)
                parts = cn.score_parts(res, PARAM, groups)
            except Exception:  # noqa: BLE001 - counted: a sample without all six models
                return {"ok": False, "failed": name}
            e, p = cn.score_draws(parts, W[:, [col[lab] for lab in parts.labels]], "cluster")
            oe, op = cn.observed(parts)
            j = list(res.params.index).index(PARAM)
            b, se = float(np.asarray(res.params)[j]), float(np.asarray(res.bse)[j])
            est.append(e)
            pv.append(p)
            obs_e.append(oe)
            obs_p.append(op)
            wald_p.append(float(2 * stats.norm.sf(abs(b / se))))
    est, pv = np.array(est), np.array(pv)
    med = np.nanmedian(est, axis=0)
    share = np.nanmean(pv < 0.05, axis=0)
    obs_med = float(np.median(obs_e))
    obs_share = float(np.mean(np.array(obs_p) < 0.05))
    wald_share = float(np.mean(np.array(wald_p) < 0.05))
    # informative, not the curve's statistic: the median of the models' score t
    tt = np.sign(est) * stats.norm.isf(pv / 2)
    obs_t = np.sign(obs_e) * stats.norm.isf(np.array(obs_p) / 2)
    return {"ok": True,
            # counts of draws as extreme (p = (1 + count) / (1 + B))
            "n_median": int(np.sum(np.abs(med) >= abs(obs_med))),
            "n_median_t": int(np.sum(np.abs(np.nanmedian(tt, axis=0))
                                     >= abs(float(np.median(obs_t))))),
            "n_share": int(np.sum(share >= obs_share)),
            "n_share_wald": int(np.sum(share >= wald_share)),
            # per model, the one-model bootstrap tests from the same draws: the estimate
            # unstudentized (|est_d| >= |est_obs|) and studentized (p_d <= p_obs, i.e.
            # |t_d| >= |t_obs|, boottest's test)
            "n_model_est": [int(np.sum(np.abs(est[m]) >= abs(obs_e[m])))
                            for m in range(len(MODELS))],
            "n_model_t": [int(np.sum(pv[m] <= obs_p[m])) for m in range(len(MODELS))],
            "score_p05": [bool(p < 0.05) for p in obs_p],
            "wald_p05": [bool(p < 0.05) for p in wald_p],
            "null_share_mean": float(np.mean(share))}


def main(argv=None) -> int:
    from joblib import Parallel, delayed

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--draws", type=int, default=399)
    ap.add_argument("--seed", type=int, default=20261205)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results"
                                         / "montecarlo_count_null.json"))
    args = ap.parse_args(argv)
    load0 = os.getloadavg()
    d = design()
    seeds = np.random.SeedSequence(args.seed).spawn(args.reps)
    t0 = time.perf_counter()
    rows = Parallel(n_jobs=args.jobs)(delayed(replication)(d, s, args.draws) for s in seeds)
    secs = time.perf_counter() - t0
    ok = [r for r in rows if r["ok"]]
    R, B = len(ok), args.draws
    cut = 0.05 * (1 + B)            # reject when (1 + count) <= 0.05 (1 + B)

    def rate(key):
        r = float(np.mean([(1 + x[key]) <= cut + 1e-9 for x in ok]))
        return {"rejection_5pct": r, "mc_se": float(np.sqrt(r * (1 - r) / R))}

    out = {"reps": args.reps, "samples_with_all_models": R, "draws": B, "seed": args.seed,
           "models": list(MODELS), "seconds": round(secs, 1), "jobs": args.jobs,
           "load_average_start": load0,
           "null_curve_median_test": rate("n_median"),
           "null_curve_share_test": rate("n_share"),
           "share_test_wald_observed_vs_score_null": rate("n_share_wald"),
           "median_of_score_t_test": rate("n_median_t"),
           "mean_null_share_p05": float(np.mean([x["null_share_mean"] for x in ok])),
           "per_model_size_score_t": dict(zip(MODELS, np.mean([x["score_p05"] for x in ok],
                                                              axis=0).tolist())),
           "per_model_size_cluster_wald": dict(zip(MODELS, np.mean([x["wald_p05"] for x in ok],
                                                                   axis=0).tolist())),
           "per_model_bootstrap_of_the_estimate": dict(zip(MODELS, np.mean(
               [[(1 + n) <= cut + 1e-9 for n in x["n_model_est"]] for x in ok], axis=0).tolist())),
           "per_model_bootstrap_of_the_t": dict(zip(MODELS, np.mean(
               [[(1 + n) <= cut + 1e-9 for n in x["n_model_t"]] for x in ok], axis=0).tolist())),
           "failed": sorted({r.get("failed") for r in rows if not r["ok"]}),
           "load_average_end": os.getloadavg()}
    print(json.dumps(out, indent=1))
    path = Path(args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {path} in {secs:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
