r"""The two-stage chain's estimator (:func:`fit_chain`): a GNB of innovation, OLS of growth on
the innovation it predicts, and a province bootstrap over both stages. The chain analysis that
reads it from the spec file and writes its table is :mod:`regrowth.analyses.chain`.

Stage 1 (innovation) is a GNB column of the table (in the replication, Table 1's main model,
Stata ``gnbreg``: fintech patent applications on lagged 재정자립도 and the RIS inputs, with year
effects, 16 provinces, 2015-2021). Its fitted mean mu_hat_it is the *predicted innovation* of
province i in year t.

Stage 2 (growth) regresses growth on predicted innovation lagged one year::

    g_it = c + d_t + a * fsr_{i,t-1} + gamma * I_hat_{i,t-1} + b * ln y_{i,t-1} + p * popgrowth_it + e_it

with ``I_hat`` one of

* ``"ln_counts_pm"`` (default): ln(mu_hat_it / population_it * 1e6), log predicted applications
  per million residents -- the predicted analogue of ``ln1p_patents_fintech_pm_l1``;
* ``"index"``: the GNB's linear index x_it'b_hat = ln mu_hat_it (scale included);
* ``"observed"``: the observed measure named by ``observed`` (in the replication
  ``ln1p_patents_fintech_pm``; no stage 1: the naive comparison).

Fitted by OLS with year dummies (``year_effects``) and optionally province dummies
(``province_effects``). Because gamma multiplies ln mu_hat and d ln mu / d fsr = b_fsr, the
*indirect effect* of one percentage point of 재정자립도 (two years earlier) on growth through
innovation is b_fsr * gamma (percentage points of growth per point of 재정자립도), reported as
term ``indirect_term`` (in the replication ``indirect_fsr``).

Sample and growth measure (the replication's stage-2 block, and why). Real per-capita GRDP growth
(``grdp_pc_real_growth``) ends in 2017 and stage 1 can predict innovation only for 2015-2021 (its
regressors and year effects), so real growth would leave growth years 2016-2017: 32
observations. The default therefore uses **nominal** per-capita GRDP growth
(``grdp_pc_nominal_growth``, to 2021) with **year effects**: the panel has no regional
deflator after 2017, and a common national deflator enters nominal growth as a year-specific
shift (to first order, 100[(1+g)(1+pi_t) - 1] ~ 100 g + 100 pi_t), which the year dummies
absorb exactly as deflating every province by the national GDP deflator would. What the year
effects cannot remove is differences in regional price changes. Nominal GRDP ends in 2021,
so the growth years are 2016-2021 (innovation predicted for 2015-2020): 16 provinces
(Sejong excluded, as in both stages' main specifications) x 6 years = 96 observations. The
Chungnam/Sejong break (2012-13) lies outside this window.

Inference. The stage-2 regressor is estimated, so its analytic standard errors (reported as
``std_error_naive``: province-clustered CR1, G/(G-1)(N-1)/(N-K), ignoring stage 1) are too
small. ``std_error`` and the percentile interval come from a **province cluster bootstrap over
both stages**: draw 16 provinces with replacement (a province drawn twice enters twice, as two
clusters), refit the GNB on the drawn provinces' stage-1 rows, predict their innovation, refit
stage 2 on their stage-2 rows. Poisson boundary: in draws without Seoul the capital-region
dispersion ln(alpha) runs to minus infinity (the drawn capital-region provinces are Poisson, no
finite maximum; ``regrowth.models.gnb`` stops at ln alpha_i < -20 and flags ``boundary``). The
mean coefficients at that point are those of the limiting model (alpha_i mu_i < 1e-5), so such
draws are kept and counted (``sample["reps_boundary"]``): dropping them would condition the
bootstrap on Seoul being drawn. By default the draws are stratified by ``capital_region`` (3
capital-region provinces drawn from the 3, 13 others from the 13): an unstratified draw without
a capital-region province cannot identify the GNB's capital-region dispersion term, and
dropping such draws would condition the bootstrap on the design. Draws are made up front
from ``numpy.random.default_rng(seed)``, so a seed and a number of replications (``reps``)
fix the result. A draw whose GNB fails to converge, or whose stage-2 design is singular, is
skipped and counted (``reps_failed``).

Speed: all draws at once (``fit_chain(method="batch")``, the default). A draw that takes
province p w_p times is the full sample with frequency weight w_p on p's rows, so the 999
draws are 999 weight vectors over one model's rows. Stage 1: every draw's GNB is maximised at
once by :mod:`regrowth.models.gnb_draws`, the package's safeguarded Newton step for step, from
the draw's own default start (a weighted Poisson fit and a moment alpha, as a refit of the
stacked rows would begin), to the full fit's convergence rule (Newton decrement below 1e-12
at a negative-definite Hessian, then one polishing step) within its 100 steps, stopping at
the same Poisson boundary. Stage 2: every draw's OLS at once, by the SVD of the weighted
design (rank: smallest singular value above 1e3 times numpy's rank threshold of the stacked
design). A draw the batch cannot settle (not converged in 100 steps, a stalled line search, a
design within 100x of the full fit's collinearity threshold, mean coefficients diverging, a
stage-2 design near singular) is refitted draw by draw exactly as ``method="refit"`` does,
which then decides; these are counted in ``sample["reps_refit"]`` and the table's note. The
draws are fitted in chunks of ``CHUNK`` (the same on every backend; ``executor`` spreads them
over processes or Dask), each in one BLAS thread, so the output is the same bytes however the
chunks run. On the replication's 999 draws the batch and the draw-by-draw refits agree to
2e-8 per draw and 1e-11 in the SEs and interval ends (same 258 boundary draws, no failure, 0
draws refitted one by one), and the batch took 3.1 s against 70.3 s for the refits (22.8
times faster, measured in one run at a load average of 6.6 on the 2-core machine; 5.2 s
against 80.9 s at 9.5): ``benchmarks/bench_chain.py``.

Why not warm starts from the full-sample estimates. The bootstrap likelihoods are
multimodal: started from the full-sample estimates, 117 of the replication's 939 draws (both
usable) end at a different local maximum, or a different Poisson boundary, than a refit from the
draw's own start, neither consistently higher; over those 939 draws the percentile interval
of the stage-1 재정자립도 coefficient moves from [-0.020, 0.030] to [-0.019, 0.026]. A warm start would change what the
bootstrap estimates, so the batch keeps each refit's own start (about 11 Newton steps a draw,
against 6 warm) and is fast because the steps are batched, not because they are fewer.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from regrowth.errors import EstimationError, SpecificationError
from regrowth.fit import estimation_sample
from regrowth.models.covariance import cluster_meat, sandwich, stata_linear_factor
from regrowth.models.gnb import GeneralizedNegativeBinomial
from regrowth.models.gnb_draws import STATUS, fit_weighted
from regrowth.progress import Progress, backend_label
from regrowth.specs import ColumnSpec
from regrowth.threads import one_blas_thread

__all__ = ["INNOVATION_MEASURES", "INNOVATION_TERM", "ChainSettings", "ChainResult", "fit_chain"]

INNOVATION_MEASURES = ("ln_counts_pm", "index", "observed")
INNOVATION_TERM = "innovation_hat_l1"
METHODS = ("batch", "refit")
CHUNK = 500  # draws per stage-1 batch: the same chunks on every backend (same bytes)
MAXITER = 100  # Newton steps of a batched draw: the full fit's own limit
RANK_MARGIN = 1e3  # stage-2 batch: smallest singular value above 1e3 x numpy's rank threshold


@dataclass(frozen=True)
class ChainSettings:
    """The chain of one table (``[table.analyses.chain]``): stage 1 (a GNB column), stage 2
    (outcome, controls, growth years, excluded provinces, 0/1 flags whose rows are dropped,
    dummies), the bootstrap (draws, seed, a province-level stratum), the innovation measure
    and the names the indirect effect needs; ``output``, ``title``, ``stage_titles`` and
    ``notes`` are what the written table says."""

    stage1: ColumnSpec
    outcome: str
    controls: tuple[str, ...]
    years: tuple[int, int]
    exclude: tuple[str, ...] = ()
    drop_if: tuple[str, ...] = ()
    year_effects: bool = True
    province_effects: bool = False
    reps: int = 999
    seed: int = 20181121
    strata: str | None = None
    innovation: str = "ln_counts_pm"
    decentralization: str | None = None
    population: str = "population"
    observed: str | None = None
    indirect_term: str = "indirect"
    output: str = "chain_two_stage"
    title: str = "The two-stage chain"
    stage_titles: dict = field(default_factory=dict, hash=False, compare=False)
    notes: tuple[str, ...] = ()


@dataclass
class ChainResult:
    """The two-stage chain: tidy rows, both stages' point estimates and the bootstrap draws.

    ``table`` columns: ``stage`` (innovation | growth | chain), ``term``, ``estimate``,
    ``std_error`` (bootstrap sd), ``ci_low``/``ci_high`` (bootstrap percentile, level
    ``1 - alpha``), ``std_error_naive`` (the stage's own analytic SE: GNB province-clustered in
    stage 1, OLS province-clustered CR1 in stage 2, ignoring that stage 2's regressor is
    estimated), ``p_value_naive``. Units: stage 1 in log points of expected applications per unit
    of the regressor; stage 2 in percentage points of growth per unit; the indirect effect in
    percentage points of growth per unit of the decentralization term.
    """

    table: pd.DataFrame
    stage1: object
    stage2_params: pd.Series
    draws: pd.DataFrame
    reps: int
    reps_failed: int
    seed: int
    innovation: str
    sample: dict = field(default_factory=dict)
    settings: ChainSettings | None = None

    def __repr__(self) -> str:
        return (f"ChainResult(innovation={self.innovation!r}, reps={self.reps}, "
                f"failed={self.reps_failed}, seed={self.seed}, n2={self.sample.get('nobs')})")


# ----------------------------------------------------------------------------- stage 1

def _mean_design(spec, frame: pd.DataFrame, years: list[int]) -> pd.DataFrame:
    X = pd.concat([pd.DataFrame({"Intercept": 1.0}, index=frame.index),
                   frame[list(spec.regressors)].astype(float)], axis=1)
    if spec.year_effects:
        t = frame.index.get_level_values("year")
        for yr in years[1:]:
            X[f"year_{yr}"] = (t == yr).astype(float)
    return X


def _fit_stage1(spec, data: pd.DataFrame, groups, years, cov_type="cluster"):
    X = _mean_design(spec, data, years)
    Z = pd.concat([pd.DataFrame({"Intercept": 1.0}, index=data.index),
                   data[list(spec.dispersion)].astype(float)], axis=1)
    y = data[spec.outcome].astype(float)
    expo = data[spec.exposure].astype(float) if spec.exposure else None
    model = GeneralizedNegativeBinomial(y, X, Z, exposure=expo, groups=groups)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(cov_type=cov_type)


def _index(spec, beta: pd.Series, rows: pd.DataFrame, years) -> pd.Series:
    """x'b (plus ln exposure) for ``rows`` whose regressors are observed."""
    X = _mean_design(spec, rows, years)
    eta = X[beta.index].to_numpy() @ beta.to_numpy()
    if spec.exposure:
        eta = eta + np.log(rows[spec.exposure].astype(float).to_numpy())
    return pd.Series(eta, index=rows.index)


# ----------------------------------------------------------------------------- stage 2

def _ols_cluster(y: np.ndarray, X: np.ndarray, clusters: np.ndarray):
    """OLS with CR1 province-clustered covariance (Stata regress, vce(cluster))."""
    b, *_ = np.linalg.lstsq(X, y, rcond=None)
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise np.linalg.LinAlgError("stage-2 design is singular")
    u = y - X @ b
    meat, G = cluster_meat(X * u[:, None], clusters)
    n, k = X.shape
    return b, sandwich(np.linalg.inv(X.T @ X), meat, stata_linear_factor(G, n, k))


def _design2(frame: pd.DataFrame, regs: list[str], year_effects: bool, province_effects: bool,
             entity: np.ndarray):
    X = pd.concat([pd.DataFrame({"Intercept": 1.0}, index=frame.index), frame[regs]], axis=1)
    if year_effects:
        t = frame.index.get_level_values("year").to_numpy()
        for yr in sorted(set(t))[1:]:
            X[f"year_{yr}"] = (t == yr).astype(float)
    if province_effects:
        for e in sorted(set(entity))[1:]:
            X[f"province[{e}]"] = (entity == e).astype(float)
    return X


@dataclass
class _Stage2Data:
    """Stage-2 rows and, for each, the stage-1 variables one year earlier."""

    data: pd.DataFrame
    lagged: pd.DataFrame
    lag_index: pd.MultiIndex
    regressors: list[str]
    entity: np.ndarray


def _stage2_data(panel: pd.DataFrame, s: ChainSettings, years1, provinces) -> _Stage2Data:
    """Growth years, provinces and flags of stage 2, with every stage-2 variable observed at t
    and the stage-1 regressors observed at t-1 (so that innovation can be predicted there)."""
    spec = s.stage1
    reg_all = panel.index.get_level_values("region")
    yr_all = panel.index.get_level_values("year")
    keep = (yr_all >= s.years[0]) & (yr_all <= s.years[1]) & ~reg_all.isin(list(s.exclude))
    for flag in s.drop_if:
        keep &= panel[flag].to_numpy() != 1
    data2 = panel.loc[keep, [s.outcome, *s.controls]].astype(float)
    lag_index = pd.MultiIndex.from_arrays([data2.index.get_level_values("region"),
                                           data2.index.get_level_values("year") - 1],
                                          names=["region", "year"])
    if s.innovation == "observed":
        lagged = panel.reindex(lag_index)[[s.observed]].astype(float)
    else:
        need = [*spec.regressors, *([spec.exposure] if spec.exposure else [])]
        if s.innovation == "ln_counts_pm":
            need.append(s.population)
        lagged = panel.reindex(lag_index)[list(dict.fromkeys(need))].astype(float)
        lagged = lagged[lag_index.get_level_values("year").isin(years1).astype(bool)] \
            .reindex(lag_index)
    ok = data2.notna().all(axis=1).to_numpy() & lagged.notna().all(axis=1).to_numpy()
    if s.innovation != "observed":
        ok &= data2.index.get_level_values("region").isin(provinces)
    data2, lagged = data2[ok], lagged[ok]
    lagged.index = data2.index
    if data2.empty:
        raise SpecificationError(f"no stage-2 observations in {s.years[0]}-{s.years[1]} with "
                                 f"{s.outcome}, {', '.join(s.controls)} and innovation at t-1 "
                                 "observed")
    # stage-2 regressors: the controls with innovation after the decentralization term (first
    # if it is absent)
    regs2 = list(s.controls)
    regs2.insert(1 if s.decentralization in s.controls else 0, INNOVATION_TERM)
    return _Stage2Data(data2, lagged, lag_index[ok], regs2,
                       data2.index.get_level_values("region").to_numpy())


def _innovation_values(s: ChainSettings, d2: _Stage2Data, stage1_params, years1) -> np.ndarray:
    if s.innovation == "observed":
        return d2.lagged[s.observed].to_numpy()
    mean = stage1_params[[n for n in stage1_params.index if not str(n).startswith("lnalpha:")]]
    eta = _index(s.stage1, mean, d2.lagged.set_axis(d2.lag_index), years1).to_numpy()
    if s.innovation == "index":
        return eta
    return eta - np.log(d2.lagged[s.population].to_numpy()) + np.log(1e6)


def _stage2(s: ChainSettings, d2: _Stage2Data, frame, innov, entity, clusters):
    f = frame.copy()
    f[INNOVATION_TERM] = innov
    X = _design2(f, d2.regressors, s.year_effects, s.province_effects, entity)
    b, cov = _ols_cluster(f[s.outcome].to_numpy(), X.to_numpy(), clusters)
    return pd.Series(b, index=X.columns), pd.DataFrame(cov, index=X.columns, columns=X.columns)


def _estimates(s: ChainSettings, d2: _Stage2Data, p1, b2) -> dict:
    """{(stage, term): estimate} of one fit (the point estimates or one draw)."""
    out = {}
    if p1 is not None:
        for term in s.stage1.regressors:
            out[("innovation", term)] = float(p1[term])
    for term in d2.regressors:
        out[("growth", term)] = float(b2[term])
    if p1 is not None and s.decentralization in p1.index:
        out[("chain", s.indirect_term)] = float(p1[s.decentralization] * b2[INNOVATION_TERM])
    return out


# ----------------------------------------------------------------------------- bootstrap

def _draw_units(panel, s: ChainSettings, units: list[str], rng) -> list[np.ndarray]:
    if s.strata is None:
        layers = [np.arange(len(units))]
    else:
        level = panel[s.strata].groupby(level="region").first()
        codes = np.array([level[u] for u in units])
        layers = [np.flatnonzero(codes == v) for v in sorted(set(codes))]
    return [np.concatenate([layer[rng.integers(0, len(layer), size=len(layer))]
                            for layer in layers]) for _ in range(s.reps)]


def _units(s: ChainSettings, d2: _Stage2Data, provinces) -> list[str]:
    return list(provinces) if s.innovation != "observed" else sorted(set(d2.entity))


def _check_can_vary(panel, s: ChainSettings, units: list[str]) -> None:
    """Refuse a bootstrap whose every draw reproduces the sample (each stratum one province)."""
    if s.reps == 0:
        return
    where = f"{s.stage1.name.split('/')[0]}: analyses.chain"
    if s.strata is None:
        sizes = {"all provinces": len(units)}
    else:
        level = panel[s.strata].groupby(level="region").first()
        sizes = {}
        for u in units:
            sizes[level[u]] = sizes.get(level[u], 0) + 1
    if all(n == 1 for n in sizes.values()):
        how = (f"strata = {s.strata!r} puts each of the {len(units)} province(s) "
               f"({', '.join(units)}) in a stratum of its own" if s.strata is not None
               else f"there is {len(units)} province to draw ({', '.join(units)})")
        raise SpecificationError(
            f"{where}.reps = {s.reps}: the province bootstrap cannot vary: {how}, so every "
            "draw reproduces the sample and would report a bootstrap SE of 0 and a zero-width "
            "interval. Use more provinces (analyses.chain.stage2.exclude and the stage-1 "
            "column's sample), drop analyses.chain.strata, or set reps = 0 (point estimates "
            "and naive SEs only).")


def _check_draws(s: ChainSettings, draws: pd.DataFrame, point: dict, reasons: dict) -> None:
    """Refuse a bootstrap whose usable draws cannot give an SE or interval: fewer than two
    (none, for ``reps = 1``), or all equal to one another (to 1e-9 of the point estimate's
    size: e.g. two provinces, where only the draw of both is of full rank)."""
    if s.reps == 0:
        return
    where = f"{s.stage1.name.split('/')[0]}: analyses.chain.reps = {s.reps}"
    why = "; ".join(f"{k}: {v}" for k, v in sorted(reasons.items())) or "none failed"
    if len(draws) < min(2, s.reps):
        raise EstimationError(
            f"{where}: {len(draws)} of {s.reps} draws could be fitted ({why}), too few for a "
            "bootstrap SE and interval. Use more provinces or set reps = 0.")
    scale = np.maximum(1.0, np.abs(np.array([point[c] for c in draws.columns])))
    spread = (draws.max() - draws.min()).to_numpy()
    if len(draws) >= 2 and np.all(spread <= 1e-9 * scale):
        raise EstimationError(
            f"{where}: the {len(draws)} usable draws all give the same estimates (draws "
            f"that failed: {why}), so the bootstrap SE would be 0 and the "
            "interval of zero width: with these provinces the bootstrap cannot vary. Use more "
            "provinces (analyses.chain.stage2.exclude and the stage-1 column's sample) or set "
            "reps = 0.")


def _refit_draw(s: ChainSettings, d2: _Stage2Data, rows1: dict, pos2: dict, units, draw, years1):
    """One draw by full refits (stacked rows, a cold GNB fit, stage-2 OLS): the reference.
    Returns ``(estimates or None, "ok" | "boundary" | "failed", reason)``."""
    chosen = [units[j] for j in draw]
    labels1, labels2, parts1, idx2 = [], [], [], []
    for k, p in enumerate(chosen):
        tag = f"{p}#{k}"
        if s.innovation != "observed":
            parts1.append(rows1[p])
            labels1 += [tag] * len(rows1[p])
        idx2.append(pos2[p])
        labels2 += [tag] * len(pos2[p])
    kind = "ok"
    try:
        p1 = None
        if s.innovation != "observed":
            r1 = _fit_stage1(s.stage1, pd.concat(parts1), np.asarray(labels1), years1,
                             cov_type="nonrobust")
            if r1.mle_retvals.get("boundary"):
                kind = "boundary"  # usable: see "Poisson boundary" in the module docstring
            elif not r1.converged:
                return None, "failed", "stage-1 GNB did not converge"
            p1 = pd.Series(np.asarray(r1.params), index=r1.params.index)
        innov = _innovation_values(s, d2, p1, years1)
        sel = np.concatenate(idx2)
        lab = np.asarray(labels2)
        bb, _ = _stage2(s, d2, d2.data.iloc[sel], innov[sel], lab, lab)
    except (np.linalg.LinAlgError, ValueError, RuntimeError) as exc:
        return None, "failed", (f"{type(exc).__name__}: "
                                f"{str(exc).splitlines()[0][:80] if str(exc) else ''}")
    return _estimates(s, d2, p1, bb), kind, None


def _fit_chunk(model, weights):
    """Stage-1 GNB refits of one chunk of draws (frequency weights), in one BLAS thread."""
    with one_blas_thread():
        return fit_weighted(model, None, weights, maxiter=MAXITER)


def _stage2_draws(s: ChainSettings, d2: _Stage2Data, innov: np.ndarray, W2: np.ndarray):
    """Stage-2 OLS of every draw at once: rows of ``innov`` (B, n2) are the draws' innovation
    values, rows of ``W2`` (B, n2) their frequency weights. Returns ``(b, ok)``: (B, k2) the
    coefficients of ``d2.regressors`` and (B,) whether the stacked design is clearly of full
    rank (a draw that is not goes to the full refit, which decides)."""
    f = d2.data.copy()
    f[INNOVATION_TERM] = 0.0
    X = _design2(f, d2.regressors, s.year_effects, False, d2.entity)
    y = f[s.outcome].to_numpy()
    cols = list(X.columns)
    X = X.to_numpy()
    j = cols.index(INNOVATION_TERM)
    Xb = np.repeat(X[None], innov.shape[0], axis=0)
    Xb[:, :, j] = innov
    if s.province_effects:
        # province dummies: within-province demeaning (weights are constant within a province,
        # so the weighted and unweighted province means agree; FWL gives the same slopes)
        codes, uniq = pd.factorize(d2.entity)
        M = (codes[:, None] == codes[None, :]).astype(float)
        M /= M.sum(axis=1, keepdims=True)
        keep = [c for c in range(len(cols)) if cols[c] != "Intercept"]
        Xb = Xb[:, :, keep] - np.einsum("nm,bmk->bnk", M, Xb[:, :, keep])
        y = y - M @ y
        cols = [cols[c] for c in keep]
    sw = np.sqrt(W2)
    A = Xb * sw[:, :, None]
    U, S, Vt = np.linalg.svd(A, full_matrices=False)
    m = np.maximum(W2.sum(axis=1), A.shape[2])
    ok = S[:, -1] > RANK_MARGIN * S[:, 0] * m * np.finfo(float).eps
    Sd = np.where(ok[:, None], S, 1.0)
    b = np.einsum("bji,bj->bi", Vt, np.einsum("bnj,bn->bj", U, sw * y) / Sd)
    return b[:, [cols.index(t) for t in d2.regressors]], ok


def _bootstrap(panel, s: ChainSettings, d2: _Stage2Data, data1, provinces, years1, stage1,
               method: str, executor):
    """Province draws over both stages; returns (records, failed, boundary, reasons, refits).
    ``method="refit"``: every draw refitted in full (:func:`_refit_draw`); ``"batch"``: all
    draws at once (:mod:`regrowth.models.gnb_draws` and :func:`_stage2_draws`), the draws the
    batch cannot settle refitted in full and counted in ``refits``."""
    rng = np.random.default_rng(s.seed)
    units = _units(s, d2, provinces)
    draws_idx = _draw_units(panel, s, units, rng)
    rows1 = {p: data1.xs(p, level="region", drop_level=False) for p in provinces} \
        if s.innovation != "observed" else {}
    pos2 = {p: np.flatnonzero(d2.entity == p) for p in units}
    records, failed, boundary, reasons = [], 0, 0, {}
    B = len(draws_idx)
    todo = list(range(B))
    done: dict[int, tuple] = {}
    if method == "batch" and B:
        Wu = np.stack([np.bincount(d, minlength=len(units)) for d in draws_idx]).astype(float)
        W2 = Wu[:, np.searchsorted(units, d2.entity)]
        usable = np.ones(B, dtype=bool)
        kinds = np.array(["ok"] * B, dtype=object)
        if s.innovation != "observed":
            model = stage1.model
            reg1 = data1.index.get_level_values("region").to_numpy()[model.row_mask]
            W1 = Wu[:, np.searchsorted(units, reg1)]
            chunks = [W1[i:i + CHUNK] for i in range(0, B, CHUNK)]
            done_chunks = (executor.imap(_fit_chunk, chunks, model) if executor is not None
                           else (_fit_chunk(model, c) for c in chunks))
            out = []
            with Progress(B, "chain bootstrap (stage 1, batched Newton)", "draws",
                          where=backend_label(executor)) as bar:
                for o in done_chunks:
                    out.append(o)
                    bar.update(len(o[0]))
            P = np.concatenate([o[0] for o in out])
            status = np.concatenate([o[1] for o in out])
            usable = status != STATUS.index("refit")
            kinds[status == STATUS.index("boundary")] = "boundary"
            names = list(stage1.params.index)
            mean = [n for n in names if not str(n).startswith("lnalpha:")]
            Xlag = _mean_design(s.stage1, d2.lagged.set_axis(d2.lag_index), years1)[mean]
            innov = np.zeros((B, len(d2.data)))
            innov[usable] = P[usable][:, [names.index(n) for n in mean]] @ Xlag.to_numpy().T
            if s.stage1.exposure:
                innov += np.log(d2.lagged[s.stage1.exposure].astype(float).to_numpy())
            if s.innovation == "ln_counts_pm":
                innov += -np.log(d2.lagged[s.population].to_numpy()) + np.log(1e6)
        else:
            P = None
            innov = np.repeat(d2.lagged[s.observed].to_numpy()[None], B, axis=0)
        parts = [_stage2_draws(s, d2, innov[i:i + CHUNK], W2[i:i + CHUNK])
                 for i in range(0, B, CHUNK)]  # chunks: memory grows with CHUNK, not reps
        b2 = np.concatenate([q[0] for q in parts])
        ok2 = np.concatenate([q[1] for q in parts])
        usable &= ok2
        todo = [i for i in range(B) if not usable[i]]
        regs1 = list(s.stage1.regressors)
        for i in np.flatnonzero(usable):
            p1 = None if P is None else pd.Series(P[i], index=stage1.params.index)
            rec = {}
            if p1 is not None:
                for term in regs1:
                    rec[("innovation", term)] = float(p1[term])
            for k, term in enumerate(d2.regressors):
                rec[("growth", term)] = float(b2[i, k])
            if p1 is not None and s.decentralization in p1.index:
                rec[("chain", s.indirect_term)] = float(p1[s.decentralization]
                                                        * b2[i, d2.regressors.index(INNOVATION_TERM)])
            done[int(i)] = (rec, kinds[i], None)
    if todo:
        with Progress(len(todo), "chain bootstrap (full refits)", "draws") as bar:
            for i in todo:
                done[i] = _refit_draw(s, d2, rows1, pos2, units, draws_idx[i], years1)
                bar.update()
    for i in range(B):
        rec, kind, why = done[i]
        if rec is None:
            failed += 1
            reasons[why] = reasons.get(why, 0) + 1
            continue
        boundary += kind == "boundary"
        records.append(rec)
    refits = len(todo) if method == "batch" else B
    return records, failed, boundary, reasons, refits


# ----------------------------------------------------------------------------- the chain

def _tidy(point: dict, draws: pd.DataFrame, naive: dict, alpha: float) -> pd.DataFrame:
    rows = []
    nan = float("nan")
    for key, est in point.items():
        col = draws[key] if len(draws) else pd.Series(dtype=float)
        rows.append({
            "stage": key[0], "term": key[1], "estimate": est,
            "std_error": float(col.std(ddof=1)) if len(col) > 1 else nan,
            "ci_low": float(col.quantile(alpha / 2)) if len(col) else nan,
            "ci_high": float(col.quantile(1 - alpha / 2)) if len(col) else nan,
            "std_error_naive": naive.get(key, (nan, nan))[0],
            "p_value_naive": naive.get(key, (nan, nan))[1],
        })
    return pd.DataFrame(rows)


def fit_chain(panel: pd.DataFrame, settings: ChainSettings, *, alpha: float = 0.05,
              method: str = "batch", executor=None) -> ChainResult:
    """Fit the two-stage chain on ``panel`` and bootstrap it by province over both stages.

    ``settings`` (:class:`ChainSettings`; :func:`chain_settings` reads them from the spec file)
    give stage 1 (a GNB column), stage 2, the draws (``reps``; 0: point estimates and naive
    SEs only), the ``seed`` of ``numpy.random.default_rng`` for the province draws, and the
    ``strata`` (a province-level 0/1 or categorical panel column; provinces are drawn with
    replacement *within* its levels, keeping each level's count, so that every draw can
    identify the GNB's dispersion term of that level; None: unstratified). The percentile
    interval is [alpha/2, 1 - alpha/2]. ``method``: ``"batch"`` (default) fits all draws at
    once, ``"refit"`` refits each draw from scratch (the reference; same draws to about 1e-8,
    see "Speed" in the module docstring). ``executor``: an object with
    ``map(fn, items, *shared)`` returning results in item order (a
    :class:`regrowth.curve.backends.Executor`, entered) to spread the batch's chunks over
    processes or Dask; None runs them here. Same bytes either way. A bootstrap that cannot
    vary (every stratum a single province) is refused with a ``SpecificationError`` naming
    ``analyses.chain.reps``. Returns :class:`ChainResult`.
    """
    s = settings
    if s.innovation not in INNOVATION_MEASURES:
        raise SpecificationError(f"innovation={s.innovation!r}; choose one of "
                                 f"{INNOVATION_MEASURES}")
    if s.reps < 0:
        raise SpecificationError("reps must be >= 0")
    if method not in METHODS:
        raise ValueError(f"method={method!r}: choose one of {METHODS}")
    spec = s.stage1
    data1, _ = estimation_sample(spec, panel)
    years1 = sorted(set(data1.index.get_level_values("year")))
    provinces = sorted(set(data1.index.get_level_values("region")))
    d2 = _stage2_data(panel, s, years1, provinces)

    stage1 = s1_params = None
    if s.innovation != "observed":
        stage1 = _fit_stage1(spec, data1, data1.index.get_level_values("region").to_numpy(), years1)
        if not stage1.converged:
            raise SpecificationError(f"{spec.name}: the stage-1 GNB did not converge")
        s1_params = pd.Series(np.asarray(stage1.params), index=stage1.params.index)
    b2, cov2 = _stage2(s, d2, d2.data, _innovation_values(s, d2, s1_params, years1), d2.entity,
                       d2.entity)
    point = _estimates(s, d2, s1_params, b2)
    _check_can_vary(panel, s, _units(s, d2, provinces))
    records, failed, boundary, reasons, refits = _bootstrap(panel, s, d2, data1, provinces,
                                                            years1, stage1, method, executor)
    draws = pd.DataFrame(records, columns=pd.MultiIndex.from_tuples(list(point)))
    _check_draws(s, draws, point, reasons)

    naive = {}
    if stage1 is not None:
        for term in spec.regressors:
            naive[("innovation", term)] = (float(stage1.bse[term]), float(stage1.pvalues[term]))
    se2 = pd.Series(np.sqrt(np.diag(cov2.to_numpy())), index=cov2.index)
    G = len(set(d2.entity))
    for term in d2.regressors:
        t = b2[term] / se2[term]
        naive[("growth", term)] = (float(se2[term]), float(2 * stats.t.sf(abs(t), G - 1)))
    years2 = d2.data.index.get_level_values("year")
    sample = {
        "stage1": f"{spec.name}: {spec.sample.describe()}, {len(data1)} observations, "
                  f"{len(provinces)} provinces" if s.innovation != "observed" else "none",
        "stage2": f"{s.outcome}, {int(years2.min())}-{int(years2.max())}, excluding "
                  f"{', '.join(s.exclude) or 'none'}, dropping {', '.join(s.drop_if) or 'none'}",
        "nobs": len(d2.data), "n_provinces": G,
        "year_effects": s.year_effects, "province_effects": s.province_effects,
        "strata": s.strata, "failures": dict(sorted(reasons.items())),
        "reps_boundary": boundary, "method": method, "reps_refit": refits,
    }
    return ChainResult(table=_tidy(point, draws, naive, alpha), stage1=stage1, stage2_params=b2,
                       draws=draws, reps=s.reps, reps_failed=failed, seed=s.seed,
                       innovation=s.innovation, sample=sample, settings=s)
