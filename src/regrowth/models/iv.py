"""Reform estimators: event study, dose-response DiD, 2SLS with weak-IV-robust inference.

The models (province i, year t, two-way fixed effects; ``data`` indexed by (region, year))
-----------------------------------------------------------------------------------------
Event study (:func:`event_study`)::
    y_it = a_i + g_t + sum_{s != ref} b_s (d_i x 1[t = s]) + u_it,   s in 2014..2023, ref 2018

Poisson event study (:func:`ppml_event_study`): E[y_it] = exp(a_i + g_t + sum_s b_s d_i 1[t = s])
(PPML with province and year dummies; Stata ``ppmlhdfe``, R ``fixest::fepois``).

Dose-response DiD (:func:`did`)::   y_it = a_i + g_t + b (d_i x post_t) + u_it

2SLS (:func:`iv2sls`)::   y_it = a_i + g_t + beta x_it + u_it,
                          x_it = c_i + h_t + pi (d_i x post_t) + v_it   (first stage)

with x the endogenous fiscal measure (재정자주도) and d_i the statutory dose
(:mod:`regrowth.reform.dose`).

How they are computed
---------------------
The year effects enter as dummies (first year omitted) and the province effects are swept
out by the within transformation (the provinces are nested in the clusters, so the wild
bootstrap and the CRVE commute with it); on an unbalanced panel this is still the exact
two-way estimator. OLS / 2SLS on the transformed data give the coefficients.

Covariance (one home: the factors and cluster sums of :mod:`regrowth.models.covariance`)
    V = c · A (sum_g S_g S_g') A, the cluster-robust sandwich (CR0 inside), clusters =
    provinces unless ``clusters=`` names another index level or gives ids; A the bread
    ((X'X)^-1 for OLS, (X̂'X̂)^-1 for 2SLS with X̂ the first-stage fitted values),
    S_g = sum over the cluster's observations of the scores.
    ``ssc="stata"`` (default): c = G/(G-1) (N-1)/(N-K), K = regressors + year dummies + 1,
    as Stata ``xtreg y x i.year, fe vce(cluster id)`` and ``xtivreg2 ..., fe small``
    count it (the absorbed province effects, nested in the clusters, are not counted).
    ``ssc="cr0"``: c = 1. ``ssc="g"``: c = G/(G-1) (what Stata uses after ML estimators,
    and the PPML default here).
    p-values and intervals from t(G-1) (Wald tests: F(q, G-1)).

Mapping to pyfixest / fixest: ``feols("y ~ x | region + year", vcov={"CRV1": "region"})``
(IV: ``"y ~ 1 | region + year | x ~ z"``) has the same coefficients, and its default
small-sample correction ``ssc(k_adj=True, k_fixef="nonnested", G_adj=True)`` (pyfixest
0.60) is exactly ``ssc="stata"`` (the province effects, nested in the clusters, are not
counted; the year effects are); ``ssc(k_adj=False, G_adj=False)`` is ``ssc="cr0"``. R
``AER::ivreg``/``lm``/``glm`` with dummies + ``sandwich::vcovCL(type = "HC0", cadjust =
FALSE)`` gives the same CR0; R's ``HC1`` with ``cadjust = TRUE`` counts every dummy in K.
PPML: ``fepois`` with ``ssc(k_adj=False, G_adj=True)`` is ``ssc="g"`` (Stata's factor
after ``poisson, vce(cluster)``; ``ppmlhdfe`` may scale differently).

First-stage strength (:class:`IVResults`)
    ``kp_f``: the Kleibergen-Paap rk Wald F. With one endogenous regressor the KP rk Wald
    statistic is the cluster-robust Wald statistic of the excluded instruments in the first
    stage (Kleibergen & Paap 2006), F = W/L, with the factor ``ssc`` (ivreg2 applies its own
    small-sample scaling; with ``small`` and clusters it is this number).
    ``effective_f``: Montiel Olea & Pflueger (2013), F_eff = pi' Z'Z pi / tr(V_pi Z'Z) with
    V_pi the cluster-robust covariance of the first-stage coefficients; with one instrument
    Z'Z cancels and F_eff equals the robust F (= ``kp_f``), as MOP note.

Anderson-Rubin set (:meth:`IVResults.ar_set`)
    AR(b0): regress y - b0 x on the instruments and the exogenous regressors, cluster-robust
    Wald F of the instrument coefficients, F(L, G-1) reference. With one instrument the
    coefficient is a - b0 b and its variance v_yy - 2 b0 v_xy + b0^2 v_xx (both the
    residuals and the scores are linear in b0), so {b0: AR(b0) <= q} solves a quadratic
    inequality: an interval, the union of two half-lines, the whole line, or empty. It
    is returned as a list of (low, high) intervals with +-inf ends. Valid however weak the
    instrument (Anderson & Rubin 1949; cluster-robust version as ``weakiv``/``ivreg2``).

Inference with 16-17 clusters
    :meth:`ReformResults.boottest` refits the linear model as a linearmodels ``PanelOLS``
    (province and year effects) and calls :func:`regrowth.inference.boottest` (WCR,
    Rademacher weights, all 2^G sign vectors enumerated when 2^G <= reps); after PPML it
    refits a statsmodels ``Poisson`` with the same dummies and runs the score bootstrap.
    :func:`regrowth.models.iv_randomization.randomization_test` permutes the province doses
    across provinces and returns p = (1 + #{|T*| >= |T|}) / (1 + B) (its module says how a
    draw is computed without a refit).

COVID: ``exclude_years=(2020,)`` drops 2020; ``post_years=(2019,)`` with
``years=range(2014, 2020)`` gives the 2019-only first stage.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from regrowth.models._results import LabelledEstimates
from regrowth.errors import EstimationError, SpecificationError
from regrowth.models.covariance import cluster_sums, stata_linear_factor, stata_ml_scale
from linearmodels import PanelOLS
from statsmodels.discrete.discrete_model import Poisson

__all__ = ["ReformResults", "EventStudyResults", "IVResults", "event_study", "ppml_event_study",
           "did", "iv2sls", "anderson_rubin_set", "SSC"]

SSC = ("stata", "cr0", "g")


# ----------------------------------------------------------------------------- design

@dataclass
class _Data:
    y: np.ndarray
    X: np.ndarray            # regressors of interest (n, k)
    names: list[str]
    D: np.ndarray            # year dummies (n, T-1)
    ent: np.ndarray          # entity codes
    clu: np.ndarray          # cluster codes
    G: int
    index: pd.MultiIndex
    frame: pd.DataFrame = field(repr=False, default=None)


def _codes(values) -> tuple[np.ndarray, int]:
    codes, uniq = pd.factorize(pd.Series(np.asarray(values)), sort=True)
    return codes.astype(np.intp), len(uniq)


def _check_index(data: pd.DataFrame) -> None:
    if not isinstance(data.index, pd.MultiIndex) or data.index.nlevels != 2:
        raise SpecificationError("reform estimators need data indexed by (region, year)")
    if data.index.duplicated().any():
        dup = data.index[data.index.duplicated()][0]
        raise SpecificationError(f"duplicated (region, year) in the data: {dup}")


def _sample(data: pd.DataFrame, columns: Sequence[str], years: Iterable[int] | None,
            exclude_years: Iterable[int], regions: Iterable[str] | None) -> pd.DataFrame:
    _check_index(data)
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise SpecificationError(f"column(s) {missing} not in the data")
    yr = data.index.get_level_values(1).astype(int)
    keep = np.ones(len(data), dtype=bool)
    if years is not None:
        keep &= np.isin(yr, list(years))
    ex = list(exclude_years)
    if ex:
        keep &= ~np.isin(yr, ex)
    if regions is not None:
        keep &= np.isin(data.index.get_level_values(0), list(regions))
    frame = data.loc[keep, list(columns)].astype(float)
    frame = frame[np.isfinite(frame.to_numpy()).all(axis=1)]
    if frame.empty:
        raise EstimationError(f"no complete observations of {list(columns)} in the sample")
    return frame


def _year_dummies(years: np.ndarray) -> tuple[np.ndarray, list[int]]:
    uniq = sorted(set(int(y) for y in years))
    D = np.zeros((len(years), len(uniq) - 1))
    pos = {y: i for i, y in enumerate(uniq)}
    for r, y in enumerate(years):
        j = pos[int(y)]
        if j > 0:
            D[r, j - 1] = 1.0
    return D, uniq


def _within(M: np.ndarray, ent: np.ndarray) -> np.ndarray:
    n_e = ent.max() + 1
    cnt = np.bincount(ent, minlength=n_e).astype(float)
    if M.ndim == 1:
        return M - (np.bincount(ent, weights=M, minlength=n_e) / cnt)[ent]
    means = np.vstack([np.bincount(ent, weights=M[:, j], minlength=n_e) for j in range(M.shape[1])]).T
    return M - (means / cnt[:, None])[ent]


def _clusters(frame: pd.DataFrame, clusters: Any) -> tuple[np.ndarray, int]:
    if clusters is None:
        return _codes(frame.index.get_level_values(0))
    if isinstance(clusters, str):
        if clusters in frame.index.names:
            return _codes(frame.index.get_level_values(clusters))
        raise SpecificationError(f"clusters={clusters!r} is not an index level")
    s = pd.Series(clusters)
    if isinstance(clusters, pd.Series) and isinstance(clusters.index, pd.MultiIndex):
        s = clusters.reindex(frame.index)
    if len(s) != len(frame):
        raise SpecificationError("clusters must have one id per observation of the sample")
    return _codes(s.to_numpy())


def _factor(ssc: str, G: int, N: int, K: int) -> float:
    if ssc == "stata":
        return stata_linear_factor(G, N, K)
    if ssc == "g":
        return stata_ml_scale("cluster", N, G)
    if ssc == "cr0":
        return 1.0
    raise SpecificationError(f"ssc={ssc!r}; choose one of {SSC}")


def _meat(scores: np.ndarray, clu: np.ndarray, G: int) -> np.ndarray:
    S = cluster_sums(clu, G, scores)
    return S.T @ S


# ----------------------------------------------------------------------------- results

class ReformResults(LabelledEstimates):
    """Coefficients of interest with a cluster-robust covariance (linearmodels-like).

    ``params``, ``std_errors``, ``tstats``, ``pvalues`` (t(G-1)), ``cov``, ``conf_int()``,
    ``tidy()`` (term, estimate, std_error, statistic, p_value, ci_low, ci_high), ``wald_test``,
    ``to_record()`` (plain floats, JSON-ready), ``nobs``, ``n_clusters``, ``df_ref``,
    ``cluster_factor``, ``se_label``; ``boottest(param)`` after linear models.
    """
    def __init__(self, params: pd.Series, cov: pd.DataFrame, *, nobs: int, G: int,
                 factor: float, K: int, ssc: str, model: str, spec: dict):
        self._params = params.astype(float)
        self._cov = cov.astype(float)
        self.nobs = int(nobs)
        self.n_clusters = int(G)
        self.df_ref = int(G) - 1
        self.cluster_factor = float(factor)
        self.k_total = int(K)
        self.ssc = ssc
        self.model = model
        self.spec = dict(spec)


    @property
    def tstats(self) -> pd.Series:
        return (self._params / self.std_errors).rename("tstat")

    @property
    def pvalues(self) -> pd.Series:
        return pd.Series(2 * stats.t.sf(np.abs(self.tstats.to_numpy()), self.df_ref),
                         index=self._params.index, name="pvalue")

    @property
    def se_label(self) -> str:
        return (f"cluster-robust by province ({self.n_clusters} clusters), factor "
                f"{ {'stata': 'G/(G-1)(N-1)/(N-K)', 'g': 'G/(G-1)', 'cr0': '1 (CR0)'}[self.ssc] }"
                f", t({self.df_ref})")

    def conf_int(self, level: float = 0.95) -> pd.DataFrame:
        q = stats.t.ppf(0.5 + level / 2, self.df_ref)
        se = self.std_errors
        return pd.DataFrame({"lower": self._params - q * se, "upper": self._params + q * se})

    def tidy(self, level: float = 0.95) -> pd.DataFrame:
        ci = self.conf_int(level)
        return pd.DataFrame({"term": self._params.index, "estimate": self._params.to_numpy(),
                             "std_error": self.std_errors.to_numpy(),
                             "statistic": self.tstats.to_numpy(),
                             "p_value": self.pvalues.to_numpy(),
                             "ci_low": ci["lower"].to_numpy(), "ci_high": ci["upper"].to_numpy()})

    def wald_test(self, terms: Sequence[str]) -> dict:
        """Joint cluster-robust Wald test that ``terms`` are zero: F = W/q on (q, G-1)."""
        terms = list(terms)
        b = self._params[terms].to_numpy()
        V = self._cov.loc[terms, terms].to_numpy()
        W = float(b @ np.linalg.solve(V, b))
        q = len(terms)
        F = W / q
        return {"terms": terms, "wald": W, "F": F, "df_num": q, "df_den": self.df_ref,
                "pvalue": float(stats.f.sf(F, q, self.df_ref))}

    def to_record(self) -> dict:
        rec = {"model": self.model, "nobs": self.nobs, "n_clusters": self.n_clusters,
               "se": self.se_label, "spec": {k: (list(v) if isinstance(v, (tuple, range)) else v)
                                             for k, v in self.spec.items()},
               "coefficients": [{k: (float(v) if isinstance(v, (float, np.floating)) else v)
                                 for k, v in row.items()}
                                for row in self.tidy().to_dict("records")]}
        return rec

    def refit_for_bootstrap(self):
        """The same design refitted as a model :func:`regrowth.inference.boottest` takes: a
        linearmodels ``PanelOLS`` with the dummies after the linear models, a statsmodels
        ``Poisson`` with the same dummies after PPML (``boottest`` calls this itself).
        Refitted once and kept: bootstrapping every coefficient of one result reuses it."""
        kept = getattr(self, "_bootstrap_model", None)
        if kept is not None:
            return kept
        refit = getattr(self, "_panelols", None)
        if refit is None:
            raise SpecificationError(f"no bootstrap refit is available after {self.model}")
        self._bootstrap_model = refit()
        return self._bootstrap_model

    def __repr__(self) -> str:
        return (f"{self.model}: {self.nobs} obs, {self.se_label}\n"
                + self.tidy().to_string(index=False, float_format=lambda v: f"{v:.6g}"))


class EventStudyResults(ReformResults):
    """Event-study coefficients ``dose_x_<year>``; ``ref`` omitted; ``leads``/``lags``."""
    @property
    def event_years(self) -> list[int]:
        return [int(n.rsplit("_", 1)[1]) for n in self._params.index]

    @property
    def leads(self) -> list[str]:
        ref = self.spec["ref"]
        return [n for n, y in zip(self._params.index, self.event_years) if y < ref]

    def pretrend_test(self) -> dict:
        """Joint cluster-robust Wald test of the leads (years before ``ref``), F(q, G-1)."""
        if not self.leads:
            raise EstimationError("no leads to test: the event window starts at the reference year")
        return self.wald_test(self.leads)

    def event_frame(self, level: float = 0.95) -> pd.DataFrame:
        """One row per event year including the reference year (estimate 0, no interval)."""
        t = self.tidy(level)
        t.insert(0, "year", self.event_years)
        ref = pd.DataFrame([{"year": self.spec["ref"], "term": "reference", "estimate": 0.0,
                             "std_error": np.nan, "statistic": np.nan, "p_value": np.nan,
                             "ci_low": np.nan, "ci_high": np.nan}])
        return pd.concat([t, ref]).sort_values("year").reset_index(drop=True)

    def to_record(self) -> dict:
        rec = super().to_record()
        if self.leads and self.model.startswith("event study"):
            rec["pretrend"] = {k: v for k, v in self.pretrend_test().items()}
        return rec


@dataclass
class FirstStage:
    """First stage of a 2SLS fit: coefficients of the excluded instruments, their
    cluster-robust covariance, the KP rk Wald F and the effective F."""
    params: pd.Series
    cov: pd.DataFrame
    kp_f: float
    effective_f: float
    df: tuple[int, int]

    def to_record(self) -> dict:
        return {"params": {k: float(v) for k, v in self.params.items()},
                "std_errors": {k: float(math.sqrt(self.cov.loc[k, k])) for k in self.params.index},
                "kp_rk_wald_f": float(self.kp_f), "effective_f": float(self.effective_f),
                "df_num": self.df[0], "df_den": self.df[1]}


class IVResults(ReformResults):
    """2SLS results plus ``first_stage`` (:class:`FirstStage`), ``reduced_form`` and
    :meth:`ar_set` (Anderson-Rubin confidence set)."""
    first_stage: FirstStage
    _ar_inputs: dict

    def ar_test(self, beta0: float) -> dict:
        """Cluster-robust Anderson-Rubin test of H0: beta = beta0 (F(L, G-1))."""
        d = self._ar_inputs
        a, b, V = d["a"], d["b"], d["V"]
        num = a - beta0 * b
        var = V[0, 0] - 2 * beta0 * V[0, 1] + beta0 ** 2 * V[1, 1]
        F = float(num ** 2 / var)
        return {"beta0": float(beta0), "F": F, "pvalue": float(stats.f.sf(F, 1, self.df_ref))}

    def ar_set(self, level: float = 0.95) -> list[tuple[float, float]]:
        """The Anderson-Rubin confidence set as a list of closed intervals (+-inf allowed)."""
        d = self._ar_inputs
        return anderson_rubin_set(d["a"], d["b"], d["V"], self.df_ref, level)

    def to_record(self) -> dict:
        rec = super().to_record()
        rec["first_stage"] = self.first_stage.to_record()
        rec["anderson_rubin_95"] = [[_jsonable_end(lo), _jsonable_end(hi)]
                                    for lo, hi in self.ar_set(0.95)]
        return rec


def _jsonable_end(v: float):
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return float(v)


def anderson_rubin_set(a: float, b: float, V: np.ndarray, df: int, level: float = 0.95
                       ) -> list[tuple[float, float]]:
    """{b0 : (a - b0 b)^2 / (V00 - 2 b0 V01 + b0^2 V11) <= F_{1,df}(level)} as intervals.

    ``a``, ``b``: reduced-form and first-stage coefficients of the single instrument; ``V``:
    the cluster-robust covariance of (a, b)."""
    q = stats.f.ppf(level, 1, df)
    A = b * b - q * V[1, 1]
    B = -2 * a * b + 2 * q * V[0, 1]
    C = a * a - q * V[0, 0]
    disc = B * B - 4 * A * C
    tol = 1e-14 * max(abs(A), abs(B), abs(C), 1e-300)
    if abs(A) <= tol:
        if abs(B) <= tol:
            return [(-math.inf, math.inf)] if C <= 0 else []
        root = float(-C / B)
        return [(-math.inf, root)] if B > 0 else [(root, math.inf)]
    if disc < 0:
        return [] if A > 0 else [(-math.inf, math.inf)]
    s = math.sqrt(disc)
    r1, r2 = sorted((float((-B - s) / (2 * A)), float((-B + s) / (2 * A))))
    if A > 0:
        return [(r1, r2)]
    return [(-math.inf, r1), (r2, math.inf)]


# ----------------------------------------------------------------------------- estimators

def _ols(y, X, clu, G, ssc, k_extra):
    """OLS on transformed data; returns beta, cov (full), factor, K."""
    XtX = X.T @ X
    if np.linalg.matrix_rank(XtX) < X.shape[1]:
        raise EstimationError("the design is rank deficient (a dose x year term collinear with "
                              "the fixed effects? a year without variation in the dose?)")
    A = np.linalg.inv(XtX)
    beta = A @ X.T @ y
    u = y - X @ beta
    N = len(y)
    K = X.shape[1] + k_extra
    c = _factor(ssc, G, N, K)
    cov = c * A @ _meat(X * u[:, None], clu, G) @ A
    return beta, cov, c, K


def _linear_fit(frame: pd.DataFrame, outcome: str, terms: dict[str, np.ndarray], clusters, ssc,
                model: str, spec: dict, cls=ReformResults) -> ReformResults:
    ent, _ = _codes(frame.index.get_level_values(0))
    clu, G = _clusters(frame, clusters)
    if G < 2:
        raise EstimationError("fewer than 2 clusters")
    D, _ = _year_dummies(frame.index.get_level_values(1).to_numpy())
    names = list(terms)
    X = np.column_stack([terms[n] for n in names] + [D])
    y = frame[outcome].to_numpy(float)
    beta, cov, c, K = _ols(_within(y, ent), _within(X, ent), clu, G, ssc, 1)
    k = len(names)
    res = cls(pd.Series(beta[:k], index=names), pd.DataFrame(cov[:k, :k], index=names, columns=names),
              nobs=len(y), G=G, factor=c, K=K, ssc=ssc, model=model, spec=spec)

    def refit():
        exog = pd.DataFrame({n: terms[n] for n in names}, index=frame.index)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mod = PanelOLS(frame[outcome], exog, entity_effects=True, time_effects=True)
            return mod.fit(cov_type="clustered", cluster_entity=True)
    res._panelols = refit
    return res


def _event_terms(frame: pd.DataFrame, dose: str, ref: int) -> dict[str, np.ndarray]:
    yr = frame.index.get_level_values(1).astype(int).to_numpy()
    d = frame[dose].to_numpy(float)
    years = sorted(set(yr))
    if ref not in years:
        raise SpecificationError(f"the reference year {ref} is not in the sample years {years}")
    return {f"{dose}_x_{y}": d * (yr == y) for y in years if y != ref}


@dataclass
class _LinearDesign:
    """A two-way FE design whose regressors of interest are the province dose times fixed
    year indicators: term j = d_i a_j(t) (event study: a_j = 1[t = s_j]; DiD: a = post_t).
    ``fit()`` is the estimator; :class:`regrowth.models.iv_randomization._PermutedDoses`
    reuses everything but the dose."""
    frame: pd.DataFrame
    outcome: str
    dose: str
    names: list[str]
    A: np.ndarray            # (n, k) the year indicators multiplying the dose
    clusters: Any
    ssc: str
    model: str
    spec: dict
    cls: type

    def terms(self) -> dict[str, np.ndarray]:
        d = self.frame[self.dose].to_numpy(float)
        return {n: d * self.A[:, j] for j, n in enumerate(self.names)}

    def fit(self) -> ReformResults:
        return _linear_fit(self.frame, self.outcome, self.terms(), self.clusters, self.ssc,
                           self.model, self.spec, cls=self.cls)


def _event_design(data: pd.DataFrame, outcome: str, dose: str, *,
                  years: Iterable[int] = range(2014, 2024), ref: int = 2018,
                  exclude_years: Iterable[int] = (), regions: Iterable[str] | None = None,
                  clusters: Any = None, ssc: str = "stata") -> _LinearDesign:
    years = list(years)
    frame = _sample(data, [outcome, dose], years, exclude_years, regions)
    _check_time_invariant(frame, dose)
    yr = frame.index.get_level_values(1).astype(int).to_numpy()
    sample_years = sorted(set(yr))
    if ref not in sample_years:
        raise SpecificationError(f"the reference year {ref} is not in the sample years "
                                 f"{sample_years}")
    event = [y for y in sample_years if y != ref]
    A = np.column_stack([(yr == y).astype(float) for y in event]) if event else np.zeros((len(yr), 0))
    return _LinearDesign(frame, outcome, dose, [f"{dose}_x_{y}" for y in event], A, clusters,
                         ssc, "event study (two-way FE)",
                         {"outcome": outcome, "dose": dose, "years": years, "ref": ref,
                          "exclude_years": list(exclude_years)}, EventStudyResults)


def event_study(data: pd.DataFrame, outcome: str, dose: str, *, years: Iterable[int] = range(2014, 2024),
                ref: int = 2018, exclude_years: Iterable[int] = (), regions: Iterable[str] | None = None,
                clusters: Any = None, ssc: str = "stata") -> EventStudyResults:
    """Linear event study: ``outcome`` on ``dose`` x year dummies (``ref`` omitted) with
    province and year fixed effects, cluster-robust by province (see the module docstring).

    The sample is the ``years`` window (default 2014-2023) minus ``exclude_years``, the
    observations with ``outcome`` and ``dose`` present. ``dose`` is the province's
    time-invariant dose (e.g. ``phase1_dose``)."""
    return _event_design(data, outcome, dose, years=years, ref=ref, exclude_years=exclude_years,
                         regions=regions, clusters=clusters, ssc=ssc).fit()


def _check_time_invariant(frame: pd.DataFrame, dose: str) -> None:
    # max - min of the dose within each province (NaN skipped), provinces in sorted order;
    # numpy ufunc.at on the index's codes instead of a pandas groupby (this runs once per
    # randomization draw)
    codes = np.asarray(frame.index.codes[0])        # -1: a missing province, left out
    provinces = frame.index.levels[0]
    values = frame[dose].to_numpy(float)[codes >= 0]
    codes = codes[codes >= 0]
    hi = np.full(len(provinces), -np.inf)
    lo = np.full(len(provinces), np.inf)
    np.fmax.at(hi, codes, values)
    np.fmin.at(lo, codes, values)
    bad = sorted(provinces[(hi - lo) > 1e-12 * max(1.0, float(frame[dose].abs().max()))])
    if len(bad):
        raise SpecificationError(f"the dose {dose!r} must be constant within a province; it "
                                 f"varies in {bad}")


def _post(frame: pd.DataFrame, post_years: Iterable[int] | None, post_year: int) -> np.ndarray:
    yr = frame.index.get_level_values(1).astype(int).to_numpy()
    if post_years is not None:
        return np.isin(yr, list(post_years)).astype(float)
    return (yr >= post_year).astype(float)


def _did_design(data: pd.DataFrame, outcome: str, dose: str, *, post_year: int = 2019,
                post_years: Iterable[int] | None = None,
                years: Iterable[int] | None = range(2014, 2024), exclude_years: Iterable[int] = (),
                regions: Iterable[str] | None = None, clusters: Any = None,
                ssc: str = "stata") -> _LinearDesign:
    years = None if years is None else list(years)
    frame = _sample(data, [outcome, dose], years, exclude_years, regions)
    _check_time_invariant(frame, dose)
    post = _post(frame, post_years, post_year)
    if post.min() == post.max():
        raise EstimationError("no pre- or no post-reform years in the sample")
    return _LinearDesign(frame, outcome, dose, [f"{dose}_x_post"], post[:, None], clusters, ssc,
                         "dose-response DiD (two-way FE)",
                         {"outcome": outcome, "dose": dose, "post_year": post_year,
                          "post_years": None if post_years is None else list(post_years),
                          "years": years, "exclude_years": list(exclude_years)}, ReformResults)


def did(data: pd.DataFrame, outcome: str, dose: str, *, post_year: int = 2019,
        post_years: Iterable[int] | None = None, years: Iterable[int] | None = range(2014, 2024),
        exclude_years: Iterable[int] = (), regions: Iterable[str] | None = None,
        clusters: Any = None, ssc: str = "stata") -> ReformResults:
    """Dose-response DiD: ``outcome`` on ``dose`` x post with province and year effects.
    post = year >= ``post_year`` (or year in ``post_years``). The coefficient is named
    ``<dose>_x_post``."""
    return _did_design(data, outcome, dose, post_year=post_year, post_years=post_years,
                       years=years, exclude_years=exclude_years, regions=regions,
                       clusters=clusters, ssc=ssc).fit()


def iv2sls(data: pd.DataFrame, outcome: str, endog: str, dose: str, *, post_year: int = 2019,
           post_years: Iterable[int] | None = None, years: Iterable[int] | None = range(2014, 2024),
           exclude_years: Iterable[int] = (), regions: Iterable[str] | None = None,
           clusters: Any = None, ssc: str = "stata") -> IVResults:
    """2SLS of ``outcome`` on ``endog`` instrumented by ``dose`` x post, province and year
    effects; first-stage KP/effective F and the Anderson-Rubin set (module docstring)."""
    years = None if years is None else list(years)
    frame = _sample(data, [outcome, endog, dose], years, exclude_years, regions)
    _check_time_invariant(frame, dose)
    post = _post(frame, post_years, post_year)
    if post.min() == post.max():
        raise EstimationError("no pre- or no post-reform years in the sample: the instrument "
                              "dose x post has no first stage")
    ent, _ = _codes(frame.index.get_level_values(0))
    clu, G = _clusters(frame, clusters)
    D, _ = _year_dummies(frame.index.get_level_values(1).to_numpy())
    z = _within(frame[dose].to_numpy() * post, ent)
    x = _within(frame[endog].to_numpy(float), ent)
    y = _within(frame[outcome].to_numpy(float), ent)
    W = _within(D, ent)
    N = len(y)
    iname = f"{dose}_x_post"
    # first stage and reduced form: x, y on [z, W]
    Zf = np.column_stack([z, W])
    if np.linalg.matrix_rank(Zf) < Zf.shape[1] or np.allclose(z, 0):
        raise EstimationError(f"the instrument {iname} has no variation left after the province "
                              "and year effects: no first stage")
    A = np.linalg.inv(Zf.T @ Zf)
    pi = A @ Zf.T @ x
    rho = A @ Zf.T @ y
    vx, vy = x - Zf @ pi, y - Zf @ rho
    K_fs = Zf.shape[1] + 1
    c_fs = _factor(ssc, G, N, K_fs)
    S = np.column_stack([(Zf * vy[:, None]) @ A[:, 0], (Zf * vx[:, None]) @ A[:, 0]])
    Vab = c_fs * _meat(S, clu, G)  # cov of (rho_z, pi_z)
    var_pi = Vab[1, 1]
    kp_f = float(pi[0] ** 2 / var_pi)
    zz = float(z @ (z - W @ np.linalg.lstsq(W, z, rcond=None)[0]))  # Z'Z after partialling W
    eff_f = float(pi[0] * zz * pi[0] / (var_pi * zz))
    # 2SLS: X = [x, W], instruments [z, W]
    X = np.column_stack([x, W])
    Xhat = Zf @ (A @ Zf.T @ X)
    B = np.linalg.inv(Xhat.T @ X)
    beta = B @ Xhat.T @ y
    u = y - X @ beta
    K = X.shape[1] + 1
    c = _factor(ssc, G, N, K)
    Binv = np.linalg.inv(Xhat.T @ Xhat)
    cov = c * Binv @ _meat(Xhat * u[:, None], clu, G) @ Binv
    res = IVResults(pd.Series([beta[0]], index=[endog]),
                    pd.DataFrame([[cov[0, 0]]], index=[endog], columns=[endog]),
                    nobs=N, G=G, factor=c, K=K, ssc=ssc, model="2SLS (two-way FE)",
                    spec={"outcome": outcome, "endog": endog, "instrument": iname,
                          "post_year": post_year,
                          "post_years": None if post_years is None else list(post_years),
                          "years": years, "exclude_years": list(exclude_years)})
    res.first_stage = FirstStage(pd.Series([pi[0]], index=[iname]),
                                 pd.DataFrame([[var_pi]], index=[iname], columns=[iname]),
                                 kp_f, eff_f, (1, G - 1))
    res.reduced_form = {"param": iname, "estimate": float(rho[0]),
                        "std_error": float(math.sqrt(Vab[0, 0]))}
    res._ar_inputs = {"a": float(rho[0]), "b": float(pi[0]), "V": Vab}
    return res


# ----------------------------------------------------------------------------- PPML

def ppml_event_study(data: pd.DataFrame, outcome: str, dose: str, *,
                     years: Iterable[int] = range(2014, 2022), ref: int = 2018,
                     exclude_years: Iterable[int] = (), regions: Iterable[str] | None = None,
                     clusters: Any = None, ssc: str = "g", tol: float = 1e-12,
                     maxiter: int = 200) -> EventStudyResults:
    """Poisson (PPML) event study with province and year dummies (Stata ``ppmlhdfe``; R
    ``fixest::fepois``); counts to 2021 by default. Provinces whose counts are all zero
    in the sample carry no information (their effect is -inf) and are dropped, as
    ppmlhdfe/fepois do. Covariance: cluster-robust sandwich H^-1 (sum_g s_g s_g') H^-1
    with factor G/(G-1) (``ssc="g"``, Stata after ML) or 1 (``"cr0"``); t(G-1)."""
    years = list(years)
    frame = _sample(data, [outcome, dose], years, exclude_years, regions)
    _check_time_invariant(frame, dose)
    y = frame[outcome].to_numpy(float)
    if (y < 0).any():
        raise SpecificationError(f"{outcome!r} has negative values: Poisson needs counts >= 0")
    zero = frame[outcome].groupby(level=0).transform("sum").to_numpy() == 0
    if zero.any():
        dropped = sorted(set(frame.index.get_level_values(0)[zero]))
        warnings.warn(f"PPML: dropped provinces with only zero counts: {dropped}", stacklevel=2)
        frame = frame[~zero]
        y = y[~zero]
    terms = _event_terms(frame, dose, ref)
    names = list(terms)
    ent, n_e = _codes(frame.index.get_level_values(0))
    E = np.zeros((len(y), n_e))
    E[np.arange(len(y)), ent] = 1.0
    D, _ = _year_dummies(frame.index.get_level_values(1).to_numpy())
    X = np.column_stack([terms[n] for n in names] + [D, E])
    # Newton-Raphson with step halving on the Poisson log likelihood
    beta = np.zeros(X.shape[1])
    beta[-n_e:] = np.log(np.maximum(frame[outcome].groupby(level=0).transform("mean").to_numpy(), 1e-10)
                         ) @ E / np.bincount(ent)
    def llf(b):
        eta = X @ b
        return float(np.sum(y * eta - np.exp(eta)))
    ll = llf(beta)
    for _ in range(maxiter):
        mu = np.exp(X @ beta)
        grad = X.T @ (y - mu)
        H = (X * mu[:, None]).T @ X
        step = np.linalg.solve(H, grad)
        t = 1.0
        while True:
            cand = beta + t * step
            lc = llf(cand)
            if lc >= ll - 1e-12 * abs(ll) or t < 1e-8:
                break
            t /= 2
        beta, ll_old, ll = cand, ll, lc
        if np.max(np.abs(t * step)) < tol or abs(ll - ll_old) < tol * (1 + abs(ll)):
            break
    else:
        raise EstimationError("PPML did not converge")
    mu = np.exp(X @ beta)
    H = (X * mu[:, None]).T @ X
    Hinv = np.linalg.inv(H)
    clu, G = _clusters(frame, clusters)
    c = _factor(ssc, G, len(y), X.shape[1])
    cov = c * Hinv @ _meat(X * (y - mu)[:, None], clu, G) @ Hinv
    k = len(names)
    res = EventStudyResults(pd.Series(beta[:k], index=names),
                            pd.DataFrame(cov[:k, :k], index=names, columns=names), nobs=len(y),
                            G=G, factor=c, K=X.shape[1], ssc=ssc,
                            model="event study (PPML, province and year dummies)",
                            spec={"outcome": outcome, "dose": dose, "years": years, "ref": ref,
                                  "exclude_years": list(exclude_years)})
    res.llf = ll

    def refit():
        cols = names + [f"year_{j}" for j in range(D.shape[1])] + [f"province_{j}" for j in range(n_e)]
        exog = pd.DataFrame(X, columns=cols)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return Poisson(pd.Series(y, name=outcome), exog).fit(
                start_params=beta, method="newton", disp=0, maxiter=100, cov_type="cluster",
                cov_kwds={"groups": clu})
    res._panelols = refit
    return res
