"""Specification tests of a table's linear columns (``analyses = { diagnostics = true }``).

For the linear columns of the table (count models are skipped) the tests of
:mod:`regrowth.diagnostics` -- Hausman (and sigmamore), ``xttest0``, ``xttest3``,
``xtserial``, Pesaran's CD -- are run on each column's estimation sample. Columns that share
outcome, regressors, sample and ``year_effects`` share their tests (they do not depend on the
estimator or its SEs), so they form one column of the output, labelled by their table labels
and the year-effects choice, e.g. ``"(1)-(4), year effects"``.

Settings: ``true`` or ``{ output = "stem", lagged_dependent = [...] }``. ``output``: the file
stem (default ``diagnostics_<table id>``); writes ``results/tables/<stem>.{md,tex,html,csv,docx}``.
``lagged_dependent``: the regressors that are lags of the dependent variable -- e.g. the lagged
log level ``ln_y_l1`` when the outcome is the growth rate 100 * (ln y_t - ln y_t-1), so that the
model is ln y_t = (1 + b/100) ln y_t-1 + ... Each name must be a regressor of one of the table's
linear columns. In a column that has one, Hausman (both rows) and xtserial are marked not valid
("n/v") and the note says why (:data:`regrowth.diagnostics.LAGGED_DEPENDENT_INVALID`); the
package never guesses which regressor is a lag of the outcome, the spec says so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from regrowth.report.tables import table_paths
from regrowth.analyses import Analysis, Context, Output, parse_output_settings, register
from regrowth.diagnostics import (
    DiagnosticsUnavailable,
    diagnostics_table,
    render_diagnostics,
    run_diagnostics,
)
from regrowth.errors import SpecificationError
from regrowth.fit import awaits_download, estimation_sample, sample_shrinkage
from regrowth.models import registry
from regrowth.models.registry import did_you_mean

__all__ = ["column_diagnostics", "declared_lagged_dependent", "linear_diagnostics",
           "write_diagnostics"]

EXTS = ("md", "tex", "html", "csv", "docx")


def column_diagnostics(columns, panel: pd.DataFrame,
                       lagged_dependent: Sequence[str] = ()) -> dict[str, dict]:
    """``{column id: {test key: DiagnosticResult}}`` for column specifications, each on its
    own estimation sample of ``panel``; ``lagged_dependent`` as in the module docstring."""
    out = {}
    for spec in columns:
        out[spec.id] = _diagnose([spec], panel, tuple(lagged_dependent))
    return out


def _diagnose(cols, panel: pd.DataFrame, lagged_dependent: tuple[str, ...]) -> dict:
    """:func:`run_diagnostics` on the estimation sample of ``cols[0]``; a
    :class:`DiagnosticsUnavailable` is re-raised naming the columns and, when listwise
    deletion shrank the sample, by how much and which variables did it."""
    spec = cols[0]
    data, _ = estimation_sample(spec, panel)
    try:
        return run_diagnostics(spec.outcome, spec.regressors, data,
                               year_effects=bool(spec.year_effects),
                               lagged_dependent=lagged_dependent)
    except DiagnosticsUnavailable as exc:
        info = sample_shrinkage(spec, panel)
        shrunk = ""
        if info["kept"] < info["window"]:
            shrunk = (f" (the sample shrank from {info['window']} to {info['kept']} rows: "
                      + ", ".join(f"{v!r} missing in {n}" for v, n in info["missing"].items())
                      + ")")
        raise DiagnosticsUnavailable(
            f"{', '.join(c.name for c in cols)}: {exc}{shrunk}; the diagnostics table was not "
            "written") from exc


def declared_lagged_dependent(table) -> tuple[str, ...]:
    """The ``lagged_dependent`` names a table declares in its diagnostics settings (empty if
    none)."""
    settings = getattr(table, "analyses", {}).get("diagnostics")
    if isinstance(settings, dict):
        names = settings.get("lagged_dependent", ())
        return (names,) if isinstance(names, str) else tuple(names)
    return ()


def linear_diagnostics(specs: Any, panel: pd.DataFrame, tables: Sequence[str],
                       lagged_dependent: Sequence[str] | None = None) -> dict[str, dict]:
    """The tests for the linear columns of ``tables`` of a :class:`regrowth.specs.Specs`,
    grouped as the module docstring says. ``lagged_dependent``: None (default) reads each
    table's declaration (``[table.analyses] diagnostics = { lagged_dependent = [...] }``);
    a sequence overrides it. Returns ``{label: {test key: DiagnosticResult}}`` for
    :func:`regrowth.diagnostics.diagnostics_table`."""
    groups: dict[tuple, list] = {}
    ldv: dict[str, tuple[str, ...]] = {}
    for table in specs.tables:
        if table.id not in tables:
            continue
        ldv[table.id] = (declared_lagged_dependent(table) if lagged_dependent is None
                         else tuple(lagged_dependent))
        for col in table.columns:
            if registry.get(col.estimator).family == "count":
                continue
            if awaits_download(col, panel):
                continue
            key = (table.id, col.outcome, tuple(col.regressors), col.sample,
                   bool(col.year_effects))
            groups.setdefault(key, []).append(col)
    if not groups:
        raise SpecificationError(f"diagnostics: no linear columns in tables {list(tables)}")
    out: dict[str, dict] = {}
    for (table_id, _, _, _, year), cols in groups.items():
        labels = [c.label for c in cols]
        span = labels[0] if len(labels) == 1 else f"{labels[0]}-{labels[-1]}"
        label = f"{span}, {'year effects' if year else 'no year effects'}"
        out[label] = _diagnose(cols, panel, ldv[table_id])
    return out


def _title(table_ids: Sequence[str]) -> str:
    # "table2_growth" -> "Table 2"
    return ("Specification tests of the growth models ("
            + ", ".join(t.split("_")[0].capitalize().replace("Table", "Table ")
                        for t in table_ids) + ")")


def write_diagnostics(specs: Any, panel: pd.DataFrame, out: Any, tables: Sequence[str],
                      stem: str, lagged_dependent: Sequence[str] | None = None) -> list:
    """Write the specification-test table of the linear columns of ``tables`` to
    ``<out>/tables/<stem>.*`` (every format RegressionTable.write writes); return the paths.
    The table's notes name the tables and columns it covers, and why a test marked "n/v" is
    not valid. ``lagged_dependent`` as in :func:`linear_diagnostics`."""
    computed = linear_diagnostics(specs, panel, tables, lagged_dependent)
    frame = diagnostics_table(computed)
    notes = [(f"Columns: {', '.join(computed)} of {', '.join(tables)}; the tests depend only on "
              "the outcome, regressors, sample and year effects, so columns sharing them share "
              "one column here."),
             ("With year effects every model (pooled, FE, RE, first differences) has year "
              "dummies; the Hausman test then compares the slopes and the year coefficients."),
             getattr(specs, "summary", "")]
    table = render_diagnostics(frame, title=_title(tables), notes=[n for n in notes if n])
    paths = table.write(Path(out) / "tables" / stem)
    return list(paths.values())


def _parse(value, table, problems, where):
    out = parse_output_settings(value, table, problems, where, "diagnostics",
                                allowed=("output", "lagged_dependent"),
                                default_output=f"diagnostics_{table.id}")
    if out is None:
        return None
    names = out.get("lagged_dependent", [])
    if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
        problems.add(where, "analyses.diagnostics.lagged_dependent",
                     f"must be a list of regressor names, not {names!r}")
        out["lagged_dependent"] = ()
        return out
    out["lagged_dependent"] = tuple(names)
    if not _known_estimators(table):
        return out
    regressors = sorted({r for c in table.columns for r in c.regressors
                         if registry.get(c.estimator).family != "count"})
    for n in names:
        if n not in regressors:
            problems.add(where, "analyses.diagnostics.lagged_dependent",
                         f"{n!r} is not a regressor of the table's linear columns"
                         + did_you_mean(n, regressors))
    return out


def _known_estimators(table) -> bool:
    """True when every column names a registered estimator (else the spec checker reports
    it, and the regressor check here waits for a valid spec)."""
    try:
        for c in table.columns:
            registry.get(c.estimator)
    except Exception:  # noqa: BLE001 -- reported elsewhere
        return False
    return True


def _files(table, settings) -> list[str]:
    return table_paths(f"tables/{settings['output']}")


def _run(ctx: Context, table, settings) -> Output:
    return Output(files=write_diagnostics(ctx.specs, ctx.panel, ctx.out, (table.id,),
                                          settings["output"],
                                          settings.get("lagged_dependent", ())))


register(Analysis(name="diagnostics", stage="outputs", run=_run, parse=_parse, files=_files,
                  doc="Hausman, xttest0, xttest3, xtserial and Pesaran CD of the linear columns"))
