"""Benchmark of ``regrowth.models.count_panel.poisson_fe`` against ``pyfixest.fepois``,
measured in the same run (not a test: it prints times and ratios and asserts nothing).

Run from the repository root::

    .venv/bin/python benchmarks/bench_poisson_fe.py [--repeats 7] [--periods 10]
        [--panels 50 346 1000] [--dummies-max-panels 50]

Design (simulated, seeded): G panels x T periods (G = 50, 346, 1000; T = 10), three
regressors, panel effects a_i ~ N(0, 1), an exposure e_it ~ U(0.5, 2),
y_it ~ Poisson(e_it exp(a_i + g_t + 0.3 x1 - 0.2 x2 + 0.1 x3)). The same model on both
sides, with the same standard errors:

* ours: ``poisson_fe(y, X, g, time=t, exposure=e)`` -- panel constants concentrated out,
  year dummies, SEs clustered by panel with G/(G-1);
* peer: ``pyfixest.fepois("y ~ x1 + x2 + x3 | g + t", offset="ln_e", vcov={"CRV1": "g"},
  ssc=pf.ssc(k_adj=False, G_adj=True))`` at its default tolerances (IRLS with alternating
  projections for the two effects; ``iwls_tol`` 1e-8), which is how a user calls it;
* for reference, once per size up to ``--dummies-max-panels`` panels (default 50; 0 skips
  it): the dummy-variable fit the previous ``poisson_fe`` made, statsmodels ``GLM(Poisson)``
  on a dense design with G - 1 panel dummies (measured at 346 x 10 under load 4-6: 74 s,
  which is why it is off there by default).

Timing: ``time.perf_counter`` around the whole call (input handling, fit, covariance),
median of ``--repeats`` calls, ours and the peer interleaved so that load from other
processes hits both alike; one warm-up call of each first (pyfixest compiles its numba
kernels on the first call). The ratio is peer time / our time (above 1: ours is faster).
The last columns give the largest relative difference of the coefficients and of the
clustered SEs between the two (pyfixest stops at its own tolerance, so ~1e-8 is expected).
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import numpy as np
import pandas as pd

from regrowth.models.count_panel import poisson_fe

SLOPES = ["x1", "x2", "x3"]


def simulate(G: int, T: int, seed: int = 20260) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(G), T)
    t = np.tile(np.arange(2000, 2000 + T), G)
    x = rng.normal(size=(G * T, 3))
    a = np.repeat(rng.normal(size=G), T)
    year = 0.05 * (t - 2000)
    e = rng.uniform(0.5, 2.0, size=G * T)
    y = rng.poisson(e * np.exp(a + year + x @ np.array([0.3, -0.2, 0.1])))
    df = pd.DataFrame(x, columns=SLOPES)
    df["y"], df["g"], df["t"], df["e"], df["ln_e"] = y, g, t, e, np.log(e)
    return df


def ours(df):
    return poisson_fe(df["y"], df[SLOPES], df["g"], time=df["t"], exposure=df["e"])


def peer(df):
    import pyfixest as pf

    return pf.fepois("y ~ x1 + x2 + x3 | g + t", df, offset="ln_e", vcov={"CRV1": "g"},
                     ssc=pf.ssc(k_adj=False, G_adj=True))


def dummies(df):
    import statsmodels.api as sm

    D = pd.concat([df[SLOPES], pd.get_dummies(df["t"], prefix="year", drop_first=True, dtype=float),
                   pd.get_dummies(df["g"], prefix="panel", drop_first=True, dtype=float)], axis=1)
    return sm.GLM(df["y"], sm.add_constant(D), family=sm.families.Poisson(),
                  offset=df["ln_e"]).fit(tol=1e-10)


def timed(fn, df):
    t0 = time.perf_counter()
    out = fn(df)
    return time.perf_counter() - t0, out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--periods", type=int, default=10)
    ap.add_argument("--panels", type=int, nargs="+", default=[50, 346, 1000])
    ap.add_argument("--dummies-max-panels", type=int, default=50,
                    help="time the dense dummy-variable GLM up to this many panels (0: never)")
    a = ap.parse_args()
    warnings.simplefilter("ignore")
    import pyfixest

    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} "
          "(other processes slow both columns alike)")
    print(f"poisson_fe vs pyfixest {pyfixest.__version__} fepois, panels x {a.periods} periods, "
          f"3 regressors + year effects + exposure, SEs clustered by panel (G/(G-1)); "
          f"median of {a.repeats} interleaved calls")
    head = (f"{'panels':>7}{'n':>8}{'poisson_fe ms':>15}{'fepois ms':>11}{'ratio':>8}"
            f"{'max rel diff b':>16}{'max rel diff se':>17}{'dummies GLM ms':>16}")
    print(head)
    for G in a.panels:
        df = simulate(G, a.periods)
        ours(df), peer(df)  # warm-up (imports, numba compilation)
        t_ours, t_peer = [], []
        for _ in range(a.repeats):
            t, res = timed(ours, df)
            t_ours.append(t)
            t, fit = timed(peer, df)
            t_peer.append(t)
        mo, mp = float(np.median(t_ours)), float(np.median(t_peer))
        db = np.max(np.abs(res.params[SLOPES].to_numpy() / fit.coef()[SLOPES].to_numpy() - 1))
        ds = np.max(np.abs(res.bse[SLOPES].to_numpy() / fit.se()[SLOPES].to_numpy() - 1))
        glm = "-"
        if G <= a.dummies_max_panels:
            t, _ = timed(dummies, df)
            glm = f"{t * 1e3:.0f}"
        print(f"{G:>7}{len(df):>8}{mo * 1e3:>15.1f}{mp * 1e3:>11.1f}{mp / mo:>8.2f}"
              f"{db:>16.1e}{ds:>17.1e}{glm:>16}", flush=True)
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
