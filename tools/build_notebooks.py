"""Write the four notebooks' sources (cells without outputs) into notebooks/.

``make replicate`` executes them in place, so the committed notebooks carry the outputs of
the last run. Edit the cells here, run ``python tools/build_notebooks.py``, then
``make replicate``.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

SETUP = """\
import json
from pathlib import Path

import numpy as np
import pandas as pd
from IPython.display import Image, Markdown, display

from regrowth import panel, regions, results

ROOT = results.project_root()
est = results.load_estimates(ROOT)
pd.set_option("display.precision", 4)
pd.set_option("display.width", 120)
print("edition:", est["edition"])"""


def md(text: str):
    return new_markdown_cell(text.strip("\n"))


def code(text: str):
    return new_code_cell(text.strip("\n"))


NOTEBOOKS = {
    "01_panel.ipynb": [
        md("""
# 1. The panel: sources, coverage, descriptive statistics

This notebook reads the panel that `make replicate` built (`data/processed/panel.parquet`) and
explains where each series comes from. Nothing here is computed that the package does not
also write to disk: the panel, its codebook and the descriptive tables are outputs of
`regrowth.panel` and `regrowth.replicate`.

**The edition.** These results use the *public edition*: real public files listed in
`data/raw/MANIFEST.toml` with their checksums and origins. The study's own data are not
public, so some variables (재정자주도, provincial all-field patents, researchers) are missing;
see the README, "Full edition".
"""),
        code(SETUP),
        md("""
## The 17 provinces

`regrowth.regions` owns the province list: a stable English key, the 2-digit KOSIS code, the
Korean name, the macro-region (권역) and the capital-region flag. Sejong (세종) was carved out
of Chungnam in July 2012; it is its own unit from its first full year, and the main samples
leave it out (16 provinces), with robustness columns putting it back.
"""),
        code("regions.to_frame()"),
        md("""
## The panel and its codebook

One row per province and year, on a full grid (missing where a source has no value). The
codebook gives, for every column, its label, unit, source file and transformation, and the
years it covers. Logs, lags, growth rates and per-capita ratios are derived once, in
`regrowth.panel`, and nowhere else.
"""),
        code("""
p = panel.load(ROOT / "data" / "processed")
book = pd.read_csv(ROOT / "data" / "processed" / "codebook.csv")
print(p.shape[0], "rows;", p.index.get_level_values("region").nunique(), "provinces;",
      p.index.get_level_values("year").min(), "-", p.index.get_level_values("year").max())
book[["name", "label", "unit", "first_year", "last_year", "n_nonmissing"]]
"""),
        md("""
## Coverage: which years each model can use

The innovation model needs fintech patents (2012–2021), lagged R&D (R&D starts in 2014, so the
lag starts in 2015), the higher-education entry rate (2014–) and population (to 2020): hence
the sample 2015–2020. The growth model needs real per-capita GRDP (16 provinces, 1997–2017)
and the macro-region patent series (2001–2022), lagged: hence 2002–2017.
"""),
        code("""
key = ["patents_fintech", "fiscal_self_reliance", "rnd", "higher_ed_rate", "population",
       "grdp_pc_nominal", "grdp_pc_real", "patents_pm_macro"]
cov = (p[key].notna().groupby(level="year").sum())
cov.loc[1997:2025]
"""),
        md("""
## The fintech patent counts

Counts of fintech (IPC G06Q) patent applications by the province of the *first* applicant's
address and the application year, from 24,104 KIPRIS records. Foreign applicants and
addresses that name no province are counted and reported by the parser, not silently
dropped. The capital region dominates: a reason to let the dispersion differ there.
"""),
        code("""
counts = p["patents_fintech"].unstack("year").loc[:, 2012:2021]
counts.assign(total=counts.sum(axis=1)).sort_values("total", ascending=False)
"""),
        code('display(Image(filename=str(results.figure_path("province_patents_fintech.png", ROOT))))'),
        md("""
## Fiscal decentralization: 재정자립도

The fiscal self-reliance ratio is own revenue (local taxes and non-tax revenue) as a share of
the provincial general-account budget. In 2014 the revenue classification changed; KOSIS
publishes both series from 2014. The *old* classification runs unbroken from 2001 to 2025, so
it is the main measure; the revised one is a robustness column.
"""),
        code('display(Image(filename=str(results.figure_path("province_fiscal_self_reliance.png", ROOT))))'),
        code("""
fsr = p[["fiscal_self_reliance", "fiscal_self_reliance_rev"]].dropna()
print("old minus revised classification, 2014-2025, mean by province (percentage points):")
(fsr["fiscal_self_reliance"] - fsr["fiscal_self_reliance_rev"]).groupby(level="region").mean().round(2)
"""),
        md("## Growth and the macro-region innovation series"),
        code('display(Image(filename=str(results.figure_path("province_grdp_pc_real_growth.png", ROOT))))'),
        code('display(Image(filename=str(results.figure_path("province_patents_pm_macro.png", ROOT))))'),
        md("""
## Descriptive statistics of the estimation samples

These are the tables `make replicate` writes to `results/tables/descriptives_*.md`.
"""),
        code("""
for t in ["table1_innovation", "table2_growth"]:
    display(Markdown(results.table_markdown(f"descriptives_{t}", ROOT)))
"""),
    ],
    "02_innovation.ipynb": [
        md("""
# 2. Fiscal decentralization and regional innovation: a generalized negative binomial model

The outcome is a count — fintech patent applications per province and year — with many
small values and a few very large ones (Seoul, Gyeonggi). A Poisson model forces the
variance to equal the mean; the **negative binomial (NB2)** lets it be larger,
Var(y) = mu (1 + alpha mu). The **generalized** NB (Stata's `gnbreg`) goes one step further
and lets the over-dispersion alpha depend on covariates: ln alpha = z'g. Here z holds the
capital-region flag and log population.

Mean equation: E[y | x] = exp(x'b), so a coefficient is a *semi-elasticity*: a one-unit rise
in x multiplies expected patents by exp(b) (the **incidence-rate ratio**, IRR).

The estimator is `regrowth.models.GeneralizedNegativeBinomial`, validated against Stata and R
(see `tests/models/`).
"""),
        code(SETUP),
        md("## Table 1 as `make replicate` wrote it"),
        code('display(Markdown(results.table_markdown("table1_innovation", ROOT)))'),
        md("""
**How to read it.** Standard errors are clustered by province: 16 clusters is few, so treat
p-values near the thresholds with caution (Table 3 column 1 shows the model-based OIM
standard errors for comparison). The ln(alpha) panel is the dispersion equation.
"""),
        code("""
t1 = est["tables"]["table1_innovation"]["columns"]
main = results.coefficients(est, "table1_innovation", "gnb_main")
main
"""),
        md("""
## Incidence-rate ratios

exp(b) with its 95% confidence interval: the factor by which expected fintech applications
change for a one-unit change in the regressor (one percentage point of 재정자립도; one log point
of R&D, i.e. R&D multiplied by e). These come from refitting the same specification with the
same code that made Table 1 (`results.refit`), so the coefficients are identical.
"""),
        code("""
gnb = results.refit("table1_innovation", "gnb_main", ROOT)
assert np.allclose(np.asarray(gnb.params), main["estimate"].to_numpy(), rtol=0, atol=0)
gnb.irr().drop(index=[c for c in gnb.irr().index if c.startswith("year_")])
"""),
        md("""
## Average marginal effects

dE[y]/dx averaged over the sample: the change in the expected *number* of applications per
province-year for a one-unit change in x, with delta-method standard errors from the
clustered covariance.
"""),
        code("""
me = gnb.marginal_effects()
me.drop(index=[c for c in me.index if c.startswith("year_")])
"""),
        md("""
## Is the dispersion equation needed? Likelihood-ratio tests

* **GNB vs NB2** (constant alpha): the dispersion slopes are zero. LR ~ chi2 with as many
  degrees of freedom as slopes.
* **GNB vs Poisson** (alpha = 0): alpha lies on the boundary of its space under the null, so
  the LR statistic follows a mixture of chi-squared distributions (chi-bar-squared), and the
  naive chi2 p-value is too large. See `lr_test_poisson`'s docstring for what is done with
  several dispersion parameters.
"""),
        code("""
rows = []
for name in ("nb2", "poisson"):
    s = t1["gnb_main"]["stats"]
    rows.append({"test": f"GNB vs {name.upper()}", "LR": s[f"lr_{name}_stat"],
                 "df": s[f"lr_{name}_df"], "p-value": s[f"lr_{name}_p"]})
pd.DataFrame(rows)
"""),
        code("""
print(gnb.lr_test_poisson().distribution)
print("log likelihoods: GNB", round(t1["gnb_main"]["stats"]["llf"], 3),
      "| NB2", round(t1["nb2_main"]["stats"]["llf"], 3),
      "| Poisson", round(t1["poisson_main"]["stats"]["llf"], 3))
"""),
        md("## Coefficients across the four columns"),
        code('display(Image(filename=str(results.figure_path("table1_innovation_coefficients.png", ROOT))))'),
        md("""
**Caveats a reader should keep in mind.** 96 observations and 16 clusters; fintech patents
are a narrow slice of innovation; R&D and population move slowly, so with year effects much
of the identification is cross-sectional. The robustness notebook (04) varies these choices.
"""),
    ],
    "03_growth.ipynb": [
        md("""
# 3. Innovation, decentralization and regional growth: FGLS, random and fixed effects

Outcome: growth of real per-capita GRDP (percent). Regressors: lagged 재정자립도, lagged log
all-field patents per million (macro-region), lagged log real per-capita GRDP (convergence)
and population growth. 16 provinces, 2002–2017.

**Why FGLS?** Korean regional growth studies call this model "GLS": Stata's `xtgls` with
heteroskedastic panels (each province its own error variance) and AR(1) errors (growth
shocks persist). The estimator (`regrowth.models.PanelFGLS`) follows Stata step by step:
OLS, estimate rho from the residuals, Prais–Winsten transform, estimate each province's
variance, then GLS. Random effects (Swamy–Arora GLS) and fixed effects (within) come from
`linearmodels`.
"""),
        code(SETUP),
        code('display(Markdown(results.table_markdown("table2_growth", ROOT)))'),
        md("""
## The three estimators side by side

FGLS uses both the variation across provinces and over time and weights provinces by the
inverse of their error variance. Random effects also use both but assume the province effect
is uncorrelated with the regressors; fixed effects use only variation within each province
and so say nothing about permanent differences between provinces.
"""),
        code("""
terms = ["fiscal_self_reliance_l1", "ln_patents_pm_macro_l1", "ln_grdp_pc_real_l1", "population_growth"]
results.compare(est, "table2_growth", ["fgls_main", "re_main", "fe_main", "fe_dk"], terms)
"""),
        md("""
## What FGLS estimated about the errors

The AR(1) coefficient rho and each province's error standard deviation.
"""),
        code("""
fg = results.refit("table2_growth", "fgls_main", ROOT)
print("rho =", np.round(np.atleast_1d(fg.rho), 4))
sd = pd.Series(np.sqrt(np.diag(fg.sigma.to_numpy())), index=fg.sigma.index, name="error s.d.")
sd.round(3).sort_values()
"""),
        code('display(Image(filename=str(results.figure_path("table2_growth_coefficients.png", ROOT))))'),
        md("""
**Reading the convergence term.** A negative coefficient on lagged log income means poorer
provinces grow faster, other things equal (beta-convergence). Within a province (FE) the same
coefficient picks up mean reversion of growth around the province's own path, so it is
usually larger in absolute value.
"""),
    ],
    "04_robustness.ipynb": [
        md("""
# 4. Robustness

How much do the conclusions depend on choices the study does not document? Each column below
changes one choice; every choice is written, with its reason, in `specs/models.toml`.
"""),
        code(SETUP),
        md("## Innovation model (Table 3)"),
        code('display(Markdown(results.table_markdown("table3_innovation_robustness", ROOT)))'),
        code("""
cols = ["gnb_oim", "gnb_sejong", "gnb_fsr_revised", "gnb_exposure"]
fsr = {"gnb_fsr_revised": "fiscal_self_reliance_rev_l1"}
rows = []
for c in ["gnb_main"] + cols:
    table = "table1_innovation" if c == "gnb_main" else "table3_innovation_robustness"
    co = results.coefficients(est, table, c).set_index("term")
    co = co[co.equation == "mean"]
    term = fsr.get(c, "fiscal_self_reliance_l1")
    s = est["tables"][table]["columns"][c]["stats"]
    rows.append({"column": c, "재정자립도 coef.": co.loc[term, "estimate"],
                 "std. error": co.loc[term, "std_error"], "p-value": co.loc[term, "p_value"],
                 "N": s["nobs"]})
pd.DataFrame(rows).set_index("column")
"""),
        md("## Growth model (Table 4)"),
        code('display(Markdown(results.table_markdown("table4_growth_robustness", ROOT)))'),
        code('display(Image(filename=str(results.figure_path("table4_growth_robustness_coefficients.png", ROOT))))'),
        md("""
## Specifications that did not run

A column that failed (for instance because the public edition lacks a variable) is listed
here with the reason; `make replicate` reports it and exits non-zero.
"""),
        code("""
failed = {f"{t}/{c}": col["error"] for t, tab in est["tables"].items()
          for c, col in tab["columns"].items() if "error" in col}
failed or "every specification ran"
"""),
        md("""
## Warnings raised while fitting

Convergence, boundary and data warnings are recorded per column in `estimates.json`.
"""),
        code("""
{f"{t}/{c}": col["warnings"] for t, tab in est["tables"].items()
 for c, col in tab["columns"].items() if col.get("warnings")} or "no warnings"
"""),
    ],
}


def main(out: str | Path = "notebooks") -> None:
    out = Path(out)
    out.mkdir(exist_ok=True)
    for name, cells in NOTEBOOKS.items():
        nb = new_notebook(cells=cells, metadata={
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"}})
        for i, cell in enumerate(nb.cells):
            cell["id"] = f"{name.split('_')[0]}-{i:02d}"  # stable ids: no random uuids in diffs
        nbformat.validate(nb)
        (out / name).write_text(nbformat.writes(nb) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
