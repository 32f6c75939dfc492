"""Monte Carlo of inference with 16 provinces, at the study's own design.

Run from the repository root (after ``make panel``)::

    .venv/bin/python benchmarks/montecarlo_inference.py            # full: 1,000 + 1,000 reps
    .venv/bin/python benchmarks/montecarlo_inference.py --quick    # 60 + 60 reps, B = 399

Synthetic data drawn from the fitted models (seeded; ``numpy.random.SeedSequence(seed)``
spawns one stream per replication, so results do not depend on the number of workers).
Writes ``benchmarks/results/montecarlo_inference.{csv,json}`` and the figure as
``.png``, ``.pdf`` and ``.svg`` (``--out`` to change; ``--figure-only`` redraws the figure from
the stored CSV).

Designs (H0 true: the 재정자립도 coefficient is 0 in the DGP)
-----------------------------------------------------------
* **GNB (innovation)**: the regressors, exposure/offset and dispersion regressors of
  ``table1_innovation/gnb_main`` (96 observations, 16 provinces x 6 years) are held fixed;
  mu_it = exp(x_it'b^ + u_g) with b^ the fitted coefficients except b_fsr = 0 and a
  province random effect u_g ~ N(0, 0.3^2); alpha_it = exp(z_it'g^) from the fit; y ~
  NB2(mu, alpha) drawn as Poisson(mu Gamma(1/alpha, alpha)). Each sample is refitted by
  GNB clustered by province.
* **Fixed effects (growth)**: ``table2_growth/fe_main`` (two-way FE, 16 provinces x 16
  years as the spec samples them: 254 observations after the spec drops Chungnam 2012-13):
  y_it = (fitted systematic part with b_fsr = 0, province and year effects included)
  + u_g + e_it, u_g ~ N(0, (0.3 s)^2) (absorbed by the FE, kept for symmetry),
  e_it = s_g v_it with v_it AR(1) (rho = 0.5, unit variance) within province and s_g the
  province's residual SD: the errors are heteroskedastic across and serially correlated
  within provinces, which is what clustering is for.

Tests of H0: b_fsr = 0 at 5% (coverage of the 95% interval = 1 - rejection rate, since every
interval here is the inversion of its test):
``oim`` (GNB: observed information; FE: conventional SEs, t(n-k)), ``cluster_normal``
(Stata's factor, normal), ``cluster_t`` (same SE, t(G-1), as Stata's xtreg), ``cr2``
(FE only: CR2 with Satterthwaite df), ``boot_rademacher`` and ``boot_webb``
(:func:`regrowth.inference.boottest`: score bootstrap after GNB with the default
``score_variance="onestep"``, WCR after FE; B draws) and, GNB only, ``boot_webb_fixed``
(the score bootstrap with Kline & Santos' fixed variance, as Stata's ``boottest``).
Monte Carlo SE of a rejection rate p: sqrt(p(1-p)/R).
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

PARAM = "fiscal_self_reliance_l1"
METHODS_GNB = ("oim", "cluster_normal", "cluster_t", "boot_rademacher", "boot_webb",
               "boot_webb_fixed")
METHODS_FE = ("oim", "cluster_normal", "cluster_t", "cr2", "boot_rademacher", "boot_webb")


# --------------------------------------------------------------------------- designs

def gnb_design(root=None) -> dict:
    from regrowth.fit import refit

    res = refit("table1_innovation", "gnb_main", root)
    m = res.model
    names = list(m.data.param_names)
    params = np.asarray(res.params, dtype=float)
    k = m.k_mean
    beta = params[:k].copy()
    beta[names.index(PARAM)] = 0.0
    return {"X": np.asarray(m._X), "Z": np.asarray(m.exog_disp), "offset": np.asarray(m.offset),
            "beta": beta, "gamma": params[k:], "groups": np.asarray(m.groups),
            "xnames": names[:k], "j": names.index(PARAM)}


def fe_design(root=None) -> dict:
    from regrowth.fit import refit

    res = refit("table2_growth", "fe_main", root)
    inner = getattr(res, "results", res)
    y = inner.model.dependent.dataframe.iloc[:, 0]
    exog = inner.model.exog.dataframe
    resid = inner.resids.reindex(y.index)
    systematic = (y - resid - float(res.params[PARAM]) * exog[PARAM]).to_numpy()
    region = np.asarray(y.index.get_level_values(0))
    codes, uniq = pd.factorize(region, sort=True)
    sd_g = pd.Series(resid.to_numpy()).groupby(codes).std().to_numpy()
    return {"exog": exog, "yname": str(y.name), "systematic": systematic, "index": y.index,
            "codes": codes, "sd_g": sd_g, "G": len(uniq)}


# --------------------------------------------------------------------------- one draw

def _p_normal(t):
    return float(2 * stats.norm.sf(abs(t)))


def gnb_counts(design: dict, rng) -> tuple[np.ndarray, pd.Index]:
    """SYNTHETIC: one sample of the GNB design's counts (a normal province effect of sd 0.3,
    gamma heterogeneity with the design's alpha), drawn from ``rng``; returns (y, the sorted
    province labels). Also the DGP of ``montecarlo_count_null.py``."""
    codes, uniq = pd.factorize(pd.Series(design["groups"]), sort=True)
    u = rng.normal(scale=0.3, size=len(uniq))[codes]
    mu = np.exp(design["X"] @ design["beta"] + design["offset"] + u)
    alpha = np.exp(design["Z"] @ design["gamma"])
    return rng.poisson(mu * rng.gamma(1.0 / alpha, alpha)).astype(float), uniq


def gnb_replication(design: dict, seed, B: int) -> dict:
    from regrowth.inference import boottest
    from regrowth.models import GeneralizedNegativeBinomial

    rng = np.random.default_rng(seed)
    groups = design["groups"]
    y, uniq = gnb_counts(design, rng)
    G = len(uniq)
    X = pd.DataFrame(design["X"], columns=design["xnames"])
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = GeneralizedNegativeBinomial(y, X, design["Z"], offset=design["offset"],
                                            groups=groups)
        res = model.fit(cov_type="cluster")
        if not res.converged:
            return {"converged": False}
        j = design["j"]
        b = float(np.asarray(res.params)[j])
        se_c = float(np.asarray(res.bse)[j])
        se_o = float(np.sqrt(np.diag(res._hinv))[j])
        out["oim"] = _p_normal(b / se_o)
        out["cluster_normal"] = _p_normal(b / se_c)
        out["cluster_t"] = float(2 * stats.t.sf(abs(b / se_c), G - 1))
        bseed = int(rng.integers(2 ** 31))
        for key, w, var in (("boot_rademacher", "rademacher", "onestep"),
                            ("boot_webb", "webb", "onestep"),
                            ("boot_webb_fixed", "webb", "fixed")):
            try:
                out[key] = boottest(res, PARAM, reps=B, weights=w, seed=bseed, ci=False,
                                    score_variance=var).pvalue
            except Exception:  # noqa: BLE001 - a failed restricted fit counts as missing
                out[key] = float("nan")
    out["converged"] = True
    return out


def fe_replication(design: dict, seed, B: int) -> dict:
    from regrowth.inference import boottest, cr2
    from regrowth.models.linear import fit_panel

    rng = np.random.default_rng(seed)
    codes, G = design["codes"], design["G"]
    n = len(codes)
    s = design["sd_g"]
    v = np.empty(n)
    # AR(1), rho = 0.5, unit variance, within province (rows are sorted by province, year)
    first = np.r_[True, codes[1:] != codes[:-1]]
    e = rng.normal(size=n)
    for i in range(n):
        v[i] = e[i] if first[i] else 0.5 * v[i - 1] + np.sqrt(1 - 0.25) * e[i]
    u = rng.normal(scale=0.3 * float(np.mean(s)), size=G)[codes]
    ystar = design["systematic"] + u + s[codes] * v
    dep = pd.Series(ystar, index=design["index"], name=design["yname"])
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = fit_panel("fe", dep, design["exog"], cov_type="clustered",
                        model_options={"time_effects": True})
    # conventional (classical) SE of the two-way within estimator: s^2 (X~'X~)^-1 with
    # n - (regressors + year dummies) - (provinces) residual degrees of freedom
    from regrowth.inference.boottest import _linearmodels_design

    d = _linearmodels_design(res.results, None)
    j = d.names.index(PARAM)
    A = np.linalg.inv(d.X.T @ d.X)
    resid = d.y - d.X @ (A @ d.X.T @ d.y)
    dof = n - d.X.shape[1] - G
    t_conv = float(res.params[PARAM]) / np.sqrt(resid @ resid / dof * A[j, j])
    out["oim"] = float(2 * stats.t.sf(abs(t_conv), dof))
    t = float(res.tstats[PARAM])
    out["cluster_normal"] = _p_normal(t)
    out["cluster_t"] = float(res.pvalues[PARAM])
    out["cr2"] = float(cr2(res, terms=[PARAM]).pvalues[PARAM])
    bseed = int(rng.integers(2 ** 31))
    for w in ("rademacher", "webb"):
        out[f"boot_{w}"] = boottest(res, PARAM, reps=B, weights=w, seed=bseed,
                                    ci=False).pvalue
    out["converged"] = True
    return out


# --------------------------------------------------------------------------- driver

def run(reps: int, B: int, seed: int, n_jobs: int = 2, root=None) -> pd.DataFrame:
    """Rejection rates at 5% (and 95% coverage) by model and method; one row each."""
    from joblib import Parallel, delayed

    rows = []
    for name, design_fn, rep_fn, methods in (
            ("gnb", gnb_design, gnb_replication, METHODS_GNB),
            ("fe", fe_design, fe_replication, METHODS_FE)):
        design = design_fn(root)
        seeds = np.random.SeedSequence([seed, 0 if name == "gnb" else 1]).spawn(reps)
        t0 = time.perf_counter()
        draws = Parallel(n_jobs=n_jobs)(delayed(rep_fn)(design, s, B) for s in seeds)
        secs = time.perf_counter() - t0
        ok = [d for d in draws if d.get("converged")]
        for m in methods:
            p = np.array([d[m] for d in ok], dtype=float)
            p = p[np.isfinite(p)]
            rej = float(np.mean(p < 0.05)) if p.size else float("nan")
            rows.append({"model": name, "method": m, "reps": int(p.size),
                         "rejection_5pct": rej, "coverage_95pct": 1.0 - rej,
                         "mc_se": float(np.sqrt(rej * (1 - rej) / max(p.size, 1))),
                         "failed": reps - int(p.size), "bootstrap_draws": B,
                         "seconds": round(secs, 1)})
    return pd.DataFrame(rows)


#: Readable names of the methods (the codes stay in the CSV and JSON).
METHOD_LABELS = {
    "oim": "Conventional SE (model-based)",
    "cluster_normal": "Cluster-robust SE, normal",
    "cluster_t": "Cluster-robust SE, t(G-1) (Stata)",
    "cr2": "CR2 SE, Satterthwaite df",
    "boot_rademacher": "Bootstrap, Rademacher weights",
    "boot_webb": "Bootstrap, Webb weights",
    "boot_webb_fixed": "Score bootstrap, Webb, fixed variance (boottest)",
}


def figure(table: pd.DataFrame, path: Path, *, source: str | None = None) -> Path:
    """Rejection rate of a true H0 at 5% with its Monte Carlo 95% band, per method, one panel
    per design, in the package's house style (:mod:`regrowth.report.figures`: Okabe-Ito
    colours, wrapped title, source line, deterministic PNG/PDF/SVG)."""
    from regrowth.report import figures

    designs = (("gnb", "GNB (innovation), n = 96"), ("fe", "Two-way FE (growth), n = 254"))
    methods = list(dict.fromkeys(table["method"]))        # one row per method, both panels
    with figures.style():
        fig = figures.new_figure(7.5, 0.32 * len(methods) + 1.9)
        axes = fig.subplots(1, 2, sharex=True, sharey=True, squeeze=False)[0]
        for ax, (name, title) in zip(axes, designs):
            sub = table[table["model"] == name].set_index("method")
            ax.axvspan(0.035, 0.065, color="#E8E8E8", zorder=0)
            ax.axvline(0.05, color="#555555", linewidth=0.8, linestyle="--", zorder=1)
            for y, m in enumerate(methods):
                if m not in sub.index:
                    ax.text(0.98, y, "not run", transform=ax.get_yaxis_transform(),
                            ha="right", va="center", fontsize=7, color="#555555")
                    continue
                rate, se = float(sub.loc[m, "rejection_5pct"]), float(sub.loc[m, "mc_se"])
                ok = 0.035 <= rate <= 0.065
                ax.errorbar([rate], [y], xerr=[[1.96 * se], [1.96 * se]], fmt="o",
                            markersize=4, capsize=2.5, elinewidth=1.2, zorder=3,
                            color=figures.COLORS[0] if ok else figures.COLORS[1])
            ax.set_title(title, loc="left", fontsize=9)
            ax.grid(axis="y", visible=False)
            ax.set_xlabel("Rejection rate of a true H0 at 5%")
            ax.xaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
        axes[0].set_yticks(range(len(methods)), [METHOD_LABELS.get(m, m) for m in methods])
        axes[0].set_ylim(len(methods) - 0.5, -0.5)
        axes[0].set_xlim(0.0, max(0.1, float((table["rejection_5pct"]
                                               + 1.96 * table["mc_se"]).max()) * 1.05))
        figures.figure_title(fig, "Size of tests of the fiscal self-reliance coefficient with "
                                  "16 provinces (H0 true)")
        reps, draws = int(table["reps"].max()), int(table["bootstrap_draws"].max())
        figures.source_note(fig, source or (
            f"Source: benchmarks/montecarlo_inference.py, {reps:,} replications per design, "
            f"{draws:,} bootstrap draws per test. Dashed line: nominal 5%; grey band: "
            "acceptable size, 3.5% to 6.5%; bars: Monte Carlo 95% band (1.96 x MC SE); "
            "orange: a rate outside the acceptable band."))
        figures.finish(fig)
        return figures.save_figure(fig, path)["png"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=1000)
    ap.add_argument("--boot", type=int, default=999, help="bootstrap draws per test")
    ap.add_argument("--seed", type=int, default=20181207)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="60 replications, B = 399")
    ap.add_argument("--out", default="benchmarks/results")
    ap.add_argument("--figure-only", action="store_true",
                    help="redraw the figure from the stored CSV, without running the Monte Carlo")
    args = ap.parse_args()
    if args.figure_only:
        stem = Path(args.out) / ("montecarlo_inference_quick" if args.quick
                                 else "montecarlo_inference")
        print(f"written {figure(pd.read_csv(stem.with_suffix('.csv')), stem)}")
        return
    reps, B = (60, 399) if args.quick else (args.reps, args.boot)
    t0 = time.perf_counter()
    table = run(reps, B, args.seed, args.jobs)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = out / ("montecarlo_inference_quick" if args.quick else "montecarlo_inference")
    table.to_csv(stem.with_suffix(".csv"), index=False, float_format="%.4f")
    stem.with_suffix(".json").write_text(json.dumps(
        {"reps": reps, "bootstrap_draws": B, "seed": args.seed, "jobs": args.jobs,
         "rows": table.to_dict(orient="records")}, indent=1) + "\n")
    figure(table, stem.with_suffix(".png"))
    with pd.option_context("display.width", 120):
        print(table.to_string(index=False))
    print(f"{time.perf_counter() - t0:.0f} s; written {stem}.{{csv,json,png,pdf,svg}}")


if __name__ == "__main__":
    main()
