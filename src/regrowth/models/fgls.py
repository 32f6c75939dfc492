"""Panel feasible GLS with heteroskedastic or cross-correlated panels and AR(1) errors.

This is Stata's ``xtgls`` (Parks-Kmenta FGLS), which Korean regional-growth studies
call "GLS". Neither statsmodels nor linearmodels offers it.

Model
-----
For panel ``i = 1..N`` and period ``t = 1..T_i``::
    y_it = x_it'b + e_it,      e_it = rho_i e_i,t-1 + u_it  (corr = "ar1"/"psar1")
    Var(u_t) = Sigma           (N x N, across panels, same period t)

``panels`` fixes Sigma: ``"iid"`` sigma^2 I, ``"hetero"`` diag(sigma_i^2),
``"correlated"`` unrestricted. ``corr`` fixes the within-panel autocorrelation:
``"independent"`` none, ``"ar1"`` one rho common to every panel, ``"psar1"`` one
rho_i per panel.

Algorithm (Stata's two- or three-step FGLS, step by step)
---------------------------------------------------------
1. Pooled OLS of y on X; residuals e.
2. (corr != "independent") For each panel compute rho_i from its OLS residuals
   with the ``rhotype`` formula below. ``"psar1"`` uses rho_i; ``"ar1"`` uses the
   common rho = sum_i T_i rho_i / sum_i T_i (Stata's panel-size-weighted average of
   the per-panel estimates, not a pooled regression).
3. Prais-Winsten transform of y and every column of X (the constant included)
   within each panel: z*_i1 = sqrt(1 - rho_i^2) z_i1, z*_it = z_it - rho_i z_i,t-1.
   |rho_i| >= 1 stops estimation with an :class:`EstimationError` (Stata would
   propagate missing values).
4. OLS on the transformed data; residuals u (on the transformed scale, the first
   observation of each panel included).
5. Sigma from u with Stata's divisors: ``iid`` sigma^2 = u'u / n (n = all
   observations); ``hetero`` sigma_i^2 = u_i'u_i / T_i; ``correlated``
   Sigma_ij = u_i'u_j / T (balanced panels only).
6. GLS on the transformed data: b = (X*' Om^-1 X*)^-1 X*' Om^-1 y*, with
   Om^-1 = Sigma^-1 (x) I_T, computed by whitening each period's N-vector with a
   factor C (C'C = Sigma^-1). Cov(b) = (X*' Om^-1 X*)^-1, i.e. normalised by n
   (Stata default); ``fit(nmk=True)`` multiplies it by n / (n - k).
7. ``igls=True``: repeat 5-6 with residuals u = y* - X* b of the current GLS
   coefficients (rho is *not* re-estimated, as in Stata) until the relative change
   max_j |b_j - b_old_j| / (|b_old_j| + 1) (Stata's ``mreldif``) is <= ``tol``,
   or ``maxiter`` GLS steps were made; then ``converged`` is False and a
   :class:`~regrowth.errors.ConvergenceWarning` is issued (Stata: "convergence not
   achieved", r(430)). For ``corr="independent"`` the iterated estimator is the
   Gaussian MLE; with AR(1) it is not.

Log likelihood, exactly when Stata reports it (``corr="independent"`` with
``igls`` or with ``panels="iid"``; otherwise ``llf`` is NaN)::
    llf = -1/2 [ n ln(2 pi) + ln|Om| + e' Om^-1 e ],
    ln|Om| = T ln det Sigma  (correlated)   or   sum_i T_i ln sigma_i^2  (iid/hetero)

with e = y - X b at the final b and Sigma the one used to compute that b.

Wald test: chi2 = b_s' Cov(b_s)^-1 b_s over every coefficient except the constant
(Stata's ``Wald chi2(k-1)``; ``results.wald``). z statistics and p-values use the normal
distribution, as Stata's ``z`` column does. ``results.wald_test(R, r)`` or
``results.wald_test(formula="x1 = x2")`` tests H0: R b = r with chi2 = (Rb - r)'(R V R')^-1
(Rb - r), V = ``cov`` (Stata's ``test`` after ``xtgls``).

Results
-------
:class:`PanelFGLSResults` subclasses linearmodels' ``PanelResults`` (its names: ``params``,
``std_errors``, ``tstats``, ``pvalues``, ``cov``, ``conf_int()``, ``wald_test()``,
``predict()``, ``summary`` with ``as_text``/``as_html``/``as_latex``, ``cov_type``,
``df_resid``, ``nobs``, ``entity_info``, ``corr_squared_*``), so
``linearmodels.panel.compare`` takes it; ``bse``/``tvalues`` are statsmodels aliases for
``summary_col``. ``predict`` is x'b (Stata's ``predict, xb``), also with AR(1) errors.
The constant made by ``from_formula`` is ``Intercept``. Inputs: ``dependent`` and ``exog``
must share one index (a :class:`~regrowth.errors.SpecificationError` otherwise) and a
constant dependent variable raises :class:`~regrowth.errors.EstimationError`.

``rhotype`` (per panel, e = residuals ordered in time, sums over t >= 2 for
lagged products; k = number of regressors excluding the constant)::
    regress  sum e_t e_t-1 / sum e_t-1^2               (default)
    freg     sum e_t e_t-1 / sum_{t>=2} e_t^2           (regression on leads)
    tscorr   sum e_t e_t-1 / sum e_t^2                  (all t)
    dw       1 - DW/2,  DW = sum (e_t - e_t-1)^2 / sum e_t^2
    theil    (T_i - k) sum e_t e_t-1 / ((T_i - 1) sum e_t^2)
    nagar    (T_i^2 (1 - DW/2) + k^2) / (T_i^2 - k^2)
    onestep  T_i / (T_i - 1) * sum e_t e_t-1 / sum e_t^2  (from Stata's xtregar;
             xtgls does not offer it)

Mapping to Stata and R
----------------------
============================  ==============================================
Stata ``xtgls``               regrowth
============================  ==============================================
``panels(iid|hetero|corr)``   ``panels="iid"|"hetero"|"correlated"``
``corr(independent|ar1|psar1)`` ``corr="independent"|"ar1"|"psar1"``
``rhotype(...)``              ``rhotype=...`` (plus ``"onestep"``)
``igls`` / ``iterate()`` / ``tolerance()``  ``igls=True``, ``maxiter`` (100), ``tol`` (1e-7)
``nmk``                       ``fit(nmk=True)``
``force``                     ``force=True``: irregularly spaced or gapped panels are
                              treated as if consecutive observations were adjacent
                              (Stata's meaning); *also* allows
                              ``panels="correlated"`` with T < N, using a
                              generalized inverse of the singular Sigma (Stata does
                              this silently; here it must be asked for)
``e(Sigma)``, ``e(rho)``      ``sigma`` (DataFrame), ``rho``
============================  ==============================================

R: ``nlme::gls(y ~ x, weights = varIdent(form = ~ 1 | panel), method = "ML")``
equals ``panels="hetero", corr="independent", igls=True`` (coefficients and log
likelihood). ``panelAR`` (``panelCorrMethod = "parks"``) is the closest R analogue
of the correlated/AR(1) variants.

Unbalanced panels follow Stata: ``iid`` and ``hetero`` accept panels of different
lengths; AR(1) variants additionally need each panel's periods to be consecutive
(else ``force``) and drop panels with a single observation (with a warning);
``correlated`` needs every panel observed in the same periods. Otherwise a
:class:`~regrowth.errors.DataError` names the panels and periods at fault.
Regular spacing is judged as Stata's ``xtset`` delta would: for numeric periods
(years) every within-panel step must equal the smallest step found in the data
(1 for annual data); for dates or other labels, on the sorted distinct periods
present in the data (a period missing from *every* panel is then not seen as a
gap -- use numeric periods if that matters).
"""

from __future__ import annotations

import copy
import functools
import math
import warnings
from typing import Any

import numpy as np
import pandas as pd
from linearmodels.compat.statsmodels import Summary
from linearmodels.panel.results import PanelResults
from linearmodels.shared.hypotheses import InvalidTestStatistic, WaldTestStatistic
from linearmodels.shared.io import _str, pval_format
from linearmodels.shared.utility import AttrDict
from statsmodels.iolib.summary import SimpleTable, fmt_2cols, fmt_params

from regrowth.errors import (ConvergenceWarning, DataError, EstimationError,
                             MissingValuesWarning, SpecificationError)
import sys
from formulaic import model_matrix
from linearmodels.panel.data import PanelData

__all__ = ["PanelFGLS", "PanelFGLSResults"]

PANELS = ("iid", "hetero", "correlated")
CORRS = ("independent", "ar1", "psar1")
RHOTYPES = ("regress", "freg", "tscorr", "dw", "theil", "nagar", "onestep")
_PANEL_ALIASES = {"iid": "iid", "homoskedastic": "iid", "hetero": "hetero",
                  "heteroskedastic": "hetero", "heteroscedastic": "hetero",
                  "correlated": "correlated"}
_PANEL_SHORT = {"iid": "homoskedastic", "hetero": "heteroskedastic",
                "correlated": "heterosk., correlated"}
_CORR_SHORT = {"independent": "no autocorrelation", "ar1": "common AR(1)",
               "psar1": "panel-specific AR(1)"}


def _mreldif(new: np.ndarray, old: np.ndarray) -> float:
    """Stata's mreldif: max |new - old| / (|old| + 1)."""
    return float(np.max(np.abs(new - old) / (np.abs(old) + 1.0)))


def _is_constant(col: np.ndarray) -> bool:
    return bool(np.all(col == col[0])) and col[0] != 0


def _misaligned(what: str, index: pd.Index, ref_name: str, ref: pd.Index) -> str:
    """Message for an input whose row labels differ from the reference's."""
    if len(index) != len(ref):
        diff = f"{len(index)} rows against {len(ref)}"
    else:
        extra = index.difference(ref)
        lacking = ref.difference(index)
        if extra.empty and lacking.empty:
            diff = "the same rows in a different order"
        else:
            diff = (f"rows not in {ref_name}: {_format_periods(list(extra), 3)}; rows of "
                    f"{ref_name} missing: {_format_periods(list(lacking), 3)}")
    return (f"{what} and {ref_name} are not indexed by the same rows ({diff}); the "
            "estimator does not align them silently. Select both from one DataFrame, or "
            f"align first, e.g. {what} = {what}.reindex({ref_name}.index) (rows missing in "
            f"{what} then become NaN and are dropped).")


def _format_periods(values: list, limit: int = 8) -> str:
    shown = ", ".join(str(v) for v in values[:limit])
    return shown + (f", ... ({len(values)} in all)" if len(values) > limit else "")


class PanelFGLS:
    """Panel feasible GLS (Stata ``xtgls``). See the module docstring for the algorithm.

    Parameters
    ----------
    dependent : Series or one-column DataFrame indexed by an (entity, time) MultiIndex.
    exog : DataFrame on the same index (include a constant column for an intercept;
        ``from_formula`` adds it).
    panels : "iid", "hetero" (also "heteroskedastic") or "correlated".
    corr : "independent", "ar1" or "psar1".
    rhotype : how rho is computed: "regress" (default), "freg", "tscorr", "dw",
        "theil", "nagar", "onestep".
    igls : iterate the Sigma / coefficient steps to convergence.
    tol, maxiter : convergence tolerance (Stata's mreldif of the coefficients) and
        maximum number of GLS steps when ``igls``.
    force : see the module docstring (irregular spacing; T < N with correlated panels).

    Stata's defaults are ``panels="iid", corr="independent"``; this package defaults
    to its growth specification, ``panels="hetero", corr="ar1"``.
    """
    def __init__(self, dependent: Any, exog: Any, *, panels: str = "hetero",
                 corr: str = "ar1", rhotype: str = "regress", igls: bool = False,
                 tol: float = 1e-7, maxiter: int = 100, force: bool = False):
        key = str(panels).lower()
        if key not in _PANEL_ALIASES:
            raise EstimationError(f"panels={panels!r} is not one of {PANELS}")
        self.panels = _PANEL_ALIASES[key]
        if corr not in CORRS:
            raise EstimationError(f"corr={corr!r} is not one of {CORRS}")
        self.corr = corr
        if rhotype not in RHOTYPES:
            raise EstimationError(f"rhotype={rhotype!r} is not one of {RHOTYPES}")
        self.rhotype = rhotype
        self.igls = bool(igls)
        if not (tol > 0):
            raise EstimationError("tol must be positive")
        if int(maxiter) < 1:
            raise EstimationError("maxiter must be at least 1")
        self.tol = float(tol)
        self.maxiter = int(maxiter)
        self.force = bool(force)
        self.formula: str | None = None
        self._prepare(dependent, exog)

    # ------------------------------------------------------------------ data
    @classmethod
    def from_formula(cls, formula: str, data: pd.DataFrame, *, context: Any = 0,
                     **kwargs: Any) -> "PanelFGLS":
        """Build the model from a formulaic formula, e.g. ``"y ~ 1 + x1 + x2"``.

        ``data`` must carry an (entity, time) MultiIndex. ``context``: namespace of the
        functions the formula calls (0, the default, is the caller's; or a dict). Other
        keyword arguments go to the constructor. The constant is named ``Intercept``. The
        formula is kept (``formula``, ``model_spec``) so that ``results.predict(new_data)``
        applies it to new rows.
        """

        if isinstance(context, int):
            frame = sys._getframe(1 + context)
            context = {**frame.f_globals, **frame.f_locals}

        if not isinstance(data, pd.DataFrame) or not isinstance(data.index, pd.MultiIndex):
            raise DataError("PanelFGLS.from_formula needs a DataFrame indexed by an "
                            "(entity, time) MultiIndex",
                            hint="data.set_index([entity_column, time_column])")
        mm = model_matrix(formula, data, na_action="ignore",  # keeps every row
                          context=context)
        lhs, rhs = mm.lhs, mm.rhs
        if lhs.shape[1] != 1:
            raise DataError(f"formula {formula!r} must have one dependent variable")
        y = pd.DataFrame(np.asarray(lhs, dtype=float), index=data.index,
                         columns=[str(c) for c in lhs.columns])
        x = pd.DataFrame(np.asarray(rhs, dtype=float), index=data.index,
                         columns=[str(c) for c in rhs.columns])
        model = cls(y, x, **kwargs)
        model.formula = formula
        model.model_spec = rhs.model_spec
        model._context = context
        return model

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state.pop("_context", None)  # the caller's namespace: not picklable
        return state

    # linearmodels/statsmodels names read by compare(), summary_col and predict
    @property
    def endog_names(self) -> str:
        """Name of the dependent variable (statsmodels' name)."""
        return self.dependent_name

    @property
    def dependent(self):
        """The dependent variable as linearmodels ``PanelData`` (input rows)."""
        return PanelData(self._dependent_input)

    @property
    def exog(self):
        """The regressors as linearmodels ``PanelData`` (input rows)."""
        return PanelData(self._exog_input)

    def predict(self, params: Any, *, exog: Any = None, data: Any = None) -> pd.DataFrame:
        """x'b for new observations: DataFrame with one column, ``predictions``.

        ``exog``: a DataFrame holding the regressors by name (``self.exog_names``) or, for a
        formula model, the raw variables of the formula; an array with the regressors in
        model order. ``data``: raw variables of a formula model. Rows with a missing value
        give NaN; the index is the input's.
        """
        b = np.asarray(params, dtype=float).reshape(-1)
        if data is not None:
            if self.model_spec is None:
                raise SpecificationError("predict(data=...) needs a model built by "
                                         "PanelFGLS.from_formula; pass exog= with the "
                                         f"regressors {self.exog_names}")
            exog = data
        if exog is None:
            raise ValueError("pass exog (or data) with the observations to predict")
        if isinstance(exog, pd.Series):
            exog = exog.to_frame()
        if isinstance(exog, pd.DataFrame):
            names = self.exog_names
            if all(n in exog.columns for n in names):
                x = exog[names]
            elif self.model_spec is not None:
                try:
                    x = self.model_spec.get_model_matrix(
                        exog, context=getattr(self, "_context", None), na_action="ignore")
                except Exception as exc:  # formulaic raises many kinds
                    raise SpecificationError(
                        f"predict: the new data cannot go through the formula "
                        f"{self.formula!r}: {exc}. Pass a DataFrame with the formula's "
                        "variables (same names, factor levels seen in the fit).") from exc
                x = pd.DataFrame(np.asarray(x, dtype=float), index=exog.index,
                                 columns=[str(c) for c in x.columns])[names]
            else:
                missing = [n for n in names if n not in exog.columns]
                raise SpecificationError(f"predict: exog lacks the regressor(s) {missing}; "
                                         f"it needs the columns {names}")
            index = exog.index
            xv = x.to_numpy(dtype=float)
        else:
            xv = np.asarray(exog, dtype=float)
            if xv.ndim == 1:
                xv = xv[None, :] if xv.shape[0] == b.shape[0] else xv[:, None]
            index = pd.RangeIndex(xv.shape[0])
        if xv.shape[1] != b.shape[0]:
            raise SpecificationError(f"predict: exog has {xv.shape[1]} columns; the model has "
                                     f"{b.shape[0]} coefficients {self.exog_names}")
        return pd.DataFrame({"predictions": xv @ b}, index=index)

    def _prepare(self, dependent: Any, exog: Any) -> None:
        self.model_spec = getattr(self, "model_spec", None)
        if isinstance(dependent, pd.DataFrame):
            if dependent.shape[1] != 1:
                raise DataError("dependent must have exactly one column")
            dep = dependent.iloc[:, 0]
        elif isinstance(dependent, pd.Series):
            dep = dependent
        else:
            raise DataError("dependent must be a pandas Series or one-column DataFrame "
                            "with an (entity, time) MultiIndex")
        if isinstance(exog, pd.Series):
            exog = exog.to_frame()
        if not isinstance(exog, pd.DataFrame):
            raise DataError("exog must be a pandas DataFrame with an (entity, time) "
                            "MultiIndex")
        idx = dep.index
        if not isinstance(idx, pd.MultiIndex) or idx.nlevels != 2:
            raise DataError("data must be indexed by a two-level (entity, time) "
                            "MultiIndex", hint="df.set_index([entity, time])")
        if not exog.index.equals(idx):
            raise SpecificationError(_misaligned("exog", exog.index, "dependent", idx))
        self.dependent_name = str(dep.name) if dep.name is not None else "y"
        self.exog_names = [str(c) for c in exog.columns]
        if len(set(self.exog_names)) != len(self.exog_names):
            raise DataError("exog column names must be unique")
        self._dependent_input = dep.rename(self.dependent_name).to_frame()
        self._exog_input = exog.set_axis(self.exog_names, axis=1)
        self._original_index = idx
        frame = pd.concat([dep.rename("__y__"), exog.set_axis(self.exog_names, axis=1)],
                          axis=1)
        try:
            values = frame.to_numpy(dtype=float)
        except (TypeError, ValueError) as exc:
            raise DataError(f"non-numeric values in the model data: {exc}") from exc
        if idx.duplicated().any():
            dups = idx[idx.duplicated()].unique().tolist()
            raise DataError(f"duplicated (entity, time) pairs: {_format_periods(dups)}")
        keep = np.isfinite(values).all(axis=1)
        ent_raw = idx.get_level_values(0)
        time_raw = idx.get_level_values(1)
        if pd.isna(ent_raw).any() or pd.isna(time_raw).any():
            raise DataError("the entity or time index has missing values")
        if not keep.all():
            dropped = int((~keep).sum())
            warnings.warn(f"{dropped} observations dropped because of missing values",
                          MissingValuesWarning, stacklevel=3)
        self.n_missing = int((~keep).sum())
        values, ent_raw, time_raw = values[keep], ent_raw[keep], time_raw[keep]
        if values.shape[0] == 0:
            raise DataError("no complete observations")
        if np.all(values[:, 0] == values[0, 0]):
            raise EstimationError(
                f"the dependent variable {self.dependent_name!r} is constant "
                f"({values[0, 0]:g} in all {values.shape[0]} complete observations): there "
                "is nothing to explain and the panel variances are zero. Check the "
                "outcome column and the sample (years, provinces) it is restricted to.")

        ent_codes, entities = pd.factorize(ent_raw, sort=True)
        time_codes, times = pd.factorize(time_raw, sort=True)
        order = np.lexsort((time_codes, ent_codes))
        self._y = values[order, 0]
        self._x = values[order, 1:]
        self._g = ent_codes[order].astype(np.intp)
        self._t = time_codes[order].astype(np.intp)
        self._time_values = np.asarray(time_raw)[order]
        self._entities = pd.Index(entities, name=idx.names[0])
        self._times = pd.Index(times, name=idx.names[1])
        self._index = pd.MultiIndex.from_arrays(
            [entities[self._g], times[self._t]], names=idx.names)
        if self._x.shape[1] == 0:
            raise EstimationError("exog has no columns")

    # --------------------------------------------------------------- helpers
    def _check_panels(self, g: np.ndarray, tcode: np.ndarray, tval: np.ndarray):
        """Drop single-observation panels (AR(1)), check spacing and balance."""
        n_ent = self._entities.size
        if self.corr != "independent":
            sizes = np.bincount(g, minlength=n_ent)
            single = sizes[g] == 1
            if single.any():
                names = self._entities[np.unique(g[single])].tolist()
                warnings.warn(f"{int(single.sum())} observations dropped because their "
                              f"panel has only one observation: {_format_periods(names)}",
                              MissingValuesWarning, stacklevel=4)
            keep = ~single
        else:
            keep = np.ones(g.size, dtype=bool)
        if self.corr != "independent" and not self.force:
            first = np.r_[True, g[1:] != g[:-1]]
            if np.issubdtype(np.asarray(tval).dtype, np.number):
                diff = np.r_[0.0, np.diff(tval.astype(float))]
                cand = diff[~first & keep]
                delta = cand[cand > 0].min() if (cand > 0).any() else 1.0
            else:
                diff = np.r_[0, np.diff(tcode)].astype(float)
                delta = 1.0
            bad = (~first) & keep & (diff != delta)
            if bad.any():
                rows = np.flatnonzero(bad)
                where = [f"{self._entities[g[r]]} (between {tval[r - 1]} and {tval[r]})"
                         for r in rows]
                raise DataError(
                    "panels are not regularly spaced in time (gaps or uneven intervals), "
                    f"which AR(1) correlation needs: {_format_periods(where)}",
                    hint="fill or drop the gapped periods, use corr='independent', or "
                         "pass force=True to treat consecutive observations as adjacent")
        if self.panels == "correlated":
            gk, tk = g[keep], tcode[keep]
            present = np.zeros((n_ent, self._times.size), dtype=bool)
            present[gk, tk] = True
            used = np.flatnonzero(np.bincount(gk, minlength=n_ent) > 0)
            cols = present[used].any(axis=0)
            missing = ~present[used][:, cols]
            if missing.any():
                periods = self._times[cols]
                parts = [f"{self._entities[used[i]]}: "
                         f"{_format_periods(periods[missing[i]].tolist(), 5)}"
                         for i in np.flatnonzero(missing.any(axis=1))]
                raise DataError(
                    "panels='correlated' needs balanced panels (every panel observed in "
                    "the same periods); missing (panel: periods): "
                    + "; ".join(parts[:10]) + (" ..." if len(parts) > 10 else ""),
                    hint="restrict the sample to a balanced block of panels and periods, "
                         "or use panels='hetero'")
        return keep

    def _rho(self, e: np.ndarray, g: np.ndarray, first: np.ndarray, n_g: int,
             k_rho: int) -> np.ndarray:
        lag = np.r_[0.0, e[:-1]]
        lagged = ~first
        cnt = np.bincount(g, minlength=n_g).astype(float)
        num = np.bincount(g, weights=np.where(lagged, e * lag, 0.0), minlength=n_g)
        sse = np.bincount(g, weights=e * e, minlength=n_g)
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.rhotype == "regress":
                den = np.bincount(g, weights=np.where(lagged, lag * lag, 0.0), minlength=n_g)
                rho = num / den
            elif self.rhotype == "freg":
                den = np.bincount(g, weights=np.where(lagged, e * e, 0.0), minlength=n_g)
                rho = num / den
            elif self.rhotype == "tscorr":
                rho = num / sse
            elif self.rhotype in ("dw", "nagar"):
                dwv = np.bincount(g, weights=np.where(lagged, (e - lag) ** 2, 0.0),
                                  minlength=n_g) / sse
                if self.rhotype == "dw":
                    rho = 1.0 - dwv / 2.0
                else:
                    rho = (cnt ** 2 * (1.0 - dwv / 2.0) + k_rho ** 2) / (cnt ** 2 - k_rho ** 2)
            elif self.rhotype == "theil":
                rho = (cnt - k_rho) * num / ((cnt - 1.0) * sse)
            else:  # onestep
                rho = cnt / (cnt - 1.0) * num / sse
        return rho

    @staticmethod
    def _prais_winsten(z: np.ndarray, rho_obs: np.ndarray, first: np.ndarray) -> np.ndarray:
        """z*_t = z_t - rho z_t-1 within panels; z*_1 = sqrt(1 - rho^2) z_1."""
        r = rho_obs.reshape((-1,) + (1,) * (z.ndim - 1))
        out = z.copy()
        out[1:] -= r[1:] * z[:-1]
        out[first] = np.sqrt(1.0 - r[first] ** 2) * z[first]
        return out

    # ------------------------------------------------------------------- fit
    def fit(self, *, nmk: bool = False) -> "PanelFGLSResults":
        """Estimate the model.

        Parameters
        ----------
        nmk : normalise the coefficient covariance by n - k instead of n (Stata ``nmk``).
        """
        g, tcode, tval = self._g, self._t, self._time_values
        keep = self._check_panels(g, tcode, tval)
        y, x, g, tcode = self._y[keep], self._x[keep], g[keep], tcode[keep]
        index = self._index[keep]
        n, k = x.shape
        # Renumber panels and periods actually used.
        g_codes, g_used = pd.factorize(g, sort=True)
        t_codes, t_used = pd.factorize(tcode, sort=True)
        g_codes = g_codes.astype(np.intp)
        t_codes = t_codes.astype(np.intp)
        entities = self._entities[g_used]
        n_g, n_t = entities.size, t_used.size
        sizes = np.bincount(g_codes, minlength=n_g)

        rank = np.linalg.matrix_rank(x)
        if rank < k:
            raise EstimationError(f"exog is rank deficient (rank {rank} < {k} columns); "
                                  "drop collinear regressors")
        if n <= k:
            raise EstimationError(f"{n} observations cannot identify {k} coefficients")
        if self.panels == "correlated" and n_t < n_g:
            if not self.force:
                raise EstimationError(
                    f"panels='correlated' with {n_t} periods and {n_g} panels: the "
                    "N x N cross-panel covariance is estimated from T < N periods and "
                    "is singular (Stata needs T >= N and otherwise silently uses a "
                    "generalized inverse)",
                    )
            warnings.warn(f"panels='correlated' with T={n_t} < N={n_g}: Sigma is "
                          "singular; using its Moore-Penrose pseudo-inverse",
                          UserWarning, stacklevel=2)
        first = np.r_[True, g_codes[1:] != g_codes[:-1]]
        const_cols = [j for j in range(k) if _is_constant(x[:, j])]
        k_rho = k - len(const_cols)

        # Step 1-4: OLS, rho, Prais-Winsten, OLS on transformed data.
        b_ols = np.linalg.lstsq(x, y, rcond=None)[0]
        e = y - x @ b_ols
        rho_panel = None
        if self.corr == "independent":
            ys, xs = y, x
        else:
            rho_i = self._rho(e, g_codes, first, n_g, k_rho)
            if self.corr == "ar1":
                ok = np.isfinite(rho_i)
                if not ok.any():
                    raise EstimationError("rho could not be computed for any panel "
                                          f"with rhotype={self.rhotype!r}")
                rho_common = float(np.sum(rho_i[ok] * sizes[ok]) / np.sum(sizes[ok]))
                rho_panel = np.full(n_g, rho_common)
            else:
                bad = ~np.isfinite(rho_i)
                if bad.any():
                    raise EstimationError(
                        f"rho_i could not be computed with rhotype={self.rhotype!r} for "
                        f"panel(s) {_format_periods(entities[bad].tolist())}")
                rho_panel = rho_i
            out = np.abs(rho_panel) >= 1.0
            if out.any():
                which = (["all panels (common rho)"] if self.corr == "ar1"
                         else entities[out].tolist())
                vals = np.unique(np.round(rho_panel[out], 6)).tolist()
                raise EstimationError(
                    f"estimated AR(1) coefficient |rho| >= 1 ({_format_periods(vals)}) "
                    f"for {_format_periods(which)}: the Prais-Winsten transform is "
                    "undefined",
                    )
            rho_obs = rho_panel[g_codes]
            ys = self._prais_winsten(y, rho_obs, first)
            xs = self._prais_winsten(x, rho_obs, first)
        b_star = np.linalg.lstsq(xs, ys, rcond=None)[0]
        u = ys - xs @ b_star

        # Balanced layout for correlated panels: T x N arrays.
        if self.panels == "correlated":
            pos = t_codes * n_g + g_codes
            y_tn = np.empty(n_t * n_g)
            y_tn[pos] = ys
            y_tn = y_tn.reshape(n_t, n_g)
            x_tn = np.empty((n_t * n_g, k))
            x_tn[pos] = xs
            x_tn = x_tn.reshape(n_t, n_g, k)

        def sigma_of(res: np.ndarray) -> np.ndarray:
            """N x N Sigma for correlated panels; its diagonal (a vector) otherwise."""
            if self.panels == "iid":
                return np.full(n_g, float(np.mean(res * res)))
            if self.panels == "hetero":
                return np.bincount(g_codes, weights=res * res, minlength=n_g) / sizes
            r_tn = np.empty(n_t * n_g)
            r_tn[pos] = res
            r_tn = r_tn.reshape(n_t, n_g)
            return r_tn.T @ r_tn / n_t

        def gls(sig: np.ndarray):
            if self.panels != "correlated":
                s2 = sig
                if np.any(s2 <= 0):
                    raise EstimationError("a panel has zero residual variance; GLS "
                                          "weights are undefined")
                w = 1.0 / np.sqrt(s2)[g_codes]
                xw, yw = xs * w[:, None], ys * w
            else:
                evals, evecs = np.linalg.eigh(sig)
                tiny = evals.max() * max(n_g, n_t) * np.finfo(float).eps
                if evals.min() <= tiny and not self.force:
                    raise EstimationError("the estimated cross-panel covariance Sigma "
                                          "is singular")
                good = evals > tiny
                cfac = (evecs[:, good] / np.sqrt(evals[good])).T  # C'C = pinv(Sigma)
                yw = (y_tn @ cfac.T).ravel()
                xw = np.einsum("tnk,mn->tmk", x_tn, cfac).reshape(-1, k)
            beta = np.linalg.lstsq(xw, yw, rcond=None)[0]
            r = np.linalg.qr(xw, mode="r")  # X*'Om^-1 X* = R'R, without forming Q
            rinv = np.linalg.solve(r, np.eye(k))
            return beta, rinv @ rinv.T

        sigma = sigma_of(u)
        beta, cov = gls(sigma)
        iterations, converged = 1, True
        if self.igls:
            converged = False
            while iterations < self.maxiter:
                sigma = sigma_of(ys - xs @ beta)
                beta_new, cov = gls(sigma)
                iterations += 1
                diff = _mreldif(beta_new, beta)
                beta = beta_new
                if diff <= self.tol:
                    converged = True
                    break
            if not converged:
                warnings.warn(f"iterated GLS did not converge in {self.maxiter} "
                              f"iterations (tol={self.tol:g}); results are from the last "
                              "iteration", ConvergenceWarning, stacklevel=2)

        llf = float("nan")
        if self.corr == "independent" and (self.igls or self.panels == "iid"):
            resid = ys - xs @ beta
            if self.panels == "correlated":
                sign, logdet = np.linalg.slogdet(sigma)
                lndet = n_t * logdet
                sinv = np.linalg.pinv(sigma)
                r_tn = np.empty(n_t * n_g)
                r_tn[pos] = resid
                r_tn = r_tn.reshape(n_t, n_g)
                quad = float(np.einsum("ti,ij,tj->", r_tn, sinv, r_tn))
            else:
                s2 = sigma[g_codes]
                lndet = float(np.sum(np.log(s2)))
                quad = float(np.sum(resid * resid / s2))
            llf = -0.5 * (n * math.log(2 * math.pi) + lndet + quad)
        if nmk:
            cov = cov * n / (n - k)

        if self.corr == "independent":
            rho_out: Any = None
        elif self.corr == "ar1":
            rho_out = float(rho_panel[0])
        else:
            rho_out = pd.Series(rho_panel, index=entities, name="rho")
        return PanelFGLSResults(
            model=self, params=beta, cov=cov, sigma=sigma, rho=rho_out, llf=llf,
            nobs=n, n_panels=n_g, n_periods=n_t, sizes=sizes, entities=entities,
            index=index, y=y, x=x, wresid=ys - xs @ beta, g_codes=g_codes,
            t_codes=t_codes, const_cols=const_cols, nmk=nmk, iterations=iterations,
            converged=converged)


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
        b = params[slopes]
        stat = float(b @ np.linalg.solve(cov[np.ix_(slopes, slopes)], b))
        return WaldTestStatistic(stat, "all coefficients except the constant are zero",
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
    def __init__(self, *, model: PanelFGLS, params, cov, sigma, rho, llf, nobs,
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
