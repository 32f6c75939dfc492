r"""Null draws of the count specifications (GNB, NB2, Poisson, Poisson with province effects)
by the score bootstrap from the restricted fit (Kline & Santos 2012; Roodman, Nielsen,
MacKinnon & Webb 2019, ``boottest`` after ML), and the reference that checks them.

Wired into the curve as ``null_method = "score"`` (the default, and only, null method of
count curves; :func:`regrowth.curve.null.null_curve`), with the **statistic of record the
score bootstrap actually bootstraps** (:data:`SCORE_RECORD`): the score test of b_j = 0 at
the restricted fit, i.e. ``boottest``'s own statistic after ML (``score_variance="onestep"``).
The observed curve is the draw with w = 1 (:func:`observed`: the one-step estimate sum_g a_g
and the normal p of the score t), the null draws the same quantities with common wild
weights (:func:`null_weights`: one per province and draw, shared by every model, so the draws
are the multiplier bootstrap of the vector of all models' score statistics and keep their
joint distribution across models; Kline & Santos 2012; Chernozhukov, Chetverikov & Kato
2013). Observed and null use the same statistic, so the null carries that statistic's own
size (its share test rejected 4.5% at 5% in ``benchmarks/montecarlo_count_null.py``), as in
the linear null. It is not the headline's statistic (the
bootstrap p, or the clustered Wald p at the unrestricted fit): on the real curve the share of
score tests below 0.05 is about half the headline share (0.154 against 0.468 by the Wald p on
every 4th GNB/NB2 model). The restricted fits are the ones the curve's bootstrap p-values
make (:func:`regrowth.curve.fitting.run_batch` keeps the :class:`ScoreParts`).

What validates it, and what does not (numbers in ``benchmarks/README.md``, "The innovation
(count) null curve by the score bootstrap" and the sections after it):

* w = 1 gives boottest's statistic exactly, and boottest's weights give its p-value exactly
  (tests/test_curve_count_null.py); the curve's bootstrap p-values do not change when the
  score null is declared.
* Draw level (``benchmarks/bench_count_null.py``): the one-step draws against refits of the
  score-perturbed likelihood that the step linearises, 120 random pairs: Poisson correlation
  0.993; GNB 0.64, with 23 of 52 refits without a maximum (:data:`AGREEMENT` not met). So a
  draw is not a refit of the GNB/NB2; the method does not claim it is. It bootstraps the score
  statistic, for which the one step is exact by construction.
* Curve level against the recentred province (pairs) bootstrap of converged refits
  (``benchmarks/bench_count_null_newton.py --curve-check``, rule :data:`CURVE_AGREEMENT`,
  every 4th GNB/NB2 model, 280): the two differ (median p 0.037 score vs 0.061 pairs; share
  p 0.001 vs 0.132) because they bootstrap different statistics: the pairs draws refit the
  clustered Wald statistic at the unrestricted fit (their mean null share of p < 0.05 is
  0.297), the score draws the score t (mean null share 0.055), and the one-step draws are
  narrower than refits (null SD 0.82 of the pairs' at the median model). Compared with the
  observed curve measured by its own statistic, the score null gives p 0.077 (share 0.154)
  and 0.024 (median of the one-step estimates 0.0243) on those models.
* Size under b = 0 (``benchmarks/montecarlo_count_null.py``: the innovation model's design,
  16 provinces with a province random effect, six GNB/NB2/Poisson models sharing them, 400
  samples, B = 399): the **share test rejects 4.5% at 5%** (Monte Carlo SE 1.0), calibrated,
  because it aggregates studentized statistics whose draws mirror their over-rejection (each
  model's score t with a normal p rejects 8-19%, the null draws' mean share is 0.127); the
  **median test rejects 15.5%** (SE 1.8): the one-step estimate is not studentized and its
  multiplier draws are too narrow with 16 clusters (the one-model bootstrap of the estimate
  rejects 11-16%, of its t 7-9%). A median of the models' score t would reject 7.8% (SE 1.3)
  there; it is not the curve's statistic (the lead's decision names the one-step estimate).
  So the count null's median p-value is reported but is not a calibrated test.

Why not the growth curve's design
---------------------------------
The growth curve imposes b = 0 on the outcome (y0 = y - b x) and resamples provinces. A count
outcome cannot be shifted, and refitting GNB/NB2 models on resampled provinces is far from
linear with 16 clusters (branch ``gnb-null``: one Newton step at the unrestricted estimate
correlated 0.59 with full pairs-bootstrap refits). Converged refits of all draws at once
(:func:`regrowth.models.gnb_draws.fit_weighted`, branch ``gnb-null3``) equal full refits but
cost about 470 CPU s for the curve's GNB/NB2 models, about 4 times the goal
(``benchmarks/bench_count_null_newton.py``). The score bootstrap imposes the null in
the *model* instead: a restricted fit with the focal coefficient fixed at 0, perturbed by
wild weights on its cluster score contributions.

The draw
--------
For a specification with log likelihood l(theta) = sum_g l_g(theta) over clusters
g = 1..G (provinces), focal parameter j:

* theta~ maximises l subject to theta_j = 0, warm-started from the unrestricted fit
  (:mod:`regrowth.inference.boottest`'s restricted ML refit, the one the curve's bootstrap
  p-value uses);
* S_g = sum_{i in g} s_i(theta~) (k-vectors), H = the Hessian of l at theta~ (negative
  definite), H_g its cluster parts, a_g = -(H^-1 S_g)_j, P_g = e_j'H^-1 H_g H^-1,
  K = diag(a) + P S' (G x G): exactly boottest's ``ScoreWild`` with
  ``score_variance="onestep"`` (:mod:`regrowth.inference`);
* wild weights w_dg of one type (Rademacher, Webb, ...) drawn once for all specifications
  from one seed (:func:`null_weights`), one column per cluster label, so a province has the
  same weight in draw d in every specification that contains it.

Draw d of a specification is the one-step estimate theta*_d = theta~ - H^-1 sum_g w_dg S_g
and its Wald t with the one-step sandwich (each cluster's score re-linearised at theta*_d,
S*_g = w_dg S_g - H_g H^-1 sum_h w_dh S_h):

    est_d = theta*_dj = sum_g a_g w_dg                         (units of the coefficient)
    cluster   t_d = est_d / sqrt(c sum_g ((K w_d)_g)^2),   c = G/(G-1) (Stata's ML factor)
    model     t_d = est_d / sqrt(-(H^-1)_jj)              (OIM, Hessian held at theta~)
    p_d = 2 Phi(-|t_d|)                                   (normal, as Stata after ML)

so all B draws of a specification are two matrix products, W a and W K' (W the B x G
weights; :func:`score_draws`). With w = 1 the t is boottest's statistic, and with boottest's
own weights its p-value is boottest's exactly (:func:`boot_p`).

What the one step linearises: the reference
-------------------------------------------
theta*_d is one Newton step from theta~ of the score-perturbed likelihood

    l*_d(theta) = sum_g [ l_g(theta) + (w_dg - 1) S_g'theta ]
                = l(theta) - s(theta~)'theta + (sum_g w_dg S_g)'theta

whose gradient at theta~ is sum_g w_dg S_g (the -s(theta~)'theta term recentres l at the
restricted estimate; s(theta~) is zero except in component j, and without it the maximiser
would sit near the unrestricted estimate, not the null). Its full refit
(:func:`perturbed_refit`) is the maximiser theta^r_d of l*_d (safeguarded Newton to
convergence, :func:`regrowth.models._optim.newton`) with the sandwich Wald t there: cluster
scores S^r_g = s_g(theta^r) + (w_dg - 1) S_g, Var = c (H_r^-1 sum_g S^r_g S^r_g' H_r^-1)_jj,
H_r the Hessian at theta^r (``model``: -(H_r^-1)_jj). :func:`agreement` measures one-step
against refits on (specification, draw) pairs (correlation of the estimates, median and 90th
percentile |difference| in null standard deviations of the specification, share of pairs
with the same p < 0.05 decision) and :func:`passes` applies :data:`AGREEMENT`.

l*_d need not have a maximum: the tilt sum_g (w_dg - 1) S_g'theta is linear, and where it
points along a direction in which l stays bounded (the GNB/NB2 dispersion and the intercept
with 16 clusters) Newton climbs without end; such a refit counts as failed.
"""

from __future__ import annotations

import importlib
import math
import time
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from regrowth.curve.schema import Unavailable
from regrowth.errors import SpecificationError
from regrowth.inference.weights import draw_weights
from regrowth.inference._engine import cluster_sums, pvalue
from regrowth.models._optim import newton
from regrowth.models.covariance import stata_ml_scale

__all__ = ["ScoreParts", "score_parts", "null_weights", "score_draws", "observed",
           "perturbed_refit", "boot_p", "wants_parts", "agreement", "passes", "AGREEMENT",
           "CURVE_AGREEMENT", "curve_agreement", "SCORE_RECORD", "SEED_KEY"]

#: the statistic of record of a count curve's null (written into its ``null`` record)
SCORE_RECORD = ("per model, the score test of b_j = 0 at the restricted fit (b_j = 0), i.e. "
                "boottest's own statistic after ML (score_variance='onestep'): the one-step "
                "estimate sum_g a_g and its one-step cluster-robust Wald t, normal p. The "
                "observed curve is the draw with w = 1; each null draw is the same statistic "
                "with that draw's wild weights, one per cluster shared by every model, so "
                "observed and null use the same statistic; it is not the clustered Wald p at "
                "the unrestricted fit that the headline share uses. The share test is "
                "calibrated; the median test is not studentized and over-rejects with 16 "
                "clusters (benchmarks/montecarlo_count_null.py): read the share test")

#: the key of the null weights' seed, (curve seed, sha256 of this key)
#: (:func:`regrowth.curve.enumeration.spec_seed`)
SEED_KEY = "null|score"

#: the agreement of the one-step draws with refits of the perturbed likelihood below which
#: their null p-values are not to be reported: correlation of the estimates, median |difference|
#: in null standard deviations, share of pairs with the same p < 0.05 decision, pairs compared.
#: The values are those the ``gnb-null`` branch fixed before this method was tried (not tuned
#: to its result).
AGREEMENT = {"corr": 0.9, "median_abs_diff_sd": 0.3, "p05_agree": 0.8, "compared": 20}

#: the rule by which the score null curve is checked against the recentred province (pairs)
#: bootstrap whose draws are converged refits (``benchmarks/bench_count_null_newton.py
#: --curve-check``), fixed before either was computed on the real curve: for each focal role
#: and each of the two statistics (median estimate, share of p < 0.05), the two Monte Carlo
#: p-values differ by at most max(``abs_tol``, ``mc_se`` x the Monte Carlo SE of their
#: difference, sqrt(p1(1 - p1)/B1 + p2(1 - p2)/B2)) and lie on the same side (p <= level or
#: p > level) of each ``levels``.
CURVE_AGREEMENT = {"abs_tol": 0.02, "mc_se": 2.0, "levels": (0.05, 0.10)}

#: inferences of record the score map covers (see the module docstring)
COVERED = ("cluster", "model")


def _bt():
    return importlib.import_module("regrowth.inference.boottest")   # the module, not boottest()


@dataclass
class ScoreParts:
    """One count specification's score bootstrap at its restricted (theta_j = 0) estimate.

    ``labels`` the G cluster labels (sorted), ``a`` (G,) a_g = -(H^-1 S_g)_j (units of the
    focal coefficient), ``K`` (G, G) the one-step variance matrix (same units),
    ``c`` = G/(G-1), ``var_model`` = -(H^-1)_jj (squared units), ``stat`` boottest's t
    (w = 1), ``seconds`` the time of the restricted fit and derivatives."""
    labels: tuple
    a: np.ndarray
    K: np.ndarray
    c: float
    var_model: float
    stat: float
    seconds: float = 0.0


def _problem(result, term: str, clusters):
    """ADAPTER: boottest's restricted-ML problem of a fitted count model (raises
    :class:`Unavailable` for results it does not cover)."""
    bt = _bt()
    res = bt._unwrap(result)
    if bt._family(res) != "ml":
        raise Unavailable(f"{type(res.model).__name__} results have no restricted ML fit")
    return bt._MLProblem(res, term, np.asarray(clusters))


def score_parts(result, term: str, clusters) -> ScoreParts:
    """The score bootstrap of ``term`` = 0 from a fitted count model (``result``: the
    estimator's results, GNB/NB2 or statsmodels Poisson, as ``Fitted.result``), clustered by
    ``clusters`` (one id per estimation-sample row). One restricted fit, warm-started from
    ``result``'s estimate (boottest's); returns :class:`ScoreParts`."""
    t0 = time.perf_counter()
    prob = _problem(result, term, clusters)
    c = stata_ml_scale("cluster", len(prob.codes), prob.G)
    sw = prob.score_boot(0.0, c, "onestep")   # boottest's own, Hessian evaluated once
    labels = pd.factorize(pd.Series(np.asarray(clusters)), sort=True)[1]
    return ScoreParts(labels=tuple(str(v) for v in labels), a=sw.a, K=sw.K, c=c,
                      var_model=sw.var_model, stat=sw.t, seconds=time.perf_counter() - t0)


def null_weights(kind: str, labels: list, draws: int, seed: int) -> np.ndarray:
    """(draws, len(labels)) wild weights of type ``kind`` (rademacher, webb, mammen, normal),
    one column per cluster label, from ``numpy.random.default_rng(seed)``
    (:func:`regrowth.inference.draw_weights`)."""
    V, enumerated = draw_weights(kind, len(labels), draws, np.random.default_rng(seed))
    if enumerated:
        raise SpecificationError(
            f"draws = {draws} covers all 2^{len(labels)} Rademacher sign vectors of the "
            f"{len(labels)} clusters: ask for fewer draws or use weights \"webb\"")
    return np.ascontiguousarray(V.T)


def score_draws(parts: ScoreParts, W: np.ndarray, se: str) -> tuple[np.ndarray, np.ndarray]:
    """Estimates (units of the focal coefficient) and p-values of the B one-step draws of one
    specification; ``W`` (B, G) its clusters' weights (columns in ``parts.labels`` order),
    ``se`` "cluster" or "model" (module docstring). NaN where the variance is not positive."""
    W = np.ascontiguousarray(W, dtype=float)
    est = W @ parts.a
    if se == "cluster":
        KW = W @ parts.K.T
        var = parts.c * np.einsum("bg,bg->b", KW, KW)
    elif se == "model":
        var = np.full(len(est), parts.var_model)
    else:
        raise Unavailable(f"inference {se!r} has no score null map (covered: {COVERED})")
    with np.errstate(divide="ignore", invalid="ignore"):
        p = 2.0 * stats.norm.sf(np.abs(est / np.sqrt(var)))
    bad = ~np.isfinite(p) | ~(var > 0)
    return np.where(bad, np.nan, est), np.where(bad, np.nan, p)


def observed(parts: ScoreParts) -> tuple[float, float]:
    """The observed statistic of record of one specification: the draw with w = 1, i.e. the
    one-step estimate sum_g a_g (units of the focal coefficient) and the normal p-value of
    boottest's score t (:attr:`ScoreParts.stat`); (nan, nan) where the variance is not
    positive."""
    est, p = score_draws(parts, np.ones((1, len(parts.a))), "cluster")
    return float(est[0]), float(p[0])


def wants_parts(curve) -> bool:
    """Whether the curve's fitting keeps each count model's :class:`ScoreParts` for its null
    (a count curve with ``null_draws`` by ``null_method = "score"``)."""
    return bool(curve.family == "count" and curve.null_draws and curve.null_method == "score")


def perturbed_refit(result, term: str, clusters, w: np.ndarray, se: str,
                    start: np.ndarray | None = None) -> tuple[float, float]:
    """The full refit of one draw: the maximiser of the score-perturbed likelihood
    l(theta) + sum_g (w_g - 1) S_g(theta~)'theta (module docstring) and its Wald p-value.

    ``w`` (G,): the draw's weights in sorted cluster-label order. ``start``: where Newton
    starts (default theta~). Returns (estimate, p); (nan, nan) if Newton does not converge (l* may have no
    maximum: module docstring)."""
    prob = _problem(result, term, clusters)
    theta0 = prob.restricted(0.0)
    model, codes, G, j = prob.model, prob.codes, prob.G, prob.j
    S0 = cluster_sums(codes, G, np.asarray(model.score_obs(theta0), dtype=float))
    shift = (np.asarray(w, dtype=float) - 1.0) @ S0          # (k,)

    def derivs(p, order):
        with np.errstate(all="ignore"):
            llf = float(model.loglike(p)) + float(shift @ p)
            if order == 0:
                return (llf,)
            return (llf, np.asarray(model.score(p), dtype=float) + shift,
                    np.asarray(model.hessian(p), dtype=float))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = newton(derivs, theta0 if start is None else start)
    if not res.info.get("converged"):
        return math.nan, math.nan
    th = res.params
    Hinv = np.linalg.inv(res.hessian)
    if se == "model":
        var = -Hinv[j, j]
    else:
        Sr = cluster_sums(codes, G, np.asarray(model.score_obs(th), dtype=float))
        Sr = Sr + (np.asarray(w, dtype=float) - 1.0)[:, None] * S0
        q = Sr @ Hinv[j]
        var = stata_ml_scale("cluster", len(codes), G) * float(q @ q)
    if not var > 0:
        return math.nan, math.nan
    return float(th[j]), float(2.0 * stats.norm.sf(abs(th[j]) / math.sqrt(var)))


def boot_p(parts: ScoreParts, kind: str, reps: int, seed: int) -> float:
    """The curve's bootstrap p-value of the specification recomputed from ``parts`` with the
    model's own weights (boottest: ``draw_weights(kind, G, reps, default_rng(seed))``,
    symmetric p, ties not counted)."""
    V, _ = draw_weights(kind, len(parts.a), reps, np.random.default_rng(seed))
    VT = np.ascontiguousarray(V.T)
    KV = VT @ parts.K.T
    with np.errstate(divide="ignore", invalid="ignore"):
        tstar = (VT @ parts.a) / np.sqrt(parts.c * np.einsum("bg,bg->b", KV, KV))
    return pvalue(parts.stat, tstar, "symmetric")


def agreement(pairs: list[dict]) -> dict:
    """How close the one-step draws are to the check's refits: ``pairs`` rows with
    ``onestep``/``refit`` estimates, ``p_onestep``/``p_refit`` and ``sd`` (the
    specification's one-step null standard deviation). Returns the counts, the correlation of
    the estimates, the median and 90th percentile of |one-step - refit| / sd and the share of
    pairs whose p < 0.05 decision agrees (None when fewer than 2 pairs compare)."""
    ok = [r for r in pairs if all(r.get(k) is not None and np.isfinite(r[k])
                                  for k in ("onestep", "refit", "p_onestep", "p_refit", "sd"))
          and r["sd"] > 0]
    out = {"pairs": len(pairs), "compared": len(ok), "refit_failed": len(pairs) - len(ok)}
    if len(ok) < 2:
        return {**out, "corr": None, "median_abs_diff_sd": None, "q90_abs_diff_sd": None,
                "p05_agree": None}
    a = np.array([r["onestep"] for r in ok])
    b = np.array([r["refit"] for r in ok])
    z = np.abs(a - b) / np.array([r["sd"] for r in ok])
    agree = np.mean([(r["p_onestep"] < 0.05) == (r["p_refit"] < 0.05) for r in ok])
    corr = np.corrcoef(a, b)[0, 1] if a.std() > 0 and b.std() > 0 else math.nan
    return {**out, "corr": float(corr), "median_abs_diff_sd": float(np.median(z)),
            "q90_abs_diff_sd": float(np.quantile(z, 0.9)), "p05_agree": float(agree)}


def curve_agreement(p1: float, p2: float, draws1: int, draws2: int) -> dict:
    """Whether two Monte Carlo null-curve p-values of one statistic agree by
    :data:`CURVE_AGREEMENT`: ``{"diff", "tol", "same_side", "passes"}`` (``tol`` = the
    allowed |p1 - p2|; ``same_side`` per level). The p-values are (1 + #)/(1 + B) and are
    compared with the levels through their counts, (1 + B) p against (1 + B) level rounded,
    so the side does not depend on rounding."""
    se = math.sqrt(p1 * (1.0 - p1) / draws1 + p2 * (1.0 - p2) / draws2)
    tol = max(CURVE_AGREEMENT["abs_tol"], CURVE_AGREEMENT["mc_se"] * se)
    diff = abs(p1 - p2)

    def below(p, B, lev):       # p <= lev, on the counts (1 + #) against lev (1 + B)
        return round(p * (1 + B)) <= lev * (1 + B) + 1e-9

    side = {str(lev): below(p1, draws1, lev) == below(p2, draws2, lev)
            for lev in CURVE_AGREEMENT["levels"]}
    return {"diff": diff, "tol": tol, "same_side": side,
            "passes": bool(diff <= tol and all(side.values()))}


def passes(check: dict) -> bool:
    """Whether the agreement (:func:`agreement`) meets :data:`AGREEMENT`."""
    if check.get("corr") is None or check["compared"] < AGREEMENT["compared"]:
        return False
    return (check["corr"] >= AGREEMENT["corr"]
            and check["median_abs_diff_sd"] <= AGREEMENT["median_abs_diff_sd"]
            and check["p05_agree"] >= AGREEMENT["p05_agree"])
