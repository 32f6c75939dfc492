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
"""

from __future__ import annotations

from typing import Any


from regrowth.analyses import Analysis, Context, Output, register
from regrowth.fit import cluster_ids, estimation_sample, panel_for
from regrowth.inference.boottest import boottest

__all__ = ["add_bootstraps", "bootstrap_column"]


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
            rec["seconds"] = None  # timings are not outputs (deterministic files)
            out[term] = rec
        except Exception as exc:  # noqa: BLE001 - reported in the record, not fatal
            out[term] = {"error": f"{type(exc).__name__}: {exc}", "groups": groups or "region"}
    return out


def add_bootstraps(specs: Any, fitted: dict, panel, macro=None) -> None:
    """Run the bootstraps every table of ``specs`` asks for and store them in ``fitted``
    (``macro``: the macro-region panel in fit shape, for tables whose rows are 권역)."""
    for table in specs.tables:
        _run_table(fitted, lambda col: panel_for(col, panel, macro), table)


def _run_table(fitted: dict, panel_of, table) -> None:
    if not table.focus and not any(c.tests for c in table.columns):
        return
    for col in table.columns:
        f = fitted.get(col.name)
        if f is None or (col.bootstrap is None and not col.tests):
            continue
        data, _ = estimation_sample(col, panel_of(col))
        f.extra["bootstrap"] = bootstrap_column(col, f.result, table.focus, data)


def _run(ctx: Context, table, settings) -> Output:
    _run_table(ctx.fitted, ctx.panel_for, table)
    return Output()


register(Analysis(
    name="bootstrap", stage="columns", run=_run, parse=lambda value, table, problems, where: None,
    implicit=True,
    doc="wild cluster / score bootstrap p-value and confidence set of each focus coefficient "
        "of every column with se.bootstrap, each clustered where its se.tests say"))


