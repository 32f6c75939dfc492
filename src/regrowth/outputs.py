"""The run's own outputs: each table's regression table, descriptive statistics, coefficient
plot, the ``[[figure]]`` panels of the spec file, and ``estimates.json``.

Everything here formats what :func:`regrowth.fit.fit_column` and the analyses computed; no
model is fitted. Files are written under ``out`` (the transaction's staging folder during
``make replicate``): ``tables/<table>.{md,tex,html,csv,docx}``,
``tables/descriptives_<table>.*``, ``figures/<table>_coefficients.{png,pdf,svg}``,
``figures/province_<variable>.{png,pdf,svg}`` and ``figures/map_<variable>_<years>.{png,pdf,svg}``.
Each table is also written as ``tables/<table>_tabular.tex``, the tabular alone.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from regrowth import panel as panel_mod
from regrowth.files import jsonable
from regrowth.fit import Fitted, estimation_sample
from regrowth.report import figures, maps
from regrowth.report.notes import (cluster_rows, cluster_stats, clusters_note, coverage_notes,
                                   grouping_notes, randomization_note, star_pvalues, stars_note,
                                   table_note, term_lines, warning_notes)
from regrowth.report.tables import (
    TableColumn,
    descriptive_table,
    regression_table,
    table_paths,
)
from regrowth.specs import Specs

__all__ = ["estimates_record", "write_tables", "write_descriptives", "write_figures",
           "figure_jobs", "panel_figure_jobs", "table_files", "descriptives_title", "STAT_ROWS",
           "COEFFICIENT_SOURCE"]

#: Rows of statistics under the coefficients of every regression table: (stats key, label).
STAT_ROWS = (("nobs", "N"), ("n_entities", "Provinces"), ("n_macro_regions", "Macro-regions"),
             ("sample", "Sample years"),
             ("year_effects", "Year effects"), ("province_effects", "Province effects"),
             ("llf", "Log likelihood"), ("aic", "AIC"),
             ("rho", "AR(1) rho"), ("lr_nb2_stat", "LR test vs NB2 (chi2)"),
             ("lr_nb2_p", "  p-value"), ("estimator", "Estimator"), ("se", "Standard errors"),
             ("inference", "Reference distribution"))

#: The source line under every coefficient plot.
COEFFICIENT_SOURCE = ("Source: regrowth estimates of specs/models.toml on the public-edition "
                      "panel; 95% intervals from each column's standard errors (see the table "
                      "notes).")

EXTS = ("md", "tex", "html", "csv", "docx")


def table_files(table_id: str) -> list[str]:
    """The files (relative to ``results/``) a table's own outputs occupy."""
    return (table_paths(f"tables/{table_id}")
            + [str(p) for p in figures.figure_paths(f"figures/{table_id}_coefficients").values()])


def estimates_record(specs: Specs, fitted: dict[str, Fitted], failed: dict[str, str],
                     skipped: dict[str, str] | None = None) -> dict:
    """Everything the tables show, at full precision, keyed table -> column (a column not run
    for want of full-edition data: ``{"skipped": why}``)."""
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
                    "year_effects": col.year_effects,
                    "province_effects": col.province_effects,
                    "effects": f.extra.get("effects"), "sample": col.sample.describe(),
                    "se_type": col.se_type, "se_groups": col.se_groups, "stars": col.stars,
                    "se_tests": {t.term: {"groups": t.groups, **vars(t.bootstrap)}
                                 for t in col.tests},
                    "se_reference": col.reference,
                    "options": col.options,
                    "rationale": col.rationale,
                    "coefficients": f.coefs.to_dict(orient="records"),
                    "stats": f.stats,
                    "extra": {k: v for k, v in f.extra.items() if k != "effects"},
                    "warnings": f.warnings,
                }
            elif col.name in (skipped or {}):
                cols[col.id] = {"label": col.label, "title": col.title,
                                "skipped": skipped[col.name]}
            else:
                cols[col.id] = {"label": col.label, "title": col.title,
                                "error": failed.get(col.name, "not run")}
        tables[table.id] = {"title": table.title, "notes": list(table.notes), "columns": cols}
    return jsonable({"edition": specs.edition, "edition_summary": specs.summary,
                     "specs": specs.path, "tables": tables})


def write_tables(specs: Specs, fitted: dict[str, Fitted], out: Path, labels: dict,
                 coverage: dict[str, str] | None = None,
                 skipped: dict[str, str] | None = None) -> list[Path]:
    """Each table of ``specs`` with at least one fitted column as ``tables/<id>.*``."""
    written = []
    for table in specs.tables:
        columns = [TableColumn(c.label, c.title, fitted[c.name].coefs,
                               {**fitted[c.name].stats, **cluster_stats(fitted[c.name].extra)},
                               term_lines(fitted[c.name].extra),
                               star_pvalues(fitted[c.name].extra) if c.stars == "bootstrap"
                               else {})
                   for c in table.columns if c.name in fitted]
        if not columns:
            continue
        notes = list(table.notes) + [specs.summary]
        done = [c for c in table.columns if c.name in fitted]
        extras = [fitted[c.name].extra for c in done]
        boot_note = table_note(extras, [(c.se_groups, fitted[c.name].stats.get("nobs"))
                                        for c in done])
        notes += [n for n in (boot_note, randomization_note(extras),
                              stars_note(any(c.star_p for c in columns))) if n]
        notes += grouping_notes([(c.label, fitted[c.name].extra) for c in done], labels)
        notes += [n for n in (clusters_note(extras),) if n]
        notes += coverage_notes(table, coverage or {})
        notes += warning_notes(table, fitted)
        for c in table.columns:
            if c.name in (skipped or {}):
                why = skipped[c.name].replace("`", "'")  # LaTeX reads a backtick as a quote
                notes.append(f"Column {c.label} ({c.title}) is not shown: it {why}.")
        missing = [c.label for c in table.columns
                   if c.name not in fitted and c.name not in (skipped or {})]
        if missing:
            notes.append(f"Column(s) {', '.join(missing)} failed to fit in this run; see the log.")
        tab = regression_table(columns, title=table.title, notes=notes, var_labels=labels,
                               stat_rows=STAT_ROWS + tuple(cluster_rows(table.focus, labels)),
                               drop=("year_*", "province_*"))
        written += list(tab.write(Path(out) / "tables" / table.id).values())
    return written


def write_figures(specs: Specs, fitted: dict[str, Fitted], panel: pd.DataFrame, out: Path,
                  labels: dict) -> list[Path]:
    """Each table's coefficient plot and every ``[[figure]]`` of the spec file (line charts
    across provinces, or choropleth maps of the 17 provinces as PNG, PDF and SVG): the calls
    of :func:`figure_jobs`, in order."""
    return [p for job in figure_jobs(specs, fitted, panel, out, labels) for p in job()]


def figure_jobs(specs: Specs, fitted: dict[str, Fitted], panel: pd.DataFrame, out: Path,
                labels: dict, *, panel_figures: bool = True) -> list[Callable[[], list[Path]]]:
    """The figures :func:`write_figures` draws, one call each (drawing it and returning its
    files), in its order. The calls are independent: any order, any process (the
    coefficients are copied here, so what is added to the fitted columns later is not
    read). ``panel_figures=False``: the coefficient plots alone (the ``[[figure]]`` ones,
    :func:`panel_figure_jobs`, need only the panel)."""
    jobs: list = []
    for table in specs.tables:
        frames = {f"{c.label} {c.title}": fitted[c.name].coefs.copy()
                  for c in table.columns if c.name in fitted}
        if frames:
            terms = list(dict.fromkeys(t for c in table.columns if c.name in fitted
                                       for t in c.regressors))
            path = Path(out) / "figures" / f"{table.id}_coefficients.png"
            drop = figures.NUISANCE_TERMS + table.nuisance
            if not [t for t in terms if not figures.is_nuisance(t, drop)]:
                drop = ()  # a table of nothing but nuisance terms still gets its plot
            jobs.append(functools.partial(_coefficient_figure, table, frames, terms, path,
                                          labels, drop))
    return jobs + (panel_figure_jobs(specs, panel, out) if panel_figures else [])


def panel_figure_jobs(specs: Specs, panel: pd.DataFrame, out: Path
                      ) -> list[Callable[[], list[Path]]]:
    """The ``[[figure]]`` figures of :func:`figure_jobs` (line charts and maps of panel
    variables), which read the panel alone: they can be drawn before any column is fitted."""
    return [functools.partial(_panel_figure, fig, panel, Path(out) / "figures" / f"{fig.stem}.png")
            for fig in specs.figures if fig.variable in panel]


def _coefficient_figure(table, frames, terms, path, labels, drop) -> list[Path]:
    figures.coefficient_plot(frames, terms, path=path, var_labels=labels, title=table.title,
                             source=COEFFICIENT_SOURCE, drop=drop)
    return list(figures.figure_paths(path).values())


def _panel_figure(fig, panel, path) -> list[Path]:
    if fig.kind == "map":
        maps.choropleth(panel, fig.variable, year=fig.year or fig.years, change=fig.change,
                        path=path, title=fig.label, label=fig.label, source=fig.source,
                        log=fig.log)
    elif fig.kind == "macro":
        figures.macro_region_lines(panel, fig.variable, path, label=fig.label,
                                   source=fig.source)
    else:
        figures.province_lines(panel, fig.variable, path, label=fig.label,
                               log=fig.kind == "log", highlight=fig.highlight,
                               source=fig.source)
    return list(figures.figure_paths(path).values())


def descriptives_title(table_title: str, column_label: str) -> str:
    """The title of a table's descriptive statistics, from the table's own title (never its
    id): "Descriptive statistics, estimation sample of Table 1, column (1): Fiscal ...";
    a title without a number is quoted whole."""
    m = re.match(r"\s*(Table\s+[A-Za-z]?\d+[A-Za-z]?)\s*[.:]\s*(.*)", table_title, re.I)
    if m:
        return (f"Descriptive statistics, estimation sample of {m.group(1)}, column "
                f"{column_label}: {m.group(2)}")
    return f"Descriptive statistics, estimation sample of column {column_label}: {table_title}"


def write_descriptives(panel: pd.DataFrame, specs: Specs, out: Path, labels: dict) -> list[Path]:
    """Descriptive statistics of each table's first column on its estimation sample
    (``tables/descriptives_<table>.*``); a table with the same sample and variables as an
    earlier one gets none."""
    written, seen = [], set()
    for table in specs.tables:
        if not table.columns:  # a table an analysis writes
            continue
        col = table.columns[0]
        data, _ = estimation_sample(col, panel)
        variables = [v for v in col.variables() if v in data and v not in panel_mod.INDEX
                     and pd.api.types.is_numeric_dtype(data[v])]  # not text cluster ids
        key = (col.sample, tuple(variables))
        if key in seen:
            continue
        seen.add(key)
        tab = descriptive_table(data, variables, labels,
                                title=descriptives_title(table.title, col.label),
                                notes=[f"Sample: {col.sample.describe()}, {len(data)} observations.",
                                       specs.summary])
        written += list(tab.write(Path(out) / "tables" / f"descriptives_{table.id}").values())
    return written
