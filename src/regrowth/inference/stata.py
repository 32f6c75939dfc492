"""Stata-equal cluster-robust standard errors for linearmodels panel results.

:func:`regrowth.models.panel.fit_panel` fits pooled OLS / fixed / random effects with
linearmodels and, for ``cov_type="clustered"`` and ``"kernel"``, wraps the result in
:class:`StataPanelResults`, which reports what Stata reports:

``xtreg, fe|re vce(cluster id)`` / ``regress, vce(cluster id)``
    V = c A (sum_g X_g'u_g u_g'X_g) A on the (within- or quasi-demeaned) regression,
    c = G/(G-1) (N-1)/(N-K); K counts the regressors and the constant (for ``fe`` not
    the absorbed entity effects, which are nested in the clusters; time effects absorbed
    by linearmodels count, as ``xtreg y x i.year, fe`` counts its year dummies; entity
    effects not nested in the clusters count, as ``areg``). p-values and confidence
    intervals from t(G-1).
``xtscc`` (Driscoll-Kraay, ``cov_type="kernel"``)
    linearmodels' covariance; p-values and intervals from t(T-1), T = number of periods.

The wrapper is read-only and forwards every other attribute (``model``, ``nobs``,
``rsquared``, ``entity_info`` ...) to the linearmodels result; ``results`` is that
result. ``params``, ``cov``, ``std_errors``, ``tstats``, ``pvalues`` and ``conf_int()``
are the Stata numbers, so :func:`regrowth.tidy.tidy` and the tables see them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["StataPanelResults", "stata_clustered"]


class StataPanelResults:
    """A linearmodels panel result with Stata's small-sample cluster factor and t(df)
    reference distribution. ``df_ref`` (G-1 or T-1), ``n_clusters``, ``cluster_factor``
    and ``reference`` (e.g. ``"t(15)"``) say which."""

    def __init__(self, results: Any, cov: np.ndarray, df_ref: int, *, factor: float,
                 n_clusters: int | None, label: str):
        names = list(results.params.index)
        object.__setattr__(self, "_inference_wrapped", results)
        object.__setattr__(self, "_cov", pd.DataFrame(cov, index=names, columns=names))
        object.__setattr__(self, "df_ref", int(df_ref))
        object.__setattr__(self, "cluster_factor", float(factor))
        object.__setattr__(self, "n_clusters", n_clusters)
        object.__setattr__(self, "se_label", label)

    # -- the numbers Stata reports
    @property
    def results(self) -> Any:
        """The underlying linearmodels result (linearmodels' own covariance)."""
        return self._inference_wrapped

    @property
    def params(self) -> pd.Series:
        return self._inference_wrapped.params

    @property
    def cov(self) -> pd.DataFrame:
        return self._cov.copy()

    @property
    def std_errors(self) -> pd.Series:
        return pd.Series(np.sqrt(np.diag(self._cov.to_numpy())), index=self._cov.index,
                         name="std_error")

    @property
    def tstats(self) -> pd.Series:
        return (self.params / self.std_errors).rename("tstat")

    @property
    def pvalues(self) -> pd.Series:
        t = self.tstats.to_numpy()
        return pd.Series(2.0 * stats.t.sf(np.abs(t), self.df_ref), index=self._cov.index,
                         name="pvalue")

    @property
    def reference(self) -> str:
        return f"t({self.df_ref})"

    def conf_int(self, level: float = 0.95) -> pd.DataFrame:
        q = stats.t.ppf(0.5 + level / 2.0, self.df_ref)
        se = self.std_errors
        return pd.DataFrame({"lower": self.params - q * se, "upper": self.params + q * se})

    @property
    def summary(self) -> str:
        """Coefficient table with the Stata numbers (a property, as in linearmodels)."""
        ci = self.conf_int()
        frame = pd.DataFrame({"Parameter": self.params, "Std. Err.": self.std_errors,
                              "T-stat": self.tstats, "P-value": self.pvalues,
                              "Lower CI": ci["lower"], "Upper CI": ci["upper"]})
        head = (f"{type(self._inference_wrapped.model).__name__}: {self.se_label}; "
                f"p-values and 95% intervals from {self.reference}\n"
                f"No. observations: {int(self._inference_wrapped.nobs)}\n")
        return head + frame.to_string(float_format=lambda v: f"{v:.6g}")

    def __getattr__(self, name: str) -> Any:
        return getattr(object.__getattribute__(self, "_inference_wrapped"), name)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("StataPanelResults is read-only")

    def __repr__(self) -> str:
        return self.summary


def _codes(values) -> tuple[np.ndarray, int]:
    codes, uniq = pd.factorize(pd.Series(np.asarray(values).ravel()), sort=True)
    return codes, len(uniq)


def stata_clustered(results: Any, clusters: np.ndarray) -> StataPanelResults:
    """Rescale a linearmodels fit made with the plain CR0 sandwich (``debiased=False``,
    ``group_debias=False``, no effects counted) to Stata's clustered covariance."""
    model = results.model
    kind = type(model).__name__
    codes, G = _codes(clusters)
    N = int(results.nobs)
    names = list(results.params.index)
    k_all = len(names)
    const = [n for n in names if n in ("Intercept", "const", "_cons")]
    if kind == "PanelOLS" and getattr(model, "entity_effects", False):
        K = (k_all - len(const)) + 1
        index = model.dependent.index
        y = np.asarray(model.dependent.values2d, dtype=float).ravel()
        x = np.asarray(model.exog.values2d, dtype=float)
        keep = np.isfinite(y) & np.isfinite(x).all(axis=1)
        ent = index.get_level_values(0)[keep]
        ent_codes, n_ent = _codes(ent)
        if len(ent_codes) == len(codes):
            nested = bool(np.all(pd.Series(codes).groupby(ent_codes).nunique() == 1))
        else:
            nested = False
        if not nested:
            K += n_ent - 1
        if getattr(model, "time_effects", False):
            K += int(index.get_level_values(1)[keep].nunique()) - 1
    elif kind == "PanelOLS" and getattr(model, "time_effects", False):
        index = model.dependent.index
        K = k_all + int(index.get_level_values(1).nunique()) - 1
    else:
        K = k_all
    factor = G / (G - 1.0) * (N - 1.0) / (N - K)
    cov = np.asarray(results.cov, dtype=float) * factor
    return StataPanelResults(results, cov, G - 1, factor=factor, n_clusters=G,
                             label=f"Clustered covariance, {G} clusters, Stata's G/(G-1)(N-1)/(N-K) "
                                   f"with K={K}")


def fit_stata(model: Any, kind: str, cov_type: str, cov_kwds: dict) -> StataPanelResults | None:
    """Fit a linearmodels panel ``model`` the way :func:`regrowth.models.panel.fit_panel`
    reports it by default: Stata's clustered covariance and t(G-1) (``"clustered"`` with one
    cluster variable) or linearmodels' Driscoll-Kraay covariance with t(T-1) (``"kernel"``).
    Returns None (the caller fits as linearmodels does) for other covariances, for two-way
    clustering and when ``debiased``/``group_debias`` were given explicitly."""
    if cov_type not in ("clustered", "kernel") or {"debiased", "group_debias"} & set(cov_kwds):
        return None
    y = np.asarray(model.dependent.values2d, dtype=float).ravel()
    x = np.asarray(model.exog.values2d, dtype=float)
    keep = np.isfinite(y) & np.isfinite(x).all(axis=1)
    index = model.dependent.index
    if cov_type == "kernel":
        res = model.fit(cov_type=cov_type, **cov_kwds)
        T = int(index.get_level_values(1)[keep].nunique())
        return StataPanelResults(res, np.asarray(res.cov, dtype=float), T - 1, factor=1.0,
                                 n_clusters=None,
                                 label=f"Driscoll-Kraay (linearmodels), {T} periods")
    n_ways = int(bool(cov_kwds.get("cluster_entity"))) + int(bool(cov_kwds.get("cluster_time")))
    clusters = cov_kwds.get("clusters")
    if clusters is not None:
        arr = clusters.to_numpy() if hasattr(clusters, "to_numpy") else np.asarray(clusters)
        arr = arr.reshape(len(arr), -1)
        if arr.shape[1] != 1:
            return None
        n_ways += 1
        ids = arr[:, 0]
        ids = ids[keep] if len(ids) == len(keep) else ids
    elif cov_kwds.get("cluster_entity"):
        ids = np.asarray(index.get_level_values(0))[keep]
    elif cov_kwds.get("cluster_time"):
        ids = np.asarray(index.get_level_values(1))[keep]
    else:
        return None
    if n_ways != 1:
        return None
    fit_kw = {**cov_kwds, "debiased": False, "group_debias": False}
    if kind == "fe" or type(model).__name__ == "PanelOLS":
        fit_kw.update(auto_df=False, count_effects=False)
    res = model.fit(cov_type=cov_type, **fit_kw)
    return stata_clustered(res, ids)
