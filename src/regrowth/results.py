"""Read what ``make replicate`` wrote, for notebooks and users: estimates, tables, figures.

Notebooks never refit the published numbers from scratch: they read ``results/estimates.json``
(every number of every table, full precision) and the rendered tables, so what they show
is what the tables show. Where a notebook needs more than the tables (IRRs, marginal
effects, LR tests), :func:`refit` runs the same code path as ``make replicate`` on the same
specification.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd


def project_root(start: str | Path | None = None) -> Path:
    """The folder holding ``specs/models.toml``, searching upwards from ``start`` (default: cwd)."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "specs" / "models.toml").is_file():
            return folder
    raise FileNotFoundError("no specs/models.toml above " + str(here))


def load_estimates(root: str | Path | None = None) -> dict:
    """``results/estimates.json`` as a dict: tables -> columns -> coefficients, stats."""
    path = project_root(root) / "results" / "estimates.json"
    return json.loads(path.read_text(encoding="utf-8"))


def coefficients(estimates: dict, table: str, column: str) -> pd.DataFrame:
    """The tidy coefficient rows of one column (term, equation, estimate, std_error, ...)."""
    col = estimates["tables"][table]["columns"][column]
    if "error" in col:
        raise KeyError(f"{table}/{column} failed in the last run: {col['error']}")
    return pd.DataFrame(col["coefficients"])


def compare(estimates: dict, table: str, columns: list[str], terms: list[str],
            equation: str | None = None) -> pd.DataFrame:
    """Estimates (and SEs) of ``terms`` side by side across ``columns`` of one table: columns
    ``(column title, "estimate" | "std. error")``, one row per term (NaN where a column lacks
    it). ``equation`` picks one equation; without it, a term present in several equations
    is taken from the first (the mean equation)."""
    out = {}
    for c in columns:
        co = coefficients(estimates, table, c)
        if equation:
            co = co[co.equation == equation]
        # a term in two equations (the constant of a GNB): the first, the mean equation's
        co = co.drop_duplicates("term", keep="first").set_index("term")
        title = estimates["tables"][table]["columns"][c]["title"]
        out[(title, "estimate")] = co["estimate"].reindex(terms)
        out[(title, "std. error")] = co["std_error"].reindex(terms)
    return pd.DataFrame(out)


def table_markdown(table_id: str, root: str | Path | None = None) -> str:
    """The rendered Markdown of ``results/tables/<table_id>.md``."""
    return (project_root(root) / "results" / "tables" / f"{table_id}.md").read_text(encoding="utf-8")


def figure_path(name: str, root: str | Path | None = None) -> Path:
    return project_root(root) / "results" / "figures" / name


def refit(table: str, column: str, root: str | Path | None = None):
    """Refit one specification exactly as ``make replicate`` does; return the estimator result."""
    from regrowth import panel, specs
    from regrowth.replicate import fit_column

    base = project_root(root)
    spec = {c.name: c for c in specs.load(base / "specs" / "models.toml").columns()}[f"{table}/{column}"]
    return fit_column(spec, panel.load(base / "data" / "processed")).result
