"""Dynamic panels without Nickell bias: split-panel jackknife FE, bias-corrected LSDV, Anderson-Hsiao.

The growth models regress growth on lagged log income with province fixed effects. With
T = 16 years the within (LSDV) estimate of the lagged-income coefficient carries Nickell's
O(1/T) bias. This module offers three remedies, each a class with keyword-only options and
a ``fit()`` returning :class:`DynamicPanelResults` (linearmodels-style: ``params``,
``std_errors``, ``tstats``, ``pvalues``, ``cov``, ``conf_int()``, ``summary``, ``nobs``).
Inputs are a dependent Series and an exog DataFrame on one (entity, time) MultiIndex, as
linearmodels takes them (time must be integer periods, e.g. years). No constant: the
entity effects absorb it.

Model
-----
::
    y_it = g y_i,t-1 + x_it'b + a_i [+ l_t] + e_it,     e_it iid (0, s^2),  t = 1..T_i

1. Split-panel jackknife FE (:class:`SplitPanelJackknife`)
----------------------------------------------------------
Dhaene & Jochmans (2015, ReStud 82(3), 991-1030), the half-panel jackknife::
    b_spj = 2 b_FE - (b_FE(S1) + b_FE(S2)) / 2

for every coefficient, with S1, S2 the first and second half of the *calendar* periods
(the sample's distinct periods, sorted) and b_FE(S) the within estimator on the
observations in S -- with ``time_effects=True`` the two-way estimator, its year effects
re-estimated within each half. Odd T (a convention of this package, stated here because
the paper's main text treats even T): ``odd_t="average"`` (default) averages the two
jackknife estimates of the unequal splits (first floor(T/2) | rest) and (first ceil(T/2) |
rest), so that neither half is favoured; ``odd_t="overlap"`` uses two halves of
ceil(T/2) periods that share the middle period. Unbalanced panels are split by calendar
period, so a province observed only in one half enters that half only.

Standard errors: a province (cluster) bootstrap -- ``reps`` draws of N provinces with
replacement (a province drawn twice is two provinces), the jackknife recomputed on each,
``cov`` = the covariance of the draws (ddof = 1), seeded (``seed``); p-values and
intervals use t(G - 1), the package's few-cluster convention. The full-panel FE estimate
and its analytic cluster SE (Stata's ``xtreg, fe vce(cluster id)``: CR0 x G/(G-1) x
(N-1)/(N-K), from :func:`regrowth.models.panel.fit_panel`) are reported alongside
(``fe_params``, ``fe_std_errors``), as are the half-panel estimates (``halves``).
Stata: ``xtspj`` (SSC) with ``model(regress)``; R: no CRAN package -- the test
transcription is ``plm(model = "within", effect = "twoways")`` on each half.

2. Bias-corrected LSDV (:class:`LSDVC`; Stata ``xtlsdvc``)
---------------------------------------------------------
Kiviet (1995, J. Econometrics 68), Bun & Kiviet (2003, Econ. Letters 79, 145-152),
Bruno (2005a, Econ. Letters 87, 361-366 -- unbalanced panels; 2005b, Stata Journal 5(4),
473-500 -- ``xtlsdvc``). Notation (Bun & Kiviet 2003, with Bruno's selection matrices):
for unit i on the grid of T periods (the sample's periods after the first lag),
S_i = diag(1 if (i, t) is observed), T_i = tr S_i, M_i = S_i (I_T - i i'/T_i) S_i (the
within transformation), L the T x T lag matrix (ones below the diagonal),
C = L (I_T - g L)^-1, P_i = M_i C (Bun-Kiviet's Pi = A L Gamma), e1 = (1, 0, .., 0)'.
W_i = [ylag_i - C M_i u_i, X_i] estimates E(W_i) (u the residuals of the initial
estimator), and sums run over i::
    Q  = [ sum W_i' M_i W_i  +  s^2 tr(sum P_i'P_i) e1 e1' ]^-1,       q = Q e1,  q11 = e1'Q e1
    B1 = c1(T^-1)      = s^2 tr(P) q                                          (Kiviet 1995)
    B2 = B1 + c2(N^-1 T^-1),
         c2 = -s^2 [ Q W'P M W + tr(Q W'P M W) I + 2 s^2 q11 tr(P'P P) I ] q
    B3 = B2 + c3(N^-1 T^-2),
         c3 = s^4 tr(P) [ 2 q11 Q W'P P'W q
                          + ( q'W'P P'W q + q11 tr(Q W'P P'W) + 2 tr(P'P P'P) q11^2 ) q ]

    b_LSDVC = b_LSDV - B_bias          (bias = 1, 2, 3: B1, B2, B3)

with tr(P) = sum_i tr(P_i) etc., W'P M W = sum_i W_i' P_i M_i W_i and W'P P'W =
sum_i W_i' P_i P_i' W_i. The unknown g and s^2 are replaced by a consistent initial
estimate (``initial``): ``"ah"`` Anderson-Hsiao (2SLS of dy_t on dy_t-1 and dX_t,
instrument y_t-2, no constant = Stata ``ivreg D.y D.(x) (LD.y = L2.y), noconstant``),
``"ab"`` Arellano-Bond one-step difference GMM (all lags y_t-2, y_t-3, .. as GMM-type
instruments per period, dX as standard instruments, weight (sum Z_i'H Z_i)^-1 with H the
tridiagonal (2, -1) matrix = Stata ``xtabond y x, noconstant``), and s^2 = sum u_i'M_i u_i
/ (sum_i (T_i - 1) - K) from the initial estimator's residuals u = y - g ylag - X b.
``"bb"`` (Blundell-Bond, via ``xtabond2``) is *not implemented* and refused with a
message. Standard errors (``reps``; Stata ``vcov(#)``): the parametric bootstrap of
``xtlsdvc``: with the LSDVC estimates, a_i = the unit mean of y - g ylag - X b, new
outcomes y*_it = g y*_i,t-1 + x_it'b + a_i + s z_it, z ~ N(0, 1), started from the
observed first lag of each unit (and restarted from the observed lag after a gap, where
``xtlsdvc`` truncates the unit), LSDVC recomputed on each draw, ``cov`` = the covariance
of the draws (ddof = 1). p-values use the normal distribution, as ``xtlsdvc`` prints z.
Unbalanced panels (with gaps) follow Bruno (2005a) through S_i. ``time_effects=True``
adds year dummies (every grid period but the first) to X, in the LSDV and the initial
regressions, as a user of ``xtlsdvc`` would add them; they are not reported in ``params``.

When the expansion fails. The terms are ordered by powers of 1/T and 1/N only if the lagged
level has enough within variation; on short, persistent panels with many regressors the
third-order term can dominate. On the growth panel with year dummies B3 is about 20 x B1 and
turns the FE convergence term -22.95 into +210 (|rho| = 3.1); the R transcription gives the
same number, so it is the formula, not the code. A corrected |rho| >= 1 issues a
:class:`BiasApproximationWarning` and no bootstrap covariance is computed (the parametric
bootstrap would simulate an explosive process). Use ``bias=1`` or ``2`` there.

The growth mapping (``lagged_dependent=``)
------------------------------------------
The growth models are g_it = b l_i,t-1 + x'c + a_i + e_it with g the growth in percent
and l_i,t-1 = ln y_i,t-1 a column of the panel (``ln_grdp_pc_real_l1``). Writing
z_it = l_i,t-1 + g_it / 100 (``growth_scale`` = 100), which equals ln y_it up to the
second-order term ln(1 + g/100) - g/100 (exactly when g = 100 d ln y), the equation is
the AR(1) in levels::
    z_it = (1 + b/100) l_i,t-1 + x_it'(c/100) + a_i/100 + e_it/100

``LSDVC(g, X, lagged_dependent="ln_grdp_pc_real_l1")`` fits the levels model with
ylag = l and y = z, and reports the growth-scale coefficients b = 100 (g_hat - 1),
c = 100 b_hat (cov scaled by 100^2), so its LSDV is *exactly* the within regression of
growth on l and x. The initial estimators read dy_t = g_t/100 and the deeper lags from
the lag column of earlier rows (y_t-2 = l at t-1). ``rho`` holds g_hat on the level scale.

3. Anderson-Hsiao (:class:`AndersonHsiao`)
------------------------------------------
Anderson & Hsiao (1981): 2SLS on first differences, dy_t-1 instrumented by y_t-2, dX its
own instrument, no constant (year effects as differenced dummies): Stata ``ivregress 2sls
D.y D.x (LD.y = L2.y), noconstant``. Cluster-robust covariance CR0 x G/(G-1) (n-1)/(n-K)
(the package's Stata factor; = R ``sandwich::vcovCL(type = "HC1")``, against which it is
tested) and t(G-1), the package's few-cluster reference distribution (Stata's
``ivregress`` prints z unless ``small``). Same ``lagged_dependent`` mapping as LSDVC.

Mapping to Stata and R
----------------------
================================================  ============================================
Stata / R                                         regrowth
================================================  ============================================
``xtlsdvc y x, initial(ah|ab) bias(#)``           ``LSDVC(y, x, initial=..., bias=#).fit()``
``xtlsdvc ..., vcov(#)``                          ``fit(reps=#, seed=...)`` (xtlsdvc: 12345)
``xtlsdvc ..., initial(bb)``                      refused (not implemented)
``xtlsdvc ..., initial(my)``                      not offered
``xtlsdvc ..., lsdv`` / ``first``                 ``results.lsdv_params`` / ``initial_params``
``xtspj y x, model(regress)``                     ``SplitPanelJackknife(y, x).fit()``
``ivregress 2sls D.y D.x (LD.y = L2.y), nocons``  ``AndersonHsiao(y, x).fit()``
R ``plm(..., model = "within")`` on halves        ``SplitPanelJackknife(...).fit().halves``
R ``pgmm(y ~ lag(y) + x | lag(y, 2:99) | x)``     ``LSDVC(..., initial="ab").initial_params``
================================================  ============================================

Registered estimators (spec ``estimator = ...``): ``fe_spj``, ``lsdvc``, ``ah`` (see the
registration block at the bottom; options e.g. ``{ initial = "ab", bias = 3, reps = 200,
lagged_dependent = "ln_grdp_pc_real_l1" }``).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm
from scipy import stats

from regrowth.models._results import LabelledEstimates
from regrowth.errors import DataError, EstimationError, SpecificationError
from regrowth.models._lsdvc import _Panel, _ah, _lsdvc_once, _simulate
from regrowth.models.linear import fit_panel
from regrowth.models.registry import Estimator, Option, get, register, register_se_type

__all__ = ["SplitPanelJackknife", "LSDVC", "AndersonHsiao", "DynamicPanelResults",
           "BiasApproximationWarning", "fit_spj_spec", "fit_lsdvc_spec", "fit_ah_spec"]


class BiasApproximationWarning(UserWarning):
    """The LSDVC bias approximation broke down (corrected |rho| >= 1); no covariance."""

# ----------------------------------------------------------------------------- results

class DynamicPanelResults(LabelledEstimates):
    """Results of a dynamic-panel estimator, in linearmodels' style.

    ``params``, ``std_errors`` (alias ``bse``), ``tstats`` (alias ``tvalues``), ``pvalues``,
    ``cov`` are labelled pandas objects; ``conf_int(level)``, ``summary`` (text), ``nobs``,
    ``entities``, ``periods``, ``reference`` ("z" or "t(df)"), ``cov_type``; estimator
    specific extras live in ``extra`` and as attributes (e.g. ``fe_params``).
    """
    def __init__(self, *, params: pd.Series, cov: pd.DataFrame, nobs: int, entities: int,
                 periods: int, model: str, cov_type: str, df_ref: int | None,
                 extra: dict | None = None):
        self._params = params.astype(float).rename("parameter")
        self._cov = cov.astype(float)
        self.nobs = int(nobs)
        self.entities = int(entities)
        self.periods = int(periods)
        self.model = model
        self.cov_type = cov_type
        self.df_ref = df_ref
        self.extra = dict(extra or {})

    def __getattr__(self, name: str) -> Any:
        extra = self.__dict__.get("extra", {})
        if name in extra:
            return extra[name]
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")


    @property
    def bse(self) -> pd.Series:
        """statsmodels' name for :attr:`std_errors`."""
        return self.std_errors

    @property
    def tstats(self) -> pd.Series:
        return (self._params / self.std_errors).rename("tstat")

    tvalues = tstats

    @property
    def reference(self) -> str:
        return "z" if self.df_ref is None else f"t({self.df_ref})"

    def _dist(self):
        return stats.norm if self.df_ref is None else stats.t(self.df_ref)

    @property
    def pvalues(self) -> pd.Series:
        t = np.abs(self.tstats.to_numpy())
        return pd.Series(2.0 * self._dist().sf(t), index=self._params.index, name="pvalue")

    def conf_int(self, level: float = 0.95) -> pd.DataFrame:
        q = self._dist().ppf(0.5 + level / 2.0)
        se = self.std_errors
        return pd.DataFrame({"lower": self._params - q * se, "upper": self._params + q * se})

    @property
    def summary(self) -> str:
        ci = self.conf_int()
        frame = pd.DataFrame({"Parameter": self._params, "Std. Err.": self.std_errors,
                              "T-stat": self.tstats, "P-value": self.pvalues,
                              "Lower CI": ci["lower"], "Upper CI": ci["upper"]})
        head = (f"{self.model}\nStandard errors: {self.cov_type}; reference {self.reference}\n"
                f"Observations: {self.nobs}   Entities: {self.entities}   "
                f"Periods: {self.periods}\n")
        return head + frame.to_string(float_format=lambda v: f"{v:.6g}")

    def __repr__(self) -> str:
        return self.summary


def _effects(time_effects: bool) -> list[str]:
    """linearmodels' ``included_effects`` names (read by design.fitted_effects)."""
    return ["Entity", "Time"] if time_effects else ["Entity"]


# ----------------------------------------------------------------------------- data



def _check_index(dependent: pd.Series, exog: pd.DataFrame) -> None:
    for obj, what in ((dependent, "dependent"), (exog, "exog")):
        if not isinstance(obj.index, pd.MultiIndex) or obj.index.nlevels != 2:
            raise SpecificationError(f"{what} must be indexed by an (entity, time) MultiIndex, "
                                     "as linearmodels expects")
    if not dependent.index.equals(exog.index):
        raise SpecificationError("dependent and exog must share one (entity, time) index")
    if dependent.index.duplicated().any():
        dup = dependent.index[dependent.index.duplicated()][0]
        raise DataError(f"duplicated (entity, time) {dup!r}")
    t = dependent.index.get_level_values(1)
    if not pd.api.types.is_integer_dtype(t) and not (
            pd.api.types.is_float_dtype(t) and np.all(np.mod(t, 1) == 0)):
        raise SpecificationError("the time level must hold integer periods (years)")


def _as_frame(dependent, exog) -> tuple[pd.Series, pd.DataFrame]:
    if isinstance(dependent, pd.DataFrame):
        if dependent.shape[1] != 1:
            raise SpecificationError("dependent must be one column")
        dependent = dependent.iloc[:, 0]
    if isinstance(exog, pd.Series):
        exog = exog.to_frame()
    if exog is None:
        exog = pd.DataFrame(index=dependent.index)
    _check_index(dependent, exog)
    const = [c for c in exog.columns if np.all(exog[c].to_numpy(dtype=float) == 1.0)]
    if const:
        exog = exog.drop(columns=const)
    return dependent.astype(float), exog.astype(float)


def _grid(times: np.ndarray) -> np.ndarray:
    t = np.asarray(times, dtype=np.int64)
    return np.arange(t.min(), t.max() + 1)


def _year_dummies(pos: np.ndarray, periods: np.ndarray) -> tuple[np.ndarray, list[str]]:
    present = np.unique(pos)
    cols = present[1:]
    D = (pos[:, None] == cols[None, :]).astype(float)
    return D, [f"year_{periods[c]}" for c in cols]


def _build(dependent: pd.Series, exog: pd.DataFrame, *, lagged_dependent: str | None,
           growth_scale: float, time_effects: bool, dynamic: bool) -> _Panel:
    """Usable rows, sorted by (entity, time); for ``dynamic`` the lag and the level scale."""
    dep = dependent.sort_index()
    X = exog.loc[dep.index]
    if dynamic and lagged_dependent is not None:
        if lagged_dependent not in X.columns:
            raise SpecificationError(f"lagged_dependent={lagged_dependent!r} is not a "
                                     f"regressor; regressors are {list(X.columns)}")
        lag = X.pop(lagged_dependent)
        y = lag + dep / growth_scale             # z_it = l_i,t-1 + g_it / scale
    elif dynamic:
        ent = dep.index.get_level_values(0)
        t = np.asarray(dep.index.get_level_values(1), dtype=np.int64)
        prev = dep.groupby(level=0, sort=False).shift(1)
        tprev = pd.Series(t, index=dep.index).groupby(ent, sort=False).shift(1)
        lag = prev.where(tprev.to_numpy() == t - 1)
        y = dep
    else:
        lag, y = None, dep
    keep = np.isfinite(y.to_numpy()) & np.isfinite(X.to_numpy()).all(axis=1)
    if lag is not None:
        keep &= np.isfinite(lag.to_numpy())
    y, X = y[keep], X[keep]
    lag = lag[keep] if lag is not None else None
    if len(y) == 0:
        raise DataError("no usable observations (check missing values and the lag)")
    idx = y.index
    ent_codes, ent_labels = pd.factorize(idx.get_level_values(0), sort=True)
    times = np.asarray(idx.get_level_values(1), dtype=np.int64)
    periods = _grid(times)
    pos = times - periods[0]
    Xa = X.to_numpy(dtype=float)
    names = list(X.columns)
    n_d = 0
    if time_effects:
        D, dn = _year_dummies(pos, periods)
        Xa = np.column_stack([Xa, D]) if Xa.size else D
        names += dn
        n_d = len(dn)
    if Xa.ndim == 1 or Xa.shape[0] != len(y):
        Xa = Xa.reshape(len(y), -1)
    return _Panel(y=y.to_numpy(dtype=float), X=Xa, ent=ent_codes.astype(np.int64), pos=pos,
                  xnames=names, entity_labels=np.asarray(ent_labels), periods=periods,
                  index=idx, ylag=None if lag is None else lag.to_numpy(dtype=float),
                  n_dummies=n_d)


# ----------------------------------------------------------------------------- FE engine

def _within(y: np.ndarray, X: np.ndarray, ent: np.ndarray, pos: np.ndarray | None) -> np.ndarray:
    """Slopes of the one-way (``pos`` None) or two-way within estimator (dummy LSDV)."""
    n = len(y)
    _, e = np.unique(ent, return_inverse=True)
    parts = [X, np.eye(e.max() + 1)[e]]
    if pos is not None:
        _, p = np.unique(pos, return_inverse=True)
        if p.max() > 0:
            parts.append(np.eye(p.max() + 1)[p][:, 1:])
    Z = np.column_stack(parts)
    if n <= Z.shape[1]:
        raise EstimationError(f"{n} observations cannot identify {Z.shape[1]} parameters "
                              "(slopes and effects)")
    coef, _, rank, _ = np.linalg.lstsq(Z, y, rcond=None)
    if rank < Z.shape[1]:
        raise EstimationError("the regressors are collinear with the fixed effects in this "
                              "(sub)sample")
    return coef[: X.shape[1]]


def _halves(T: int, odd_t: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """Pairs of period-position sets (S1, S2) whose jackknife estimates are averaged."""
    if T < 2:
        raise EstimationError("the split-panel jackknife needs at least 2 periods")
    allp = np.arange(T)
    if T % 2 == 0:
        return [(allp[: T // 2], allp[T // 2:])]
    lo, hi = T // 2, T // 2 + 1
    if odd_t == "overlap":
        return [(allp[:hi], allp[lo:])]
    return [(allp[:lo], allp[lo:]), (allp[:hi], allp[hi:])]


def _spj(y, X, ent, pos, T, time_effects, odd_t) -> tuple[np.ndarray, np.ndarray, list]:
    p = pos if time_effects else None
    full = _within(y, X, ent, p)
    jk, halves = [], []
    for s1, s2 in _halves(T, odd_t):
        m1, m2 = np.isin(pos, s1), np.isin(pos, s2)
        b1 = _within(y[m1], X[m1], ent[m1], None if p is None else pos[m1])
        b2 = _within(y[m2], X[m2], ent[m2], None if p is None else pos[m2])
        halves.append((b1, b2))
        jk.append(2.0 * full - 0.5 * (b1 + b2))
    return np.mean(jk, axis=0), full, halves


# ----------------------------------------------------------------------------- SPJ

class SplitPanelJackknife:
    """Half-panel jackknife fixed effects (Dhaene & Jochmans 2015); see the module docstring.

    Parameters
    ----------
    dependent : Series on an (entity, time) MultiIndex.
    exog : DataFrame of regressors on the same index (a constant column is dropped).
    time_effects : two-way effects; year effects re-estimated within each half.
    odd_t : "average" (default) or "overlap": the split for an odd number of periods.
    """
    def __init__(self, dependent, exog, *, time_effects: bool = False,
                 odd_t: str = "average"):
        if odd_t not in ("average", "overlap"):
            raise SpecificationError(f"odd_t={odd_t!r}: use 'average' or 'overlap'")
        self.dependent, self.exog = _as_frame(dependent, exog)
        self.time_effects = bool(time_effects)
        self.odd_t = odd_t
        self._panel = _build(self.dependent, self.exog, lagged_dependent=None, growth_scale=1.0,
                             time_effects=False, dynamic=False)
        if not self._panel.xnames:
            raise SpecificationError("no regressors")

    def fit(self, *, reps: int = 199, seed: int = 20181207) -> DynamicPanelResults:
        """Jackknife estimate, province-bootstrap covariance (``reps`` draws, ``seed``)."""
        if reps < 2:
            raise SpecificationError("reps must be >= 2 (the bootstrap covariance needs draws)")
        pn = self._panel
        y, X, ent, pos, T = pn.y, pn.X, pn.ent, pn.pos, pn.T
        est, full, halves = _spj(y, X, ent, pos, T, self.time_effects, self.odd_t)
        rows = [np.flatnonzero(ent == g) for g in range(pn.N)]
        rng = np.random.default_rng(seed)
        draws = np.empty((reps, X.shape[1]))
        for r in range(reps):
            pick = rng.integers(0, pn.N, pn.N)
            idx = np.concatenate([rows[g] for g in pick])
            new_ent = np.repeat(np.arange(pn.N), [len(rows[g]) for g in pick])
            draws[r] = _spj(y[idx], X[idx], new_ent, pos[idx], T, self.time_effects,
                            self.odd_t)[0]
        names = pn.xnames
        cov = np.atleast_2d(np.cov(draws, rowvar=False, ddof=1))
        fe_se = self._fe_cluster(names)
        half_frame = pd.DataFrame(
            {f"{lab}{j + 1}": b for j, pair in enumerate(halves)
             for lab, b in zip(("first_half_", "second_half_"), pair)}, index=names)
        return DynamicPanelResults(
            params=pd.Series(est, index=names), cov=pd.DataFrame(cov, index=names,
                                                                 columns=names),
            nobs=len(y), entities=pn.N, periods=T,
            model="Split-panel jackknife FE (Dhaene-Jochmans 2015)"
                  + (", two-way" if self.time_effects else ""),
            cov_type=f"province bootstrap ({reps} draws, seed {seed})", df_ref=pn.N - 1,
            extra={"fe_params": pd.Series(full, index=names, name="fe"),
                   "fe_std_errors": fe_se, "halves": half_frame, "boot_draws": draws,
                   "reps": reps, "seed": seed, "odd_t": self.odd_t,
                   "time_effects": self.time_effects, "n_clusters": pn.N,
                   "included_effects": _effects(self.time_effects)})

    def _fe_cluster(self, names) -> pd.Series:
        """Analytic cluster SE of the full-panel FE, Stata-scaled (fit_panel)."""
        frame = pd.concat([self.dependent.rename("_y_"), self.exog[names]], axis=1)
        formula = "_y_ ~ 1 + " + " + ".join(names) + (" + TimeEffects" if self.time_effects
                                                       else "")
        res = fit_panel("fe", formula, frame, cov_type="clustered")
        return res.std_errors.reindex(names).rename("fe_cluster_se")

    @classmethod
    def from_formula(cls, formula: str, data: pd.DataFrame, **kwargs):
        """``"y ~ x1 + x2 [+ TimeEffects]"`` (``EntityEffects`` implied, ``1 +`` ignored)."""
        dep, exog, te = _parse_formula(formula, data)
        kwargs.setdefault("time_effects", te)
        return cls(dep, exog, **kwargs)


def _parse_formula(formula: str, data: pd.DataFrame):
    lhs, rhs = (s.strip() for s in formula.split("~", 1))
    terms = [t.strip() for t in rhs.split("+") if t.strip()]
    te = "TimeEffects" in terms
    xs = [t for t in terms if t not in ("1", "0", "TimeEffects", "EntityEffects")]
    missing = [v for v in [lhs, *xs] if v not in data.columns]
    if missing:
        raise SpecificationError(f"unknown column(s) {missing} in {formula!r}")
    return data[lhs], data[xs], te




class _DynamicBase:
    def __init__(self, dependent, exog, *, lagged_dependent: str | None = None,
                 growth_scale: float = 100.0, time_effects: bool = False):
        self.dependent, self.exog = _as_frame(dependent, exog)
        self.lagged_dependent = lagged_dependent
        self.growth_scale = float(growth_scale)
        self.time_effects = bool(time_effects)
        self._panel = _build(self.dependent, self.exog, lagged_dependent=lagged_dependent,
                             growth_scale=self.growth_scale, time_effects=self.time_effects,
                             dynamic=True)

    @property
    def _lag_name(self) -> str:
        return self.lagged_dependent or f"L.{self.dependent.name or 'y'}"

    def _report(self, coef: np.ndarray, cov: np.ndarray | None):
        """Public names/scale: drop year dummies; growth scale if lagged_dependent is set."""
        pn = self._panel
        k = 1 + pn.X.shape[1] - pn.n_dummies
        names = [self._lag_name, *pn.xnames[: k - 1]]
        c = np.asarray(coef, float)[:k].copy()
        if self.lagged_dependent is not None:
            c[0] = self.growth_scale * (c[0] - 1.0)
            c[1:] *= self.growth_scale
        params = pd.Series(c, index=names)
        if cov is None:
            V = np.full((k, k), np.nan)
        else:
            V = np.asarray(cov, float)[:k, :k] * (
                self.growth_scale ** 2 if self.lagged_dependent is not None else 1.0)
        V = pd.DataFrame(V, index=names, columns=names)
        if self.lagged_dependent is not None:       # the caller's regressor order
            order = [c for c in self.exog.columns if c in names]
            params, V = params[order], V.loc[order, order]
        return params, V

    @classmethod
    def from_formula(cls, formula: str, data: pd.DataFrame, **kwargs):
        """``"y ~ x1 + x2 [+ TimeEffects]"``; with ``lagged_dependent`` named, it must be one
        of the regressors."""
        dep, exog, te = _parse_formula(formula, data)
        kwargs.setdefault("time_effects", te)
        return cls(dep, exog, **kwargs)


class LSDVC(_DynamicBase):
    """Bias-corrected LSDV (Kiviet 1995; Bun & Kiviet 2003; Bruno 2005; Stata ``xtlsdvc``).

    Parameters
    ----------
    dependent, exog : on one (entity, time) MultiIndex; without ``lagged_dependent`` the
        dependent is the level y and its lag L.y is built from the data (consecutive
        periods only); with ``lagged_dependent="<column of exog>"`` the dependent is the
        growth g = growth_scale * d y and that column is y_t-1 (see the module docstring).
    initial : "ah" | "ab" (Stata ``initial()``); "bb" is refused (not implemented).
    bias : 1 | 2 | 3 (Stata ``bias()``): order of the bias approximation.
    time_effects : year dummies (all grid periods but the first) added to X.
    """
    def __init__(self, dependent, exog, *, initial: str = "ah", bias: int = 1,
                 lagged_dependent: str | None = None, growth_scale: float = 100.0,
                 time_effects: bool = False):
        if initial == "bb":
            raise SpecificationError(
                "initial='bb' (Blundell-Bond, which xtlsdvc takes from xtabond2) is not "
                "implemented in regrowth; use initial='ah' (Anderson-Hsiao) or 'ab' "
                "(Arellano-Bond one-step difference GMM)")
        if initial not in ("ah", "ab"):
            raise SpecificationError(f"initial={initial!r}: use 'ah' or 'ab' ('bb' is not "
                                     "implemented)")
        if bias not in (1, 2, 3) or isinstance(bias, bool):
            raise SpecificationError(f"bias={bias!r}: the order of the approximation is 1, 2 "
                                     "or 3 (xtlsdvc bias())")
        super().__init__(dependent, exog, lagged_dependent=lagged_dependent,
                         growth_scale=growth_scale, time_effects=time_effects)
        self.initial, self.bias = initial, int(bias)

    def fit(self, *, reps: int = 50, seed: int = 12345, progress: bool = False
            ) -> DynamicPanelResults:
        """LSDVC estimate; ``reps`` >= 2 parametric bootstrap draws for ``cov`` (xtlsdvc
        ``vcov(#)``; ``reps=0``: no covariance, NaN standard errors, like ``vcov(0)``)."""
        if reps == 1 or reps < 0:
            raise SpecificationError("reps must be 0 or >= 2 (xtlsdvc: 'the number of "
                                     "bootstrap iterations may be either 0 or >1')")
        pn = self._panel
        est = _lsdvc_once(pn, self.initial, self.bias)
        cov = None
        draws = None
        explosive = not abs(est["coef"][0]) < 1.0
        if explosive:
            warnings.warn(
                f"LSDVC initial({self.initial}) bias({self.bias}): the corrected autoregressive "
                f"coefficient is {est['coef'][0]:.4g} (|rho| >= 1; LSDV {est['lsdv'][0]:.4g}, "
                f"initial {est['initial'][0]:.4g}): the bias approximation has broken down "
                "(its higher-order terms dominate); the parametric bootstrap would simulate an "
                "explosive process, so no covariance is computed. Use a lower bias() order.",
                BiasApproximationWarning, stacklevel=2)
        if reps and not explosive:
            rng = np.random.default_rng(seed)
            sigma = float(np.sqrt(est["sigma2"]))
            draws = np.empty((reps, len(est["coef"])))
            it = range(reps)
            if progress:
                it = tqdm(it, desc="lsdvc bootstrap", leave=False)
            for r in it:
                draws[r] = _lsdvc_once(_simulate(pn, est["coef"], sigma, rng), self.initial,
                                       self.bias)["coef"]
            cov = np.atleast_2d(np.cov(draws, rowvar=False, ddof=1))
        params, covf = self._report(est["coef"], cov)
        lsdv, lsdv_cov = self._report(est["lsdv"], est["lsdv_cov"])
        init, _ = self._report(est["initial"], None)
        bias_s = lsdv - params                      # bias on the reported scale
        return DynamicPanelResults(
            params=params, cov=covf, nobs=len(pn.y), entities=pn.N, periods=pn.T,
            model=f"LSDVC (xtlsdvc), initial({self.initial}) bias({self.bias})",
            cov_type=("not computed (|rho| >= 1)" if explosive
                      else f"parametric bootstrap ({reps} draws, seed {seed})" if reps
                      else "not computed (reps=0)"), df_ref=None,
            extra={"lsdv_params": lsdv, "lsdv_cov": lsdv_cov, "initial_params": init,
                   "bias_estimate": bias_s, "sigma": float(np.sqrt(est["sigma2"])),
                   "sigma2": float(est["sigma2"]), "rho": float(est["coef"][0]),
                   "reps": reps, "seed": seed, "boot_draws": draws,
                   "initial": self.initial, "bias": self.bias,
                   "included_effects": _effects(self.time_effects)})


class AndersonHsiao(_DynamicBase):
    """Anderson-Hsiao first-difference IV with cluster-robust SEs (see the module docstring).

    Same inputs as :class:`LSDVC` (``lagged_dependent``, ``growth_scale``, ``time_effects``).
    """
    def fit(self) -> DynamicPanelResults:
        pn = self._panel
        coef, cov, n, G, keep = _ah(pn, with_cov=True)
        params, covf = self._report(coef, cov)
        return DynamicPanelResults(
            params=params, cov=covf, nobs=n, entities=G, periods=pn.T,
            model="Anderson-Hsiao (first differences, y_t-2 instrument)",
            cov_type=f"clustered by entity ({G} clusters), Stata factor", df_ref=G - 1,
            extra={"rho": float(coef[0]), "n_clusters": G,
                   "included_effects": _effects(self.time_effects)})


# ----------------------------------------------------------------------------- registry

def _spec_frame(spec, data: pd.DataFrame):
    y = data[spec.outcome].astype(float)
    X = data[list(spec.regressors)].astype(float)
    return y, X


def _opts(spec, name: str) -> dict:
    entry = get(name)
    return {o.name: spec.options.get(o.name, o.default) for o in entry.options}


def _by_province(spec, what: str) -> None:
    if spec.se_groups not in (None, "region"):
        raise SpecificationError(f"{spec.name}: {what} resamples/clusters by province; "
                                 f"se.groups = {spec.se_groups!r} is not available")


def fit_spj_spec(spec, data: pd.DataFrame) -> DynamicPanelResults:
    """A spec column with ``estimator = "fe_spj"`` (year_effects -> two-way halves)."""
    _by_province(spec, "the split-panel jackknife bootstrap")
    o = _opts(spec, "fe_spj")
    y, X = _spec_frame(spec, data)
    return SplitPanelJackknife(y, X, time_effects=spec.year_effects,
                               odd_t=o["odd_t"]).fit(reps=o["reps"], seed=o["seed"])


def _lagged(spec, o) -> str | None:
    lag = o.get("lagged_dependent") or None
    if lag is not None and lag not in spec.regressors:
        raise SpecificationError(f"{spec.name}: options.lagged_dependent = {lag!r} must be one "
                                 f"of the regressors {list(spec.regressors)}")
    return lag


def fit_lsdvc_spec(spec, data: pd.DataFrame) -> DynamicPanelResults:
    """A spec column with ``estimator = "lsdvc"``."""
    o = _opts(spec, "lsdvc")
    y, X = _spec_frame(spec, data)
    return LSDVC(y, X, initial=o["initial"], bias=o["bias"],
                 lagged_dependent=_lagged(spec, o), growth_scale=o["growth_scale"],
                 time_effects=spec.year_effects).fit(reps=o["reps"], seed=o["seed"])


def fit_ah_spec(spec, data: pd.DataFrame) -> DynamicPanelResults:
    """A spec column with ``estimator = "ah"``."""
    _by_province(spec, "Anderson-Hsiao")
    o = _opts(spec, "ah")
    y, X = _spec_frame(spec, data)
    return AndersonHsiao(y, X, lagged_dependent=_lagged(spec, o),
                         growth_scale=o["growth_scale"],
                         time_effects=spec.year_effects).fit()


register_se_type("cluster_bootstrap", "province (cluster) bootstrap")
register_se_type("parametric_bootstrap", "parametric bootstrap (xtlsdvc vcov)")

_LAG_OPTIONS = (
    Option("lagged_dependent", "str", "", "the regressor that is the lagged level (e.g. "
           "ln_grdp_pc_real_l1); the outcome is then its growth in percent; empty: the "
           "outcome is the level and its lag is built from the data"),
    Option("growth_scale", "float", 100.0, "outcome = growth_scale x d(level): 100 for percent",
           minimum=0),
)

register(Estimator(
    name="fe_spj", label="FE, split-panel jackknife", stata="xtspj, model(regress)",
    family="linear",
    doc="half-panel jackknife FE (Dhaene-Jochmans 2015): 2 b - (b1 + b2)/2, province bootstrap",
    aliases=("spj", "fe_jackknife"),
    options=(Option("reps", "int", 199, "province bootstrap draws", minimum=2),
             Option("seed", "int", 20181207, "bootstrap seed"),
             Option("odd_t", "str", "average", "split for an odd number of periods",
                    choices=("average", "overlap"))),
    se_types=("cluster_bootstrap",), default_se="cluster_bootstrap",
    year_effects="time_effects", province_effects="implied",
    fit=fit_spj_spec,
))

register(Estimator(
    name="lsdvc", label="LSDVC (bias-corrected LSDV)", stata="xtlsdvc", family="linear",
    doc="bias-corrected LSDV (Kiviet 1995; Bun-Kiviet 2003; Bruno 2005), xtlsdvc",
    aliases=("xtlsdvc",),
    options=(Option("initial", "str", "ah", "xtlsdvc initial(): initial estimator ('bb' is "
                    "not implemented)", choices=("ah", "ab")),
             Option("bias", "int", 1, "xtlsdvc bias(): order of the approximation",
                    choices=(1, 2, 3)),
             Option("reps", "int", 50, "xtlsdvc vcov(): parametric bootstrap draws", minimum=0),
             Option("seed", "int", 12345, "bootstrap seed (xtlsdvc sets 12345)"),
             *_LAG_OPTIONS),
    se_types=("parametric_bootstrap",), default_se="parametric_bootstrap",
    year_effects="time_effects", province_effects="implied",
    fit=fit_lsdvc_spec,
))

register(Estimator(
    name="ah", label="Anderson-Hsiao IV", stata="ivregress 2sls D.y (LD.y = L2.y)",
    family="linear",
    doc="Anderson-Hsiao first-difference IV, y_t-2 instrument, clustered SEs",
    aliases=("anderson_hsiao",), options=_LAG_OPTIONS,
    se_types=("cluster",), default_se="cluster",
    year_effects="time_effects", province_effects="implied",
    fit=fit_ah_spec,
))
