"""Count models of the innovation equation: GNB (``gnbreg``), NB2 (``nbreg``), Poisson.

``fit_gnb``/``fit_nb2``/``fit_poisson`` fit a :class:`regrowth.specs.ColumnSpec` on its
estimation sample (DataFrame on the (region, year) index):
    mean  E[y | x] = exposure * exp(Intercept + x'b [+ year dummies] [+ province dummies])
    GNB   ln(alpha) = Intercept + z'g   (``dispersion`` regressors)      Stata ``gnbreg``
    NB2   ln(alpha) = Intercept                                       Stata ``nbreg``
    Poisson (quasi-ML; consistent for the mean if the variance is wrong)  Stata ``poisson``

SE types (spec ``se.type``): ``oim`` (Stata's default ``vce(oim)``), ``robust``
(``vce(robust)``, N/(N-1)), ``cluster`` (``vce(cluster g)``, G/(G-1)); the factors come from
:func:`regrowth.models.covariance.stata_ml_scale`, shared by all three.

:func:`poisson` is the Poisson fit itself (statsmodels ``Poisson``, Newton, tol 1e-12),
with Stata's scaling passed as statsmodels' ``scaling_factor`` covariance keyword. Whether it
converged is decided by the package's rule, not by statsmodels' absolute step size (which
stops on a step below 1e-12 in every parameter, a size that rounding decides when a
parameter is large, e.g. an intercept of -115): the scaled Newton decrement at the estimate
must be below :data:`regrowth.models._optim.TOL` (1e-12; ~1e-24 at a maximum found to machine
precision). ``mle_retvals`` then holds ``converged`` (the rule), ``decrement``,
``borderline`` (decrement within a factor 100 of the tolerance: report it, the decision is
close) and ``statsmodels_converged``; a ``ConvergenceWarning`` says why a fit did not
converge.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

import warnings

from statsmodels.tools.sm_exceptions import ConvergenceWarning as StatsmodelsConvergenceWarning

from regrowth.models import _optim
from regrowth.models.covariance import stata_ml_scale
from regrowth.models.design import effect_dummies
from regrowth.models.registry import Estimator, register
from regrowth.models.gnb import GeneralizedNegativeBinomial
from statsmodels.discrete.discrete_model import Poisson
from regrowth.errors import ConvergenceWarning, EstimationError

__all__ = ["fit_gnb", "fit_nb2", "fit_poisson", "poisson", "count_design", "cluster_groups",
           "poisson_derivs", "poisson_batch_derivs"]

COUNT_SE = ("oim", "robust", "cluster")


def cluster_groups(spec, data: pd.DataFrame):
    """The cluster of each row (array), or None when the spec does not cluster."""
    if spec.se_groups is None:
        return None
    if spec.se_groups in data.index.names:
        return data.index.get_level_values(spec.se_groups).to_numpy()
    return data[spec.se_groups].to_numpy()


def count_design(spec, data: pd.DataFrame):
    """(y, X, exposure) of a count spec: X = Intercept, regressors, year/province dummies."""
    y = data[spec.outcome].astype(float).rename(spec.outcome)
    X = pd.concat([pd.DataFrame({"Intercept": 1.0}, index=data.index),
                   data[list(spec.regressors)].astype(float), effect_dummies(spec, data)],
                  axis=1)
    exposure = data[spec.exposure].astype(float) if spec.exposure else None
    return y, X, exposure


def _gnb(spec, data: pd.DataFrame, dispersion: bool):
    y, X, exposure = count_design(spec, data)
    Z = None
    if dispersion:
        Z = pd.concat([pd.DataFrame({"Intercept": 1.0}, index=data.index),
                       data[list(spec.dispersion)].astype(float)], axis=1)
    model = GeneralizedNegativeBinomial(y, X, Z, exposure=exposure,
                                        groups=cluster_groups(spec, data))
    cov_type = {"oim": "nonrobust", "robust": "robust", "cluster": "cluster"}[spec.se_type]
    return model.fit(cov_type=cov_type)


def fit_gnb(spec, data: pd.DataFrame):
    """Stata ``gnbreg``: a :class:`~regrowth.models.gnb.GNBResults`."""
    return _gnb(spec, data, dispersion=True)


def fit_nb2(spec, data: pd.DataFrame):
    """Stata ``nbreg`` (constant ln alpha): a GNB results object with ``lnalpha:Intercept``."""
    return _gnb(spec, data, dispersion=False)


def poisson(y: pd.Series, X: pd.DataFrame, exposure=None, se_type: str = "oim", groups=None):
    """Poisson ML (statsmodels) with Stata's covariance: a statsmodels ``PoissonResults``.

    ``se_type``: "oim", "robust" (HC0 x N/(N-1)) or "cluster" (cluster sums x G/(G-1),
    ``groups`` one label per row).
    """
    yv = np.asarray(y, dtype=float)
    if yv.size and np.all(yv[np.isfinite(yv)] == 0):
        raise EstimationError(
            f"the outcome {getattr(y, 'name', None) or 'y'!r} is zero in all {yv.size} "
            "observations of the estimation sample: a count model has no finite maximum (the "
            "mean runs to zero). Check the outcome column and the sample (years, regions) it "
            "is restricted to.")
    model = Poisson(y, X, exposure=exposure)
    fit = {"disp": 0, "maxiter": 200, "method": "newton", "tol": 1e-12}
    n = len(y)
    if se_type == "oim":
        kw = {}
    elif se_type == "robust":
        kw = {"cov_type": "HC0", "cov_kwds": {"scaling_factor": stata_ml_scale("robust", n)}}
    elif se_type == "cluster":
        if groups is None:
            raise ValueError("se_type='cluster' needs groups")
        codes = pd.factorize(pd.Series(np.asarray(groups)))[0]
        g = int(codes.max()) + 1
        kw = {"cov_type": "cluster",
              "cov_kwds": {"groups": codes, "use_correction": False,
                           "scaling_factor": stata_ml_scale("cluster", n, g)}}
    else:
        raise ValueError(f"se_type={se_type!r}: use 'oim', 'robust' or 'cluster'")
    with warnings.catch_warnings():  # its step-size verdict is replaced by the package's rule
        warnings.simplefilter("ignore", StatsmodelsConvergenceWarning)
        result = model.fit(**fit, **kw)
    _judge_convergence(result)
    return result


def _judge_convergence(result) -> None:
    """Set ``result.mle_retvals["converged"]`` by the package's rule (module docstring) and
    warn when it fails."""
    retvals = result.mle_retvals
    params = np.asarray(result.params, dtype=float)
    dec = _optim.decrement(result.model.score(params), result.model.hessian(params))
    retvals["statsmodels_converged"] = bool(retvals.get("converged"))
    retvals["decrement"] = dec
    retvals["converged"] = dec < _optim.TOL
    retvals["borderline"] = bool(_optim.TOL / 100 < dec < _optim.TOL * 100)
    # statsmodels copied its own verdict into ``result.converged`` when it built the result;
    # every reader (tidy.glance, the curve, the tables) reads that attribute first
    getattr(result, "_results", result).converged = retvals["converged"]
    if not retvals["converged"]:
        warnings.warn(f"Poisson did not converge: scaled Newton decrement {dec:.3g} after "
                      f"{retvals.get('iterations')} Newton iterations (needs < "
                      f"{_optim.TOL:g}); the estimates are not at a maximum",
                      ConvergenceWarning, stacklevel=3)


def fit_poisson(spec, data: pd.DataFrame):
    """Stata ``poisson``: statsmodels ``PoissonResults`` with Stata's scaling."""
    y, X, exposure = count_design(spec, data)
    return poisson(y, X, exposure, spec.se_type, cluster_groups(spec, data))


def poisson_derivs(X, y, off, lgy):
    """The Poisson log likelihood sum(y eta - mu - lgy), eta = X b + off, mu = exp(eta), its
    score X'(y - mu) and Hessian -X' diag(mu) X, in the form
    :func:`regrowth.models._optim.newton` takes (``derivs(b, order)``). ``lgy``: ln(y!) per
    row, or 0 where only the maximiser matters."""
    def derivs(b, order):
        eta = X @ b + off
        with np.errstate(over="ignore", invalid="ignore"):
            mu = np.exp(eta)
            llf = float(np.sum(y * eta - mu - lgy))
        if order == 0:
            return llf, None, None
        return llf, X.T @ (y - mu), -(X.T @ (X * mu[:, None]))
    return derivs


def poisson_batch_derivs(Xb, y, off, lgy):
    """:func:`poisson_derivs` of many designs ``Xb`` (B, n, k) at once, in the form
    :func:`regrowth.models._optim.newton_batch` takes (each draw's products its own)."""
    def derivs(P, rows, order):
        X = Xb[rows]
        eta = np.matmul(X, P[:, :, None])[:, :, 0] + off
        with np.errstate(over="ignore", invalid="ignore"):
            mu = np.exp(eta)
            llf = np.sum(y * eta - mu - lgy, axis=1)
        if order == 0:
            return llf, None, None
        Xt = np.swapaxes(X, 1, 2)
        return (llf, np.matmul(Xt, (y - mu)[:, :, None])[:, :, 0],
                -np.matmul(Xt * mu[:, None, :], X))
    return derivs


# ----------------------------------------------------------------------------- registry

register(Estimator(
    name="gnb", label="gnbreg (GNB)", stata="gnbreg", family="count",
    doc="generalized negative binomial: NB2 mean exp(x'b), ln(alpha) = z'g (dispersion)",
    se_types=COUNT_SE, default_se="oim", dispersion=True, exposure=True, reports=("lr_tests",),
    year_effects="dummies", province_effects="dummies", fit=fit_gnb,
))

register(Estimator(
    name="nb2", label="nbreg (NB2)", stata="nbreg", family="count",
    doc="negative binomial NB2 with a constant alpha", aliases=("nbreg",),
    se_types=COUNT_SE, default_se="oim", exposure=True,
    year_effects="dummies", province_effects="dummies", fit=fit_nb2,
))

register(Estimator(
    name="poisson", label="Poisson", stata="poisson", family="count",
    doc="Poisson (quasi-)maximum likelihood",
    se_types=COUNT_SE, default_se="oim", exposure=True,
    year_effects="dummies", province_effects="dummies", fit=fit_poisson,
))
