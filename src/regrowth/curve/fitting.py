"""Fitting a curve's specifications: one model group (a model and its inference choices)
at a time, one record per model with a p-value per inference choice and a bootstrap p-value
per focal coefficient, on one BLAS thread."""

from __future__ import annotations

import math
import os
import time
import warnings

import numpy as np
import pandas as pd

from regrowth.curve.count_null import boot_p, score_parts, wants_parts
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


def _score_bootstrap_p(fitted, term: str, clusters, reps: int, weights: str, seed: int,
                       keep: dict, role: str) -> dict:
    """The bootstrap p-value of ``term`` = 0 after a count model, keeping the score parts of
    its restricted fit in ``keep[role]`` for the count null (only for curves that declare
    it, :func:`regrowth.curve.count_null.wants_parts`); raises as :func:`_bootstrap_p` would
    where the restricted fit fails.

    ADAPTER: :func:`regrowth.curve.count_null.score_parts` (boottest's restricted ML problem
    and ``score_boot(0, c, "onestep")``, the restricted fit :func:`_bootstrap_p` would make)
    and :func:`regrowth.curve.count_null.boot_p` (boottest's weights, seed and symmetric p on
    those parts), so the p-value is the one ``boottest(..., ci=False)`` returns, byte for byte
    (tests/test_curve_count_null.py), and the restricted fit is made once for both.
    """
    parts = score_parts(fitted.result, term, clusters)
    keep[role] = parts
    return {"p": boot_p(parts, weights, reps, seed),
            "method": "score bootstrap (Kline-Santos; variance re-linearised at the one-step "
                      "estimate)", "reps": int(reps)}


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


#: the order in which a model's inference choices give the p-value of record (the
#: *recommended* inference, issue 17): the bootstrap p where the curve computes one, else the
#: province-clustered p; never the model-based (OIM / conventional) one
RECOMMENDED = ("bootstrap", "cluster")

#: ``boot_error`` of a model whose bootstrap choice is a declared exclusion (not a failure)
BOOT_EXCLUDED = "the model's bootstrap choice is declared excluded"

#: the analytic interval drawn in the figure: the first of these a model has
INTERVAL_FROM = ("cluster", "cr2", "robust", "kernel", "model")


def _convergence(fitted) -> tuple[bool, bool]:
    """``(converged, borderline)`` of a fit. ``converged`` is the estimator's verdict (the
    package's rule: scaled Newton decrement below :data:`regrowth.models._optim.TOL`);
    ``borderline`` is the estimator's own flag (``mle_retvals["borderline"]``) that the
    verdict could flip on another machine: set by the statsmodels Poisson fits, which judge a
    finished fit by its decrement (within a factor 100 of the tolerance,
    :mod:`regrowth.models.count`). The package's Newton solver (GNB, NB2, count panels) sets
    none: a decrement just above the tolerance only means one more Newton step, after which
    the decrement is ~1e-20, so its verdict does not hinge on rounding. The decrement itself
    is not recorded: at a maximum it is rounding noise and would differ between machines."""
    conv = fitted.stats.get("converged", True)
    converged = bool(conv) if conv is not None else True
    res = getattr(fitted, "result", None)
    info = getattr(res, "mle_retvals", None)
    if not isinstance(info, dict):
        info = getattr(getattr(res, "_results", None), "mle_retvals", None)
    return converged, bool(isinstance(info, dict) and info.get("borderline", False))


def _fit_cell(spec: Spec, panel: pd.DataFrame):
    try:
        return _fit_one(spec, panel), None
    except (RegrowthError, ValueError, ArithmeticError, np.linalg.LinAlgError,
            RuntimeError, KeyError, IndexError, TypeError) as exc:
        return None, exc


def fit_model_group(curve: Curve, specs: list[Spec], panel: pd.DataFrame, *,
                    parts: dict | None = None) -> dict:
    """Fit one model (the specifications of one model id, one per inference choice).

    The inference choices of a model share its estimate: one record per model, with one
    p-value (and, for analytic covariances, one standard error and interval) per inference
    choice. One fit per distinct analytic covariance (``bootstrap`` and ``cr2`` reuse the
    cluster fit), one bootstrap p-value per focal term for the model (skipped where the
    model's bootstrap choice is declared excluded). Returns the model record (the JSON
    schema is in :mod:`regrowth.curve`). ``parts``: a dict to receive, per focal role, the
    :class:`~regrowth.curve.count_null.ScoreParts` of the model's restricted fit (count
    curves with a score null; kept in memory, never in the record)."""
    first = specs[0]
    choices = {d: o for d, o in first.choices if d != "inference"}
    rec = {"id": first.model_id, "choices": choices, "estimator": first.estimator,
           "inference": [s.inference for s in specs], "nobs": None, "n_clusters": None,
           "converged": None, "convergence_borderline": False, "warnings": [], "error": None,
           "unavailable": {}, "terms": {}}
    fits: dict[str, tuple] = {}
    for spec in specs:
        key = "cluster" if spec.inference in ("bootstrap", "cr2") else spec.inference
        if key not in fits:
            fits[key] = _fit_cell(spec, panel)
    ok = {k: v[0] for k, v in fits.items() if v[0] is not None}
    if not ok:
        reasons = list(dict.fromkeys(_short(e) for _, e in fits.values()))
        rec["error"] = " | ".join(reasons)
        rec["terms"] = {role: {"term": term} for role, term in first.focal_terms}
        return rec
    base_key = next(k for k in fits if fits[k][0] is not None)
    fitted, clusters = ok[base_key]
    rec["nobs"] = int(fitted.stats.get("nobs", len(clusters)))
    rec["n_clusters"] = len(set(clusters))
    rec["converged"], rec["convergence_borderline"] = _convergence(fitted)
    rec["warnings"] = list(fitted.warnings)
    boot = _bootstrap_ps(curve, first, rec["inference"], fitted, clusters, parts)
    try:
        for role, term in first.focal_terms:
            rec["terms"][role] = _term_record(term, specs, fits, fitted, boot.get(role, {}),
                                              rec["unavailable"])
    except Exception as exc:  # noqa: BLE001 - a failed model is recorded with its reason
        rec["error"] = _short(exc)
        rec["terms"] = {role: {"term": term} for role, term in first.focal_terms}
    return rec


def _bootstrap_ps(curve: Curve, first: Spec, inference: list[str], fitted,
                  clusters, parts: dict | None = None) -> dict[str, dict]:
    """The model's bootstrap p-value per focal role: {role: {"p": p or None, "error": why}}.
    None with its reason when the curve switched the bootstrap off (reps = 0), when the model's
    bootstrap choice is declared excluded, or when the bootstrap failed (never silent).
    With ``parts`` (a dict; count curves with a score null) the score parts of each role's
    restricted fit are kept there too, computed even where the p-value is not asked for;
    where that restricted fit fails, ``"null_error"`` says why (the null curve leaves the
    model out with that reason)."""
    declared = [o.name for o in curve.dimensions.get("inference", ())]
    boot: dict[str, dict] = {}
    for role, term in first.focal_terms:
        seed = spec_seed(curve.seed, f"{first.model_id}|{role}")
        wanted = not (curve.reps == 0
                      or ("bootstrap" in declared and "bootstrap" not in inference))
        null_error = None
        if parts is not None and not wanted:
            try:
                parts[role] = score_parts(fitted.result, term, clusters)
            except Exception as exc:  # noqa: BLE001 - the null leaves the model out, saying why
                null_error = f"no restricted fit for the score null: {_short(exc)}"
        if curve.reps == 0:
            boot[role] = {"p": None, "error": "bootstrap switched off (reps = 0)"}
        elif not wanted:
            boot[role] = {"p": None, "error": BOOT_EXCLUDED}
        else:
            try:
                if parts is not None:
                    boot[role] = _score_bootstrap_p(fitted, term, clusters, curve.reps,
                                                    curve.weights, seed, parts, role)
                else:
                    boot[role] = _bootstrap_p(fitted, term, clusters, curve.reps,
                                              curve.weights, seed)
            except Exception as bexc:  # noqa: BLE001 - listed as a failure, never silent
                boot[role] = {"p": None, "error": _short(bexc)}
        if null_error is not None:
            boot[role]["null_error"] = null_error
    return boot


def _term_record(term: str, specs: list[Spec], fits: dict[str, tuple], fitted, b: dict,
                 unavailable: dict) -> dict:
    """One focal term's row of a model record: the estimate shared by every inference choice,
    each choice's standard error, p-value and interval, the bootstrap p (``b``), and the
    recommended p-value and interval. An inference choice that cannot be computed is entered
    in ``unavailable`` with its reason. Raises if two inference choices disagree on the
    estimate (they must share one fit's estimate)."""
    row = {"term": term, "estimate": None, "std_error": {}, "p_value": {}, "ci": {}}
    for spec in specs:
        inf = spec.inference
        if inf == "bootstrap":
            if b.get("p") is None:
                unavailable[inf] = b.get("error") or "bootstrap p-value missing"
            else:
                row["p_value"][inf] = b["p"]
            continue
        key = "cluster" if inf == "cr2" else inf
        cell, exc = fits[key]
        if cell is None:
            unavailable[inf] = _short(exc)
            continue
        f, cl = cell
        t = _term_row(f, term)
        if inf == "cr2":
            try:
                t.update(_cr2(f, term, cl))
            except Exception as cexc:  # noqa: BLE001 - recorded with its reason
                unavailable[inf] = _short(cexc)
                continue
        if row["estimate"] is None:
            row["estimate"] = t["estimate"]
        elif t["estimate"] is not None and not math.isclose(
                t["estimate"], row["estimate"], rel_tol=1e-9, abs_tol=1e-12):
            raise RegrowthError(f"inference {inf!r} changed the estimate of {term} "
                                f"({t['estimate']!r} vs {row['estimate']!r}): the "
                                "inference choices of one model must share it")
        row["std_error"][inf] = t["std_error"]
        row["p_value"][inf] = t["p_value"]
        row["ci"][inf] = [t["ci_low"], t["ci_high"]]
    if row["estimate"] is None:   # only the bootstrap was asked for
        row["estimate"] = _term_row(fitted, term)["estimate"]
    row["boot_p"] = b.get("p")
    if b.get("error"):
        row["boot_error"] = b["error"]
    if b.get("null_error"):
        row["null_error"] = b["null_error"]
    rec_inf = next((i for i in RECOMMENDED
                    if (row["boot_p"] if i == "bootstrap" else
                        row["p_value"].get(i)) is not None), None)
    row["recommended"] = rec_inf
    row["p_recommended"] = (None if rec_inf is None else
                            row["boot_p"] if rec_inf == "bootstrap" else
                            row["p_value"][rec_inf])
    ci_from = next((i for i in INTERVAL_FROM if i in row["ci"]), None)
    row["ci_from"] = ci_from
    row["ci_low"], row["ci_high"] = row["ci"][ci_from] if ci_from else (None, None)
    return row


def _rss_mb() -> float:
    """Resident set size of this process now, in MB (Linux /proc; 0 elsewhere)."""
    try:
        with open("/proc/self/statm") as fh:
            pages = int(fh.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 1e6
    except (OSError, ValueError, IndexError):
        return 0.0




def run_batch(curve: Curve, groups: list[list[Spec]], panel: pd.DataFrame) -> dict:
    """Fit a batch of model groups. Returns ``{"records": [one model record per group],
    "meta": {...}}``, and for a count curve with a score null ``"parts"``: {model id: {role:
    :class:`~regrowth.curve.count_null.ScoreParts`}} (the restricted fits its bootstrap made,
    for :func:`regrowth.curve.null.null_curve`; never written).

    ``meta`` (pid, seconds, RSS in MB after the batch) is for benchmarks and the log only;
    it never enters the JSON output.
    """
    t0 = time.perf_counter()
    records = []
    keep = wants_parts(curve)
    parts: dict[str, dict] = {}
    with warnings.catch_warnings(), one_blas_thread():
        warnings.simplefilter("ignore")
        for g in groups:
            mine: dict | None = {} if keep else None
            records.append(fit_model_group(curve, g, panel, parts=mine))
            if mine:
                parts[g[0].model_id] = mine
    out = {"records": records, "meta": {"pid": os.getpid(), "seconds": time.perf_counter() - t0,
                                        "rss_mb": _rss_mb(), "n_fits": sum(len(g) for g in groups)}}
    if keep:
        out["parts"] = parts
    return out


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

