"""Randomization inference for the focus coefficients of a table's columns.

A table carries it with ``analyses = { randomization = { columns = [...], permutations = 999,
seed = ..., strata = "capital_region" } }``: for each named column (default: every column)
and each of the table's ``focus`` terms among its regressors, the term's whole series are
dealt out across the table's units (provinces or macro-regions) and the column is refitted
each draw, through the column's own estimator entry and options
(:func:`regrowth.inference.randomization.randomization_test`, whose docstring has the
formulas). The records go into ``estimates.json`` under the column's ``extra.randomization``
and the p-value of the t-statistic is printed in the column's bracket line ("RI p").

Cost: one refit per draw (10-100 ms for the count models on 50-120 rows); the draws run on
one BLAS thread in this process, with their progress on stderr (:mod:`regrowth.progress`).
"""

from __future__ import annotations

from regrowth.analyses import Analysis, Context, Output, register
from regrowth.fit import estimation_sample
from regrowth.inference.randomization import randomization_test
from regrowth.models.registry import did_you_mean
from regrowth.progress import Progress
from regrowth.report.tidy import tidy
from regrowth.specs.parse import Problems, unknown
from regrowth.threads import one_blas_thread

__all__ = ["randomize_column", "MAX_PERMUTATIONS"]

KEYS = ("columns", "permutations", "seed", "strata")
#: Upper bound on ``permutations`` (each is a refit): beyond it the spec is refused.
MAX_PERMUTATIONS = 100_000


def _coefficient(result, term: str) -> tuple[float, float]:
    """(estimate, standard error) of ``term`` in the mean equation (the first equation: a
    GNB's dispersion equation, ``lnalpha``, may carry a regressor of the same name)."""
    rows = tidy(result)
    rows = rows[(rows["term"] == term) & (rows["equation"] != "lnalpha")]
    if rows.empty:
        raise ValueError(f"{term!r} is not a coefficient of the refitted model")
    return float(rows["estimate"].iloc[0]), float(rows["std_error"].iloc[0])


def randomize_column(spec, data, terms, *, permutations: int, seed: int,
                     strata: str | None = None, label: str = "") -> dict:
    """Randomization tests of ``terms`` (regressors of ``spec``) on the estimation sample
    ``data``; returns ``{term: RandomizationResult.to_dict()}`` (or ``{"error": ...}``)."""
    entry = spec.entry
    out = {}
    for term in terms:
        def refit(frame, term=term):
            return _coefficient(entry.fit(spec, frame), term)

        try:
            with one_blas_thread(), Progress(permutations, f"randomization {label} {term}",
                                             "draws") as bar:
                res = randomization_test(refit, data, term, strata=strata,
                                         permutations=permutations, seed=seed,
                                         progress=bar.to)
            out[term] = res.to_dict()
        except (ValueError, RuntimeError, ArithmeticError) as exc:
            out[term] = {"error": f"{type(exc).__name__}: {exc}"}
    return out


def _parse(value, table, problems: Problems, where: str) -> dict | None:
    if not isinstance(value, dict):
        problems.add(where, "analyses.randomization", "must be a table { columns = [...], "
                     "permutations = int, seed = int, strata = \"column\" }")
        return None
    unknown(value, KEYS, problems, where, "analyses.randomization.")
    ids = [c.id for c in table.columns]
    columns = value.get("columns", ids)
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        problems.add(where, "analyses.randomization.columns", "must be a list of column ids")
        return None
    for c in columns:
        if c not in ids:
            problems.add(where, "analyses.randomization.columns", f"{c!r} is not a column of "
                         "the table" + did_you_mean(c, ids))
    perms = value.get("permutations", 999)
    if isinstance(perms, bool) or not isinstance(perms, int) or not 1 <= perms <= MAX_PERMUTATIONS:
        problems.add(where, "analyses.randomization.permutations", f"must be an integer from 1 "
                     f"to {MAX_PERMUTATIONS:,} (each draw is a refit), not {perms!r}")
    seed = value.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        problems.add(where, "analyses.randomization.seed", f"must be a non-negative integer, "
                     f"not {seed!r}")
    strata = value.get("strata")
    if strata is not None and not isinstance(strata, str):
        problems.add(where, "analyses.randomization.strata", "must be a panel column name")
    if not table.focus:
        problems.add(where, "analyses.randomization", "the table has no focus terms to test")
    for c in columns:
        col = table.column(c)
        if col is not None and not [t for t in table.focus if t in col.regressors]:
            problems.add(where, "analyses.randomization.columns", f"column {c!r} has none of "
                         f"the table's focus terms {list(table.focus)} among its regressors")
    return {"columns": columns, "permutations": perms, "seed": seed, "strata": strata}


def _run(ctx: Context, table, settings) -> Output:
    for cid in settings["columns"]:
        col = table.column(cid)
        f = ctx.fitted.get(col.name)
        if f is None:
            continue
        data, _ = estimation_sample(col, ctx.panel_for(col))
        terms = [t for t in table.focus if t in col.regressors]
        f.extra["randomization"] = randomize_column(
            col, data, terms, permutations=settings["permutations"], seed=settings["seed"],
            strata=settings["strata"], label=col.name)
    return Output()


register(Analysis(
    name="randomization", stage="columns", run=_run, parse=_parse,
    doc="randomization inference (whole-series permutation across units, refit per draw) of "
        "each focus coefficient of the named columns"))
