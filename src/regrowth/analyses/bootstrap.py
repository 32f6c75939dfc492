"""The bootstrap lines of the tables: ``se.bootstrap`` of a column x its table's ``focus``.

For every column with ``se.bootstrap = {reps, weights, seed, impose_null}`` in
``specs/models.toml``, this analysis runs :func:`regrowth.inference.boottest` on each
coefficient of its table's ``focus`` list and stores the records (statistic, p-value,
confidence set, reps, enumerated, weights, seed, method) in the column's
``extra["bootstrap"]`` (so ``results/estimates.json`` keeps them).
:func:`regrowth.report.notes.term_lines` and :func:`regrowth.report.notes.bootstrap_note`
turn them into the bracketed line under each focus coefficient and the note naming the method.

It is implicit: every table runs it, and a column asks for it with ``se.bootstrap``.
"""

from __future__ import annotations

from typing import Any


from regrowth.analyses import Analysis, Context, Output, register
from regrowth.fit import cluster_ids, estimation_sample, panel_for
from regrowth.inference.boottest import boottest

__all__ = ["add_bootstraps", "bootstrap_column"]


def bootstrap_column(spec: Any, result: Any, focus, data) -> dict[str, dict]:
    """boottest records for the ``focus`` terms present in ``result``, keyed by term; a
    failure is recorded as ``{"error": ...}`` and never stops the run."""
    boot = spec.bootstrap
    params = result.params
    names = ([str(n) for n in params.index] if hasattr(params, "index")
             else [str(n) for n in result.model.data.param_names])
    out = {}
    for term in focus:
        if term not in names:
            continue
        try:
            res = boottest(result, term, clusters=cluster_ids(data, spec.se_groups), reps=boot.reps,
                           weights=boot.weights, seed=boot.seed,
                           impose_null=boot.impose_null)
            rec = res.to_dict()
            rec["seconds"] = None  # timings are not outputs (deterministic files)
            rec["groups"] = spec.se_groups or "region"  # what the note says it clustered by
            out[term] = rec
        except Exception as exc:  # noqa: BLE001 - reported in the record, not fatal
            out[term] = {"error": f"{type(exc).__name__}: {exc}"}
    return out


def add_bootstraps(specs: Any, fitted: dict, panel, macro=None) -> None:
    """Run the bootstraps every table of ``specs`` asks for and store them in ``fitted``
    (``macro``: the macro-region panel in fit shape, for tables whose rows are 권역)."""
    for table in specs.tables:
        _run_table(fitted, lambda col: panel_for(col, panel, macro), table)


def _run_table(fitted: dict, panel_of, table) -> None:
    if not table.focus:
        return
    for col in table.columns:
        f = fitted.get(col.name)
        if f is None or col.bootstrap is None:
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
        "of every column with se.bootstrap"))


