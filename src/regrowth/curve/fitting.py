"""Fitting a curve's specifications: one model group (a model and its inference choices)
at a time, with a bootstrap p-value per focal coefficient, on one BLAS thread."""

from __future__ import annotations

import math
import os
import time
import warnings

import numpy as np
import pandas as pd

from regrowth.curve.enumeration import Spec, spec_seed
from regrowth.curve.schema import Curve
from regrowth.errors import RegrowthError, SpecificationError
from regrowth.fit import cluster_ids, estimation_sample, fit_column
from regrowth.inference import boottest, cr2
from regrowth.threads import one_blas_thread

__all__ = ["fit_model_group", "run_batch", "group_specs", "one_blas_thread", "batches"]


def _fit_one(spec: Spec, panel: pd.DataFrame):
    """Fit one specification; return ``(fitted, clusters)`` or raise.

    ADAPTER (the only call into the estimators): :func:`regrowth.fit.fit_column` with the
    specification's ``ColumnSpec`` (:attr:`Spec.column`), so every estimator of the registry
    (``regrowth.models.registry``: gnb, nb2, poisson, fgls, pcse, fe, re, pooled; year and
    province effects as the registry implements them) is reachable by name. ``fitted`` offers
    ``.coefs`` (term, estimate, std_error, p_value, ci_low, ci_high), ``.stats`` (nobs,
    converged), ``.warnings`` and ``.result``; ``clusters`` is the cluster id of each
    estimation-sample row (for the bootstrap and CR2).
    """
    col = spec.column
    data, _ = estimation_sample(col, panel)
    if data.empty:
        raise SpecificationError("no observations in the sample with every variable observed")
    return fit_column(col, panel), cluster_ids(data, spec.cluster)


def _bootstrap_p(fitted, term: str, clusters, reps: int, weights: str, seed: int) -> dict:
    """Bootstrap p-value of ``term`` = 0: ``{"p": float, "method": str, "reps": int}``.

    ADAPTER (the only call into the bootstrap): ``regrowth.inference.boottest(results, param,
    clusters=..., reps=..., weights=..., seed=..., ci=False)`` (issue 9): wild cluster
    restricted bootstrap after linear models (on the GLS-transformed model after FGLS/RE),
    score bootstrap after ML. No confidence set (``ci=False``): only the p-value is kept.
    """
    res = boottest(fitted.result, term, clusters=clusters, reps=reps, weights=weights, seed=seed,
                   ci=False)
    return {"p": float(res.pvalue), "method": str(getattr(res, "method", "")),
            "reps": int(getattr(res, "reps", reps))}


def _cr2(fitted, term: str, clusters) -> dict:
    """CR2 (Bell-McCaffrey) SE, Satterthwaite-t p-value and 95% interval of ``term``.

    ADAPTER (the only call into CR2): ``regrowth.inference.cr2(results, clusters=...,
    terms=[term])``, linear models (pooled OLS, FE, RE) only.
    """
    res = cr2(fitted.result, clusters=clusters, terms=[term])
    ci = res.conf_int().loc[term]
    return {"std_error": _finite(res.std_errors[term]), "p_value": _finite(res.pvalues[term]),
            "ci_low": _finite(ci["lower"]), "ci_high": _finite(ci["upper"])}


def _finite(x) -> float | None:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _term_row(fitted, term: str) -> dict:
    c = fitted.coefs
    rows = c[c["term"] == term]
    if "equation" in c:
        mean = rows[rows["equation"].isin(["mean", "main", None])]
        rows = mean if len(mean) else rows.iloc[:1]
    if rows.empty:
        raise RegrowthError(f"term {term!r} is not in the fitted model (dropped as collinear?)")
    r = rows.iloc[0]
    return {"estimate": _finite(r["estimate"]), "std_error": _finite(r["std_error"]),
            "p_value": _finite(r["p_value"]), "ci_low": _finite(r["ci_low"]),
            "ci_high": _finite(r["ci_high"])}


class _Recorded(RegrowthError):
    """A reason already formatted by :func:`_short` (re-raised as it is)."""


def _short(exc: BaseException) -> str:
    if isinstance(exc, _Recorded):
        return str(exc)
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}"[:400]


def fit_model_group(curve: Curve, specs: list[Spec], panel: pd.DataFrame) -> list[dict]:
    """Fit the specifications of one model (same model id, each inference choice).

    One fit per distinct analytic covariance (the ``bootstrap`` choice reuses the cluster
    fit), one bootstrap p-value per focal term for the model. Returns one record per spec.
    """
    cache: dict[tuple, tuple] = {}
    boot: dict[str, dict] = {}
    boot_done = False
    records = []
    for spec in specs:
        rec = {"id": spec.id, "model": spec.model_id, "choices": dict(spec.choices),
               "estimator": spec.estimator, "inference": spec.inference, "nobs": None,
               "n_clusters": None, "converged": None, "warnings": [], "error": None,
               "terms": {}}
        key = ("cluster" if spec.inference in ("bootstrap", "cr2") else spec.inference,)
        try:
            if key not in cache:
                try:
                    cache[key] = (_fit_one(spec, panel), None)
                except (RegrowthError, ValueError, ArithmeticError, np.linalg.LinAlgError,
                        RuntimeError, KeyError, IndexError, TypeError) as exc:
                    cache[key] = (None, exc)
            out, exc = cache[key]
            if exc is not None:
                raise exc
            fitted, clusters = out
            rec["nobs"] = int(fitted.stats.get("nobs", len(clusters)))
            rec["n_clusters"] = len(set(clusters))
            conv = fitted.stats.get("converged", True)
            rec["converged"] = bool(conv) if conv is not None else True
            rec["warnings"] = list(fitted.warnings)
            if not boot_done:
                boot_done = True
                for role, term in spec.focal_terms:
                    if curve.reps == 0:
                        boot[role] = {"p": None, "error": "bootstrap switched off (reps = 0)"}
                        continue
                    try:
                        seed = spec_seed(curve.seed, f"{spec.model_id}|{role}")
                        boot[role] = _bootstrap_p(fitted, term, clusters, curve.reps,
                                                  curve.weights, seed)
                        boot[role]["seed"] = seed
                    except Exception as bexc:  # noqa: BLE001 - listed as a failure, never silent
                        boot[role] = {"p": None, "error": _short(bexc)}
            for role, term in spec.focal_terms:
                row = {"term": term, **_term_row(fitted, term)}
                if spec.inference == "cr2":
                    row.update(_cr2(fitted, term, clusters))
                b = boot.get(role, {})
                row["boot_p"] = b.get("p")
                if b.get("error"):
                    row["boot_error"] = b["error"]
                if spec.inference == "bootstrap":
                    if b.get("p") is None:   # no p-value of record: the spec failed
                        raise _Recorded(b.get("error") or "bootstrap p-value missing")
                    row["p_value"] = b.get("p")
                rec["terms"][role] = row
        except Exception as exc:  # noqa: BLE001 - a failed spec is recorded with its reason
            rec["error"] = _short(exc)
            rec["terms"] = {role: {"term": term} for role, term in spec.focal_terms}
        records.append(rec)
    return records


def _rss_mb() -> float:
    """Resident set size of this process now, in MB (Linux /proc; 0 elsewhere)."""
    try:
        with open("/proc/self/statm") as fh:
            pages = int(fh.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 1e6
    except (OSError, ValueError, IndexError):
        return 0.0




def run_batch(curve: Curve, groups: list[list[Spec]], panel: pd.DataFrame) -> dict:
    """Fit a batch of model groups. Returns ``{"records": [...], "meta": {...}}``.

    ``meta`` (pid, seconds, RSS in MB after the batch) is for benchmarks and the log only;
    it never enters the JSON output.
    """
    t0 = time.perf_counter()
    records = []
    with warnings.catch_warnings(), one_blas_thread():
        warnings.simplefilter("ignore")
        for g in groups:
            records += fit_model_group(curve, g, panel)
    return {"records": records, "meta": {"pid": os.getpid(), "seconds": time.perf_counter() - t0,
                                         "rss_mb": _rss_mb(), "n_fits": sum(len(g) for g in groups)}}


def batches(items: list, size: int) -> list[list]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def group_specs(specs: list[Spec]) -> list[list[Spec]]:
    """Consecutive specifications of the same model, as lists (enumeration order kept)."""
    groups: list[list[Spec]] = []
    for s in specs:
        if groups and groups[-1][0].model_id == s.model_id:
            groups[-1].append(s)
        else:
            groups.append([s])
    return groups

