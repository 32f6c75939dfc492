"""Results of :class:`regrowth.models.fgls.PanelFGLS` (and the shared GLS results pieces of
:class:`regrowth.models.pcse.PanelPCSE`): a linearmodels ``PanelResults`` subclass with
``xtgls``'s numbers (rho, Sigma, panel variances, the header Wald test, ``llf`` where xtgls
reports one) and a ``summary`` laid out as Stata's."""

from __future__ import annotations

import copy
import functools
import math
from typing import Any

import numpy as np
import pandas as pd
from linearmodels.compat.statsmodels import Summary
from linearmodels.panel.results import PanelResults
from linearmodels.shared.hypotheses import InvalidTestStatistic, WaldTestStatistic
from linearmodels.shared.io import _str, pval_format
from linearmodels.shared.utility import AttrDict
from statsmodels.iolib.summary import SimpleTable, fmt_2cols, fmt_params

from regrowth.models.covariance import wald_test


__all__ = ["GLSResultsMixin", "PanelFGLSResults"]

_PANEL_SHORT = {"iid": "homoskedastic", "hetero": "heteroskedastic",
                "correlated": "heterosk., correlated"}
_CORR_SHORT = {"independent": "no autocorrelation", "ar1": "common AR(1)",
               "psar1": "panel-specific AR(1)"}


def _info(codes: np.ndarray) -> pd.Series:
    """linearmodels' entity_info/time_info: observations per group (mean, median, max, min)
    and the number of groups (total)."""
    counts = np.bincount(codes)
    counts = counts[counts > 0]
    return pd.Series({"mean": float(counts.mean()), "median": float(np.median(counts)),
                      "max": float(counts.max()), "min": float(counts.min()),
                      "total": float(counts.size)})


def _corr2(a: np.ndarray, b: np.ndarray) -> float:
    """Squared correlation; NaN when either series does not vary (up to rounding)."""
    for v in (a, b):
        if np.ptp(v) <= 1e-12 * np.max(np.abs(v)):
            return float("nan")
    a = a - a.mean()
    b = b - b.mean()
    den = float(np.sqrt((a @ a) * (b @ b)))
    return float((a @ b) / den) ** 2


class GLSResultsMixin:
    """What the GLS-type results of this package (:class:`PanelFGLSResults`,
    :class:`regrowth.models.pcse.PanelPCSEResults`) add to linearmodels' ``PanelResults``:
    Stata's header Wald chi2 test and statsmodels' names, which ``summary_col`` reads."""
    @staticmethod
    def _model_wald(params, cov, const_cols, k) -> WaldTestStatistic | InvalidTestStatistic:
        slopes = [i for i in range(k) if i not in const_cols]
        if not slopes:
            return InvalidTestStatistic("the model has no regressors besides the constant",
                                        name="Wald chi2")
        # the rank of the covariance is decided by the covariance module's documented
        # tolerance (RANK_RTOL, with a borderline band): a panel-corrected covariance with
        # year effects is rank deficient, and a plain solve() then either raised "Singular
        # matrix" or returned +-1e17 depending on the machine's rounding
        test = wald_test(params[slopes], cov[np.ix_(slopes, slopes)])
        if isinstance(test, InvalidTestStatistic):
            return InvalidTestStatistic(f"Wald chi2 not computable: {test._reason}",
                                        name="Wald chi2")
        return WaldTestStatistic(test.stat, "all coefficients except the constant are zero",
                                 len(slopes), name="Wald chi2")

    @property
    def wald(self) -> WaldTestStatistic:
        """Stata's header Wald chi2 test that every coefficient except the constant is
        zero (``stat``, ``df``, ``pval``); the same object as ``f_statistic``."""
        return self._f_stat

    # statsmodels names, for statsmodels.iolib.summary2.summary_col
    @property
    def bse(self) -> pd.Series:
        """Alias of ``std_errors`` (statsmodels' name; ``summary_col`` reads it)."""
        return self.std_errors

    @property
    def tvalues(self) -> pd.Series:
        """Alias of ``tstats`` (z statistics; statsmodels' name, ``summary_col`` reads it)."""
        return self.tstats


class PanelFGLSResults(GLSResultsMixin, PanelResults):
    """Results of :class:`PanelFGLS`: a linearmodels panel results object.

    It is a subclass of ``linearmodels.panel.results.PanelResults``, so everything written
    for linearmodels' results works on it, ``linearmodels.panel.compare`` included, and
    it carries the names statsmodels' ``summary_col`` reads (``bse``, ``tvalues``).

    Inference
        ``params``, ``std_errors``, ``tstats`` (z statistics: Stata's ``z`` column),
        ``pvalues`` and ``conf_int(level=0.95)`` use the normal distribution, as
        ``xtgls`` does; ``cov`` is the model-based covariance (n-normalised unless
        ``fit(nmk=True)``); ``cov_type`` is ``"Unadjusted"`` (Stata's conventional
        standard errors) or ``"Unadjusted (nmk)"``. ``wald_test()`` tests linear
        restrictions (linearmodels' signature: a restriction matrix and values, or
        ``formula="market = stock"``); ``wald`` (alias ``f_statistic``) is Stata's header
        test that every coefficient but the constant is zero.

    Fit
        ``predict()`` is the linear prediction x'b on the estimation sample, or on new
        data (see :meth:`predict`). ``fitted_values`` (DataFrame) and ``resids`` (Series)
        are on the original scale: y = fitted + resid. ``wresids`` are the residuals of
        the Prais-Winsten transformed model (= ``resids`` without AR(1)).

    R-squared
        ``xtgls`` reports no R-squared and GLS has no variance decomposition, so
        ``rsquared``, ``rsquared_between``, ``rsquared_within`` and ``rsquared_overall`` are
        NaN (linearmodels' convention for an undefined statistic). The squared correlations
        ``corr_squared_overall`` (y with x'b), ``corr_squared_between`` (entity means) and
        ``corr_squared_within`` (deviations from entity means) are reported instead; they
        are the "R-sq" figures Stata's ``xtreg`` prints.

    Log likelihood
        ``llf`` (alias ``loglik``) is the Gaussian log likelihood exactly where Stata
        reports one: ``corr="independent"`` with ``igls=True`` or ``panels="iid"``, where
        the estimate is the maximum likelihood estimate. Elsewhere it is NaN: a two-step
        FGLS estimate (or any AR(1) model, whose rho is not re-estimated) does not
        maximise a likelihood, so a likelihood, AIC or LR test computed from it would not
        mean what it says.

    Error structure
        ``rho`` (float for ``ar1``, Series by entity for ``psar1``, None otherwise),
        ``sigma`` (the N x N Sigma, Stata's ``e(Sigma)``), ``panel_variances``,
        ``n_panels``, ``n_periods``, ``panel_sizes``, ``iterations``, ``converged``.
    """
    def __init__(self, *, model, params, cov, sigma, rho, llf, nobs,
                 n_panels, n_periods, sizes, entities, index, y, x, wresid, g_codes,
                 t_codes, const_cols, nmk, iterations, converged):
        names = list(model.exog_names)
        k = len(names)
        fitted = x @ params
        resid = y - fitted
        rss = float(resid @ resid)
        has_const = bool(const_cols)
        yc = y - y.mean() if has_const else y
        tss = float(yc @ yc)
        counts = np.bincount(g_codes)

        def ent_mean(v: np.ndarray) -> np.ndarray:
            return np.bincount(g_codes, weights=v) / counts

        c2b = _corr2(ent_mean(y), ent_mean(fitted))
        c2w = _corr2(y - ent_mean(y)[g_codes], fitted - ent_mean(fitted)[g_codes])
        cov_arr = np.array(cov, dtype=float)
        wald = self._model_wald(params, cov_arr, const_cols, k)
        nan = float("nan")
        s2 = float(sigma[0]) if model.panels == "iid" else nan
        res = AttrDict(
            params=pd.Series(params, index=names), deferred_cov=functools.partial(np.asarray, cov_arr),
            debiased=False, df_resid=int(nobs - k), df_model=k, nobs=int(nobs),
            name="PanelFGLS", var_names=names, residual_ss=rss, total_ss=tss,
            r2=nan, r2w=nan, r2b=nan, r2o=nan, c2w=c2w, c2b=c2b, c2o=_corr2(y, fitted),
            s2=s2, entity_info=_info(g_codes), time_info=_info(t_codes), model=model,
            cov_type="Unadjusted (nmk)" if nmk else "Unadjusted",
            resids=resid, wresids=wresid, index=index, f_info=None, f_stat=wald,
            loglik=llf,
            fitted=pd.DataFrame({"fitted_values": fitted}, index=index),
            effects=pd.DataFrame({"estimated_effects": np.full(nobs, nan)}, index=index),
            idiosyncratic=pd.DataFrame({"idiosyncratic": resid}, index=index),
            original_index=model._original_index, not_null=None)
        super().__init__(res)
        self._sigma_raw = sigma  # N x N (correlated) or its diagonal (iid, hetero)
        self._entities = entities
        self._rho = rho
        self._n_panels = int(n_panels)
        self._n_periods = int(n_periods)
        self._sizes = pd.Series(sizes, index=entities, name="nobs")
        self._nmk = nmk
        self._iterations = iterations
        self._converged = converged

    # linearmodels names ---------------------------------------------------------
    @property
    def cov_type(self) -> str:
        """Covariance estimator: ``"Unadjusted"`` (Stata's conventional, n-normalised)
        or ``"Unadjusted (nmk)"``."""
        return self._cov_type

    @property
    def llf(self) -> float:
        """Gaussian log likelihood where Stata reports it (``corr="independent"`` with
        ``igls=True`` or ``panels="iid"``), NaN otherwise; see the class docstring."""
        return self._loglik

    @property
    def f_statistic_robust(self) -> WaldTestStatistic:
        """The model Wald test (FGLS has one covariance estimator)."""
        return self._f_stat

    # FGLS specifics ---------------------------------------------------------------
    @property
    def rho(self):
        """AR(1) coefficient: float (ar1), Series by entity (psar1), None (independent)."""
        return self._rho.copy() if isinstance(self._rho, pd.Series) else self._rho

    @property
    def sigma(self) -> pd.DataFrame:
        """Estimated cross-panel covariance (Stata's ``e(Sigma)``), labelled by entity."""
        raw = self._sigma_raw
        mat = np.diag(raw) if raw.ndim == 1 else raw.copy()
        return pd.DataFrame(mat, index=self._entities, columns=self._entities)

    @property
    def panel_variances(self) -> pd.Series:
        """Diagonal of ``sigma`` (sigma_i^2 by entity), without forming the N x N matrix."""
        raw = self._sigma_raw
        diag = raw.copy() if raw.ndim == 1 else np.diag(raw).copy()
        return pd.Series(diag, index=self._entities, name="sigma2")

    @property
    def n_panels(self) -> int:
        return self._n_panels

    @property
    def n_periods(self) -> int:
        """Number of distinct periods (Stata's ``e(N_t)``)."""
        return self._n_periods

    @property
    def panel_sizes(self) -> pd.Series:
        return self._sizes.copy()

    @property
    def iterations(self) -> int:
        return self._iterations

    @property
    def converged(self) -> bool:
        return self._converged

    @property
    def n_covariances(self) -> int:
        n = self._n_panels
        return {"iid": 1, "hetero": n, "correlated": n * (n + 1) // 2}[self.model.panels]

    @property
    def n_autocorrelations(self) -> int:
        return {"independent": 0, "ar1": 1, "psar1": self._n_panels}[self.model.corr]

    def predict(self, exog: Any = None, *, data: pd.DataFrame | None = None,
                fitted: bool = True, effects: bool = False, idiosyncratic: bool = False,
                missing: bool = False) -> pd.DataFrame:
        """Linear prediction x'b (Stata's ``predict, xb`` after ``xtgls``).

        With AR(1) errors this is still x'b: the prediction of y from the regressors, not
        a forecast that adds rho times the last residual.

        Parameters
        ----------
        exog : None for the estimation sample (linearmodels' in-sample output: columns
            ``fitted_values``, and ``estimated_effects`` (NaN: FGLS has no effects) or
            ``idiosyncratic`` (y - x'b) if asked for). Otherwise a DataFrame of new
            observations: either the regressors by name (``params.index``), or -- for a
            model built by ``from_formula`` -- the raw variables, which go through the
            same formula (factors keep their levels).
        data : DataFrame of raw variables for a formula model (linearmodels' keyword).
        missing : in-sample only: reindex to the model's input rows (dropped rows NaN).

        Returns
        -------
        DataFrame indexed like the input (a row with a missing value gives NaN): column
        ``predictions`` for new data, the selected in-sample columns otherwise.
        """
        if exog is None and data is None:
            return super().predict(fitted=fitted, effects=effects,
                                   idiosyncratic=idiosyncratic, missing=missing)
        if exog is not None and data is not None:
            raise ValueError("pass new observations as exog or as data, not both")
        return self.model.predict(self.params, exog=exog, data=data)

    @property
    def summary(self) -> Summary:
        """Estimation summary in Stata ``xtgls``'s layout (linearmodels' ``Summary``:
        ``as_text()``, ``as_html()``, ``as_latex()``, ``as_csv()``). Deterministic: no
        date or time."""
        m = self.model
        sz = self._sizes
        balanced = sz.min() == sz.max()
        corr = _CORR_SHORT[m.corr] + (f" (rho {self._rho:.4f})" if m.corr == "ar1" else "")
        wald = self._f_stat
        valid = not isinstance(wald, InvalidTestStatistic)
        left = [("Dep. Variable:", m.dependent_name),
                ("Estimator:", "PanelFGLS (xtgls)"),
                ("Coefficients:", "generalized least squares"),
                ("Panels:", _PANEL_SHORT[m.panels]),
                ("Correlation:", corr),
                ("Cov. Estimator:", self._cov_type),
                ("Est. covariances:", str(self.n_covariances)),
                ("Est. autocorrelations:", str(self.n_autocorrelations)),
                ("Est. coefficients:", str(len(self._var_names)))]
        right = [("No. Observations:", str(self.nobs)),
                 ("Number of groups:", str(self._n_panels)),
                 ("Time periods:" if balanced else "Obs per group (avg):",
                  str(self._n_periods) if balanced else _str(float(sz.mean()))),
                 (f"Wald chi2({wald.df}):" if valid else "Wald chi2:",
                  _str(wald.stat) if valid else "--"),
                 ("Prob > chi2:", pval_format(wald.pval) if valid else "--"),
                 ("Log-likelihood:", "--" if math.isnan(self._loglik)
                  else _str(self._loglik)),
                 ("Corr^2 (overall):", _str(self._c2o)),
                 ("Corr^2 (between):", _str(self._c2b)),
                 ("Corr^2 (within):", _str(self._c2w))]
        fmt = copy.deepcopy(fmt_2cols)
        top = SimpleTable([[v] for _, v in left], stubs=[s for s, _ in left],
                          title="PanelFGLS Estimation Summary", txt_fmt=fmt)
        top.extend_right(SimpleTable([[v] for _, v in right],
                                     stubs=["  " + s for s, _ in right], txt_fmt=fmt))
        smry = Summary()
        smry.tables.append(top)
        ci = self.conf_int()
        rows = []
        for name in self._var_names:
            rows.append([_str(self.params[name]), _str(self.std_errors[name]),
                         _str(self.tstats[name]), pval_format(self.pvalues[name]),
                         _str(ci.loc[name, "lower"]), _str(ci.loc[name, "upper"])])
        smry.tables.append(SimpleTable(
            rows, stubs=list(self._var_names), txt_fmt=copy.deepcopy(fmt_params),
            headers=["Parameter", "Std. Err.", "z", "P>|z|", "Lower CI", "Upper CI"],
            title="Parameter Estimates"))
        notes = []
        if m.corr == "psar1":
            notes.append("rho_i: " + ", ".join(f"{k}={v:.4f}" for k, v in self._rho.items()))
        if math.isnan(self._loglik):
            notes.append("Log likelihood not reported: the FGLS estimate is not a maximum "
                         "likelihood estimate (Stata reports one only for "
                         "corr(independent) with igls or panels(iid)).")
        if self._nmk:
            notes.append("Standard errors normalised by n - k (nmk).")
        if m.igls:
            notes.append(f"Iterated GLS: {self._iterations} iterations, "
                         f"{'converged' if self._converged else 'NOT converged'}.")
        if notes:
            smry.add_extra_txt(notes)
        return smry
