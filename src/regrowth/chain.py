r"""The study's chain, estimated as a chain: decentralization -> innovation -> growth.

Stage 1 (innovation) is the main innovation model, ``table1_innovation/gnb_main`` (Stata
``gnbreg``): fintech patent applications on lagged 재정자립도 and the RIS inputs, with year
effects, on its own sample (16 provinces, 2015-2020). Its fitted mean mu_hat_it is the
*predicted innovation* of province i in year t.

Stage 2 (growth) regresses growth on predicted innovation lagged one year::

    g_it = c + d_t + a * fsr_{i,t-1} + gamma * I_hat_{i,t-1} + b * ln y_{i,t-1} + p * popgrowth_it + e_it

with ``I_hat`` one of

* ``"ln_counts_pm"`` (default): ln(mu_hat_it / population_it * 1e6), log predicted applications
  per million residents -- the predicted analogue of ``ln1p_patents_fintech_pm_l1``;
* ``"index"``: the GNB's linear index x_it'b_hat = ln mu_hat_it (scale included);
* ``"observed"``: the observed ``ln1p_patents_fintech_pm`` (no stage 1; the naive comparison).

Fitted by OLS with year dummies (``year_effects``) and optionally province dummies
(``province_effects``). Because gamma multiplies ln mu_hat and d ln mu / d fsr = b_fsr, the
*indirect effect* of one percentage point of 재정자립도 (two years earlier) on growth through
innovation is b_fsr * gamma (percentage points of growth per point of 재정자립도), reported as
term ``indirect_fsr``.

Sample and growth measure (the choice and why). Real per-capita GRDP growth
(``grdp_pc_real_growth``) ends in 2017 and stage 1 can predict innovation only for 2015-2020 (its
regressors and year effects), so real growth would leave growth years 2016-2017: 32
observations. The default therefore uses **nominal** per-capita GRDP growth
(``grdp_pc_nominal_growth``, to 2021) with **year effects**: the panel has no regional
deflator after 2017, and a common national deflator enters nominal growth as a year-specific
shift (to first order, 100[(1+g)(1+pi_t) - 1] ~ 100 g + 100 pi_t), which the year dummies
absorb exactly as deflating every province by the national GDP deflator would. What the year
effects cannot remove is differences in regional price changes. Population growth ends in
2020, so the growth years are 2016-2020 (innovation predicted for 2015-2019): 16 provinces
(Sejong excluded, as in both stages' main specifications) x 5 years = 80 observations. The
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

What the public edition can say. Very little: 16 clusters, five growth years, a stage 1 whose
재정자립도 coefficient is identified almost only between provinces (within-province sd about 2
points against 18 between, see ``regrowth.models.count_panel.within_province_table``) and
whose province-FE estimates are near zero; and the innovation measure is fintech patents, a
narrow slice of innovation. The bootstrap intervals say how wide the uncertainty is; they do
not rescue identification.
"""

from __future__ import annotations

import sys
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats
from tqdm import tqdm

from regrowth.errors import SpecificationError

__all__ = ["CHAIN_REPS", "CHAIN_SEED", "GROWTH_DEFAULTS", "INNOVATION_MEASURES", "ChainResult",
           "chain_record", "chain_regression_table", "fit_chain"]

INNOVATION_MEASURES = ("ln_counts_pm", "index", "observed")

#: Stage-2 defaults (see the module docstring for the rationale).
GROWTH_DEFAULTS = {
    "outcome": "grdp_pc_nominal_growth",
    "controls": ("fiscal_self_reliance_l1", "ln_grdp_pc_nominal_l1", "population_growth"),
    "years": (2016, 2020),
    "exclude": ("sejong",),
    "drop_if": ("sejong_break",),
}

INNOVATION_TERM = "innovation_hat_l1"

#: Replications and seed of the chain ``make replicate`` writes (``results/tables/
#: chain_two_stage.*`` and ``estimates.json["chain"]``); 999 draws take about 25 s.
CHAIN_REPS = 999
CHAIN_SEED = 20181121


@dataclass
class ChainResult:
    """The two-stage chain: tidy rows, both stages' point estimates and the bootstrap draws.

    ``table`` columns: ``stage`` (innovation | growth | chain), ``term``, ``estimate``,
    ``std_error`` (bootstrap sd), ``ci_low``/``ci_high`` (bootstrap percentile, level
    ``1 - alpha``), ``std_error_naive`` (the stage's own analytic SE: GNB province-clustered in
    stage 1, OLS province-clustered CR1 in stage 2, ignoring that stage 2's regressor is
    estimated), ``p_value_naive``. Units: stage 1 in log points of expected applications per unit
    of the regressor; stage 2 in percentage points of growth per unit; ``indirect_fsr`` in
    percentage points of growth per percentage point of 재정자립도.
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

    def __repr__(self) -> str:
        return (f"ChainResult(innovation={self.innovation!r}, reps={self.reps}, "
                f"failed={self.reps_failed}, seed={self.seed}, n2={self.sample.get('nobs')})")


# ----------------------------------------------------------------------------- stage 1

def _stage1_spec(specs_path: str, column: str):
    from regrowth import specs as specs_mod

    table, col = column.split("/")
    for c in specs_mod.load(specs_path).columns():
        if c.table == table and c.id == col:
            if c.estimator != "gnb":
                raise SpecificationError(f"{column}: the chain's stage 1 must be a gnb column")
            return c
    raise SpecificationError(f"{specs_path}: no column {column!r}")


def _mean_design(spec, frame: pd.DataFrame, years: list[int]) -> pd.DataFrame:
    X = pd.concat([pd.DataFrame({"Intercept": 1.0}, index=frame.index),
                   frame[list(spec.regressors)].astype(float)], axis=1)
    if spec.year_effects:
        t = frame.index.get_level_values("year")
        for yr in years[1:]:
            X[f"year_{yr}"] = (t == yr).astype(float)
    return X


def _design1(spec, frame: pd.DataFrame, years: list[int]):
    X = _mean_design(spec, frame, years)
    Z = pd.concat([pd.DataFrame({"Intercept": 1.0}, index=frame.index),
                   frame[list(spec.dispersion)].astype(float)], axis=1)
    return X, Z


def _fit_stage1(spec, data: pd.DataFrame, groups, years, cov_type="cluster"):
    from regrowth.models import GeneralizedNegativeBinomial

    X, Z = _design1(spec, data, years)
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
    xtx_inv = np.linalg.inv(X.T @ X)
    codes, uniq = pd.factorize(clusters)
    S = np.zeros((len(uniq), X.shape[1]))
    np.add.at(S, codes, X * u[:, None])
    n, k, G = X.shape[0], X.shape[1], len(uniq)
    cov = xtx_inv @ (S.T @ S) @ xtx_inv * (G / (G - 1.0)) * ((n - 1.0) / (n - k))
    return b, cov


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


# ----------------------------------------------------------------------------- the chain

def fit_chain(panel: pd.DataFrame, *, innovation: str = "ln_counts_pm", reps: int = 999,
              seed: int = 20181121, alpha: float = 0.05, specs_path: str = "specs/models.toml",
              stage1_column: str = "table1_innovation/gnb_main", outcome: str | None = None,
              controls: tuple[str, ...] | None = None, years: tuple[int, int] | None = None,
              exclude: tuple[str, ...] | None = None, drop_if: tuple[str, ...] | None = None,
              year_effects: bool = True, province_effects: bool = False,
              strata: str | None = "capital_region") -> ChainResult:
    """Fit the two-stage chain on ``panel`` and bootstrap it by province over both stages.

    Parameters
    ----------
    panel : the (region, year)-indexed panel (``regrowth.panel.load``).
    innovation : "ln_counts_pm" (default), "index" or "observed" (see the module docstring).
    reps : bootstrap replications (0: point estimates and naive SEs only).
    seed : seed of ``numpy.random.default_rng`` for the province draws.
    alpha : the percentile interval is [alpha/2, 1 - alpha/2].
    specs_path, stage1_column : where stage 1's specification is read from.
    outcome, controls, years, exclude, drop_if : stage 2's growth variable, its regressors other
        than innovation, growth years (inclusive), excluded provinces and 0/1 flags whose rows
        are dropped; defaults in :data:`GROWTH_DEFAULTS`.
    year_effects, province_effects : stage-2 dummies.
    strata : a province-level 0/1 (or categorical) panel column; provinces are drawn with
        replacement *within* its levels, keeping each level's count (default
        ``"capital_region"``: 3 capital-region and 13 other provinces, so that every draw can
        identify the GNB's capital-region dispersion term). ``None``: unstratified.

    Returns
    -------
    :class:`ChainResult`.
    """
    if innovation not in INNOVATION_MEASURES:
        raise SpecificationError(f"innovation={innovation!r}; choose one of {INNOVATION_MEASURES}")
    if reps < 0:
        raise SpecificationError("reps must be >= 0")
    from regrowth.replicate import estimation_sample

    d = GROWTH_DEFAULTS
    outcome = outcome or d["outcome"]
    controls = list(controls if controls is not None else d["controls"])
    y0, y1 = years or d["years"]
    exclude = tuple(exclude if exclude is not None else d["exclude"])
    drop_if = tuple(drop_if if drop_if is not None else d["drop_if"])

    spec = _stage1_spec(specs_path, stage1_column)
    data1, _ = estimation_sample(spec, panel)
    years1 = sorted(set(data1.index.get_level_values("year")))
    provinces = sorted(set(data1.index.get_level_values("region")))

    # stage-2 rows: growth years, provinces, flags, every stage-2 variable observed at t and the
    # stage-1 regressors observed at t-1 (so that innovation can be predicted there)
    reg_all = panel.index.get_level_values("region")
    yr_all = panel.index.get_level_values("year")
    keep = (yr_all >= y0) & (yr_all <= y1) & ~reg_all.isin(list(exclude))
    for flag in drop_if:
        keep &= panel[flag].to_numpy() != 1
    data2 = panel.loc[keep, [outcome, *controls]].astype(float)
    lag_index = pd.MultiIndex.from_arrays([data2.index.get_level_values("region"),
                                           data2.index.get_level_values("year") - 1],
                                          names=["region", "year"])
    if innovation == "observed":
        lagged = panel.reindex(lag_index)[["ln1p_patents_fintech_pm"]].astype(float)
    else:
        need = [*spec.regressors, *( [spec.exposure] if spec.exposure else [])]
        if innovation == "ln_counts_pm":
            need.append("population")
        lagged = panel.reindex(lag_index)[list(dict.fromkeys(need))].astype(float)
        lagged = lagged[lag_index.get_level_values("year").isin(years1).astype(bool)] \
            .reindex(lag_index)
    ok = data2.notna().all(axis=1).to_numpy() & lagged.notna().all(axis=1).to_numpy()
    if innovation != "observed":
        ok &= data2.index.get_level_values("region").isin(provinces)
    data2, lagged = data2[ok], lagged[ok]
    lagged.index = data2.index
    if data2.empty:
        raise SpecificationError(f"no stage-2 observations in {y0}-{y1} with {outcome}, "
                                 f"{', '.join(controls)} and innovation at t-1 observed")
    # stage-2 regressors: the controls with innovation after 재정자립도 (first if it is absent)
    regs2 = list(controls)
    regs2.insert(1 if "fiscal_self_reliance_l1" in controls else 0, INNOVATION_TERM)
    entity2 = data2.index.get_level_values("region").to_numpy()

    def innovation_values(stage1_params: pd.Series | None) -> np.ndarray:
        if innovation == "observed":
            return lagged["ln1p_patents_fintech_pm"].to_numpy()
        mean = stage1_params[[n for n in stage1_params.index if not str(n).startswith("lnalpha:")]]
        eta = _index(spec, mean, lagged.set_axis(lag_index[ok]), years1).to_numpy()
        if innovation == "index":
            return eta
        return eta - np.log(lagged["population"].to_numpy()) + np.log(1e6)

    def stage2(frame, innov, entity, clusters):
        f = frame.copy()
        f[INNOVATION_TERM] = innov
        X = _design2(f, regs2, year_effects, province_effects, entity)
        b, cov = _ols_cluster(f[outcome].to_numpy(), X.to_numpy(), clusters)
        return pd.Series(b, index=X.columns), pd.DataFrame(cov, index=X.columns, columns=X.columns)

    # ---- point estimates
    stage1 = None
    if innovation != "observed":
        stage1 = _fit_stage1(spec, data1, data1.index.get_level_values("region").to_numpy(), years1)
        if not stage1.converged:
            raise SpecificationError(f"{stage1_column}: the stage-1 GNB did not converge")
        s1_params = pd.Series(np.asarray(stage1.params), index=stage1.params.index)
    else:
        s1_params = None
    b2, cov2 = stage2(data2, innovation_values(s1_params), entity2, entity2)
    fsr = "fiscal_self_reliance_l1"
    has_indirect = innovation != "observed" and fsr in s1_params.index
    point = {}
    if s1_params is not None:
        for term in spec.regressors:
            point[("innovation", term)] = float(s1_params[term])
    for term in regs2:
        point[("growth", term)] = float(b2[term])
    if has_indirect:
        point[("chain", "indirect_fsr")] = float(s1_params[fsr] * b2[INNOVATION_TERM])

    # ---- bootstrap over provinces, both stages
    rng = np.random.default_rng(seed)
    units = provinces if innovation != "observed" else sorted(set(entity2))
    if strata is None:
        layers = [np.arange(len(units))]
    else:
        level = panel[strata].groupby(level="region").first()
        codes = np.array([level[u] for u in units])
        layers = [np.flatnonzero(codes == v) for v in sorted(set(codes))]
    draws_idx = [np.concatenate([layer[rng.integers(0, len(layer), size=len(layer))]
                                 for layer in layers]) for _ in range(reps)]
    rows1 = {p: data1.xs(p, level="region", drop_level=False) for p in provinces} \
        if innovation != "observed" else {}
    pos2 = {p: np.flatnonzero(entity2 == p) for p in units}
    records, failed, boundary, reasons = [], 0, 0, {}
    # a progress bar only on a terminal and only if the draws take more than 2 s
    progress = tqdm(draws_idx, desc="chain bootstrap", unit=" draws", delay=2.0, leave=False,
                    disable=None, file=sys.stderr)
    for draw in progress:
        chosen = [units[j] for j in draw]
        labels1, labels2, parts1, idx2 = [], [], [], []
        for k, p in enumerate(chosen):
            tag = f"{p}#{k}"
            if innovation != "observed":
                parts1.append(rows1[p])
                labels1 += [tag] * len(rows1[p])
            idx2.append(pos2[p])
            labels2 += [tag] * len(pos2[p])
        try:
            if innovation != "observed":
                boot1 = pd.concat(parts1)
                r1 = _fit_stage1(spec, boot1, np.asarray(labels1), years1, cov_type="nonrobust")
                if r1.mle_retvals.get("boundary"):
                    boundary += 1  # usable: see "Poisson boundary" in the module docstring
                elif not r1.converged:
                    failed += 1
                    reasons["stage-1 GNB did not converge"] = reasons.get("stage-1 GNB did not converge", 0) + 1
                    continue
                p1 = pd.Series(np.asarray(r1.params), index=r1.params.index)
            else:
                p1 = None
            innov = innovation_values(p1)
            sel = np.concatenate(idx2)
            lab = np.asarray(labels2)
            bb, _ = stage2(data2.iloc[sel], innov[sel], lab, lab)
        except (np.linalg.LinAlgError, ValueError, RuntimeError) as exc:
            failed += 1
            why = f"{type(exc).__name__}: {str(exc).splitlines()[0][:80] if str(exc) else ''}"
            reasons[why] = reasons.get(why, 0) + 1
            continue
        rec = {}
        if p1 is not None:
            for term in spec.regressors:
                rec[("innovation", term)] = float(p1[term])
        for term in regs2:
            rec[("growth", term)] = float(bb[term])
        if has_indirect:
            rec[("chain", "indirect_fsr")] = float(p1[fsr] * bb[INNOVATION_TERM])
        records.append(rec)
    draws = pd.DataFrame(records, columns=pd.MultiIndex.from_tuples(list(point)))

    # ---- tidy rows
    naive = {}
    if stage1 is not None:
        for term in spec.regressors:
            naive[("innovation", term)] = (float(stage1.bse[term]), float(stage1.pvalues[term]))
    se2 = np.sqrt(np.diag(cov2.to_numpy()))
    se2 = pd.Series(se2, index=cov2.index)
    G = len(set(entity2))
    for term in regs2:
        t = b2[term] / se2[term]
        naive[("growth", term)] = (float(se2[term]), float(2 * stats.t.sf(abs(t), G - 1)))
    rows = []
    for key, est in point.items():
        col = draws[key] if len(draws) else pd.Series(dtype=float)
        rows.append({
            "stage": key[0], "term": key[1], "estimate": est,
            "std_error": float(col.std(ddof=1)) if len(col) > 1 else float("nan"),
            "ci_low": float(col.quantile(alpha / 2)) if len(col) else float("nan"),
            "ci_high": float(col.quantile(1 - alpha / 2)) if len(col) else float("nan"),
            "std_error_naive": naive.get(key, (float("nan"), float("nan")))[0],
            "p_value_naive": naive.get(key, (float("nan"), float("nan")))[1],
        })
    table = pd.DataFrame(rows)
    sample = {
        "stage1": f"{stage1_column}: {spec.sample.describe()}, {len(data1)} observations, "
                  f"{len(provinces)} provinces" if innovation != "observed" else "none",
        "stage2": f"{outcome}, {int(data2.index.get_level_values('year').min())}-"
                  f"{int(data2.index.get_level_values('year').max())}, excluding "
                  f"{', '.join(exclude) or 'none'}, dropping {', '.join(drop_if) or 'none'}",
        "nobs": len(data2), "n_provinces": G,
        "year_effects": year_effects, "province_effects": province_effects,
        "strata": strata, "failures": dict(sorted(reasons.items())),
        "reps_boundary": boundary,
    }
    return ChainResult(table=table, stage1=stage1, stage2_params=b2, draws=draws, reps=reps,
                       reps_failed=failed, seed=seed, innovation=innovation, sample=sample)


# ----------------------------------------------------------------------------- output

_STAGE_TITLES = {
    "innovation": "Stage 1: innovation (GNB, Table 1 column (1)); log points of expected "
                  "applications per unit",
    "growth": "Stage 2: nominal per-capita GRDP growth (OLS, year effects); percentage points",
    "chain": "Chain: indirect effect of fiscal self-reliance through innovation",
}


def chain_record(res: ChainResult) -> dict:
    """``res`` as plain data for ``estimates.json["chain"]``: the tidy rows (``terms``, full
    precision; units as :class:`ChainResult`), draws used, failures, boundary draws, seed,
    innovation measure and samples."""
    return {
        "innovation": res.innovation, "reps": res.reps, "reps_failed": res.reps_failed,
        "reps_used": int(len(res.draws)), "seed": res.seed, "sample": dict(res.sample),
        "interval": "bootstrap percentile, 95%",
        "terms": res.table.to_dict(orient="records"),
    }


def chain_regression_table(res: ChainResult, labels: dict | None = None):
    """``res`` as a :class:`regrowth.tables.RegressionTable`: one row per stage and term;
    columns estimate, bootstrap SE, 95% percentile interval, naive SE and p-value."""
    from regrowth.tables import RegressionTable, Row, format_number

    labels = dict(labels or {})
    labels.setdefault(INNOVATION_TERM, "Predicted ln fintech applications per million, t-1")
    labels.setdefault("indirect_fsr", "Fiscal self-reliance -> innovation -> growth "
                                      "(b_fsr x gamma)")
    rows, stage = [], None
    for r in res.table.itertuples(index=False):
        if r.stage != stage:
            stage = r.stage
            rows.append(Row("panel", _STAGE_TITLES.get(stage, stage), ()))
        fmt = lambda v: format_number(v, 3)  # noqa: E731
        rows.append(Row("coef", labels.get(r.term, r.term), (
            fmt(r.estimate), fmt(r.std_error), f"[{fmt(r.ci_low)}, {fmt(r.ci_high)}]",
            fmt(r.std_error_naive), format_number(r.p_value_naive, 3))))
    s = res.sample
    used = len(res.draws)
    notes = [
        f"Stage 1: {s.get('stage1')}. Stage 2: {s.get('stage2')}; {s.get('nobs')} observations, "
        f"{s.get('n_provinces')} provinces; innovation = {res.innovation} (log predicted "
        "applications per million residents, from the stage-1 GNB, lagged one year).",
        f"Bootstrap: provinces drawn with replacement over both stages, stratified by "
        f"{s.get('strata') or 'nothing'}; {res.reps:,} draws (seed {res.seed}), {used:,} used, "
        f"{res.reps_failed} failed, {s.get('reps_boundary', 0)} at the Poisson boundary of the "
        "capital-region dispersion (kept; see regrowth.chain). SE = sd of the draws; interval = "
        "2.5th and 97.5th percentiles.",
        "Naive SE and p: each stage's own analytic SEs (stage 1 GNB clustered by province; stage "
        "2 OLS clustered by province, CR1, t(G-1)), ignoring that stage 2's regressor is "
        "estimated.",
        "Nominal growth with year effects: a common national deflator is absorbed by the year "
        "dummies; regional price differences are not. Real GRDP ends in 2017, fintech counts "
        "start in 2012, so the chain rests on 16 provinces x 5 growth years.",
    ]
    return RegressionTable(
        title="The two-stage chain: fiscal self-reliance -> innovation -> growth",
        columns=("Estimate", "Bootstrap SE", "95% interval", "Naive SE", "Naive p"),
        titles=None, rows=tuple(rows), notes=tuple(notes), stars=())


if __name__ == "__main__":  # python -m regrowth.chain [reps] [innovation]: the real-panel chain
    import sys

    from regrowth import panel as _panel

    _reps = int(sys.argv[1]) if len(sys.argv) > 1 else 999
    _res = fit_chain(_panel.load("data/processed"), reps=_reps,
                     innovation=sys.argv[2] if len(sys.argv) > 2 else "ln_counts_pm")
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(_res)
        print(_res.sample)
        print(_res.table.to_string(index=False))
