"""Randomization inference for the reform estimators of :mod:`regrowth.models.iv`.

:func:`randomization_test` permutes the province doses across provinces, refits and returns
p = (1 + #{|T*| >= |T|}) / (1 + B). After the linear event study and DiD a draw is not a
refit: only the dose changes, so with Frisch-Waugh-Lovell on the sample, within-transformed
outcome and year dummies built once, every draw's coefficients and sandwich are array
products (:class:`_PermutedDoses`, formulas there); draws within :data:`RI_REFIT_BAND` of |T|
are refitted by the estimator itself, so the count is the refits' own.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from regrowth.errors import EstimationError, SpecificationError
from regrowth.models.iv import (ReformResults, _LinearDesign, _clusters, _codes, _did_design,
                                _event_design, _factor, _within, _year_dummies, did,
                                event_study)

__all__ = ["randomization_test", "RI_REFIT_BAND"]


class _PermutedDoses:
    """The draws of :func:`randomization_test` for a :class:`_LinearDesign` without refits.

    A draw changes only the dose, and the sample does not change with it (a permuted dose is
    present exactly in the provinces that had one). With W the within-transformed year
    dummies and M = I - W (W'W)^-1 W', Frisch-Waugh-Lovell gives the draw's coefficients
    b = (Z'Z)^-1 Z' M y~ and residuals u = M y~ - Z b, where Z = M (d~ * A~): y~ and A~ are the
    within-transformed outcome and year indicators, and d~ the dose of each row's province
    (constant within a province, so the within transformation of d_i a(t) is d_i times that of
    a(t)). The Z-block of the two-way fit's sandwich is c (Z'Z)^-1 (sum_g S_g S_g') (Z'Z)^-1
    with S_g = sum over cluster g of Z u, c the fit's factor (K counts the year dummies).
    y~, A~, M and the clusters are built once; all draws are one batch of array products.
    Equal to the refits up to rounding (about 1e-13 relative on the reform panels)."""

    def __init__(self, design: _LinearDesign):
        frame = design.frame
        ent, _ = _codes(frame.index.get_level_values(0))
        clu, self.G = _clusters(frame, design.clusters)
        self.C = np.zeros((len(clu), self.G))
        self.C[np.arange(len(clu)), clu] = 1.0                            # cluster one-hot
        D, _ = _year_dummies(frame.index.get_level_values(1).to_numpy())
        W = _within(D, ent)
        Q, R = np.linalg.qr(W)
        r = np.abs(np.diag(R))
        # refit every draw instead when the year dummies are collinear after the within
        # transformation, or there is no term of interest or a single cluster
        self.ok = (self.G >= 2 and design.A.shape[1] > 0
                   and (r.size == 0 or r.min() > 1e-10 * max(1.0, float(r.max()))))
        self.Q = Q
        y = _within(frame[design.outcome].to_numpy(float), ent)
        self.ry = y - Q @ (Q.T @ y)
        self.A = _within(design.A, ent)
        self.ent = ent
        self.regions = pd.Index(frame.index.get_level_values(0)).unique().sort_values()
        N, k = len(y), design.A.shape[1]
        self.K = k + D.shape[1] + 1
        self.c = _factor(design.ssc, self.G, N, self.K) if self.ok else np.nan
        self.names = design.names

    def fit(self, doses: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``doses``: (B, provinces of the sample, sorted). Returns the coefficients (B, k),
        their covariances (B, k, k) and a (B,) flag of the draws whose Z'Z is too close to
        singular to trust (reciprocal condition number under 1e-10): refit those."""
        Z = doses[:, self.ent][:, :, None] * self.A[None]            # (B, n, k)
        Z = Z - self.Q @ np.swapaxes(np.swapaxes(Z, 1, 2) @ self.Q, 1, 2)
        ZZ = np.swapaxes(Z, 1, 2) @ Z
        s = np.linalg.svd(ZZ, compute_uv=False)
        bad = ~(s[:, -1] > 1e-10 * s[:, 0])
        ZZ[bad] = np.eye(ZZ.shape[1])
        Binv = np.linalg.inv(ZZ)
        beta = np.einsum("bij,bnj,n->bi", Binv, Z, self.ry)
        u = self.ry[None] - np.einsum("bnj,bj->bn", Z, beta)
        S = self.C.T @ (Z * u[:, :, None])                               # (B, G, k)
        meat = np.swapaxes(S, 1, 2) @ S
        cov = self.c * Binv @ meat @ Binv
        return beta, cov, bad

    def results(self, beta: np.ndarray, cov: np.ndarray, design: _LinearDesign) -> ReformResults:
        """One draw as the estimator's results object (for a statistic given as a function)."""
        names = self.names
        return design.cls(pd.Series(beta, index=names),
                          pd.DataFrame(cov, index=names, columns=names),
                          nobs=len(self.ry), G=self.G, factor=self.c, K=self.K, ssc=design.ssc,
                          model=design.model, spec=design.spec)


#: the estimators whose randomization draws :class:`_PermutedDoses` computes without refits
_PERMUTABLE = {}

#: draws whose |T*| lies within this relative distance of the observed |T| are refitted by
#: the estimator itself, so that the count (and so the p-value) never hinges on rounding
#: (the batch agrees with the refits to about 1e-13; the margin is a million times that)
RI_REFIT_BAND = 1e-7


def _statistic_of(statistic, param):
    if callable(statistic):
        return statistic
    if statistic in ("t", "coef"):
        def stat(res):
            return float(res.tstats[param] if statistic == "t" else res.params[param])
        return stat
    if statistic == "pretrend":
        def stat(res):
            return float(res.pretrend_test()["F"])
        return stat
    raise SpecificationError("statistic must be 't', 'coef', 'pretrend' or a function of the "
                             "results")


def _batch_statistic(statistic, param, engine, design, beta, cov) -> np.ndarray:
    names = engine.names
    if statistic in ("t", "coef"):
        j = names.index(param)
        b = beta[:, j]
        return b / np.sqrt(cov[:, j, j]) if statistic == "t" else b.copy()
    if statistic == "pretrend":
        ref = design.spec["ref"]
        lead = [j for j, n in enumerate(names) if int(n.rsplit("_", 1)[1]) < ref]
        if not lead:
            raise EstimationError("no leads to test: the event window starts at the reference "
                                  "year")
        b = beta[:, lead]
        V = cov[:, lead][:, :, lead]
        return np.einsum("bi,bi->b", b, np.linalg.solve(V, b[:, :, None])[:, :, 0]) / len(lead)
    return np.array([float(statistic(engine.results(beta[i], cov[i], design)))
                     for i in range(len(beta))])


def randomization_test(estimator: Callable[..., ReformResults], data: pd.DataFrame, dose: str,
                       param: str | None, *, reps: int = 999, seed: int = 0,
                       statistic: str | Callable[[ReformResults], float] = "t", **kwargs) -> dict:
    """Randomization inference over doses: permute the provinces' dose values across
    provinces (a whole-series permutation: each province keeps its own outcomes and gets
    another province's dose), refit with ``estimator(data, ..., dose=dose, **kwargs)`` and
    compare |T*| with |T|: p = (1 + #{|T*| >= |T|}) / (1 + reps).

    ``statistic``: "t" (cluster-robust t, the default; studentised statistics keep RI's
    size and are more robust), "coef", "pretrend" (the joint Wald F of the leads after
    :func:`event_study`), or a function of the results returning a number (e.g.
    ``lambda r: r.pretrend_test()["F"]``; ``param`` is then only a label). ``kwargs`` are
    the estimator's own arguments (e.g. outcome=...).

    After :func:`event_study` and :func:`did` the draws are not refits: the sample, the
    within-transformed outcome and year dummies are built once and all draws are one batch
    of array products (:class:`_PermutedDoses`; a statistic given as a function gets a
    results object per draw). A draw within ``RI_REFIT_BAND`` (relative) of |T|, or with a
    nearly singular design, is refitted by the estimator, so the p-value is the refits' own.
    ``fast=False`` in ``kwargs`` refits every draw (the reference the tests compare with).
    Returns a dict with the observed statistic, p-value, reps, seed and the draws."""
    fast = kwargs.pop("fast", True)
    stat = _statistic_of(statistic, param)
    obs = stat(estimator(data, dose=dose, **kwargs))
    regions = data.index.get_level_values(0)
    by_region = data[dose].groupby(level=0).first()
    if kwargs.get("regions") is not None:
        by_region = by_region[by_region.index.isin(list(kwargs["regions"]))]
    keys = by_region.dropna().index.to_numpy()
    vals = by_region.dropna().to_numpy()
    rng = np.random.default_rng(seed)
    perms = np.array([rng.permutation(vals) for _ in range(reps)]).reshape(reps, len(vals))

    def permuted(b: int) -> pd.DataFrame:
        d = data.copy()
        d[dose] = pd.Series(perms[b], index=keys).reindex(regions).to_numpy()
        return d

    def refit(b: int) -> float:
        return stat(estimator(permuted(b), dose=dose, **kwargs))

    thr = abs(obs) - 1e-12 * max(1.0, abs(obs))
    design_of = _PERMUTABLE.get(estimator)
    if fast and design_of is not None and reps > 0:
        design = design_of(permuted(0), dose=dose, **kwargs)
        engine = _PermutedDoses(design)
        pos = pd.Index(keys).get_indexer(engine.regions)
        if not engine.ok or (pos < 0).any():
            draws = np.array([refit(b) for b in range(reps)])
        else:
            beta, cov, bad = engine.fit(perms[:, pos].astype(float))
            with np.errstate(invalid="ignore", divide="ignore"):
                draws = _batch_statistic(statistic, param, engine, design, beta, cov)
            near = bad | ~np.isfinite(draws) | (
                np.abs(np.abs(draws) - abs(obs)) <= RI_REFIT_BAND * max(1.0, abs(obs)))
            for b in np.flatnonzero(near):
                draws[b] = refit(b)
    else:
        draws = np.array([refit(b) for b in range(reps)], dtype=float)
    p = (1 + int(np.sum(np.abs(draws) >= thr))) / (1 + reps)
    label = statistic if isinstance(statistic, str) else getattr(statistic, "__name__", "custom")
    return {"param": param, "statistic": label, "observed": obs, "pvalue": float(p),
            "reps": int(reps), "seed": int(seed), "draws": draws}


_PERMUTABLE.update({event_study: _event_design, did: _did_design})
