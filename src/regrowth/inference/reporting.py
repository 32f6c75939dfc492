"""Bootstrap inference for the replication tables (``se.bootstrap`` and table ``focus``).

For every column with ``se.bootstrap = {reps, weights, seed, impose_null}`` in
``specs/models.toml``, :func:`add_bootstraps` runs :func:`regrowth.inference.boottest` on
each coefficient of its table's ``focus`` list and stores the records (statistic,
p-value, confidence set, reps, enumerated, weights, seed, method) in the column's
``extra["bootstrap"]`` (so ``results/estimates.json`` keeps them).
:func:`term_lines` and :func:`table_note` turn them into the bracketed line under each
focus coefficient and the note naming the method.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from regrowth.inference.boottest import boottest
from regrowth.tables import format_number

__all__ = ["add_bootstraps", "bootstrap_column", "table_note", "term_lines"]


def _clusters(spec: Any, data) -> Any:
    groups = spec.se_groups or "region"
    if groups in data.index.names:
        return np.asarray(data.index.get_level_values(groups))
    return data[groups].to_numpy()


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
            res = boottest(result, term, clusters=_clusters(spec, data), reps=boot.reps,
                           weights=boot.weights, seed=boot.seed,
                           impose_null=boot.impose_null)
            rec = res.to_dict()
            rec["seconds"] = None  # timings are not outputs (deterministic files)
            out[term] = rec
        except Exception as exc:  # noqa: BLE001 - reported in the record, not fatal
            out[term] = {"error": f"{type(exc).__name__}: {exc}"}
    return out


def add_bootstraps(specs: Any, fitted: dict, panel) -> None:
    """Run the bootstraps the specification asks for and store them in ``fitted``."""
    from regrowth.replicate import estimation_sample

    for table in specs.tables:
        if not table.focus:
            continue
        for col in table.columns:
            f = fitted.get(col.name)
            if f is None or col.bootstrap is None:
                continue
            data, _ = estimation_sample(col, panel)
            f.extra["bootstrap"] = bootstrap_column(col, f.result, table.focus, data)


def term_lines(extra: dict, digits: int = 3) -> dict[str, str]:
    """``{term: "[p; low, high]"}`` for a column's bootstrap records."""
    out = {}
    for term, rec in (extra.get("bootstrap") or {}).items():
        if "error" in rec:
            continue
        lo, hi = rec["ci_low"], rec["ci_high"]
        ends = []
        for v in (lo, hi):
            if v is None or (isinstance(v, float) and math.isnan(v)):
                ends.append("")
            elif math.isinf(v):
                ends.append("-inf" if v < 0 else "inf")
            else:
                ends.append(format_number(v, digits))
        text = f"[{format_number(rec['pvalue'], 3)}"
        if any(ends):
            text += f"; {ends[0]}, {ends[1]}"
        out[term] = text + "]"
    return out


def table_note(extras: list[dict]) -> str | None:
    """One sentence naming the bootstrap(s) behind the bracketed lines, or None."""
    kinds, settings = [], []
    for extra in extras:
        for rec in (extra.get("bootstrap") or {}).values():
            if "error" in rec:
                continue
            method = rec["method"].split(" after ")[0]
            if method not in kinds:
                kinds.append(method)
            draws = (f"all {rec['reps']:,} Rademacher sign vectors" if rec["enumerated"]
                     else f"{rec['reps']:,} draws, {rec['weights']} weights, seed {rec['seed']}")
            if draws not in settings:
                settings.append(draws)
    if not kinds:
        return None
    level = 95
    return (f"In brackets under the focus coefficients: bootstrap p-value of H0: coefficient "
            f"= 0 and {level}% confidence set by test inversion, clustered by province "
            f"({'; '.join(kinds)}; {'; '.join(settings)}; Roodman et al. 2019, Stata "
            "boottest). Score bootstrap after GNB/NB2/Poisson; after FGLS and random effects "
            "the GLS transformation is held at its estimate.")


def inference_label(result: Any, n_clusters: int | None = None) -> str:
    """The reference distribution of a column's p-values and, for clustered SEs, the number
    of clusters, e.g. ``"t(15), 16 clusters"`` or ``"normal, 16 clusters"``."""
    df_ref = getattr(result, "df_ref", None)
    G = getattr(result, "n_clusters", None) or n_clusters
    if df_ref is not None:
        if G:
            return f"t({df_ref}), {G} clusters"
        return f"t({df_ref}), {df_ref + 1} periods"
    dist = "t" if getattr(result, "use_t", False) else "normal"
    if dist == "t":
        dist = f"t({int(getattr(result, 'df_resid', 0))})"
    return f"{dist}, {G} clusters" if G else dist
