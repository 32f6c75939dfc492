"""Results of :class:`regrowth.models.gnb.GeneralizedNegativeBinomial`: a statsmodels
results object (``params``, ``bse``, ``pvalues``, ``conf_int()``, ``summary()``, ``llf``,
``converged``) with Stata's covariances (``vce(oim|robust|cluster)``), incidence-rate ratios,
average marginal effects, prediction from new data and the LR tests against NB2 and Poisson
(boundary chi-bar-squared for alpha = 0). See :mod:`regrowth.models.gnb` for the formulas.
"""

from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.base.wrapper as wrap
from scipy import linalg, stats
from statsmodels.base.model import GenericLikelihoodModelResults, LikelihoodModelResults
from statsmodels.formula._manager import FormulaManager

from regrowth.errors import ConvergenceWarning, EstimationError, SpecificationError
from regrowth.models.covariance import cluster_meat, sandwich, stata_ml_scale

__all__ = ["GNBResults", "GNBResultsWrapper", "LRTestResult", "DISP_PREFIX", "LNALPHA_BOUNDARY",
           "ETA_DIVERGE"]

DISP_PREFIX = "lnalpha:"
LNALPHA_BOUNDARY = -20.0  # ln(alpha_i) below this: Poisson boundary, no finite maximum
ETA_DIVERGE = -30.0  # linear predictor below this at y == 0: mean coefficients diverging


@dataclass(frozen=True)
class LRTestResult:
    """A likelihood-ratio test: statistic, degrees of freedom, p-value and how it was computed."""
    statistic: float
    df: int
    pvalue: float
    llf_restricted: float
    llf_unrestricted: float
    distribution: str

    def __repr__(self) -> str:
        return (f"LRTestResult(statistic={self.statistic:.6g}, df={self.df}, "
                f"pvalue={self.pvalue:.6g}, distribution={self.distribution!r})")


class GNBResults(GenericLikelihoodModelResults):
    """Results of GeneralizedNegativeBinomial.fit (statsmodels-style).

    Extra to statsmodels: ``converged``, ``mle_retvals`` (solver diagnostics), ``cov_type``,
    ``irr()``, ``marginal_effects()``, ``lr_test_nb2()``, ``lr_test_poisson()``,
    ``get_robustcov(cov_type, cov_kwds)`` (switch covariance without refitting).
    """
    def __init__(self, model, params, hinv, hessian, info):
        mlefit = LikelihoodModelResults(model, params, normalized_cov_params=hinv, scale=1.0)
        mlefit.mle_retvals = info
        mlefit.mle_settings = {"optimizer": "newton (modified Hessian + line search)"}
        mlefit.method = "newton"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            super().__init__(model, mlefit)
        self._hessian = hessian
        self._hinv = hinv
        self.converged = bool(info["converged"])
        self.mle_retvals = info
        self.method = "newton"
        self._llf_value = info["llf"]

    # statsmodels caches llf through model.loglike; keep the solver's value (identical)
    @property
    def llf(self):
        return self._llf_value

    @property
    def aic(self):
        return -2.0 * self.llf + 2.0 * len(self.params)

    @property
    def bic(self):
        return -2.0 * self.llf + np.log(self.nobs) * len(self.params)

    @property
    def llnull(self):
        """Log likelihood of constant-only mean and constant-only dispersion (Stata's ll_0)."""
        if "llnull" not in self._cache:
            n = self.nobs
            mod = type(self.model)(self.model._y, np.ones((n, 1)),
                                              offset=self.model.offset)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self._cache["llnull"] = mod.fit().llf
        return self._cache["llnull"]

    def _cov_from(self, cov_type, cov_kwds):
        cov_kwds = dict(cov_kwds or {})
        ct = cov_type.lower() if isinstance(cov_type, str) else cov_type
        hinv = self._hinv
        if ct in ("nonrobust", "oim"):
            return "nonrobust", hinv, {"description": "observed information (Stata vce(oim))"}
        use_corr = cov_kwds.get("use_correction", True)
        S = self.model.score_obs(np.asarray(self.params))
        n = S.shape[0]
        if ct in ("robust", "hc1", "hc0"):
            meat = S.T @ S
            fac = stata_ml_scale("robust", n) if (ct != "hc0" and use_corr) else 1.0
            desc = ("sandwich, N/(N-1) (Stata vce(robust))" if fac != 1.0
                    else "sandwich, no small-sample correction")
            return ("robust" if ct != "hc0" else "HC0"), fac * hinv @ meat @ hinv, \
                {"description": desc, "correction": fac}
        if ct == "cluster":
            groups = cov_kwds.get("groups", None)
            if groups is None:
                groups = self.model.groups
            if groups is None:
                raise EstimationError('cov_type="cluster" needs cov_kwds={"groups": ...} or '
                                      "groups= given to the model")
            groups = self.model._align_groups(groups, n)
            if groups.shape[0] != n:
                raise EstimationError(f"groups has {groups.shape[0]} rows; the estimation sample "
                                      f"has {n}")
            if pd.isna(pd.Series(groups)).any():
                raise EstimationError("groups has missing values in the estimation sample; pass "
                                      "groups= to the model so those rows are dropped")
            codes, uniq = pd.factorize(pd.Series(groups))
            G = len(uniq)
            if G < 2:
                raise EstimationError("cluster covariance needs at least 2 clusters")
            fac = stata_ml_scale("cluster", n, G) if use_corr else 1.0
            return "cluster", sandwich(hinv, cluster_meat(S, codes)[0], fac), \
                {"description": f"cluster-robust, {G} clusters, G/(G-1) (Stata vce(cluster))",
                 "n_groups": G, "correction": fac,
                 # the ids of the estimation sample, as statsmodels keeps them (read by
                 # regrowth.inference.boottest, which clusters as the fit did)
                 "groups": groups}
        raise ValueError(f"cov_type={cov_type!r}: use 'nonrobust'/'oim', 'robust'/'HC1', "
                         "'HC0' or 'cluster'")

    def _set_cov(self, cov_type, cov_kwds):
        name, cov, kw = self._cov_from(cov_type, cov_kwds)
        self.cov_type = name
        self.cov_kwds = kw
        self.normalized_cov_params = cov
        self.use_t = False
        self._cache = {k: v for k, v in self._cache.items() if k == "llnull"}

    def get_robustcov(self, cov_type="robust", cov_kwds=None):
        """A copy of these results with another covariance type (no refit)."""
        new = copy.copy(self)
        new._cache = {}
        new._set_cov(cov_type, cov_kwds)
        return GNBResultsWrapper(new)

    # ------------------------------------------------------------------ extras
    def _param_names(self):
        return list(self.model.exog_names)

    def _norm_ci(self, est, se, alpha):
        z = stats.norm.ppf(1 - alpha / 2)
        return est - z * se, est + z * se

    def irr(self, alpha=0.05):
        """Incidence-rate ratios exp(b) of the mean equation (Stata ``gnbreg, irr``).

        Columns: IRR, std err (delta method, exp(b)*se(b), as Stata prints), z and p-value of b,
        and the CI exp(b -/+ z se(b)).
        """
        k = self.model.k_mean
        b = np.asarray(self.params)[:k]
        se = np.asarray(self.bse)[:k]
        lo, hi = self._norm_ci(b, se, alpha)
        zv = b / se
        names = self._param_names()[:k]
        return pd.DataFrame({"IRR": np.exp(b), "std err": np.exp(b) * se, "z": zv,
                             "P>|z|": 2 * stats.norm.sf(np.abs(zv)),
                             f"[{alpha / 2:g}": np.exp(lo), f"{1 - alpha / 2:g}]": np.exp(hi)},
                            index=names)

    def marginal_effects(self, dummy=False, alpha=0.05):
        """Average marginal effects of the mean-equation columns on E[y] = exp(x'b + offset).

        dE[y_i]/dx_ij = b_j mu_i, averaged over the estimation sample (Stata
        ``margins, dydx(*)``), with delta-method standard errors from the current covariance.
        ``dummy=True`` uses the discrete change mu(x_j=1) - mu(x_j=0) for 0/1 columns (Stata's
        treatment of ``i.`` factor variables): for a formula factor (columns named
        ``f[T.level]``) the other levels of the same factor are set to 0, i.e. the change from
        the base level, as Stata's ``margins`` does. The constant is omitted. Each column is treated
        on its own: with x and x^2 as separate columns the effect of x is not the sum.
        """
        k = self.model.k_mean
        X = self.model._X
        off = self.model.offset
        b = np.asarray(self.params)[:k]
        cov = np.asarray(self.cov_params())[:k, :k]
        mu = np.exp(X @ b + off)
        names = self._param_names()[:k]
        rows, est, grads = [], [], []
        for j in range(k):
            col = X[:, j]
            if np.all(col == col[0]):
                continue  # constant
            if dummy and np.all((col == 0) | (col == 1)):
                X1, X0 = X.copy(), X.copy()
                group = [j]
                if "[T." in names[j]:  # formula factor: other levels of the same factor off
                    stem = names[j][:names[j].index("[T.")]
                    group = [i for i, nm in enumerate(names) if nm.startswith(stem + "[T.")]
                X1[:, group] = 0.0
                X0[:, group] = 0.0
                X1[:, j] = 1.0
                m1, m0 = np.exp(X1 @ b + off), np.exp(X0 @ b + off)
                est.append(float(np.mean(m1 - m0)))
                grads.append((X1.T @ m1 - X0.T @ m0) / len(mu))
            else:
                est.append(float(b[j] * mu.mean()))
                gr = b[j] * (X.T @ mu) / len(mu)
                gr[j] += mu.mean()
                grads.append(gr)
            rows.append(names[j])
        est = np.array(est)
        Gm = np.array(grads)
        se = np.sqrt(np.einsum("ij,jk,ik->i", Gm, cov, Gm))
        zv = est / se
        lo, hi = self._norm_ci(est, se, alpha)
        return pd.DataFrame({"dy/dx": est, "std err": se, "z": zv,
                             "P>|z|": 2 * stats.norm.sf(np.abs(zv)),
                             f"[{alpha / 2:g}": lo, f"{1 - alpha / 2:g}]": hi}, index=rows)

    def get_margeff(self, dummy=False, alpha=0.05):
        """Alias of :meth:`marginal_effects` (average effects only)."""
        return self.marginal_effects(dummy=dummy, alpha=alpha)

    def lr_test_nb2(self):
        """LR test of the dispersion slopes: this model against constant-alpha NB2.

        Requires a constant in the span of z. LR = 2(llf - llf_NB2) ~ chi2(k_disp - 1).
        """
        mod = self.model
        Z = mod.exog_disp
        coef, *_ = linalg.lstsq(Z, np.ones(Z.shape[0]))
        if np.max(np.abs(Z @ coef - 1.0)) > 1e-8:
            raise EstimationError("the dispersion equation has no constant: constant-alpha NB2 "
                                  "is not nested in this model")
        df = mod.k_disp - 1
        if df == 0:
            raise EstimationError("the dispersion equation is a constant only: nothing to test")
        nb2 = type(mod)(mod._y, mod._X, offset=mod.offset)
        p0 = np.concatenate([np.asarray(self.params)[:mod.k_mean],
                             [np.log(np.mean(np.exp(Z @ np.asarray(self.params)[mod.k_mean:])))]])
        r = nb2.fit(start_params=p0)
        if not r.converged:
            warnings.warn("restricted NB2 fit did not converge", ConvergenceWarning, stacklevel=2)
        lr = max(2.0 * (self.llf - r.llf), 0.0)
        return LRTestResult(lr, df, float(stats.chi2.sf(lr, df)), r.llf, self.llf,
                            f"chi2({df})")

    def lr_test_poisson(self):
        """LR test of alpha = 0 (Poisson) against this model, with the boundary mixture.

        LR = 2(llf - llf_Poisson). With a constant-only dispersion equation (NB2) this is Stata's
        "LR test of alpha=0": p = 0.5 P(chi2_1 > LR), the chi-bar-squared chibar2(01).

        With q = k_disp > 1 dispersion coefficients we use the mixture
        p = 0.5 P(chi2_{q-1} > LR) + 0.5 P(chi2_q > LR): one parameter (the scale of alpha) lies
        on the boundary, the q - 1 dispersion slopes are treated as ordinary restrictions. This
        is an approximation: under the Poisson null the slopes are not identified (Davies'
        problem), and Stata's ``gnbreg`` reports no such test. For q > 1 the returned
        ``distribution`` says so.
        """
        mod = self.model
        _, llp, conv = mod._fit_poisson()
        if not conv:
            warnings.warn("Poisson fit did not converge", ConvergenceWarning, stacklevel=2)
        lr = max(2.0 * (self.llf - llp), 0.0)
        q = mod.k_disp
        if q == 1:
            p = 0.5 * stats.chi2.sf(lr, 1)
            dist = "chibar2(01): 0.5*chi2(0) + 0.5*chi2(1)"
        else:
            p = 0.5 * stats.chi2.sf(lr, q - 1) + 0.5 * stats.chi2.sf(lr, q)
            dist = (f"0.5*chi2({q - 1}) + 0.5*chi2({q}) (approximate: dispersion slopes are "
                    "unidentified under the Poisson null)")
        return LRTestResult(lr, q, float(p), llp, self.llf, dist)

    def predict(self, exog=None, exog_disp=None, offset=None, exposure=None, which="mean",
                transform=True):
        """Predictions at the estimates: ``which`` in "mean" (E[y] = exp(x'b + offset)),
        "linear" (x'b + offset), "lnalpha" (z'g), "alpha" (exp(z'g)), "var" (mu (1 + alpha mu)).

        Parameters
        ----------
        exog : None for the estimation sample. For a model built by ``from_formula``, a
            DataFrame (or dict) of raw variables: both formulas are applied to it (factor
            levels as in the fit), and ``offset``/``exposure`` given to ``from_formula`` as
            column names are read from it unless passed here. Otherwise the mean-equation
            regressors (columns in model order).
        exog_disp : dispersion regressors for array input (needed when the dispersion
            equation has more than a constant); ignored for formula models given a DataFrame.
        offset, exposure : for new observations; zero / one when not given.
        transform : False treats a DataFrame as the design matrix even for formula models.

        Returns
        -------
        Series indexed like the estimation sample or like the new DataFrame (rows with a
        missing value give NaN); a 1-d array for array input.
        """
        mod = self.model
        params = np.asarray(self.params)
        if exog is None and exog_disp is None and offset is None and exposure is None:
            out = mod.predict(params, which=which)
            rows = mod.data.row_labels
            return pd.Series(out, index=rows, name=which) if rows is not None else out
        formula_frame = (transform and getattr(mod, "formula", None) is not None
                         and isinstance(exog, (pd.DataFrame, dict)))
        if formula_frame:
            frame = pd.DataFrame(exog)
            mgr = FormulaManager()

            def design(spec, what):
                try:
                    mat = mgr.get_matrices(spec, frame, pandas=True, prediction=True,
                                           eval_env=getattr(mod, "_eval_env", None) or 0)
                except Exception as exc:  # patsy/formulaic raise many kinds
                    raise SpecificationError(
                        f"predict: the new data cannot go through the {what} "
                        f"({exc}). Pass a DataFrame with the variables the formulas use, "
                        "with factor levels seen in the fit.") from exc
                return np.asarray(pd.DataFrame(mat).reindex(frame.index), dtype=float)

            X = design(mod.data.model_spec, f"formula {mod.formula!r}")
            Z = (np.ones((len(frame), 1)) if mod.disp_model_spec is None
                 else design(mod.disp_model_spec, f"disp_formula {mod.disp_formula!r}"))
            cols = getattr(mod, "_formula_columns", {})
            if offset is None and "offset" in cols and cols["offset"] in frame:
                offset = frame[cols["offset"]].to_numpy(dtype=float)
            if exposure is None and "exposure" in cols and cols["exposure"] in frame:
                exposure = frame[cols["exposure"]].to_numpy(dtype=float)
            out = mod.predict(params, X, Z, offset=offset, exposure=exposure, which=which)
            return pd.Series(out, index=frame.index, name=which)
        index = exog.index if isinstance(exog, (pd.Series, pd.DataFrame)) else None
        X = None if exog is None else np.asarray(exog, dtype=float)
        if X is not None and X.ndim == 1:
            X = X[None, :] if X.shape[0] == mod.k_mean else X[:, None]
        if X is not None and X.shape[1] != mod.k_mean:
            raise SpecificationError(f"predict: exog has {X.shape[1]} columns; the mean "
                                     f"equation has {mod.k_mean} {mod.exog_names[:mod.k_mean]}")
        if X is not None and exog_disp is None and mod.k_disp > 1:
            raise SpecificationError(
                "predict: the dispersion equation has "
                f"{mod.k_disp} regressors {mod.exog_disp_names}; pass exog_disp for the new "
                "rows (or build the model with from_formula and pass a DataFrame)")
        out = mod.predict(params, X, exog_disp, offset=offset, exposure=exposure, which=which)
        return pd.Series(out, index=index, name=which) if index is not None else out

    def summary(self, yname=None, xname=None, title=None, alpha=0.05):
        title = title or "Generalized Negative Binomial Regression (NB2, ln alpha = z'g)"
        smry = super().summary(yname=yname, xname=xname, title=title, alpha=alpha)
        smry.add_extra_txt([f"Covariance: {self.cov_kwds.get('description', self.cov_type)}; "
                            f"converged: {self.converged} ({self.mle_retvals['message']})"])
        return smry


class GNBResultsWrapper(wrap.ResultsWrapper):
    _attrs = {"params": "columns", "bse": "columns", "pvalues": "columns", "tvalues": "columns"}
    _wrap_attrs = wrap.union_dicts(wrap.ResultsWrapper._wrap_attrs, _attrs)
    _methods = {"conf_int": "columns", "cov_params": "cov"}
    _wrap_methods = wrap.union_dicts(wrap.ResultsWrapper._wrap_methods, _methods)


wrap.populate_wrapper(GNBResultsWrapper, GNBResults)
