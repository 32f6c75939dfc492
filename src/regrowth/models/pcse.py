"""Panel-corrected standard errors (Beck and Katz 1995): Stata's ``xtpcse``.

OLS (or, with AR(1) errors, Prais-Winsten) coefficients, with a covariance that
allows the disturbances to be heteroskedastic across panels and contemporaneously
correlated between panels, estimated *without* inverting the N x N cross-panel
covariance. This is Beck and Katz's answer to the overconfidence of Parks-Kmenta
FGLS (``xtgls, panels(correlated)``) when T is not much larger than N: FGLS plugs a
noisy N x N estimate into the weights *and* treats it as known, and its standard
errors can be a fraction of the truth (Beck & Katz 1995, APSR 89(3), Table 4).

Model and estimator
-------------------
Panels ``i = 1..N``, periods ``t``; e_it the residual of the (possibly
Prais-Winsten transformed) OLS regression of y on X. Let X_t be the rows of X for
the panels observed in period t::
    b = (X'X)^-1 X'y                                        (OLS or Prais-Winsten)
    Sigma_hat_ij = sum_{t in T_ij} e_it e_jt / |T_ij|        (N x N)
    V = (X'X)^-1 X' Omega X (X'X)^-1,   Omega = Sigma_hat (x) I_T,
    X' Omega X = sum_t X_t' Sigma_hat[obs_t, obs_t] X_t

For a balanced panel the middle matrix is literally X'(Sigma_hat (x) I_T)X with
the data stacked by period. ``T_ij`` is the set of periods used for the (i, j)
element:

* ``pairwise=False`` (Stata's default ``casewise``): the periods in which *every*
  panel is observed, the same set for all elements (Sigma_hat is then positive
  semidefinite). An error if there is no such period.
* ``pairwise=True`` (Stata ``pairwise``): the periods common to panels i and j.
  Elements of panels that never overlap are set to 0 (they never meet in the
  middle matrix). The result need not be positive semidefinite.

Sigma_hat needs T >= 2 periods (casewise: 2 periods in which every panel is
observed): with one period t, Sigma_hat = e_t e_t' and X' Omega X =
(X_t'e_t)(X_t'e_t)' = 0, because OLS residuals are orthogonal to X, so every
standard error would be 0 and every p-value 0. ``fit`` refuses such a sample with an
:class:`~regrowth.errors.EstimationError` (``hetonly`` too: each sigma_i^2 would be one
squared residual); ``independent`` is the OLS covariance and needs no periods.

Alternative forms of Sigma (Stata's options of the same names):

* ``hetonly=True``: Sigma_hat = diag(sigma_i^2), sigma_i^2 = e_i'e_i / T_i;
  X' Omega X = sum_i sigma_i^2 X_i'X_i.
* ``independent=True``: Sigma_hat = sigma^2 I, sigma^2 = e'e / n, so
  V = sigma^2 (X'X)^-1: the conventional OLS covariance with divisor n
  (divisor n - k with ``nmk``, i.e. exactly ``regress``'s covariance).

``nmk=True`` (Stata ``nmk``) multiplies V by n / (n - k): "normalize standard
errors by N - k instead of N".

Autocorrelation (``correlation``)
---------------------------------
``"independent"`` (default): OLS on the data as they are.

``"ar1"`` / ``"psar1"``: Prais-Winsten. From the OLS residuals compute each
panel's rho_i with ``rhotype`` (same formulas as :mod:`regrowth.models.fgls`;
e are a panel's residuals in time order, lagged sums over t >= 2)::
    regress  sum e_t e_t-1 / sum e_t-1^2          (default)
    freg     sum e_t e_t-1 / sum_{t>=2} e_t^2
    tscorr   sum e_t e_t-1 / sum e_t^2
    dw       1 - DW/2,   DW = sum (e_t - e_t-1)^2 / sum e_t^2
    theil    (T_i - k) sum e_t e_t-1 / ((T_i - 1) sum e_t^2)     (as xtgls)
    nagar    (T_i^2 (1 - DW/2) + k^2) / (T_i^2 - k^2)             (as xtgls)

(``xtpcse`` documents regress, freg, tscorr and dw; theil and nagar are the
``xtgls`` extensions, kept for symmetry.) ``psar1`` uses rho_i; ``ar1`` one common
rho = sum_i w_i rho_i / sum_i w_i with w_i = T_i - 1 (Stata's default) or
w_i = T_i (option ``np1``); for balanced panels the two agree. Then, within each
panel (the constant column is transformed like every regressor)::
    z*_i1 = sqrt(1 - rho_i^2) z_i1          (first observation kept, Prais-Winsten)
    z*_it = z_it - rho_i z_i,t-1            (t >= 2)

and b, e and V above are computed from the transformed y* and X*. |rho| >= 1
stops with an :class:`~regrowth.errors.EstimationError`. AR(1) needs regularly
spaced periods within panels (else ``force=True`` treats consecutive observations
as adjacent); single-observation panels are dropped, with a warning.

Reachable as ``fit_panel("pcse", formula, data, model_options={...})`` and as
``estimator = "pcse"`` in specs/models.toml (``se = { type = "pcse" }``, the only
covariance; the options below are the spec's ``options``), through the registration
block at the end of this module.

Reported: z statistics and normal p-values (Stata's ``z`` column), Wald chi2 of
all slopes, R-squared 1 - e'e / sum (y* - mean(y*))^2 of the estimated (possibly
transformed) regression.

Mapping to Stata's options
--------------------------
==================================  =====================================================
Stata ``xtpcse``                    regrowth (``fit_panel("pcse", ..., model_options=``)
==================================  =====================================================
``correlation(independent|ar1|psar1)``  ``correlation="independent"|"ar1"|"psar1"``
``rhotype(regress|freg|tscorr|dw)``  ``rhotype=...`` (plus ``theil``, ``nagar``)
``np1``                             ``np1=True``
``hetonly``                         ``hetonly=True``
``independent``                     ``independent=True``
``casewise`` (default) / ``pairwise``  ``pairwise=False`` / ``pairwise=True``
``nmk``                             ``nmk=True`` (``fit`` option; also accepted in
                                    ``model_options`` by ``fit_panel``)
``noconstant``                      leave the constant out of the formula (``y ~ 0 + x``)
``e(Sigma)``, ``e(rho)``/``e(rhomat)``  ``sigma``, ``rho``
==================================  =====================================================

R has no Debian package for PCSE (CRAN's ``pcse`` is not packaged); the
reference for the tests is an independent R transcription of the formulas above
(tests/fixtures/pcse/make_pcse_fixtures.R).
"""

from __future__ import annotations

import functools
import sys
from typing import Any

import numpy as np
import pandas as pd
from linearmodels.panel.results import PanelResults
from linearmodels.shared.utility import AttrDict

from regrowth.errors import DataError, EstimationError, SpecificationError
from regrowth.models._checks import format_list, panel_rhos
from regrowth.models.fgls import PanelFGLS, _is_constant
from regrowth.models.fgls_results import GLSResultsMixin, _info
from regrowth.models.design import effect_dummies
from regrowth.models.registry import get
from regrowth.models.registry import Estimator, Option, register, register_se_type

__all__ = ["CORRELATIONS", "RHOTYPES", "PanelPCSE", "PanelPCSEResults"]

CORRELATIONS = ("independent", "ar1", "psar1")
RHOTYPES = ("regress", "freg", "tscorr", "dw", "theil", "nagar")
_CORR_TEXT = {"independent": "no autocorrelation",
              "ar1": "common AR(1)", "psar1": "panel-specific AR(1)"}


class PanelPCSE:
    """Linear regression with panel-corrected standard errors (Stata ``xtpcse``).

    Parameters
    ----------
    dependent : Series (or one-column DataFrame) on an (entity, time) MultiIndex.
    exog : DataFrame on the same index (include a constant column for an intercept;
        ``from_formula`` adds it with ``1 +``).
    correlation : "independent" (OLS), "ar1" or "psar1" (Prais-Winsten).
    rhotype : "regress" (default), "freg", "tscorr", "dw", "theil", "nagar".
    np1 : weight panel rho_i by T_i instead of T_i - 1 for the common ``ar1`` rho.
    hetonly : Sigma diagonal (panel heteroskedasticity only).
    independent : Sigma = sigma^2 I (one common variance).
    pairwise : pairwise instead of casewise periods for Sigma's elements.
    force : AR(1) with irregularly spaced periods: treat consecutive observations as
        adjacent.

    See the module docstring for the formulas.
    """
    def __init__(self, dependent: Any, exog: Any, *, correlation: str = "independent",
                 rhotype: str = "regress", np1: bool = False, hetonly: bool = False,
                 independent: bool = False, pairwise: bool = False, force: bool = False):
        self._setup(correlation, rhotype, np1, hetonly, independent, pairwise, force)
        self._data = PanelFGLS(dependent, exog, panels="hetero", corr=self.correlation,
                               rhotype=self.rhotype, force=self.force)
        self.formula: str | None = None

    def _setup(self, correlation, rhotype, np1, hetonly, independent, pairwise, force):
        corr = str(correlation).lower()
        if corr not in CORRELATIONS:
            raise EstimationError(f"correlation={correlation!r} is not one of {CORRELATIONS}")
        if rhotype not in RHOTYPES:
            raise EstimationError(f"rhotype={rhotype!r} is not one of {RHOTYPES}")
        if hetonly and independent:
            raise EstimationError("hetonly and independent are alternatives; give one")
        self.correlation = corr
        self.rhotype = rhotype
        self.np1 = bool(np1)
        self.hetonly = bool(hetonly)
        self.independent = bool(independent)
        self.pairwise = bool(pairwise)
        self.force = bool(force)

    @classmethod
    def from_formula(cls, formula: str, data: pd.DataFrame, *, context: Any = 0,
                     **kwargs: Any) -> PanelPCSE:
        """Build the model from a formula such as ``"y ~ 1 + x1 + x2"`` (formulaic).

        ``data`` must carry an (entity, time) MultiIndex; ``context`` is the namespace of
        the functions the formula calls (0, the default, is the caller's; or a dict), as
        in :meth:`PanelFGLS.from_formula`; other keyword arguments go to the constructor.
        """
        if isinstance(context, int):
            frame = sys._getframe(1 + context)
            context = {**frame.f_globals, **frame.f_locals}
        obj = cls.__new__(cls)
        names = ("correlation", "rhotype", "np1", "hetonly", "independent", "pairwise",
                 "force")
        unknown = set(kwargs) - set(names)
        if unknown:
            raise EstimationError(f"unknown PanelPCSE options: {sorted(unknown)}; "
                                  f"choose from {list(names)}")
        defaults = {"correlation": "independent", "rhotype": "regress", "np1": False,
                    "hetonly": False, "independent": False, "pairwise": False,
                    "force": False}
        opts = {**defaults, **kwargs}
        obj._setup(*(opts[n] for n in names))
        obj._data = PanelFGLS.from_formula(formula, data, context=context, panels="hetero",
                                           corr=obj.correlation, rhotype=obj.rhotype,
                                           force=obj.force)
        obj.formula = formula
        return obj

    @property
    def dependent_name(self) -> str:
        return self._data.dependent_name

    @property
    def exog_names(self) -> list[str]:
        return list(self._data.exog_names)

    # linearmodels/statsmodels names read by compare() and summary_col
    @property
    def endog_names(self) -> str:
        return self._data.dependent_name

    @property
    def dependent(self):
        """The dependent variable as linearmodels ``PanelData`` (input rows)."""
        return self._data.dependent

    @property
    def exog(self):
        """The regressors as linearmodels ``PanelData`` (input rows)."""
        return self._data.exog

    # ------------------------------------------------------------------- fit
    def _transform(self, y, x, g, first, n_g, sizes, entities, k_rho):
        """Prais-Winsten data and rho (None, the common rho, or a Series by panel)."""
        d = self._data
        if self.correlation == "independent":
            return y, x, None
        b0 = np.linalg.lstsq(x, y, rcond=None)[0]
        e0 = y - x @ b0
        rho_i = d._rho(e0, g, first, n_g, k_rho)
        w = sizes.astype(float) - (0.0 if self.np1 else 1.0)   # Stata's T_i - 1, or T_i (np1)
        rho_panel = panel_rhos(rho_i, self.correlation, entities=entities,
                               rhotype=self.rhotype, weights=w)
        rho_out: Any = (float(rho_panel[0]) if self.correlation == "ar1"
                        else pd.Series(rho_panel, index=entities, name="rho"))
        rho_obs = rho_panel[g]
        return d._prais_winsten(y, rho_obs, first), d._prais_winsten(x, rho_obs, first), rho_out

    def _meat(self, e, xs, g, t, present, sizes, n):
        """Sigma (N x N), the sandwich's meat and the number of residual products behind
        Sigma, for ``independent``, ``hetonly``, pairwise and casewise PCSE."""
        n_t, n_g = present.shape
        k = xs.shape[1]
        # Dense period x panel layout (zeros where a panel is not observed).
        e_tn = np.zeros((n_t, n_g))
        e_tn[t, g] = e
        if self.independent:
            s2 = float(e @ e / n)
            return np.eye(n_g) * s2, s2 * (xs.T @ xs), n
        if self.hetonly:
            s2_i = np.bincount(g, weights=e * e, minlength=n_g) / sizes
            w = s2_i[g]
            return np.diag(s2_i), (xs * w[:, None]).T @ xs, n
        if self.pairwise:
            pf = present.astype(float)
            t_ij = pf.T @ pf
            with np.errstate(invalid="ignore", divide="ignore"):
                sigma = np.where(t_ij > 0, (e_tn.T @ e_tn) / t_ij, 0.0)
            n_sigma = int(present.sum())
        else:
            full = present.all(axis=1)
            if not full.any():
                raise DataError(
                    "casewise PCSE needs at least one period in which every panel is "
                    "observed, and there is none",
                    hint="use pairwise=True (Stata's pairwise) or balance the sample")
            ec = e_tn[full]
            sigma = ec.T @ ec / int(full.sum())
            n_sigma = int(full.sum()) * n_g
        x_tn = np.zeros((n_t, n_g, k))
        x_tn[t, g] = xs
        return sigma, np.einsum("tik,ij,tjl->kl", x_tn, sigma, x_tn, optimize=True), n_sigma

    def _check_periods(self, present: np.ndarray, periods) -> None:
        """Refuse a Sigma estimated from fewer than 2 periods (the module docstring's T >= 2).

        With one period t, Sigma_hat = e_t e_t' and X' Omega X = (X_t'e_t)(X_t'e_t)' = 0 (OLS
        residuals are orthogonal to X): every standard error would be 0 and every p-value 0.
        ``hetonly`` needs T >= 2 for the same reason (sigma_i^2 from one residual each);
        ``independent`` is the OLS covariance and needs no periods.
        """
        if self.independent:
            return
        if self.hetonly or self.pairwise:
            used, what = present.any(axis=1), "period(s)"
        else:
            used, what = present.all(axis=1), "period(s) in which every panel is observed"
        if int(used.sum()) >= 2 or not used.any():   # none at all: _meat's casewise error
            return
        shown = format_list(pd.Index(periods)[used].tolist())
        if self.hetonly:
            form = "each panel's variance"
            why = ("each panel's variance sigma_i^2 would be one squared residual (the "
                   "heteroskedasticity-robust covariance of one cross-section, not a panel "
                   "variance)")
        else:
            form = "the cross-panel covariance Sigma"
            why = "Sigma = e e' and X' Sigma X = 0, so every standard error would be 0"
        raise EstimationError(
            f"panel-corrected standard errors estimate {form} from the residuals of each "
            f"period, and the sample has 1 {what} ({shown}): with one period {why}. PCSE "
            "needs T >= 2 periods (Beck and Katz advise T of 10 or more); widen the sample's "
            "years" + ("" if self.pairwise or self.hetonly else
                       ", use pairwise=True (periods common to each pair)")
            + ", or use independent=True (the OLS covariance)")

    def fit(self, *, nmk: bool = False) -> PanelPCSEResults:
        """Estimate the coefficients and their panel-corrected covariance.

        Parameters
        ----------
        nmk : multiply the covariance by n / (n - k) (Stata ``nmk``).

        Returns
        -------
        :class:`PanelPCSEResults`.
        """
        d = self._data
        keep = d._check_panels(d._g, d._t, d._time_values)
        y, x = d._y[keep], d._x[keep]
        g_raw, t_raw = d._g[keep], d._t[keep]
        index = d._index[keep]
        n, k = x.shape
        if n <= k:
            raise EstimationError(f"{n} observations cannot identify {k} coefficients")
        rank = np.linalg.matrix_rank(x)
        if rank < k:
            raise EstimationError(f"exog is rank deficient (rank {rank} < {k} columns); "
                                  "drop collinear regressors")
        g, g_used = pd.factorize(g_raw, sort=True)
        t, t_used = pd.factorize(t_raw, sort=True)
        g = g.astype(np.intp)
        t = t.astype(np.intp)
        entities = d._entities[g_used]
        periods = d._times[t_used]
        n_g, n_t = entities.size, periods.size
        sizes = np.bincount(g, minlength=n_g)
        first = np.r_[True, g[1:] != g[:-1]]
        const_cols = [j for j in range(k) if _is_constant(x[:, j])]

        ys, xs, rho_out = self._transform(y, x, g, first, n_g, sizes, entities,
                                          k - len(const_cols))
        xtx_inv = np.linalg.inv(xs.T @ xs)
        beta = xtx_inv @ (xs.T @ ys)
        e = ys - xs @ beta

        present = np.zeros((n_t, n_g), dtype=bool)
        present[t, g] = True
        self._check_periods(present, periods)
        sigma, meat, n_sigma = self._meat(e, xs, g, t, present, sizes, n)
        cov = xtx_inv @ meat @ xtx_inv
        cov = (cov + cov.T) / 2.0
        if nmk:
            cov = cov * n / (n - k)
        yc = ys - ys.mean()
        rsquared = 1.0 - float(e @ e) / float(yc @ yc)
        return PanelPCSEResults(
            model=self, params=beta, cov=cov, sigma=sigma, rho=rho_out, nobs=n,
            entities=entities, periods=periods, sizes=sizes, index=index, y=y, x=x,
            resid_transformed=e, const_cols=const_cols, nmk=nmk, rsquared=rsquared,
            n_sigma=n_sigma, balanced=bool(present.all()), g_codes=g, t_codes=t, ys=ys)


class Summary(str):
    """Plain-text summary (a ``str`` with ``as_text``, printed as is in notebooks)."""
    def as_text(self) -> str:
        return str(self)

    def __repr__(self) -> str:
        return str(self)


class PanelPCSEResults(GLSResultsMixin, PanelResults):
    """Results of :class:`PanelPCSE`: a linearmodels panel results object.

    A subclass of ``linearmodels.panel.results.PanelResults`` (as
    :class:`~regrowth.models.fgls.PanelFGLSResults`), so ``linearmodels.panel.compare``,
    statsmodels' ``summary_col`` and :mod:`regrowth.tidy` read it. ``params``,
    ``std_errors`` (= ``bse``), ``tstats`` (z statistics, Stata's ``z`` column),
    ``pvalues`` and ``conf_int()`` use the normal distribution, as ``xtpcse`` does;
    ``cov`` is the panel-corrected covariance (``cov_type`` "Panel-corrected", with
    " (nmk)" under ``nmk``); ``rsquared`` is 1 - e'e / centred TSS of the estimated
    (Prais-Winsten transformed) regression, as ``xtpcse`` reports it; ``wald`` (alias
    ``f_statistic``) is the Wald chi2 that every coefficient but the constant is zero.
    ``resids`` are y - x'b on the original scale, ``wresids`` the residuals of the
    transformed regression (they estimate Sigma). Also: ``rho`` (float for ``ar1``,
    Series by entity for ``psar1``, None otherwise), ``sigma`` (Stata's ``e(Sigma)``),
    ``n_sigma``, ``n_panels``, ``n_periods``, ``panel_sizes``, ``balanced``,
    ``n_covariances`` and the ``summary`` property.
    """
    def __init__(self, *, model, params, cov, sigma, rho, nobs, entities, periods, sizes,
                 index, y, x, resid_transformed, const_cols, nmk, rsquared, n_sigma,
                 balanced, g_codes, t_codes, ys):
        names = list(model.exog_names)
        k = len(names)
        fitted = x @ params
        resid = y - fitted
        cov_arr = np.array(cov, dtype=float)
        yc = ys - ys.mean()
        wald = self._model_wald(params, cov_arr, const_cols, k)
        nan = float("nan")
        res = AttrDict(
            params=pd.Series(params, index=names),
            deferred_cov=functools.partial(np.asarray, cov_arr),
            debiased=False, df_resid=int(nobs - k), df_model=k, nobs=int(nobs),
            name="PanelPCSE", var_names=names,
            residual_ss=float(resid_transformed @ resid_transformed), total_ss=float(yc @ yc),
            r2=float(rsquared), r2w=nan, r2b=nan, r2o=nan, c2w=nan, c2b=nan, c2o=nan,
            s2=nan, entity_info=_info(g_codes), time_info=_info(t_codes), model=model,
            cov_type="Panel-corrected (nmk)" if nmk else "Panel-corrected",
            resids=resid, wresids=resid_transformed, index=index, f_info=None, f_stat=wald,
            loglik=nan,
            fitted=pd.DataFrame({"fitted_values": fitted}, index=index),
            effects=pd.DataFrame({"estimated_effects": np.full(int(nobs), nan)}, index=index),
            idiosyncratic=pd.DataFrame({"idiosyncratic": resid}, index=index),
            original_index=model._data._original_index, not_null=None)
        super().__init__(res)
        self._sigma = pd.DataFrame(sigma, index=entities, columns=entities)
        self._rho = rho
        self._entities = entities
        self._periods = periods
        self._sizes = pd.Series(sizes, index=entities, name="nobs")
        self._nmk = bool(nmk)
        self._n_sigma = int(n_sigma)
        self._balanced = bool(balanced)
        self._resid_series = pd.Series(resid, index=index, name="residual")

    # linearmodels / statsmodels names ---------------------------------------------
    @property
    def cov_type(self) -> str:
        """``"Panel-corrected"`` (n-normalised) or ``"Panel-corrected (nmk)"``."""
        return self._cov_type

    @property
    def resids(self) -> pd.Series:
        """y - x'b on the original (untransformed) scale."""
        return self._resid_series.copy()

    # PCSE specifics -----------------------------------------------------------------
    @property
    def rho(self):
        """AR(1) coefficient: float (ar1), Series by entity (psar1), None (independent)."""
        return self._rho.copy() if isinstance(self._rho, pd.Series) else self._rho

    @property
    def sigma(self) -> pd.DataFrame:
        """Sigma_hat, the N x N cross-panel covariance used in the middle matrix."""
        return self._sigma.copy()

    @property
    def n_panels(self) -> int:
        return int(self._entities.size)

    @property
    def n_periods(self) -> int:
        return int(self._periods.size)

    @property
    def n_sigma(self) -> int:
        """Observations used to estimate the elements of Sigma (Stata ``e(n_sigma)``)."""
        return self._n_sigma

    @property
    def panel_sizes(self) -> pd.Series:
        return self._sizes.copy()

    @property
    def balanced(self) -> bool:
        return self._balanced

    @property
    def n_covariances(self) -> int:
        """Estimated covariances (Stata ``e(n_cv)``)."""
        m, n = self.model, self.n_panels
        return 1 if m.independent else n if m.hetonly else n * (n + 1) // 2

    @property
    def summary(self) -> Summary:
        """Estimation summary in Stata ``xtpcse``'s layout (plain text, 95% intervals)."""
        m = self.model
        title = ("Linear regression, " if m.correlation == "independent"
                 else "Prais-Winsten regression, ")
        title += ("independent panels corrected standard errors" if m.independent else
                  "heteroskedastic panels corrected standard errors" if m.hetonly else
                  "correlated panels corrected standard errors (PCSEs)")
        corr = f"Autocorrelation: {_CORR_TEXT[m.correlation]}"
        if m.correlation == "ar1":
            corr += f" (rho = {self._rho:.4f})"
        sz = self._sizes
        w = self.wald
        wald_line = (f"Wald chi2({w.df}) = {w.stat:.2f}    Prob > chi2 = {w.pval:.4f}"
                     if np.isfinite(getattr(w, "stat", float("nan"))) else "")
        lines = [title, "",
                 (f"Panels:          {'balanced' if self._balanced else 'unbalanced'}, "
                  f"{'pairwise' if m.pairwise else 'casewise'}"),
                 corr, "",
                 f"Number of obs    = {self.nobs:>8}    Number of groups = {self.n_panels:>6}",
                 f"Obs per group: min = {sz.min()}, avg = {sz.mean():.1f}, max = {sz.max()}",
                 (f"Estimated covariances = {self.n_covariances}    R-squared = "
                  f"{self.rsquared:.4f}"),
                 wald_line, ""]
        ci = self.conf_int()
        lines.append("-" * 78)
        lines.append(f"{'':>12} |          Panel-corrected")
        lines.append(f"{m.dependent_name[:12]:>12} | {'Coefficient':>11} {'Std. err.':>10} "
                     f"{'z':>7} {'P>|z|':>6}  {'[95% conf. interval]':>25}")
        lines.append("-" * 13 + "+" + "-" * 64)
        params, se, z, p = self.params, self.std_errors, self.tstats, self.pvalues
        for name in params.index:
            lines.append(f"{name[:12]:>12} | {params[name]:>11.6g} {se[name]:>10.6g} "
                         f"{z[name]:>7.2f} {p[name]:>6.3f}  {ci.loc[name, 'lower']:>12.6g} "
                         f"{ci.loc[name, 'upper']:>12.6g}")
        lines.append("-" * 78)
        if m.correlation == "psar1":
            lines.append("rho_i: " + ", ".join(f"{k}={v:.4f}" for k, v in self._rho.items()))
        if self._nmk:
            lines.append("Standard errors normalised by n - k (nmk).")
        return Summary("\n".join(lines))

    def __repr__(self) -> str:
        return str(self.summary)


# ----------------------------------------------------------------------------- registry
# One self-contained registration block (see regrowth.models.registry): makes "pcse" an
# estimator of specs/models.toml and of fit_panel("pcse", ...).

def _fit_panel_pcse(formula_or_dependent, data, *, cov_type, model_options, **cov_kwds):
    """``fit_panel("pcse", ...)``: Stata ``xtpcse``; its covariance is the only one."""
    if cov_type not in ("unadjusted", "pcse", "nonrobust", "conventional"):
        raise SpecificationError(
            f"cov_type={cov_type!r} is not available for PCSE: the estimator's covariance "
            "is the panel-corrected one (options hetonly/independent/pairwise/nmk change it)")
    opts = dict(model_options)
    nmk = bool(opts.pop("nmk", False) or cov_kwds.pop("nmk", False))
    if cov_kwds:
        raise SpecificationError(f"unknown PCSE fit options: {sorted(cov_kwds)}")
    model = (PanelPCSE.from_formula(formula_or_dependent, data, **opts)
             if isinstance(formula_or_dependent, str)
             else PanelPCSE(formula_or_dependent, data, **opts))
    return model.fit(nmk=nmk)


def _fit_spec_pcse(spec, data: pd.DataFrame):
    """A ``specs/models.toml`` column with ``estimator = "pcse"``: outcome ~ 1 + regressors
    [+ year_<t>] [+ province_<key>] on the estimation sample, options from the spec."""
    entry = get("pcse")
    dummies = effect_dummies(spec, data)
    frame = pd.concat([data[[spec.outcome, *spec.regressors]].astype(float), dummies], axis=1)
    formula = f"{spec.outcome} ~ 1" + "".join(f" + {t}" for t in
                                               [*spec.regressors, *dummies.columns])
    opts = {o.name: spec.options.get(o.name, o.default) for o in entry.options}
    return _fit_panel_pcse(formula, frame, cov_type="pcse", model_options=opts)


def _register() -> None:
    register_se_type("pcse", "panel-corrected (Beck-Katz)")
    register(Estimator(
        name="pcse", label="xtpcse (PCSE)", stata="xtpcse", family="linear", reports=("ar1_rho",),
        doc="OLS or Prais-Winsten coefficients with Beck-Katz panel-corrected SEs",
        aliases=("xtpcse",),
        options=(
            Option("correlation", "str", "independent",
                   "xtpcse correlation(): within-panel autocorrelation (Prais-Winsten)",
                   choices=CORRELATIONS),
            Option("rhotype", "str", "regress", "xtpcse rhotype(): how rho is computed",
                   choices=RHOTYPES),
            Option("np1", "bool", False, "xtpcse np1: weight rho_i by T_i, not T_i - 1"),
            Option("hetonly", "bool", False,
                   "xtpcse hetonly: heteroskedastic panels, no cross-panel correlation"),
            Option("independent", "bool", False,
                   "xtpcse independent: one variance common to all panels"),
            Option("pairwise", "bool", False,
                   "xtpcse pairwise: Sigma_ij from the periods panels i and j share"),
            Option("nmk", "bool", False, "xtpcse nmk: normalise the covariance by n - k"),
            Option("force", "bool", False, "AR(1) with unequally spaced periods: treat "
                   "consecutive observations as adjacent"),
        ),
        se_types=("pcse",), default_se="pcse",
        year_effects="dummies", province_effects="dummies",
        fit=_fit_spec_pcse, fit_panel=_fit_panel_pcse,
    ))


_register()
