# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 3. Innovation, decentralization and regional growth: panel FGLS, random and fixed effects
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

# %%
import numpy as np
import pandas as pd
from IPython.display import Image, Markdown, display

from regrowth import panel, results, specs
from regrowth.models.panel import fit_panel
from regrowth.replicate import estimation_sample, year_dummies

ROOT = results.project_root()
est = results.load_estimates(ROOT)
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
stored = results.coefficients(est, "table2_growth", "fgls_main").set_index("term")
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
if b < 0:
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
columns = [c.id for c in next(t for t in SPECS.tables if t.id == "table2_growth").columns]
results.compare(est, "table2_growth", columns, list(spec.regressors))

# %% [markdown]
# **Reading the convergence term across columns.** Within a province (FE) the lagged-income
# coefficient also picks up mean reversion of growth around the province's own path, so it
# is usually larger in absolute value than between provinces.
#
# ## Table 2 as `make replicate` wrote it

# %%
display(Markdown(results.table_markdown("table2_growth", ROOT)))

# %%
display(Image(filename=str(results.figure_path("table2_growth_coefficients.png", ROOT))))

# %% [markdown]
# ## Caveats
#
# * The innovation measure is the macro-region's, given to each of its provinces: the public
#   edition has no provincial all-field series (the README's "Full edition" adds it).
# * The panel is short and narrow (see the sample above): FGLS estimates a variance for each
#   province and an autocorrelation from few observations, and its standard errors take them
#   as known. The robustness table (notebook 4) varies the error structure, the outcome
#   (nominal growth, to 2020), the provinces (with Sejong) and the innovation measure.
