"""Specification tests for the growth panels, as a referee asks for them (Stata's names).

Each function takes results of :func:`regrowth.models.linear.fit_panel` (linearmodels
results) and returns a :class:`DiagnosticResult` with ``statistic``, ``pvalue``, ``df``,
``distribution``, ``name``, ``stata`` (the command), ``null`` and ``argues_for`` (what a
rejection supports). :func:`diagnostics_table` computes all five for several growth
specifications; :func:`render_diagnostics` lays them out with :mod:`regrowth.tables`.

Notation: panels i = 1..N with T_i periods, n = sum_i T_i observations, e_it residuals.

Hausman (``hausman fe re``; :func:`hausman`)
    H = (b_FE - b_RE)' [V_FE - V_RE]^- (b_FE - b_RE) over the coefficients both models
    share, the constant excluded (Stata's default; ``constant=True`` includes it);
    ^- is the generalized inverse over the eigenvalues that count as non-zero and df =
    rank(V_FE - V_RE), as Stata; both are decided by one documented tolerance on the
    difference scaled to unit-free form (:func:`_generalized_quadratic_form`), so the
    statistic does not depend on rounding noise. Both V are the
    conventional (non-robust) ones: a clustered or robust covariance is refused unless
    ``force=True`` (Stata's ``force``). ``sigmamore=True``: V_FE is rescaled to the
    efficient estimator's disturbance variance, V_FE * s2_RE / s2_FE, where s2_FE is
    the within residual variance (Stata ``e(sigma_e)^2``, divisor n - N - k) and s2_RE
    the residual variance of the quasi-demeaned GLS regression (``e(rmse)^2`` after
    ``xtreg, re``, divisor n - k). ``sigmaless=True``: V_RE * s2_FE / s2_RE instead.
    A negative statistic (V_FE - V_RE not positive semidefinite) is reported with a NaN
    p-value, as Stata prints it with a warning. R: ``plm::phtest(fe, re)`` (method
    "chisq") is the default variant; plm has no sigmamore.

Breusch-Pagan LM for random effects (``xttest0``; :func:`breusch_pagan_re`)
    From pooled OLS residuals, with Baltagi and Li's (1990) form for unbalanced panels::
        A  = sum_i (sum_t e_it)^2 / sum_it e_it^2 - 1
        LM = n^2 / (2 sum_i T_i (T_i - 1)) * A^2        (balanced: nT/(2(T-1)) A^2)

    The alternative Var(u_i) > 0 is one-sided, so Stata reports LM as chibar2(01):
    p = P(chi2(1) > LM) / 2. Honda's signed z = n A / sqrt(2 sum_i T_i (T_i - 1))
    is in ``extra``; when A < 0 the one-sided statistic is 0 and p = 1.
    R: ``plmtest(pooled, type = "bp")`` gives LM (with the two-sided chi2(1) p-value);
    ``type = "honda"`` gives z and its one-sided normal p-value, which equals the
    chibar2(01) p-value when A > 0.

Modified Wald test for groupwise heteroskedasticity (``xttest3``;
:func:`groupwise_heteroskedasticity`)
    Greene (2000, p. 598), as Baum's xttest3 v1.0.7 computes it from the fixed-effects
    residuals e_it (``predict, e``)::
        s_i^2 = sum_t e_it^2 / T_i
        V_i   = sum_t (e_it^2 - s_i^2)^2 / (T_i (T_i - 1))
        s^2   = sum_it (e_it - mean(e))^2 / n
        W     = sum_i (s_i^2 - s^2)^2 / V_i   ~ chi2(N)

    No R package computes it; the reference is a transcription.

Wooldridge's test for serial correlation (``xtserial``; :func:`wooldridge_ar1`)
    Drukker (2003): OLS of the first differences D.y on D.X without a constant (the
    constant differences out); residuals u_it; OLS of u_it on u_i,t-1 without a constant,
    with SEs clustered by panel (Stata's regress scaling G/(G-1) (m-1)/(m-1) = G/(G-1)
    for one regressor); under no serial correlation in the idiosyncratic errors the slope
    is -0.5, and F = ((b + 0.5) / se)^2 ~ F(1, G - 1), G panels in that regression. A
    difference or lag exists only between adjacent periods (time step = the smallest
    step in the data). R's ``plm::pwartest`` is a different test (Wooldridge's test on
    FE residuals, Wooldridge 2010 sec. 10.5.4), so the reference is a transcription.

Pesaran's CD (``xtcsd, pesaran``; :func:`pesaran_cd`)
    From the fixed-effects residuals, rho_ij the Pearson correlation of e_i and e_j over
    the T_ij periods both are observed::
        CD = sqrt(2 / (N (N - 1))) * sum_{i<j} sqrt(T_ij) rho_ij   ~ N(0, 1)

    (balanced: sqrt(2T / (N (N - 1))) sum rho_ij), two-sided normal p-value. Equal to
    R's ``pcdtest(fe, test = "cd")`` and to De Hoyos and Sarafidis's xtcsd 1.1.1.

For the replication: the ``diagnostics`` analysis (:mod:`regrowth.analyses.diagnostics`)
runs the tests for the linear columns of a table that declares it in ``specs/models.toml``
and writes the table; :func:`nickell_note` gives the Nickell-bias note for the
fixed-effects convergence coefficient.

Validity with a lagged dependent variable. When the outcome's own lag is a regressor
(``lagged_dependent`` of :func:`run_diagnostics`; declared in the spec, see
:mod:`regrowth.analyses.diagnostics`) two of the tests do not test what they claim and are
marked not valid (``extra["valid"] = False`` and ``extra["reason"]``; "n/v" in the table,
the reason in its note); the statistic is still computed and shown:

* Hausman (both rows): the lagged outcome contains the province effect, so the random-
  effects (GLS) estimator is inconsistent whether or not the effects are correlated with
  the other regressors -- the test's null (RE consistent) is false by construction -- and
  fixed effects carries Nickell's O(1/T) bias, so the contrast measures neither.
* xtserial: Wooldridge's (2002) test assumes strictly exogenous regressors; the
  first-differenced lag D.y_{t-1} is correlated with the differenced error D.e_t, so the
  first-difference OLS is inconsistent and its residuals' AR(1) slope is not -0.5 under
  the null of no serial correlation.

xttest0, xttest3 and Pesaran's CD are not marked: their nulls concern the error
structure, and with a lagged dependent variable they remain the usual approximate guides.

Reading the table. A rejection in the Hausman test argues for fixed effects over random
effects; in xttest0 for a panel model (random or fixed effects) over pooled OLS; in
xttest3 for panel-heteroskedastic weights or robust SEs (xtgls panels(hetero), PCSE, or
clustered SEs); in xtserial for AR(1)-robust inference (corr(ar1), clustering by
province); in Pesaran's CD for year effects and SEs robust to cross-sectional dependence
(PCSE, Driscoll-Kraay).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from regrowth.errors import DataError, EstimationError, SpecificationError
from regrowth.models.covariance import RANK_RTOL
from regrowth.models.linear import fit_panel
from regrowth.report.tables import RegressionTable, Row, format_number
from regrowth.report.tidy import CONSTANT_NAMES
from formulaic import model_matrix

__all__ = [
    "TESTS",
    "DiagnosticsUnavailable",
    "MIN_PERIODS",
    "DiagnosticResult",
    "breusch_pagan_re",
    "diagnostics_table",
    "groupwise_heteroskedasticity",
    "hausman",
    "mark_not_valid",
    "pesaran_cd",
    "render_diagnostics",
    "run_diagnostics",
    "wooldridge_ar1",
]

#: The five tests of :func:`diagnostics_table`, in row order: (key, name, Stata command,
#: null hypothesis, what a rejection argues for).
TESTS: tuple[tuple[str, str, str, str, str], ...] = (
    ("hausman", "Hausman FE vs RE", "hausman fe re",
     "RE is consistent: province effects uncorrelated with the regressors",
     "fixed effects (within) over random effects"),
    ("hausman_sigmamore", "Hausman FE vs RE, sigmamore", "hausman fe re, sigmamore",
     "as above; both covariances use the RE disturbance variance",
     "fixed effects (within) over random effects"),
    ("breusch_pagan_re", "Breusch-Pagan LM for random effects", "xttest0",
     "Var(u_i) = 0: no province effects",
     "a panel model (random or fixed effects) over pooled OLS"),
    ("groupwise_heteroskedasticity", "Modified Wald, groupwise heteroskedasticity",
     "xttest3", "sigma_i^2 = sigma^2 for every province",
     "panel-heteroskedastic weights or SEs (xtgls panels(hetero), PCSE, clustered)"),
    ("wooldridge_ar1", "Wooldridge serial correlation", "xtserial",
     "no first-order autocorrelation in the idiosyncratic errors",
     "AR(1)-robust inference (corr(ar1), SEs clustered by province)"),
    ("pesaran_cd", "Pesaran CD, cross-sectional dependence", "xtcsd, pesaran",
     "errors independent across provinces",
     "year effects and SEs robust to cross-sectional dependence (PCSE, Driscoll-Kraay)"),
)
_META = {key: (name, stata, null, argues) for key, name, stata, null, argues in TESTS}


@dataclass(frozen=True)
class DiagnosticResult:
    """One specification test.

    statistic : the test statistic (chi2, chibar2, F or z as ``distribution`` says).
    pvalue : its p-value (NaN where the statistic is outside its support).
    df : degrees of freedom (an int, a (df1, df2) tuple for F, None for N(0, 1)).
    distribution : e.g. ``"chi2(4)"``, ``"chibar2(01)"``, ``"F(1, 15)"``, ``"N(0,1)"``.
    name, stata, null, argues_for : what the test is, Stata's command, the null
        hypothesis and the estimator or inference a rejection supports.
    extra : further numbers (e.g. Honda's z, the AR slope, the correlation matrix size).
    """
    name: str
    statistic: float
    pvalue: float
    df: Any
    distribution: str
    stata: str
    null: str
    argues_for: str
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        """False when the test is not valid for the model it was run on (``extra["valid"]``,
        e.g. Hausman with a lagged dependent variable; the reason is ``extra["reason"]``)."""
        return bool(self.extra.get("valid", True))

    def rejects(self, level: float = 0.05) -> bool:
        """True when the p-value is below ``level``."""
        return bool(np.isfinite(self.pvalue) and self.pvalue < level)

    def __str__(self) -> str:
        p = "nan" if not np.isfinite(self.pvalue) else f"{self.pvalue:.4f}"
        return (f"{self.name} ({self.stata}): {self.distribution} = {self.statistic:.4f}, "
                f"p = {p}. H0: {self.null}. A rejection argues for {self.argues_for}.")


def _result(key: str, statistic, pvalue, df, distribution, extra=None) -> DiagnosticResult:
    name, stata, null, argues = _META[key]
    if key == "hausman" and extra and extra.get("variant") == "sigmaless":
        stata = "hausman fe re, sigmaless"
    return DiagnosticResult(name=name, statistic=float(statistic), pvalue=float(pvalue),
                            df=df, distribution=distribution, stata=stata, null=null,
                            argues_for=argues, extra=dict(extra or {}))


# --------------------------------------------------------------------------- helpers

def _kind(result: Any) -> str:
    cls = type(result).__name__
    model = type(getattr(result, "model", None)).__name__
    if cls == "RandomEffectsResults" or model == "RandomEffects":
        return "re"
    if model == "PanelOLS":
        return "fe" if getattr(result.model, "entity_effects", False) else "pooled_panelols"
    if model == "PooledOLS":
        return "pooled"
    return cls


def _panel_resids(result: Any, what: str) -> pd.Series:
    resid = getattr(result, "resids", None)
    if not isinstance(resid, pd.Series) or not isinstance(resid.index, pd.MultiIndex) \
            or resid.index.nlevels != 2:
        raise SpecificationError(
            f"{what} needs the results of fit_panel (linearmodels) with residuals on an "
            f"(entity, time) MultiIndex; got {type(result).__name__}")
    return resid.astype(float)


def _cov_type(result: Any) -> str:
    return str(getattr(result, "_cov_type", getattr(result, "cov_type", ""))).lower()


# --------------------------------------------------------------------------- Hausman

def _generalized_quadratic_form(d: np.ndarray, V: np.ndarray, scale: np.ndarray):
    """d' V^+ d over the eigenvalues of V that count as non-zero, with V and d first scaled
    by D = diag(scale)^(-1/2) so the decision does not depend on the regressors' units.

    An eigenvalue counts when |lambda| > RANK_RTOL * max|lambda| (RANK_RTOL = 1e-10, the
    package's one rank tolerance, :data:`regrowth.models.covariance.RANK_RTOL`): rounding noise
    (about 1e-16 relative, different on every machine and BLAS thread count) is excluded with
    six orders of magnitude of margin, and the same eigenvalues enter the rank and the inverse
    (``numpy.linalg.pinv`` with its own cutoff could invert a noise eigenvalue that the rank
    excludes). Returns (statistic, rank, eigenvalues, tolerance, borderline), borderline when
    an eigenvalue lies within a factor 100 of the tolerance.
    """
    dsc = np.diag(scale).astype(float)
    D = 1.0 / np.sqrt(np.where(dsc > 0, dsc, 1.0))
    Vs = V * D[:, None] * D[None, :]
    ds = d * D
    evals, vecs = np.linalg.eigh((Vs + Vs.T) / 2.0)
    tol = RANK_RTOL * float(np.max(np.abs(evals)))
    keep = np.abs(evals) > tol
    proj = vecs[:, keep].T @ ds
    stat = float(np.sum(proj * proj / evals[keep]))
    borderline = bool(np.any((np.abs(evals) > tol / 100.0) & (np.abs(evals) < tol * 100.0)))
    return stat, int(keep.sum()), evals, tol, borderline


def hausman(fe_results: Any, re_results: Any, *, sigmamore: bool = False,
            sigmaless: bool = False, constant: bool = False,
            force: bool = False) -> DiagnosticResult:
    """Hausman test of fixed against random effects (Stata ``hausman fe re``).

    Parameters
    ----------
    fe_results : ``fit_panel("fe", ...)`` results (consistent under H0 and H1).
    re_results : ``fit_panel("re", ...)`` results (efficient under H0).
    sigmamore, sigmaless : base both covariances on the RE (``sigmamore``) or FE
        (``sigmaless``) disturbance variance (see the module docstring).
    constant : include the constant in the comparison (Stata's ``constant``).
    force : allow robust or clustered covariances (Stata's ``force``).

    Returns
    -------
    :class:`DiagnosticResult` with chi2(df), df = rank(V_FE - V_RE). ``extra`` holds the
    compared ``terms``, ``difference`` and ``se_difference`` (sqrt of the diagonal of
    V_FE - V_RE, NaN where negative), ``positive_definite`` and ``indefinite`` (a negative
    eigenvalue beyond rounding: the statistic is then not a valid chi2).
    """
    if sigmamore and sigmaless:
        raise SpecificationError("hausman: sigmamore and sigmaless are alternatives")
    if _kind(fe_results) != "fe":
        raise SpecificationError("hausman: the first argument must be fixed-effects results "
                                 "(fit_panel('fe', ...))")
    if _kind(re_results) != "re":
        raise SpecificationError("hausman: the second argument must be random-effects "
                                 "results (fit_panel('re', ...))")
    if not force:
        for label, res in (("FE", fe_results), ("RE", re_results)):
            if _cov_type(res) not in ("unadjusted", "homoskedastic", "conventional"):
                raise SpecificationError(
                    f"hausman: the {label} covariance is {_cov_type(res)!r}; the test "
                    "assumes the conventional covariances (refit with "
                    "cov_type='unadjusted', or pass force=True as Stata's force)")
    terms = [t for t in fe_results.params.index if t in re_results.params.index
             and (constant or t not in CONSTANT_NAMES)]
    if not terms:
        raise SpecificationError("hausman: the two models share no coefficients")
    diff = (fe_results.params[terms] - re_results.params[terms]).to_numpy(dtype=float)
    v_c = fe_results.cov.loc[terms, terms].to_numpy(dtype=float)
    v_e = re_results.cov.loc[terms, terms].to_numpy(dtype=float)
    s2_fe, s2_re = float(fe_results.s2), float(re_results.s2)
    variant = "default"
    if sigmamore:
        v_c = v_c * (s2_re / s2_fe)
        variant = "sigmamore"
    elif sigmaless:
        v_e = v_e * (s2_fe / s2_re)
        variant = "sigmaless"
    vd = v_c - v_e
    vd = (vd + vd.T) / 2.0
    stat, rank, evals, tol, borderline = _generalized_quadratic_form(diff, vd, v_c)
    pval = float(stats.chi2.sf(stat, rank)) if stat >= 0 else float("nan")
    diag = np.diag(vd)
    extra = {"terms": list(terms), "difference": diff.tolist(),
             "se_difference": [math.sqrt(v) if v >= 0 else float("nan") for v in diag],
             "positive_definite": bool(evals.min() > tol),
             "indefinite": bool(evals.min() < -tol), "variant": variant,
             "rank_borderline": borderline, "s2_fe": s2_fe, "s2_re": s2_re}
    key = "hausman_sigmamore" if sigmamore else "hausman"
    return _result(key, stat, pval, rank, f"chi2({rank})", extra)


# --------------------------------------------------------------------- xttest0 (BP LM)

def breusch_pagan_re(pooled_results: Any) -> DiagnosticResult:
    """Breusch-Pagan LM test for random effects (Stata ``xttest0``), from pooled OLS.

    Parameters
    ----------
    pooled_results : ``fit_panel("pooled", ...)`` results (OLS with a constant).

    Returns
    -------
    :class:`DiagnosticResult`: chibar2(01) statistic (the LM statistic, or 0 when the
    one-sided score is negative) and p = P(chi2(1) > LM) / 2. ``extra``: ``lm`` (two-sided
    LM), ``honda_z``, ``honda_p``.
    """
    if _kind(pooled_results) not in ("pooled", "pooled_panelols"):
        raise SpecificationError("breusch_pagan_re needs pooled OLS results "
                                 "(fit_panel('pooled', ...)), as xttest0's LM uses OLS "
                                 "residuals")
    e = _panel_resids(pooled_results, "breusch_pagan_re")
    ent = e.index.get_level_values(0)
    sums = e.groupby(ent).sum()
    t_i = e.groupby(ent).size().astype(float)
    n = float(t_i.sum())
    denom = float((t_i * (t_i - 1.0)).sum())
    if denom <= 0:
        raise DataError("breusch_pagan_re: every panel has a single observation")
    a = float((sums ** 2).sum() / (e ** 2).sum() - 1.0)
    lm = n ** 2 / (2.0 * denom) * a ** 2
    z = n * a / math.sqrt(2.0 * denom)
    stat = lm if a > 0 else 0.0
    pval = 0.5 * float(stats.chi2.sf(stat, 1)) if a > 0 else 1.0
    return _result("breusch_pagan_re", stat, pval, 1, "chibar2(01)",
                   {"lm": lm, "honda_z": z, "honda_p": float(stats.norm.sf(z)),
                    "balanced": bool(t_i.nunique() == 1)})


# ------------------------------------------------------------------ xttest3 (Greene)

def groupwise_heteroskedasticity(fe_results: Any) -> DiagnosticResult:
    """Greene's modified Wald test for groupwise heteroskedasticity (Stata ``xttest3``).

    Parameters
    ----------
    fe_results : ``fit_panel("fe", ...)`` results (their residuals e_it are used).

    Returns
    -------
    :class:`DiagnosticResult`, chi2(N). ``extra``: ``sigma2_i`` (per-panel ML variances).
    """
    e = _panel_resids(fe_results, "groupwise_heteroskedasticity")
    ent = e.index.get_level_values(0)
    e2 = e ** 2
    t_i = e.groupby(ent).size().astype(float)
    if (t_i < 2).any():
        raise DataError("groupwise_heteroskedasticity: panels with a single observation "
                        f"({list(t_i.index[t_i < 2])}) have no variance estimate")
    s2_i = e2.groupby(ent).mean()
    dev = (e2 - s2_i.reindex(ent).to_numpy()) ** 2
    v_i = dev.groupby(ent).sum() / (t_i * (t_i - 1.0))
    s2 = float(((e - e.mean()) ** 2).mean())
    w = float(((s2_i - s2) ** 2 / v_i).sum())
    n_g = int(t_i.size)
    return _result("groupwise_heteroskedasticity", w, float(stats.chi2.sf(w, n_g)), n_g,
                   f"chi2({n_g})", {"sigma2_i": s2_i.to_dict(), "sigma2": s2})


# ----------------------------------------------------------------- xtserial (Drukker)

def _adjacent(index: pd.MultiIndex) -> np.ndarray:
    """True where the previous row is the same panel one time step earlier."""
    ent = index.get_level_values(0)
    tim = index.get_level_values(1)
    same = np.r_[False, ent[1:] == ent[:-1]]
    if np.issubdtype(np.asarray(tim).dtype, np.number):
        tv = np.asarray(tim, dtype=float)
        step = np.r_[np.nan, np.diff(tv)]
        pos = step[same & (step > 0)]
        delta = pos.min() if pos.size else 1.0
        return same & (step == delta)
    codes = pd.factorize(tim, sort=True)[0]
    return same & (np.r_[-1, np.diff(codes)] == 1)


def wooldridge_ar1(formula: str, data: pd.DataFrame) -> DiagnosticResult:
    """Wooldridge's test for first-order serial correlation (Stata ``xtserial``).

    Parameters
    ----------
    formula : ``"y ~ x1 + x2"`` (a constant, if written, is dropped: it differences out),
        evaluated with formulaic, as ``xtserial depvar indepvars`` takes a varlist.
    data : DataFrame on an (entity, time) MultiIndex; rows with missing values are
        dropped before differencing.

    Returns
    -------
    :class:`DiagnosticResult`, F(1, G - 1). ``extra``: ``coef`` (slope of u_t on u_t-1,
    -0.5 under H0), ``se`` (clustered), ``nobs_fd``, ``nobs_ar``, ``clusters``,
    ``fd_params`` (the first-difference coefficients, Stata's ``output`` table).
    """
    if not isinstance(data, pd.DataFrame) or not isinstance(data.index, pd.MultiIndex) \
            or data.index.nlevels != 2:
        raise DataError("wooldridge_ar1 needs a DataFrame indexed by (entity, time)",
                        hint="data.set_index([entity, time])")
    mm = model_matrix(formula, data, na_action="drop")
    y = pd.Series(np.asarray(mm.lhs, dtype=float).ravel(), index=mm.lhs.index)
    x = pd.DataFrame(np.asarray(mm.rhs, dtype=float), index=mm.rhs.index,
                     columns=[str(c) for c in mm.rhs.columns])
    x = x.loc[:, [c for c in x.columns if c not in CONSTANT_NAMES]]
    if x.shape[1] == 0:
        raise SpecificationError("wooldridge_ar1: the formula has no regressors")
    frame = pd.concat([y.rename("__y__"), x], axis=1).sort_index()
    adj = _adjacent(frame.index)
    values = frame.to_numpy()
    diffs = values[1:] - values[:-1]
    fd = pd.DataFrame(diffs[adj[1:]], index=frame.index[1:][adj[1:]], columns=frame.columns)
    dy, dx = fd["__y__"].to_numpy(), fd.drop(columns="__y__").to_numpy()
    if dx.shape[0] <= dx.shape[1]:
        raise DataError("wooldridge_ar1: too few first differences for the regression")
    b_fd = np.linalg.lstsq(dx, dy, rcond=None)[0]
    u = pd.Series(dy - dx @ b_fd, index=fd.index)
    adj_u = _adjacent(u.index)
    cur = u.to_numpy()[1:][adj_u[1:]]
    lag = u.to_numpy()[:-1][adj_u[1:]]
    groups = u.index.get_level_values(0)[1:][adj_u[1:]]
    if cur.size < 2:
        raise DataError("wooldridge_ar1 needs panels with at least three consecutive "
                        "periods")
    sxx = float(lag @ lag)
    coef = float(lag @ cur) / sxx
    res = cur - coef * lag
    scores = pd.Series(lag * res).groupby(np.asarray(groups)).sum().to_numpy()
    g = int(scores.size)
    if g < 2:
        raise DataError("wooldridge_ar1 needs at least two panels")
    m, k = cur.size, 1
    var = g / (g - 1.0) * (m - 1.0) / (m - k) * float(scores @ scores) / sxx ** 2
    se = math.sqrt(var)
    f = ((coef + 0.5) / se) ** 2
    p = float(stats.f.sf(f, 1, g - 1))
    return _result("wooldridge_ar1", f, p, (1, g - 1), f"F(1, {g - 1})",
                   {"coef": coef, "se": se, "nobs_fd": int(dy.size), "nobs_ar": int(m),
                    "clusters": g,
                    "fd_params": dict(zip(x.columns, (float(v) for v in b_fd)))})


# -------------------------------------------------------------------- Pesaran's CD

def pesaran_cd(fe_results: Any) -> DiagnosticResult:
    """Pesaran's CD test of cross-sectional independence (Stata ``xtcsd, pesaran``).

    Parameters
    ----------
    fe_results : ``fit_panel("fe", ...)`` results (any panel results with residuals work;
        xtcsd is run after ``xtreg, fe`` or ``re``).

    Returns
    -------
    :class:`DiagnosticResult`, N(0, 1), two-sided p-value. ``extra``: ``mean_abs_rho``
    (Stata's ``abs`` option), ``n_pairs``.
    """
    e = _panel_resids(fe_results, "pesaran_cd")
    wide = e.unstack(level=0)  # periods x panels
    vals = wide.to_numpy(dtype=float)
    n_g = vals.shape[1]
    if n_g < 2:
        raise DataError("pesaran_cd needs at least two panels")
    total, abs_sum, pairs = 0.0, 0.0, 0
    for i in range(n_g):
        for j in range(i + 1, n_g):
            both = np.isfinite(vals[:, i]) & np.isfinite(vals[:, j])
            t_ij = int(both.sum())
            if t_ij < 3:
                raise DataError(
                    f"pesaran_cd: panels {wide.columns[i]!r} and {wide.columns[j]!r} share "
                    f"{t_ij} periods; the correlation needs at least 3 (Stata: 'the panel "
                    "is highly unbalanced')")
            a = vals[both, i] - vals[both, i].mean()
            b = vals[both, j] - vals[both, j].mean()
            rho = float(a @ b / math.sqrt((a @ a) * (b @ b)))
            total += math.sqrt(t_ij) * rho
            abs_sum += abs(rho)
            pairs += 1
    cd = math.sqrt(2.0 / (n_g * (n_g - 1.0))) * total
    return _result("pesaran_cd", cd, float(2 * stats.norm.sf(abs(cd))), None, "N(0,1)",
                   {"mean_abs_rho": abs_sum / pairs, "n_pairs": pairs})


# ------------------------------------------------------------------ validity

#: Tests that are not valid when a lagged dependent variable is a regressor, and why
#: (``{vars}`` is replaced by the lagged dependent variable(s)); see the module docstring.
LAGGED_DEPENDENT_INVALID: dict[str, str] = {
    "hausman": (
        "not valid with a lagged dependent variable ({vars}) among the regressors. The "
        "random-effects (GLS) estimator is then inconsistent whatever the province effects "
        "are (the lagged outcome contains them), so the null that RE is consistent is false "
        "by construction, and the FE side carries Nickell bias"),
    "wooldridge_ar1": (
        "not valid with a lagged dependent variable ({vars}) among the regressors. "
        "Wooldridge's test assumes strictly exogenous regressors, and the differenced lag "
        "is correlated with the differenced error, so the AR(1) slope of the "
        "first-difference residuals is not -0.5 under the null"),
}
LAGGED_DEPENDENT_INVALID["hausman_sigmamore"] = LAGGED_DEPENDENT_INVALID["hausman"]


def mark_not_valid(result: DiagnosticResult, reason: str) -> DiagnosticResult:
    """A copy of ``result`` recorded as not valid: ``extra["valid"] = False`` and
    ``extra["reason"] = reason`` (the statistic and p-value are kept, for the record)."""
    return replace(result, extra={**dict(result.extra), "valid": False, "reason": str(reason)})


# ------------------------------------------------------------------ the table

def _year_frame(data: pd.DataFrame) -> pd.DataFrame:
    years = data.index.get_level_values(1)
    levels = sorted(set(years))
    return pd.DataFrame({f"year_{t}": (years == t).astype(float) for t in levels[1:]},
                        index=data.index)


#: Fewest distinct years the tests run on: xtserial regresses the residual of the
#: first-differenced model on its own lag, which needs three consecutive years.
MIN_PERIODS = 3


class DiagnosticsUnavailable(EstimationError):
    """The specification tests cannot be run on this sample; the message says why."""


def _why_not_runnable(outcome: str, regressors: Sequence[str], frame: pd.DataFrame) -> list[str]:
    """The reasons (empty if none) why the tests cannot run on ``frame``: too few provinces
    or years, regressors constant in the sample or without variation within provinces
    (which the fixed-effects model, hence Hausman, xttest3 and the CD test, cannot keep)."""
    reasons = []
    entities = frame.index.get_level_values(0)
    years = frame.index.get_level_values(1)
    if entities.nunique() < 2:
        reasons.append(f"the sample has {entities.nunique()} province(s); the tests compare "
                       "provinces and need at least 2")
    if years.nunique() < MIN_PERIODS:
        reasons.append(f"the sample has {years.nunique()} year(s); xtserial needs at least "
                       f"{MIN_PERIODS} consecutive years (a first difference and its lag)")
    for r in regressors:
        values = frame[r]
        if values.nunique() <= 1:
            what = "all zero" if len(values) and values.iloc[0] == 0 else "constant"
            reasons.append(f"{r!r} is {what} in the sample")
        elif years.nunique() > 1 and (values.groupby(level=0).nunique() <= 1).all():
            reasons.append(f"{r!r} does not vary within any province, so the fixed-effects "
                           "model absorbs it")
    return reasons


def run_diagnostics(outcome: str, regressors: Sequence[str], data: pd.DataFrame, *,
                    year_effects: bool = False,
                    lagged_dependent: Sequence[str] = ()) -> dict[str, DiagnosticResult]:
    """The five tests (six rows: Hausman twice) for one growth specification.

    ``data`` is the estimation sample on an (entity, time) MultiIndex. With
    ``year_effects`` every model (pooled, FE, RE, the first-difference regression of
    xtserial) gets year dummies (first year the base), as ``i.year`` would in Stata;
    the Hausman test then compares the slopes and the year coefficients.
    ``lagged_dependent``: names of variables that are lags of the dependent variable (e.g.
    the lagged log level when the outcome is its growth rate); if any is among
    ``regressors``, the tests of :data:`LAGGED_DEPENDENT_INVALID` are marked not valid
    (:func:`mark_not_valid`; see the module docstring).
    Returns a dict keyed as :data:`TESTS`.
    """
    cols = [outcome, *regressors]
    missing = [c for c in cols if c not in data.columns]
    if missing:
        raise SpecificationError(f"run_diagnostics: no column(s) {missing} in the data")
    frame = data[cols].astype(float).dropna()
    rhs = list(regressors)
    if year_effects:
        years = _year_frame(frame)
        frame = pd.concat([frame, years], axis=1)
        rhs += list(years.columns)
    reasons = _why_not_runnable(outcome, regressors, frame)
    if reasons:
        raise DiagnosticsUnavailable("the specification tests cannot run: " + "; ".join(reasons))
    formula = f"{outcome} ~ 1 + " + " + ".join(rhs)
    try:
        fe = fit_panel("fe", formula, frame)
        re = fit_panel("re", formula, frame)
        pooled = fit_panel("pooled", formula, frame)
        out = {"hausman": hausman(fe, re),
               "hausman_sigmamore": hausman(fe, re, sigmamore=True),
               "breusch_pagan_re": breusch_pagan_re(pooled),
               "groupwise_heteroskedasticity": groupwise_heteroskedasticity(fe),
               "wooldridge_ar1": wooldridge_ar1(f"{outcome} ~ " + " + ".join(rhs), frame),
               "pesaran_cd": pesaran_cd(fe)}
    except (ValueError, np.linalg.LinAlgError, ZeroDivisionError) as exc:
        if isinstance(exc, SpecificationError):
            raise
        n_years = frame.index.get_level_values(1).nunique()
        raise DiagnosticsUnavailable(
            f"the specification tests cannot run: the pooled, fixed- or random-effects model "
            f"of {outcome} could not be fitted on the {len(frame)} rows "
            f"({frame.index.get_level_values(0).nunique()} provinces, {n_years} years) "
            f"-- its regressors are collinear in this sample; drop one of "
            f"{', '.join(rhs[:len(regressors)])} or widen the sample "
            f"(estimator: {type(exc).__name__}: {exc})") from exc
    if isinstance(lagged_dependent, str):
        lagged_dependent = (lagged_dependent,)
    ldv = [r for r in regressors if r in set(lagged_dependent)]
    if ldv:
        for key, reason in LAGGED_DEPENDENT_INVALID.items():
            out[key] = mark_not_valid(out[key], reason.format(vars=", ".join(ldv)))
    return out


def diagnostics_table(computed: Mapping[str, Mapping[str, DiagnosticResult]]) -> pd.DataFrame:
    """One row per test, columns per growth specification.

    Parameters
    ----------
    computed : a mapping ``{label: {test key: DiagnosticResult}}`` (what
        :func:`run_diagnostics` returns for each specification;
        :func:`regrowth.analyses.diagnostics.column_diagnostics` builds it from column specs).

    Returns
    -------
    DataFrame with columns ``test, stata, null, argues_for`` and, per specification
    ``<label>``, the statistic in ``<label>``, its distribution in ``<label> dist``, its
    p-value in ``<label> p``, a warning in ``<label> note`` (Hausman: "V_FE - V_RE
    indefinite", where Stata warns it is not positive definite), whether the test is valid
    for that specification in ``<label> valid`` and, if not, why in ``<label> reason``
    (:attr:`DiagnosticResult.valid`); rows in the order of :data:`TESTS`.
    """
    if not isinstance(computed, Mapping) or not all(isinstance(v, Mapping)
                                                     for v in computed.values()):
        raise SpecificationError("diagnostics_table takes {label: {test key: DiagnosticResult}}; "
                                 "build it from column specs with "
                                 "regrowth.analyses.diagnostics.column_diagnostics(columns, panel)")
    computed = {str(k): dict(v) for k, v in computed.items()}
    rows = []
    for key, name, stata, null, argues in TESTS:
        row: dict[str, Any] = {"test": name, "stata": stata, "null": null,
                               "argues_for": argues}
        for label, tests in computed.items():
            r = tests.get(key)
            row[label] = r.statistic if r is not None else float("nan")
            row[f"{label} dist"] = r.distribution if r is not None else ""
            row[f"{label} p"] = r.pvalue if r is not None else float("nan")
            row[f"{label} note"] = (
                "V_FE - V_RE indefinite" if r is not None
                and r.extra.get("indefinite") is True else "")
            row[f"{label} valid"] = r.valid if r is not None else True
            row[f"{label} reason"] = (str(r.extra.get("reason", ""))
                                      if r is not None and not r.valid else "")
        rows.append(row)
    return pd.DataFrame(rows)


def render_diagnostics(table: pd.DataFrame, *, title: str = "Specification tests",
                       notes: Iterable[str] = (), digits: int = 2):
    """Lay out :func:`diagnostics_table` as a :class:`regrowth.report.tables.RegressionTable`.

    Each test is two rows: the statistic, then its distribution under H0 with the
    p-value in brackets; the last two columns name the Stata command and what a rejection
    argues for. A statistic that is not valid for its specification (``<label> valid``
    False) carries "n/v" and the table's notes say why, once per reason. Render with
    ``.to_markdown()``, ``.to_latex()``, ``.to_html()``, ``.to_csv()`` or
    ``.write(stem)``.
    """
    meta = {"test", "stata", "null", "argues_for"}
    labels = [c for c in table.columns
              if c not in meta and not c.endswith((" dist", " p", " note", " valid", " reason"))]
    rows = []
    flagged = False
    not_valid: dict[str, tuple[list, list]] = {}  # reason -> (tests, columns) it applies to
    for _, r in table.iterrows():
        cells = []
        for lab in labels:
            stat = r[lab]
            mark = "†" if r.get(f"{lab} note", "") else ""
            flagged = flagged or bool(mark)
            if not bool(r.get(f"{lab} valid", True)):
                mark += " n/v"
                tests, cols = not_valid.setdefault(
                    str(r.get(f"{lab} reason", "") or "not valid"), ([], []))
                for seen, item in ((tests, str(r["test"])), (cols, lab)):
                    if item not in seen:
                        seen.append(item)
            cells.append("" if pd.isna(stat) else f"{format_number(stat, digits)}{mark}")
        rows.append(Row("coef", str(r["test"]), tuple(cells) + (str(r["stata"]),
                                                                  str(r["argues_for"]))))
        pcells = []
        for lab in labels:
            p, dist = r[f"{lab} p"], r[f"{lab} dist"]
            pcells.append(f"{dist} [{'-' if pd.isna(p) else format_number(p, 3)}]"
                          if dist else "")
        rows.append(Row("se", "", tuple(pcells) + ("", "")))
    for i, (reason, (tests, cols)) in enumerate(not_valid.items()):
        notes = (*notes, f"{'n/v = not valid. ' if i == 0 else 'n/v: '}{' and '.join(tests)} "
                         f"in {'; '.join(cols)}: {reason}. The statistic is shown for the "
                         "record only.")
    if flagged:
        sigmamore_nv = any(
            not bool(r.get(f"{lab} valid", True)) for _, r in table.iterrows()
            if r["stata"] == "hausman fe re, sigmamore" for lab in labels)
        notes = (*notes, ("† V_FE - V_RE is indefinite (not positive semidefinite; Stata "
                         "warns that it is not positive definite): the statistic is not a "
                         "valid chi2; " + ("the sigmamore row is n/v here as well."
                                           if sigmamore_nv else "read the sigmamore row.")))
    notes = (*(str(n) for n in notes),
             ("Statistic and, beneath, its distribution under H0 with the p-value in "
              "brackets. "
              "Hausman compares FE and RE coefficients (constant excluded); xttest0 is "
              "chibar2(01) from pooled OLS residuals; xttest3, xtserial and xtcsd use the "
              "FE (xtserial: first-difference) residuals."))
    return RegressionTable(title=str(title),
                           columns=(*labels, "Stata", "Rejection argues for"),
                           titles=None, rows=tuple(rows), notes=notes, stars=())


# ------------------------------------------------------------------ Nickell bias

def nickell_bias(rho: float, periods: int) -> float:
    """Nickell's (1981) large-T approximation of the within estimator's bias in the
    coefficient rho of a lagged dependent variable: plim(rho_FE - rho) ~ -(1 + rho)/(T - 1).

    A first-order approximation (exact order 1/T; other regressors change the constant),
    meant to size the bias, not to correct it. Returns the bias in rho's units.
    """
    if periods < 2:
        raise ValueError("nickell_bias needs T >= 2 periods")
    return -(1.0 + float(rho)) / (periods - 1.0)


def nickell_note(beta: float, periods: int, *, scale: float = 100.0) -> str:
    """A table/notebook note on the Nickell bias of a fixed-effects convergence coefficient.

    ``beta`` is the FE coefficient on ln(y_{t-1}) in a regression of growth in percent
    (``scale`` = 100: growth ~ 100 * (ln y_t - ln y_{t-1})), so ln y_t follows
    ln y_t = rho ln y_{t-1} + ..., rho = 1 + beta / scale; ``periods`` is T, the number of
    years per province in the estimation sample. Returns the note as one paragraph (plain
    text, no markup), with the implied rho, Nickell's approximate bias in rho and in beta's
    units, and what it means for the convergence reading.
    """
    rho = 1.0 + float(beta) / scale
    bias_rho = nickell_bias(rho, periods)
    bias_beta = bias_rho * scale
    share = bias_beta / float(beta) if beta else float("nan")
    return (
        f"Nickell bias: growth is the change in log income, so the within (FE) estimate of "
        f"the convergence coefficient ({beta:.2f}) is the coefficient of a lagged dependent "
        f"variable, rho = 1 + beta/{scale:g} = {rho:.3f}, estimated from T = {periods} years "
        f"per province. Its Nickell (1981) bias is of order -(1 + rho)/(T - 1) = "
        f"{bias_rho:.3f} in rho, i.e. about {bias_beta:.1f} in the coefficient "
        f"({abs(share) * 100:.0f}% of the estimate): the FE column overstates the speed of "
        "convergence and its coefficient is not a structural estimate. Bias-corrected LSDV "
        "(Kiviet 1995) or GMM (Arellano-Bond, Blundell-Bond) address it in principle, but "
        "with this few provinces those estimators are themselves imprecise; the pooled and FGLS "
        "columns, which keep the between-province variation, are not subject to this bias "
        "(they have their own: omitted province effects).")

