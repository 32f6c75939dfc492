"""Monte Carlo check of GeneralizedNegativeBinomial: bias and 95% CI coverage.

DGP (seeded): x1 ~ N(0,1), x2 ~ Bernoulli(0.4), z1 ~ N(0,1) (independent of x1),
    mu = exp(0.5 + 0.4 x1 - 0.6 x2),   ln alpha = -0.3 + 0.5 z1 + 0.4 x2,
    y ~ NB2(mu, alpha) drawn as Poisson(mu * Gamma(1/alpha, alpha)).
Fits y on (const, x1, x2) with ln alpha on (const, z1, x2), OIM covariance (and robust).

Usage:
    .venv/bin/python benchmarks/montecarlo_gnb.py [--n 1000] [--reps 1000] [--seed 20261121]
Prints, per parameter: true value, mean estimate, bias, relative bias, SD of estimates, mean
OIM SE, and coverage of the 95% OIM and robust CIs (with the binomial Monte Carlo SE).
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd

from regrowth.models import GeneralizedNegativeBinomial

BETA = np.array([0.5, 0.4, -0.6])
GAMMA = np.array([-0.3, 0.5, 0.4])
NAMES = ["Intercept", "x1", "x2", "lnalpha:Intercept", "lnalpha:z1", "lnalpha:x2"]


def simulate(rng: np.random.Generator, n: int):
    x1 = rng.normal(size=n)
    x2 = (rng.random(n) < 0.4).astype(float)
    z1 = rng.normal(size=n)
    X = np.c_[np.ones(n), x1, x2]
    Z = np.c_[np.ones(n), z1, x2]
    mu = np.exp(X @ BETA)
    alpha = np.exp(Z @ GAMMA)
    y = rng.poisson(mu * rng.gamma(1.0 / alpha, alpha))
    return y, X, Z


def run(n: int = 1000, reps: int = 1000, seed: int = 20261121) -> tuple[pd.DataFrame, dict]:
    rng = np.random.default_rng(seed)
    true = np.r_[BETA, GAMMA]
    z = 1.959963984540054
    est, se, se_rob = [], [], []
    failed = 0
    t0 = time.perf_counter()
    for _ in range(reps):
        y, X, Z = simulate(rng, n)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = GeneralizedNegativeBinomial(y, X, exog_disp=Z).fit()
        if not res.converged:
            failed += 1
            continue
        p = np.asarray(res.params)
        est.append(p)
        se.append(np.asarray(res.bse))
        se_rob.append(np.asarray(res.get_robustcov("robust").bse))
    elapsed = time.perf_counter() - t0
    est, se, se_rob = np.array(est), np.array(se), np.array(se_rob)
    m = est.shape[0]
    cover = (np.abs(est - true) <= z * se).mean(0)
    cover_rob = (np.abs(est - true) <= z * se_rob).mean(0)
    table = pd.DataFrame({
        "true": true, "mean": est.mean(0), "bias": est.mean(0) - true,
        "rel_bias": (est.mean(0) - true) / np.abs(true), "mc_se_bias": est.std(0, ddof=1) / np.sqrt(m),
        "sd": est.std(0, ddof=1), "mean_se_oim": se.mean(0),
        "cover95_oim": cover, "cover95_robust": cover_rob,
    }, index=NAMES)
    meta = {"n": n, "reps": reps, "converged": m, "failed": failed, "seed": seed,
            "seconds": elapsed, "coverage_mc_se": float(np.sqrt(0.95 * 0.05 / m))}
    return table, meta


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--reps", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=20261121)
    a = ap.parse_args()
    table, meta = run(a.n, a.reps, a.seed)
    print(f"GeneralizedNegativeBinomial Monte Carlo: n={meta['n']}, reps={meta['reps']}, "
          f"converged={meta['converged']}, failed={meta['failed']}, seed={meta['seed']}, "
          f"{meta['seconds']:.1f} s")
    print(f"coverage Monte Carlo SE: {meta['coverage_mc_se']:.4f}")
    with pd.option_context("display.float_format", "{:.4f}".format, "display.width", 160,
                           "display.max_columns", None):
        print(table)


if __name__ == "__main__":
    main()
