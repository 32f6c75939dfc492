# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
#   regrowth:
#     reads:
#     - table1_innovation
#     - table2_growth
#     - table3_innovation_robustness
#     - table4_growth_robustness
#     - table5_innovation_within
#     - table8_growth_spatial
# ---

# %% [markdown]
# # 4. Robustness
#
# *Every test, weight and estimator named here is explained in a sentence or two in
# [the glossary](GLOSSARY.md).*
#
# How much do the conclusions depend on choices the study does not document? Each column of
# Tables 3 and 4 changes one choice of the main specification; every choice is written, with
# its reason, in `specs/models.toml` (the `rationale` printed below). The question to ask of
# each column is not "is it still significant?" but "does the estimate move by more than its
# uncertainty?".

# %%
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
from IPython.display import Image, Markdown, display

from regrowth.report import reader

ROOT = reader.project_root()
est = reader.load_estimates(ROOT)
pd.set_option("display.precision", 4)
pd.set_option("display.width", 120)
pd.set_option("display.max_colwidth", 120)
print("edition:", est["edition"])


def decentralization_rows(tables: list[str]) -> pd.DataFrame:
    """The decentralization coefficient of every column of ``tables`` that ran."""
    rows = []
    for table in tables:
        for cid, col in est["tables"][table]["columns"].items():
            if "coefficients" not in col:  # failed, or a full-edition column not run
                continue
            co = reader.coefficients(est, table, cid)
            co = co[co["term"].str.startswith("fiscal_") & co["equation"].isin(["mean", "main"])]
            for rec in co.itertuples(index=False):
                rows.append({"table": table.split("_")[0], "column": f"{col['label']} {col['title']}",
                             "measure": rec.term, "estimate": rec.estimate, "std. error": rec.std_error,
                             "95% CI": f"[{rec.ci_low:.4f}, {rec.ci_high:.4f}]",
                             "p-value": rec.p_value, "N": col["stats"]["nobs"],
                             "rationale": col["rationale"]})
    return pd.DataFrame(rows).set_index(["table", "column"])


# %% [markdown]
# ## Innovation model (Tables 1 and 3)
#
# Table 3 changes one choice per column — for instance the standard errors, the provinces
# (Sejong in), the decentralization measure (the revised 2014 revenue classification) or the
# treatment of size (population as exposure: applications per resident, with an elasticity
# of one); the table's notes and the `rationale` column below say which. The coefficient is a
# semi-elasticity: the proportional change in expected applications per percentage point.

# %%
display(Markdown(reader.table_markdown("table3_innovation_robustness", ROOT)))

# %%
decentralization_rows(["table1_innovation", "table3_innovation_robustness"])

# %%
display(Image(filename=str(reader.figure_path("table3_innovation_robustness_coefficients.png", ROOT))))

# %% [markdown]
# ## Growth model (Tables 2 and 4)
#
# Table 4 varies the error structure, the outcome (nominal instead of real growth, which
# runs longer), the provinces (Sejong in) and the innovation measure (fintech applications per
# resident of the province itself instead of the macro-region series); the notes and the
# `rationale` column say which column does what. The coefficient is in percentage points of
# growth per point of fiscal self-reliance.

# %%
display(Markdown(reader.table_markdown("table4_growth_robustness", ROOT)))

# %%
decentralization_rows(["table2_growth", "table4_growth_robustness"])

# %%
display(Image(filename=str(reader.figure_path("table4_growth_robustness_coefficients.png", ROOT))))

# %% [markdown]
# ### Are neighbouring provinces' residuals alike?
#
# Seoul, Incheon and Gyeonggi share one labour market, and the innovation regressor is a
# macro-region series, spatial by construction: if neighbouring provinces shared shocks the
# models leave out, the growth residuals of neighbours would be alike and the 16 provinces
# would carry less independent information than the tables assume. Moran's I of the
# residuals measures that, by year and pooled over the years, with contiguity weights from
# the KOSTAT 2018 boundaries (Jeju linked to Jeonnam, its nearest province); E[I] =
# -1/(n-1) = -0.067 with 16 provinces. In brackets under each I: the p-value under normality
# and the permutation p-value.

# %%
display(Markdown(reader.table_markdown("spatial_growth", ROOT)))
moran = {cid: pd.DataFrame(rows) for cid, rows in est["spatial"]["table2_growth"].items()}
summary = []
for cid, frame in moran.items():
    yearly = frame[frame["scope"] == "year"]
    pooled = frame[frame["scope"] == "pooled"].iloc[0]
    summary.append({"column": cid, "pooled I": pooled["I"], "pooled p (normal)": pooled["p_norm"],
                    "pooled p (permutation)": pooled["p_sim"], "years": len(yearly),
                    "years with permutation p < 0.05": int((yearly["p_sim"] < 0.05).sum()),
                    "years with I > 0": int((yearly["I"] > 0).sum())})
pd.DataFrame(summary).set_index("column")

# %% [markdown]
# The map shows where, in one year: the local Moran statistic of each province's residual
# against its neighbours' (LISA), coloured where the conditional permutation p-value is below
# 5% — High-High, a province with a high residual among neighbours with high residuals, and
# so on. Sejong, outside the growth sample, is hatched (enlarged in the inset with Daejeon).

# %%
display(Image(filename=str(reader.figure_path("spatial_growth_lisa.png", ROOT))))

# %% [markdown]
# Moran's I of the growth residuals is small, mostly negative (neighbours' residuals slightly
# *unlike*, the opposite of a shared regional shock) and changes sign from year to year. Few
# years reach 5% by permutation (the summary above counts them, out of 16 tests per column)
# and the pooled statistic is negative for both columns. The clusters on the map are one
# year's pattern with 16 provinces and no multiple-testing correction, not a regional bloc.
# Neighbouring provinces do move together in some years, which is one more reason for the
# year effects and for inference that does not treat the 16 provinces as independent draws
# (next section).

# %% [markdown]
# ## Inference with 16 provinces
#
# Every model here has 16 province clusters, too few for cluster-robust Wald tests to keep
# their size. The main columns therefore also carry the bootstrap that Stata's `boottest`
# runs (Roodman et al. 2019): the score bootstrap (Kline & Santos 2012) after GNB, NB2 and
# Poisson, the wild cluster restricted bootstrap after fixed effects, and the wild bootstrap
# of the GLS-transformed regression after FGLS and random effects (`se.bootstrap` and the
# table `focus` in `specs/models.toml`). Below: the analytic p-value of each focus coefficient
# next to its bootstrap p-value and 95% confidence set (test inversion).

# %%
rows = []
for t, tab in est["tables"].items():
    for c, col in tab["columns"].items():
        for term, b in (col.get("extra", {}).get("bootstrap") or {}).items():
            if "error" in b:
                continue
            co = {r["term"]: r for r in col["coefficients"]}[term]
            rows.append({"column": f"{t}/{c}", "term": term, "estimate": co["estimate"],
                         "analytic p": co["p_value"], "bootstrap p": b["pvalue"],
                         "CI low": b["ci_low"], "CI high": b["ci_high"],
                         "method": b["method"].split(" after ")[0],
                         "draws": b["reps"], "weights": b["weights"], "seed": b["seed"]})
pd.DataFrame(rows)

# %% [markdown]
# ### Monte Carlo at the study's design
#
# `benchmarks/montecarlo_inference.py` draws outcomes from the fitted main models with the
# 재정자립도 coefficient set to zero (GNB: 96 observations, plus a province random effect with
# SD 0.3; two-way FE growth model: 256 observations, errors heteroskedastic across and AR(1)
# within provinces) and records how often each test rejects the true null at 5%
# (1 - coverage of the 95% interval). It takes a few minutes, so the notebook reads its saved
# results (run it again with `python benchmarks/montecarlo_inference.py`).

# %%
mc_csv = ROOT / "benchmarks" / "results" / "montecarlo_inference.csv"
if not mc_csv.exists():  # e.g. a scratch copy of specs/ and notebooks/: the package's copy
    import regrowth
    mc_csv = (Path(regrowth.__file__).resolve().parents[2] / "benchmarks" / "results"
              / "montecarlo_inference.csv")
if mc_csv.exists():
    mc = pd.read_csv(mc_csv)
    display(mc[["model", "method", "reps", "rejection_5pct", "coverage_95pct", "mc_se"]])
    display(Image(filename=str(mc_csv.with_suffix(".png"))))
else:
    print("run benchmarks/montecarlo_inference.py to produce", mc_csv)

# %% [markdown]
# **Why cluster-robust t over-rejects with 16 clusters, and what the bootstrap does.** The
# cluster-robust variance estimates the variance of the score sum from 16 cluster sums; with
# so few, and when a few provinces dominate them, the estimate is biased down and very
# variable, so |t| exceeds the t(G−1) critical value more often than
# 5%. The wild (and score) bootstrap imposes the null and redraws signs on the cluster
# sums, so the statistic is compared with its own distribution under the null at this
# design rather than with an asymptotic one:

# %%
if mc_csv.exists():
    for model in mc["model"].unique():
        m = mc[mc["model"] == model].set_index("method")["rejection_5pct"]
        boots = m[[k for k in m.index if k.startswith("boot") and "fixed" not in k]]
        print(f"{model}: nominal 5% test rejects a true null "
              + ", ".join(f"{k} {v:.1%}" for k, v in m.items())
              + f"; the bootstraps {boots.min():.1%}" + (f"-{boots.max():.1%}."
                                                          if boots.max() > boots.min() else "."))

# %% [markdown]
# ## Within provinces: Table 5 and the variation of 재정자립도
#
# The pooled GNB of Table 1 compares provinces. Table 5 refits the innovation model with
# province effects, so that 재정자립도 is identified only from its changes within each
# province. Table 5a shows how little there is to identify it from.

# %%
display(Markdown(reader.table_markdown("table5_variation", ROOT)))
display(Markdown(reader.table_markdown("table5_innovation_within", ROOT)))

# %%
fsr = "fiscal_self_reliance_l1"
var = est["variation"]["table5_innovation_within"][fsr]
pooled = reader.coefficients(est, "table1_innovation", "gnb_main").set_index("term").loc[fsr]
pooled_boot = est["tables"]["table1_innovation"]["columns"]["gnb_main"]["extra"]["bootstrap"][fsr]
within = []
for cid, col in est["tables"]["table5_innovation_within"]["columns"].items():
    co = reader.coefficients(est, "table5_innovation_within", cid)
    r = co[co["term"] == fsr].iloc[0]
    within.append({"column": f"{col['label']} {col['title']}", "estimate": r["estimate"],
                   "std. error": r["std_error"], "p-value": r["p_value"],
                   "province effects": col["stats"]["province_effects"]})
within = pd.DataFrame(within).set_index("column")
display(within)
fe = within[within["province effects"] == "yes"]
print(f"재정자립도 on the innovation sample: between-province sd {var['between_sd']:.1f} points, "
      f"within-province sd {var['within_sd']:.1f} ({var['within_sd'] / var['between_sd']:.0%}).")
print(f"Pooled GNB (Table 1): {pooled['estimate']:+.4f} per point, clustered p = "
      f"{pooled['p_value']:.3f}, score-bootstrap p = {pooled_boot['pvalue']:.3f} "
      f"(95% CI {pooled_boot['ci_low']:+.4f} to {pooled_boot['ci_high']:+.4f}).")
print(f"With province effects (columns with province effects = yes): estimates from "
      f"{fe['estimate'].min():+.4f} to {fe['estimate'].max():+.4f}, smallest p = "
      f"{fe['p-value'].min():.2f}.")

# %% [markdown]
# ## Leave one province out
#
# Each headline coefficient refitted 16 times, dropping one province each time
# (`regrowth.loo`). A coefficient that one province carries moves far when that province
# goes.

# %%
for name in ("loo_table1_innovation.png", "loo_table2_growth.png"):
    display(Image(filename=str(reader.figure_path(name, ROOT))))

# %% [markdown]
# The same refits in numbers (`estimates.json["loo"]`, the refits behind the figures, which
# `regrowth.analyses.loo.leave_one_out` computes): the range of each headline coefficient over
# the 16 leave-one-out samples, the province whose removal moves it most, and the largest
# analytic p-value.

# %%
FULL = "(none)"  # how leave_one_out marks the full-sample fit (regrowth.analyses.loo.FULL)
loo_rows = []
for name in ("table1_innovation", "table2_growth"):
    frame = pd.DataFrame(est["loo"][name]["rows"])
    table, column = frame["table"].iloc[0], frame["column"].iloc[0]
    full = frame[frame["dropped"] == FULL].set_index("term")
    rest = frame[(frame["dropped"] != FULL) & (frame["error"] == "")]
    for term, grp in rest.groupby("term"):
        far = grp.loc[(grp["estimate"] - full.loc[term, "estimate"]).abs().idxmax()]
        loo_rows.append({"column": f"{table}/{column}", "term": term,
                         "full sample": full.loc[term, "estimate"],
                         "LOO min": grp["estimate"].min(), "LOO max": grp["estimate"].max(),
                         "sign changes": bool((np.sign(grp["estimate"])
                                               != np.sign(full.loc[term, "estimate"])).any()),
                         "most influential": far["dropped"],
                         "largest p (analytic)": grp["p_value"].max()})
loo_table = pd.DataFrame(loo_rows).set_index(["column", "term"])
loo_table

# %% [markdown]
# ## The chain: decentralization → innovation → growth
#
# `regrowth.analyses.chain.fit_chain` estimates the study's chain as a chain: stage 1 is Table 1's
# GNB; stage 2 regresses nominal per-capita growth (with year effects, 2016–2020) on the
# innovation stage 1 predicts; a province bootstrap over both stages gives the intervals
# (`results/tables/chain_two_stage.*`).

# %%
display(Markdown(reader.table_markdown("chain_two_stage", ROOT)))
chain = pd.DataFrame(est["chain"]["terms"]).set_index(["stage", "term"])
for key in (("innovation", fsr), ("growth", "innovation_hat_l1"), ("chain", "indirect_fsr")):
    r = chain.loc[key]
    inside = "includes" if r["ci_low"] <= 0 <= r["ci_high"] else "excludes"
    print(f"{key[0]:>10} {key[1]}: {r['estimate']:+.4f}, bootstrap 95% interval "
          f"[{r['ci_low']:+.4f}, {r['ci_high']:+.4f}] ({inside} zero); naive SE "
          f"{r['std_error_naive']:.4f} vs bootstrap SE {r['std_error']:.4f}")
print(f"{est['chain']['reps']} draws, seed {est['chain']['seed']}, "
      f"{est['chain']['sample']['nobs']} stage-2 observations.")

# %% [markdown]
# The chain is one structural reading: it assumes that R&D, education, universities and
# population move growth *only* through predicted fintech patents (its exclusion restrictions,
# in the table's notes). Mediation asks less of the data.
#
# ## Mediation instead of a structural chain
#
# `regrowth.analyses.mediation` splits the reduced form of growth on lagged 재정자립도 into a
# part through innovation (the ACME, a·b) and a direct part (the ADE, c'), by OLS with year
# effects, and reports the Imai–Keele–Yamamoto (2010) sensitivity: the correlation ρ between
# the errors of the innovation and growth equations (what an unobserved common cause would
# create) at which the ACME is zero. Intervals come from a province cluster bootstrap
# (`results/tables/mediation_growth.*`).

# %%
if "mediation" in est:
    display(Markdown(reader.table_markdown("mediation_growth", ROOT)))
    for cid, rec in est["mediation"]["table2_growth"].items():
        q = pd.DataFrame(rec["quantities"]).set_index("quantity")
        print(f"{cid}: ACME {q.loc['acme', 'estimate']:+.3f} "
              f"[{q.loc['acme', 'ci_low']:+.3f}, {q.loc['acme', 'ci_high']:+.3f}], "
              f"ADE {q.loc['ade', 'estimate']:+.3f}, total {q.loc['total', 'estimate']:+.3f} "
              f"per {rec['contrast']:g} points of 재정자립도; the ACME vanishes at rho = "
              f"{q.loc['rho_zero', 'estimate']:+.3f} ({rec['reps_used']} draws, seed {rec['seed']})")
else:
    print("no mediation record in results/estimates.json: run `make replicate`")

# %% [markdown]
# ## Space: neighbours, spillovers and spatial HAC (Table 8)
#
# Neighbouring provinces share labour markets and shocks. Table 8 adds the neighbours'
# 재정자립도 and innovation (SLX: the `slx` key of a column), fits a spatial-lag panel with
# province and year effects (its indirect effects are the spillovers), and replaces the
# province clusters by Conley's spatial HAC standard errors; `spatial_growth_robustness` gives
# Moran's I of the residuals.

# %%
if "table8_growth_spatial" in est["tables"]:
    display(Markdown(reader.table_markdown("table8_growth_spatial", ROOT)))
else:
    print("Table 8 is not in results/estimates.json: run `make replicate`")

# %% [markdown]
# ## How much do the conclusions depend on these choices?
#
# Collected from the stored results:

# %%
g = {c: reader.coefficients(est, "table2_growth", c).set_index("term")
     for c in ("fgls_main", "fgls_no_year", "fe_main")}
innov = next(t for t in g["fgls_main"].index if "patents" in t)
gboot = est["tables"]["table2_growth"]["columns"]
summary = pd.DataFrame([
    {"claim": "재정자립도 -> fintech patents (pooled GNB)",
     "main estimate": pooled["estimate"], "analytic p": pooled["p_value"],
     "bootstrap p": pooled_boot["pvalue"],
     "changes with": f"province effects: {fe['estimate'].min():+.4f} to {fe['estimate'].max():+.4f}"},
    {"claim": "innovation -> growth (FGLS)",
     "main estimate": g["fgls_main"].loc[innov, "estimate"],
     "analytic p": g["fgls_main"].loc[innov, "p_value"],
     "bootstrap p": gboot["fgls_main"]["extra"]["bootstrap"][innov]["pvalue"],
     "changes with": f"no year effects: {g['fgls_no_year'].loc[innov, 'estimate']:+.3f}; "
                     f"FE: {g['fe_main'].loc[innov, 'estimate']:+.3f} (bootstrap p "
                     f"{gboot['fe_main']['extra']['bootstrap'][innov]['pvalue']:.2f})"},
    {"claim": "재정자립도 -> growth (FGLS)",
     "main estimate": g["fgls_main"].loc[fsr, "estimate"],
     "analytic p": g["fgls_main"].loc[fsr, "p_value"],
     "bootstrap p": gboot["fgls_main"]["extra"]["bootstrap"][fsr]["pvalue"],
     "changes with": f"no year effects: {g['fgls_no_year'].loc[fsr, 'estimate']:+.3f}; "
                     f"FE: {g['fe_main'].loc[fsr, 'estimate']:+.3f} (bootstrap p "
                     f"{gboot['fe_main']['extra']['bootstrap'][fsr]['pvalue']:.2f})"},
    {"claim": "indirect effect, 재정자립도 -> innovation -> growth (chain)",
     "main estimate": chain.loc[("chain", "indirect_fsr"), "estimate"], "analytic p": np.nan,
     "bootstrap p": np.nan,
     "changes with": f"bootstrap 95% interval [{chain.loc[('chain', 'indirect_fsr'), 'ci_low']:+.3f}, "
                     f"{chain.loc[('chain', 'indirect_fsr'), 'ci_high']:+.3f}]"},
]).set_index("claim")
summary

# %% [markdown]
# ## What the public data can and cannot say
#
# The sentences below are printed from the stored results.

# %%
iv = chain.loc[("chain", "indirect_fsr")]
gi = chain.loc[("growth", "innovation_hat_l1")]
n_innov = est["tables"]["table1_innovation"]["columns"]["gnb_main"]["stats"]["nobs"]
gl = loo_table.loc[("table1_innovation/gnb_main", fsr)]


def within_reading(pooled_estimate, fe_record) -> str:
    """'imprecise' when the FE bootstrap set contains the pooled estimate, 'different' when
    it excludes it: a wider FE interval is not evidence of a between-province pattern."""
    lo, hi = fe_record.get("ci_low"), fe_record.get("ci_high")
    if lo is None or not (np.isfinite(lo) and np.isfinite(hi)):
        return "no bootstrap set for the FE column"
    if lo <= pooled_estimate <= hi:
        return (f"imprecise: its bootstrap set [{lo:+.3f}, {hi:+.3f}] contains the pooled "
                "estimate, so the within-province data cannot tell the two apart")
    return (f"different from the pooled estimate: its bootstrap set [{lo:+.3f}, {hi:+.3f}] "
            "excludes it, so the pooled association is a comparison between provinces")


fe_boot = gboot["fe_main"]["extra"]["bootstrap"]
fgls_boot = gboot["fgls_main"]["extra"]["bootstrap"]
paragraphs = [
    f"1. Decentralization and innovation. In the pooled GNB, one point more 재정자립도 goes with "
    f"{100 * np.expm1(pooled['estimate']):+.2f}% fintech applications; the score bootstrap "
    f"(the inference this package recommends with 16 clusters) gives p = "
    f"{pooled_boot['pvalue']:.3f} (the clustered-normal p, which over-rejects, is "
    f"{pooled['p_value']:.3f}). Leaving out one province moves the estimate between "
    f"{gl['LOO min']:+.4f} and {gl['LOO max']:+.4f}. 재정자립도's within-province sd is "
    f"{var['within_sd']:.1f} points against {var['between_sd']:.1f} between, and with province "
    f"effects the coefficient is {fe['estimate'].min():+.4f} to {fe['estimate'].max():+.4f}: "
    "there is little within-province variation to learn from. The data cannot tell whether "
    "decentralizing a province raises its innovation"
    + (", and the cross-province association is not distinguishable from zero once the test "
       "respects the 16 clusters." if pooled_boot["pvalue"] > 0.05 else
       "; what they show is an association across provinces."),
    f"2. Innovation and growth. The macro-region innovation coefficient in the FGLS growth "
    f"model is {g['fgls_no_year'].loc[innov, 'estimate']:+.3f} without year effects and "
    f"{g['fgls_main'].loc[innov, 'estimate']:+.3f} with them; its bootstrap clusters by "
    f"macro-region, the level at which the series varies (7 clusters, all 128 sign vectors): "
    f"p = {fgls_boot[innov]['pvalue']:.3f}. Within provinces (FE) it is "
    f"{g['fe_main'].loc[innov, 'estimate']:+.3f}, "
    f"{within_reading(g['fgls_main'].loc[innov, 'estimate'], fe_boot[innov])}. "
    f"재정자립도's growth coefficient is {g['fgls_main'].loc[fsr, 'estimate']:+.3f} points per "
    f"point in FGLS with year effects (bootstrap p {fgls_boot[fsr]['pvalue']:.3f}) and "
    f"{g['fe_main'].loc[fsr, 'estimate']:+.3f} within provinces, "
    f"{within_reading(g['fgls_main'].loc[fsr, 'estimate'], fe_boot[fsr])}.",
    f"3. The chain. Predicted innovation enters nominal growth with {gi['estimate']:+.3f} "
    f"(bootstrap 95% interval [{gi['ci_low']:+.3f}, {gi['ci_high']:+.3f}]); the indirect effect "
    f"of 재정자립도 through innovation is {iv['estimate']:+.4f} points of growth per point, "
    f"interval [{iv['ci_low']:+.4f}, {iv['ci_high']:+.4f}]"
    + (": the public data cannot distinguish the chain from no effect."
       if iv["ci_low"] <= 0 <= iv["ci_high"] else ".")
    + " The chain assumes that R&D, education and population affect growth only through "
    "innovation; it is one reading, not a design.",
    "4. Data limits. All-field patents exist only for the 7 macro-regions (Table 7 fits them, "
    "with randomization inference); real GRDP ends in 2017; fintech counts start in 2012, so "
    f"the innovation model has {n_innov} observations (16 provinces) and the chain "
    f"{est['chain']['sample']['nobs']} growth observations.",
]
for para in paragraphs:
    print(textwrap.fill(para, width=100, subsequent_indent="   "), end="\n\n")

# %% [markdown]
# ## Specifications that did not run
#
# A column that failed is listed here with the reason; `make replicate` reports it and exits
# non-zero. Full-edition columns (all-field patents by province, 재정자주도 as downloaded,
# manufacturing share) are not failures: without their KOSIS tables they are skipped, and
# the line says which command fetches them.

# %%
failed = {f"{t}/{c}": col["error"] for t, tab in est["tables"].items()
          for c, col in tab["columns"].items() if "error" in col}
print(failed or "every public-edition specification ran")
# full-edition columns (edition = "full" in the spec) wait for their KOSIS downloads
skipped = {f"{t}/{c}": col["skipped"] for t, tab in est["tables"].items()
           for c, col in tab["columns"].items() if "skipped" in col}
for name, why in skipped.items():
    print(f"{name}: {why}")

# %% [markdown]
# ## Warnings raised while fitting
#
# Convergence, boundary and data warnings are recorded per column in `estimates.json`.

# %%
warned = {f"{t}/{c}": col["warnings"] for t, tab in est["tables"].items()
          for c, col in tab["columns"].items() if col.get("warnings")}
warned or "no warnings"
