"""Analyses a table carries, declared in ``specs/models.toml`` and run behind one protocol.

A table names its analyses and their settings::

    [[table]]
    id = "table2_growth"
    ...
    [table.analyses]
    diagnostics = { output = "diagnostics_growth" }
    loo = "fgls_main"

Each analysis is one module of this package that registers an :class:`Analysis`:

``name``      the key in ``analyses = {...}``;
``stage``     ``"columns"`` (runs after the columns are fitted and adds records to them, e.g.
              the bootstrap lines under the focus coefficients, before the tables are
              written) or ``"outputs"`` (writes its own tables or figures);
``implicit``  runs for every table without a key (the bootstrap: its declaration is each
              column's ``se.bootstrap``);
``parse(value, table, problems, where)``  checks the settings (before anything is fitted)
              and returns them in the form ``run`` takes;
``files(table, settings)``  the files (relative to ``results/``) it writes, so a run that
              keeps a table's last good outputs keeps these too;
``variables(table, settings)``  optional: ``[(spec key, panel column), ...]`` it reads, which
              :func:`check_panel` looks up in the panel before anything is fitted;
``run(context, table, settings)``  returns an :class:`Output`: the files written under
              ``context.out`` and the entries it adds to ``estimates.json``.

Adding an analysis is one new module here with its registration block at the bottom; the
package imports every module on first use, so no list needs editing.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from regrowth.errors import SpecificationError
from regrowth.fit import panel_for as fit_panel_for
from regrowth.models.registry import did_you_mean
from regrowth.specs import Specs, TableSpec
from regrowth.specs.parse import Problems, unknown

__all__ = ["Analysis", "Context", "Output", "register", "get", "names", "check", "check_panel",
           "declared", "parse_output_settings"]

STAGES = ("columns", "outputs")


@dataclass
class Context:
    """What an analysis may read: the specs, the panel, the fitted columns (``table/column``
    -> :class:`regrowth.fit.Fitted`), the variable labels, the staging folder ``out`` that
    becomes ``results/`` when the run is published, per-analysis overrides of the number
    of draws (``reps``, for quick tests) and where parallel draws run (``backend``: the
    keyword arguments of :class:`regrowth.curve.backends.Executor`, ``{}`` = serial)."""

    specs: Specs
    panel: pd.DataFrame
    fitted: dict
    labels: dict
    out: Path
    reps: dict = field(default_factory=dict)
    #: the macro-region panel in fit shape (:func:`regrowth.fit.macro_fit_panel`), or None
    macro: pd.DataFrame | None = None
    #: ``{"backend": "serial"|"processes"|"dask", "workers": int, "scheduler": str}``
    backend: dict = field(default_factory=dict)

    def panel_for(self, column) -> pd.DataFrame:
        """The panel ``column`` (a ColumnSpec) is fitted on: provinces or macro-regions."""
        return fit_panel_for(column, self.panel, self.macro)


@dataclass
class Output:
    """Files an analysis wrote (absolute paths under ``Context.out``) and its entries of
    ``estimates.json`` (top-level key -> value; a dict value is merged into what other tables
    put under the same key)."""

    files: list = field(default_factory=list)
    record: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Analysis:
    """One registered analysis (see the module docstring)."""

    name: str
    stage: str
    run: Callable[[Context, TableSpec, Any], Output]
    parse: Callable[[Any, TableSpec, Problems, str], Any]
    files: Callable[[TableSpec, Any], list[str]] = lambda table, settings: []
    record_keys: tuple[str, ...] = ()
    implicit: bool = False
    variables: Callable[[TableSpec, Any], list[tuple[str, str]]] = lambda table, settings: []
    doc: str = ""

    def __post_init__(self):
        if self.stage not in STAGES:
            raise ValueError(f"analysis {self.name!r}: stage must be one of {STAGES}")


_REGISTRY: dict[str, Analysis] = {}
_LOADED = False


def register(analysis: Analysis) -> Analysis:
    """Add ``analysis`` to the registry (a second one under the same name is an error)."""
    if analysis.name in _REGISTRY and _REGISTRY[analysis.name] is not analysis:
        raise ValueError(f"analysis {analysis.name!r} is already registered")
    _REGISTRY[analysis.name] = analysis
    return analysis


def _load() -> None:
    global _LOADED
    if _LOADED:
        return
    _LOADED = True
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")


def names() -> tuple[str, ...]:
    """Every registered analysis, in a stable order."""
    _load()
    return tuple(sorted(_REGISTRY))


def get(name: str) -> Analysis:
    """The analysis called ``name``; :class:`SpecificationError` naming the known ones if none."""
    _load()
    if name not in _REGISTRY:
        raise SpecificationError(f"unknown analysis {name!r}{did_you_mean(name, _REGISTRY)}; "
                                 f"known: {', '.join(names())}")
    return _REGISTRY[name]


def declared(specs: Specs, table: TableSpec, stage: str) -> list[tuple[Analysis, Any]]:
    """The analyses ``table`` carries at ``stage``, with their parsed settings, in a stable
    order (implicit ones first)."""
    _load()
    out = [(a, None) for a in sorted(_REGISTRY.values(), key=lambda a: a.name)
           if a.implicit and a.stage == stage]
    problems = Problems(specs.path)
    for key, value in table.analyses.items():
        a = get(key)
        if a.stage == stage:
            out.append((a, a.parse(value, table, problems, f"table {table.id!r}")))
    problems.raise_if_any()
    return out


def check(specs: Specs) -> None:
    """Check every table's ``analyses`` settings; raise one :class:`SpecificationError`
    listing every problem (unknown analysis with a did-you-mean, bad settings) before anything
    is fitted or written."""
    _load()
    problems = Problems(specs.path)
    for table in specs.tables:
        where = f"table {table.id!r}"
        for key, value in table.analyses.items():
            if key not in _REGISTRY:
                problems.add(where, f"analyses.{key}", "unknown analysis"
                             + did_you_mean(key, _REGISTRY) + f"; known: {', '.join(names())}")
                continue
            _REGISTRY[key].parse(value, table, problems, where)
    problems.raise_if_any()


def check_panel(specs: Specs, columns, only=None) -> None:
    """Raise one :class:`SpecificationError` naming every panel column an analysis declares
    (its ``variables``) that is not in ``columns`` (the panel's column and index names), with
    the table, the spec key and a did-you-mean; ``only``: the table ids to check (None: all)."""
    _load()
    available = set(columns)
    problems = Problems(specs.path)
    for table in specs.tables:
        if only and table.id not in only:
            continue
        for analysis, settings in declared(specs, table, "outputs") + declared(specs, table,
                                                                               "columns"):
            if settings is None:
                continue
            for key, var in analysis.variables(table, settings):
                if var not in available:
                    problems.add(f"table {table.id!r}", key, f"{var!r} is not a panel column"
                                 + did_you_mean(var, sorted(available))
                                 + " (data/processed/codebook.csv lists the columns)")
    problems.raise_if_any()


def parse_output_settings(value, table: TableSpec, problems: Problems, where: str, key: str, *,
                          allowed: tuple[str, ...], default_output: str) -> dict | None:
    """Settings given as ``true`` or a table of ``allowed`` keys; ``output`` (the file stem
    under ``results/tables/``) defaults to ``default_output``. Returns the dict (None when
    ``false`` or wrong)."""
    if value is False:
        return None
    if value is True:
        value = {}
    if not isinstance(value, dict):
        problems.add(where, f"analyses.{key}", f"must be true or a table {{ {', '.join(allowed)} }},"
                                               f" not {type(value).__name__} {value!r}")
        return None
    unknown(value, allowed, problems, where, f"analyses.{key}.")
    out = dict(value)
    stem = out.setdefault("output", default_output)
    if not isinstance(stem, str) or not stem or not all(c.isalnum() or c == "_" for c in stem):
        problems.add(where, f"analyses.{key}.output", f"{stem!r} must be a file stem of "
                                                      "letters, digits and _")
    column = out.get("column")
    if column is not None and table.column(column) is None:
        problems.add(where, f"analyses.{key}.column", f"{column!r} is not a column of the table"
                     + did_you_mean(str(column), [c.id for c in table.columns]))
    return out
