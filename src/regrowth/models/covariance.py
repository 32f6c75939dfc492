"""Covariances in one place: Stata's small-sample factors, the cluster meat, the SE types.

Every covariance the package reports is built from the pieces of this module; models ask it,
they do not re-sum scores or retype a factor (the pattern of statsmodels'
``stats/sandwich_covariance.py`` and pyfixest's ``ssc()``).

Small-sample factors (Stata [U] 20.22, [P] _robust)
==================================================  =========================  ======================
estimator and ``vce()``                              meat ``M``                 factor
==================================================  =========================  ======================
ML (``gnbreg``, ``nbreg``, ``poisson``), ``oim``     (none: ``-H^{-1}``)        1
ML, ``robust``                                       sum_i s_i s_i'             N / (N - 1)
ML, ``cluster g``                                    sum_g S_g S_g'             G / (G - 1)
linear (``regress``, ``xtreg``), ``cluster g``       sum_g X_g'u_g u_g'X_g       G/(G-1) (N-1)/(N-K)
==================================================  =========================  ======================

:func:`stata_ml_scale` gives the ML factors, :func:`stata_linear_factor` the linear one;
:func:`cluster_sums` sums rows within clusters (S_g = sum_{i in g} s_i) and
:func:`cluster_meat` forms sum_g S_g S_g'; :func:`sandwich` puts bread and meat together.
For ``xtreg, fe`` K counts the regressors and the constant but not the absorbed entity effects
(nested in the clusters); time effects absorbed by linearmodels count, as ``xtreg y x i.year,
fe`` counts its year dummies.

SE types
========
The spec's ``se.type`` vocabulary is a registry of :class:`SEType` objects (linearmodels'
``CovarianceManager`` pattern): each declares its description (the tables' "Standard errors"
row), whether it needs cluster groups, and the reference distribution of its tests. An
estimator lists the SE types it offers (:mod:`regrowth.models.registry`); a new type is one
:func:`register_se_type` call plus the estimator that computes it.

Stata-scaled linear panel results
=================================
:func:`fit_stata` fits a linearmodels panel model and wraps the result in
:class:`StataPanelResults`, which reports what Stata reports:
``xtreg, fe|re vce(cluster id)`` / ``regress, vce(cluster id)``: V = c A (sum_g X_g'u_g u_g'X_g) A
with c = G/(G-1) (N-1)/(N-K), p-values and intervals from t(G-1); ``xtscc`` (Driscoll-Kraay,
``cov_type="kernel"``): linearmodels' covariance with t(T-1), T the number of periods.

Conley (spatial HAC) covariance of fixed-effects slopes
======================================================
:func:`with_conley` replaces the covariance of a two-way (or one-way) ``PanelOLS`` fit by
:func:`regrowth.spatial.conley_cov` on the within-transformed regressors (the effect dummies
partialled out, Frisch-Waugh-Lovell) and the within residuals: province pairs of the same year
weighted by a Bartlett (or uniform) kernel in the distance between their centroids (km,
EPSG:5179) up to ``cutoff_km``, and the same province's years up to ``lag_cutoff`` apart with
Newey-West weights; no small-sample factor, normal reference (Hsiang 2010). The constant that
linearmodels reports beside absorbed effects has no Conley SE (NaN).

A test that a covariance cannot support (fewer clusters than restrictions, a rank-deficient
covariance) is linearmodels' :class:`~linearmodels.shared.hypotheses.InvalidTestStatistic`
with the reason, never a number: :func:`wald_test` returns one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from linearmodels.shared.hypotheses import InvalidTestStatistic, WaldTestStatistic
from scipy import stats

__all__ = ["SEType", "register_se_type", "se_type", "se_types", "stata_ml_scale",
           "stata_linear_factor", "cluster_codes", "cluster_sums", "cluster_meat", "sandwich",
           "RANK_RTOL", "numerical_rank", "wald_test", "InvalidTestStatistic",
           "StataPanelResults", "stata_clustered", "fit_stata", "ConleyPanelResults",
           "with_conley"]


# ----------------------------------------------------------------------------- SE types

@dataclass(frozen=True)
class SEType:
    """One ``se.type`` of the spec: its name, the description the tables print, whether it
    needs cluster ``groups``, and the reference distribution of its Wald tests (``normal``,
    ``t(G-1)`` for clustered linear models, ``t(T-1)`` for Driscoll-Kraay, ``model``: as the
    estimator reports)."""

    name: str
    description: str
    needs_groups: bool = False
    reference: str = "model"
    stata: str = ""


_SE_TYPES: dict[str, SEType] = {}


def register_se_type(name: str, description: str, *, needs_groups: bool = False,
                     reference: str = "model", stata: str = "") -> SEType:
    """Declare an SE type (``se.type`` value); returns it. A second call replaces the first."""
    entry = SEType(name, description, needs_groups, reference, stata)
    _SE_TYPES[name] = entry
    return entry


register_se_type("oim", "observed information (OIM)", reference="normal", stata="vce(oim)")
register_se_type("robust", "robust (sandwich)", reference="normal", stata="vce(robust)")
register_se_type("cluster", "clustered", needs_groups=True, reference="t(G-1)",
                 stata="vce(cluster id)")
register_se_type("unadjusted", "conventional (model-based)", stata="(default)")
register_se_type("kernel", "Driscoll-Kraay", reference="t(T-1)", stata="xtscc")
register_se_type("conley", "Conley spatial HAC", reference="normal",
                 stata="acreg / ols_spatial_HAC (Hsiang 2010)")


def se_type(name: str) -> SEType:
    """The :class:`SEType` called ``name``; ``KeyError`` if none is registered."""
    return _SE_TYPES[name]


_BUILT_IN = ("oim", "robust", "cluster", "unadjusted", "kernel")


def se_types() -> tuple[str, ...]:
    """Names of every registered SE type: the built-in ones, then the others by name (a stable
    order, whatever order the estimator modules were imported in)."""
    return _BUILT_IN + tuple(sorted(n for n in _SE_TYPES if n not in _BUILT_IN))


# ----------------------------------------------------------------------------- factors

def stata_ml_scale(se_type: str, nobs: int, n_groups: int | None = None) -> float:
    """Stata's factor for an ML covariance of type ``se_type`` (dimensionless).

    ``se_type``: "oim"/"nonrobust" (1), "robust"/"hc1" (N/(N-1)), "hc0" (1, no correction),
    "cluster" (G/(G-1), ``n_groups`` = G >= 2 required).
    """
    key = str(se_type).lower()
    if key in ("oim", "nonrobust", "hc0"):
        return 1.0
    if key in ("robust", "hc1"):
        if nobs < 2:
            raise ValueError("a robust covariance needs at least 2 observations")
        return nobs / (nobs - 1.0)
    if key == "cluster":
        if n_groups is None or n_groups < 2:
            raise ValueError("a cluster covariance needs at least 2 clusters")
        return n_groups / (n_groups - 1.0)
    raise ValueError(f"se_type={se_type!r}: use 'oim', 'robust', 'hc0' or 'cluster'")


def stata_linear_factor(G: int, N: int, K: int) -> float:
    """Stata's factor of the cluster-robust covariance after linear models (``regress``,
    ``xtreg`` ``vce(cluster)``): G/(G-1) (N-1)/(N-K) (dimensionless)."""
    if G < 2:
        raise ValueError("a cluster covariance needs at least 2 clusters")
    return G / (G - 1.0) * (N - 1.0) / (N - K)


# ----------------------------------------------------------------------------- meat

def cluster_codes(values) -> tuple[np.ndarray, int]:
    """Integer codes 0..G-1 of the cluster ids ``values`` (sorted order) and G."""
    codes, uniq = pd.factorize(pd.Series(np.asarray(values).ravel()), sort=True)
    return codes, len(uniq)


def cluster_sums(codes: np.ndarray, G: int, Z: np.ndarray) -> np.ndarray:
    """Sums of the rows of ``Z`` (n x ...) within clusters: a (G, ...) array."""
    out = np.zeros((G,) + Z.shape[1:])
    np.add.at(out, codes, Z)
    return out


def cluster_meat(scores: np.ndarray, groups) -> tuple[np.ndarray, int]:
    """sum_g S_g S_g' of the per-observation ``scores`` (n x k) summed within ``groups``;
    returns the k x k meat and the number of clusters G."""
    codes, G = cluster_codes(groups)
    S = cluster_sums(codes, G, np.asarray(scores, dtype=float))
    return S.T @ S, G


def sandwich(bread: np.ndarray, meat: np.ndarray, factor: float = 1.0) -> np.ndarray:
    """factor * bread @ meat @ bread (bread: the inverse Hessian or (X'X)^{-1})."""
    return factor * (bread @ meat @ bread)


# ----------------------------------------------------------------------------- rank and tests

#: Relative tolerance of every rank decision on a covariance matrix. The decision is made on
#: the correlation matrix D^{-1/2} V D^{-1/2} (so the units of the regressors do not matter):
#: an eigenvalue counts as zero below ``RANK_RTOL``. 1e-10 leaves six orders of magnitude of
#: margin to rounding noise (about 1e-16, which differs between machines and BLAS thread
#: counts) and four to a small but genuine eigenvalue (near-collinear regressors give 1e-6 or
#: more); an eigenvalue within a factor 100 of the tolerance is reported as borderline, never
#: decided silently.
RANK_RTOL = 1e-10


def _correlation(cov: np.ndarray) -> np.ndarray | None:
    V = (np.asarray(cov, dtype=float) + np.asarray(cov, dtype=float).T) / 2.0
    d = np.diag(V)
    if np.any(d <= 0):
        return None
    s = 1.0 / np.sqrt(d)
    return V * s[:, None] * s[None, :]


def numerical_rank(cov: np.ndarray) -> tuple[int, bool]:
    """Rank of the symmetric matrix ``cov`` under :data:`RANK_RTOL` (decided on its
    correlation matrix; a zero or negative variance makes the rank deficient), and whether an
    eigenvalue lies within a factor 100 of the tolerance (borderline)."""
    R = _correlation(cov)
    if R is None:
        d = np.diag(np.asarray(cov, dtype=float))
        return int(np.sum(d > 0)), False
    w = np.linalg.eigvalsh(R)
    borderline = bool(np.any((w > RANK_RTOL / 100.0) & (w < RANK_RTOL * 100.0)))
    return int(np.sum(w > RANK_RTOL)), borderline


def wald_test(params, cov, *, n_clusters: int | None = None,
              null: str = "all coefficients are zero") -> WaldTestStatistic | InvalidTestStatistic:
    """Wald chi2 test that every element of ``params`` is zero under ``cov``.

    Returns linearmodels' :class:`WaldTestStatistic` (chi2 with q = len(params) degrees of
    freedom), or :class:`InvalidTestStatistic` with the reason when the statistic is not
    defined: ``cov`` has rank below q under :data:`RANK_RTOL` (e.g. a clustered covariance
    with G clusters has rank at most G - 1), its rank is borderline, or it holds non-finite
    values.
    """
    b = np.asarray(params, dtype=float).ravel()
    V = np.asarray(cov, dtype=float)
    q = b.size
    if q == 0:
        return InvalidTestStatistic("no coefficient to test", name="Wald")
    if not (np.isfinite(b).all() and np.isfinite(V).all()):
        return InvalidTestStatistic("the covariance or the estimates are not finite", name="Wald")
    rank, borderline = numerical_rank(V)
    if rank < q:
        why = f"the covariance has rank {rank} < {q} restrictions"
        if n_clusters is not None and n_clusters <= q:
            why += f" ({n_clusters} clusters: a clustered covariance has rank at most G - 1)"
        return InvalidTestStatistic(why, name="Wald")
    if borderline:
        return InvalidTestStatistic(
            f"the covariance's rank is borderline (an eigenvalue of its correlation matrix "
            f"within a factor 100 of the rank tolerance {RANK_RTOL:g})", name="Wald")
    stat = float(b @ np.linalg.solve(V, b))
    return WaldTestStatistic(stat, null, q, name="Wald")


# ----------------------------------------------------------------------------- linear panels


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
    return cluster_codes(values)


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
    factor = stata_linear_factor(G, N, K)
    cov = np.asarray(results.cov, dtype=float) * factor
    return StataPanelResults(results, cov, G - 1, factor=factor, n_clusters=G,
                             label=f"Clustered covariance, {G} clusters, Stata's G/(G-1)(N-1)/(N-K) "
                                   f"with K={K}")


def fit_stata(model: Any, kind: str, cov_type: str, cov_kwds: dict) -> StataPanelResults | None:
    """Fit a linearmodels panel ``model`` the way :func:`regrowth.models.linear.fit_panel`
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


# ----------------------------------------------------------------------------- Conley

class ConleyPanelResults(StataPanelResults):
    """A linearmodels fixed-effects result with the Conley covariance (:func:`with_conley`):
    p-values and intervals from the normal distribution (``df_ref`` is None); ``cutoff_km``,
    ``lag_cutoff`` and ``kernel`` say which."""

    def __init__(self, results: Any, cov: np.ndarray, *, cutoff_km: float, lag_cutoff: int,
                 kernel: str):
        label = (f"Conley spatial HAC, {kernel} kernel, {cutoff_km:g} km"
                 + (f", serial lags <= {lag_cutoff}" if lag_cutoff else ""))
        super().__init__(results, cov, 0, factor=1.0, n_clusters=None, label=label)
        object.__setattr__(self, "df_ref", None)
        object.__setattr__(self, "cutoff_km", float(cutoff_km))
        object.__setattr__(self, "lag_cutoff", int(lag_cutoff))
        object.__setattr__(self, "kernel", kernel)

    @property
    def pvalues(self) -> pd.Series:
        return pd.Series(2.0 * stats.norm.sf(np.abs(self.tstats.to_numpy())),
                         index=self._cov.index, name="pvalue")

    @property
    def reference(self) -> str:
        return "normal"

    @property
    def use_t(self) -> bool:
        return False

    def conf_int(self, level: float = 0.95) -> pd.DataFrame:
        q = stats.norm.ppf(0.5 + level / 2.0)
        se = self.std_errors
        return pd.DataFrame({"lower": self.params - q * se, "upper": self.params + q * se})


def with_conley(results: Any, cutoff_km: float, *, kernel: str = "bartlett",
                lag_cutoff: int = 0, coords: pd.DataFrame | None = None) -> ConleyPanelResults:
    """``results`` (a linearmodels ``PanelOLS`` fit with entity and optionally time effects)
    with the Conley covariance of its slopes (see the module docstring).

    ``coords``: province centroids in km (``x_km``, ``y_km``; default
    :func:`regrowth.spatial.centroids_km` of the KOSTAT boundaries). Raises
    :class:`~regrowth.errors.SpecificationError` for a model without entity effects and
    :class:`~regrowth.errors.DataError` (from the boundaries) for a province without one.
    """
    from regrowth import regions, spatial
    from regrowth.errors import SpecificationError

    model = results.model
    if not getattr(model, "entity_effects", False):
        raise SpecificationError("Conley SEs are implemented for fixed-effects models "
                                 "(PanelOLS with entity effects)")
    y = np.asarray(model.dependent.values2d, dtype=float).ravel()
    x = np.asarray(model.exog.values2d, dtype=float)
    names = list(model.exog.vars)
    keep = np.isfinite(y) & np.isfinite(x).all(axis=1)
    index = model.dependent.index[keep]
    entity = np.asarray(index.get_level_values(0))
    period = np.asarray(index.get_level_values(1))
    slopes = [i for i, n in enumerate(names) if n not in ("Intercept", "const", "_cons")]
    dummies = pd.get_dummies(pd.Series(entity)).to_numpy(dtype=float)
    if getattr(model, "time_effects", False):
        dummies = np.column_stack([dummies, pd.get_dummies(pd.Series(period))
                                   .to_numpy(dtype=float)[:, 1:]])

    def within(a):
        beta, *_ = np.linalg.lstsq(dummies, a, rcond=None)
        return a - dummies @ beta

    Xt = within(x[keep][:, slopes])
    b = np.asarray(results.params, dtype=float)[slopes]
    u = within(y[keep]) - Xt @ b
    keys = [regions.normalize(e) for e in entity]
    if coords is None:
        coords = spatial.centroids_km(spatial.read_boundaries(ids=sorted(set(keys))))
    absent = sorted(set(keys) - set(coords.index))
    if absent:
        raise SpecificationError(f"Conley SEs: no centroid for province(s) {absent}")
    xy = coords.loc[keys, ["x_km", "y_km"]].to_numpy()
    sub = spatial.conley_cov(Xt, u, xy, cutoff_km, kernel=kernel, time=period,
                             entity=np.asarray(keys), lag_cutoff=lag_cutoff)
    cov = np.full((len(names), len(names)), np.nan)
    cov[np.ix_(slopes, slopes)] = sub
    return ConleyPanelResults(results, cov, cutoff_km=cutoff_km, lag_cutoff=lag_cutoff,
                              kernel=kernel)
