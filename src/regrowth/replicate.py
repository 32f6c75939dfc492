"""``make replicate``: panel -> every specification -> tables, figures, estimates, notebooks.

Steps, in order (progress is printed for each):

1. load ``data/processed/panel.parquet`` (``make panel`` builds it);
2. load ``specs/models.toml`` and check every column against the panel *before fitting
   anything*: a spec naming a variable the panel lacks is reported with the variable and
   the KOSIS table that would supply it;
3. fit each remaining column (a failure is reported with the column's name and the run
   goes on with the others);
4. write ``results/tables/<table>.{md,tex,html,csv}``, ``results/figures/*.png``,
   ``results/estimates.json`` (every number of every table at full precision) and
   ``results/descriptives.*``; every write is atomic;
5. build each notebook ``notebooks/0N_name.ipynb`` from its jupytext source
   ``notebooks/0N_name.py`` and execute it (nbclient), so the committed notebooks carry the
   outputs of the last run.

Exit status 0 if every spec was fitted and every notebook ran, 1 otherwise.
"""

from __future__ import annotations

import json
import math
import sys
import time
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from regrowth import panel as panel_mod
from regrowth import specs as specs_mod
from regrowth.errors import RegrowthError, SpecificationError
from regrowth.io import write_text
from regrowth.specs import ColumnSpec, Specs

RESULTS = Path("results")
ESTIMATOR_LABELS = {"gnb": "gnbreg (GNB)", "nb2": "nbreg (NB2)", "poisson": "Poisson",
                    "fgls": "xtgls (FGLS)", "re": "random effects", "fe": "fixed effects",
                    "pooled": "pooled OLS"}


@dataclass
class Fitted:
    """One fitted column: its spec, the estimator's result, tidy rows and statistics."""

    spec: ColumnSpec
    result: object
    coefs: pd.DataFrame
    stats: dict
    warnings: list[str] = field(default_factory=list)
    extra: dict = field(default_factory=dict)


# ----------------------------------------------------------------------------- data

def estimation_sample(spec: ColumnSpec, panel: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Rows of ``panel`` in the spec's years and provinces with every variable observed.

    Returns the sample (same (region, year) index) and how many rows of the year/province
    window were dropped for missing values (listwise, across all the model's variables).
    """
    s = spec.sample
    years = panel.index.get_level_values("year")
    regions = panel.index.get_level_values("region")
    keep = (years >= s.first_year) & (years <= s.last_year) & ~regions.isin(list(s.exclude))
    for flag in s.drop_if:
        keep &= panel[flag].to_numpy() != 1
    window = panel.loc[keep]
    cols = [v for v in spec.variables() if v not in panel_mod.INDEX]
    complete = window[cols].notna().all(axis=1)
    return window.loc[complete].copy(), int((~complete).sum())


def year_dummies(index: pd.MultiIndex) -> pd.DataFrame:
    """0/1 columns ``year_<t>`` for every sample year but the first (the base)."""
    years = index.get_level_values("year")
    levels = sorted(set(years))
    return pd.DataFrame({f"year_{t}": (years == t).astype(float) for t in levels[1:]}, index=index)


def _groups(spec: ColumnSpec, data: pd.DataFrame):
    if spec.se_groups is None:
        return None
    if spec.se_groups in data.index.names:
        return data.index.get_level_values(spec.se_groups).to_numpy()
    return data[spec.se_groups].to_numpy()


# ----------------------------------------------------------------------------- fitting

def _fit_count(spec: ColumnSpec, data: pd.DataFrame):
    from regrowth.models import GeneralizedNegativeBinomial

    y = data[spec.outcome].astype(float).rename(spec.outcome)
    X = pd.concat([pd.DataFrame({"const": 1.0}, index=data.index),
                   data[list(spec.regressors)].astype(float)], axis=1)
    if spec.year_effects:
        X = pd.concat([X, year_dummies(data.index)], axis=1)
    exposure = data[spec.exposure].astype(float) if spec.exposure else None
    groups = _groups(spec, data)
    cov_type = {"oim": "nonrobust", "robust": "robust", "cluster": "cluster"}[spec.se_type]
    if spec.estimator == "poisson":
        return _fit_poisson(y, X, exposure, groups, spec.se_type)
    Z = None
    if spec.estimator == "gnb":
        Z = pd.concat([pd.DataFrame({"const": 1.0}, index=data.index),
                       data[list(spec.dispersion)].astype(float)], axis=1)
    model = GeneralizedNegativeBinomial(y, X, Z, exposure=exposure, groups=groups)
    return model.fit(cov_type=cov_type)


def _fit_poisson(y, X, exposure, groups, se_type):
    """statsmodels Poisson with Stata's scaling: robust N/(N-1), cluster G/(G-1)."""
    import statsmodels.api as sm

    model = sm.Poisson(y, X, exposure=exposure)
    if se_type == "oim":
        return model.fit(disp=0, maxiter=200, method="newton", tol=1e-12)
    kw = ({"groups": pd.factorize(pd.Series(groups))[0], "use_correction": False}
          if se_type == "cluster" else {"use_correction": False})
    res = model.fit(disp=0, maxiter=200, method="newton", tol=1e-12,
                    cov_type="cluster" if se_type == "cluster" else "HC0", cov_kwds=kw)
    # statsmodels' own correction for clusters is G/(G-1)*(N-1)/(N-K), Stata's for ML
    # estimators G/(G-1); set it before anything derived from the covariance is cached.
    n = res.nobs
    factor = (len(set(groups)) / (len(set(groups)) - 1.0) if se_type == "cluster"
              else n / (n - 1.0))
    res.cov_params_default = res.cov_params_default * factor
    return res


def _fit_linear_panel(spec: ColumnSpec, data: pd.DataFrame):
    """FGLS, RE, FE or pooled OLS through ``regrowth.models.panel.fit_panel``."""
    from regrowth.models.panel import fit_panel

    formula = f"{spec.outcome} ~ 1 + " + " + ".join(spec.regressors)
    frame = data[[spec.outcome, *spec.regressors]].astype(float)
    opts = dict(spec.options)
    if spec.estimator == "fgls":
        nmk = {"nmk": bool(opts.pop("nmk"))} if "nmk" in opts else {}
        return fit_panel("fgls", formula, frame, model_options=opts, **nmk)
    cov = {"unadjusted": ("unadjusted", {}), "robust": ("robust", {}),
           "cluster": ("clustered", {}),
           "kernel": ("kernel", {"bandwidth": opts.pop("bandwidth", None)})}[spec.se_type]
    cov_type, kw = cov
    if spec.se_type == "cluster":
        if spec.se_groups == "region":
            kw = {"cluster_entity": True}
        else:
            kw = {"clusters": data[[spec.se_groups]]}
    kw = {k: v for k, v in kw.items() if v is not None}
    return fit_panel(spec.estimator, formula, frame, cov_type=cov_type, **kw)


def fit_column(spec: ColumnSpec, panel: pd.DataFrame) -> Fitted:
    """Fit one specification on its estimation sample; return tidy output and statistics."""
    from regrowth.tidy import glance, tidy

    data, dropped = estimation_sample(spec, panel)
    if data.empty:
        raise SpecificationError(f"{spec.name}: no observations in {spec.sample.describe()} "
                                 f"with {', '.join(spec.variables())} all observed")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if spec.estimator in specs_mod.COUNT_ESTIMATORS:
            result = _fit_count(spec, data)
        else:
            result = _fit_linear_panel(spec, data)
    messages = sorted({f"{w.category.__name__}: {w.message}" for w in caught
                       if not issubclass(w.category, (DeprecationWarning, FutureWarning))})
    coefs = tidy(result)
    # linearmodels and formulaic call the constant "Intercept", statsmodels "const": one row
    coefs["term"] = coefs["term"].replace({"Intercept": "const"})
    stats = glance(result)
    years = data.index.get_level_values("year")
    regions = data.index.get_level_values("region")
    stats.update({
        "nobs": int(len(data)),
        "n_entities": int(regions.nunique()),
        "sample": f"{int(years.min())}–{int(years.max())}",
        "estimator": ESTIMATOR_LABELS[spec.estimator],
        "se": spec.se_label(),
        "dropped_missing": dropped,
        "year_effects": "yes" if spec.year_effects else "no",
    })
    extra = {}
    if spec.estimator == "gnb":
        extra = _gnb_extras(result)
        stats.update({k: v for k, v in extra.items() if k.startswith("lr_")})
    if spec.estimator == "fgls":
        rho = getattr(result, "rho", None)
        if rho is not None:
            rho = np.atleast_1d(np.asarray(rho, dtype=float))
            stats["rho"] = float(rho[0]) if rho.size == 1 else None
            extra["rho"] = [float(r) for r in rho]
    return Fitted(spec, result, coefs, stats, messages, extra)


def _gnb_extras(result) -> dict:
    out = {}
    for name, fn in (("nb2", "lr_test_nb2"), ("poisson", "lr_test_poisson")):
        try:
            t = getattr(result, fn)()
        except Exception as exc:  # a failed auxiliary fit must not sink the main one
            out[f"lr_{name}_error"] = str(exc)
            continue
        out[f"lr_{name}_stat"] = float(t.statistic)
        out[f"lr_{name}_df"] = int(t.df)
        out[f"lr_{name}_p"] = float(t.pvalue)
    return out


# ----------------------------------------------------------------------------- output

def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if value is None or isinstance(value, (int, str)):
        return value
    if value is pd.NA:
        return None
    return str(value)


def estimates_record(specs: Specs, fitted: dict[str, Fitted], failed: dict[str, str]) -> dict:
    """Everything the tables show, at full precision, keyed table -> column."""
    tables = {}
    for table in specs.tables:
        cols = {}
        for col in table.columns:
            if col.name in fitted:
                f = fitted[col.name]
                cols[col.id] = {
                    "label": col.label, "title": col.title, "estimator": col.estimator,
                    "outcome": col.outcome, "regressors": list(col.regressors),
                    "dispersion": list(col.dispersion), "exposure": col.exposure,
                    "year_effects": col.year_effects, "sample": col.sample.describe(),
                    "se_type": col.se_type, "se_groups": col.se_groups, "options": col.options,
                    "rationale": col.rationale,
                    "coefficients": f.coefs.to_dict(orient="records"),
                    "stats": f.stats, "extra": f.extra, "warnings": f.warnings,
                }
            else:
                cols[col.id] = {"label": col.label, "title": col.title,
                                "error": failed.get(col.name, "not run")}
        tables[table.id] = {"title": table.title, "notes": list(table.notes), "columns": cols}
    return _jsonable({"edition": specs.edition, "edition_summary": specs.summary,
                      "specs": specs.path, "tables": tables})


def labels_from(specs_path: Path) -> dict[str, str]:
    import tomllib

    doc = tomllib.loads(Path(specs_path).read_text(encoding="utf-8"))
    return dict(doc.get("labels", {}))


def write_tables(specs: Specs, fitted: dict[str, Fitted], out: Path, labels: dict) -> list[Path]:
    from regrowth.tables import TableColumn, regression_table

    written = []
    for table in specs.tables:
        columns = [TableColumn(c.label, c.title, fitted[c.name].coefs, fitted[c.name].stats)
                   for c in table.columns if c.name in fitted]
        if not columns:
            continue
        notes = list(table.notes) + [specs.summary]
        missing = [c.label for c in table.columns if c.name not in fitted]
        if missing:
            notes.append(f"Column(s) {', '.join(missing)} failed to fit in this run; see the log.")
        stat_rows = [("nobs", "N"), ("n_entities", "Provinces"), ("sample", "Sample years"),
                     ("year_effects", "Year effects"), ("llf", "Log likelihood"), ("aic", "AIC"),
                     ("rho", "AR(1) rho"), ("lr_nb2_stat", "LR test vs NB2 (chi2)"),
                     ("lr_nb2_p", "  p-value"), ("estimator", "Estimator"), ("se", "Standard errors")]
        tab = regression_table(columns, title=table.title, notes=notes, var_labels=labels,
                               stat_rows=stat_rows, drop=("year_*",))
        paths = tab.write(out / "tables" / table.id)
        written += list(paths.values())
    return written


def write_figures(specs: Specs, fitted: dict[str, Fitted], panel: pd.DataFrame, out: Path,
                  labels: dict) -> list[Path]:
    from regrowth import figures

    written = []
    for table in specs.tables:
        frames = {f"{c.label} {c.title}": fitted[c.name].coefs
                  for c in table.columns if c.name in fitted}
        if frames:
            terms = list(dict.fromkeys(t for c in table.columns if c.name in fitted
                                       for t in c.regressors))
            path = out / "figures" / f"{table.id}_coefficients.png"
            figures.coefficient_plot(frames, terms, path=path, var_labels=labels,
                                     title=table.title, source=FIGURE_SOURCES["coefficients"])
            written.append(path)
    for var, label, kind in (
            ("patents_fintech", "Fintech patent applications (count, log scale)", "log"),
            ("fiscal_self_reliance", "Fiscal self-reliance ratio (%)", "lines"),
            ("grdp_pc_real_growth", "Real per-capita GRDP growth (%)", "lines"),
            ("patents_pm_macro", "All-field patents per million residents", "macro")):
        if var in panel:
            path = out / "figures" / f"province_{var}.png"
            if kind == "macro":
                figures.macro_region_lines(panel, var, path, label=label,
                                           source=FIGURE_SOURCES[var])
            else:
                figures.province_lines(panel, var, path, label=label, log=kind == "log",
                                       highlight=("seoul", "gyeonggi", "daejeon", "busan", "jeju"),
                                       source=FIGURE_SOURCES[var])
            written.append(path)
    return written


#: Source lines printed under each figure (see regrowth.figures.source_note).
FIGURE_SOURCES = {
    "coefficients": "Source: regrowth estimates of specs/models.toml on the public-edition panel; "
                    "95% intervals from each column's standard errors (see the table notes).",
    "patents_fintech": "Source: KIPRIS fintech (G06Q) application records, by first applicant's "
                       "province and application year. Applications are published about 18 "
                       "months after filing: 2022-23 are incomplete and dropped, and 2021 is "
                       "probably undercounted.",
    "fiscal_self_reliance": "Source: Ministry of the Interior and Safety via KOSIS (DT_1YL20921), "
                            "old revenue classification.",
    "grdp_pc_real_growth": "Source: real per-capita GRDP (2009 won), GCAM-Korea from KOSIS; "
                           "16 provinces (no Sejong). The 1998 fall is the Asian financial crisis.",
    "patents_pm_macro": "Source: Statistics Korea regional indicator 2-2-1 (KIPO, KOSIS "
                        "DT_1YL202109E), published for the 7 macro-regions only; each province "
                        "is given its macro-region's value.",
}


def write_descriptives(panel: pd.DataFrame, specs: Specs, out: Path, labels: dict) -> list[Path]:
    from regrowth.tables import descriptive_table

    written, seen = [], set()
    for table in specs.tables:
        col = table.columns[0]
        data, _ = estimation_sample(col, panel)
        variables = [v for v in col.variables() if v in data and v not in panel_mod.INDEX]
        key = (col.sample, tuple(variables))
        if key in seen:  # the same sample and variables as an earlier table: one table is enough
            continue
        seen.add(key)
        tab = descriptive_table(data, variables, labels,
                                title=f"Descriptive statistics: sample of {table.id}, column {col.label}",
                                notes=[f"Sample: {col.sample.describe()}, {len(data)} observations.",
                                       specs.summary])
        written += list(tab.write(out / "tables" / f"descriptives_{table.id}").values())
    return written


def execute_notebooks(folder: Path, timeout: int = 300) -> dict[str, str]:
    """Build every notebook of ``folder`` from its ``py:percent`` source, execute it and
    write the ``.ipynb`` (:func:`regrowth.notebooks.run`); return {name: error} for failures."""
    from regrowth import notebooks

    return notebooks.run(folder, timeout)


def run(specs: str | Path = "specs/models.toml", processed_dir: str | Path = "data/processed",
        results_dir: str | Path = RESULTS, notebooks: bool = True, only: list[str] | None = None) -> int:
    """Fit every specification and write every output; return the exit status."""
    t0 = time.perf_counter()
    out = Path(results_dir)
    panel = panel_mod.load(processed_dir)
    spec = specs_mod.load(specs)
    labels = labels_from(specs)
    failed: dict[str, str] = {}
    for name, err in specs_mod.check_against(spec, list(panel.columns) + panel_mod.INDEX).items():
        failed[name] = str(err)
        print(f"regrowth: spec {name} cannot run:\n  {err}", file=sys.stderr)
    todo = [c for c in spec.columns() if c.name not in failed and (not only or c.table in only)]
    fitted: dict[str, Fitted] = {}
    print(f"replicate: fitting {len(todo)} specifications")
    for i, col in enumerate(todo, 1):
        t = time.perf_counter()
        try:
            fitted[col.name] = fit_column(col, panel)
        except (RegrowthError, ValueError, np.linalg.LinAlgError, RuntimeError) as exc:
            failed[col.name] = f"{type(exc).__name__}: {exc}"
            print(f"  [{i}/{len(todo)}] {col.name}: FAILED: {exc}", file=sys.stderr)
            if not isinstance(exc, RegrowthError):  # an unexpected failure: show where
                traceback.print_exc(limit=3, file=sys.stderr)
            continue
        f = fitted[col.name]
        note = f" ({len(f.warnings)} warning(s))" if f.warnings else ""
        llf = f.stats.get("llf")  # absent or NaN where the estimator has no likelihood (FGLS)
        llf = f", llf={llf:.3f}" if isinstance(llf, (int, float)) and math.isfinite(llf) else ""
        print(f"  [{i}/{len(todo)}] {col.name}: N={f.stats['nobs']}{llf}{note} "
              f"[{time.perf_counter() - t:.2f}s]")
        for w in f.warnings:
            print(f"      {w}")
    written = write_tables(spec, fitted, out, labels)
    written += write_descriptives(panel, spec, out, labels)
    written += write_figures(spec, fitted, panel, out, labels)
    record = estimates_record(spec, fitted, failed)
    previous = out / "estimates.json"
    if only and previous.is_file():
        # a partial run refreshes its own tables and keeps the last numbers of the others
        kept = json.loads(previous.read_text(encoding="utf-8")).get("tables", {})
        record["tables"] = {t: (record["tables"][t] if t in only else kept.get(t, record["tables"][t]))
                            for t in record["tables"]}
    write_text(out / "estimates.json", json.dumps(record, indent=1, ensure_ascii=False) + "\n")
    written.append(out / "estimates.json")
    print(f"replicate: wrote {len(written)} files under {out}/")
    if only is None:
        # outputs of tables or figures no longer specified would pass for current ones
        keep = {Path(p).resolve() for p in written}
        for folder in (out / "tables", out / "figures"):
            for old in sorted(folder.glob("*")):
                if old.is_file() and old.resolve() not in keep:
                    old.unlink()
                    print(f"  removed stale {old}")
    nb_failures = {}
    if notebooks and Path("notebooks").is_dir():
        nb_failures = execute_notebooks(Path("notebooks"))
        for name, err in nb_failures.items():
            print(f"regrowth: notebook {name} failed: {err}", file=sys.stderr)
    print(f"replicate: done in {time.perf_counter() - t0:.1f}s; {len(fitted)} fitted, "
          f"{len(failed)} failed, {len(nb_failures)} notebook failure(s)")
    if failed:
        print("failed specifications: " + ", ".join(sorted(failed)), file=sys.stderr)
    return 1 if failed or nb_failures else 0
