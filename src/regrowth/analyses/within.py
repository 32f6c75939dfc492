"""Within-province variation: how much of a regressor varies within provinces, and what
the count models with province effects say (``analyses = { variation = ... }``).

The ``variation`` analysis writes Stata ``xtsum``'s overall, between- and within-province
standard deviations of every regressor of one column of the table (default: the first) on
its estimation sample, as ``results/tables/<output>.*``, and records them in
``estimates.json["variation"][<table id>]``. Settings: ``true`` or ``{ column = "...",
output = "stem", title = "..." }``.

:func:`within_province_table` fits the pooled model of a count column beside Poisson with
province (and year) effects, NB2 with dummies and the HHG ``xtnbreg`` models, for one term.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from regrowth.analyses import Analysis, Context, Output, parse_output_settings, register
from regrowth.fit import estimation_sample, fit_column
from regrowth.models.count_panel import nb2_dummies, poisson_fe, within_between_sd
from regrowth.models.xtnbreg import xtnbreg_fe, xtnbreg_re
from regrowth.report.tables import table_paths, RegressionTable, Row, TableColumn, format_number, regression_table

__all__ = ["WITHIN_MODELS", "WITHIN_NOTE", "variation_table", "within_province_table",
           "within_province_regression_table"]

EXTS = ("md", "tex", "html", "csv", "docx")


#: Models of :func:`within_province_table`, in display order: (key, label, Stata command).
WITHIN_MODELS = (
    ("gnb_pooled", "GNB, pooled (Table 1 main)", "gnbreg y x i.year, lnalpha(z) vce(cluster id)"),
    ("poisson_fe", "Poisson FE (province)", "xtpoisson y x, fe vce(robust)"),
    ("poisson_fe_year", "Poisson FE (province + year)", "xtpoisson y x i.year, fe vce(robust)"),
    ("nb2_dummies", "NB2, province + year dummies", "nbreg y x i.year i.id, vce(cluster id)"),
    ("xtnbreg_fe", "xtnbreg, fe (HHG)", "xtnbreg y x i.year, fe"),
    ("xtnbreg_re", "xtnbreg, re (HHG)", "xtnbreg y x i.year, re"),
)

WITHIN_NOTE = (
    "xtnbreg, fe (Hausman-Hall-Griliches) conditions out a province-specific dispersion, not a "
    "province-specific mean: it identifies a constant and time-invariant regressors and is not "
    "a fixed-effects model of the mean (Allison & Waterman 2002; Guimaraes 2008). The Poisson "
    "columns with province effects are the fixed-effects benchmark (conditional Poisson == "
    "Poisson with province dummies; SEs clustered by province, G/(G-1)).")


def within_province_table(panel: pd.DataFrame, spec, term: str) -> tuple[pd.DataFrame, dict]:
    """What within-province variation says about ``term`` in a count equation.

    Fits, on the estimation sample of ``spec`` (a count-model column), the pooled model of
    that spec and the models of :data:`WITHIN_MODELS` with
    the same outcome and regressors (year effects as the spec says, except the column without
    them), clustering by province where the model allows.

    Returns
    -------
    (rows, variation): ``rows`` has one row per model -- ``model``, ``label``, ``command``,
    ``term``, ``estimate``, ``std_error``, ``ci_low``, ``ci_high``, ``p_value`` (normal),
    ``se_type``, ``nobs``, ``n_groups``, ``llf``, ``converged`` -- with the coefficient in log
    points of the expected count per unit of ``term`` (here per percentage point of
    재정자립도); ``variation`` is :func:`within_between_sd` of ``term`` on the same sample
    (percentage points).
    """
    data, _ = estimation_sample(spec, panel)
    regions = data.index.get_level_values("region").to_numpy()
    years = data.index.get_level_values("year").to_numpy()
    y = data[spec.outcome].astype(float)
    X = data[list(spec.regressors)].astype(float)
    exposure = data[spec.exposure].astype(float) if spec.exposure else None
    time = years if spec.year_effects else None

    def year_cols(frame):
        if not spec.year_effects:
            return frame
        levels = sorted(set(years))
        extra = pd.DataFrame({f"year_{t}": (years == t).astype(float) for t in levels[1:]},
                             index=frame.index)
        return pd.concat([frame, extra], axis=1)

    fits = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=FutureWarning)
        fits["gnb_pooled"] = fit_column(spec, panel).result
        fits["poisson_fe"] = poisson_fe(y, X, regions, exposure=exposure)
        fits["poisson_fe_year"] = poisson_fe(y, X, regions, time=years, exposure=exposure)
        fits["nb2_dummies"] = nb2_dummies(y, X, regions, time=time, exposure=exposure)
        fits["xtnbreg_fe"] = xtnbreg_fe(y, year_cols(X), regions, exposure=exposure)
        fits["xtnbreg_re"] = xtnbreg_re(y, year_cols(X), regions, exposure=exposure)
    rows = []
    for key, label, command in WITHIN_MODELS:
        res = fits[key]
        params, bse = pd.Series(res.params), pd.Series(res.bse)
        ci = res.conf_int()
        ci = ci.to_numpy() if hasattr(ci, "to_numpy") else np.asarray(ci)
        i = list(params.index).index(term)
        est, se = float(params.iloc[i]), float(bse.iloc[i])
        rows.append({
            "model": key, "label": label, "command": command, "term": term,
            "estimate": est, "std_error": se, "ci_low": float(ci[i, 0]), "ci_high": float(ci[i, 1]),
            "p_value": float(2 * stats.norm.sf(abs(est / se))),
            "se_type": getattr(res, "cov_type", "cluster") if key != "gnb_pooled" else spec.se_type,
            "nobs": int(res.nobs), "n_groups": len(set(regions)),
            "llf": float(res.llf), "converged": bool(getattr(res, "converged", True)),
        })
    return pd.DataFrame(rows), within_between_sd(X[term].to_numpy(), regions)


def within_province_regression_table(rows: pd.DataFrame, variation: dict, *, label: str,
                                     notes=(), title: str = "Within-province evidence"):
    """:func:`within_province_table`'s output as a :class:`regrowth.report.tables.RegressionTable`
    (one coefficient row, one column per model; ``notes`` first, then the xtsum sds of the
    term and the caveat on xtnbreg, fe)."""
    columns = []
    for i, r in enumerate(rows.itertuples(index=False), 1):
        coefs = pd.DataFrame([{"term": r.term, "equation": "main", "estimate": r.estimate,
                               "std_error": r.std_error, "statistic": r.estimate / r.std_error,
                               "p_value": r.p_value, "ci_low": r.ci_low, "ci_high": r.ci_high}])
        se = {"cluster": "clustered by province", "oim": "observed information (OIM)"}.get(
            r.se_type, r.se_type)
        columns.append(TableColumn(f"({i})", r.label, coefs,
                                   {"nobs": r.nobs, "n_entities": r.n_groups, "llf": r.llf,
                                    "estimator": r.command, "se": se}))
    notes = [*notes,
             (f"{label} on this sample: between-province sd {variation['between_sd']:.2f}, "
              f"within-province sd {variation['within_sd']:.2f} (Stata xtsum; "
              f"{variation['n']} observations, {variation['n_groups']} provinces)."),
             WITHIN_NOTE]
    return regression_table(
        columns, title=title, notes=notes, var_labels={rows["term"].iloc[0]: label},
        stat_rows=[("nobs", "N"), ("n_entities", "Provinces"), ("llf", "Log likelihood"),
                   ("estimator", "Stata command"), ("se", "Standard errors")])


def variation_table(data: pd.DataFrame, variables, labels: dict | None = None, *,
                    title: str = "Between- and within-province variation (Stata xtsum)",
                    notes=()):
    """:func:`within_between_sd` of each of ``variables`` on ``data`` (a (region, year)-indexed
    estimation sample) as a :class:`regrowth.report.tables.RegressionTable`, one row per variable:
    mean, overall, between and within sd (in the variable's units) and within/between.
    Returns ``(table, records)`` with ``records`` {variable: within_between_sd(...)}."""
    labels = dict(labels or {})
    regions = data.index.get_level_values("region").to_numpy()
    rows, records = [], {}
    for var in variables:
        v = within_between_sd(data[var].to_numpy(dtype=float), regions)
        records[var] = v
        ratio = v["within_sd"] / v["between_sd"] if v["between_sd"] > 0 else float("nan")
        rows.append(Row("coef", labels.get(var, var), tuple(
            format_number(x, 3) for x in (v["mean"], v["overall_sd"], v["between_sd"],
                                          v["within_sd"], ratio))))
    n = len(data)
    notes = tuple(notes) + (
        f"{n} observations, {len(set(regions))} provinces. Overall sd over all observations; "
        "between: sd of the province means; within: sd of x_it - xbar_i + xbar (Stata xtsum). "
        "A regressor whose within sd is small next to its between sd is identified almost only "
        "by comparisons across provinces, which province fixed effects remove.",)
    table = RegressionTable(title=title, columns=("Mean", "Overall sd", "Between sd",
                                                  "Within sd", "Within / between"),
                            titles=None, rows=tuple(rows), notes=notes, stars=())
    return table, records


def _parse(value, table, problems, where):
    return parse_output_settings(value, table, problems, where, "variation",
                                 allowed=("column", "output", "title"),
                                 default_output=f"{table.id}_variation")


def _files(table, settings) -> list[str]:
    return table_paths(f"tables/{settings['output']}")


def _run(ctx: Context, table, settings) -> Output:
    col = table.column(settings["column"]) if settings.get("column") else table.columns[0]
    data, _ = estimation_sample(col, ctx.panel)
    tab, rec = variation_table(
        data, list(col.regressors), ctx.labels,
        title=settings.get("title", f"Between- and within-province variation: {table.title}"),
        notes=[f"Sample of {table.id}, column {col.label}: {col.sample.describe()}."])
    paths = tab.write(Path(ctx.out) / "tables" / settings["output"])
    return Output(files=list(paths.values()), record={"variation": {table.id: rec}})


register(Analysis(name="variation", stage="outputs", run=_run, parse=_parse, files=_files,
                  record_keys=("variation",),
                  doc="overall, between- and within-province sd of a column's regressors (xtsum)"))
