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
The Newton iterations and the Poisson start evaluate these in scratch arrays that the model
keeps and passes on to the next model when it is collected (:mod:`regrowth.models._scratch`):
the same operations in the same order as with new arrays, so the same bits, without touching
fresh memory in every iteration.

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

Formulas. ``from_formula`` evaluates the mean and dispersion formulas with the engine of
statsmodels' formula machinery (``statsmodels.formula.options.formula_engine``). With patsy (the
default) both formulas are built in one pass (:func:`regrowth.models.design.formula_designs`):
each variable is evaluated once, one set of rows is dropped from both equations, and a design
made of bare numeric columns is written straight from them; formulaic evaluates each formula on
its own. Either way the model keeps ``model.formula``,
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

import sys
import warnings

import numpy as np
import pandas as pd
from scipy import linalg
from statsmodels.base.model import GenericLikelihoodModel
from statsmodels.formula._manager import FormulaManager

from regrowth.errors import (
    BoundaryWarning,
    ConvergenceWarning,
    DataError,
    EstimationError,
    MissingValuesWarning,
    SpecificationError,
)
from regrowth.models._checks import (CONSTANT, as_frame, check_index, collinear, count_outcome,
                                     numeric, total_offset, vector)
from regrowth.models._optim import newton
from regrowth.models._scratch import Scratch, checkin, checkout
from regrowth.models._special import GammaDiffs
from regrowth.models.gnb_formula import data_column, designs
from regrowth.models.gnb_results import (
    DISP_PREFIX,
    ETA_DIVERGE,
    LNALPHA_BOUNDARY,
    GNBResults,
    GNBResultsWrapper,
    LRTestResult,
)

__all__ = ["GeneralizedNegativeBinomial", "GNBResults", "LRTestResult", "DISP_PREFIX"]


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
            check_index(exog, "exog", index)
        for what, v in (("exog_disp", exog_disp), ("offset", offset), ("exposure", exposure),
                        ("groups", groups)):
            check_index(v, what, index)
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
        X = as_frame(exog, "x", index)
        Z = (pd.DataFrame({CONSTANT: np.ones(n_all)}, index=index) if exog_disp is None
             else as_frame(exog_disp, "z", index))
        for what, frame in (("exog", X), ("exog_disp", Z)):
            if frame.shape[0] != n_all:
                raise DataError(f"{what} has {frame.shape[0]} rows but endog has {n_all}")
        Xa, Za = numeric(X, "exog"), numeric(Z, "exog_disp")
        off = vector(offset, n_all, "offset")
        expo = vector(exposure, n_all, "exposure")
        grp = None
        if groups is not None:
            grp = pd.Series(np.asarray(groups).reshape(-1) if not isinstance(groups, pd.Series)
                            else groups.to_numpy())
            if grp.shape[0] != n_all:
                raise DataError(f"groups has {grp.shape[0]} rows but endog has {n_all}")

        # the usual case (everything finite, nothing dropped) without n x k temporaries: a
        # column sum is finite unless the column holds a NaN or an infinity (or overflows,
        # which the exact check below then sorts out)
        nonfinite = {what: (None if np.isfinite(arr.sum(axis=0)).all() else ~np.isfinite(arr))
                     for what, arr in (("exog", Xa), ("exog_disp", Za))}
        keep = ~np.isnan(y)
        for what, arr in (("exog", Xa), ("exog_disp", Za)):
            if nonfinite[what] is not None:
                keep &= ~np.isnan(arr).any(axis=1)
        if off is not None:
            keep &= ~np.isnan(off)
        if expo is not None:
            keep &= ~np.isnan(expo)
        if grp is not None:
            keep &= grp.notna().to_numpy()
        all_kept = bool(keep.all())
        self.n_missing = 0 if all_kept else int(n_all - keep.sum())
        self.row_mask = keep
        if self.n_missing:
            warnings.warn(f"{self.n_missing} of {n_all} observations dropped because of missing "
                          "values in y, exog, exog_disp, offset, exposure or groups",
                          MissingValuesWarning, stacklevel=2)
        if not all_kept:
            y, Xa, Za = y[keep], Xa[keep], Za[keep]
            nonfinite = {k: None if v is None else v[keep] for k, v in nonfinite.items()}
        if y.size == 0:
            raise DataError("no observations left after dropping missing values")
        count_outcome(y, yname)
        for what, bad in nonfinite.items():
            if bad is not None and bad.any():
                raise DataError(f"{what} contains infinite values")
        total_off = total_offset(off, expo, keep, y.shape[0])
        xnames = [str(c) for c in X.columns]
        znames = [str(c) for c in Z.columns]
        xtx = collinear(Xa, xnames, "exog (mean equation)")
        collinear(Za, znames, "exog_disp (dispersion equation)")

        self.exog_disp = np.asfortranarray(Za)
        self.exog_disp_names = znames
        self.offset = total_off
        self._has_offset = off is not None or expo is not None
        self.groups = None if grp is None else grp.to_numpy()[keep]
        self.k_mean = Xa.shape[1]
        self.k_disp = Za.shape[1]
        idx = index if all_kept else index[keep]
        super().__init__(pd.Series(y, index=idx, name=yname, copy=False),
                         pd.DataFrame(Xa, columns=xnames, index=idx, copy=False),
                         extra_params_names=[DISP_PREFIX + c for c in znames],
                         missing="none", **kwds)
        # plain contiguous arrays for the numerical work
        self._y = y
        self._X = np.asfortranarray(Xa)  # column-major: faster X'(w X)
        # X'X of the Poisson start, when the check above computed it on this very array
        self._xtx = (self._X, xtx) if self._X is Xa else None
        self._prepare_counts()
        self._lgy1 = self._gamma.lgamma_y1()
        self._lgy1_sum = float(self._lgy1.sum())
        self._ypos = y > 0
        self._yzero = ~self._ypos
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
        extra = {"offset": data_column(data, offset, "offset"),
                 "exposure": data_column(data, exposure, "exposure"),
                 "groups": data_column(data, groups, "groups")}
        y, X, Z, spec, zspec, drop = designs(formula, disp_formula, data, env, extra)
        keep = ~drop
        n_missing = int(drop.sum())
        if n_missing:
            warnings.warn(f"{n_missing} of {n_all} observations dropped because of missing "
                          "values in the formula variables, offset, exposure or groups",
                          MissingValuesWarning, stacklevel=2)
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
        state.pop("_scratch", None)  # working arrays of the Newton iterations, made again
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
        """Precompute what :class:`regrowth.models._special.GammaDiffs` needs for these counts."""
        self._gamma = GammaDiffs(self._y)

    def _gamma_diffs(self, r, order, scratch=None):
        """lnG(y+r) - lnG(r), psi(y+r) - psi(r), psi1(y+r) - psi1(r) (zero where y == 0)."""
        return self._gamma(r, order, scratch)

    def _zg(self, g, out=None):
        """ln(alpha_i) = z_i'g (1-column case without an (n x 1) matmul: slow BLAS path)."""
        if self.k_disp == 1:
            return np.multiply(self.exog_disp[:, 0], g[0], out=out)
        return np.matmul(self.exog_disp, g, out=out)

    def _core(self, params, order: int, scratch: Scratch | None = None):
        """Log likelihood per observation and, for order >= 1, 2, the eta/t derivatives.

        The arrays are written in ``scratch`` (reused by :meth:`_derivs`: valid until its next
        use) or, by default, in new arrays. Each line applies the formula of the module
        docstring in a fixed order of operations, so both give the same bits.
        """
        b, g = self._split(params)
        ws = Scratch() if scratch is None else scratch
        n = self._y.shape[0]

        def vec(name):
            return ws(name, n)

        y = self._y
        tmp = vec("tmp")
        eta = np.matmul(self._X, b, out=vec("eta"))
        eta += self.offset
        t = self._zg(g, out=vec("t"))
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            mu = np.exp(eta, out=vec("mu"))
            r = np.exp(np.negative(t, out=tmp), out=vec("r"))
            amu = np.exp(np.add(eta, t, out=tmp), out=vec("amu"))  # alpha * mu
            lq = np.log1p(amu, out=vec("lq"))
            lg, dpsi, dtri = self._gamma_diffs(r, order, ws)
            # ll = lg - lnG(y + 1) - (r + y) ln q + [y > 0] y (t + eta)
            ll = np.subtract(lg, self._lgy1, out=vec("ll"))
            ll -= np.multiply(np.add(r, y, out=tmp), lq, out=tmp)
            yt = np.multiply(np.add(t, eta, out=tmp), y, out=tmp)
            np.copyto(yt, 0.0, where=self._yzero)
            ll += yt
            if order == 0:
                return ll, None
            q = np.add(amu, 1.0, out=vec("q"))
            s_eta = np.subtract(y, mu, out=vec("s_eta"))
            s_eta /= q  # (y - mu) / q
            rl = np.subtract(lq, dpsi, out=vec("rl"))
            rl *= r  # r (ln q - D)
            s_t = np.add(rl, s_eta, out=vec("s_t"))
            out = {"s_eta": s_eta, "s_t": s_t}
            if order >= 2:
                q2 = np.multiply(q, q, out=vec("q2"))
                # h_ee = -mu (1 + y / r) / q^2
                h_ee = np.negative(mu, out=vec("h_ee"))
                tmp = np.divide(y, r, out=tmp)
                tmp += 1.0
                h_ee *= tmp
                h_ee /= q2
                # h_et = alpha mu (mu - y) / q^2
                h_et = np.subtract(mu, y, out=vec("h_et"))
                h_et *= amu
                h_et /= q2
                # h_tt = -rl + mu / q + r^2 psi1diff - (y - mu) alpha mu / q^2
                h_tt = np.negative(rl, out=vec("h_tt"))
                h_tt += np.divide(mu, q, out=tmp)
                h_tt += np.multiply(np.multiply(r, r, out=tmp), dtri, out=tmp)
                tmp = np.subtract(y, mu, out=tmp)
                tmp *= amu
                tmp /= q2
                h_tt -= tmp
                out.update(h_ee=h_ee, h_et=h_et, h_tt=h_tt)
        return ll, out

    def _derivs(self, params, order: int = 2):
        """(llf, gradient, Hessian) at ``params`` (None for orders not asked). Works in the
        model's scratch arrays (:mod:`regrowth.models._scratch`), so a model touches its
        working memory once, not in every Newton iteration; returns new arrays."""
        ws = checkout(self)
        try:
            return self._derivs_in(params, order, ws)
        finally:
            checkin(self, ws)

    def _derivs_in(self, params, order, ws):
        ll, d = self._core(params, order, ws)
        llf = float(ll.sum())
        if order == 0:
            return llf, None, None
        X, Z = self._X, self.exog_disp
        n = X.shape[0]
        one = self.k_disp == 1  # (n x 1) matmuls hit slow BLAS paths: use 1-d reductions
        z = Z[:, 0] if one else None
        tmp = ws("tmp", n)
        gz = (np.array([np.sum(np.multiply(z, d["s_t"], out=tmp))]) if one
              else Z.T @ d["s_t"])
        grad = np.concatenate([X.T @ d["s_eta"], gz])
        if order == 1:
            return llf, grad, None
        k = self.k_mean
        # X * w[:, None] written into one column-major n x max(k, k_disp) array (the layout
        # NumPy gives the product of a column-major X), reused for each block
        wx = ws("wx", (n, max(k, self.k_disp)), order="F")
        H = np.empty((k + self.k_disp, k + self.k_disp))
        H[:k, :k] = X.T @ np.multiply(X, d["h_ee"][:, None], out=wx[:, :k])
        if one:
            H[:k, k] = X.T @ np.multiply(z, d["h_et"], out=tmp)
            H[k, k] = np.sum(np.multiply(np.multiply(z, z, out=tmp), d["h_tt"], out=tmp))
        else:
            kz = self.k_disp
            H[:k, k:] = X.T @ np.multiply(Z, d["h_et"][:, None], out=wx[:, :kz])
            H[k:, k:] = Z.T @ np.multiply(Z, d["h_tt"][:, None], out=wx[:, :kz])
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
        ws = checkout(self)
        try:
            self._poisson = self._fit_poisson_in(tol, maxiter, ws)
        finally:
            checkin(self, ws)
        return self._poisson[:3]

    def _fit_poisson_in(self, tol, maxiter, ws):
        """:meth:`_fit_poisson` in the scratch arrays ``ws``; returns (b, llf, converged, tol)."""
        y, X, off = self._y, self._X, self.offset
        n = y.shape[0]
        tmp = ws("tmp", n)
        if self._poisson is not None:
            b = self._poisson[0]
        else:
            np.add(y, 0.5, out=tmp)
            np.log(tmp, out=tmp)
            tmp -= off
            xtx = self._xtx[1] if self._xtx is not None and self._xtx[0] is X else X.T @ X
            b = linalg.solve(xtx, X.T @ tmp, assume_a="pos")
        slots = ["mu", "mu_trial"]  # the accepted point's mu and a trial point's

        def evaluate(b, slot):
            eta = np.matmul(X, b, out=ws("eta", n))
            eta += off
            with np.errstate(over="ignore", invalid="ignore"):
                mu = np.exp(eta, out=ws(slot, n))
                eta *= y  # y * eta
                eta -= mu
                ll = float(np.sum(eta) - self._lgy1_sum)
            return ll, mu

        ll, mu = evaluate(b, slots[0])
        converged = False
        k = X.shape[1]  # the X * w[:, None] array of :meth:`_derivs_in`, first k columns
        wx = ws("wx", (n, max(k, self.k_disp)), order="F")[:, :k]
        for _ in range(maxiter):
            g = X.T @ np.subtract(y, mu, out=tmp)
            A = X.T @ np.multiply(X, mu[:, None], out=wx)
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
                lln, mun = evaluate(b + s * step, slots[1])
                if np.isfinite(lln) and lln >= ll + 1e-4 * s * dec - 1e-12 * abs(ll):
                    break
                s *= 0.5
            if s <= 1e-12:
                break
            b, ll, mu = b + s * step, lln, mun
            slots.reverse()  # the trial's mu is now the accepted one
        return b, ll, converged, tol

    def start_params_default(self):
        b, _, _ = self._fit_poisson(tol=1e-6)
        # a0 = sum((y - mu)^2 - y) / sum(mu^2) at the Poisson fit, in the scratch arrays
        ws = checkout(self)
        try:
            n = self._y.shape[0]
            mu = np.matmul(self._X, b, out=ws("eta", n))
            mu += self.offset
            mu = np.exp(mu, out=mu)
            dev = np.square(np.subtract(self._y, mu, out=ws("tmp", n)), out=ws("tmp", n))
            dev -= self._y
            a0 = float(np.sum(dev) / np.sum(np.square(mu, out=mu)))
        finally:
            checkin(self, ws)
        a0 = min(max(a0, 0.05), 20.0)
        g = np.zeros(self.k_disp)
        Z = self.exog_disp
        const = np.flatnonzero(np.all(Z == 1.0, axis=0))
        if const.size:
            g[const[0]] = np.log(a0)
        return np.concatenate([b, g])

    # ------------------------------------------------------------------ solver
    def _newton(self, start, maxiter, tol):
        kx = self.k_mean

        def boundary(p):
            t = self._zg(p[kx:])
            if t.min() < LNALPHA_BOUNDARY:
                return (f"ln(alpha) ran to the Poisson boundary (min ln alpha_i = "
                        f"{t.min():.3g} < {LNALPHA_BOUNDARY:g}); no finite maximum")
            return None

        start = np.asarray(start, dtype=float)
        if not np.isfinite(self._derivs(start, 0)[0]):
            raise EstimationError("log likelihood is not finite at the starting values")
        res = newton(self._derivs, start, tol=tol, maxiter=maxiter, stop=boundary)
        p, llf, grad, H = res.params, res.llf, res.grad, res.hessian
        info = {"converged": res.info["converged"], "iterations": res.info["iterations"],
                "message": res.info["message"], "boundary": res.info["stopped"],
                "diverging": False}
        if np.isfinite(res.info.get("decrement", np.inf)):
            info["decrement"] = res.info["decrement"]
        d = np.sqrt(np.abs(np.diag(-H)))
        d[d == 0] = 1.0
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
