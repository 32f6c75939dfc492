r"""Generalized negative binomial regression (Stata's ``gnbreg``).

Model
-----
NB2 with a mean equation and a dispersion equation::
    E[y_i]          = mu_i    = exp(x_i'b + o_i)       o_i = offset_i + ln(exposure_i)
    ln(alpha_i)     = t_i     = z_i'g                  (z = [1] by default)
    Var[y_i]        = mu_i (1 + alpha_i mu_i)

With r_i = 1/alpha_i, the log likelihood of one observation is::
    l_i = lnG(y_i + r_i) - lnG(r_i) - lnG(y_i + 1)
          - (r_i + y_i) ln(1 + alpha_i mu_i) + y_i (t_i + ln mu_i)

Writing eta_i = x_i'b + o_i, q_i = 1 + alpha_i mu_i, psi = digamma, psi1 = trigamma and
D_i = psi(y_i + r_i) - psi(r_i), the score and Hessian implemented (``score_obs``, ``hessian``)
are, per observation and per index (chain rule: d/db = x_i d/deta, d/dg = z_i d/dt)::
    dl/deta      = (y - mu) / q
    dl/dt        = r (ln q - D) + (y - mu) / q
    d2l/deta2    = -mu (1 + alpha y) / q^2
    d2l/deta dt  = alpha mu (mu - y) / q^2
    d2l/dt2      = -r (ln q - D) + mu / q + r^2 (psi1(y + r) - psi1(r))
                   - (y - mu) alpha mu / q^2

A constant-only dispersion equation is NB2 (Stata ``nbreg``, statsmodels
``NegativeBinomial(loglike_method="nb2")``, R ``MASS::glm.nb``); Poisson is the limit
ln(alpha) -> -inf.

For integer counts, lnG(y+r) - lnG(r), psi(y+r) - psi(r) and psi1(y+r) - psi1(r) are computed as
the exact sums over k < y of ln(r+k), 1/(r+k) and -1/(r+k)^2 (observations sorted once by y, so
each k works on a prefix; counts above 100 add the rest through lnG/psi/psi1): cheaper than
scipy's special functions and free of cancellation. Non-integer y use scipy.special.

Estimation
----------
Newton-Raphson on the analytic Hessian, started from a Poisson fit (and a moment estimate of a
constant alpha). Defaults: ``maxiter=100``, ``tol=1e-12`` (unlike statsmodels' count models,
whose default of 35 iterations and tolerances on parameter changes can stop early). The Hessian is indefinite far from the optimum, so each step uses the Hessian
made negative definite (eigenvalues of the diagonally scaled -H replaced by
max(|lambda|, 1e-8 max|lambda|)) with a backtracking (Armijo) line search and a cap on the step
length. Convergence is declared only when

* the Hessian (scaled by its diagonal) is negative definite with condition number below 1e12, and
* the Newton decrement g'(-H)^{-1}g is below ``tol`` (default 1e-12; Stata's ``nrtolerance`` is
  1e-5 on the same quantity).

Otherwise ``converged`` is False and a ``ConvergenceWarning`` says why (iteration limit, stalled
line search, singular Hessian, mean coefficients diverging). If the dispersion equation runs to
the Poisson boundary (some ln(alpha_i) < -20, i.e. alpha_i < 2e-9) the fit stops, ``converged``
is False and a ``BoundaryWarning`` is issued: there is no finite maximum, fit a Poisson model.
For r = 1/alpha > 1e5 the differences lnG(y + r) - lnG(r), psi(y + r) - psi(r) and
psi1(y + r) - psi1(r) are computed from asymptotic series written as differences, so the
likelihood stays accurate close to the boundary. A fit that stalls (line search or iteration
limit) with some ln(alpha_i) < -10 is also reported as a boundary case.

Inference (``fit(cov_type=...)``)
---------------------------------
==================== ===================== ==================================================
``cov_type``         Stata                 covariance
==================== ===================== ==================================================
"nonrobust", "oim"   ``vce(oim)`` (default) (-H)^{-1} at the estimate
"robust", "HC1"      ``vce(robust)``        N/(N-1) * H^{-1} (sum_i s_i s_i') H^{-1}
"HC0"                (none)                 H^{-1} (sum_i s_i s_i') H^{-1}, no correction
"cluster"            ``vce(cluster g)``     G/(G-1) * H^{-1} (sum_g S_g S_g') H^{-1}
==================== ===================== ==================================================

s_i is the score of observation i, S_g the sum of s_i in cluster g. Stata's ``_robust`` applies
N/(N-1) (robust) and G/(G-1) (cluster) to maximum-likelihood estimators -- not the
(N-1)/(N-k) factor of ``regress`` -- which the test suite checks against Stata's own ``nbreg``
output on the ``ships`` data (``vce(robust)`` and ``vce(cluster ship)``). ``cov_kwds``:
``{"groups": array}`` for clusters (defaults to the ``groups`` given to the model),
``{"use_correction": False}`` drops the N/(N-1) or G/(G-1) factor. p-values and confidence
intervals use the normal distribution, as Stata does for ML models.

Mapping to Stata and R
----------------------
* Stata: ``gnbreg y x1 x2, lnalpha(z1 z2) offset(o) exposure(e) vce(...)`` ==
  ``GeneralizedNegativeBinomial(y, X, exog_disp=Z, offset=o, exposure=e).fit(cov_type=...)``;
  Stata's ``lnalpha:_cons`` is our ``lnalpha:Intercept``. ``nbreg`` is ``exog_disp=None``.
* R ``glmmTMB(y ~ x, dispformula = ~ z, family = nbinom2)``: glmmTMB's dispersion is
  theta = 1/alpha, so its ``disp`` coefficients are -g (same log likelihood).
* R ``VGAM::vglm(y ~ x, negbinomial(zero = NULL))`` with the size equation on z: ``lsize`` =
  ln(1/alpha) = -z'g.
* R ``MASS::glm.nb``: the constant case, theta = 1/alpha. Its printed standard errors of b come
  from the expected information with theta held fixed, not Stata's observed information.

Missing values (NaN/None in y, X, Z, offset, exposure or groups) drop the row everywhere, with a
``MissingValuesWarning``; the count is ``model.n_missing`` (``model.row_mask`` marks the kept rows
of the input, of ``data`` for ``from_formula``). A design without full column rank raises
``EstimationError`` naming the collinear columns; so do an outcome that is all zeros or constant.
pandas inputs must share endog's index (``SpecificationError`` otherwise: nothing is aligned
silently, by position or by label).

Names. The constant is ``Intercept`` wherever the estimator makes it: the formula interface
(statsmodels' formula machinery, patsy or formulaic), the default dispersion equation
(``lnalpha:Intercept``) and a column of ones passed as a bare array. Column names of DataFrames
are kept as given.

Formulas. ``from_formula`` evaluates the mean and dispersion formulas with statsmodels' formula
machinery (``statsmodels.formula.options.formula_engine``), keeps ``model.formula``,
``model.disp_formula``, ``model.data.frame`` and the design specifications
(``model.data.model_spec``, ``model.disp_model_spec``), so ``results.predict(new_frame)`` rebuilds
both designs (factor levels, transformations) from the raw variables of a new DataFrame.

Results (``GNBResults``)
------------------------
statsmodels-style: ``params``/``bse``/``pvalues`` (pandas, mean equation first, then
``lnalpha:<name>``), ``conf_int()``, ``cov_params()``, ``llf``, ``aic``, ``bic``, ``nobs``,
``converged``, ``mle_retvals``, ``summary()``, ``t_test``/``wald_test``, ``predict(which=...)``
(``"mean"``, ``"linear"``, ``"lnalpha"``, ``"alpha"``, ``"var"``); ``llnull`` is Stata's
``ll_0`` of ``nbreg`` (constant-only mean, constant alpha); ``irr()``; ``marginal_effects()``
(alias ``get_margeff()``); ``lr_test_nb2()``; ``lr_test_poisson()`` (chi-bar-squared, see its
docstring for a dispersion equation with more than a constant); ``get_robustcov()``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import linalg, special, stats
from statsmodels.base.model import GenericLikelihoodModel, GenericLikelihoodModelResults
import statsmodels.base.wrapper as wrap

from regrowth.models.covariance import cluster_meat, sandwich, stata_ml_scale
from regrowth.errors import (
    BoundaryWarning,
    ConvergenceWarning,
    DataError,
    EstimationError,
    MissingValuesWarning,
    SpecificationError,
)
import sys
from statsmodels.formula._manager import FormulaManager
from statsmodels.base.model import LikelihoodModelResults
import copy

__all__ = ["GeneralizedNegativeBinomial", "GNBResults", "LRTestResult"]

DISP_PREFIX = "lnalpha:"
RegrowthErrorTypes = (DataError, EstimationError, SpecificationError)
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


# For r = 1/alpha large the differences lnG(y+r) - lnG(r), psi(y+r) - psi(r) and
# psi1(y+r) - psi1(r) cancel catastrophically; there we use Stirling/asymptotic series written
# as differences (log1p, exact rational differences), accurate to rounding for r > 1e5.
_R_ASYMPTOTIC = 1e5
_K_SUM = 100  # integer counts: explicit sums for the first 100 terms of lnG(y+r) - lnG(r) etc.


def _stirling_tail(x):
    """lnG(x) - [(x - 1/2) ln x - x + ln(2 pi)/2] for large x."""
    x2 = x * x
    return 1.0 / (12.0 * x) - 1.0 / (360.0 * x * x2) + 1.0 / (1260.0 * x * x2 * x2)


def _lgamma_diff_big(y, r):
    return ((r - 0.5) * np.log1p(y / r) + y * np.log(y + r) - y
            + (_stirling_tail(y + r) - _stirling_tail(r)))


def _digamma_diff_big(y, r):
    # psi(x) = ln x - 1/(2x) - 1/(12x^2) + 1/(120x^4) - ...
    x = y + r
    return (np.log1p(y / r) + y / (2.0 * x * r) - (1.0 / (12.0 * x * x) - 1.0 / (12.0 * r * r))
            + (1.0 / (120.0 * x ** 4) - 1.0 / (120.0 * r ** 4)))


def _trigamma_diff_big(y, r):
    # psi1(x) = 1/x + 1/(2x^2) + 1/(6x^3) - 1/(30x^5) + ...
    x = y + r
    return (-y / (x * r) + 0.5 * (1.0 / (x * x) - 1.0 / (r * r))
            + (1.0 / (6.0 * x ** 3) - 1.0 / (6.0 * r ** 3))
            - (1.0 / (30.0 * x ** 5) - 1.0 / (30.0 * r ** 5)))


# ----------------------------------------------------------------------------- input handling

CONSTANT = "Intercept"  # the constant's name wherever the estimator names it


def _misaligned(what: str, index: pd.Index, ref: pd.Index,
                ref_name: str = "endog") -> SpecificationError:
    if len(index) != len(ref):
        diff = f"{len(index)} rows against {len(ref)}"
    elif index.is_unique and ref.is_unique and index.sort_values().equals(ref.sort_values()):
        diff = "the same rows in a different order"
    else:
        extra = [v for v in index[~index.isin(ref)][:3]]
        diff = (f"e.g. row(s) {extra} are not in {ref_name}'s index" if extra
                else "labels differ")
    return SpecificationError(
        f"{what} and {ref_name} are not indexed by the same rows ({diff}); the estimator does "
        f"not align them silently. Select both from one DataFrame, or align first, e.g. "
        f"{what} = {what}.reindex({ref_name}.index) (rows it lacks become NaN and are "
        "dropped).")


def _check_index(x, what: str, index) -> None:
    if isinstance(x, (pd.Series, pd.DataFrame)) and index is not None \
            and not x.index.equals(index):
        raise _misaligned(what, x.index, index)


def _as_frame(x, prefix: str, index) -> pd.DataFrame:
    if isinstance(x, pd.DataFrame):
        return x
    if isinstance(x, pd.Series):
        return x.to_frame(name=x.name if x.name is not None else f"{prefix}1")
    arr = np.asarray(x, dtype=float)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise DataError(f"{prefix}: expected a 1- or 2-dimensional array, got {arr.ndim} dimensions")
    names = []
    for j in range(arr.shape[1]):
        col = arr[:, j]
        finite = col[np.isfinite(col)]
        names.append(CONSTANT if finite.size and np.all(finite == 1.0) and CONSTANT not in names
                     else f"{prefix}{j + 1}")
    return pd.DataFrame(arr, columns=names, index=index)


def _numeric(frame: pd.DataFrame, what: str) -> np.ndarray:
    try:
        arr = frame.to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        bad = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
        raise DataError(f"{what}: non-numeric column(s) {bad}", hint="encode factors as "
                        "dummies or use from_formula with C(name)") from exc
    return arr


def _vector(x, n: int, what: str) -> np.ndarray | None:
    if x is None:
        return None
    arr = np.asarray(x, dtype=float).reshape(-1)
    if arr.shape[0] != n:
        raise DataError(f"{what} has {arr.shape[0]} rows but endog has {n}")
    return arr


def _collinear(mat: np.ndarray, names: list[str], what: str) -> None:
    """Raise EstimationError naming the collinear columns if ``mat`` lacks full column rank."""
    k = mat.shape[1]
    if k == 0:
        return
    scale = np.sqrt((mat * mat).sum(axis=0))
    zero = scale == 0
    if zero.any():
        bad = [names[j] for j in np.flatnonzero(zero)]
        raise EstimationError(f"{what}: column(s) {bad} are identically zero in the estimation "
                              "sample; drop them")
    ms = mat / scale
    if k == 1:
        return  # one non-zero column
    gram = ms.T @ ms
    w = linalg.eigvalsh(gram)
    if w[0] > 1e-12 * k * w[-1]:
        return  # full rank (cheap check on the k x k Gram matrix)
    r, piv = linalg.qr(ms, mode="r", pivoting=True)
    d = np.abs(np.diag(r))
    tol = max(max(mat.shape) * np.finfo(float).eps * 10, 1e-7) * d[0]
    rank = int((d > tol).sum())
    if rank < k:
        dep = [names[j] for j in piv[rank:]]
        base = piv[:rank]
        parts = []
        for j in piv[rank:]:
            coef, *_ = linalg.lstsq(ms[:, base], ms[:, j])
            involved = [names[base[i]] for i in np.flatnonzero(np.abs(coef) > 1e-8)]
            parts.append(f"{names[j]} = combination of {involved}")
        raise EstimationError(f"{what} is rank deficient (rank {rank} < {k} columns): collinear "
                              f"column(s) {dep} ({'; '.join(parts)}). Drop one of them.")


# ----------------------------------------------------------------------------- the model

class GeneralizedNegativeBinomial(GenericLikelihoodModel):
    __doc__ = """Generalized negative binomial regression (NB2, ln alpha = z'g), Stata's gnbreg.

    Parameters
    ----------
    endog : array_like, counts (non-negative).
    exog : array_like or DataFrame, mean-equation regressors (add a constant yourself, as in
        statsmodels; ``from_formula`` adds one).
    exog_disp : array_like or DataFrame, optional. Dispersion regressors z; default a constant.
    offset : array_like, optional. Added to x'b (mean equation only).
    exposure : array_like, optional. ln(exposure) is added to the offset (mean equation only).
    groups : array_like, optional, keyword only. Cluster identifiers, dropped together with the
        other variables when values are missing; used by ``fit(cov_type="cluster")``.

    pandas inputs (exog, exog_disp, offset, exposure, groups) must have endog's index (a
    ``SpecificationError`` says how to align them otherwise); arrays must have its length.
    An all-zero or constant outcome raises ``EstimationError``.

    See the module docstring for the likelihood, derivatives, solver and covariance types.
    """
    def __init__(self, endog, exog, exog_disp=None, offset=None, exposure=None, *,
                 groups=None, **kwds):
        index = endog.index if isinstance(endog, (pd.Series, pd.DataFrame)) else None
        if index is None and isinstance(exog, (pd.Series, pd.DataFrame)):
            index = exog.index
        else:
            _check_index(exog, "exog", index)
        for what, v in (("exog_disp", exog_disp), ("offset", offset), ("exposure", exposure),
                        ("groups", groups)):
            _check_index(v, what, index)
        yname = getattr(endog, "name", None) or "y"
        if isinstance(endog, pd.DataFrame):
            if endog.shape[1] != 1:
                raise DataError("endog must be one column")
            yname = str(endog.columns[0])
            endog = endog.iloc[:, 0]
        y = np.asarray(endog, dtype=float).reshape(-1)
        n_all = y.shape[0]
        if index is None:
            index = pd.RangeIndex(n_all)
        X = _as_frame(exog, "x", index)
        Z = (pd.DataFrame({CONSTANT: np.ones(n_all)}, index=index) if exog_disp is None
             else _as_frame(exog_disp, "z", index))
        for what, frame in (("exog", X), ("exog_disp", Z)):
            if frame.shape[0] != n_all:
                raise DataError(f"{what} has {frame.shape[0]} rows but endog has {n_all}")
        Xa, Za = _numeric(X, "exog"), _numeric(Z, "exog_disp")
        off = _vector(offset, n_all, "offset")
        expo = _vector(exposure, n_all, "exposure")
        grp = None
        if groups is not None:
            grp = pd.Series(np.asarray(groups).reshape(-1) if not isinstance(groups, pd.Series)
                            else groups.to_numpy())
            if grp.shape[0] != n_all:
                raise DataError(f"groups has {grp.shape[0]} rows but endog has {n_all}")

        keep = ~np.isnan(y) & ~np.isnan(Xa).any(axis=1) & ~np.isnan(Za).any(axis=1)
        if off is not None:
            keep &= ~np.isnan(off)
        if expo is not None:
            keep &= ~np.isnan(expo)
        if grp is not None:
            keep &= grp.notna().to_numpy()
        self.n_missing = int(n_all - keep.sum())
        self.row_mask = keep
        if self.n_missing:
            warnings.warn(f"{self.n_missing} of {n_all} observations dropped because of missing "
                          "values in y, exog, exog_disp, offset, exposure or groups",
                          MissingValuesWarning, stacklevel=2)
        y, Xa, Za = y[keep], Xa[keep], Za[keep]
        if y.size == 0:
            raise DataError("no observations left after dropping missing values")
        if not np.all(np.isfinite(y)) or np.any(y < 0):
            raise DataError("endog must be finite non-negative counts")
        if np.all(y == 0):
            raise EstimationError(
                f"the outcome {yname!r} is zero in all {y.size} observations of the estimation "
                "sample: a count model has no finite maximum (the mean runs to zero). Check the "
                "outcome column and the sample (years, regions) it is restricted to.")
        if np.all(y == y[0]):
            raise EstimationError(
                f"the outcome {yname!r} is constant ({y[0]:g} in all {y.size} observations): "
                "there is no variation to explain and the dispersion runs to the Poisson "
                "boundary. Check the outcome column and the sample.")
        for what, arr in (("exog", Xa), ("exog_disp", Za)):
            if not np.all(np.isfinite(arr)):
                raise DataError(f"{what} contains infinite values")
        total_off = np.zeros(y.shape[0])
        if off is not None:
            if not np.all(np.isfinite(off[keep])):
                raise DataError("offset contains infinite values")
            total_off += off[keep]
        if expo is not None:
            e = expo[keep]
            if np.any(e <= 0) or not np.all(np.isfinite(e)):
                raise DataError("exposure must be positive and finite")
            total_off += np.log(e)
        xnames = [str(c) for c in X.columns]
        znames = [str(c) for c in Z.columns]
        _collinear(Xa, xnames, "exog (mean equation)")
        _collinear(Za, znames, "exog_disp (dispersion equation)")

        self.exog_disp = np.asfortranarray(Za)
        self.exog_disp_names = znames
        self.offset = total_off
        self._has_offset = off is not None or expo is not None
        self.groups = None if grp is None else grp.to_numpy()[keep]
        self.k_mean = Xa.shape[1]
        self.k_disp = Za.shape[1]
        idx = index[keep]
        super().__init__(pd.Series(y, index=idx, name=yname),
                         pd.DataFrame(Xa, columns=xnames, index=idx),
                         extra_params_names=[DISP_PREFIX + c for c in znames],
                         missing="none", **kwds)
        # plain contiguous arrays for the numerical work
        self._y = y
        self._X = np.asfortranarray(Xa)  # column-major: faster X'(w X)
        self._lgy1 = special.gammaln(y + 1.0)
        self._lgy1_sum = float(self._lgy1.sum())
        self._ypos = y > 0
        self._prepare_counts()
        self._poisson = None

    # statsmodels calls this from __init__; avoid its SVD-based rank and set our own dfs
    def initialize(self):
        self.k_constant = int(getattr(self, "k_constant", 0) or 0)
        self.df_model = float(self.exog.shape[1] - self.k_constant)
        self.df_resid = float(self.exog.shape[0] - self.exog.shape[1])

    @classmethod
    def from_formula(cls, formula, data, disp_formula=None, *, offset=None, exposure=None,
                     groups=None, subset=None, eval_env=0, **kwargs):
        """Build the model from formulas, through statsmodels' formula machinery.

        Parameters
        ----------
        formula : mean equation, e.g. ``"y ~ x1 + C(region_type)"`` (a constant is included,
            named ``Intercept``, unless the formula removes it).
        data : DataFrame (any index; a ``panel.load()`` frame keeps its (region, year) index).
        disp_formula : one-sided dispersion formula (``"~ z1 + C(f)"``), constant included
            unless it says ``- 1``/``+ 0``; ``None`` means a constant only (NB2).
        offset, exposure, groups : each a column name of ``data``, the name of one of its
            index levels (``groups="region"`` on the (region, year) panel), a Series on
            ``data``'s index, or an array with one value per row of ``data``. They are taken
            at the rows that survive the missing-value drop.
        subset : rows of ``data`` to use (``data.loc[subset]``).
        eval_env : namespace for functions in the formulas (``np.log(x)``): 0 is the caller's,
            or pass a dict.
        **kwargs : passed to the constructor.

        Rows with a missing value in any variable the formulas, offset, exposure or groups use
        are dropped (``MissingValuesWarning``); ``model.row_mask`` marks the kept rows of
        ``data`` and ``model.n_missing`` counts the others. The engine is statsmodels' default
        (``statsmodels.formula.options.formula_engine``).
        """

        if not isinstance(data, pd.DataFrame):
            data = pd.DataFrame(data)
        if subset is not None:
            data = data.loc[subset]
        if isinstance(eval_env, (int, np.integer)):
            frame = sys._getframe(1 + int(eval_env))
            env = {**frame.f_globals, **frame.f_locals}
        else:
            env = dict(eval_env)
        n_all = data.shape[0]

        def column(v, what):
            if v is None:
                return None
            if isinstance(v, str):
                if v in data.columns:
                    return data[v]
                if v in [n for n in data.index.names if n is not None]:
                    return pd.Series(data.index.get_level_values(v), index=data.index, name=v)
                raise SpecificationError(
                    f"{what}={v!r} is neither a column of data nor one of its index levels "
                    f"{[n for n in data.index.names if n is not None]}; columns: "
                    f"{list(data.columns)[:12]}{' ...' if data.shape[1] > 12 else ''}")
            if isinstance(v, pd.Series):
                if v.index.equals(data.index):
                    return v
                raise _misaligned(what, v.index, data.index, "data")
            arr = pd.Series(np.asarray(v).reshape(-1))
            if arr.shape[0] != n_all:
                raise DataError(f"{what} has {arr.shape[0]} values but data has {n_all} rows",
                                hint=f"pass one {what} value per row of data, or a column name")
            return arr.set_axis(data.index)

        extra = {"offset": column(offset, "offset"), "exposure": column(exposure, "exposure"),
                 "groups": column(groups, "groups")}
        mgr = FormulaManager()

        def missing_of(f):
            mgr.get_matrices(f, data, eval_env=env, pandas=True,
                             na_action=mgr.get_na_action("drop"))
            mask = mgr.missing_mask
            return np.zeros(n_all, bool) if mask is None else np.array(mask, bool).reshape(-1)

        try:
            drop = missing_of(formula)
            if disp_formula is not None:
                drop |= missing_of(disp_formula)
        except Exception as exc:  # patsy/formulaic raise many kinds
            if isinstance(exc, RegrowthErrorTypes):
                raise
            raise SpecificationError(f"formula {formula!r}"
                                     + (f" / disp_formula {disp_formula!r}" if disp_formula
                                        else "")
                                     + f" cannot be evaluated on data: {exc}") from exc
        for v in extra.values():
            if v is not None:
                drop |= v.isna().to_numpy()
        keep = ~drop
        n_missing = int(drop.sum())
        if n_missing:
            warnings.warn(f"{n_missing} of {n_all} observations dropped because of missing "
                          "values in the formula variables, offset, exposure or groups",
                          MissingValuesWarning, stacklevel=2)
        sub = data.loc[keep] if data.index.is_unique else data.iloc[np.flatnonzero(keep)]
        y, X = mgr.get_matrices(formula, sub, eval_env=env, pandas=True,
                                na_action=mgr.get_na_action("raise"))
        spec = mgr.spec
        if isinstance(y, pd.DataFrame):
            if y.shape[1] != 1:
                raise SpecificationError(
                    f"formula {formula!r}: the outcome must be one numeric column, got "
                    f"{list(y.columns)} (is it a string or boolean column?)")
            y = y.iloc[:, 0]
        Z = None
        zspec = None
        if disp_formula is not None:
            Z = mgr.get_matrices(disp_formula, sub, eval_env=env, pandas=True,
                                 na_action=mgr.get_na_action("raise"))
            if isinstance(Z, tuple):
                raise SpecificationError(f"disp_formula {disp_formula!r} must be one-sided "
                                         "(\"~ z1 + z2\"): the dispersion equation has no outcome")
            zspec = mgr.spec
        ex = {k: (None if v is None else v.to_numpy()[keep]) for k, v in extra.items()}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MissingValuesWarning)
            mod = cls(y, X, exog_disp=Z, offset=ex["offset"], exposure=ex["exposure"],
                      groups=ex["groups"], **kwargs)
        mod.n_missing = n_missing
        mod.row_mask = keep
        mod.formula = formula
        mod.disp_formula = disp_formula
        mod.disp_model_spec = zspec
        mod.data.frame = data
        mod.data.model_spec = spec
        mod.data.formula = formula  # statsmodels rebuilds model_spec from it when unpickling
        mod.data.missing_row_idx = np.flatnonzero(drop) if n_missing else None
        mod._formula_columns = {k: v for k, v in (("offset", offset), ("exposure", exposure))
                                if isinstance(v, str)}
        mod._eval_env = env  # functions the formulas call, for predict on new data
        return mod

    def __getstate__(self):
        # patsy's design specifications cannot be pickled: drop the dispersion one and rebuild
        # it from disp_formula on unpickling (statsmodels does the same for the mean's).
        state = self.__dict__.copy()
        state.pop("_eval_env", None)  # the caller's namespace: not picklable, not needed
        if state.get("disp_model_spec") is not None:
            state["disp_model_spec"] = None
            state["_restore_disp_model_spec"] = True
        return state

    def __setstate__(self, state):
        restore = state.pop("_restore_disp_model_spec", False)
        self.__dict__.update(state)
        if restore:
            mgr = FormulaManager()
            rows = self.data.frame.iloc[np.flatnonzero(self.row_mask)]
            mgr.get_matrices(self.disp_formula, rows, pandas=True)
            self.disp_model_spec = mgr.spec

    def _align_groups(self, groups, n):
        """Cluster ids for the estimation sample from ``groups`` given at fit time: a column or
        index level name of ``data.frame`` (formula models), a Series on the input's index, an
        array of the estimation sample's length or of the input's full length."""
        frame = getattr(self.data, "frame", None)
        if isinstance(groups, str):
            if frame is None:
                raise SpecificationError(f"groups={groups!r}: a name needs a model built by "
                                         "from_formula; pass the cluster ids instead")
            if groups in frame.columns:
                groups = frame[groups]
            elif groups in frame.index.names:
                groups = pd.Series(frame.index.get_level_values(groups), index=frame.index)
            else:
                raise SpecificationError(f"groups={groups!r} is neither a column nor an index "
                                         "level of the model's data")
        mask = self.row_mask
        if isinstance(groups, pd.Series):
            rows = self.data.row_labels
            if rows is not None and groups.index.equals(rows):
                return groups.to_numpy()
            if frame is not None and groups.index.equals(frame.index):
                return groups.to_numpy()[mask]
        groups = np.asarray(groups).reshape(-1)
        if groups.shape[0] == n:
            return groups
        if groups.shape[0] == mask.shape[0]:
            return groups[mask]
        raise EstimationError(f"groups has {groups.shape[0]} values; the estimation sample has "
                              f"{n} rows and the input data {mask.shape[0]}")

    # ------------------------------------------------------------------ likelihood pieces
    def _split(self, params):
        params = np.asarray(params, dtype=float)
        return params[:self.k_mean], params[self.k_mean:]

    def _prepare_counts(self):
        """Precompute the ordering used by _gamma_diffs for integer counts."""
        y = self._y
        self._int_counts = bool(np.all(y == np.floor(y))) and y.max() < 2 ** 31
        if not self._int_counts:
            self._pos = np.flatnonzero(y > 0)
            return
        yi = y.astype(np.int64)
        # descending in min(y, K + 1): {y > k} is a prefix for every k <= K (int16: radix sort)
        order = np.argsort(-np.minimum(yi, _K_SUM + 1).astype(np.int16), kind="stable")
        self._ord = order
        self._ys = y[order]
        K = int(min(yi.max(), _K_SUM))
        counts = np.bincount(np.minimum(yi, K + 1), minlength=K + 2)
        # n_gt[k] = #(y > k) for k = 0..K
        self._n_gt = (counts[::-1].cumsum()[::-1])[1:K + 2]
        self._K = K

    def _gamma_diffs(self, r, order):
        """lnG(y+r) - lnG(r), psi(y+r) - psi(r), psi1(y+r) - psi1(r) (zero where y == 0).

        Integer counts: sum_{k<y} ln(r+k), 1/(r+k), -1/(r+k)^2 over the observations with y > k
        (a prefix once sorted by y), exact and cheap since most counts are small; the part of
        counts above _K_SUM uses lnG/psi/psi1 from r + _K_SUM. Non-integer y: scipy.special
        (asymptotic differences for r > 1e5).
        """
        n = r.shape[0]
        lg = np.zeros(n)
        dpsi = np.zeros(n) if order >= 1 else None
        dtri = np.zeros(n) if order >= 2 else None
        y = self._y
        if not self._int_counts:
            pos = self._pos
            yp, rp = y[pos], r[pos]
            big = rp > _R_ASYMPTOTIC
            sm_ = ~big
            a = np.empty_like(rp)
            a[sm_] = special.gammaln(yp[sm_] + rp[sm_]) - special.gammaln(rp[sm_])
            a[big] = _lgamma_diff_big(yp[big], rp[big])
            lg[pos] = a
            if order >= 1:
                a[sm_] = special.digamma(yp[sm_] + rp[sm_]) - special.digamma(rp[sm_])
                a[big] = _digamma_diff_big(yp[big], rp[big])
                dpsi[pos] = a
            if order >= 2:
                a[sm_] = special.polygamma(1, yp[sm_] + rp[sm_]) - special.polygamma(1, rp[sm_])
                a[big] = _trigamma_diff_big(yp[big], rp[big])
                dtri[pos] = a
            return lg, dpsi, dtri
        n_pos = int(self._n_gt[0]) if self._n_gt.size else 0
        if n_pos == 0:
            return lg, dpsi, dtri
        rs = r[self._ord[:n_pos]]
        acc_l = np.zeros(n_pos)
        acc_d = np.zeros(n_pos) if order >= 1 else None
        acc_t = np.zeros(n_pos) if order >= 2 else None
        for k in range(self._K):
            c = int(self._n_gt[k])
            if c == 0:
                break
            rk = rs[:c] + k
            acc_l[:c] += np.log(rk)
            if order >= 1:
                inv = 1.0 / rk
                acc_d[:c] += inv
                if order >= 2:
                    acc_t[:c] -= inv * inv
        c = int(self._n_gt[self._K]) if self._K < self._n_gt.size else 0
        if c:  # counts above K: remaining terms from r + K to y + r
            yt = self._ys[:c] - self._K
            r0 = rs[:c] + self._K
            big = r0 > _R_ASYMPTOTIC
            with np.errstate(all="ignore"):
                acc_l[:c] += np.where(big, _lgamma_diff_big(yt, r0),
                                      special.gammaln(yt + r0) - special.gammaln(r0))
                if order >= 1:
                    acc_d[:c] += np.where(big, _digamma_diff_big(yt, r0),
                                          special.digamma(yt + r0) - special.digamma(r0))
                if order >= 2:
                    acc_t[:c] += np.where(big, _trigamma_diff_big(yt, r0),
                                          special.polygamma(1, yt + r0) - special.polygamma(1, r0))
        idx = self._ord[:n_pos]
        lg[idx] = acc_l
        if order >= 1:
            dpsi[idx] = acc_d
        if order >= 2:
            dtri[idx] = acc_t
        return lg, dpsi, dtri

    def _zg(self, g):
        """ln(alpha_i) = z_i'g (1-column case without an (n x 1) matmul: slow BLAS path)."""
        if self.k_disp == 1:
            return self.exog_disp[:, 0] * g[0]
        return self.exog_disp @ g

    def _core(self, params, order: int):
        """Log likelihood per observation and, for order >= 1, 2, the eta/t derivatives."""
        b, g = self._split(params)
        y = self._y
        eta = self._X @ b + self.offset
        t = self._zg(g)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            mu = np.exp(eta)
            r = np.exp(-t)
            amu = np.exp(eta + t)  # alpha * mu
            lq = np.log1p(amu)
            lg, dpsi, dtri = self._gamma_diffs(r, order)
            ll = lg - self._lgy1 - (r + y) * lq + np.where(self._ypos, y * (t + eta), 0.0)
            if order == 0:
                return ll, None
            q = 1.0 + amu
            s_eta = (y - mu) / q
            rl = r * (lq - dpsi)
            s_t = rl + s_eta
            out = {"s_eta": s_eta, "s_t": s_t}
            if order >= 2:
                q2 = q * q
                out["h_ee"] = -mu * (1.0 + y / r) / q2
                out["h_et"] = amu * (mu - y) / q2
                out["h_tt"] = -rl + mu / q + r * r * dtri - (y - mu) * amu / q2
        return ll, out

    def _derivs(self, params, order: int = 2):
        ll, d = self._core(params, order)
        llf = float(ll.sum())
        if order == 0:
            return llf, None, None
        X, Z = self._X, self.exog_disp
        one = self.k_disp == 1  # (n x 1) matmuls hit slow BLAS paths: use 1-d reductions
        z = Z[:, 0] if one else None
        gz = np.array([np.sum(z * d["s_t"])]) if one else Z.T @ d["s_t"]
        grad = np.concatenate([X.T @ d["s_eta"], gz])
        if order == 1:
            return llf, grad, None
        k = self.k_mean
        H = np.empty((k + self.k_disp, k + self.k_disp))
        H[:k, :k] = X.T @ (X * d["h_ee"][:, None])
        if one:
            H[:k, k] = X.T @ (z * d["h_et"])
            H[k, k] = np.sum(z * z * d["h_tt"])
        else:
            H[:k, k:] = X.T @ (Z * d["h_et"][:, None])
            H[k:, k:] = Z.T @ (Z * d["h_tt"][:, None])
        H[k:, :k] = H[:k, k:].T
        return llf, grad, H

    def loglikeobs(self, params):
        """Log likelihood of each observation."""
        return self._core(params, 0)[0]

    def loglike(self, params):
        return float(self.loglikeobs(params).sum())

    def score_obs(self, params):
        """Score of each observation, shape (nobs, k_params)."""
        _, d = self._core(params, 1)
        return np.hstack([self._X * d["s_eta"][:, None], self.exog_disp * d["s_t"][:, None]])

    def score(self, params):
        return self._derivs(params, 1)[1]

    def hessian(self, params):
        return self._derivs(params, 2)[2]

    def information(self, params):
        """Observed information, -Hessian."""
        return -self.hessian(params)

    def predict(self, params, exog=None, exog_disp=None, offset=None, exposure=None,
                which="mean", **kwargs):
        """Predict ``which`` in {"mean", "linear", "lnalpha", "alpha", "var"}.

        With ``exog=None`` the estimation sample (and its offset) is used; with new ``exog`` the
        offset is ``offset + ln(exposure)`` as given (zero if neither is given).
        """
        b, g = self._split(params)
        if exog is None:
            X, Z, off = self._X, self.exog_disp, self.offset
        else:
            X = np.asarray(exog, dtype=float)
            n = X.shape[0]
            Z = np.ones((n, 1)) if exog_disp is None else np.asarray(exog_disp, dtype=float)
            off = np.zeros(n)
            if offset is not None:
                off = off + np.asarray(offset, dtype=float)
            if exposure is not None:
                off = off + np.log(np.asarray(exposure, dtype=float))
        if exog_disp is not None and exog is None:
            Z = np.asarray(exog_disp, dtype=float)
        eta = X @ b + off
        t = Z @ g
        if which == "linear":
            return eta
        if which == "lnalpha":
            return t
        if which == "alpha":
            return np.exp(t)
        mu = np.exp(eta)
        if which == "mean":
            return mu
        if which == "var":
            return mu * (1.0 + np.exp(t) * mu)
        raise ValueError(f"which={which!r}: use 'mean', 'linear', 'lnalpha', 'alpha' or 'var'")

    # ------------------------------------------------------------------ starting values
    def _fit_poisson(self, tol=1e-12, maxiter=100):
        """Poisson MLE of the mean equation (Newton = IRLS); returns (b, llf, converged).

        Cached; a looser fit (starting values) is refined when a tighter ``tol`` is asked for.
        Convergence: Newton decrement g'(X'WX)^{-1}g < tol.
        """
        if self._poisson is not None and self._poisson[3] <= tol:
            return self._poisson[:3]
        y, X, off = self._y, self._X, self.offset
        if self._poisson is not None:
            b = self._poisson[0]
        else:
            b = linalg.solve(X.T @ X, X.T @ (np.log(y + 0.5) - off), assume_a="pos")

        def evaluate(b):
            eta = X @ b + off
            with np.errstate(over="ignore", invalid="ignore"):
                mu = np.exp(eta)
                ll = float(np.sum(y * eta - mu) - self._lgy1_sum)
            return ll, mu

        ll, mu = evaluate(b)
        converged = False
        for _ in range(maxiter):
            g = X.T @ (y - mu)
            A = X.T @ (X * mu[:, None])
            try:
                step = linalg.solve(A, g, assume_a="pos")
            except (linalg.LinAlgError, ValueError):
                step = linalg.lstsq(A, g)[0]
            dec = float(g @ step)
            if dec < tol:
                converged = True
                break
            m = np.max(np.abs(step))
            if m > 5:
                step *= 5 / m
            s = 1.0
            while s > 1e-12:
                lln, mun = evaluate(b + s * step)
                if np.isfinite(lln) and lln >= ll + 1e-4 * s * dec - 1e-12 * abs(ll):
                    break
                s *= 0.5
            if s <= 1e-12:
                break
            b, ll, mu = b + s * step, lln, mun
        self._poisson = (b, ll, converged, tol)
        return self._poisson[:3]

    def start_params_default(self):
        b, _, _ = self._fit_poisson(tol=1e-6)
        mu = np.exp(self._X @ b + self.offset)
        a0 = float(np.sum((self._y - mu) ** 2 - self._y) / np.sum(mu ** 2))
        a0 = min(max(a0, 0.05), 20.0)
        g = np.zeros(self.k_disp)
        Z = self.exog_disp
        const = np.flatnonzero(np.all(Z == 1.0, axis=0))
        if const.size:
            g[const[0]] = np.log(a0)
        return np.concatenate([b, g])

    # ------------------------------------------------------------------ solver
    def _newton(self, start, maxiter, tol):
        p = np.asarray(start, dtype=float).copy()
        llf, grad, H = self._derivs(p, 2)
        if not np.isfinite(llf):
            raise EstimationError("log likelihood is not finite at the starting values")
        info = {"converged": False, "iterations": 0, "message": "", "boundary": False,
                "diverging": False}
        kx = self.k_mean
        for it in range(maxiter + 1):
            info["iterations"] = it
            A = -H
            d = np.sqrt(np.abs(np.diag(A)))
            d[d == 0] = 1.0
            As = A / d[:, None] / d[None, :]
            gs = grad / d
            if not np.all(np.isfinite(As)):
                info["message"] = "Hessian is not finite"
                break
            w, V = linalg.eigh(As)
            wmax = np.max(np.abs(w))
            nd = w[0] > 0 and wmax / w[0] < 1e12
            vg = V.T @ gs
            t = self._zg(p[kx:])
            if t.min() < LNALPHA_BOUNDARY:
                info["boundary"] = True
                info["message"] = (f"ln(alpha) ran to the Poisson boundary (min ln alpha_i = "
                                   f"{t.min():.3g} < {LNALPHA_BOUNDARY:g}); no finite maximum")
                break
            if nd:
                dec = float(np.sum(vg * vg / w))
                info["decrement"] = dec
                if dec < tol:
                    info["converged"] = True
                    info["message"] = "converged"
                    # one polishing Newton step (quadratic convergence), kept if not worse
                    pn = p + (V @ (vg / w)) / d
                    lln, gn, Hn = self._derivs(pn, 2)
                    # (llf changes by ~decrement/2, below rounding: compare up to rounding)
                    if (np.isfinite(lln) and lln >= llf - 1e-12 * (1.0 + abs(llf))
                            and np.all(np.isfinite(Hn))
                            and np.max(np.abs(gn)) <= np.max(np.abs(grad))):
                        p, llf, grad, H = pn, lln, gn, Hn
                    break
            else:
                dec = np.inf
            if it == maxiter:
                info["message"] = f"iteration limit ({maxiter}) reached"
                break
            wm = np.maximum(np.abs(w), 1e-8 * wmax)
            step = (V @ (vg / wm)) / d
            m = np.max(np.abs(step))
            if m > 5.0:
                step *= 5.0 / m
            slope = float(grad @ step)
            s = 1.0
            accepted = False
            full = None
            while s > 1e-12:
                pn = p + s * step
                if s == 1.0:  # the full step is usually accepted: get its derivatives at once
                    full = self._derivs(pn, 2)
                    lln = full[0]
                else:
                    lln = self._derivs(pn, 0)[0]
                if np.isfinite(lln) and (lln >= llf + 1e-4 * s * slope
                                         or (nd and dec < 1e-6 and lln >= llf - 1e-9 * abs(llf))):
                    accepted = True
                    break
                s *= 0.5
            if not accepted:
                info["message"] = ("line search stalled: no step increases the log likelihood "
                                   f"(Newton decrement {dec:.3g})")
                break
            p = pn
            if s == 1.0:
                llf, grad, H = full
            else:
                llf, grad, H = self._derivs(p, 2)
        # diagnostics at the final point
        info["gradient_max"] = float(np.max(np.abs(grad)))
        w_all = linalg.eigvalsh(-H / np.outer(d, d)) if np.all(np.isfinite(H)) else np.array([np.nan])
        info["hessian_negative_definite"] = bool(w_all[0] > 0)
        info["hessian_condition"] = float(np.max(np.abs(w_all)) / w_all[0]) if w_all[0] > 0 else np.inf
        t_min = float(self._zg(p[kx:]).min())
        if not info["converged"] and not info["boundary"] and t_min < -10.0:
            info["boundary"] = True
            info["message"] += (f"; ln(alpha) is near the Poisson boundary (min ln alpha_i = "
                                f"{t_min:.3g})")
        eta = self._X @ p[:kx] + self.offset
        zero_y = self._y == 0
        if np.any(eta[zero_y] < ETA_DIVERGE) and not info["boundary"]:
            info["diverging"] = True
            info["converged"] = False
            info["message"] = ("mean coefficients diverging: fitted means below exp(-30) at "
                               "y == 0 (perfect prediction / separation); no finite maximum")
        info["llf"] = llf
        return p, llf, grad, H, info

    def fit(self, start_params=None, maxiter=100, tol=1e-12, cov_type="nonrobust",
            cov_kwds=None, disp=False, method="newton", **kwargs):
        """Maximum likelihood by safeguarded Newton (see module docstring).

        Parameters
        ----------
        start_params : optional, defaults to Poisson estimates and a moment estimate of alpha.
        maxiter : Newton iterations (default 100).
        tol : convergence threshold on the Newton decrement g'(-H)^{-1}g (default 1e-12).
        cov_type : "nonrobust"/"oim", "robust"/"HC1", "HC0" or "cluster".
        cov_kwds : {"groups": ..., "use_correction": True}.
        disp : print one line about convergence.
        method : only "newton".

        Non-convergence, a singular Hessian, diverging mean coefficients or the Poisson boundary
        give ``converged=False`` and a ``ConvergenceWarning`` or ``BoundaryWarning``.
        """
        if method != "newton":
            raise ValueError(f"method={method!r}: only the safeguarded 'newton' is implemented")
        if kwargs:
            raise TypeError(f"fit() got unexpected keyword arguments {sorted(kwargs)}")
        if start_params is None:
            start_params = self.start_params_default()
        elif len(start_params) != self.k_mean + self.k_disp:
            raise ValueError(f"start_params has {len(start_params)} values; the model has "
                             f"{self.k_mean + self.k_disp} parameters")
        params, llf, grad, H, info = self._newton(start_params, maxiter, tol)
        if disp:
            print(f"GeneralizedNegativeBinomial: {info['message']} after {info['iterations']} "
                  f"iterations, llf {llf:.10g}, max |gradient| {info['gradient_max']:.3g}")
        if info["boundary"]:
            warnings.warn(info["message"] + ". Fit a Poisson model instead; estimates are not "
                          "an interior maximum.", BoundaryWarning, stacklevel=2)
        elif not info["converged"]:
            warnings.warn(f"GeneralizedNegativeBinomial did not converge: {info['message']}; "
                          f"max |gradient| = {info['gradient_max']:.3g}, Hessian negative "
                          f"definite: {info['hessian_negative_definite']}",
                          ConvergenceWarning, stacklevel=2)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", linalg.LinAlgWarning)  # reported via converged
                hinv = -linalg.inv(H)
            if not np.all(np.isfinite(hinv)):
                raise linalg.LinAlgError
        except (linalg.LinAlgError, ValueError):
            hinv = np.full_like(H, np.nan)
            if info["converged"]:
                info["converged"] = False
                warnings.warn("Hessian is singular at the estimate; standard errors unavailable",
                              ConvergenceWarning, stacklevel=2)
        res = GNBResults(self, params, hinv, H, info)
        res._set_cov(cov_type, cov_kwds)
        return GNBResultsWrapper(res)


# ----------------------------------------------------------------------------- results

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
            mod = GeneralizedNegativeBinomial(self.model._y, np.ones((n, 1)),
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
                 "n_groups": G, "correction": fac}
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
        nb2 = GeneralizedNegativeBinomial(mod._y, mod._X, offset=mod.offset)
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
