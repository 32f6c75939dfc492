"""The effective number of clusters of every focus test: G* and the top-two cluster share.

For every clustered column (``se.groups``, or a coefficient's own ``se.tests`` groups) of a
table with ``focus`` terms, this analysis computes, per focus coefficient,
:func:`regrowth.inference.clusters.cluster_diagnostics`: Carter, Schnepel & Steigerwald's
G*(0) from the regressors' cluster structure and the share of the coefficient's cluster score
variance carried by its two largest clusters (formulas in :mod:`regrowth.inference.clusters`),
on the clusters of that coefficient's test. The records go to the column's
``extra["clusters"]`` (so ``results/estimates.json`` keeps them);
:func:`regrowth.report.notes.cluster_stats` turns them into the tables' "Effective clusters
G*" and "Top-2 cluster share" rows. A coefficient whose model the diagnostics do not cover
(e.g. the bias-corrected dynamic estimators) gets ``{"error": ...}`` and an empty cell.

It is implicit: every table with focus terms runs it.
"""

from __future__ import annotations

from typing import Any

from regrowth.analyses import Analysis, Context, Output, register
from regrowth.fit import cluster_ids, estimation_sample
from regrowth.inference.clusters import cluster_diagnostics

__all__ = ["cluster_column"]


def cluster_column(spec: Any, result: Any, focus, data) -> dict[str, dict]:
    """Cluster diagnostics of the ``focus`` terms in ``result`` whose test clusters, keyed by
    term; each record names its ``groups``. A failure is recorded as ``{"error": ...}``."""
    params = result.params
    names = ([str(n) for n in params.index] if hasattr(params, "index")
             else [str(n) for n in result.model.data.param_names])
    out = {}
    for term in focus:
        groups, _ = spec.test_of(term)
        if term not in names or groups is None:
            continue
        try:
            rec = cluster_diagnostics(result, term, clusters=cluster_ids(data, groups)).to_dict()
        except Exception as exc:  # noqa: BLE001 - reported in the record, not fatal
            rec = {"error": f"{type(exc).__name__}: {exc}"}
        rec["groups"] = groups
        out[term] = rec
    return out


def _run(ctx: Context, table, settings) -> Output:
    if not table.focus:
        return Output()
    for col in table.columns:
        f = ctx.fitted.get(col.name)
        if f is None:
            continue
        data, _ = estimation_sample(col, ctx.panel_for(col))
        found = cluster_column(col, f.result, table.focus, data)
        if found:
            f.extra["clusters"] = found
    return Output()


register(Analysis(
    name="clusters", stage="columns", run=_run, parse=lambda value, table, problems, where: None,
    implicit=True,
    doc="effective number of clusters G* (Carter, Schnepel & Steigerwald 2017) and the top-2 "
        "cluster share of each focus coefficient of every clustered column"))
