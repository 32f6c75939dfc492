# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
#   regrowth:
#     reads: []
# ---

# %% [markdown]
# # 5. The multiverse: every defensible specification at once
#
# *Every test, weight and estimator named here is explained in a sentence or two in
# [the glossary](GLOSSARY.md).*
#
# The study publishes neither its data nor its tables, so its decentralization measure, lags,
# controls, dispersion equation, sample, estimator, time effects and standard errors are all
# reconstructions. Tables 1-4 show a handful of choices. This notebook shows *all* the
# combinations declared in the `[[curve]]` blocks of `specs/models.toml`, as a
# **specification curve** (Simonsohn, Simmons & Nelson 2020, *Nature Human Behaviour*): every
# specification's estimate, sorted, with its interval, and below it the choices that produced
# it.
#
# `make curve` (or `regrowth curve --backend processes`) fits the curves and writes
# `results/curve/<id>.json`, `.csv` and the figures; this notebook only reads those files. The
# numbers in the text below are read from them, not typed in.

# %%

import numpy as np
import pandas as pd
from IPython.display import Image, Markdown, display

from regrowth.report import reader

ROOT = reader.project_root()
CURVES = ROOT / "results" / "curve"
pd.set_option("display.precision", 4)
pd.set_option("display.width", 120)


def load_curve(cid: str) -> dict:
    return reader.load_curve(cid, ROOT)  # completes an interrupted `regrowth curve` first


def frame(rec: dict, role: str) -> pd.DataFrame:
    """One row per fitted specification: its choices and the focal estimate."""
    rows = []
    for s in rec["specifications"]:
        t = s["terms"].get(role) or {}
        if s["error"] or t.get("estimate") is None:
            continue
        rows.append({**s["choices"], "estimate": t["estimate"], "p_value": t["p_value"],
                     "boot_p": t.get("boot_p"), "nobs": s["nobs"]})
    return pd.DataFrame(rows)


def by_choice(df: pd.DataFrame, dims) -> pd.DataFrame:
    """Median estimate and share with p < 0.05 for each option of each dimension."""
    out = []
    for d in dims:
        if d not in df or df[d].nunique() < 2:
            continue
        for opt, g in df.groupby(d, sort=False):
            out.append({"dimension": d, "option": opt, "specifications": len(g),
                        "median estimate": g["estimate"].median(),
                        "share positive": (g["estimate"] > 0).mean(),
                        "share p < 0.05": (g["p_value"] < 0.05).mean(),
                        "share bootstrap p < 0.05": (g["boot_p"].dropna() < 0.05).mean()
                        if g["boot_p"].notna().any() else np.nan})
    return pd.DataFrame(out).set_index(["dimension", "option"])


def pct(x) -> str:
    return "n/a" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{100 * x:.0f}%"


def summary_text(rec: dict, role: str) -> str:
    s = rec["summary"][role]
    return (f"**{rec['n_specifications']}** specifications ({rec['n_fitted']} estimated, "
            f"{rec['n_failed']} failed, {rec['n_not_converged']} without a convergence flag; "
            f"{len(rec['excluded'])} combinations excluded as declared). Median estimate "
            f"**{s['median_estimate']:.4g}**; **{pct(s['share_same_sign'])}** of the estimates "
            f"have the median's sign; **{pct(s['share_p05'])}** have p < 0.05 by the "
            f"specification's own inference, and **{pct(s['share_boot_p05'])}** of the "
            f"{s['n_boot_p']} bootstrap p-values are below 0.05.")


innovation = load_curve("innovation")
growth = load_curve("growth")

# %% [markdown]
# ## Claim 1: decentralization raises regional innovation
#
# The innovation curve varies the decentralization measure (재정자립도 in the old and in the
# revised revenue classification) and its lag (1 or 2 years), the RIS controls, the dispersion
# equation of the generalized negative binomial, population as a regressor or as exposure,
# the estimator (GNB, NB2, Poisson, Poisson with province effects), year effects, the sample
# (16 or 17 provinces, without the capital region, from 2016) and the inference (observed
# information, province-clustered, and the score bootstrap with Webb weights, 999 draws).
# Combinations that make no sense are excluded, each with its reason:

# %%
pd.DataFrame(innovation["exclusions"])

# %%
display(Markdown(summary_text(innovation, "decentralization")))
display(Image(filename=str(CURVES / "innovation_decentralization.png")))

# %% [markdown]
# Which choices move the estimate? The table gives, for every option of every dimension, the
# median estimate and the share of significant estimates among the specifications that made
# that choice.

# %%
inn = frame(innovation, "decentralization")
inn_choices = by_choice(inn, innovation["dimensions"])
inn_choices

# %%
fe = inn_choices.loc[("estimator", "poisson_fe")] if ("estimator", "poisson_fe") in inn_choices.index else None
pooled = inn[inn["estimator"] != "poisson_fe"]
text = (f"Across the specifications that compare provinces with each other (all but Poisson "
        f"with province effects), the median estimate is **{pooled['estimate'].median():.4g}** "
        f"per percentage point of fiscal self-reliance and **{pct((pooled['estimate'] > 0).mean())}** "
        f"of the estimates are positive. ")
if fe is not None:
    text += (f"With province effects, which use only the variation *within* each province over "
             f"time, the median is **{fe['median estimate']:.4g}**, "
             f"{pct(fe['share positive'])} of the estimates are positive and "
             f"{pct(fe['share p < 0.05'])} have p < 0.05. ")
boot = inn[inn["inference"] == "bootstrap"] if "inference" in inn else inn.iloc[0:0]
clus = inn[inn["inference"] == "cluster"] if "inference" in inn else inn.iloc[0:0]
if len(boot) and len(clus):
    text += (f"The score bootstrap, which holds its size with 16 clusters, finds p < 0.05 in "
             f"{pct((boot['p_value'] < 0.05).mean())} of the specifications, against "
             f"{pct((clus['p_value'] < 0.05).mean())} for the province-clustered Wald test.")
for dim, opt, what in (("sample", "no_capital", "Without Seoul, Incheon and Gyeonggi"),
                       ("year_effects", "ye", "With year effects"),
                       ("year_effects", "noye", "Without year effects")):
    if (dim, opt) in inn_choices.index:
        r = inn_choices.loc[(dim, opt)]
        text += (f" {what}, the median is **{r['median estimate']:.4g}** and "
                 f"{pct(r['share bootstrap p < 0.05'])} of the bootstrap p-values are below 0.05.")
display(Markdown(text))

# %% [markdown]
# **What this says about claim 1.** The sign of the association between fiscal
# self-reliance and fintech patenting is positive in most specifications that compare
# provinces, but that comparison is dominated by the capital region and a few metropolitan
# cities, which are both more self-reliant and home to most fintech applicants. The
# specifications that hold each province fixed (province effects) ask whether a province
# patents more in the years its self-reliance is higher; the lines above say how that
# within-province evidence compares. The bootstrap shares say how much of the significance
# survives inference that is honest about having only 16 or 17 clusters. A reader should
# take claim 1 as a cross-sectional association, not as evidence that raising a province's
# self-reliance raises its patenting.

# %% [markdown]
# ## Claim 2: innovation and decentralization raise regional growth
#
# The growth curve reports two coefficients per specification: the innovation measure
# (all-field patents per million of the macro-region, lagged) and fiscal self-reliance
# (lagged). It varies the lag, the controls (convergence term with or without population
# growth), the estimator (xtgls with heteroskedastic panels with or without AR(1), xtpcse
# with AR(1), fixed and random effects), year effects, the sample (16 provinces, without the
# province-years broken by Sejong's creation, without the capital region) and the inference
# (model-based, province-clustered, CR2, Driscoll-Kraay, wild cluster bootstrap).

# %%
display(Markdown(summary_text(growth, "innovation")))
display(Image(filename=str(CURVES / "growth_innovation.png")))

# %%
display(Markdown(summary_text(growth, "decentralization")))
display(Image(filename=str(CURVES / "growth_decentralization.png")))

# %%
gi, gd = frame(growth, "innovation"), frame(growth, "decentralization")
pd.concat({"innovation": by_choice(gi, growth["dimensions"]),
           "decentralization": by_choice(gd, growth["dimensions"])}, axis=1)

# %% [markdown]
# ### The inferential specification curve
#
# Is a curve with this many significant estimates surprising if neither variable affects
# growth? Following Simonsohn et al., the null is imposed on the data of each specification
# (the outcome minus the estimated effect), provinces are resampled with replacement, and all
# specifications with an analytic p-value are refitted; each draw gives a median estimate and
# a share of significant specifications under the null. The p-values are the shares of draws
# at least as extreme as the observed curve.

# %%
null = growth.get("null")
if null:
    rows = {role: {"observed median": r["observed_median"],
                   "p (median)": r["p_median"],
                   "observed share p < 0.05": r["observed_share_p05"],
                   "p (share significant)": r["p_share_p05"],
                   "failed refits": r["failed_refits"]}
            for role, r in null["roles"].items()}
    display(Markdown(f"{null['draws']} null draws over {null['n_specifications']} "
                     f"specifications ({null['method']})."))
    display(pd.DataFrame(rows).T)
    display(Image(filename=str(CURVES / "growth_null.png")))
else:
    print("no null draws in results/curve/growth.json (null_draws = 0)")

# %%
if null:
    lines = []
    for role, r in null["roles"].items():
        lines.append(f"- **{role}**: median estimate {r['observed_median']:.4g} "
                     f"(null p = {r['p_median']:.3f}); share with p < 0.05 "
                     f"{pct(r['observed_share_p05'])} (null p = {r['p_share_p05']:.3f}).")
    display(Markdown("\n".join(lines)))

# %% [markdown]
# **What this says about claim 2.** The two coefficients are read against each other: the
# innovation measure is a macro-region series given to every province of its region, so it
# moves with the region's business cycle, and its sign depends on whether year effects absorb
# the common shocks (compare the `year_effects` rows above). Fiscal self-reliance enters a
# growth regression with a convergence term, so a negative coefficient can mean that richer,
# more self-reliant provinces grow more slowly, not that decentralization slows growth. The
# inferential curve says whether the share of significant specifications is more than chance
# would give with 16 provinces; with the number of null draws stored above the p-values are
# coarse (a cluster run can raise `null_draws`).

# %% [markdown]
# ## Specifications that failed
#
# Nothing is dropped silently: every specification that could not be estimated is listed in
# the JSON with its reason. Grouped by reason:

# %%
fails = pd.DataFrame([{**f, "curve": rec["curve"]} for rec in (innovation, growth)
                      for f in rec["failures"]])
(fails.groupby(["curve", "stage", "reason"]).size().rename("specifications").to_frame()
 if len(fails) else "no failures")
