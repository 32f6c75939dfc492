"""``boottest``: wild cluster and score bootstraps after the package's estimators.

See :mod:`regrowth.inference` for the formulas and the mapping to Stata's ``boottest``.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from regrowth.errors import EstimationError, SpecificationError
from regrowth.inference._engine import (
    LinearWild,
    ScoreWild,
    cluster_sums,
    invert,
    invert_smooth,
    own_draws,
    pvalue,
)
from regrowth.inference.weights import WEIGHTS, draw_weights
from regrowth.models.covariance import stata_linear_factor as stata_factor
from regrowth.models.covariance import stata_ml_scale
from regrowth.models.fgls import PanelFGLS
from regrowth.models._optim import newton
from regrowth.models.count import poisson_derivs
from regrowth.models.gnb import GeneralizedNegativeBinomial
from statsmodels.genmod import families
from statsmodels.genmod.generalized_linear_model import GLM

__all__ = ["PTYPES", "BoottestResult", "boottest"]

PTYPES = ("symmetric", "equaltail", "lower", "upper")


# --------------------------------------------------------------------------- result

@dataclass(frozen=True)
class BoottestResult:
    """Result of :func:`boottest` (Stata ``boottest``'s ``r()`` values).

    statistic : the test statistic from the data (t after linear models; the score/z-type
        statistic at the restricted estimate after ML, as Stata's score bootstrap reports).
    pvalue : bootstrap p-value of H0: ``param`` = ``null`` (``ptype``).
    conf_int : (low, high), the set of null values not rejected at ``1 - level``, found by
        test inversion; ``(nan, nan)`` when not computed, and then ``ci_note`` says why
        (``ci=False``, ``reestimate=True``, or an inversion that found no bounds); infinite
        ends are possible with very few clusters.
    reps : number of bootstrap draws used (2^G when ``enumerated``).
    enumerated : True if all 2^G Rademacher sign vectors were used (exact, seed irrelevant).
    method : e.g. ``"wild cluster bootstrap, null imposed (WCR)"``.
    weights, seed, level, ptype, param, null, estimate : as requested / found.
    n_clusters : G. ``cluster_factor`` : the CRVE small-sample factor used in the statistic.
    """
    param: str
    estimate: float
    null: float
    statistic: float
    pvalue: float
    conf_int: tuple[float, float]
    reps: int
    enumerated: bool
    method: str
    weights: str
    seed: int | None
    level: float
    ptype: str
    n_clusters: int
    cluster_factor: float
    impose_null: bool
    seconds: float = field(default=float("nan"), compare=False)
    notes: tuple[str, ...] = ()
    ci_note: str = ""   # why conf_int is (nan, nan), when it is

    def __post_init__(self):
        lo, hi = self.conf_int
        if math.isnan(lo) and math.isnan(hi) and not self.ci_note:
            object.__setattr__(self, "ci_note", _NO_CI["failed"])
            return
        # The inversion searches outward from the estimate, so it finds the interval of
        # non-rejected values around it. If the p-value at the tested null contradicts that
        # interval (not rejected but outside it, or rejected but inside), the p-value function
        # is not monotone and the set is not an interval: say so rather than print a set the
        # test itself disagrees with. Margins keep rounding from deciding: the p-value must be
        # NONCONVEX_P_MARGIN from the level and the null away from both ends.
        alpha = 1.0 - self.level
        if not (math.isfinite(self.pvalue) and abs(self.pvalue - alpha) > NONCONVEX_P_MARGIN):
            return
        scale = NONCONVEX_X_MARGIN * max(1.0, abs(self.estimate), abs(self.null))
        outside = self.null < lo - scale or self.null > hi + scale
        inside = lo + scale < self.null < hi - scale
        if (self.pvalue > alpha and outside) or (self.pvalue < alpha and inside):
            object.__setattr__(self, "ci_note", _NO_CI["nonconvex"].format(
                param=self.param, null=self.null, p=self.pvalue, lo=lo, hi=hi,
                level=100 * self.level))
            object.__setattr__(self, "conf_int", (math.nan, math.nan))

    def to_dict(self) -> dict:
        """Plain-Python record (JSON-ready) for ``estimates.json``."""
        lo, hi = self.conf_int
        return {"param": self.param, "estimate": self.estimate, "null": self.null,
                "statistic": self.statistic, "pvalue": self.pvalue,
                "ci_low": lo, "ci_high": hi, "level": self.level, "reps": self.reps,
                "enumerated": self.enumerated, "method": self.method,
                "weights": self.weights, "seed": self.seed, "ptype": self.ptype,
                "impose_null": self.impose_null, "n_clusters": self.n_clusters,
                **({"ci_note": self.ci_note} if self.ci_note else {})}

    def summary(self) -> str:
        lo, hi = self.conf_int
        draws = (f"{self.reps} draws (all 2^{self.n_clusters} sign vectors enumerated)"
                 if self.enumerated else
                 f"{self.reps} draws, {self.weights} weights, seed {self.seed}")
        lines = [
            f"{self.method}",
            f"  H0: {self.param} = {self.null:g}    (estimate {self.estimate:.6g})",
            f"  {self.n_clusters} clusters; {draws}",
            f"  statistic = {self.statistic:.4f}",
            f"  p-value ({self.ptype}) = {self.pvalue:.4f}",
        ]
        if not (math.isnan(lo) and math.isnan(hi)):
            lines.append(f"  {100 * self.level:g}% confidence set (test inversion): "
                         f"[{lo:.6g}, {hi:.6g}]")
        else:
            lines.append(f"  {100 * self.level:g}% confidence set: {self.ci_note}")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    def __repr__(self) -> str:
        lo, hi = self.conf_int
        conf = (f"({lo:.6g}, {hi:.6g})" if not (math.isnan(lo) and math.isnan(hi))
                else f"None ({self.ci_note})")
        return (f"BoottestResult(param={self.param!r}, statistic={self.statistic:.4f}, "
                f"pvalue={self.pvalue:.4f}, conf_int={conf}, reps={self.reps}, "
                f"enumerated={self.enumerated}, weights={self.weights!r}, seed={self.seed})")

    def __str__(self) -> str:
        return self.summary()


#: why a result has no confidence set (``BoottestResult.ci_note``)
_NO_CI = {
    "ci": "not computed (ci=False, Stata's noci)",
    "reestimate": ("not computed: with Omega and rho re-estimated in every draw "
                   "(reestimate=True) each trial value of the test inversion would refit FGLS "
                   "reps times, so the p-value is reported alone; reestimate=False holds "
                   "Omega and rho at their estimates and gives the confidence set"),
    "failed": ("the test inversion found no bounds: the bootstrap p-value is not a number "
               "near the estimate (its standard error is zero or undefined)"),
    "nonconvex": ("not an interval: H0 {param} = {null:g} has bootstrap p = {p:.3f}, which "
                  "disagrees with the interval [{lo:.4g}, {hi:.4g}] the inversion found around "
                  "the estimate, so the p-value function is not monotone and the {level:g}% set "
                  "of non-rejected values is not one interval"),
}

#: margins of the check that a confidence set agrees with the test at the null
#: (BoottestResult.__post_init__): the p-value must differ from 1 - level by more than this ...
NONCONVEX_P_MARGIN = 0.005
#: ... and the null lie further than this (relative to max(1, |estimate|, |null|)) from an end
NONCONVEX_X_MARGIN = 1e-6


# --------------------------------------------------------------------------- clusters

def _cluster_codes(clusters: Any, n: int, what: str) -> tuple[np.ndarray, int]:
    arr = clusters.to_numpy() if isinstance(clusters, (pd.Series, pd.Index)) else clusters
    if isinstance(arr, pd.DataFrame):
        if arr.shape[1] != 1:
            raise SpecificationError("boottest: clusters must be one variable (multi-way "
                                     "clustering is not implemented)")
        arr = arr.iloc[:, 0].to_numpy()
    arr = np.asarray(arr).reshape(-1) if not isinstance(arr, pd.Categorical) else arr
    if len(arr) != n:
        raise SpecificationError(f"boottest: clusters has {len(arr)} values but {what} "
                                 f"has {n} observations in its estimation sample")
    codes, uniq = pd.factorize(pd.Series(arr), sort=True)
    if (codes < 0).any():
        raise SpecificationError("boottest: clusters has missing values in the estimation "
                                 "sample")
    G = len(uniq)
    if G < 2:
        raise SpecificationError(f"boottest: {G} cluster: the cluster-robust statistic needs "
                                 "at least 2 clusters (give clusters= with more groups)")
    return codes.astype(np.intp), G


def _resolve_clusters(clusters: Any, n: int, index: pd.MultiIndex | None,
                      default: Any, what: str) -> tuple[np.ndarray, int]:
    if clusters is None:
        if default is None:
            raise SpecificationError(f"boottest: {what} carries no cluster variable; pass "
                                     "clusters= (one id per observation of the estimation "
                                     "sample, or an index level name)")
        clusters = default
    elif isinstance(clusters, str):
        if index is not None and clusters in index.names:
            clusters = index.get_level_values(clusters)
        else:
            names = list(index.names) if index is not None else []
            raise SpecificationError(f"boottest: clusters={clusters!r} is not an index level "
                                     f"of the estimation sample ({names}); pass the cluster "
                                     "ids themselves")
    return _cluster_codes(clusters, n, what)


def _param_index(names: list[str], param: str, what: str) -> int:
    if param not in names:
        raise SpecificationError(f"boottest: parameter {param!r} is not in the {what} "
                                 f"(its parameters: {names})")
    return names.index(param)


# --------------------------------------------------------------------------- designs

@dataclass
class _Design:
    """A linear regression whose OLS coefficients are the model's: y, X, names, clusters,
    the K of the small-sample factor, and how it was obtained."""
    X: np.ndarray
    y: np.ndarray
    names: list[str]
    codes: np.ndarray
    G: int
    K: int
    kind: str
    note: str = ""


def _is_constant(col: np.ndarray) -> bool:
    return bool(np.all(col == col[0]))


def _check_params(beta: np.ndarray, names: list[str], params: pd.Series, what: str) -> None:
    ref = params.reindex(names).to_numpy(dtype=float)
    scale = np.maximum(np.abs(ref), 1.0)
    if not np.all(np.abs(beta - ref) <= 1e-6 * scale):
        raise EstimationError(f"boottest: could not rebuild the {what} regression (its "
                              "coefficients differ from the fitted model's); please report")


def _linearmodels_design(results: Any, clusters: Any) -> _Design:
    model = results.model
    kind = type(model).__name__
    y_all = np.asarray(model.dependent.values2d, dtype=float).ravel()
    X_all = np.asarray(model.exog.values2d, dtype=float)
    names = [str(v) for v in model.exog.vars]
    w = np.asarray(model.weights.values2d, dtype=float).ravel()
    if not np.allclose(w, 1.0):
        raise SpecificationError("boottest: weighted linearmodels fits are not supported")
    keep = np.isfinite(y_all) & np.isfinite(X_all).all(axis=1)
    y, X = y_all[keep], X_all[keep]
    index = model.dependent.index[keep]
    entity = index.get_level_values(0)
    ent_codes, ents = pd.factorize(entity, sort=True)
    n = len(y)
    codes, G = _resolve_clusters(clusters, n, index, entity, f"the {kind} model")
    params = results.params

    if kind == "PooledOLS":
        design = _Design(X, y, names, codes, G, X.shape[1], "pooled OLS")
    elif kind == "RandomEffects":
        theta = results.theta
        th = theta.iloc[:, 0] if isinstance(theta, pd.DataFrame) else theta
        if isinstance(th.index, pd.MultiIndex):
            th_obs = th.reindex(index).to_numpy(dtype=float)
        else:
            th_obs = th.reindex(ents).to_numpy(dtype=float)[ent_codes]
        n_e = len(ents)
        cnt = np.bincount(ent_codes, minlength=n_e).astype(float)
        ybar = np.bincount(ent_codes, weights=y, minlength=n_e) / cnt
        Xbar = cluster_sums(ent_codes, n_e, X) / cnt[:, None]
        yt = y - th_obs * ybar[ent_codes]
        Xt = X - th_obs[:, None] * Xbar[ent_codes]
        design = _Design(Xt, yt, names, codes, G, X.shape[1],
                         "random effects (quasi-demeaned GLS regression, theta held fixed)")
    elif kind == "PanelOLS":
        if getattr(model, "other_effects", False):
            raise SpecificationError("boottest: PanelOLS with other_effects is not supported")
        const = [i for i in range(X.shape[1]) if _is_constant(X[:, i])]
        keepcols = [i for i in range(X.shape[1]) if i not in const]
        Xs, snames = X[:, keepcols], [names[i] for i in keepcols]
        extra = []
        if getattr(model, "time_effects", False):
            t_codes, _ = pd.factorize(index.get_level_values(1), sort=True)
            T = t_codes.max() + 1
            D = np.zeros((n, T - 1))
            rows = t_codes > 0
            D[np.flatnonzero(rows), t_codes[rows] - 1] = 1.0
            extra.append(D)
        if getattr(model, "entity_effects", False):
            nested = bool(np.all(pd.Series(codes).groupby(ent_codes).nunique() == 1))
            Xf = np.column_stack([Xs] + extra) if extra else Xs
            if nested:
                n_e = len(ents)
                cnt = np.bincount(ent_codes, minlength=n_e).astype(float)
                yd = y - (np.bincount(ent_codes, weights=y, minlength=n_e) / cnt)[ent_codes]
                Xd = Xf - (cluster_sums(ent_codes, n_e, Xf) / cnt[:, None])[ent_codes]
                # Stata xtreg, fe: K counts the regressors and the constant, not the effects
                design = _Design(Xd, yd, snames, codes, G, Xf.shape[1] + 1,
                                 "fixed effects (within transformation; entities nested "
                                 "in clusters)")
            else:
                Ddum = np.zeros((n, len(ents) - 1))
                rows = ent_codes > 0
                Ddum[np.flatnonzero(rows), ent_codes[rows] - 1] = 1.0
                Xf = np.column_stack([Xf, Ddum, np.ones(n)])
                design = _Design(Xf, y, snames, codes, G, Xf.shape[1],
                                 "fixed effects (entity dummies: entities not nested in "
                                 "clusters)")
        else:
            Xf = np.column_stack([Xs] + extra + [np.ones(n)]) if extra else X
            nm = snames if extra else names
            design = _Design(Xf, y, nm, codes, G, Xf.shape[1], "panel OLS")
    else:
        raise SpecificationError(f"boottest: linearmodels {kind} results are not supported")

    k = len(design.names)
    beta = np.linalg.lstsq(design.X, design.y, rcond=None)[0][:k]
    _check_params(beta, design.names, params, design.kind)
    return design


def _fgls_design(results: Any, clusters: Any) -> _Design:
    """Whitened (Prais-Winsten, then divided by sigma_i) data of an xtgls fit; OLS on it
    gives the FGLS coefficients with Omega held at its estimate."""
    model = results.model
    if model.panels == "correlated":
        raise SpecificationError("boottest after FGLS with panels='correlated' is not "
                                 "implemented: whitening mixes panels within a period, so "
                                 "clusters by panel are not defined on the whitened data")
    g0, t0, tv = model._g, model._t, model._time_values
    keep = model._check_panels(g0, t0, tv) if model.corr != "independent" else \
        np.ones(len(g0), dtype=bool)
    y, x, g, ys, xs = model._transformed_at(results.rho, keep)
    index = model._index[keep]
    entities = model._entities
    pv = getattr(results, "panel_variances", None)
    if pv is None:
        sig = results.sigma
        pv = pd.Series(np.diag(np.asarray(sig, dtype=float)), index=sig.index)
    s2 = pv.reindex(entities[g]).to_numpy(dtype=float)
    w = 1.0 / np.sqrt(s2)
    Xw, yw = xs * w[:, None], ys * w
    codes, G = _resolve_clusters(clusters, len(y), index, entities[g], "the FGLS model")
    names = list(model.exog_names)
    design = _Design(Xw, yw, names, codes, G, x.shape[1],
                     "FGLS (GLS-transformed regression, Omega and rho held at their estimates)")
    beta = np.linalg.lstsq(Xw, yw, rcond=None)[0]
    _check_params(beta, names, pd.Series(np.asarray(results.params), index=names), "FGLS")
    design.note = "Omega and rho held fixed at the FGLS estimates"
    design._fgls = (model, keep, y, x, index)  # type: ignore[attr-defined]
    return design


def _statsmodels_ols_design(results: Any, clusters: Any) -> _Design:
    model = results.model
    X = np.asarray(model.exog, dtype=float)
    y = np.asarray(model.endog, dtype=float).ravel()
    names = [str(v) for v in model.exog_names]
    default = None
    kw = getattr(results, "cov_kwds", None) or {}
    if isinstance(kw, dict) and kw.get("groups") is not None:
        default = kw["groups"]
    codes, G = _resolve_clusters(clusters, len(y), None, default, "the OLS model")
    return _Design(X, y, names, codes, G, X.shape[1], "OLS")


# --------------------------------------------------------------------------- ML models

def _fit_clusters(results: Any, model: Any) -> tuple[Any, str | None]:
    """The cluster ids a count model's fit used, as Stata's ``boottest`` takes them from the
    estimation command's ``vce(cluster ...)``: first the groups of a clustered covariance,
    ``fit(cov_type="cluster", cov_kwds={"groups": ids})`` (statsmodels and
    :class:`~regrowth.models.GeneralizedNegativeBinomial` results both keep them, aligned
    with the estimation sample, in ``results.cov_kwds["groups"]``); else the ``groups=`` given
    to a GNB model; else None. Returns (ids, where they came from)."""
    kw = getattr(results, "cov_kwds", None)
    if isinstance(kw, dict) and kw.get("groups") is not None:
        return kw["groups"], "the clustered fit (cov_kwds['groups'])"
    groups = getattr(model, "groups", None)
    if groups is not None:
        return groups, "the model's groups"
    return None, None


class _MLProblem:
    """A count model, its restricted refits (parameter j fixed at r) and scores."""
    def __init__(self, results: Any, param: str, clusters: Any):
        self.results = results
        model = results.model
        self.model = model
        self.is_gnb = isinstance(model, GeneralizedNegativeBinomial)
        params = results.params
        if self.is_gnb:
            names = list(model.exog_names) + list(getattr(model, "exog_names_extra", []) or [])
            names = list(results.model.data.param_names) if hasattr(model, "data") else names
            self.k_mean = model.k_mean
            self.y = model._y
            self.X = np.asarray(model._X)
            self.offset = np.asarray(model.offset, dtype=float)
        else:
            names = [str(v) for v in model.exog_names]
            self.k_mean = len(names)
            self.y = np.asarray(model.endog, dtype=float)
            self.X = np.asarray(model.exog, dtype=float)
            off = np.zeros(len(self.y))
            if getattr(model, "offset", None) is not None:
                off = off + np.asarray(model.offset, dtype=float)
            if getattr(model, "exposure", None) is not None:
                off = off + np.asarray(model.exposure, dtype=float)  # statsmodels keeps log
            self.offset = off
        default, self.cluster_source = _fit_clusters(results, model)
        self.names = [str(v) for v in names]
        self.j = _param_index(self.names, param, "model")
        if self.j >= self.k_mean:
            raise SpecificationError(f"boottest: {param!r} is a dispersion-equation parameter; "
                                     "the score bootstrap here tests mean-equation "
                                     "coefficients")
        self.theta_hat = np.asarray(params, dtype=float)
        if clusters is not None:
            self.cluster_source = "clusters= given to boottest"
        self.codes, self.G = _resolve_clusters(clusters, len(self.y), None, default,
                                               "the count model")
        self._start: dict[float, np.ndarray] = {}
        self._rmodel = None

    def restricted(self, r: float) -> np.ndarray:
        """Full parameter vector maximising the likelihood subject to theta_j = r.

        One restricted model (x_j dropped) is built once; each r only moves r x_j into its
        offset, and the fit starts where the restricted estimates already found point
        (:meth:`_start_for`). A null value fitted before is not fitted again (the inversion
        starts each side's search at the estimate)."""
        if r in self._start:
            return self._start[r].copy()
        j = self.j
        if self._rmodel is None:
            others = [i for i in range(self.X.shape[1]) if i != j]
            Xr = self.X[:, others]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if self.is_gnb:
                    self._rmodel = GeneralizedNegativeBinomial(self.y, Xr, self.model.exog_disp,
                                                               offset=self.offset.copy())
                else:
                    self._rmodel = Xr  # Poisson: the design; each r moves its offset
        m = self._rmodel
        off = self.offset + r * self.X[:, j]
        if self.is_gnb:
            m.offset = off
        start = np.delete(self._start_for(r), j)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if self.is_gnb:
                res = m.fit(start_params=start)
                if not res.converged:
                    res = m.fit()
                ok = bool(res.converged)
            else:
                res, ok = _poisson_restricted(self.y, m, off, start)
        if not ok:
            raise EstimationError(f"boottest: the restricted model with {self.names[j]} = "
                                  f"{r:g} did not converge")
        full = np.insert(np.asarray(res.params, dtype=float), j, r)
        self._start[r] = full
        return full

    def _start_for(self, r: float) -> np.ndarray:
        """Starting values of the restricted fit at ``r``: the unrestricted estimate first;
        then the line through the restricted estimates at the two nearest null values,
        evaluated at ``r`` (the estimates move smoothly with r, so the secant start leaves
        Newton 1-3 steps instead of 3-10: Tables 1 and 7's bootstrap lines 2.1 s -> 1.2 s), or the
        one restricted estimate while there is only one."""
        if not self._start:
            return self.theta_hat.copy()
        a, b = (sorted(self._start, key=lambda s: abs(s - r)) + [None])[:2]
        if b is None:
            return self._start[a]
        return self._start[a] + (r - a) * (self._start[a] - self._start[b]) / (a - b)

    def cluster_hessians(self, theta: np.ndarray) -> np.ndarray:
        """(G, p, p): the Hessian of the log likelihood summed within each cluster."""
        G, k = self.G, self.k_mean
        X = self.X
        if self.is_gnb:
            _, d = self.model._core(theta, 2)
            Z = np.asarray(self.model.exog_disp)
            p = k + Z.shape[1]
            out = np.zeros((G, p, p))
            out[:, :k, :k] = cluster_sums(self.codes, G, X[:, :, None] * X[:, None, :]
                                          * d["h_ee"][:, None, None])
            cross = cluster_sums(self.codes, G, X[:, :, None] * Z[:, None, :]
                                 * d["h_et"][:, None, None])
            out[:, :k, k:] = cross
            out[:, k:, :k] = np.transpose(cross, (0, 2, 1))
            out[:, k:, k:] = cluster_sums(self.codes, G, Z[:, :, None] * Z[:, None, :]
                                          * d["h_tt"][:, None, None])
            return out
        mu = np.exp(X @ theta + self.offset)  # Poisson: H_i = -mu_i x_i x_i'
        return -cluster_sums(self.codes, G, X[:, :, None] * X[:, None, :] * mu[:, None, None])

    def score_boot(self, r: float, c: float, variance: str = "fixed") -> ScoreWild:
        theta = self.restricted(r)
        S = np.asarray(self.model.score_obs(theta), dtype=float)
        H = np.asarray(self.model.hessian(theta), dtype=float)
        Hg = self.cluster_hessians(theta) if variance == "onestep" else None
        return ScoreWild(S, H, self.codes, self.G, self.j, c, Hg, variance)


def _poisson_restricted(y: np.ndarray, X: np.ndarray, offset: np.ndarray, start: np.ndarray):
    """The Poisson fit of ``y`` on ``X`` with ``offset`` (a restricted model of the score
    bootstrap): ``(result with .params, converged)``.

    The package's maximiser (:func:`regrowth.models._optim.newton`, converged when the scaled
    Newton decrement is below 1e-12) on the Poisson derivatives the randomization refits use
    (:func:`regrowth.models.count.poisson_derivs`), from ``start``
    (:meth:`_MLProblem._start_for`); failing that, from the IRLS estimate at statsmodels' own
    start. IRLS is not the judge of convergence: its rule (successive deviances within an
    absolute 1e-13) cannot be met where the deviance is in the thousands and rounding moves
    it by more than that, so on Table 7's 49 macro-region rows it ran 300 iterations and
    called fits failed that Newton finishes in 2-5 steps (gradient 1e-8, the same estimate
    to 1e-13), and the confidence-set search counted those null values as rejected."""
    derivs = poisson_derivs(X, y, offset, 0.0)  # ln(y!) left out: a constant
    res = newton(derivs, start)
    if res.info["converged"]:
        return res, True
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            cold = GLM(y, X, family=families.Poisson(), offset=offset).fit(maxiter=100)
    except (np.linalg.LinAlgError, ValueError, FloatingPointError):
        return res, False
    res = newton(derivs, np.asarray(cold.params, dtype=float))
    ok = bool(res.info["converged"]) and bool(np.all(np.isfinite(res.params)))
    return res, ok


# --------------------------------------------------------------------------- dispatch

def _family(results: Any) -> str:
    model = getattr(results, "model", None)
    mod = type(model).__module__
    name = type(model).__name__
    if name == "PanelFGLS":
        return "fgls"
    if mod.startswith("linearmodels"):
        return "linearmodels"
    if name in ("GeneralizedNegativeBinomial", "Poisson"):
        return "ml"
    if name == "OLS" and mod.startswith("statsmodels"):
        return "ols"
    raise SpecificationError(f"boottest: results of {name} are not supported (linearmodels "
                             "PooledOLS/PanelOLS/RandomEffects, statsmodels OLS/Poisson, "
                             "regrowth GeneralizedNegativeBinomial and PanelFGLS are)")


def _unwrap(results: Any) -> Any:
    """Results wrapped by :mod:`regrowth.models.covariance` (Stata-scaled) expose ``.results``;
    results of :mod:`regrowth.models.iv` give the model to bootstrap by
    ``refit_for_bootstrap()``."""
    refit = getattr(results, "refit_for_bootstrap", None)
    if callable(refit):
        results = refit()
    inner = getattr(results, "_inference_wrapped", None)
    return inner if inner is not None else results


def boottest(results: Any, param: str, *, clusters: Any = None, reps: int = 9999,
             weights: str = "rademacher", impose_null: bool = True, seed: int | None = None,
             level: float = 0.95, ptype: str = "symmetric", null: float = 0.0,
             ci: bool = True, reestimate: bool = False, ptol: float = 1e-6,
             score_variance: str = "onestep") -> BoottestResult:
    """Bootstrap test of H0: ``param`` = ``null`` with few clusters (Stata ``boottest``).

    Parameters
    ----------
    results : a fitted model — linearmodels ``PooledOLS``/``PanelOLS`` (one- or two-way
        fixed effects)/``RandomEffects`` results (as :func:`regrowth.models.linear.fit_panel`
        returns them), statsmodels ``OLS`` or ``Poisson`` results, regrowth
        ``GeneralizedNegativeBinomial`` (GNB or NB2) or ``PanelFGLS`` results.
    param : the coefficient's name, as in ``results.params``.
    clusters : cluster ids, one per observation of the estimation sample (strings,
        categoricals or integers), or the name of an index level; default: the model's own,
        as Stata's ``boottest`` takes them from the estimation command (the entity for panel
        models; for count models the groups of a clustered fit, ``fit(cov_type="cluster",
        cov_kwds={"groups": ids})``, else the ``groups=`` given to a GNB model). The
        result's notes say where the clusters came from.
    reps : bootstrap draws (Stata ``reps()``); with Rademacher weights and 2^G <= reps all
        2^G sign vectors are used instead (``enumerated=True``).
    weights : "rademacher" (default, as Stata), "webb", "mammen" or "normal".
    impose_null : True (default) for the restricted bootstrap (WCR; score bootstrap from the
        restricted ML fit); False for the unrestricted wild bootstrap (WCU; Stata ``nonull``;
        linear models only).
    seed : seed of ``numpy.random.default_rng``; recorded in the result.
    level : confidence level of the test-inversion confidence set (Stata ``level()``).
    ptype : "symmetric" (default; P(|t*| > |t|)), "equaltail" (2 min(P(t* < t),
        P(t* > t))), "lower" or "upper".
    null : the hypothesised value r (default 0).
    ci : compute the confidence set (Stata ``noci`` is ``ci=False``).
    reestimate : FGLS only: re-estimate Omega and rho in every draw (O(n) per draw; no
        confidence set) instead of holding them at their estimates.
    ptol : precision of the confidence bounds, in units of the coefficient's CRVE standard
        error (Stata ``ptolerance()``, default 1e-6).
    score_variance : after ML only. "onestep" (default): each draw's variance is
        re-linearised at its one-step estimate and the statistic is the same function of
        the data (v = 1), which makes the score bootstrap the analogue of the WCR
        (identical to it in a linear model); "fixed": Kline & Santos' original, the
        variance from the perturbed restricted scores alone and the cluster-robust score
        (Rao) statistic (what Stata's ``boottest`` does after ML). At the innovation
        model's design with a province random effect the "fixed" version over-rejects
        (about 11% at 5%); see benchmarks/montecarlo_inference.py for both.

    Returns
    -------
    :class:`BoottestResult`.
    """
    t0 = time.perf_counter()
    weights = _check_options(weights, ptype, reps, level)
    reps = int(reps)
    null = float(null)
    results = _unwrap(results)
    family = _family(results)
    rng = np.random.default_rng(seed)
    if family == "ml":
        if score_variance not in ("fixed", "onestep"):
            raise SpecificationError(f"boottest: score_variance={score_variance!r}; use "
                                     "'fixed' or 'onestep'")
        return _boottest_ml(results, param, clusters, reps, weights, impose_null, seed, rng,
                            level, ptype, null, ci, ptol, t0, score_variance)
    if reestimate and family != "fgls":
        raise SpecificationError("boottest: reestimate=True applies to FGLS results only")
    design = {"linearmodels": _linearmodels_design, "fgls": _fgls_design}.get(
        family, _statsmodels_ols_design)(results, clusters)
    return _boottest_linear(results, design, param, reps, weights, impose_null, seed, rng,
                            level, ptype, null, ci, ptol, t0, reestimate)


def _check_options(weights, ptype, reps, level) -> str:
    """The weights' name (lower case); every option checked as Stata's boottest checks it."""
    weights = str(weights).lower()
    if weights not in WEIGHTS:
        raise SpecificationError(f"boottest: weights={weights!r}; choose one of {WEIGHTS}")
    if ptype not in PTYPES:
        raise SpecificationError(f"boottest: ptype={ptype!r}; choose one of {PTYPES}")
    if int(reps) < 1:
        raise SpecificationError("boottest: reps must be a positive integer")
    if not 0.0 < level < 1.0:
        raise SpecificationError("boottest: level must be between 0 and 1 (e.g. 0.95)")
    return weights


def _boottest_linear(results, design, param, reps, weights, impose_null, seed, rng, level,
                     ptype, null, ci, ptol, t0, reestimate) -> BoottestResult:
    """The wild cluster bootstrap (WCR/WCU) on a linear design (see the package docstring)."""
    j = _param_index(design.names, param, f"{design.kind} model")
    c = stata_factor(design.G, len(design.y), design.K)
    V, enumerated = draw_weights(weights, design.G, reps, rng)
    notes = [design.note] if design.note else []
    if enumerated:
        notes.append(f"2^{design.G} = {V.shape[1]} <= reps: all Rademacher sign vectors "
                     "enumerated")
    if reestimate:   # design.note says Omega and rho are held fixed: not so here
        notes = [n for n in notes if n != design.note]
        stat, pv = _fgls_reestimate(results, design, j, c, V, impose_null, null, ptype)
        est = float(np.asarray(results.params, dtype=float)[j])
        return BoottestResult(
            param, est, null, stat, pv, (math.nan, math.nan), V.shape[1], enumerated,
            f"wild cluster bootstrap of FGLS, Omega and rho re-estimated in each draw "
            f"({'WCR' if impose_null else 'WCU'})", weights, seed, level, ptype, design.G, c,
            impose_null, time.perf_counter() - t0, tuple(notes), _NO_CI["reestimate"])
    core = LinearWild.build(design.X, design.y, design.codes, design.G, j, c, impose_null)
    draws = core.prepare(V)

    def pfun(r: float) -> float:
        return pvalue(core.t(r), draws.tstar(r), ptype)

    stat = core.t(null)
    pv = pfun(null)
    conf = (math.nan, math.nan)
    if ci:
        conf = invert(pfun, float(core.beta[j]), core.se, 1.0 - level, ptol=ptol)
        if ptype in ("lower", "upper"):
            notes.append("one-sided p-value; the confidence set inverts that one-sided test")
    kind = "WCR" if impose_null else "WCU"
    method = (f"wild cluster bootstrap ({kind}, null {'imposed' if impose_null else 'not imposed'})"
              f" after {design.kind}")
    return BoottestResult(param, float(core.beta[j]), null, stat, pv, conf, V.shape[1],
                          enumerated, method, weights, seed, level, ptype, design.G, c,
                          impose_null, time.perf_counter() - t0, tuple(notes),
                          "" if ci else _NO_CI["ci"])


def _boottest_ml(results, param, clusters, reps, weights, impose_null, seed, rng, level,
                 ptype, null, ci, ptol, t0, score_variance="onestep") -> BoottestResult:
    if not impose_null:
        raise SpecificationError("boottest: the score bootstrap after ML always imposes the "
                                 "null (impose_null=False is for linear models)")
    prob = _MLProblem(results, param, clusters)
    G = prob.G
    c = stata_ml_scale("cluster", len(prob.codes), G)  # Stata's factor after ML estimators
    V, enumerated = draw_weights(weights, G, reps, rng)
    est = float(prob.theta_hat[prob.j])
    se = float(np.sqrt(np.diag(np.asarray(results.cov_params()))[prob.j]))
    sb = prob.score_boot(null, c, score_variance)
    stat = sb.t
    pv = pvalue(stat, sb.tstar(V), ptype)
    if not np.isfinite(se) or se <= 0:
        se = max(abs(est), 1.0) * 0.1

    failed_at: list[float] = []

    def draws(r: float):
        try:
            s = prob.score_boot(r, c, score_variance)
        except (EstimationError, np.linalg.LinAlgError, FloatingPointError):
            # no restricted fit at this null value: treat it as rejected (it is far out)
            failed_at.append(r)
            return math.inf, np.zeros(V.shape[1])
        return s.t, s.tstar(V)

    def pfun(r: float) -> float:
        t, ts = draws(r)
        return pvalue(t, ts, ptype)

    conf = (math.nan, math.nan)
    if ci:
        if ptype in ("symmetric", "equaltail"):
            conf = invert_smooth(draws, est, se, 1.0 - level, ptype,
                                 xtol=max(ptol, 1e-3) * se, ftol=2e-3, own=own_draws(V))
        else:
            conf = invert(pfun, est, se, 1.0 - level, ptol=max(ptol, 1e-4))
    notes = [("null imposed by refitting the model with the coefficient fixed "
              "(restricted ML, as boottest after ML)")]
    notes.append(f"clusters: {G}, from {prob.cluster_source}")
    if enumerated:
        notes.append(f"2^{G} = {V.shape[1]} <= reps: all Rademacher sign vectors enumerated")
    if failed_at:
        notes.append(f"the restricted model could not be fitted at {len(failed_at)} trial "
                     f"value(s) of the confidence-set search (e.g. {failed_at[0]:.6g}); "
                     "they were counted as rejected")
    name = "GNB/NB2" if prob.is_gnb else type(prob.model).__name__
    return BoottestResult(param, est, null, stat, pv, conf, V.shape[1], enumerated,
                          f"score bootstrap (Kline-Santos; {_SCORE_VARIANCE[score_variance]}) "
                          f"after {name}", weights, seed, level,
                          ptype, G, c, True, time.perf_counter() - t0, tuple(notes),
                          "" if ci else _NO_CI["ci"])


_SCORE_VARIANCE = {"onestep": "variance re-linearised at the one-step estimate",
                   "fixed": "variance from the perturbed restricted scores"}


def _fgls_reestimate(results, design, j, c, V, impose_null, null, ptype):
    """Each draw: y* = X b_tilde + u_tilde * v_g on the original scale, refit FGLS (Omega,
    rho re-estimated), t* from the CRVE on that draw's whitened data."""
    model, _keep, y, x, index = design._fgls
    names = design.names
    # restricted / unrestricted coefficients with Omega fixed (from the whitened design)
    A = np.linalg.inv(design.X.T @ design.X)
    beta = A @ design.X.T @ design.y
    if impose_null:
        b0 = beta - A[:, j] / A[j, j] * (beta[j] - null)
    else:
        b0 = beta
    u0 = y - x @ b0
    codes, G = design.codes, design.G
    target = null if impose_null else beta[j]
    stat = (beta[j] - null) / LinearWild.build(design.X, design.y, codes, G, j, c,
                                               False).se
    tstar = np.empty(V.shape[1])
    exog = pd.DataFrame(x, index=index, columns=names)
    opts = {"panels": model.panels, "corr": model.corr, "rhotype": model.rhotype,
            "igls": model.igls, "tol": model.tol, "maxiter": model.maxiter,
            "force": model.force}

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for b in range(V.shape[1]):
            ystar = x @ b0 + u0 * V[codes, b]
            res = PanelFGLS(pd.Series(ystar, index=index, name="y"), exog, **opts).fit()
            d = _fgls_design(res, np.asarray(codes))
            core = LinearWild.build(d.X, d.y, d.codes, d.G, j, c, False)
            tstar[b] = (core.beta[j] - target) / core.se
    return float(stat), pvalue(float(stat), tstar, ptype)
