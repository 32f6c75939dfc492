"""The bootstrap lines of the tables: ``se.bootstrap`` of a column x its table's ``focus``.

For every column with ``se.bootstrap = {reps, weights, seed, impose_null}`` in
``specs/models.toml``, this analysis runs :func:`regrowth.inference.boottest` on each
coefficient of its table's ``focus`` list and stores the records (statistic, p-value,
confidence set, reps, enumerated, weights, seed, method) in the column's
``extra["bootstrap"]`` (so ``results/estimates.json`` keeps them).
:func:`regrowth.report.notes.term_lines` and :func:`regrowth.report.notes.bootstrap_note`
turn them into the bracketed line under each focus coefficient and the note naming the method.

A coefficient the column declares in ``se.tests`` (``se.tests.<term> = { groups =
"macro_region", bootstrap = {...} }``) is tested with its own clusters and settings -- the
level at which its regressor varies -- whether or not it is a focus term; its record says
which ``groups`` it clustered on (every record does), so the notes can name the grouping and
the stars of that coefficient follow that test.

It is implicit: every table runs it, and a column asks for it with ``se.bootstrap`` (or
``se.tests``).

What cannot work is refused before anything is fitted: ``reps`` above
:data:`regrowth.inference.weights.MAX_REPS` and a focus term found only in a column's
dispersion equation (by :mod:`regrowth.specs`), an estimation sample with fewer than 2
clusters of ``se.groups`` (:func:`check_clusters`, run by ``replicate`` with the other
checks against the panel). A bootstrap that fails anyway is never silent: its record keeps
the error, the column's table notes name it (the column's warnings), and the analysis
raises once every column was tried, so ``replicate`` logs it and exits 1.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from regrowth.analyses import Analysis, Context, Output, register
from regrowth.errors import EstimationError
from regrowth.fit import cluster_ids, estimation_sample, panel_for
from regrowth.inference.boottest import boottest

__all__ = ["add_bootstraps", "bootstrap_column", "check_clusters"]


def bootstrap_column(spec: Any, result: Any, focus, data) -> dict[str, dict]:
    """boottest records for the ``focus`` terms and the ``se.tests`` terms present in
    ``result``, keyed by term; each clusters on the term's own groups
    (:meth:`~regrowth.specs.ColumnSpec.test_of`) and records them as ``groups``. A failure is
    recorded as ``{"error": ...}`` and never stops the run."""
    params = result.params
    names = ([str(n) for n in params.index] if hasattr(params, "index")
             else [str(n) for n in result.model.data.param_names])
    out = {}
    terms = list(dict.fromkeys([*focus, *(t.term for t in spec.tests)]))
    for term in terms:
        groups, boot = spec.test_of(term)
        if term not in names or boot is None:
            continue
        try:
            res = boottest(result, term, clusters=cluster_ids(data, groups), reps=boot.reps,
                           weights=boot.weights, seed=boot.seed,
                           impose_null=boot.impose_null)
            rec = res.to_dict()
            rec["groups"] = groups or "region"
            # a coefficient with its own se.tests grouping (the notes describe it apart)
            rec["own_test"] = any(t.term == term for t in spec.tests)
            rec["seconds"] = None  # timings are not outputs (deterministic files)
            out[term] = rec
        except Exception as exc:  # noqa: BLE001 - reported in the record, not fatal
            out[term] = {"error": f"{type(exc).__name__}: {exc}", "groups": groups or "region"}
    return out


def check_clusters(columns, panel, path, macro=None) -> list[str]:
    """One message per column whose ``se.bootstrap`` cannot run on its estimation sample
    because ``se.groups`` has fewer than 2 clusters there (the wild cluster bootstrap's
    statistic needs variation between clusters); empty when every bootstrap can run.
    ``macro``: the macro-region panel in fit shape, for tables whose rows are macro-regions."""
    problems = []
    for col in columns:
        if col.bootstrap is None:
            continue
        data, _ = estimation_sample(col, panel_for(col, panel, macro))
        if data.empty:
            continue   # reported as an empty sample
        groups = col.se_groups or "region"
        if groups not in data.columns and groups not in data.index.names:
            continue   # reported as a missing variable
        n_clusters = len(np.unique(cluster_ids(data, groups).astype(str)))
        if n_clusters < 2:
            problems.append(
                f"{path}: table {col.table!r}, column {col.id!r}: key 'se.bootstrap': the "
                f"estimation sample ({col.sample.describe()}) has {n_clusters} cluster of "
                f"se.groups = {groups!r}, and the wild cluster bootstrap needs at least 2 (its "
                "statistic divides by the variation between clusters). Cluster on a variable "
                "with more groups, widen the sample, or remove se.bootstrap; nothing was "
                "fitted or written")
    return problems


def add_bootstraps(specs: Any, fitted: dict, panel, macro=None) -> None:
    """Run the bootstraps every table of ``specs`` asks for and store them in ``fitted``
    (``macro``: the macro-region panel in fit shape, for tables whose rows are 권역);
    raises EstimationError naming every failed one after all were tried."""
    failures = []
    for table in specs.tables:
        failures += _run_table(fitted, lambda col: panel_for(col, panel, macro), table)
    _raise(failures)


def _run_table(fitted: dict, panel_of, table) -> list[str]:
    """Bootstrap every column of ``table``; return one line per failed (column, term), each
    also added to the column's warnings (so its table notes say so)."""
    failures = []
    if not table.focus and not any(c.tests for c in table.columns):
        return failures
    for col in table.columns:
        f = fitted.get(col.name)
        if f is None or (col.bootstrap is None and not col.tests):
            continue
        data, _ = estimation_sample(col, panel_of(col))
        f.extra["bootstrap"] = bootstrap_column(col, f.result, table.focus, data)
        for term, rec in f.extra["bootstrap"].items():
            if "error" in rec:
                f.warnings.append(f"the bootstrap of {term} failed, so the column has no "
                                  f"bootstrap line for it; {rec['error']}")
                failures.append(f"{col.name}: bootstrap of {term}: {rec['error']}")
    return failures


def _raise(failures: list[str]) -> None:
    if failures:
        raise EstimationError(f"{len(failures)} bootstrap(s) failed (their tables say so in "
                              "the notes): " + "; ".join(failures))


def _run(ctx: Context, table, settings) -> Output:
    _raise(_run_table(ctx.fitted, ctx.panel_for, table))
    return Output()


register(Analysis(
    name="bootstrap", stage="columns", run=_run, parse=lambda value, table, problems, where: None,
    implicit=True,
    doc="wild cluster / score bootstrap p-value and confidence set of each focus coefficient "
        "of every column with se.bootstrap, each clustered where its se.tests say"))
