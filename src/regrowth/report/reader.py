"""Read what ``make replicate`` wrote, for notebooks and users: estimates, tables, figures.

Notebooks never refit the published numbers from scratch: they read ``results/estimates.json``
(every number of every table, full precision) and the rendered tables, so what they show
is what the tables show. Where a notebook needs more than the tables (IRRs, marginal
effects, LR tests), :func:`regrowth.fit.refit` runs the same code path as ``make replicate``
on the same specification.

Every reader first completes a commit that a killed run left half-done
(:func:`regrowth.files.recover_for_reading`, under the folder's lock), or refuses to read
a half-written set; :func:`results_id` names the results a notebook was built from.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from pathlib import Path

import pandas as pd

from regrowth.errors import DataError, MissingInputError
from regrowth.files import recover_for_reading


def project_root(start: str | Path | None = None) -> Path:
    """The folder holding ``specs/models.toml``, searching upwards from ``start`` (default: cwd)."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "specs" / "models.toml").is_file():
            return folder
    raise FileNotFoundError(f"no specs/models.toml in {here} or any folder above it: run from "
                            "the project folder (the clone of regrowth), or pass its path as "
                            "root=")


def load_estimates(root: str | Path | None = None) -> dict:
    """``results/estimates.json`` as a dict: ``{"tables": {table_id: {"title", "notes",
    "columns": {column_id: {"coefficients": [...], "stats": {...}, ...}}}}, ...}``.

    Raises :class:`~regrowth.errors.MissingInputError` if ``make replicate`` has not written it
    and :class:`~regrowth.errors.DataError` if it is not valid JSON.
    """
    results = _results(root)
    path = results / "estimates.json"
    if not path.is_file():
        raise MissingInputError("the estimates have not been written", file=path,
                                hint="run `make replicate` (or `regrowth replicate`)")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(f"not valid JSON ({exc.msg})", file=path, row=exc.lineno,
                        hint="rerun `make replicate` to rewrite it") from exc


def _column(estimates: dict, table: str, column: str) -> dict:
    tables = estimates.get("tables", {})
    if table not in tables:
        near = difflib.get_close_matches(table, list(tables), n=1)
        raise KeyError(f"no table {table!r} in estimates.json"
                       + (f" (did you mean {near[0]!r}?)" if near else "")
                       + f"; tables: {sorted(tables)}")
    columns = tables[table]["columns"]
    if column not in columns:
        near = difflib.get_close_matches(column, list(columns), n=1)
        raise KeyError(f"no column {column!r} in table {table!r}"
                       + (f" (did you mean {near[0]!r}?)" if near else "")
                       + f"; columns: {list(columns)}")
    col = columns[column]
    if "error" in col:
        raise KeyError(f"{table}/{column} failed in the last run: {col['error']}")
    if "skipped" in col:
        raise KeyError(f"{table}/{column} was not run: it {col['skipped']}")
    return col


def columns_run(estimates: dict, table: str) -> list[str]:
    """The ids of ``table``'s columns that were fitted in the last run, in table order
    (without those that failed or, being full-edition columns, were skipped)."""
    tables = estimates.get("tables", {})
    if table not in tables:
        raise KeyError(f"no table {table!r} in estimates.json; tables: {sorted(tables)}")
    return [c for c, col in tables[table]["columns"].items() if "coefficients" in col]


def coefficients(estimates: dict, table: str, column: str) -> pd.DataFrame:
    """The tidy coefficient rows of one column: term, equation, estimate, std_error,
    statistic, p_value, ci_low, ci_high (95 %), in the model's parameter order.

    An unknown table or column, or one whose fit failed in the last run, raises ``KeyError``
    naming the valid ids (or the failure)."""
    return pd.DataFrame(_column(estimates, table, column)["coefficients"])


def statistics(estimates: dict, table: str, column: str) -> dict:
    """The model statistics of one column (nobs, llf, Wald test, rho, sample, SE type, ...),
    as stored: a dict of plain numbers and strings."""
    return dict(_column(estimates, table, column)["stats"])


def compare(estimates: dict, table: str, columns: list[str], terms: list[str],
            equation: str | None = None) -> pd.DataFrame:
    """Estimates (and SEs) of ``terms`` side by side across ``columns`` of one table.

    Returns a DataFrame indexed by ``terms`` with a (column title, "estimate" | "std. error")
    column MultiIndex; a term a model lacks is NaN. ``equation`` ("mean", "lnalpha", "main")
    restricts multi-equation models to one equation."""
    out = {}
    for c in columns:
        co = coefficients(estimates, table, c)
        if equation:
            co = co[co.equation == equation]
        co = co[co.term.isin(terms)]
        if co.term.duplicated().any():
            dups = sorted(set(co.term[co.term.duplicated()]))
            raise ValueError(f"{table}/{c}: term(s) {dups} appear in several equations "
                             f"{sorted(set(co.equation))}; pass equation=\"mean\" (or another)")
        co = co.set_index("term")
        title = estimates["tables"][table]["columns"][c]["title"]
        out[(title, "estimate")] = co["estimate"].reindex(terms)
        out[(title, "std. error")] = co["std_error"].reindex(terms)
    return pd.DataFrame(out)


def _results(root: str | Path | None, sub: str = "") -> Path:
    """``<project>/results[/sub]``, an interrupted commit of it completed first."""
    folder = project_root(root) / "results"
    folder = folder / sub if sub else folder
    recover_for_reading(folder, command="regrowth curve" if sub == "curve" else
                        "regrowth replicate")
    return folder


def table_markdown(table_id: str, root: str | Path | None = None) -> str:
    """The rendered Markdown of ``results/tables/<table_id>.md``."""
    return (_results(root) / "tables" / f"{table_id}.md").read_text(encoding="utf-8")


def figure_path(name: str, root: str | Path | None = None) -> Path:
    """The path of ``results/figures/<name>`` (an interrupted commit completed first)."""
    return _results(root) / "figures" / name


def load_curve(curve_id: str, root: str | Path | None = None) -> dict:
    """``results/curve/<curve_id>.json`` as a dict (what ``regrowth curve`` wrote: settings,
    summary, one record per specification).

    Raises :class:`~regrowth.errors.MissingInputError` if the curve has not been written and
    :class:`~regrowth.errors.DataError` if it is not valid JSON.
    """
    path = _results(root, "curve") / f"{curve_id}.json"
    if not path.is_file():
        raise MissingInputError(f"the specification curve {curve_id!r} has not been written",
                                file=path, hint="run `make curve` (or `regrowth curve`)")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(f"not valid JSON ({exc.msg})", file=path, row=exc.lineno,
                        hint="rerun `make curve` to rewrite it") from exc


#: the files whose bytes name a set of results (:func:`results_id`)
RESULT_FILES = ("estimates.json", "curve/*.json")


def results_id(root: str | Path | None = None, *, results: str | Path | None = None,
               patterns: tuple[str, ...] = RESULT_FILES) -> str:
    """A name for the results a reader sees: the first 16 hex digits of the SHA-256 of
    ``results/estimates.json`` and ``results/curve/*.json`` (path and bytes, in name order).

    Deterministic (no time, no machine), so a notebook can record which results it was built
    from and ``regrowth notebooks --check`` can say when the results changed since; ``""``
    when there are no results. ``results``: the results folder itself (default: the
    project's ``results/``); ``patterns``: which files (default :data:`RESULT_FILES`).
    """
    folder = Path(results) if results is not None else project_root(root) / "results"
    digest = hashlib.sha256()
    found = False
    for pattern in patterns:
        for path in sorted(folder.glob(pattern)):
            if path.is_file():
                found = True
                digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
                digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16] if found else ""

