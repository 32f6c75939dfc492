# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
#   regrowth:
#     reads: [table2_growth]
# ---

# %% [markdown]
# # 3. Innovation, decentralization and regional growth: panel FGLS, random and fixed effects
#
# *Every test, weight and estimator named here is explained in a sentence or two in
# [the glossary](GLOSSARY.md).*
#
# **Question.** Do provinces grow faster when they innovate more and when they are fiscally
# more autonomous, once their income level and population growth are accounted for?
#
# **The growth equation.** For province $i$ in year $t$,
#
# $$g_{it} = \beta_0 + \beta_1\,\text{FSR}_{i,t-1} + \beta_2 \ln \text{patents}_{i,t-1}
#   + \beta_3 \ln y_{i,t-1} + \beta_4\,\text{pop. growth}_{it} + u_{it},$$
#
# where $g_{it}$ is the growth of real per-capita GRDP in percent, FSR the fiscal
# self-reliance ratio (percent), patents the all-field patent applications per million
# residents of the province's macro-region, and $y$ real per-capita GRDP. Lags keep the
# regressors determined before the year's growth; year effects are added where the
# specification asks for them. This is a *conditional convergence*
# regression: $\beta_3 < 0$ means poorer provinces grow faster, other things equal.
#
# **Why FGLS.** Korean regional growth studies call this model "GLS": Stata's `xtgls` with
# *heteroskedastic panels* (each province has its own error variance $\sigma_i^2$ — a small
# province's growth is noisier) and *AR(1) errors* ($u_{it} = \rho\,u_{i,t-1} + e_{it}$:
# growth shocks persist). Feasible GLS estimates $\rho$ from the OLS residuals, transforms the
# data to remove the autocorrelation (Prais–Winsten), estimates each $\sigma_i$ from the
# residuals of the transformed regression, and runs least squares weighting each province by
# the inverse of its error variance. The estimator here,
# `regrowth.models.PanelFGLS`, follows Stata step by step and is checked against the `xtgls`
# manual's examples (README, section 6). Random effects (Swamy–Arora GLS) and fixed effects
# (within) come from `linearmodels`.
#
# **Reading the coefficients.** The outcome is a growth rate in percent, so
#
# * a level regressor's coefficient (FSR, population growth) is the change in growth, in
#   percentage points, for a one-unit rise of the regressor;
# * a log regressor's coefficient $\beta$ is the change in growth, in percentage points, for a
#   one-log-point rise of the regressor; a 1 % rise changes growth by $\beta/100$ points.
#   It is *not* an elasticity of growth: the outcome is already a rate in percent (the
#   elasticities of notebook 2 belong to the count model, whose outcome enters in logs).

# %%
import numpy as np
import pandas as pd
from IPython.display import Image, Markdown, display

from regrowth import panel, specs
from regrowth.report import reader
from regrowth.models.linear import fit_panel
from regrowth.fit import estimation_sample
from regrowth.models.design import year_dummies

ROOT = reader.project_root()
est = reader.load_estimates(ROOT)
pd.set_option("display.precision", 4)
pd.set_option("display.width", 120)
print("edition:", est["edition"])

# %% [markdown]
# ## The specification and its sample

# %%
SPECS = specs.load(ROOT / "specs" / "models.toml")
spec = {c.name: c for c in SPECS.columns()}["table2_growth/fgls_main"]
for key in ("estimator", "outcome", "regressors", "year_effects", "se_type", "options"):
    print(f"{key:>13}: {getattr(spec, key)}")
print(f"{'sample':>13}: {spec.sample.describe()}")
print(f"{'rationale':>13}: {spec.rationale}")

p = panel.load(ROOT / "data" / "processed")
sample, dropped = estimation_sample(spec, p)
years = sample.index.get_level_values("year")
n_prov = sample.index.get_level_values("region").nunique()
print(f"\n{len(sample)} province-years: {n_prov} provinces x {years.nunique()} years "
      f"({years.min()}-{years.max()}); {dropped} rows of the window dropped for missing values")

# %% [markdown]
# ## Fitting the model from a formula
#
# `fit_panel` is the one entry point for the growth estimators (`"fgls"`, `"re"`, `"fe"`,
# `"pooled"`); the data keep their (province, year) index, which tells the estimator the
# panels and the time order. The spec's `options` are `xtgls`'s options. Year effects, if the
# spec asks for them, enter as dummies for every year but the first.

# %%
frame = sample[[spec.outcome, *spec.regressors]].astype(float)
terms = list(spec.regressors)
if spec.year_effects:
    dummies = year_dummies(frame.index)
    frame = frame.join(dummies)
    terms += list(dummies.columns)
formula = f"{spec.outcome} ~ 1 + " + " + ".join(terms)
print(formula)
options = dict(spec.options)
nmk = {"nmk": bool(options.pop("nmk"))} if "nmk" in options else {}
fg = fit_panel("fgls", formula, frame, model_options=options, **nmk)
ci = fg.conf_int()
coef_table = pd.DataFrame({"coef": fg.params, "std. err.": fg.std_errors, "z": fg.tstats,
                           "P>|z|": fg.pvalues, "[0.025": ci.iloc[:, 0], "0.975]": ci.iloc[:, 1]})
coef_table

# %% [markdown]
# **The same numbers as Table 2.** The stored results of `make replicate` agree:

# %%
stored = reader.coefficients(est, "table2_growth", "fgls_main").set_index("term")
check = list(spec.regressors)
comparison = pd.DataFrame({"fit_panel": fg.params[check],
                           "Table 2 (estimates.json)": stored.loc[check, "estimate"]})
comparison["difference"] = comparison.iloc[:, 0] - comparison.iloc[:, 1]
assert np.allclose(comparison.iloc[:, 0], comparison.iloc[:, 1], rtol=1e-6, atol=1e-8), comparison
comparison

# %% [markdown]
# ## What the coefficients say
#
# Computed from the fit, so the sentences follow the data and the specification:

# %%
def effect(term: str) -> str:
    lo, hi = ci.loc[term]
    return (f"{fg.params[term]:+.3f} percentage points (95% CI {lo:+.3f} to {hi:+.3f}, "
            f"p = {fg.pvalues[term]:.3f})")


print("One point more fiscal self-reliance last year:", effect("fiscal_self_reliance_l1"))
innovation = next(t for t in spec.regressors if "patents" in t)
print(f"One log point more patents per million last year ({innovation}):", effect(innovation))
print(f"  i.e. 10% more patents per million -> {fg.params[innovation] * np.log(1.1):+.3f} points of growth")
income = next(t for t in spec.regressors if t.startswith("ln_grdp"))
b = fg.params[income]
print(f"Lagged log income ({income}):", effect(income))
if b < 0 and fg.pvalues[income] > 0.10:
    print("  negative, but not distinguishable from zero: no evidence of conditional convergence "
          "once year effects are in")
elif b < 0:
    speed = -np.log1p(b / 100)          # growth in percent: d ln y = g / 100
    print(f"  implied convergence speed {100 * speed:.2f}% a year; half of a gap to the province's "
          f"steady state closes in {np.log(2) / speed:.0f} years")
else:
    print("  no conditional convergence in this sample (the coefficient is not negative)")

# %% [markdown]
# ## What FGLS estimated about the errors
#
# The common AR(1) coefficient $\rho$ and each province's error standard deviation
# $\sigma_i$: the weights FGLS gives the provinces are $1/\sigma_i^2$, so the noisiest
# provinces count least. No log likelihood is reported for this model: with AR(1) errors the
# two-step FGLS estimate does not maximize a likelihood, and `xtgls` (whose conventions the
# tables follow) reports one only for models where iterating FGLS gives the maximum
# likelihood estimate.

# %%
print("rho =", np.round(np.atleast_1d(fg.rho), 4))
sigma = fg.sigma
sd = pd.Series(np.sqrt(np.diag(np.asarray(sigma, dtype=float))), index=sigma.index, name="error s.d.")
print(f"error s.d. ranges from {sd.min():.2f} ({sd.idxmin()}) to {sd.max():.2f} ({sd.idxmax()}) points")
sd.round(3).sort_values()

# %% [markdown]
# ## The estimators side by side
#
# FGLS uses the variation across provinces and over time and weights provinces by the
# inverse of their error variance. Random effects also use both but assume the province
# effect is uncorrelated with the regressors. Fixed effects use only variation *within* each
# province over time, so they say nothing about permanent differences between provinces —
# and the macro-region patent series, shared by the provinces of a macro-region, is then
# identified only by its changes over time. The table's notes and each column's `rationale`
# in the specification file say what the other columns change (for instance standard errors
# robust to shocks common to all provinces, such as 2008–09).

# %%
columns = reader.columns_run(est, "table2_growth")  # full-edition columns need a KOSIS download
reader.compare(est, "table2_growth", columns, list(spec.regressors))

# %% [markdown]
# ## Why the estimators disagree
#
# The columns do not differ only in their standard errors: some coefficients change sign.
# Three reasons, each visible in the numbers below.
#
# 1. **Common shocks (year effects).** Without year dummies, national booms and busts (1998,
#    2008–09) load on any regressor that trends over time. Patents per million and income
#    trend over the period in every province, and so does growth, so without year effects
#    their coefficients pick up those common trends; with year effects only differences
#    *between provinces in the same year* (and their changes) are used.
# 2. **Between versus within variation.** FGLS and random effects use mostly differences
#    *between* provinces; fixed effects use only changes *within* a province over time.
#    재정자립도 moves slowly within a province, and most of the macro-region patent series'
#    within-province movement is a trend common to all provinces, which the year effects
#    take out; what is left for two-way FE is small next to the between-province spread
#    (printed below the table), so the FE estimates are imprecise.
# 3. **Nickell bias.** The FE convergence coefficient is the coefficient on a lagged
#    dependent variable (ln y_{t-1}, since growth is 100·Δln y) in a within regression with
#    T = 16 years: it is biased away from zero by roughly −(1 + ρ)/(T − 1) in ρ = 1 + b/100
#    (`regrowth.diagnostics.nickell_bias`; Table 2's note). Much of the large FE convergence
#    term is this bias, not fast convergence.

# %%
def coef(table, column, term):
    co = reader.coefficients(est, table, column).set_index("term")
    return co.loc[term, "estimate"], co.loc[term, "std_error"], co.loc[term, "p_value"]


income = next(t for t in spec.regressors if t.startswith("ln_grdp"))
fsr = "fiscal_self_reliance_l1"
rows = []
for cid in ("fgls_no_year", "fgls_main", "re_main", "fe_main"):
    col = est["tables"]["table2_growth"]["columns"][cid]
    row = {"column": f"{col['label']} {col['title']}", "year effects": col["stats"]["year_effects"],
           "province effects": col["stats"]["province_effects"]}
    for term, name in ((fsr, "FSR"), (innovation, "innovation"), (income, "ln y(t-1)")):
        row[name] = coef("table2_growth", cid, term)[0]
    rows.append(row)
flips = pd.DataFrame(rows).set_index("column")
display(flips)
from regrowth.models.count_panel import within_between_sd  # noqa: E402

for term in (fsr, innovation):
    x = sample[term]
    v = within_between_sd(x, sample.index.get_level_values("region"))
    two_way = (x - x.groupby(level="region").transform("mean")
               - x.groupby(level="year").transform("mean") + x.mean())
    print(f"{term} on this sample: between-province sd {v['between_sd']:.3f}, within-province sd "
          f"{v['within_sd']:.3f} (Stata xtsum), within province and year {two_way.std():.3f}")

# %%
b_no, _, p_no = coef("table2_growth", "fgls_no_year", innovation)
b_yr, _, p_yr = coef("table2_growth", "fgls_main", innovation)
c_no = coef("table2_growth", "fgls_no_year", income)[0]
c_yr = coef("table2_growth", "fgls_main", income)[0]
c_fe = coef("table2_growth", "fe_main", income)[0]
flip = "changes sign" if np.sign(b_no) != np.sign(b_yr) else "keeps its sign"
print(f"Innovation (FGLS): {b_no:+.3f} (p = {p_no:.3f}) without year effects, {b_yr:+.3f} "
      f"(p = {p_yr:.3f}) with them: the coefficient {flip} when common shocks are absorbed.")
print(f"Convergence (FGLS): {c_no:+.3f} without year effects, {c_yr:+.3f} with them "
      f"({abs(c_yr) / abs(c_no):.0%} of the size): most of the apparent convergence was common "
      "to all provinces.")
from regrowth.diagnostics import nickell_bias  # noqa: E402

T = years.nunique()  # years per province in the sample
rho_fe = 1 + c_fe / 100
print(f"Convergence (FE): {c_fe:+.2f}, i.e. rho = {rho_fe:.3f}. Nickell's approximate bias in b "
      f"with T = {T}: {100 * nickell_bias(rho_fe, T):+.1f} at rho = {rho_fe:.2f}, "
      f"{100 * nickell_bias(0.9, T):+.1f} at rho = 0.9 -- the same order as the FE estimate "
      "itself.")

# %% [markdown]
# ## What the specification tests say about the estimator
#
# `regrowth.diagnostics` runs Stata's five panel tests on each growth specification
# (`results/tables/diagnostics_growth.*`). Recomputed here from the panel:

# %%
from regrowth.analyses.diagnostics import linear_diagnostics  # noqa: E402

diag = linear_diagnostics(SPECS, p, ["table2_growth"])
display(Markdown(reader.table_markdown("diagnostics_growth", ROOT)))

# %%
with_year = [v for k, v in diag.items() if k.endswith(", year effects")][-1]
no_year = next(v for k, v in diag.items() if k.endswith("no year effects"))


def line(d):
    return f"{d.distribution} = {d.statistic:.2f}, p = {d.pvalue:.3f}"


h, hs = with_year["hausman"], with_year["hausman_sigmamore"]
print(f"Hausman FE vs RE: {line(h)}; sigmamore: {line(hs)} -> "
      + ("not valid here: " + h.extra.get("reason", "") if not h.valid else
         "rejects RE." if hs.rejects() else "does not reject RE."))
bp = with_year["breusch_pagan_re"]
print(f"Breusch-Pagan LM (xttest0): {line(bp)} -> "
      + ("no evidence of a province variance component: the estimated RE variance is zero and "
         "RE collapses to pooled OLS with year effects." if not bp.rejects()
         else "a province variance component is present."))
gw, ws = with_year["groupwise_heteroskedasticity"], with_year["wooldridge_ar1"]
print(f"Groupwise heteroskedasticity (xttest3): {line(gw)} -> "
      + ("error variances differ across provinces, which FGLS's panels(hetero) and "
         "province-clustered SEs allow for." if gw.rejects() else "no evidence against equal "
         "variances."))
print(f"Serial correlation (xtserial): {line(ws)} -> "
      + ("not valid here: " + ws.extra.get("reason", "") if not ws.valid else
         "see the table."))
cd1, cd0 = with_year["pesaran_cd"], no_year["pesaran_cd"]
print(f"Pesaran CD: {line(cd0)} without year effects, {line(cd1)} with them -> "
      + ("the cross-sectional dependence is mostly common shocks, which the year effects absorb."
         if cd0.rejects() and not cd1.rejects() else "see the table."))

# %% [markdown]
# **Reading.** The tests do not crown one estimator, and two of them cannot speak here. The
# growth equation has lagged income as a regressor, a lagged dependent variable: the random
# effects estimator is then inconsistent even when the province effects are unrelated to the
# regressors, so the Hausman test (which needs RE consistent under its null) compares two
# estimators that are both biased, and Wooldridge's xtserial test assumes strictly exogenous
# regressors. The table marks both "n/v" (not valid) and says why in its note. What remains:
# xttest0 finds no province variance component once year effects are in, so RE is pooled OLS
# here and "FGLS vs RE" is a choice of weighting, not of identification; heteroskedasticity
# argues for the error structure FGLS models and for clustered SEs; year effects take care of
# the cross-sectional dependence Pesaran's CD finds without them. The FE convergence term
# carries the Nickell bias: Table 2's columns (6) and (7) correct it (split-panel jackknife,
# LSDVC) and the corrected estimates are far smaller than the FE one, and far apart.
#
# ## What the bootstrap p-values say
#
# With 16 provinces, cluster-robust tests over-reject (notebook 4's Monte Carlo). The focus
# coefficients of Table 2 carry a wild cluster bootstrap (brackets in the table), clustered
# where the regressor varies: 재정자립도 (and 재정자주도, column 8) varies by province, so its
# bootstrap resamples provinces; the innovation series takes one value per macro-region and
# year, so its bootstrap clusters by **macro-region** (7 clusters, all 2^7 = 128 sign vectors
# enumerated) — clustering it by province would count the provinces of one macro-region as
# independent evidence about a value they share. The `groups` column says which:

# %%
rows = []
for cid, col in est["tables"]["table2_growth"]["columns"].items():
    for term, b in (col.get("extra", {}).get("bootstrap") or {}).items():
        e, se, pv = coef("table2_growth", cid, term)
        rows.append({"column": f"{col['label']} {col['title']}", "term": term, "estimate": e,
                     "groups": b.get("groups", "region"), "clusters": b.get("n_clusters"),
                     "analytic p": pv, "bootstrap p": b["pvalue"],
                     "95% CI (bootstrap)": (f"[{b['ci_low']:.3f}, {b['ci_high']:.3f}]"
                                            if b.get("ci_low") is not None
                                            else b.get("ci_note", "not computed"))})
boot = pd.DataFrame(rows)
boot

# %%
for term in (fsr, innovation):
    sub = boot[boot["term"] == term]
    sig = sub[sub["bootstrap p"] < 0.05]["column"].tolist()
    print(f"{term}: bootstrap p < 0.05 in {', '.join(sig) or 'no column'}; "
          f"bootstrap p from {sub['bootstrap p'].min():.3f} to {sub['bootstrap p'].max():.3f}.")

# %% [markdown]
# How to read these lines. A bootstrap p above 0.05 does not say the coefficient is zero; it
# says the data cannot tell it from zero at that level. Where the fixed-effects estimate
# (within provinces) has about the size of the pooled one but a wider interval, the right word
# is **imprecise**: within-province changes of 재정자립도 are small (notebook 2, Table 5a), so
# FE has little variation to work with — that is not evidence that the association exists
# only between provinces. Only where the FE estimate is clearly smaller than the pooled one,
# with an interval that excludes the pooled value, would "a between-province pattern" be the
# reading. Clustered by macro-region, the innovation term rests on seven clusters: its
# bootstrap p-values are coarse and the test has little power.

# %%
cols = est["tables"]["table2_growth"]["columns"]
for term in (fsr, innovation):
    pooled, _, _ = coef("table2_growth", "fgls_main", term)
    within, _, _ = coef("table2_growth", "fe_main", term)
    fe_boot = (cols["fe_main"]["extra"].get("bootstrap") or {}).get(term, {})
    lo, hi = fe_boot.get("ci_low"), fe_boot.get("ci_high")
    if lo is None or not np.isfinite(lo) or not np.isfinite(hi):
        print(f"{term}: no bootstrap interval for the FE column")
        continue
    verdict = ("imprecise: the FE interval contains the pooled (FGLS) estimate"
               if lo <= pooled <= hi else
               "different: the FE interval excludes the pooled (FGLS) estimate")
    print(f"{term}: FGLS {pooled:+.3f}, FE {within:+.3f} with bootstrap set "
          f"[{lo:+.3f}, {hi:+.3f}] -> {verdict}")

# %%
display(Markdown(reader.table_markdown("table2_growth", ROOT)))

# %%
display(Image(filename=str(reader.figure_path("table2_growth_coefficients.png", ROOT))))

# %% [markdown]
# ## Caveats
#
# * The innovation measure is the macro-region's, given to each of its provinces: the public
#   edition has no provincial all-field series (the README's "Full edition" adds it).
# * The panel is short and narrow (see the sample above): FGLS estimates a variance for each
#   province and an autocorrelation from few observations, and its standard errors take them
#   as known. The robustness table (notebook 4) varies the error structure, the outcome
#   (nominal growth, to 2020), the provinces (with Sejong) and the innovation measure.
# * Decentralization is measured by 재정자립도 in columns (1)-(7) and by 재정자주도 (own revenue
#   plus general grants, old revenue basis throughout) in column (8); notebook 1 explains the
#   two measures and the 2014 basis break.
