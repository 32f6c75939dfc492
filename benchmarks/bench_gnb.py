"""Benchmark of GeneralizedNegativeBinomial (not a test).

1. randhie (20,190 obs), mean equation with the nine regressors and a constant, ln alpha on
   (const, lncoins, idp, physlm, disea): our fit vs R glmmTMB(family = nbinom2, dispformula),
   timed inside R over a fixed number of repeats (R start-up and package loading excluded).
2. randhie constant alpha (NB2): ours vs statsmodels NegativeBinomial (nb2) with its default
   optimiser and with Newton.
3. Simulated data, 10^5 and 10^6 observations (4 mean, 3 dispersion coefficients): fit time and
   peak memory (tracemalloc peak of Python/numpy allocations during the fit, in a separate run
   from the timing; and the process's max RSS).

Usage: .venv/bin/python benchmarks/bench_gnb.py [--repeats 5] [--no-large] [--quick]
``--quick`` (what ``make bench`` runs): no simulated rows, 3 glmmTMB repeats.
The R row is skipped with a message if Rscript (or glmmTMB) is not available.

Our three randhie timings (construct + fit, from_formula + fit, Newton iterations alone) are
interleaved -- one call of each in turn, ``max(repeats, 30)`` rounds after one warm-up call
of each -- so that load from other processes hits them alike and their ratio means something
on a shared machine. Each is reported as the median wall time (the ratio of record), the
median CPU time of the process (less sensitive to other processes) and the median number of
minor page faults per call (fresh memory the call touched). The ratio is then measured again
with from_formula + fit and Newton alone interleaved without construct + fit between them, an
allocation pattern in which glibc returns each collected model's memory to the system, so a
new model's own arrays fault in again.

"Newton iterations alone" is what ``fit()`` runs after its starting values, on a model that
is already built: ``model._newton(start, maxiter=100, tol=1e-12)`` -- the same safeguarded
Newton loop, with its final checks -- on a model built by the same ``from_formula`` call,
from ``start = model.start_params_default()``, the Poisson-based starting values ``fit()``
computes (the Poisson fit itself is not timed: it is part of building the start). The
benchmark checks that these runs give the same estimates, bit for bit, and the same number
of iterations as ``from_formula(...).fit()``. What the ratio leaves to the whole fit: parsing
the formulas and building the designs and the model, the Poisson start, the first touch of a
new model's memory (its arrays and the Newton iterations' scratch arrays), and the results
object.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import tempfile
import time
import tracemalloc
import warnings

import numpy as np
import pandas as pd
import statsmodels
import statsmodels.api as sm

from regrowth.models import GeneralizedNegativeBinomial

Z_COLS = ["lncoins", "idp", "physlm", "disea"]

R_CODE = r"""
suppressMessages(library(glmmTMB))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1]); reps <- as.integer(args[2])
f <- mdvis ~ lncoins + idp + lpi + fmde + physlm + disea + hlthg + hlthf + hlthp
m <- glmmTMB(f, dispformula = ~ lncoins + idp + physlm + disea, family = nbinom2, data = d)
t <- numeric(reps)
for (i in seq_len(reps)) {
  t0 <- proc.time()[["elapsed"]]
  m <- glmmTMB(f, dispformula = ~ lncoins + idp + physlm + disea, family = nbinom2, data = d)
  t[i] <- proc.time()[["elapsed"]] - t0
}
cat(jsonlite::toJSON(list(times = t, llf = as.numeric(logLik(m)),
                          version = as.character(packageVersion("glmmTMB"))),
                     digits = NA, auto_unbox = TRUE))
"""


def best_of(fn, repeats):
    fn()  # warm-up (imports, caches)
    times = []
    out = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return np.median(times), min(times), out


def _minor_faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def interleaved(fns: dict, repeats: int) -> dict:
    """{name: (median s, min s, last output, median CPU s, median minor page faults)}: one
    call of each function in turn per round, after one warm-up call of each."""
    outs = {k: f() for k, f in fns.items()}
    times = {k: [] for k in fns}
    cpu = {k: [] for k in fns}
    faults = {k: [] for k in fns}
    for _ in range(repeats):
        for k, f in fns.items():
            f0 = _minor_faults()
            c0 = time.process_time()
            t0 = time.perf_counter()
            outs[k] = f()
            times[k].append(time.perf_counter() - t0)
            cpu[k].append(time.process_time() - c0)
            faults[k].append(_minor_faults() - f0)
    return {k: (float(np.median(v)), min(v), outs[k], float(np.median(cpu[k])),
                float(np.median(faults[k]))) for k, v in times.items()}


def randhie_csv():
    return os.path.join(os.path.dirname(statsmodels.__file__), "datasets", "randhie",
                        "randhie.csv")


def bench_r(repeats):
    if shutil.which("Rscript") is None:
        print("  glmmTMB: skipped (Rscript not on PATH)")
        return None
    with tempfile.NamedTemporaryFile("w", suffix=".R", delete=False) as fh:
        fh.write(R_CODE)
        path = fh.name
    try:
        out = subprocess.run(["Rscript", path, randhie_csv(), str(repeats)], capture_output=True,
                             text=True, timeout=1800)
    finally:
        os.unlink(path)
    if out.returncode != 0:
        print("  glmmTMB: skipped (R failed: " + out.stderr.strip().splitlines()[-1] + ")")
        return None
    res = json.loads(out.stdout.strip().splitlines()[-1])
    return res


def simulate(n, seed=12345):
    rng = np.random.default_rng(seed)
    X = np.c_[np.ones(n), rng.normal(size=(n, 2)), (rng.random(n) < 0.3)]
    Z = np.c_[np.ones(n), rng.normal(size=n), X[:, 3]]
    mu = np.exp(X @ np.array([0.5, 0.3, -0.2, 0.4]))
    alpha = np.exp(Z @ np.array([-0.5, 0.4, 0.3]))
    y = rng.poisson(mu * rng.gamma(1 / alpha, alpha))
    return y, X, Z


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--no-large", action="store_true")
    ap.add_argument("--quick", action="store_true",
                    help="no simulated rows, 3 glmmTMB repeats (make bench)")
    a = ap.parse_args()
    if a.quick:
        a.no_large = True
    warnings.simplefilter("ignore")
    d = sm.datasets.randhie.load_pandas()
    y = d.endog
    X = sm.add_constant(d.exog, prepend=True)
    Z = X[["const"] + Z_COLS]
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} "
          "(other processes slow every row alike)")
    rounds = max(a.repeats, 30)
    print(f"randhie, n={len(y)}, ln alpha on const + {' + '.join(Z_COLS)}: our three timings "
          f"interleaved, median of {rounds} rounds; glmmTMB median of "
          f"{3 if a.quick else a.repeats} repeats")

    frame = pd.concat([d.endog, d.exog], axis=1)
    formula = f"{d.endog.name} ~ " + " + ".join(d.exog.columns)
    disp = "~ " + " + ".join(Z_COLS)
    # "Newton alone": fit()'s Newton loop on a model built by the same from_formula call, from
    # the starting values fit() computes (see the module docstring)
    model = GeneralizedNegativeBinomial.from_formula(formula, frame, disp_formula=disp)
    start = model.start_params_default()
    timed = interleaved({
        "arrays": lambda: GeneralizedNegativeBinomial(y, X, exog_disp=Z).fit(),
        "formula": lambda: GeneralizedNegativeBinomial.from_formula(
            formula, frame, disp_formula=disp).fit(),
        "newton": lambda: model._newton(start, 100, 1e-12),
    }, rounds)
    t_med, t_min, res, t_cpu, t_flt = timed["arrays"]
    f_med, f_min, fres, f_cpu, f_flt = timed["formula"]
    n_med, n_min, nres, n_cpu, n_flt = timed["newton"]
    same = (np.array_equal(nres[0], np.asarray(fres.params))
            and nres[4]["iterations"] == fres.mle_retvals["iterations"])
    if not same:
        raise SystemExit("Newton alone did not reproduce from_formula(...).fit(): the two "
                         "timings would not be of the same work")
    print(f"  regrowth GNB (construct + fit): {t_med * 1e3:8.1f} ms (min {t_min * 1e3:.1f}; "
          f"CPU {t_cpu * 1e3:.1f}; {t_flt:.0f} page faults), llf {res.llf:.6f}, iterations "
          f"{res.mle_retvals['iterations']}")
    print(f"  regrowth GNB from_formula + fit:   {f_med * 1e3:8.1f} ms (min {f_min * 1e3:.1f}; "
          f"CPU {f_cpu * 1e3:.1f}; {f_flt:.0f} page faults), llf {fres.llf:.6f}")
    print(f"  Newton iterations alone:           {n_med * 1e3:8.1f} ms (min {n_min * 1e3:.1f}; "
          f"CPU {n_cpu * 1e3:.1f}; {n_flt:.0f} page faults), same estimates (bit for bit) and "
          f"iterations ({nres[4]['iterations']}) as from_formula + fit")
    print(f"  from_formula + fit / Newton alone: {f_med / n_med:.2f}x (median), "
          f"{f_min / n_min:.2f}x (min), {f_cpu / n_cpu:.2f}x (median CPU time)")
    # the same two without construct + fit between them: the C library then tends to return
    # the memory of each collected model to the system, and a new model's own arrays fault in
    pair = interleaved({
        "formula": lambda: GeneralizedNegativeBinomial.from_formula(
            formula, frame, disp_formula=disp).fit(),
        "newton": lambda: model._newton(start, 100, 1e-12),
    }, rounds)
    p_med, _, _, p_cpu, p_flt = pair["formula"]
    q_med, _, _, q_cpu, q_flt = pair["newton"]
    print(f"  the two alone, interleaved:        {p_med / q_med:.2f}x (median), "
          f"{p_cpu / q_cpu:.2f}x (median CPU time); {p_flt:.0f} and {q_flt:.0f} page faults "
          "per call")
    r = bench_r(3 if a.quick else a.repeats)
    if r is not None:
        rt = np.median(r["times"])
        print(f"  glmmTMB {r['version']} (fit only):  {rt * 1e3:8.1f} ms (min "
              f"{min(r['times']) * 1e3:.1f}), llf {r['llf']:.6f}")
        print(f"  ratio glmmTMB / regrowth from_formula + fit: {rt / f_med:.1f}x (median)")
        print(f"  ratio glmmTMB / regrowth: {rt / t_med:.1f}x (median), "
              f"{min(r['times']) / t_min:.1f}x (min)")

    print("randhie, constant alpha (NB2)")
    t_nb, t_nbmin, res_nb = best_of(lambda: GeneralizedNegativeBinomial(y, X).fit(), a.repeats)
    print(f"  regrowth GNB:                    {t_nb * 1e3:8.1f} ms, llf {res_nb.llf:.6f}")
    for label, kw in (("default (bfgs)", {}), ("newton", {"method": "newton"})):
        t_sm, _, r_sm = best_of(lambda: sm.NegativeBinomial(y, X).fit(disp=0, **kw), a.repeats)
        print(f"  statsmodels NegativeBinomial {label:15s} {t_sm * 1e3:8.1f} ms, llf "
              f"{r_sm.llf:.6f}, ratio {t_sm / t_nb:.1f}x")

    if a.no_large:
        return
    for n in (10 ** 5, 10 ** 6):
        ys, Xs, Zs = simulate(n)
        reps = 3 if n <= 10 ** 5 else 2
        t_med, t_min, res = best_of(lambda: GeneralizedNegativeBinomial(ys, Xs, exog_disp=Zs)
                                    .fit(), reps)
        tracemalloc.start()
        GeneralizedNegativeBinomial(ys, Xs, exog_disp=Zs).fit()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"simulated n={n:>8d}: {t_med:6.2f} s (min {t_min:.2f}) construct + fit, "
              f"{res.mle_retvals['iterations']} iterations, converged {res.converged}; "
              f"tracemalloc peak {peak / 2 ** 20:7.1f} MiB "
              f"(data {(ys.nbytes + Xs.nbytes + Zs.nbytes) / 2 ** 20:.1f} MiB), "
              f"process max RSS {rss:.0f} MiB")


if __name__ == "__main__":
    main()
