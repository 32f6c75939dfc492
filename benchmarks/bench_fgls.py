"""Benchmark PanelFGLS (Stata xtgls) against R nlme::gls, measured in the same run.

Run from the repository root::

    .venv/bin/python benchmarks/bench_fgls.py            # full grid (a few minutes)
    .venv/bin/python benchmarks/bench_fgls.py --quick    # small sizes only

This is a benchmark, not a test: it prints wall time and peak memory and the ratio
R / Python; it asserts nothing.

Designs (simulated, seeded; y = 1 + x1 - 0.5 x2 + 0.25 x3 + e)
---------------------------------------------------------------
* ``panels="hetero", corr="ar1"``: N panels x T = 50 periods, N up to 1,000
  (50,000 observations), e_it = 0.6 e_i,t-1 + u_it, sd(u_it) differing by panel.
  Peer: ``nlme::gls(y ~ x1 + x2 + x3, weights = varIdent(form = ~1 | id),
  correlation = corAR1(form = ~ time | id), method = "ML")`` -- the same model, but
  nlme maximises the likelihood jointly over rho and the N variance ratios, whereas
  xtgls is a three-step estimator, so only the timings are compared, not the
  numbers. nlme optimises the N - 1 variance ratios numerically and its cost grows
  steeply with N (about 2 min at N = 100, beyond 5 min at N = 200 on the project's
  2-core machine), so R is run only up to ``--r-max-panels`` (default 100) panels
  and under ``--r-timeout`` (default 300 s).
* ``panels="iid", corr="ar1"`` against ``nlme::gls(..., correlation = corAR1(form =
  ~ time | id), method = "ML")`` (no variance weights), which nlme fits quickly, so
  this pair gives an R ratio all the way to 1,000 panels.
* ``panels="correlated", corr="psar1"``: 40 panels x 50 periods (and 10 x 50). The
  unrestricted N x N cross-panel covariance is estimable only with T >= N (it is
  the average of T outer products), so a 1,000-panel version would need 1,000+
  periods; with T < N Stata silently uses a generalized inverse, which PanelFGLS
  does only with ``force=True`` -- the 200 x 50 and 1,000 x 50 rows time that
  case, to show how the N x N step scales, not as a recommended model. Errors have a common period shock (so panels are
  correlated) plus panel-specific AR(1) terms. nlme has no model with an
  unrestricted cross-panel covariance and panel-specific AR(1), so this design runs
  without an R peer.

Timing: ``time.perf_counter`` around model construction + fit (Python), and
``system.time`` around ``gls()`` inside R (R's start-up and data loading are not
counted). Peak memory: ``tracemalloc`` peak of Python allocations during the fit
(numpy reports its buffers to tracemalloc); for R, the "max used" Mb of
``gc()`` after ``gc(reset = TRUE)``. Rscript absent: the R column is skipped with a
message.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from regrowth.models.fgls import PanelFGLS

T = 50
R_SCRIPT = r"""
suppressPackageStartupMessages(library(nlme))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1]); d$id <- factor(d$id)
invisible(gc(reset = TRUE))
w <- if (args[2] == "hetero") varIdent(form = ~ 1 | id) else NULL
tm <- system.time(
  g <- gls(y ~ x1 + x2 + x3, data = d, weights = w,
           correlation = corAR1(form = ~ time | id), method = "ML")
)
mem <- gc()
phi <- coef(g$modelStruct$corStruct, unconstrained = FALSE)
cat(jsonlite::toJSON(list(seconds = unname(tm["elapsed"]),
                          max_mb = sum(mem[, ncol(mem)]),
                          coef = unname(coef(g)), rho = unname(phi)),
                     digits = NA, auto_unbox = TRUE))
"""


def simulate(n: int, t: int = T, *, common_shock: bool = False, seed: int = 0):
    rng = np.random.default_rng(seed + 7919 * n)
    x = rng.normal(size=(n, t, 3))
    sd = rng.uniform(0.5, 3.0, size=n)
    rho = rng.uniform(0.2, 0.8, size=n) if common_shock else np.full(n, 0.6)
    u = rng.normal(size=(n, t)) * sd[:, None]
    if common_shock:
        u = u + 1.5 * rng.normal(size=(1, t))
    e = np.empty((n, t))
    e[:, 0] = u[:, 0] / np.sqrt(1 - rho ** 2)
    for s in range(1, t):  # loop over the 50 periods, vectorised over panels
        e[:, s] = rho * e[:, s - 1] + u[:, s]
    y = 1.0 + x @ np.array([1.0, -0.5, 0.25]) + e
    idx = pd.MultiIndex.from_product([np.arange(1, n + 1), np.arange(1, t + 1)],
                                     names=["id", "time"])
    df = pd.DataFrame({"y": y.ravel(), "x1": x[..., 0].ravel(), "x2": x[..., 1].ravel(),
                       "x3": x[..., 2].ravel()}, index=idx)
    return df


def time_python(df: pd.DataFrame, repeat: int, **opts):
    exog = df[["x1", "x2", "x3"]].assign(const=1.0)
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        res = PanelFGLS(df["y"], exog, **opts).fit()
        best = min(best, time.perf_counter() - t0)
    tracemalloc.start()
    PanelFGLS(df["y"], exog, **opts).fit()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return best, peak / 2 ** 20, res


def time_r(df: pd.DataFrame, panels: str, timeout: float):
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "d.csv"
        script = Path(tmp) / "bench.R"
        df.reset_index().to_csv(csv, index=False)
        script.write_text(R_SCRIPT)
        try:
            out = subprocess.run(["Rscript", str(script), str(csv), panels], capture_output=True,
                                 text=True, timeout=timeout, check=True)
        except subprocess.TimeoutExpired:
            return None, f"timed out after {timeout:.0f} s"
        except subprocess.CalledProcessError as exc:
            return None, f"R failed: {exc.stderr.strip()[-200:]}"
    return json.loads(out.stdout), ""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes only")
    ap.add_argument("--r-timeout", type=float, default=300.0)
    ap.add_argument("--r-max-panels", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    have_r = shutil.which("Rscript") is not None
    if not have_r:
        print("Rscript not found: R timings skipped (apt-get install r-base-core "
              "r-cran-nlme r-cran-jsonlite)")

    sizes = [20, 50, 200] if args.quick else [20, 50, 100, 200, 1000]
    corr_sizes = [10, 40]
    print(f"{'design':<20}{'N x T':>9}{'py s':>9}{'py MB':>8}{'R s':>9}{'R MB':>8}"
          f"{'R/py':>9}  note")
    for panels in ("hetero", "iid"):
        for n in sizes:
            df = simulate(n)
            py_s, py_mb, res = time_python(df, args.repeat, panels=panels, corr="ar1")
            r_s = r_mb = ratio = float("nan")
            note = f"rho={res.rho:.3f}"
            if not have_r:
                note += "; R skipped (no Rscript)"
            elif panels == "hetero" and n > args.r_max_panels:
                note += f"; nlme not run (N > --r-max-panels={args.r_max_panels})"
            else:
                rr, msg = time_r(df, panels, args.r_timeout)
                if rr is None:
                    note += f"; nlme {msg}"
                else:
                    r_s, r_mb = rr["seconds"], rr["max_mb"]
                    ratio = r_s / py_s
                    note += f"; nlme ML rho={rr['rho']:.3f}"
            print(f"{panels + ', ar1':<20}{f'{n}x{T}':>9}{py_s:>9.3f}{py_mb:>8.1f}"
                  f"{r_s:>9.2f}{r_mb:>8.1f}{ratio:>9.0f}  {note}", flush=True)
    force_sizes = [200] if args.quick else [200, 1000]
    for n in corr_sizes + force_sizes:
        df = simulate(n, common_shock=True)
        force = n > T
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the T < N pseudo-inverse warning
            py_s, py_mb, res = time_python(df, args.repeat, panels="correlated",
                                           corr="psar1", force=force)
        note = ("force=True: T < N, Sigma singular, pseudo-inverse; " if force else "")
        note += "no R peer (nlme has no unrestricted cross-panel Sigma)"
        label = "correlated, psar1"
        print(f"{label:<20}{f'{n}x{T}':>9}{py_s:>9.3f}{py_mb:>8.1f}"
              f"{'-':>9}{'-':>8}{'-':>9}  {note}", flush=True)


if __name__ == "__main__":
    main()
