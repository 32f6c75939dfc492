r"""Panel count models for the innovation equation: what within-province variation says.

The main innovation model (``gnbreg``, Table 1) compares provinces with each other. The models
here add province (and year) effects, so that 재정자립도 (fiscal self-reliance) is identified
from changes within a province over time.

Models
------
Every model takes a count ``y_it`` of panel (province) ``i`` in year ``t``, regressors
``x_it`` and an optional offset ``o_it`` (``exposure`` enters as ``ln(exposure)``).

``poisson_fe`` -- Poisson with panel dummies (and year dummies): Stata ``poisson y x i.id``,
    R ``glm(y ~ x + factor(id), family = poisson)``. Its slopes are *identical* to the
    conditional ("fixed-effects") Poisson of Hausman, Hall & Griliches (1984), Stata
    ``xtpoisson, fe``, whose panel likelihood conditions on the panel total n_i = sum_t y_it::

        ln L_i = lnG(n_i + 1) - sum_t lnG(y_it + 1) + sum_t y_it ln p_it,
        p_it   = exp(x_it'b + o_it) / sum_s exp(x_is'b + o_is)

    (a multinomial; the dummy-variable Poisson likelihood concentrated in its panel
    constants is this likelihood plus terms free of b). :func:`conditional_poisson` fits the
    conditional likelihood directly; the tests show the two agree to 1e-8. This is the
    Poisson/PPML fixed-effects estimator Allison & Waterman (2002) recommend: it is consistent
    for b whenever E[y_it | x_i, a_i] = exp(a_i + x_it'b), whatever the variance.

    Standard errors (``cov_type``):

    * ``"cluster"`` (default) -- by panel, G/(G-1) * H^{-1} (sum_g S_g S_g') H^{-1} with
      S_g the panel's score sum: Stata's ``vce(cluster id)`` after ``poisson`` and, because the
      panel-constant scores sum to zero in every panel at the optimum, the same numbers as
      ``xtpoisson, fe vce(robust)`` (which Stata computes as ``vce(cluster panelvar)``, with its
      ``_robust`` ML factor G/(G-1)). Without the factor (``use_correction=False``) it is
      Wooldridge's (1999) robust covariance of the conditional estimator (R ``poisFErobust``)
      and R ``sandwich::vcovCL(type = "HC0", cadjust = FALSE)``; with it, ``vcovCL(type =
      "HC0")`` (whose default ``cadjust = TRUE`` is G/(G-1)).
    * ``"oim"`` -- the inverse observed information, Stata ``xtpoisson, fe`` default.

    Computation of ``poisson_fe`` (the panel constants concentrated out, as ``ppmlhdfe`` and
    ``fixest::fepois`` absorb them). With mu_it = exp(a_i + x_it'b + o_it) the dummy-variable
    log likelihood is ln L(a, b) = sum_it [y_it ln mu_it - mu_it - lnG(y_it + 1)]. For fixed b,
    d ln L / d a_i = n_i - sum_t mu_it = 0 gives each panel constant in closed form::

        a_i(b)  = ln n_i - ln sum_t exp(x_it'b + o_it),     so  mu_it(b) = n_i p_it,
        ln L_c(b) = ln L(a(b), b) = sum_it y_it ln(n_i p_it) - sum_i n_i - sum_it lnG(y_it + 1)
                  = conditional ln L + sum_i [n_i ln n_i - n_i - lnG(n_i + 1)]  (free of b),

    and the profile score and Hessian in b alone (k slopes and year effects, not k + G)::

        g(b) = sum_it x_it (y_it - mu_it),
        H(b) = - sum_it mu_it (x_it - xbar_i)(x_it - xbar_i)',   xbar_i = sum_t mu_it x_it / n_i.

    H is the Schur complement of the panel-constant block in the full (k + G) Hessian, so
    H^{-1} is the slope block of the full inverse (``"oim"``). The panel-constant scores
    sum_t (y_it - mu_it(b)) are exactly zero in every panel at every b, so the slope block of
    the full cluster sandwich is H^{-1} (sum_g S_g S_g') H^{-1} with S_g = sum_t x_it (y_it -
    mu_it) (``"cluster"``). Newton (:func:`regrowth.models._optim.newton`, from b = 0, to a
    Newton decrement below 1e-12, then one polishing step) maximises the concave ln L_c; a
    step costs O(n k^2) and the design has no panel dummies. p_it and a_i(b) are computed
    after subtracting each panel's largest x_it'b + o_it, so exp never overflows.

``nb2_dummies`` -- NB2 (``nbreg``, constant alpha) with panel (and year) dummies: the
    "unconditional negative binomial" Allison & Waterman found to perform well despite the
    incidental-parameter problem. Fitted with :class:`regrowth.models.GeneralizedNegativeBinomial`
    (constant dispersion equation), so ``lnalpha:Intercept`` is reported. R: ``MASS::glm.nb`` with
    ``factor(id)``; ``alpha = 1/theta``.

The HHG negative binomial panel models (Stata ``xtnbreg, fe`` and ``xtnbreg, re``) are in
:mod:`regrowth.models.xtnbreg`; they share this module's results class, data preparation and
treatment of all-zero panels.

All-zero panels (every count of the panel is 0) are treated by likelihood:

* conditional likelihoods (``conditional_poisson`` = ``xtpoisson, fe``; ``xtnbreg_fe``): given
  n_i = 0 the panel's outcome is certain, its log likelihood is exactly 0 for every b, so it
  carries no information; the dummy-variable models (``poisson_fe``, ``nb2_dummies``) send its
  panel dummy to minus infinity (no finite maximum). These models drop such panels, with a
  warning, as Stata does ("note: n groups (m obs) dropped because of all zero outcomes");
  ``dropped_groups`` lists them, ``n_groups`` and ``nobs`` count the panels and rows used.
* ``xtnbreg_re`` keeps them, as Stata does: under the Beta-mixed likelihood an all-zero panel
  has probability Gamma(r+s) Gamma(r+Lambda_i) / (Gamma(r) Gamma(r+s+Lambda_i)) < 1, which
  depends on b, r and s. Dropping them selects the panels on the outcome and biases every
  parameter (on the simulated patents-by-firm fixture, true R&D elasticity 0.5, the
  estimate falls from 0.53 with them to 0.26 without them).
  ``dropped_groups`` is then empty.

Validation (tests/fixtures/count_panel): Stock & Watson's traffic ``Fatalities`` panel (R
``AER``; 48 US states, 1982-88): R ``glm`` with state (and year) dummies and
``sandwich::vcovCL``; ``MASS::glm.nb`` with state dummies; and an independent R transcription
of the two HHG likelihoods above, maximised by ``optim`` and polished by Newton steps with a
``numDeriv`` Hessian. All-zero panels: the same transcription (make_zero_panels_fixtures.R)
on ``glmmTMB::Salamanders`` (site x species panels, 58 of 161 all zero) and a simulated
patents-by-firm panel (101 of 250 firms all zero), for ``re`` on all panels and ``fe`` on
the panels with a positive count. No public Stata output on a dataset we could obtain was
found.

Results (:class:`CountPanelResults`) follow statsmodels: ``params``, ``bse``, ``pvalues``,
``tvalues`` (z), ``conf_int()``, ``cov_params()``, ``llf``, ``nobs``, ``converged``,
``cov_type``, plus ``n_groups``, ``dropped_groups``, ``command`` (the Stata command) and
``effects`` (which dummies were included). Panel dummies are not reported in ``params``
(they are in ``result.full_params``). p-values and intervals use the normal distribution, as
Stata does for these ML estimators.
"""

from __future__ import annotations

import contextlib
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from statsmodels.genmod import families
from statsmodels.genmod.generalized_linear_model import GLM
from scipy import special, stats

from regrowth.errors import ConvergenceWarning, DataError, EstimationError, SpecificationError
from regrowth.models.design import effect_dummies
from regrowth.models.gnb import GeneralizedNegativeBinomial
from regrowth.models._optim import newton
from regrowth.models.covariance import cluster_meat, sandwich, stata_ml_scale
from regrowth.models.registry import Estimator, register

__all__ = [
    "CountPanelResults",
    "conditional_poisson",
    "nb2_dummies",
    "poisson_fe",
    "within_between_sd",
]


# ----------------------------------------------------------------------------- results

@dataclass
class CountPanelResults:
    """A fitted panel count model (statsmodels-style accessors; see the module docstring).

    ``params``/``bse``/``pvalues``/``tvalues`` are Series over the reported terms (slopes, year
    dummies, ancillary parameters such as ``lnalpha:Intercept`` or ``ln_r``/``ln_s``); panel
    dummies are left out of them. ``cov`` is their covariance (DataFrame).
    """

    params: pd.Series
    cov: pd.DataFrame
    llf: float
    nobs: int
    n_groups: int
    converged: bool
    cov_type: str
    command: str
    effects: str
    dropped_groups: tuple = ()
    full_params: pd.Series | None = None
    extra: dict = field(default_factory=dict)
    #: effects swept out of the mean (linearmodels' name, read by regrowth.models.design)
    included_effects: tuple = ()

    @property
    def bse(self) -> pd.Series:
        return pd.Series(np.sqrt(np.diag(self.cov.to_numpy())), index=self.params.index)

    @property
    def tvalues(self) -> pd.Series:
        return self.params / self.bse

    @property
    def pvalues(self) -> pd.Series:
        return pd.Series(2 * stats.norm.sf(np.abs(self.tvalues.to_numpy())),
                         index=self.params.index)

    def cov_params(self) -> pd.DataFrame:
        return self.cov

    def conf_int(self, alpha: float = 0.05) -> pd.DataFrame:
        """Normal-based (1 - alpha) limits, columns 0 and 1 as in statsmodels."""
        q = stats.norm.ppf(1 - alpha / 2)
        return pd.DataFrame({0: self.params - q * self.bse, 1: self.params + q * self.bse})

    @property
    def n_entities(self) -> int:  # read by regrowth.report.tidy.glance
        return self.n_groups

    def __repr__(self) -> str:
        return (f"CountPanelResults({self.command!r}, nobs={self.nobs}, groups={self.n_groups}, "
                f"llf={self.llf:.4f}, cov_type={self.cov_type!r})")


# ----------------------------------------------------------------------------- inputs

def _prepare(endog, exog, groups, exposure, offset, *, constant: bool, drop_zero: bool = True):
    """Aligned float arrays; rows with missing values dropped, and all-zero panels too when
    ``drop_zero`` (the conditional likelihoods and the dummy-variable models, where such a
    panel contributes nothing or has no finite panel constant; see the module docstring).
    Returns (y, X, groups, offset, the dropped groups)."""
    y = pd.Series(endog).astype(float)
    X = pd.DataFrame(exog).astype(float)
    if len(X) != len(y):
        raise DataError(f"endog has {len(y)} rows but exog has {len(X)}")
    X.index = y.index
    g = pd.Series(np.asarray(groups), index=y.index, name="group")
    off = np.zeros(len(y))
    if offset is not None:
        off = off + np.asarray(offset, dtype=float)
    if exposure is not None:
        e = np.asarray(exposure, dtype=float)
        if np.any(e[np.isfinite(e)] <= 0):
            raise DataError("exposure must be positive (it enters the mean as ln(exposure))")
        off = off + np.log(e)
    ok = y.notna().to_numpy() & X.notna().all(axis=1).to_numpy() & g.notna().to_numpy() \
        & np.isfinite(off)
    if not ok.all():
        warnings.warn(f"{int((~ok).sum())} row(s) with missing values dropped", stacklevel=3)
    y, X, g, off = y[ok], X[ok], g[ok], off[ok]
    yv = y.to_numpy()
    if np.any(yv < 0) or np.any(yv != np.round(yv)):
        raise DataError("the dependent variable must hold non-negative integer counts")
    if constant and "Intercept" not in X:
        X.insert(0, "Intercept", 1.0)
    if not drop_zero:
        return y, X, g, off, ()
    totals = y.groupby(g.to_numpy()).sum()
    zero = tuple(sorted(totals.index[totals == 0]))
    if zero:
        warnings.warn(f"{len(zero)} group(s) dropped because of all zero outcomes: "
                      f"{', '.join(map(str, zero))}", stacklevel=3)
        keep = ~g.isin(zero).to_numpy()
        y, X, g, off = y[keep], X[keep], g[keep], off[keep]
    return y, X, g, off, zero


def _dummies(values: pd.Series, prefix: str, fmt=str) -> pd.DataFrame:
    """0/1 columns for every level but the first (sorted), named ``prefix<level>``."""
    levels = sorted(pd.unique(values))
    return pd.DataFrame({f"{prefix}{fmt(v)}": (values.to_numpy() == v).astype(float)
                         for v in levels[1:]}, index=values.index)


def _panel_name(v) -> str:
    """The name of panel ``v``'s dummy: ``panel[<v>]``."""
    return f"panel[{v}]"


def _dummy_design(X: pd.DataFrame, g: pd.Series, time, endog, y: pd.Series, *,
                  panels: bool = True) -> pd.DataFrame:
    """``X`` with year dummies ``year_<t>`` (when ``time`` is given; ``time`` is aligned with
    ``endog`` and cut to the rows of ``y`` that :func:`_prepare` kept) and, if ``panels``, panel
    dummies ``panel[<g>]``, the first level of each left out: the design of the dummy-variable
    count models (:func:`nb2_dummies`; :func:`poisson_fe` concentrates the panel constants out
    and asks for ``panels=False``)."""
    parts = [X]
    if time is not None:
        t = pd.Series(np.asarray(time), index=pd.Series(endog).index)[y.index]
        parts.append(_dummies(t, "year_", lambda v: str(int(v)) if float(v).is_integer() else str(v)))
    if panels:
        parts.append(_dummies(g, "", _panel_name))
    return pd.concat(parts, axis=1)


def _sandwich(hinv: np.ndarray, scores: np.ndarray, groups: np.ndarray,
              use_correction: bool) -> np.ndarray:
    """G/(G-1) * H^{-1} (sum_g S_g S_g') H^{-1} (the factor only if ``use_correction``)."""
    meat, G = cluster_meat(scores, groups)
    return sandwich(hinv, meat, stata_ml_scale("cluster", len(scores), G) if use_correction else 1.0)


def _check_cov_type(cov_type: str, allowed: tuple[str, ...]) -> str:
    key = {"nonrobust": "oim", "oim": "oim", "cluster": "cluster",
           "robust": "cluster"}.get(str(cov_type).lower())
    if key not in allowed:
        raise EstimationError(f"cov_type={cov_type!r} is not available here; use one of {allowed}")
    return key


# ----------------------------------------------------------------------------- Poisson

def _poisson_newton(y, X, off, tol=1e-12, maxiter=200):
    """Poisson ML by the package's safeguarded Newton (:func:`regrowth.models._optim.newton`),
    warm-started from statsmodels' GLM; returns (b, llf, H, converged)."""
    b = np.zeros(X.shape[1])
    b[0] = np.log(y.mean()) if X.shape[1] else 0.0
    if np.allclose(X[:, 0], 1.0):
        b[0] = np.log(y.mean()) - off.mean()
    with contextlib.suppress(Exception):  # a cheap warm start; Newton starts from b otherwise
        b = GLM(y, X, family=families.Poisson(), offset=off).fit(tol=1e-10).params
    lgy = float(np.sum(special.gammaln(y + 1)))

    def derivs(b, order):
        eta = X @ b + off
        with np.errstate(over="ignore"):
            mu = np.exp(eta)
        ll = float(np.sum(y * eta - mu) - lgy)
        if order == 0:
            return (ll,)
        return ll, X.T @ (y - mu), -(X * mu[:, None]).T @ X

    res = newton(derivs, b, tol=tol, maxiter=maxiter)
    return res.params, res.llf, res.hessian, res.info["converged"]


def _concentrated_poisson(y, X, off, codes, *, tol=1e-12, maxiter=100):
    """Poisson with a free constant a_i for each panel of ``codes`` (0..G-1, every panel with a
    positive total), the constants concentrated out: Newton
    (:func:`regrowth.models._optim.newton`) on the slopes b of ``X`` alone, with the profile
    score and Hessian of the module docstring ("Computation of poisson_fe").

    Returns a dict: ``b`` (slopes, units of 1/X), ``a`` (the G panel constants a_i(b), log
    points), ``llf`` (the full Poisson log likelihood at (a(b), b)), ``H`` (the profile
    Hessian, k x k), ``scores`` (n x k, x_it (y_it - mu_it), in the rows' order),
    ``converged`` and ``message``.
    """
    order = np.argsort(codes, kind="stable")
    inv = np.empty_like(order)
    inv[order] = np.arange(len(order))
    cs = codes[order]
    starts = np.flatnonzero(np.r_[True, cs[1:] != cs[:-1]])
    sizes = np.diff(np.r_[starts, len(cs)])
    ys, Xs, offs = y[order], X[order], off[order]
    n_i = np.add.reduceat(ys, starts)
    pos = ys > 0
    const = float(n_i.sum() + special.gammaln(ys + 1).sum())

    def state(b):
        eta = Xs @ b + offs
        top = np.maximum.reduceat(eta, starts)  # the panel's largest index: exp never overflows
        e = np.exp(eta - np.repeat(top, sizes))
        tot = np.add.reduceat(e, starts)
        a = np.log(n_i) - top - np.log(tot)       # a_i(b) = ln n_i - ln sum_t exp(eta_it)
        mu = e * np.repeat(n_i / tot, sizes)      # n_i p_it
        llf = float(ys[pos] @ (np.repeat(a, sizes) + eta)[pos]) - const
        return a, mu, llf

    def derivs(b, order_):
        a, mu, llf = state(b)
        if order_ == 0:
            return (llf,)
        grad = Xs.T @ (ys - mu)
        xbar = np.add.reduceat(Xs * mu[:, None], starts) / n_i[:, None]
        xc = Xs - np.repeat(xbar, sizes, axis=0)
        return llf, grad, -(xc * mu[:, None]).T @ xc

    k = X.shape[1]
    if k:
        res = newton(derivs, np.zeros(k), tol=tol, maxiter=maxiter)
        b, converged, message = res.params, bool(res.info["converged"]), res.info["message"]
        _, _, H = derivs(b, 2)
    else:
        b, converged, message, H = np.zeros(0), True, "no slopes: nothing to maximise", np.zeros((0, 0))
    a, mu, llf = state(b)
    scores = (Xs * (ys - mu)[:, None])[inv]
    return {"b": b, "a": a, "llf": llf, "H": H, "scores": scores, "converged": converged,
            "message": message}


def poisson_fe(endog, exog, groups, *, time=None, exposure=None, offset=None,
               cov_type: str = "cluster", use_correction: bool = True) -> CountPanelResults:
    """Poisson with panel dummies (and year dummies if ``time`` is given).

    Parameters
    ----------
    endog : counts (Series or array).
    exog : regressors (DataFrame, no constant needed: a constant and G-1 panel dummies are
        implied; an ``Intercept`` column is absorbed by them).
    groups : panel identifier per row (also the cluster variable).
    time : period per row; if given, year dummies ``year_<t>`` for every period but the first.
    exposure, offset : as in statsmodels (the mean is exp(x'b + offset + ln exposure)).
    cov_type : "cluster" (by panel; Stata ``xtpoisson, fe vce(robust)``; alias "robust") or
        "oim" (alias "nonrobust").
    use_correction : apply Stata's G/(G-1) to the cluster covariance.

    The panel constants are concentrated out (module docstring, "Computation of poisson_fe"):
    Newton runs on the slopes and year effects alone, so the cost grows with the number of
    rows, not with rows x panels; the estimates, llf and covariances are those of the
    dummy-variable ML fit (Stata ``poisson y x i.id``), the dummies included.

    Clusters and all-zero panels: a panel whose counts are all zero is dropped before
    estimation (its dummy has no finite estimate; see the module docstring), so it is not a
    cluster either. G, the number of clusters of the cluster covariance (in the meat and in
    G/(G-1)), and ``n_groups`` count only the panels with at least one positive count,
    ``dropped_groups`` names the others -- as Stata's ``xtpoisson, fe vce(robust)`` (which
    drops them first) and ``ppmlhdfe`` count them. Kept, such a panel would add a zero score to
    the meat but raise G, which only shrinks G/(G-1): the covariance would differ by the factor
    (G+z)/(G+z-1) * (G-1)/G for z all-zero panels, with no information behind it.

    Raises :class:`regrowth.errors.EstimationError` when a regressor does not vary within any
    panel (it is absorbed by the panel dummies) or the regressors are collinear with them.

    Returns
    -------
    :class:`CountPanelResults` whose ``params`` are the slopes (and year effects) in the
    units of exog (log points of the mean per unit of the regressor); ``full_params`` adds
    ``Intercept`` (the first panel's constant, panels in sort order) and ``panel[<g>]`` (each
    other panel's constant minus it), in log points; ``llf`` is the dummy-variable Poisson
    log likelihood.
    """
    cov_type = _check_cov_type(cov_type, ("cluster", "oim"))
    y, X, g, off, zero = _prepare(endog, exog, groups, exposure, offset, constant=True)
    slopes = [c for c in X.columns if c != "Intercept"]
    D = _dummy_design(X[slopes], g, time, endog, y, panels=False)
    report = list(D.columns)
    codes, levels = pd.factorize(g.to_numpy(), sort=True)
    Dv = D.to_numpy()
    if len(y) and report:
        # a column with no within-panel variation is absorbed by the panel dummies
        means = np.column_stack([np.bincount(codes, col) for col in Dv.T]) \
            / np.bincount(codes)[:, None]
        spread = np.abs(Dv - means[codes]).max(axis=0)
        scale = np.maximum(1.0, np.abs(Dv).max(axis=0))
        fixed = [str(c) for c, s, m in zip(report, spread, scale) if s <= 1e-12 * m]
        if fixed:
            raise EstimationError(
                f"Poisson with panel dummies: {', '.join(fixed)} do(es) not vary within any "
                "panel (absorbed by the panel dummies); drop it from exog")
    fit = _concentrated_poisson(y.to_numpy(), Dv, off, codes)
    if not fit["converged"]:
        warnings.warn(f"Poisson with panel dummies did not converge: {fit['message']}",
                      ConvergenceWarning, stacklevel=2)
    try:
        hinv = np.linalg.inv(-fit["H"])
    except np.linalg.LinAlgError:
        raise EstimationError(
            f"Poisson with panel dummies: the columns {', '.join(report)} are collinear with "
            "the panel dummies (singular Hessian); drop one of them") from None
    if cov_type == "oim":
        cov = hinv
    else:
        cov = _sandwich(hinv, fit["scores"], g.to_numpy(), use_correction)
    a = fit["a"]
    full = pd.concat([
        pd.Series([a[0]] if len(a) else [], index=["Intercept"] if len(a) else [], dtype=float),
        pd.Series(fit["b"], index=report),
        pd.Series(a[1:] - a[0], index=[_panel_name(v) for v in levels[1:]], dtype=float)])
    effects = "panel + year" if time is not None else "panel"
    return CountPanelResults(
        params=full[report], cov=pd.DataFrame(cov, index=report, columns=report),
        llf=fit["llf"], nobs=len(y), n_groups=len(levels), converged=fit["converged"],
        cov_type=cov_type, effects=effects, dropped_groups=zero, full_params=full,
        command=("poisson y x i.year i.id, vce(cluster id) == xtpoisson y x i.year, fe vce(robust)"
                 if time is not None else "xtpoisson y x, fe vce(robust)"),
        extra={"slopes": slopes})


def conditional_poisson(endog, exog, groups, *, exposure=None, offset=None,
                        cov_type: str = "oim", use_correction: bool = True,
                        tol: float = 1e-12, maxiter: int = 100) -> CountPanelResults:
    """Stata ``xtpoisson, fe``: maximise the conditional (multinomial) likelihood directly.

    ``exog`` must not contain a constant or panel-invariant columns (they are not identified).
    ``llf`` is the conditional log likelihood as Stata reports it. ``cov_type="cluster"`` gives
    Wooldridge's robust covariance (times G/(G-1) if ``use_correction``).
    """
    cov_type = _check_cov_type(cov_type, ("cluster", "oim"))
    y, X, g, off, zero = _prepare(endog, exog, groups, exposure, offset, constant=False)
    spread = X.groupby(g.to_numpy()).transform(lambda c: c - c.mean()).abs().max()
    fixed = [str(c) for c in X.columns if spread[c] <= 1e-12 * max(1.0, X[c].abs().max())]
    if fixed:
        raise EstimationError(f"conditional Poisson: {', '.join(fixed)} do(es) not vary within "
                              "any panel and is not identified; drop it (and any constant)")
    codes, uniq = pd.factorize(g.to_numpy())
    Xv, yv = X.to_numpy(), y.to_numpy()
    n_i = np.bincount(codes, weights=yv)
    const = float(np.sum(special.gammaln(n_i + 1)) - np.sum(special.gammaln(yv + 1)))

    def pieces(b):
        eta = Xv @ b + off
        eta = eta - (np.bincount(codes, eta) / np.bincount(codes))[codes]  # stabilise
        e = np.exp(eta)
        den = np.bincount(codes, e)
        p = e / den[codes]
        llf = const + float(np.sum(yv * np.log(p)))
        xbar = np.column_stack([np.bincount(codes, p * Xv[:, j]) for j in range(Xv.shape[1])])
        resid = yv - n_i[codes] * p
        scores = Xv * resid[:, None]
        xc = Xv - xbar[codes]
        H = -(xc * (n_i[codes] * p)[:, None]).T @ xc
        return llf, scores, H

    b = np.zeros(Xv.shape[1])
    llf, scores, H = pieces(b)
    converged = False
    for _ in range(maxiter):
        grad = scores.sum(0)
        step = np.linalg.solve(-H, grad)
        if float(grad @ step) < tol:
            converged = True
            nl, ns, nH = pieces(b + step)  # one more full Newton step (polish)
            if nl >= llf - 1e-13 * abs(llf):
                b, llf, scores, H = b + step, nl, ns, nH
            break
        t = 1.0
        while t > 1e-10:
            nl, ns, nH = pieces(b + t * step)
            if nl >= llf - 1e-12 * abs(llf):
                break
            t /= 2
        b, llf, scores, H = b + t * step, nl, ns, nH
    if not converged:
        warnings.warn("conditional Poisson did not converge", ConvergenceWarning, stacklevel=2)
    hinv = np.linalg.inv(-H)
    cov = hinv if cov_type == "oim" else _sandwich(hinv, scores, g.to_numpy(), use_correction)
    names = list(X.columns)
    return CountPanelResults(
        params=pd.Series(b, index=names), cov=pd.DataFrame(cov, index=names, columns=names),
        llf=llf, nobs=len(y), n_groups=len(uniq), converged=converged, cov_type=cov_type,
        command="xtpoisson y x, fe" + (" vce(robust)" if cov_type == "cluster" else ""),
        effects="panel (conditional)", dropped_groups=zero)


# ----------------------------------------------------------------------------- NB2

def nb2_dummies(endog, exog, groups, *, time=None, exposure=None, offset=None,
                cov_type: str = "cluster") -> CountPanelResults:
    """NB2 (constant alpha, Stata ``nbreg``) with panel (and year) dummies.

    Fitted with :class:`regrowth.models.GeneralizedNegativeBinomial`; reports the slopes, the
    year effects and ``lnalpha:Intercept``. ``cov_type``: "cluster" (by panel, G/(G-1)) or "oim".
    """
    cov_type = _check_cov_type(cov_type, ("cluster", "oim"))
    y, X, g, off, zero = _prepare(endog, exog, groups, exposure, offset, constant=True)
    D = _dummy_design(X, g, time, endog, y)
    model = GeneralizedNegativeBinomial(y, D, None, offset=off, groups=g.to_numpy())
    res = model.fit(cov_type="cluster" if cov_type == "cluster" else "nonrobust")
    names = list(res.params.index)
    report = [n for n in names if n != "Intercept" and not n.startswith("panel[")]
    cov = res.cov_params().loc[report, report]
    return CountPanelResults(
        params=res.params[report], cov=cov, llf=float(res.llf), nobs=int(res.nobs),
        n_groups=int(g.nunique()), converged=bool(res.converged), cov_type=cov_type,
        command="nbreg y x i.id" + (" i.year" if time is not None else "")
        + (", vce(cluster id)" if cov_type == "cluster" else ""),
        effects="panel + year" if time is not None else "panel", dropped_groups=zero,
        full_params=res.params)


# ----------------------------------------------------------------------------- variation

def within_between_sd(values, groups) -> dict[str, float]:
    """Overall, between and within standard deviations as Stata's ``xtsum`` reports them.

    overall: sd of x_it (n - 1 denominator); between: sd of the panel means xbar_i across
    panels (each panel once, G - 1 denominator); within: sd of x_it - xbar_i + xbar over all
    observations (n - 1 denominator). Returns also ``n``, ``n_groups`` and ``mean``, in the
    units of ``values``.
    """
    x = pd.Series(np.asarray(values, dtype=float))
    g = pd.Series(np.asarray(groups))
    ok = x.notna().to_numpy() & g.notna().to_numpy()
    x, g = x[ok].reset_index(drop=True), g[ok].reset_index(drop=True)
    means = x.groupby(g).transform("mean")
    within = x - means + x.mean()
    return {"mean": float(x.mean()), "overall_sd": float(x.std(ddof=1)),
            "between_sd": float(x.groupby(g).mean().std(ddof=1)),
            "within_sd": float(within.std(ddof=1)), "n": len(x),
            "n_groups": int(g.nunique())}


# ----------------------------------------------------------------------------- registry

def _spec_design(spec, data: pd.DataFrame):
    """(y, X without constant: regressors + year dummies, province of each row, exposure)."""
    y = data[spec.outcome].astype(float).rename(spec.outcome)
    X = pd.concat([data[list(spec.regressors)].astype(float),
                   effect_dummies(spec, data, province=False)], axis=1)
    exposure = data[spec.exposure].astype(float) if spec.exposure else None
    return y, X, data.index.get_level_values("region").to_numpy(), exposure


def _panel_clusters_only(spec) -> None:
    if spec.se_type == "cluster" and spec.se_groups != "region":
        raise SpecificationError(
            f"{spec.name}: {spec.estimator} clusters by its panel, the province (Stata's "
            f"vce(robust) after xtpoisson, fe); se.groups must be 'region', not {spec.se_groups!r}")


def fit_xtpoisson_spec(spec, data: pd.DataFrame) -> CountPanelResults:
    """Stata ``xtpoisson y x [i.year], fe [vce(robust)]`` for a spec column: the conditional
    Poisson (:func:`conditional_poisson`); province effects are conditioned out."""
    _panel_clusters_only(spec)
    y, X, regions, exposure = _spec_design(spec, data)
    res = conditional_poisson(y, X, regions, exposure=exposure, cov_type=spec.se_type)
    res.included_effects = ("Entity",)
    return res


register(Estimator(
    name="xtpoisson", label="xtpoisson, fe (conditional Poisson)", stata="xtpoisson, fe",
    family="count",
    doc="conditional (fixed-effects) Poisson; slopes == Poisson with province dummies",
    se_types=("oim", "cluster"), default_se="oim", exposure=True,
    year_effects="dummies", province_effects="implied", fit=fit_xtpoisson_spec,
))
