# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
#   regrowth:
#     reads: [table1_innovation, table2_growth]
# ---

# %% [markdown]
# # 1. The panel: sources, coverage, descriptive statistics
#
# This notebook reads the panel that `make panel` built (`data/processed/panel.parquet`) and
# explains where each series comes from and which years each model can use. Nothing is
# computed here that the package does not also write to disk: the panel, its codebook, the
# figures and the descriptive tables are outputs of `regrowth.panel` and `regrowth.replicate`.
#
# **The edition.** These results use the *public edition*: real public files listed in
# `data/raw/MANIFEST.toml` with their checksums and origins (README, section 2). The study's
# own data are not public. What the public files now cover: both fiscal measures the study
# names (재정자립도 and 재정자주도, 2001-2025), universities and employment (2000-2024),
# population to 2024, KIET's regional development index, and all-field patents by
# macro-region. What is still missing: all-field patents by *province* and researchers; the
# README's "Full edition" says how to add them from KOSIS (`make data EDITION=full`).
#
# **Personal data.** The patent records name their applicants, many of them individuals, with
# their addresses. The package uses an applicant's address only to find the province; no name
# or address is printed, written to the panel or shown here.

# %%
import pandas as pd
from IPython.display import Image, Markdown, display

from regrowth import panel, regions
from regrowth.report import reader

ROOT = reader.project_root()
est = reader.load_estimates(ROOT)
pd.set_option("display.precision", 4)
pd.set_option("display.width", 120)
print("edition:", est["edition"])


def show_figure(name: str) -> None:
    """Display a PNG that `make replicate` wrote to results/figures/."""
    display(Image(filename=str(reader.figure_path(name, ROOT))))


# %% [markdown]
# ## The 17 provinces
#
# `regrowth.regions` owns the province list: a stable English key, the 2-digit KOSIS code, the
# Korean name, the macro-region (권역) and the capital-region flag. Sejong (세종) was carved out
# of Chungnam in July 2012; it is its own unit from its first full year, and the main samples
# leave it out (16 provinces), with robustness columns putting it back.

# %%
regions.to_frame()

# %% [markdown]
# ## The panel and its codebook
#
# One row per province and year, on a full grid (missing where a source has no value). The
# codebook gives, for every column, its label, unit, source file and transformation, and the
# years it covers. Logs (`ln_…`), one-year lags (`…_l1`), growth rates (`…_growth`, percent)
# and per-capita ratios are derived once, in `regrowth.panel`, and nowhere else.

# %%
p = panel.load(ROOT / "data" / "processed")
book = pd.read_csv(ROOT / "data" / "processed" / "codebook.csv")
years = p.index.get_level_values("year")
print(f"{len(p)} rows: {p.index.get_level_values('region').nunique()} provinces x "
      f"{years.min()}-{years.max()}; {p.shape[1]} columns")
book[["name", "label", "unit", "first_year", "last_year", "n_nonmissing"]]

# %% [markdown]
# ## Coverage: which years each model can use
#
# Each cell counts the provinces with a value in that year. The innovation model needs
# fintech patents (complete to 2021: applications are published about 18 months after
# filing) and lagged R&D (R&D starts in 2014, so its lag starts in 2015): hence its sample
# 2015–2021. (Earlier versions stopped in 2020 because the population file did; it now
# runs to 2024.) The growth model needs real per-capita GRDP (16 provinces, 1997–2017) and the
# lagged macro-region patent series: hence 2002–2017. The specification file records each
# model's sample; the descriptive tables at the end show the samples actually used.

# %%
key = ["patents_fintech", "fiscal_self_reliance", "fiscal_autonomy", "rnd", "higher_ed_rate",
       "universities", "population", "grdp_pc_nominal", "grdp_pc_real", "patents_pm_macro"]
coverage = p[key].notna().groupby(level="year").sum()
coverage.loc[1997:2025]

# %% [markdown]
# ## The fintech patent counts
#
# Counts of fintech (IPC G06Q) patent applications by the province of the *first* applicant's
# address and the application year, from the KIPRIS records. Foreign applicants and
# addresses that name no province are counted and reported by the parser (`make panel`
# prints the counts), not silently dropped.
#
# Applications are published about 18 months after filing, so the records of the last
# filing years are incomplete: 2022–2023 are dropped, and 2021 is probably undercounted
# (compare its total with 2020's below). The figure uses a **log scale**: Seoul and Gyeonggi
# file many times as many applications as any other province, and on a linear
# scale the other fifteen would be a flat band at the bottom. On a log scale equal vertical
# distances are equal *ratios*, so parallel lines mean equal growth rates.

# %%
counts = p["patents_fintech"].unstack("year").loc[:, 2012:2021]
table = counts.assign(total=counts.sum(axis=1)).sort_values("total", ascending=False)
capital_share = counts.loc[["seoul", "gyeonggi", "incheon"]].to_numpy().sum() / counts.to_numpy().sum()
print(f"capital region (Seoul, Gyeonggi, Incheon): {capital_share:.0%} of all applications 2012-2021")
print("applications per year: " + ", ".join(f"{y}: {n:,}" for y, n in counts.sum().astype(int).items()))
table

# %%
show_figure("province_patents_fintech.png")

# %% [markdown]
# The concentration is also why the innovation model lets the over-dispersion differ for
# the capital region (notebook 2).
#
# ## Fiscal decentralization: two measures and one break
#
# The study measures decentralization in two ways, and they answer different questions:
#
# * **재정자립도 (fiscal self-reliance)**: own revenue (local taxes and non-tax revenue) as a
#   share of the provincial general-account budget, in percent. How much of what a province
#   spends it raises itself: decentralization of *revenue*.
# * **재정자주도 (fiscal autonomy)**: own revenue *plus general grants* (the local share tax
#   and adjustment grants, which the province may spend as it likes) as a share of the same
#   budget. How much of what a province spends it decides itself: decentralization of
#   *spending power*. It is always at least as high as 재정자립도.
#
# **The 2014 break.** In 2014 the revenue classification changed (some non-tax revenue was
# reclassified), which lowers both ratios by a few points from 2014 on without any change in
# autonomy. KOSIS publishes 재정자립도 on both bases from 2014; the *old* basis runs unbroken
# 2001-2025, so it is the main measure and the revised one a robustness column (Table 3,
# column 3). 재정자주도 is published on the old basis to 2013 and the revised basis from 2014
# (the panel flags the revised years with `fiscal_basis_2014`). The panel also builds a
# continuous old-basis 재정자주도 through an exact identity: the reclassification moves the
# same revenue in both ratios, so old-basis 재정자주도 = published 재정자주도 + (old − revised
# 재정자립도). Table 1 column 5 and Table 2 column 8 use that old-basis series, so the two
# measures sit side by side on the same basis; Table 3 column 5 uses the published one.

# %%
show_figure("province_fiscal_self_reliance.png")

# %%
show_figure("province_fiscal_autonomy.png")

# %%
fsr = p[["fiscal_self_reliance", "fiscal_self_reliance_rev"]].dropna()
gap = (fsr["fiscal_self_reliance"] - fsr["fiscal_self_reliance_rev"]).groupby(level="region").mean()
print("old minus revised classification, mean over 2014-2025, percentage points, by province:")
gap.round(2).sort_values()

# %%
measures = ["fiscal_self_reliance", "fiscal_self_reliance_rev", "fiscal_autonomy", "fiscal_autonomy_old"]
seoul = p.loc["seoul", measures + ["fiscal_basis_2014"]].loc[2011:2016]
seoul

# %% [markdown]
# **What moved in 2018–2020.** The Phase-1 fiscal decentralization reform raised the local
# consumption tax from 11% to 21% of VAT (notebook 6). One would expect decentralization to
# rise; yet 재정자립도 *fell* in most provinces. The ratio has the whole budget in its
# denominator: when budgets grow faster than own revenue (for example through earmarked
# national subsidies), it falls even as own revenue rises. 재정자주도, which also counts the
# general grants as the province's own money, fell less. The counts below are computed from
# the panel; the maps show where. A ratio is therefore a weak measure of what a reform does
# to revenue powers, which is why notebook 6 measures the reform by its statutory dose.

# %%
w = {v: p[v].unstack("year") for v in measures}
moved = pd.DataFrame({v: (w[v][2020] - w[v][2018]).drop("sejong") for v in measures})
print("provinces (of 16, Sejong left out) whose ratio fell 2018 -> 2020: "
      + ", ".join(f"{v}: {int((moved[v] < 0).sum())}" for v in measures))
moved.describe().loc[["mean", "50%", "min", "max"]].round(2)

# %%
show_figure("map_fiscal_self_reliance_2018_2020_change.png")

# %%
show_figure("map_fiscal_autonomy_old_2018_2020_change.png")

# %% [markdown]
# ## Universities
#
# Universities are a regional-innovation-system input the study names. The panel counts
# universities and graduate schools (총계 of all founders: national, public and private) and
# their enrolled students per 10,000 residents (KEDI via KOSIS, 2000–2024). The main
# innovation specification now includes log universities per 10,000 residents beside R&D and
# the higher-education entry rate; Table 3 column 6 shows the model without it.

# %%
univ = p["universities_p10k"].unstack("year")[[2000, 2010, 2020, 2024]]
univ.sort_values(2020, ascending=False).round(3)

# %% [markdown]
# ## Growth and the macro-region innovation series
#
# Real per-capita GRDP growth is the outcome of the growth models. The innovation measure of
# the growth models, all-field patent applications per million residents, is published only
# for the seven macro-regions (권역): every province of a macro-region carries the same value,
# so the second figure draws one line per macro-region and names the provinces it stands for.
# Within a macro-region the growth models therefore cannot tell provinces apart by innovation.
#
# The same rates give **derived all-field counts** per macro-region: the rate (an integer
# per million residents) times the macro-region's mid-year population. They are derived, not
# published, and carry a rounding half-width (±0.5 per million residents). The seven
# macro-regions sum to the national count within 0.1% in every year (the build refuses
# otherwise). Table 7 fits the innovation model to these counts on a separate macro-region
# panel (`data/processed/macro_panel.parquet`: regressors summed or population-weighted from
# their provinces); with seven units, its inference is the exact wild bootstrap over all 128
# sign vectors and randomization inference (notebook 2).

# %%
show_figure("province_grdp_pc_real_growth.png")

# %%
show_figure("province_patents_pm_macro.png")

# %% [markdown]
# ## Descriptive statistics of the estimation samples
#
# These are the tables `make replicate` writes to `results/tables/descriptives_*.md`: each
# is computed on the estimation sample of the first column of its table.

# %%
for t in ["table1_innovation", "table2_growth"]:
    display(Markdown(reader.table_markdown(f"descriptives_{t}", ROOT)))
