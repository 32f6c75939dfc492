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
# # 4. Robustness
#
# How much do the conclusions depend on choices the study does not document? Each column of
# Tables 3 and 4 changes one choice of the main specification; every choice is written, with
# its reason, in `specs/models.toml` (the `rationale` printed below). The question to ask of
# each column is not "is it still significant?" but "does the estimate move by more than its
# uncertainty?".

# %%
from pathlib import Path

import pandas as pd
from IPython.display import Image, Markdown, display

from regrowth import results

ROOT = results.project_root()
est = results.load_estimates(ROOT)
pd.set_option("display.precision", 4)
pd.set_option("display.width", 120)
pd.set_option("display.max_colwidth", 120)
print("edition:", est["edition"])


def decentralization_rows(tables: list[str]) -> pd.DataFrame:
    """The decentralization coefficient of every column of ``tables`` that ran."""
    rows = []
    for table in tables:
        for cid, col in est["tables"][table]["columns"].items():
            if "error" in col:
                continue
            co = results.coefficients(est, table, cid)
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
display(Markdown(results.table_markdown("table3_innovation_robustness", ROOT)))

# %%
decentralization_rows(["table1_innovation", "table3_innovation_robustness"])

# %%
display(Image(filename=str(results.figure_path("table3_innovation_robustness_coefficients.png", ROOT))))

# %% [markdown]
# ## Growth model (Tables 2 and 4)
#
# Table 4 varies the error structure, the outcome (nominal instead of real growth, which
# runs longer), the provinces (Sejong in) and the innovation measure (fintech applications per
# resident of the province itself instead of the macro-region series); the notes and the
# `rationale` column say which column does what. The coefficient is in percentage points of
# growth per point of fiscal self-reliance.

# %%
display(Markdown(results.table_markdown("table4_growth_robustness", ROOT)))

# %%
decentralization_rows(["table2_growth", "table4_growth_robustness"])

# %%
display(Image(filename=str(results.figure_path("table4_growth_robustness_coefficients.png", ROOT))))

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
# ## Specifications that did not run
#
# A column that failed (for instance because the public edition lacks a variable) is listed
# here with the reason; `make replicate` reports it and exits non-zero.

# %%
failed = {f"{t}/{c}": col["error"] for t, tab in est["tables"].items()
          for c, col in tab["columns"].items() if "error" in col}
failed or "every specification ran"

# %% [markdown]
# ## Warnings raised while fitting
#
# Convergence, boundary and data warnings are recorded per column in `estimates.json`.

# %%
warned = {f"{t}/{c}": col["warnings"] for t, tab in est["tables"].items()
          for c, col in tab["columns"].items() if col.get("warnings")}
warned or "no warnings"
