"""Randomization inference for the focus coefficients of a table's columns.

A table carries it with ``analyses = { randomization = { columns = [...], permutations = 999,
seed = ..., strata = "capital_region", blocks = { term = "macro_region" } } }``: for each
named column (default: every column) and each of the table's ``focus`` terms among its
regressors, the term's whole series are dealt out across the table's units (provinces or
macro-regions) and the column is refitted each draw, through the column's own estimator and
options (:func:`regrowth.inference.randomization.randomization_test`, whose docstring has the
formulas). The records go into ``estimates.json`` under the column's ``extra.randomization``
and the p-value of the t-statistic is printed in the column's bracket line ("RI p").

``blocks``: the permutation unit, one column name for every term or a table ``{term =
column}`` (default ``region``: the table's rows). A regressor that varies by macro-region
(Table 2's innovation intensity) is permuted by ``macro_region``: whole macro-region series
are dealt out among the 7 macro-regions and all provinces of one receive the series of
another, the only reassignment that keeps the regressor a macro-region variable (see
:mod:`regrowth.inference.randomization`).

Cost: a refit per draw, made cheap by :func:`regrowth.inference.refit.column_refit` (the
design built once, count models warm-started; ``benchmarks/bench_randomization.py``). The
draws run in chunks on the run's backend (``regrowth replicate --backend serial|processes|
dask``, default ``$REGROWTH_BACKEND`` or serial), each chunk on one BLAS thread; the
p-values are the same on every backend. Their progress goes to stderr (:mod:`regrowth.progress`).
"""

from __future__ import annotations

import contextlib
import sys
import time

from regrowth.analyses import Analysis, Context, Output, register
from regrowth.curve.backends import Executor
from regrowth.errors import RegrowthError
from regrowth.fit import estimation_sample
from regrowth.inference.randomization import randomization_test
from regrowth.inference.refit import column_refit
from regrowth.models.registry import did_you_mean
from regrowth.progress import Progress
from regrowth.specs.parse import Problems, unknown
from regrowth.threads import one_blas_thread

__all__ = ["randomize_column", "MAX_PERMUTATIONS"]

KEYS = ("columns", "permutations", "seed", "strata", "blocks")
#: Upper bound on ``permutations`` (each is a refit): beyond it the spec is refused.
MAX_PERMUTATIONS = 100_000


def randomize_column(spec, data, terms, *, permutations: int, seed: int,
                     strata: str | None = None, blocks: dict | None = None, label: str = "",
                     executor=None) -> dict:
    """Randomization tests of ``terms`` (regressors of ``spec``) on the estimation sample
    ``data``, each permuted by ``blocks.get(term, "region")``; returns ``{term:
    RandomizationResult.to_dict()}`` (or ``{"error": ...}``). ``executor``: where the
    chunks of draws run (:class:`regrowth.curve.backends.Executor`; None: here)."""
    blocks = blocks or {}
    out = {}
    for term in terms:
        try:
            t0 = time.perf_counter()
            with one_blas_thread():
                refit = column_refit(spec, data, term)
            with Progress(permutations, f"randomization {label} {term}", "draws") as bar:
                res = randomization_test(refit, data, term, unit=blocks.get(term, "region"),
                                         strata=strata, permutations=permutations, seed=seed,
                                         progress=bar.to, executor=executor)
            out[term] = res.to_dict()
            print(f"  randomization {label} {term}: p = {res.pvalue:.4f} ({refit.kind} "
                  f"refits, {res.fallbacks} cold fallbacks) [{time.perf_counter() - t0:.1f}s]",
                  file=sys.stderr, flush=True)
        except (ValueError, RuntimeError, ArithmeticError, RegrowthError) as exc:
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
    blocks = value.get("blocks", {})
    if isinstance(blocks, str):
        blocks = {t: blocks for t in table.focus}
    if not isinstance(blocks, dict) or not all(isinstance(v, str) for v in blocks.values()):
        problems.add(where, "analyses.randomization.blocks", "must be a column name (the unit "
                     "whose whole series are permuted, e.g. \"macro_region\") or a table "
                     "{ term = column }")
        blocks = {}
    for term in blocks:
        if term not in table.focus:
            problems.add(where, "analyses.randomization.blocks", f"{term!r} is not a focus "
                         f"term of the table {list(table.focus)}"
                         + did_you_mean(term, table.focus))
    if not table.focus:
        problems.add(where, "analyses.randomization", "the table has no focus terms to test")
    for c in columns:
        col = table.column(c)
        if col is not None and not [t for t in table.focus if t in col.regressors]:
            problems.add(where, "analyses.randomization.columns", f"column {c!r} has none of "
                         f"the table's focus terms {list(table.focus)} among its regressors")
    return {"columns": columns, "permutations": perms, "seed": seed, "strata": strata,
            "blocks": blocks}


def _run(ctx: Context, table, settings) -> Output:
    backend = dict(ctx.backend or {})
    parallel = backend.get("backend", "serial") != "serial"
    with (Executor(**backend) if parallel else contextlib.nullcontext()) as executor:
        for cid in settings["columns"]:
            col = table.column(cid)
            f = ctx.fitted.get(col.name)
            if f is None:
                continue
            data, _ = estimation_sample(col, ctx.panel_for(col))
            terms = [t for t in table.focus if t in col.regressors]
            f.extra["randomization"] = randomize_column(
                col, data, terms, permutations=settings["permutations"],
                seed=settings["seed"], strata=settings["strata"],
                blocks=settings.get("blocks"), label=col.name, executor=executor)
    return Output()


register(Analysis(
    name="randomization", stage="columns", run=_run, parse=_parse,
    doc="randomization inference (whole-series permutation across units, refit per draw) of "
        "each focus coefficient of the named columns"))
