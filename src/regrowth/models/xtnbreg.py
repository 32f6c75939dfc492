r"""The Hausman-Hall-Griliches (1984) negative binomial panel models: Stata ``xtnbreg, fe``
and ``xtnbreg, re``.

Every model takes a count ``y_it`` of panel (province) ``i`` in year ``t``, regressors
``x_it`` and an optional offset ``o_it`` (``exposure`` enters as ``ln(exposure)``); results,
data preparation and the treatment of all-zero panels are those of
:mod:`regrowth.models.count_panel` (``xtnbreg, fe`` drops all-zero panels, whose conditional
likelihood is exactly 0; ``xtnbreg, re`` keeps them, as Stata does), and so is the validation
(an independent R transcription of the two likelihoods below, on R ``AER``'s ``Fatalities``,
``glmmTMB::Salamanders`` and a simulated panel with all-zero panels;
``tests/models/test_count_panel.py``).

``xtnbreg_fe`` -- Stata ``xtnbreg, fe`` (Hausman, Hall & Griliches 1984, "conditional NB").
    y_it is negative binomial with shape lambda_it = exp(x_it'b + o_it) and a panel-specific
    dispersion delta_i: mean lambda_it delta_i, variance (1 + delta_i) times the mean (an
    NB1-type model). The panel total n_i = sum_t y_it is NB(sum_t lambda_it, delta_i), so
    conditioning on it removes delta_i::

        ln L_i = lnG(sum_t lambda_it) + lnG(n_i + 1) - lnG(sum_t lambda_it + n_i)
                 + sum_t [lnG(lambda_it + y_it) - lnG(lambda_it) - lnG(y_it + 1)]

    The constant and any regressor constant within a panel are *identified* (lambda_it
    enters through lnG, not only through shares), which betrays the caveat below.

``xtnbreg_re`` -- Stata ``xtnbreg, re`` (HHG random effects): the same NB1-type
    y_it | delta_i, with 1/(1 + delta_i) ~ Beta(r, s) across panels. Integrating delta_i out
    gives the closed form::

        ln L_i = lnG(r + s) + lnG(r + Lambda_i) + lnG(s + n_i)
                 - lnG(r) - lnG(s) - lnG(r + s + Lambda_i + n_i)
                 + sum_t [lnG(lambda_it + y_it) - lnG(lambda_it) - lnG(y_it + 1)],
        Lambda_i = sum_t lambda_it,

    estimated with ``ln_r`` and ``ln_s`` (Stata's ``/ln_r``, ``/ln_s``).

Caveat (Allison & Waterman 2002; Guimaraes 2008). ``xtnbreg, fe`` is not a fixed-effects
model in the usual sense: the panel effect acts on the *dispersion* delta_i, not on the mean,
so it does not absorb time-invariant differences in the level of y the way a panel constant
does. Time-invariant regressors and a constant are estimable, and the slopes are not the
within-panel slopes of a model E[y_it] = exp(a_i + x_it'b); Allison & Waterman's simulations
show it does not control for unobserved time-invariant covariates, and Guimaraes (2008) shows
it is a fixed-effects model of the mean only under a restrictive link between the panel effect
and the dispersion. Read the ``xtnbreg, fe`` column as a different model, not as the FE
benchmark; the Poisson with province effects is that benchmark.

Optimisation and covariance of ``xtnbreg``: BFGS to the neighbourhood of the maximum, then
Newton steps on the analytic score (and the analytic Hessian for ``fe``; a central-difference
Hessian of the analytic score for ``re``), until the Newton decrement g'(-H)^{-1}g < 1e-12
at a negative-definite Hessian; otherwise ``converged`` is False and a ``ConvergenceWarning``
is issued. Stata allows only ``vce(oim)`` (or bootstrap/jackknife) for xtnbreg; ``"oim"`` is
the default. ``"cluster"`` gives the panel-level sandwich G/(G-1) H^{-1} (sum_i s_i s_i')
H^{-1} (the panels' likelihoods are independent; this is not a Stata option); for ``re``
G counts every panel, all-zero ones included (their scores are not zero), for ``fe`` only
the panels kept.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import optimize, special

from regrowth.errors import ConvergenceWarning
from regrowth.models._optim import newton
from regrowth.models.count_panel import (
    CountPanelResults,
    _check_cov_type,
    _poisson_newton,
    _prepare,
    _spec_design,
)
from regrowth.models.registry import Estimator, Option, register

__all__ = ["xtnbreg_fe", "xtnbreg_re"]


class _HHG:
    """Shared machinery of the two HHG likelihoods (per-panel log likelihoods and scores)."""

    def __init__(self, y, X, g, off):
        self.codes, self.uniq = pd.factorize(g.to_numpy())
        self.y, self.X, self.off = y.to_numpy(), X.to_numpy(), off
        self.G = len(self.uniq)
        self.n_i = np.bincount(self.codes, weights=self.y, minlength=self.G)
        self.base = special.gammaln(self.y + 1)

    def _lam(self, b):
        return np.exp(self.X @ b + self.off)

    def _sum(self, v):
        return np.bincount(self.codes, weights=v, minlength=self.G)

    def _sum_rows(self, M):
        out = np.zeros((self.G, M.shape[1]))
        np.add.at(out, self.codes, M)
        return out


class _HHGFixed(_HHG):
    k_extra = 0

    def panel_ll(self, params):
        lam = self._lam(params)
        L = self._sum(lam)
        obs = special.gammaln(lam + self.y) - special.gammaln(lam) - self.base
        return (special.gammaln(L) + special.gammaln(self.n_i + 1)
                - special.gammaln(L + self.n_i) + self._sum(obs))

    def panel_scores(self, params):
        lam = self._lam(params)
        L = self._sum(lam)
        c = special.digamma(L) - special.digamma(L + self.n_i)
        dl = c[self.codes] + special.digamma(lam + self.y) - special.digamma(lam)
        return self._sum_rows(self.X * (dl * lam)[:, None])

    def hessian(self, params):
        lam = self._lam(params)
        L = self._sum(lam)
        c1 = special.digamma(L) - special.digamma(L + self.n_i)
        c2 = special.polygamma(1, L) - special.polygamma(1, L + self.n_i)
        d1 = special.digamma(lam + self.y) - special.digamma(lam)
        d2 = special.polygamma(1, lam + self.y) - special.polygamma(1, lam)
        dl = c1[self.codes] + d1
        # d2/db db' = sum_t x x' [lam dl + lam^2 d2] + sum_i c2_i (sum_t lam x)(sum_t lam x)'
        w = lam * dl + lam ** 2 * d2
        H = (self.X * w[:, None]).T @ self.X
        lx = self._sum_rows(self.X * lam[:, None])
        return H + (lx * c2[:, None]).T @ lx


class _HHGRandom(_HHG):
    k_extra = 2

    def panel_ll(self, params):
        b, lnr, lns = params[:-2], params[-2], params[-1]
        r, s = np.exp(lnr), np.exp(lns)
        lam = self._lam(b)
        L = self._sum(lam)
        obs = special.gammaln(lam + self.y) - special.gammaln(lam) - self.base
        return (special.gammaln(r + s) + special.gammaln(r + L) + special.gammaln(s + self.n_i)
                - special.gammaln(r) - special.gammaln(s)
                - special.gammaln(r + s + L + self.n_i) + self._sum(obs))

    def panel_scores(self, params):
        b, lnr, lns = params[:-2], params[-2], params[-1]
        r, s = np.exp(lnr), np.exp(lns)
        lam = self._lam(b)
        L = self._sum(lam)
        big = special.digamma(r + s + L + self.n_i)
        c = special.digamma(r + L) - big
        dl = c[self.codes] + special.digamma(lam + self.y) - special.digamma(lam)
        sb = self._sum_rows(self.X * (dl * lam)[:, None])
        sr = r * (special.digamma(r + s) + special.digamma(r + L) - special.digamma(r) - big)
        ss = s * (special.digamma(r + s) + special.digamma(s + self.n_i) - special.digamma(s) - big)
        return np.column_stack([sb, sr, ss])

    def hessian(self, params):
        # central differences of the analytic score (relative step 1e-5 on a unit scale)
        k = len(params)
        H = np.empty((k, k))
        for j in range(k):
            h = 1e-5 * max(1.0, abs(params[j]))
            up, dn = params.copy(), params.copy()
            up[j] += h
            dn[j] -= h
            H[:, j] = (self.panel_scores(up).sum(0) - self.panel_scores(dn).sum(0)) / (2 * h)
        return (H + H.T) / 2


def _maximise(model, start, tol=1e-12, maxiter=100):
    """BFGS from ``start`` (the HHG likelihoods are far from concave at Poisson starting
    values), then the package's safeguarded Newton to machine precision
    (:func:`regrowth.models._optim.newton`); returns (params, llf, H, converged, message)."""
    def negll(p):
        v = -float(model.panel_ll(p).sum())
        return v if np.isfinite(v) else 1e300

    def neggrad(p):
        return -model.panel_scores(p).sum(0)

    def derivs(p, order):
        ll = float(model.panel_ll(p).sum())
        if order == 0 or not np.isfinite(ll):
            return (ll, None, None) if order else (ll,)
        return ll, model.panel_scores(p).sum(0), model.hessian(p)

    opt = optimize.minimize(negll, start, jac=neggrad, method="BFGS",
                            options={"gtol": 1e-8, "maxiter": 2000})
    res = newton(derivs, np.asarray(opt.x, dtype=float), tol=tol, maxiter=maxiter)
    return (res.params, res.llf, model.hessian(res.params), res.info["converged"],
            res.info["message"])


def _xtnbreg(kind, endog, exog, groups, exposure, offset, cov_type, start_params):
    cov_type = _check_cov_type(cov_type, ("oim", "cluster"))
    # all-zero panels: conditioned away by the fe likelihood (each adds exactly 0), but part
    # of the re likelihood (the Beta-mixed panel total n_i = 0 has probability < 1), which
    # Stata keeps; so they are dropped for fe only
    y, X, g, off, zero = _prepare(endog, exog, groups, exposure, offset, constant=True,
                                  drop_zero=kind == "fe")
    model = (_HHGFixed if kind == "fe" else _HHGRandom)(y, X, g, off)
    names = list(X.columns) + (["ln_r", "ln_s"] if kind == "re" else [])
    if start_params is None:
        b0, *_ = _poisson_newton(y.to_numpy(), X.to_numpy(), off)
        start = np.concatenate([b0, np.zeros(model.k_extra)])
    else:
        start = np.asarray(start_params, dtype=float)
    p, llf, H, converged, message = _maximise(model, start)
    if not converged:
        warnings.warn(f"xtnbreg, {kind}: {message}", ConvergenceWarning, stacklevel=3)
    hinv = np.linalg.inv(-H)
    if cov_type == "oim":
        cov = hinv
    else:
        S = model.panel_scores(p)
        cov = hinv @ (S.T @ S) @ hinv * (model.G / (model.G - 1.0))
    return CountPanelResults(
        params=pd.Series(p, index=names), cov=pd.DataFrame(cov, index=names, columns=names),
        llf=float(llf), nobs=len(y), n_groups=model.G, converged=converged, cov_type=cov_type,
        command=f"xtnbreg y x, {kind}", effects=f"panel dispersion ({kind.upper()}, HHG)",
        dropped_groups=zero, extra={"message": message})


def xtnbreg_fe(endog, exog, groups, *, exposure=None, offset=None, cov_type: str = "oim",
               start_params=None) -> CountPanelResults:
    """Stata ``xtnbreg, fe``: the HHG conditional negative binomial (see the module caveat).

    A constant is added (it is identified); ``params`` has ``Intercept`` and the slopes, in log
    points of lambda_it per unit of each regressor. ``llf`` is the conditional log likelihood.
    """
    return _xtnbreg("fe", endog, exog, groups, exposure, offset, cov_type, start_params)


def xtnbreg_re(endog, exog, groups, *, exposure=None, offset=None, cov_type: str = "oim",
               start_params=None) -> CountPanelResults:
    """Stata ``xtnbreg, re``: HHG random effects, 1/(1 + delta_i) ~ Beta(r, s).

    ``params``: ``Intercept``, the slopes, ``ln_r`` and ``ln_s`` (Stata's ``/ln_r``, ``/ln_s``).
    """
    return _xtnbreg("re", endog, exog, groups, exposure, offset, cov_type, start_params)


# ----------------------------------------------------------------------------- registry

def fit_xtnbreg_spec(spec, data: pd.DataFrame) -> CountPanelResults:
    """Stata ``xtnbreg y x [i.year], fe|re`` (option ``model``, Stata's default ``re``)."""
    y, X, regions, exposure = _spec_design(spec, data)
    fn = xtnbreg_fe if spec.options.get("model", "re") == "fe" else xtnbreg_re
    return fn(y, X, regions, exposure=exposure, cov_type="oim")


register(Estimator(
    name="xtnbreg", label="xtnbreg (HHG negative binomial)", stata="xtnbreg", family="count",
    doc="Hausman-Hall-Griliches panel NB: fe conditions out a province dispersion (not a mean "
        "effect), re has 1/(1+delta) ~ Beta(r, s)",
    options=(Option("model", "str", "re", "xtnbreg re|fe (Stata's default: re)",
                    choices=("re", "fe")),),
    se_types=("oim",), default_se="oim", exposure=True,
    year_effects="dummies", province_effects="",
    province_effects_note="xtnbreg's province effect is in the dispersion (fe: conditioned "
                          "out; re: Beta-distributed); province dummies in the mean are not "
                          "part of the model (use estimator = 'xtpoisson' or 'poisson' with "
                          "province_effects = true for fixed effects in the mean)",
    fit=fit_xtnbreg_spec,
))
