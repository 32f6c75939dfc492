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
(Stata's ``Wald chi2(k-1)``). z statistics and p-values use the normal
distribution, as Stata's ``z`` column does.

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
import warnings
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from regrowth.errors import (ConvergenceWarning, DataError, EstimationError,
                             MissingValuesWarning)

__all__ = ["PanelFGLS", "PanelFGLSResults", "WaldTest"]

PANELS = ("iid", "hetero", "correlated")
CORRS = ("independent", "ar1", "psar1")
RHOTYPES = ("regress", "freg", "tscorr", "dw", "theil", "nagar", "onestep")
_PANEL_ALIASES = {"iid": "iid", "homoskedastic": "iid", "hetero": "hetero",
                  "heteroskedastic": "hetero", "heteroscedastic": "hetero",
                  "correlated": "correlated"}
_PANEL_TEXT = {"iid": "homoskedastic", "hetero": "heteroskedastic",
               "correlated": "heteroskedastic with cross-sectional correlation"}
_CORR_TEXT = {"independent": "no autocorrelation",
              "ar1": "common AR(1) coefficient for all panels",
              "psar1": "panel-specific AR(1)"}


@dataclass(frozen=True)
class WaldTest:
    """Wald chi-squared test that every slope is zero."""

    stat: float
    df: int
    pval: float
    null: str = "all coefficients except the constant are zero"

    def __str__(self) -> str:
        return f"Wald chi2({self.df}) = {self.stat:.4f}, Prob > chi2 = {self.pval:.4f}"


def _mreldif(new: np.ndarray, old: np.ndarray) -> float:
    """Stata's mreldif: max |new - old| / (|old| + 1)."""
    return float(np.max(np.abs(new - old) / (np.abs(old) + 1.0)))


def _is_constant(col: np.ndarray) -> bool:
    return bool(np.all(col == col[0])) and col[0] != 0


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
    def from_formula(cls, formula: str, data: pd.DataFrame, **kwargs: Any) -> "PanelFGLS":
        """Build the model from a formulaic formula, e.g. ``"y ~ 1 + x1 + x2"``.

        ``data`` must carry an (entity, time) MultiIndex. Keyword arguments go to the
        constructor.
        """
        from formulaic import model_matrix

        if not isinstance(data, pd.DataFrame) or not isinstance(data.index, pd.MultiIndex):
            raise DataError("PanelFGLS.from_formula needs a DataFrame indexed by an "
                            "(entity, time) MultiIndex",
                            hint="data.set_index([entity_column, time_column])")
        mm = model_matrix(formula, data, na_action="ignore")  # keeps every row
        lhs, rhs = mm.lhs, mm.rhs
        if lhs.shape[1] != 1:
            raise DataError(f"formula {formula!r} must have one dependent variable")
        y = pd.DataFrame(np.asarray(lhs, dtype=float), index=data.index,
                         columns=[str(c) for c in lhs.columns])
        x = pd.DataFrame(np.asarray(rhs, dtype=float), index=data.index,
                         columns=[str(c) for c in rhs.columns])
        model = cls(y, x, **kwargs)
        model.formula = formula
        return model

    def _prepare(self, dependent: Any, exog: Any) -> None:
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
            exog = exog.reindex(idx)
        self.dependent_name = str(dep.name) if dep.name is not None else "y"
        self.exog_names = [str(c) for c in exog.columns]
        if len(set(self.exog_names)) != len(self.exog_names):
            raise DataError("exog column names must be unique")
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
            index=index, y=y, x=x, const_cols=const_cols, nmk=nmk,
            iterations=iterations, converged=converged)


class PanelFGLSResults:
    """Results of :class:`PanelFGLS`; read-only, labelled pandas objects."""

    def __init__(self, *, model: PanelFGLS, params, cov, sigma, rho, llf, nobs,
                 n_panels, n_periods, sizes, entities, index, y, x, const_cols, nmk,
                 iterations, converged):
        names = model.exog_names
        self._model = model
        self._params = pd.Series(params, index=names, name="parameter")
        self._cov = pd.DataFrame(cov, index=names, columns=names)
        self._sigma_raw = sigma  # N x N (correlated) or its diagonal (iid, hetero)
        self._entities = entities
        self._rho = rho
        self._llf = llf
        self._nobs = int(nobs)
        self._n_panels = int(n_panels)
        self._n_periods = int(n_periods)
        self._sizes = pd.Series(sizes, index=entities, name="nobs")
        self._index = index
        self._y, self._x = y, x
        self._const_cols = const_cols
        self._nmk = nmk
        self._iterations = iterations
        self._converged = converged

    # Read-only properties --------------------------------------------------
    @property
    def model(self) -> PanelFGLS:
        return self._model

    @property
    def params(self) -> pd.Series:
        return self._params.copy()

    @property
    def cov(self) -> pd.DataFrame:
        """Covariance of the coefficients (n-normalised unless ``nmk``)."""
        return self._cov.copy()

    @property
    def bse(self) -> pd.Series:
        return pd.Series(np.sqrt(np.diag(self._cov.to_numpy())), index=self._params.index,
                         name="std_error")

    std_errors = bse

    @property
    def tstats(self) -> pd.Series:
        """z statistics (Stata's ``z`` column)."""
        return (self._params / self.bse).rename("z")

    zstats = tstats

    @property
    def pvalues(self) -> pd.Series:
        return pd.Series(2 * stats.norm.sf(np.abs(self.tstats.to_numpy())),
                         index=self._params.index, name="pvalue")

    def conf_int(self, level: float = 0.95) -> pd.DataFrame:
        """Normal-based confidence intervals."""
        q = stats.norm.ppf(0.5 + level / 2)
        se = self.bse
        return pd.DataFrame({"lower": self._params - q * se, "upper": self._params + q * se})

    @property
    def llf(self) -> float:
        """Log likelihood where Stata reports it (corr="independent" with igls or
        panels="iid"); NaN otherwise, because the FGLS estimate is not an MLE there."""
        return self._llf

    @cached_property
    def wald(self) -> WaldTest:
        names = self._params.index
        slopes = [i for i in range(len(names)) if i not in self._const_cols]
        if not slopes:
            return WaldTest(float("nan"), 0, float("nan"))
        b = self._params.to_numpy()[slopes]
        v = self._cov.to_numpy()[np.ix_(slopes, slopes)]
        stat = float(b @ np.linalg.solve(v, b))
        return WaldTest(stat, len(slopes), float(stats.chi2.sf(stat, len(slopes))))

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
    def nobs(self) -> int:
        return self._nobs

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
    def fitted_values(self) -> pd.Series:
        return pd.Series(self._x @ self._params.to_numpy(), index=self._index,
                         name="fitted_values")

    @property
    def resids(self) -> pd.Series:
        """y - X b on the original (untransformed) scale."""
        return pd.Series(self._y - self._x @ self._params.to_numpy(), index=self._index,
                         name="residual")

    @property
    def n_covariances(self) -> int:
        n = self._n_panels
        return {"iid": 1, "hetero": n, "correlated": n * (n + 1) // 2}[self._model.panels]

    @property
    def n_autocorrelations(self) -> int:
        return {"independent": 0, "ar1": 1, "psar1": self._n_panels}[self._model.corr]

    def summary(self, level: float = 0.95) -> "Summary":
        m = self._model
        lines = ["Cross-sectional time-series FGLS regression", "",
                 "Coefficients:  generalized least squares",
                 f"Panels:        {_PANEL_TEXT[m.panels]}"]
        corr = f"Correlation:   {_CORR_TEXT[m.corr]}"
        if m.corr == "ar1":
            corr += f"  ({self._rho:.4f})"
        lines += [corr, ""]
        w = self.wald
        sz = self._sizes
        left = [("Estimated covariances", f"{self.n_covariances}"),
                ("Estimated autocorrelations", f"{self.n_autocorrelations}"),
                ("Estimated coefficients", f"{len(self._params)}"),
                ("Log likelihood", "" if math.isnan(self._llf) else f"{self._llf:.4f}")]
        right = [("Number of obs", f"{self._nobs}"), ("Number of groups", f"{self._n_panels}"),
                 ("Time periods" if sz.min() == sz.max() else "Obs per group (avg)",
                  f"{self._n_periods}" if sz.min() == sz.max() else f"{sz.mean():.1f}"),
                 (f"Wald chi2({w.df})", f"{w.stat:.2f}"), ("Prob > chi2", f"{w.pval:.4f}")]
        for i in range(max(len(left), len(right))):
            lt = f"{left[i][0]:<27}= {left[i][1]:>9}" if i < len(left) and left[i][1] else ""
            rt = f"{right[i][0]:<18}= {right[i][1]:>10}" if i < len(right) else ""
            lines.append(f"{lt:<40}{rt}")
        lines.append("")
        ci = self.conf_int(level)
        pct = f"[{level * 100:g}% conf. interval]"
        name = m.dependent_name[:12]
        lines.append("-" * 78)
        lines.append(f"{name:>12} | {'Coefficient':>11} {'Std. err.':>10} {'z':>7} "
                     f"{'P>|z|':>6}  {pct:>25}")
        lines.append("-" * 13 + "+" + "-" * 64)
        for p in self._params.index:
            lines.append(f"{p[:12]:>12} | {self._params[p]:>11.6g} {self.bse[p]:>10.6g} "
                         f"{self.tstats[p]:>7.2f} {self.pvalues[p]:>6.3f}  "
                         f"{ci.loc[p, 'lower']:>12.6g} {ci.loc[p, 'upper']:>12.6g}")
        lines.append("-" * 78)
        notes = []
        if m.corr == "psar1":
            notes.append("rho_i: " + ", ".join(f"{k}={v:.4f}" for k, v in self._rho.items()))
        if self._nmk:
            notes.append("Standard errors normalised by n - k (nmk).")
        if m.igls:
            notes.append(f"Iterated GLS: {self._iterations} iterations, "
                         f"{'converged' if self._converged else 'NOT converged'}.")
        return Summary("\n".join(lines + notes))

    def __repr__(self) -> str:
        return str(self.summary())


class Summary(str):
    """Plain-text summary (a ``str`` with ``as_text``)."""

    def as_text(self) -> str:
        return str(self)

    def __repr__(self) -> str:  # print nicely in notebooks
        return str(self)
