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
   propagate missing values); so does a sample in which every panel has a single
   observation (no rho can be estimated). The checks are ``models._checks.panel_rhos``,
   shared with :mod:`regrowth.models.pcse`.
4. OLS on the transformed data; residuals u (on the transformed scale, the first
   observation of each panel included).
5. Sigma from u with Stata's divisors: ``iid`` sigma^2 = u'u / n (n = all
   observations); ``hetero`` sigma_i^2 = u_i'u_i / T_i; ``correlated``
   Sigma_ij = u_i'u_j / T (balanced panels only). ``hetero`` and ``correlated``
   need T >= 2 periods (with one, sigma_i^2 is a single squared residual, zero where
   the fit passes through a point): a one-period sample is an :class:`EstimationError`.
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

import math
import sys
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from formulaic import model_matrix
from linearmodels.panel.data import PanelData

from regrowth.errors import (ConvergenceWarning, DataError, EstimationError,
                             MissingValuesWarning, SpecificationError)
from regrowth.models._checks import format_list, panel_rhos
from regrowth.models.fgls_results import PanelFGLSResults

__all__ = ["PanelFGLS", "PanelFGLSResults"]

PANELS = ("iid", "hetero", "correlated")
CORRS = ("independent", "ar1", "psar1")
RHOTYPES = ("regress", "freg", "tscorr", "dw", "theil", "nagar", "onestep")
_PANEL_ALIASES = {"iid": "iid", "homoskedastic": "iid", "hetero": "hetero",
                  "heteroskedastic": "hetero", "heteroscedastic": "hetero",
                  "correlated": "correlated"}


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
            diff = (f"rows not in {ref_name}: {format_list(list(extra), 3)}; rows of "
                    f"{ref_name} missing: {format_list(list(lacking), 3)}")
    return (f"{what} and {ref_name} are not indexed by the same rows ({diff}); the "
            "estimator does not align them silently. Select both from one DataFrame, or "
            f"align first, e.g. {what} = {what}.reindex({ref_name}.index) (rows missing in "
            f"{what} then become NaN and are dropped).")




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
            raise DataError(f"duplicated (entity, time) pairs: {format_list(dups)}")
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
                              f"panel has only one observation: {format_list(names)}",
                              MissingValuesWarning, stacklevel=4)
            keep = ~single
            if not keep.any():
                periods = np.unique(np.asarray(tval)).tolist()
                raise EstimationError(
                    f"AR(1) correlation ({self.corr!r}) estimates rho from each panel's "
                    "residuals in consecutive periods, and every panel has a single "
                    f"observation (periods: {format_list(periods)}): there is nothing to "
                    "estimate rho from. Widen the sample's years to at least 2 periods, or use "
                    "independent errors (corr/correlation = 'independent')")
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
                    f"which AR(1) correlation needs: {format_list(where)}",
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
                         f"{format_list(periods[missing[i]].tolist(), 5)}"
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

    def _transformed_at(self, rho, keep: np.ndarray):
        """The rows ``keep`` of the data and their Prais-Winsten transform at ``rho`` as a
        fitted results object holds it (None: no AR(1); a float: one rho; a Series by panel:
        panel-specific). Returns ``(y, x, g, ys, xs)``: the outcome, the regressors, the panel
        codes and the transformed outcome and regressors (equal to y, x when rho is None).
        The GLS-transformed regression that ``boottest`` and the linear null curve hold fixed."""
        y, x, g = self._y[keep], self._x[keep], self._g[keep]
        if rho is None:
            return y, x, g, y, x
        first = np.r_[True, g[1:] != g[:-1]]
        if isinstance(rho, pd.Series):
            rho_obs = rho.reindex(self._entities[g]).to_numpy(dtype=float)
        else:
            rho_obs = np.full(len(y), float(rho))
        return (y, x, g, self._prais_winsten(y, rho_obs, first),
                self._prais_winsten(x, rho_obs, first))

    # ------------------------------------------------------------------- fit
    def fit(self, *, nmk: bool = False) -> "PanelFGLSResults":
        """Estimate the model.

        Parameters
        ----------
        nmk : normalise the coefficient covariance by n - k instead of n (Stata ``nmk``).
        """
        lay = self._layout()
        self._check_design(lay)
        ys, xs, rho_panel, beta, cov, sigma, iterations, converged = self._estimate(lay)
        llf = self._llf(lay, ys - xs @ beta, sigma)
        if nmk:
            cov = cov * lay.n / (lay.n - lay.k)
        if self.corr == "independent":
            rho_out: Any = None
        elif self.corr == "ar1":
            rho_out = float(rho_panel[0])
        else:
            rho_out = pd.Series(rho_panel, index=lay.entities, name="rho")
        return PanelFGLSResults(
            model=self, params=beta, cov=cov, sigma=sigma, rho=rho_out, llf=llf,
            nobs=lay.n, n_panels=lay.n_g, n_periods=lay.n_t, sizes=lay.sizes,
            entities=lay.entities, index=lay.index, y=lay.y, x=lay.x, wresid=ys - xs @ beta,
            g_codes=lay.g_codes, t_codes=lay.t_codes, const_cols=lay.const_cols, nmk=nmk,
            iterations=iterations, converged=converged)

    # ------------------------------------------------------------------ steps of fit()
    def _estimate(self, lay: "_Layout"):
        """Steps 1-5 on a checked layout: OLS, rho, Prais-Winsten, OLS on the transformed data,
        Sigma, GLS (iterated with ``igls``). Returns ``(ys, xs, rho_panel, beta, cov, sigma,
        iterations, converged)``; also the per-draw refit of regrowth.inference.refit."""
        ys, xs, rho_panel = self._transform(lay)
        b_star = np.linalg.lstsq(xs, ys, rcond=None)[0]
        if self.panels == "correlated":
            lay.balance(ys, xs)
        sigma = self._sigma(lay, ys - xs @ b_star)
        beta, cov = self._gls(lay, ys, xs, sigma)
        beta, cov, sigma, iterations, converged = self._iterate(lay, ys, xs, beta, cov, sigma)
        return ys, xs, rho_panel, beta, cov, sigma, iterations, converged

    def _layout(self) -> "_Layout":
        """The estimation sample (panels checked), panels and periods renumbered."""
        g, tcode, tval = self._g, self._t, self._time_values
        keep = self._check_panels(g, tcode, tval)
        y, x, g, tcode = self._y[keep], self._x[keep], g[keep], tcode[keep]
        g_codes, g_used = pd.factorize(g, sort=True)
        t_codes, t_used = pd.factorize(tcode, sort=True)
        g_codes = g_codes.astype(np.intp)
        t_codes = t_codes.astype(np.intp)
        n_g = g_used.size
        return _Layout(y=y, x=x, index=self._index[keep], g_codes=g_codes, t_codes=t_codes,
                       entities=self._entities[g_used], n_t=t_used.size,
                       sizes=np.bincount(g_codes, minlength=n_g))

    def _check_design(self, lay: "_Layout") -> None:
        rank = np.linalg.matrix_rank(lay.x)
        if rank < lay.k:
            raise EstimationError(f"exog is rank deficient (rank {rank} < {lay.k} columns); "
                                  "drop collinear regressors")
        if lay.n <= lay.k:
            raise EstimationError(f"{lay.n} observations cannot identify {lay.k} coefficients")
        if self.panels != "iid" and lay.n_t < 2:
            raise EstimationError(
                f"panels={self.panels!r} estimates each panel's variance from its residuals "
                f"over time, and the sample has one period ({lay.n_g} panels): each "
                "variance would be one squared residual, zero where the fit "
                "passes through a point, and the GLS weights would be arbitrary. FGLS needs "
                "T >= 2 periods; widen the sample's years, or use panels='iid' (OLS)")
        if self.panels == "correlated" and lay.n_t < lay.n_g:
            if not self.force:
                raise EstimationError(
                    f"panels='correlated' with {lay.n_t} periods and {lay.n_g} panels: the "
                    "N x N cross-panel covariance is estimated from T < N periods and "
                    "is singular (Stata needs T >= N and otherwise silently uses a "
                    "generalized inverse)",
                    )
            warnings.warn(f"panels='correlated' with T={lay.n_t} < N={lay.n_g}: Sigma is "
                          "singular; using its Moore-Penrose pseudo-inverse",
                          UserWarning, stacklevel=3)

    def _transform(self, lay: "_Layout"):
        """OLS residuals -> rho (common or per panel) -> Prais-Winsten data (ys, xs, rho)."""
        y, x = lay.y, lay.x
        b_ols = np.linalg.lstsq(x, y, rcond=None)[0]
        e = y - x @ b_ols
        if self.corr == "independent":
            return y, x, None
        rho_i = self._rho(e, lay.g_codes, lay.first, lay.n_g, lay.k - len(lay.const_cols))
        rho_panel = panel_rhos(rho_i, self.corr, entities=lay.entities, rhotype=self.rhotype,
                               weights=lay.sizes)
        rho_obs = rho_panel[lay.g_codes]
        return (self._prais_winsten(y, rho_obs, lay.first),
                self._prais_winsten(x, rho_obs, lay.first), rho_panel)

    def _sigma(self, lay: "_Layout", res: np.ndarray) -> np.ndarray:
        """N x N Sigma for correlated panels; its diagonal (a vector) otherwise."""
        if self.panels == "iid":
            return np.full(lay.n_g, float(np.mean(res * res)))
        if self.panels == "hetero":
            return np.bincount(lay.g_codes, weights=res * res, minlength=lay.n_g) / lay.sizes
        return lay.to_tn(res).T @ lay.to_tn(res) / lay.n_t

    def _gls(self, lay: "_Layout", ys, xs, sig: np.ndarray):
        """GLS coefficients and (X*'Omega^-1 X*)^-1 given Sigma."""
        k = lay.k
        if self.panels != "correlated":
            s2 = sig
            if np.any(s2 <= 0):
                raise EstimationError("a panel has zero residual variance; GLS "
                                      "weights are undefined")
            w = 1.0 / np.sqrt(s2)[lay.g_codes]
            xw, yw = xs * w[:, None], ys * w
        else:
            evals, evecs = np.linalg.eigh(sig)
            tiny = evals.max() * max(lay.n_g, lay.n_t) * np.finfo(float).eps
            if evals.min() <= tiny and not self.force:
                raise EstimationError("the estimated cross-panel covariance Sigma "
                                      "is singular")
            good = evals > tiny
            cfac = (evecs[:, good] / np.sqrt(evals[good])).T  # C'C = pinv(Sigma)
            yw = (lay.y_tn @ cfac.T).ravel()
            xw = np.einsum("tnk,mn->tmk", lay.x_tn, cfac).reshape(-1, k)
        beta = np.linalg.lstsq(xw, yw, rcond=None)[0]
        r = np.linalg.qr(xw, mode="r")  # X*'Om^-1 X* = R'R, without forming Q
        rinv = np.linalg.solve(r, np.eye(k))
        return beta, rinv @ rinv.T

    def _iterate(self, lay: "_Layout", ys, xs, beta, cov, sigma):
        """Iterated GLS (``igls``): Sigma and beta until the relative change <= tol."""
        iterations, converged = 1, True
        if not self.igls:
            return beta, cov, sigma, iterations, converged
        converged = False
        while iterations < self.maxiter:
            sigma = self._sigma(lay, ys - xs @ beta)
            beta_new, cov = self._gls(lay, ys, xs, sigma)
            iterations += 1
            diff = _mreldif(beta_new, beta)
            beta = beta_new
            if diff <= self.tol:
                converged = True
                break
        if not converged:
            warnings.warn(f"iterated GLS did not converge in {self.maxiter} "
                          f"iterations (tol={self.tol:g}); results are from the last "
                          "iteration", ConvergenceWarning, stacklevel=3)
        return beta, cov, sigma, iterations, converged

    def _llf(self, lay: "_Layout", resid: np.ndarray, sigma) -> float:
        """The Gaussian log likelihood where xtgls reports one (see the module docstring)."""
        if not (self.corr == "independent" and (self.igls or self.panels == "iid")):
            return float("nan")
        if self.panels == "correlated":
            sign, logdet = np.linalg.slogdet(sigma)
            lndet = lay.n_t * logdet
            sinv = np.linalg.pinv(sigma)
            r_tn = lay.to_tn(resid)
            quad = float(np.einsum("ti,ij,tj->", r_tn, sinv, r_tn))
        else:
            s2 = sigma[lay.g_codes]
            lndet = float(np.sum(np.log(s2)))
            quad = float(np.sum(resid * resid / s2))
        return -0.5 * (lay.n * math.log(2 * math.pi) + lndet + quad)


@dataclass
class _Layout:
    """The estimation sample of one fit: data, panel and period codes, the balanced T x N
    arrays for correlated panels."""

    y: np.ndarray
    x: np.ndarray
    index: pd.MultiIndex
    g_codes: np.ndarray
    t_codes: np.ndarray
    entities: pd.Index
    n_t: int
    sizes: np.ndarray
    y_tn: np.ndarray | None = None
    x_tn: np.ndarray | None = None

    def __post_init__(self):
        self.n, self.k = self.x.shape
        self.n_g = self.entities.size
        self.first = np.r_[True, self.g_codes[1:] != self.g_codes[:-1]]
        self.const_cols = [j for j in range(self.k) if _is_constant(self.x[:, j])]
        self.pos = self.t_codes * self.n_g + self.g_codes

    def to_tn(self, v: np.ndarray) -> np.ndarray:
        """A vector over observations as a T x N array (correlated panels are balanced)."""
        out = np.empty(self.n_t * self.n_g)
        out[self.pos] = v
        return out.reshape(self.n_t, self.n_g)

    def balance(self, ys: np.ndarray, xs: np.ndarray) -> None:
        self.y_tn = self.to_tn(ys)
        x_tn = np.empty((self.n_t * self.n_g, self.k))
        x_tn[self.pos] = xs
        self.x_tn = x_tn.reshape(self.n_t, self.n_g, self.k)
