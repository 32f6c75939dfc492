"""Tidy coefficient frames and model statistics: the common currency of tables and plots.

Borrowed from pyfixest's habit: every fitted model, whatever produced it, is turned into

* ``tidy(result)`` — one row per parameter, columns
  ``term, equation, estimate, std_error, statistic, p_value, ci_low, ci_high``;
* ``glance(result)`` — a flat ``dict`` of model statistics (plain Python scalars).

Tables (:mod:`regrowth.tables`), figures (:mod:`regrowth.figures`) and the
``estimates.json`` record written by the replication driver only ever see these two
shapes, never an estimator object.

Duck typing, no estimator imports. Supported results:

* statsmodels results (``params``, ``bse``, ``pvalues``, ``tvalues``, ``conf_int()``),
  including ``GenericLikelihoodModel`` results whose ``params`` are bare arrays (names are
  taken from ``result.model.data.param_names`` / ``result.model.exog_names``);
* linearmodels panel results (``params``, ``std_errors``, ``tstats``, ``pvalues``,
  ``conf_int()``);
* regrowth's own estimators (``GeneralizedNegativeBinomial``, ``PanelFGLS``), which follow the
  statsmodels conventions;
* any object with ``params``, ``bse`` (or ``std_errors``) and ``pvalues``; ``conf_int()`` and
  ``tvalues``/``tstats`` are optional (missing confidence limits are NaN; a missing statistic
  is ``estimate / std_error``).

Equations. Multi-equation models name their parameters Stata-style, ``<equation>:<term>``.
Only the prefixes in :data:`EQUATION_PREFIXES` (``lnalpha``, the GNB dispersion equation) are
read as equation names, because ``a:b`` is also how formulas spell an interaction. A model
with a dispersion equation labels its other parameters ``"mean"``; a single-equation model
labels them ``"main"``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from regrowth.models.covariance import InvalidTestStatistic, wald_test

__all__ = [
    "TIDY_COLUMNS",
    "EQUATION_PREFIXES",
    "CONSTANT_NAMES",
    "tidy",
    "glance",
    "split_term",
]

#: Columns of :func:`tidy`'s output, in order.
TIDY_COLUMNS = (
    "term", "equation", "estimate", "std_error", "statistic", "p_value", "ci_low", "ci_high",
)

#: Parameter-name prefixes (before ``":"``) read as the name of an ancillary equation.
EQUATION_PREFIXES = ("lnalpha",)

#: Names treated as the constant term (excluded from the model Wald test, labelled
#: "Constant" in tables, left out of coefficient plots by default).
CONSTANT_NAMES = frozenset({"const", "Intercept", "intercept", "_cons", "constant", "Constant"})


def split_term(name: str, prefixes: tuple[str, ...] = EQUATION_PREFIXES) -> tuple[str | None, str]:
    """Split ``"lnalpha:z"`` into ``("lnalpha", "z")``; other names give ``(None, name)``."""
    name = str(name)
    head, sep, tail = name.partition(":")
    if sep and head in prefixes and tail:
        return head, tail
    return None, name


# --------------------------------------------------------------------------- helpers

def _get(obj: Any, *names: str) -> Any:
    """First attribute in ``names`` that exists and can be computed, else ``None``.

    statsmodels computes many attributes lazily and some raise (or warn) when they do not
    apply to the model; both count as "not available".
    """
    for name in names:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                value = getattr(obj, name)
        except Exception:  # noqa: BLE001 - any failure means "not available"
            continue
        if value is not None:
            return value
    return None


def _param_names(result: Any, params: Any) -> list[str]:
    if isinstance(params, pd.Series):
        return [str(n) for n in params.index]
    k = len(np.asarray(params).ravel())
    model = getattr(result, "model", None)
    for source in (getattr(model, "data", None), model, result):
        for attr in ("param_names", "exog_names"):
            names = _get(source, attr) if source is not None else None
            if names is not None and len(names) == k:
                return [str(n) for n in names]
    return [f"x{i}" for i in range(k)]


def _vector(value: Any, names: list[str], what: str) -> np.ndarray:
    """Align a Series (by name) or array (by position) with ``names`` as float64."""
    if value is None:
        return np.full(len(names), np.nan)
    if isinstance(value, pd.Series) and all(n in value.index for n in names) and \
            len(value.index) == len(names):
        value = value.reindex(names)
    arr = np.asarray(value, dtype=float).ravel()
    if arr.shape[0] != len(names):
        raise ValueError(f"tidy: {what} has {arr.shape[0]} entries but there are "
                         f"{len(names)} parameters")
    return arr


def _conf_int(result: Any, names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    nan = np.full(len(names), np.nan)
    method = getattr(result, "conf_int", None)
    if method is None:
        return nan, nan
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ci = method()  # 95 % by default in statsmodels and linearmodels
    except Exception:  # noqa: BLE001 - e.g. no covariance after a failed Hessian inversion
        return nan, nan
    if isinstance(ci, pd.DataFrame):
        if len(ci.index) == len(names) and all(n in ci.index for n in names):
            ci = ci.reindex(names)
        ci = ci.to_numpy(dtype=float)
    ci = np.asarray(ci, dtype=float)
    if ci.ndim != 2 or ci.shape != (len(names), 2):
        raise ValueError(f"tidy: conf_int() returned shape {ci.shape}, expected ({len(names)}, 2)")
    return ci[:, 0].copy(), ci[:, 1].copy()


# --------------------------------------------------------------------------- tidy

def tidy(result: Any, *, model_name: str | None = None) -> pd.DataFrame:
    """One row per parameter: ``term, equation, estimate, std_error, statistic, p_value,
    ci_low, ci_high`` (95 % confidence limits as the result reports them).

    Parameters
    ----------
    result : a fitted model (see the module docstring for what is accepted).
    model_name : if given, a leading ``model`` column holding this name, so frames of several
        models can be concatenated.

    Returns
    -------
    DataFrame with a fresh ``RangeIndex``, rows in the result's parameter order. ``term`` has
    the equation prefix removed (``"lnalpha:Intercept"`` becomes term ``"Intercept"``, equation
    ``"lnalpha"``).
    """
    params = _get(result, "params")
    if params is None:
        raise TypeError(f"tidy: {type(result).__name__} has no 'params'; pass a fitted result")
    se = _get(result, "bse", "std_errors")
    pvalues = _get(result, "pvalues")
    if se is None or pvalues is None:
        raise TypeError(f"tidy: {type(result).__name__} needs 'bse' (or 'std_errors') and "
                        "'pvalues'")
    names = _param_names(result, params)
    estimate = _vector(params, names, "params")
    std_error = _vector(se, names, "standard errors")
    p_value = _vector(pvalues, names, "pvalues")
    stat = _get(result, "tvalues", "tstats", "zvalues")
    if stat is None:
        with np.errstate(divide="ignore", invalid="ignore"):
            statistic = estimate / std_error
    else:
        statistic = _vector(stat, names, "test statistics")
    ci_low, ci_high = _conf_int(result, names)

    split = [split_term(n) for n in names]
    has_aux = any(eq is not None for eq, _ in split)
    main = "mean" if has_aux else "main"
    frame = pd.DataFrame({
        "term": [t for _, t in split],
        "equation": [eq if eq is not None else main for eq, _ in split],
        "estimate": estimate,
        "std_error": std_error,
        "statistic": statistic,
        "p_value": p_value,
        "ci_low": ci_low,
        "ci_high": ci_high,
    })
    if model_name is not None:
        frame.insert(0, "model", str(model_name))
    return frame


# --------------------------------------------------------------------------- glance

def _finite_float(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def _count(value: Any) -> int | None:
    out = _finite_float(value)
    if out is None or out != round(out):
        return None
    return int(round(out))


def _info_total(info: Any) -> int | None:
    if isinstance(info, (pd.Series, Mapping)) and "total" in info:
        return _count(info["total"])
    return None


def _cov_matrix(result: Any, names: list[str]) -> np.ndarray | None:
    cov = None
    method = getattr(result, "cov_params", None)
    if callable(method):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                cov = method()
        except Exception:  # noqa: BLE001
            cov = None
    if cov is None:
        cov = _get(result, "cov")
    if cov is None:
        return None
    if isinstance(cov, pd.DataFrame):
        if all(n in cov.index for n in names) and len(cov.index) == len(names):
            cov = cov.reindex(index=names, columns=names)
        cov = cov.to_numpy(dtype=float)
    cov = np.asarray(cov, dtype=float)
    if cov.shape != (len(names), len(names)):
        return None
    return cov


def _wald(result: Any) -> dict[str, Any]:
    """Wald chi2 that every mean-equation coefficient except the constant is zero (as Stata
    reports in the header of ``gnbreg``, ``xtgls`` and ``xtreg, re``).

    Taken from the result where it has one, else computed from its covariance by
    :func:`regrowth.models.covariance.wald_test`. A statistic that cannot be computed (a
    clustered covariance with fewer clusters than restrictions has rank at most G - 1; a
    rank that is borderline at the documented tolerance) is recorded as ``wald_invalid``
    with the reason, never as a number.
    """
    own = {k: _get(result, k) for k in ("wald_chi2", "wald_df", "wald_p")}
    test = _get(result, "wald")  # regrowth's PanelFGLS: a WaldTestStatistic (stat, df, pval)
    if own["wald_chi2"] is None and test is not None and not callable(test) \
            and all(hasattr(test, a) for a in ("stat", "df", "pval")):
        if _finite_float(test.stat) is None:  # e.g. linearmodels' InvalidTestStatistic
            reason = getattr(test, "_reason", None) or getattr(test, "reason", None)
            return {"wald_invalid": str(reason)} if reason else {}
        own = {"wald_chi2": test.stat, "wald_df": test.df, "wald_p": test.pval}
    if own["wald_chi2"] is not None:
        out: dict[str, Any] = {}
        if (v := _finite_float(own["wald_chi2"])) is not None:
            out["wald_chi2"] = v
        if (v := _count(own["wald_df"])) is not None:
            out["wald_df"] = v
        if (v := _finite_float(own["wald_p"])) is not None:
            out["wald_p"] = v
        return out
    params = _get(result, "params")
    if params is None:
        return {}
    names = _param_names(result, params)
    idx = [i for i, n in enumerate(names)
           if split_term(n)[0] is None and n not in CONSTANT_NAMES]
    if not idx:
        return {}
    cov = _cov_matrix(result, names)
    if cov is None:
        return {}
    b = np.asarray(_vector(params, names, "params"))[idx]
    v = cov[np.ix_(idx, idx)]
    G = _count(_get(result, "n_clusters"))
    test = wald_test(b, v, n_clusters=G)
    if isinstance(test, InvalidTestStatistic):
        return {"wald_invalid": test._reason}
    return {"wald_chi2": float(test.stat), "wald_df": int(test.df), "wald_p": float(test.pval)}


def glance(result: Any) -> dict[str, Any]:
    """Model statistics as a ``dict`` of plain Python ``int``/``float``/``str``/``bool``.

    Keys, each present only when the result provides it (and it is finite):
    ``nobs``; ``llf`` (``llf`` or linearmodels' ``loglik``); ``aic``; ``bic``;
    ``n_entities`` and ``n_periods`` (linearmodels' ``entity_info``/``time_info`` totals, or
    attributes of those names; ``n_panels`` as PanelFGLS calls it); ``rsquared``,
    ``rsquared_within``, ``rsquared_overall``;
    ``wald_chi2``, ``wald_df``, ``wald_p`` (taken from the result if it has them — attributes of
    those names, or a ``wald`` object with ``stat``/``df``/``pval`` — otherwise the
    Wald test that all coefficients of the mean/main equation except the constant are zero,
    computed from ``params`` and the covariance the result reports); ``cov_type``;
    ``converged`` (``converged`` or statsmodels' ``mle_retvals["converged"]``).

    Keys are always in the order above, so ``json.dumps`` of the dict is deterministic.
    """
    out: dict[str, Any] = {}
    if (v := _count(_get(result, "nobs"))) is not None:
        out["nobs"] = v
    for key, attrs in (("llf", ("llf", "loglik")), ("aic", ("aic",)), ("bic", ("bic",))):
        if (v := _finite_float(_get(result, *attrs))) is not None:
            out[key] = v
    n_ent = _info_total(_get(result, "entity_info"))
    if n_ent is None:
        n_ent = _count(_get(result, "n_entities", "n_panels"))
    if n_ent is not None:
        out["n_entities"] = n_ent
    n_per = _info_total(_get(result, "time_info"))
    if n_per is None:
        n_per = _count(_get(result, "n_periods"))
    if n_per is not None:
        out["n_periods"] = n_per
    for key in ("rsquared", "rsquared_within", "rsquared_overall"):
        if (v := _finite_float(_get(result, key))) is not None:
            out[key] = v
    out.update(_wald(result))
    cov_type = _get(result, "cov_type", "_cov_type")
    if isinstance(cov_type, str) and cov_type:
        out["cov_type"] = cov_type
    converged = _get(result, "converged")
    if converged is None:
        retvals = _get(result, "mle_retvals")
        if isinstance(retvals, Mapping):
            converged = retvals.get("converged")
    if converged is not None and not callable(converged):
        out["converged"] = bool(converged)
    return out
