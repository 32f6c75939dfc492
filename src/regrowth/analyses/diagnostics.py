"""Specification tests of a table's linear columns (``analyses = { diagnostics = true }``).

For the linear columns of the table (count models are skipped) the tests of
:mod:`regrowth.diagnostics` -- Hausman (and sigmamore), ``xttest0``, ``xttest3``,
``xtserial``, Pesaran's CD -- are run on each column's estimation sample. Columns that share
outcome, regressors, sample and ``year_effects`` share their tests (they do not depend on the
estimator or its SEs), so they form one column of the output, labelled by their table labels
and the year-effects choice, e.g. ``"(1)-(4), year effects"``.

Settings: ``true`` or ``{ output = "stem" }`` (default ``diagnostics_<table id>``); writes
``results/tables/<stem>.{md,tex,html,csv,docx}``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from regrowth.analyses import Analysis, Context, Output, parse_output_settings, register
from regrowth.diagnostics import diagnostics_table, render_diagnostics, run_diagnostics
from regrowth.errors import SpecificationError
from regrowth.fit import estimation_sample
from regrowth.models import registry

__all__ = ["column_diagnostics", "linear_diagnostics", "write_diagnostics"]

EXTS = ("md", "tex", "html", "csv", "docx")


def column_diagnostics(columns, panel: pd.DataFrame) -> dict[str, dict]:
    """``{column id: {test key: DiagnosticResult}}`` for column specifications, each on its
    own estimation sample of ``panel``."""
    out = {}
    for spec in columns:
        data, _ = estimation_sample(spec, panel)
        out[spec.id] = run_diagnostics(spec.outcome, spec.regressors, data,
                                       year_effects=bool(spec.year_effects))
    return out


def linear_diagnostics(specs: Any, panel: pd.DataFrame, tables: Sequence[str]) -> dict[str, dict]:
    """The tests for the linear columns of ``tables`` of a :class:`regrowth.specs.Specs`,
    grouped as the module docstring says. Returns ``{label: {test key: DiagnosticResult}}``
    for :func:`regrowth.diagnostics.diagnostics_table`."""
    groups: dict[tuple, list] = {}
    for table in specs.tables:
        if table.id not in tables:
            continue
        for col in table.columns:
            if registry.get(col.estimator).family == "count":
                continue
            key = (table.id, col.outcome, tuple(col.regressors), col.sample,
                   bool(col.year_effects))
            groups.setdefault(key, []).append(col)
    if not groups:
        raise SpecificationError(f"diagnostics: no linear columns in tables {list(tables)}")
    out: dict[str, dict] = {}
    for (_, _, _, _, year), cols in groups.items():
        labels = [c.label for c in cols]
        span = labels[0] if len(labels) == 1 else f"{labels[0]}-{labels[-1]}"
        label = f"{span}, {'year effects' if year else 'no year effects'}"
        data, _ = estimation_sample(cols[0], panel)
        out[label] = run_diagnostics(cols[0].outcome, cols[0].regressors, data,
                                     year_effects=year)
    return out


def _title(table_ids: Sequence[str]) -> str:
    # "table2_growth" -> "Table 2"
    return ("Specification tests of the growth models ("
            + ", ".join(t.split("_")[0].capitalize().replace("Table", "Table ")
                        for t in table_ids) + ")")


def write_diagnostics(specs: Any, panel: pd.DataFrame, out: Any, tables: Sequence[str],
                      stem: str) -> list:
    """Write the specification-test table of the linear columns of ``tables`` to
    ``<out>/tables/<stem>.*`` (every format RegressionTable.write writes); return the paths.
    The table's notes name the tables and columns it covers."""
    computed = linear_diagnostics(specs, panel, tables)
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
    return parse_output_settings(value, table, problems, where, "diagnostics",
                                 allowed=("output",), default_output=f"diagnostics_{table.id}")


def _files(table, settings) -> list[str]:
    return [f"tables/{settings['output']}.{ext}" for ext in EXTS]


def _run(ctx: Context, table, settings) -> Output:
    return Output(files=write_diagnostics(ctx.specs, ctx.panel, ctx.out, (table.id,),
                                          settings["output"]))


register(Analysis(name="diagnostics", stage="outputs", run=_run, parse=_parse, files=_files,
                  doc="Hausman, xttest0, xttest3, xtserial and Pesaran CD of the linear columns"))
