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
# distinct estimate, sorted, with its interval, and below it the choices that produced it.
#
# A **model** is one choice of everything that changes the estimate (measure, lag, controls,
# dispersion, exposure, estimator, year effects, sample). The way its p-value is computed
# (model-based, clustered, CR2, Driscoll-Kraay, bootstrap) does not change the estimate, so
# each model appears once, with one p-value per inference choice. The share of significant
# estimates this notebook leads with uses the **recommended inference**: the bootstrap
# p-value (wild cluster restricted after linear models, score bootstrap after the count
# models, 999 Webb draws) where the curve computes one, else the province-clustered p-value,
# never the model-based one. With 16 provinces the clustered and model-based tests
# over-reject; the bootstrap holds its size.
#
# `make curve` (or `regrowth curve`) fits the curves and writes `results/curve/<id>.json`,
# `.csv` and the figures; this notebook only reads those files. The numbers in the text below
# are read from them, not typed in.

# %%

import json

import numpy as np
import pandas as pd
from IPython.display import Image, Markdown, display

from regrowth.report import reader

ROOT = reader.project_root()
CURVES = ROOT / "results" / "curve"
pd.set_option("display.precision", 4)
pd.set_option("display.width", 120)


def load_curve(cid: str) -> dict:
    rec = reader.load_curve(cid, ROOT)  # completes an interrupted `regrowth curve` first
    if "models" not in rec:
        raise ValueError(f"results/curve/{cid}.json was written before the curve kept one record "
                         "per model (it has no 'models'): run `make curve` to rewrite it")
    return rec


def frame(rec: dict, role: str) -> pd.DataFrame:
    """One row per fitted model: its choices, the focal estimate, the p-value of record
    (recommended inference) and the p-value of each inference choice."""
    rows = []
    for m in rec["models"]:
        t = m["terms"].get(role) or {}
        if m["error"] or t.get("estimate") is None:
            continue
        rows.append({**m["choices"], "estimate": t["estimate"],
                     "p_recommended": t.get("p_recommended"), "recommended": t.get("recommended"),
                     **{f"p_{k}": v for k, v in (t.get("p_value") or {}).items()},
                     "boot_p": t.get("boot_p"), "nobs": m["nobs"]})
    return pd.DataFrame(rows)


def share(x) -> float:
    x = pd.Series(x, dtype=float).dropna()
    return float((x < 0.05).mean()) if len(x) else np.nan


def by_choice(df: pd.DataFrame, dims) -> pd.DataFrame:
    """Per option of each dimension: models, median estimate, share positive, and the share
    with p < 0.05 by the recommended inference (and, for contrast, by the model-based p)."""
    out = []
    for d in dims:
        if d == "inference" or d not in df or df[d].nunique() < 2:
            continue
        for opt, g in df.groupby(d, sort=False):
            out.append({"dimension": d, "option": opt, "models": len(g),
                        "median estimate": g["estimate"].median(),
                        "share positive": (g["estimate"] > 0).mean(),
                        "share p < 0.05 (recommended)": share(g["p_recommended"]),
                        "share p < 0.05 (model-based)": share(g.get("p_model", np.nan))})
    return pd.DataFrame(out).set_index(["dimension", "option"])


def pct(x) -> str:
    return "n/a" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{100 * x:.0f}%"


def summary_text(rec: dict, role: str) -> str:
    s = rec["summary"][role]
    by = s.get("by_inference", {})
    contrast = "; ".join(f"{inf} {pct(v['share_p05'])} of {v['n']}" for inf, v in by.items()
                         if v["n"])
    without = (f" {s['n_without_recommended']} models have neither a bootstrap nor a "
               f"clustered p-value and are not counted." if s["n_without_recommended"] else "")
    return (f"**{rec['n_models']}** models, i.e. distinct estimates ({rec['n_cells']} model x "
            f"inference cells; {rec['n_fitted']} models estimated, {rec['n_failed']} failed, "
            f"{rec['n_not_converged']} without a convergence flag; {len(rec['excluded'])} "
            f"cells excluded as declared). Median estimate **{s['median_estimate']:.4g}**; "
            f"**{pct(s['share_same_sign'])}** of the estimates have the median's sign. "
            f"By the recommended inference, **{pct(s['share_p05'])}** of "
            f"{s['n_recommended']} models have p < 0.05 ({s['n_recommended_bootstrap']} "
            f"bootstrap p-values, {s['n_recommended_cluster']} clustered), and "
            f"**{pct(s['share_p05_same_sign'])}** have p < 0.05 *and* the median's sign."
            f"{without} "
            f"For contrast, by each inference choice: {contrast}.")


innovation = load_curve("innovation")
growth = load_curve("growth")
null = growth.get("null")
inull = innovation.get("null")   # the count null curve: score statistics (see claim 1)
# the size of the count null curve's two tests under b = 0 (benchmarks/montecarlo_count_null.py)
MC_COUNT_NULL = ROOT / "benchmarks" / "results" / "montecarlo_count_null.json"
mc_count_null = (json.loads(MC_COUNT_NULL.read_text(encoding="utf-8"))
                 if MC_COUNT_NULL.exists() else None)

# %% [markdown]
# ## What the curves say, by the recommended inference
#
# One line per claim and coefficient: how many distinct estimates, their median, how many
# share its sign, and how many are significant at 5% by the recommended inference, in either
# direction and with the median's sign (a curve whose significant estimates split between
# the two signs supports neither). The model-based share is beside it for contrast. The last
# three columns are the inferential curves' tests (below): is the curve's median, or its share
# of significant models, larger than the null gives? They are computed on each curve's own
# statistic of record, given in the column "null: observed share p < 0.05": for growth the
# models' analytic p-values; for innovation the **score statistics** (the score test of b = 0
# at the restricted fit, the statistic the score bootstrap bootstraps), whose share of
# p < 0.05 is not the headline share of the same row.

# %%
SAME_SIGN = "p < 0.05 with the median's sign"
head_rows = []
for claim, rec, role in (("1: decentralization -> innovation", innovation, "decentralization"),
                         ("2: innovation -> growth", growth, "innovation"),
                         ("2: decentralization -> growth", growth, "decentralization")):
    s = rec["summary"][role]
    nr = ((null if rec is growth else inull) or {}).get("roles", {}).get(role, {})
    head_rows.append({
        "claim": claim, "models": s["n_estimated"], "median estimate": s["median_estimate"],
        "same sign as median": s["share_same_sign"],
        "p < 0.05, recommended": s["share_p05"],
        SAME_SIGN: s["share_p05_same_sign"],
        "models with a recommended p": s["n_recommended"],
        "p < 0.05, model-based": s["by_inference"].get("model", {}).get("share_p05"),
        "null: observed share p < 0.05": nr.get("observed_share_p05"),
        "null p (median)": nr.get("p_median"), "null p (share significant)": nr.get("p_share_p05")})
headline = pd.DataFrame(head_rows).set_index("claim")
headline

# %%
lines = []
for claim, r in headline.iterrows():
    line = (f"- **Claim {claim}**: median {r['median estimate']:.4g}, "
            f"{pct(r['same sign as median'])} of {int(r['models'])} estimates with its sign; "
            f"**{pct(r['p < 0.05, recommended'])}** significant by the recommended inference, "
            f"{pct(r[SAME_SIGN])} significant with the median's sign "
            f"(model-based: {pct(r['p < 0.05, model-based'])} significant).")
    if r["null p (median)"] is not None and not pd.isna(r["null p (median)"]):
        if claim.startswith("1"):   # the count null: score statistics, not the headline's
            line += (f" The null curve tests the models' score statistics: "
                     f"{pct(r['null: observed share p < 0.05'])} of the models' score tests "
                     f"have p < 0.05 (not the {pct(r['p < 0.05, recommended'])} above); "
                     f"under b = 0 this many score tests are significant in p = "
                     f"{r['null p (share significant)']:.3f} of the draws (the median "
                     f"one-step estimate's p = {r['null p (median)']:.3f} is not a "
                     f"calibrated test with 16 provinces; see claim 1).")
        else:
            line += (f" Under the null the curve's median is this far from zero in a share "
                     f"p = {r['null p (median)']:.3f} of the draws, and this many models are "
                     f"significant in p = {r['null p (share significant)']:.3f}.")
    lines.append(line)
display(Markdown("\n".join(lines)))

# %% [markdown]
# ## Claim 1: decentralization raises regional innovation
#
# The innovation curve varies the decentralization measure (재정자립도 and 재정자주도, on the
# old and the revised revenue basis) and its lag (1 or 2 years), the RIS controls, the
# dispersion equation of the generalized negative binomial, population as a regressor or as
# exposure, the estimator (GNB, NB2, Poisson, Poisson with province effects), year effects and
# the sample (16 or 17 provinces, without the capital region, from 2016); each model carries
# the observed-information (model-based), province-clustered and score-bootstrap p-values.
# Combinations that make no sense are excluded, each with its reason:

# %%
pd.DataFrame(innovation["exclusions"])

# %%
display(Markdown(summary_text(innovation, "decentralization")))
display(Image(filename=str(CURVES / "innovation_decentralization.png")))

# %% [markdown]
# Which choices move the estimate? The table gives, for every option of every dimension, the
# median estimate and the share of significant estimates (recommended inference; model-based
# for contrast) among the models that made that choice.

# %%
inn = frame(innovation, "decentralization")
inn_choices = by_choice(inn, innovation["dimensions"])
inn_choices

# %%
fe = inn_choices.loc[("estimator", "poisson_fe")] if ("estimator", "poisson_fe") in inn_choices.index else None
pooled = inn[inn["estimator"] != "poisson_fe"]
text = (f"Across the models that compare provinces with each other (all but Poisson with "
        f"province effects), the median estimate is **{pooled['estimate'].median():.4g}** "
        f"per percentage point, **{pct((pooled['estimate'] > 0).mean())}** of the estimates "
        f"are positive and **{pct(share(pooled['p_recommended']))}** are significant by the "
        f"recommended inference. ")
if fe is not None:
    text += (f"With province effects, which use only the variation *within* each province over "
             f"time, the median is **{fe['median estimate']:.4g}**, "
             f"{pct(fe['share positive'])} of the estimates are positive and "
             f"{pct(fe['share p < 0.05 (recommended)'])} are significant. ")
if "p_cluster" in inn and inn["boot_p"].notna().any():
    text += (f"The score bootstrap, which holds its size with 16 clusters, finds p < 0.05 in "
             f"{pct(share(inn['boot_p']))} of the models, against "
             f"{pct(share(inn['p_cluster']))} for the province-clustered Wald test and "
             f"{pct(share(inn.get('p_model', np.nan)))} for the model-based one.")
for dim, opt, what in (("sample", "no_capital", "Without Seoul, Incheon and Gyeonggi"),
                       ("year_effects", "ye", "With year effects"),
                       ("year_effects", "noye", "Without year effects")):
    if (dim, opt) in inn_choices.index:
        r = inn_choices.loc[(dim, opt)]
        text += (f" {what}, the median is **{r['median estimate']:.4g}** and "
                 f"{pct(r['share p < 0.05 (recommended)'])} of the models are significant.")
display(Markdown(text))

# %% [markdown]
# ### The inferential curve of claim 1: a joint test of the score statistics
#
# Are the innovation models, taken together, more often significant than they would be if
# decentralization had no effect in any of them? For the count models the null cannot be
# imposed by shifting the outcome, so the innovation curve's null draws are the **score
# bootstrap** (Kline & Santos 2012, what `boottest` does after a count model): each model is
# refitted once with the decentralization coefficient fixed at 0 (the restricted fit the
# curve's bootstrap p-value already makes), and each of the 999 draws reweights every
# province's score contribution by one random Webb weight, **the same weight in every model**,
# so the draws keep how the models' statistics move together. The statistic of record is the
# one this bootstrap bootstraps, for the observed curve and the draws alike: each model's
# **score test of b = 0** (`boottest`'s statistic after ML; the estimate is its one-step
# estimate). Observed and null therefore compare the same statistic, and the test is
# calibrated. That statistic is not the headline's: the share of models whose score test has
# p < 0.05 is smaller than the share significant by the bootstrap p-values above, and it is
# the share this test is about.

# %%
if inull:
    r = inull["roles"]["decentralization"]
    verdict = ("**more of the innovation models' score tests reject b = 0 than the null "
               "gives**" if r["p_share_p05"] < 0.05 else
               "the innovation models' score tests do **not** reject b = 0 more often than "
               "the null gives")
    display(Markdown(
        f"At 5%, {verdict} (null p = **{r['p_share_p05']:.3f}**, {inull['draws']} draws, "
        f"{inull['n_models']} models): **{pct(r['observed_share_p05'])}** of the models' "
        f"score tests have p < 0.05, against about "
        f"{pct(np.mean([v for v in r['null_share_p05'] if v is not None]))} on average "
        f"under the null. The median one-step estimate is {r['observed_median']:.4g} "
        f"(null p = {r['p_median']:.3f}; not a calibrated test, see below). The headline "
        f"share of the same curve, by the "
        f"recommended inference, is {pct(innovation['summary']['decentralization']['share_p05'])}"
        f"; the null curve does not test that number. Statistic of record: "
        f"{inull['p_of_record']}."))
    display(Image(filename=str(CURVES / "innovation_null.png")))
else:
    print("no null draws in results/curve/innovation.json (null_draws = 0)")

# %% [markdown]
# **Only the share test is calibrated.** A Monte Carlo at the innovation model's design (16
# provinces with a province random effect, six GNB, NB2 and Poisson models sharing them, the
# decentralization coefficient 0 in the data) measures how often each test rejects a true
# null at 5%:

# %%
if mc_count_null:
    mc = mc_count_null
    display(Markdown(
        f"Share test: **{pct(mc['null_curve_share_test']['rejection_5pct'])}** of "
        f"{mc['samples_with_all_models']} samples (Monte Carlo SE "
        f"{100 * mc['null_curve_share_test']['mc_se']:.1f} points); median test: "
        f"**{pct(mc['null_curve_median_test']['rejection_5pct'])}** (SE "
        f"{100 * mc['null_curve_median_test']['mc_se']:.1f}). The share test counts "
        f"studentized statistics, whose draws over-reject as much as the observed ones; the "
        f"median is of one-step estimates, which are not studentized, and their draws are too "
        f"narrow with 16 provinces, so its null p-value above tends to be too small and is not "
        f"evidence on its own."))
else:
    print("benchmarks/results/montecarlo_count_null.json is missing: run "
          "benchmarks/montecarlo_count_null.py")

# %% [markdown]
# Where its share test's p-value is below 0.05, the null curve supports one inference: that the curve
# as a whole is not what 16-17 provinces with no effect of decentralization on patenting would
# give, read through the score statistics of its models. It does not say that any one specification is right, that
# the effect is causal, or how large it is; and, like claim 1 below, it rests on
# cross-sectional differences dominated by the capital region.

# %% [markdown]
# **What this says about claim 1.** Read the recommended-inference shares above, not the
# model-based ones: the sign of the association between fiscal self-reliance and fintech
# patenting is positive in most models that compare provinces, but only a minority of those
# estimates survive a test that is honest about having only 16 or 17 clusters (the shares
# above), far fewer than the model-based p-values suggest, and the comparison is
# dominated by the capital region and a few metropolitan cities, which are both more
# self-reliant and home to most fintech applicants. The models that hold each province fixed
# (province effects) ask whether a province patents more in the years its self-reliance is
# higher; the lines above say how that within-province evidence compares. A reader should
# take claim 1 as a cross-sectional association, not as evidence that raising a province's
# self-reliance raises its patenting.

# %% [markdown]
# ## Claim 2: innovation and decentralization raise regional growth
#
# The growth curve reports two coefficients per model: the innovation measure (all-field
# patents per million of the macro-region, lagged) and fiscal self-reliance (lagged). It
# varies the measure, the lag, the controls (convergence term with or without population
# growth), the estimator (xtgls with heteroskedastic panels with or without AR(1), xtpcse
# with AR(1), fixed and random effects), year effects and the sample (16 provinces, without
# the province-years broken by Sejong's creation, without the capital region); each model
# carries the p-values of the inference choices it has (model-based for all; clustered, CR2
# and Driscoll-Kraay for FE and RE) and the wild cluster bootstrap. xtgls and xtpcse report
# only their own covariance, and xtpcse has no bootstrap, so the xtpcse models have no
# recommended p-value: they are drawn open and not counted in the headline share.

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
# ### The inferential specification curve: a test of the curve as a whole
#
# Is a curve with this many significant estimates surprising if neither variable affects
# growth? Following Simonsohn et al., the null is imposed on the data of each model (the
# outcome minus the estimated effect), provinces are resampled with replacement, and every
# model is re-estimated on its own null data; each draw gives a median estimate and a share of
# significant models under the null. The p-value is p = (1 + the number of draws at least as
# extreme as the observed curve) / (1 + B): the observed curve counts as one draw, so it is
# never 0, and with B = 999 draws its smallest value is 0.001.
#
# The share statistic uses each model's analytic p-value of record (clustered where the model
# has one, else xtgls's or xtpcse's own): a bootstrap inside each of 999 draws is not
# affordable. That does not bias the test: the null draws use the same p-values, so however
# much those p-values over-reject, the null distribution of the share over-rejects by as
# much, and the test keeps its size. The draws are computed as linear maps of the null
# outcome (`null_method = "linear"`): exact refits for pooled OLS and fixed effects, and for
# RE, FGLS and PCSE with their GLS transformation held at its full-sample estimate, as the
# wild bootstrap holds it.

# %%
if null:
    rows = {role: {"observed median": r["observed_median"],
                   "p (median)": r["p_median"],
                   "observed share p < 0.05": r["observed_share_p05"],
                   "p (share significant)": r["p_share_p05"],
                   "failed draws": r["failed_refits"]}
            for role, r in null["roles"].items()}
    display(Markdown(f"{null['draws']} null draws over {null['n_models']} models "
                     f"({null['null_method']} method; p-value of record: "
                     f"{null['p_of_record']})."))
    display(pd.DataFrame(rows).T)
    display(Image(filename=str(CURVES / "growth_null.png")))
else:
    print("no null draws in results/curve/growth.json (null_draws = 0)")

# %%
if null:
    lines = []
    for role, r in null["roles"].items():
        verdict = ("more than chance gives (5% test)" if r["p_share_p05"] < 0.05
                   else "not more than provinces resampled under the null give")
        lines.append(f"- **{role}**: median estimate {r['observed_median']:.4g} "
                     f"(null p = {r['p_median']:.3f}); share of models with p < 0.05 "
                     f"{pct(r['observed_share_p05'])} (null p = {r['p_share_p05']:.3f}): "
                     f"{verdict}.")
    display(Markdown("\n".join(lines)))

# %% [markdown]
# **What this says about claim 2.** Lead with the recommended-inference shares, the share
# significant *with the median's sign*, and the null p-values above: where many significant
# estimates have the opposite sign (compare the two shares; the `estimator` and
# `year_effects` rows show where the sign flips), the curve shows that the estimate depends on
# the specification, not that the claim holds. The two coefficients are read against each
# other: the innovation measure is a macro-region
# series given to every province of its region, so it moves with the region's business
# cycle, and its sign depends on whether year effects absorb the common shocks (compare the
# `year_effects` rows above). Fiscal self-reliance enters a growth regression with a
# convergence term, so a negative coefficient can mean that richer, more self-reliant
# provinces grow more slowly, not that decentralization slows growth. The inferential curve
# is a test of the curve as a whole with 999 draws, close to its nominal size (under b = 0 at
# this design, `benchmarks/montecarlo_growth_null.py`: 6.0-6.8% for the median test and
# 5.5-8.2% for the share test at 5%, so read a p near 0.05 as borderline): a null p below 0.05 says
# the curve shows more (or larger) significant estimates than 16 provinces resampled without
# any effect would, whatever their sign, not that any one specification is right or that the
# effect has the sign the study claims.

# %% [markdown]
# ## What failed, what was excluded, and what is borderline
#
# Nothing is dropped silently. Combinations that cannot work by construction are declared
# exclusions with their reason in `specs/models.toml` (for growth: xtgls and xtpcse have no
# clustered covariance, xtpcse has no bootstrap, and dropping Chungnam's 2012-13 rows breaks
# the AR(1) chain). The cells they removed, by reason:

# %%
excl = pd.DataFrame([{**e, "curve": rec["curve"]} for rec in (innovation, growth)
                     for e in rec["excluded"]])
(excl.groupby(["curve", "reason"]).size().rename("cells excluded").to_frame()
 if len(excl) else "no exclusions")

# %% [markdown]
# Models or inference choices that were attempted and failed, by reason (stage `fit`: the
# model could not be estimated; `inference`: one inference choice of a fitted model could
# not be computed; `convergence`: the estimator did not report convergence):

# %%
fails = pd.DataFrame([{"curve": rec["curve"], "stage": f["stage"], "reason": f["reason"],
                       "model": f["id"], "inference": ", ".join(f["inference"])}
                      for rec in (innovation, growth) for f in rec["failures"]])
if len(fails):
    display(fails.groupby(["curve", "stage", "reason"])
            .agg(models=("model", "nunique"), cells=("inference", "size")))
    display(fails[["curve", "stage", "model", "inference"]])
else:
    display(Markdown("No model and no inference choice failed."))

# %% [markdown]
# Decisions that a rounding difference between machines could flip (a convergence verdict
# whose Newton decrement lies within a factor 100 of the tolerance) are reported, not
# decided silently:

# %%
border = pd.DataFrame([{**b, "curve": rec["curve"]} for rec in (innovation, growth)
                       for b in rec.get("borderline", [])])
border if len(border) else Markdown("No borderline decision.")
