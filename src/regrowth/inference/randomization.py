"""Randomization inference: whole-series permutation of a regressor across units.

With few units (16 provinces, 7 macro-regions), cluster-robust and even bootstrap tests rest
on asymptotics in the number of clusters. Randomization inference (Fisher 1935; Young 2019,
"Channeling Fisher") asks instead how unusual the estimate is among the estimates obtained
when the regressor's series are dealt out to the units at random, holding everything else
fixed. Under the sharp null that the regressor has no effect on any unit, every reassignment
is as likely as the observed one (exchangeability of the units' series, within strata).

For units g = 1..G with treatment series D_g = (D_gt)_t, a permutation pi of the units gives
the reassigned panel D*_gt = D_{pi(g), t}; every other variable of (g, t) keeps its value.
The model is refitted and the statistic recorded, for the coefficient b* and for its
t-statistic t* = b* / se(b*) (the studentised statistic keeps its size better when the
units differ in variance; Young 2019). With B draws,

    p_b = (1 + #{b : |b*_b| >= |b| (1 - tol)}) / (1 + B),   same for t,

(Phipson & Smyth 2010: counting the observed assignment makes the test exact and p never 0).
``tol`` = :data:`TIE_TOLERANCE` counts as "at least as extreme" the draws equal to the
observed statistic up to rounding, e.g. the identity permutation and permutations that only
swap units with identical series, so the p-value never hinges on the last bit of a float.
When the number of distinct permutations (the product over strata of n_s!) is at most B,
all of them are enumerated instead (the identity included), and p = #{...} / (number of
permutations): the exact randomization p-value, seed-free.

Strata (e.g. the capital region): units are permuted only within their stratum.

A row (g, t) whose reassigned treatment D_{pi(g), t} is missing (unit pi(g) not observed in
year t) is left out of that draw; the largest number of rows any draw lost is reported.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

__all__ = ["RandomizationResult", "randomization_test", "TIE_TOLERANCE"]

#: Relative tolerance with which a permuted statistic counts as equal to the observed one
#: (ties up to rounding are counted as "at least as extreme").
TIE_TOLERANCE = 1e-9


@dataclass
class RandomizationResult:
    """A randomization test of ``param`` = 0.

    ``estimate``/``tstat``: observed coefficient and t-statistic; ``pvalue``: p of the
    t-statistic (the one to report), ``pvalue_coef``: p of the coefficient;
    ``permutations``: draws used (all distinct permutations when ``enumerated``);
    ``failed``: draws whose refit failed (left out of both counts); ``rows_lost``: the most
    rows any draw lost to a missing reassigned treatment; ``strata``: the stratum column or
    None; ``n_units``; ``seed`` (None when enumerated)."""

    param: str
    treatment: str
    estimate: float
    tstat: float
    pvalue: float
    pvalue_coef: float
    permutations: int
    enumerated: bool
    failed: int
    rows_lost: int
    n_units: int
    strata: str | None
    seed: int | None

    def to_dict(self) -> dict:
        return asdict(self)


def _n_permutations(groups: list[np.ndarray]) -> int:
    return math.prod(math.factorial(len(g)) for g in groups)


def _draws(groups: list[np.ndarray], n_units: int, permutations: int, rng):
    """Permutations of 0..n_units-1 (as index arrays) moving units only within ``groups``."""
    if _n_permutations(groups) <= permutations:
        for combo in itertools.product(*(itertools.permutations(g) for g in groups)):
            perm = np.arange(n_units)
            for g, p in zip(groups, combo):
                perm[g] = p
            yield perm
        return
    for _ in range(permutations):
        perm = np.arange(n_units)
        for g in groups:
            perm[g] = g[rng.permutation(len(g))]
        yield perm


def randomization_test(fit: Callable[[pd.DataFrame], tuple[float, float]], data: pd.DataFrame,
                       treatment: str, *, param: str | None = None, unit: str = "region",
                       strata: str | None = None, permutations: int = 1999, seed: int = 0,
                       progress: Callable[[int, int], None] | None = None) -> RandomizationResult:
    """Randomization p-values of ``param`` (default ``treatment``) by whole-series permutation.

    ``fit(frame) -> (estimate, std_error)`` refits the model on a frame shaped like ``data``
    (the estimation sample, indexed by (``unit``, year)) and returns the coefficient of
    ``param`` and its standard error. ``treatment``: the column whose series are dealt out
    (``param`` differs from it only when the coefficient is on a transformation of it).
    ``strata``: a column constant within each unit; units are permuted within it.
    ``permutations``: random draws (with a ``seed``); all permutations are enumerated
    instead when there are at most that many. ``progress(done, total)`` is called after each
    draw. Returns :class:`RandomizationResult`; the formulas are in the module docstring.
    """
    if permutations < 1:
        raise ValueError(f"permutations must be at least 1, not {permutations}")
    if treatment not in data.columns:
        raise ValueError(f"treatment {treatment!r} is not a column of the estimation sample")
    param = param or treatment
    units = data.index.get_level_values(unit)
    years = data.index.get_level_values("year")
    keys = list(pd.unique(units))
    wide = data[treatment].astype(float).groupby([units, years]).first().unstack()
    wide = wide.reindex(index=keys)
    if strata is None:
        groups = [np.arange(len(keys))]
    else:
        by_unit = data[strata].groupby(units).agg(lambda s: s.nunique(dropna=False))
        if (by_unit > 1).any():
            bad = by_unit[by_unit > 1].index[0]
            raise ValueError(f"strata column {strata!r} varies within unit {bad!r}; strata "
                             "must be constant within a unit")
        level = data[strata].groupby(units).first().reindex(keys)
        groups = [np.flatnonzero(level.to_numpy() == s) for s in pd.unique(level)]
    enumerated = _n_permutations(groups) <= permutations
    total = _n_permutations(groups) if enumerated else permutations
    rng = None if enumerated else np.random.default_rng(seed)

    est, se = fit(data)
    t_obs = est / se if se > 0 else math.nan
    row_unit = pd.Index(keys).get_indexer(units)
    col_year = wide.columns.get_indexer(years)
    W = wide.to_numpy()
    hits_b = hits_t = failed = done = rows_lost = 0
    for perm in _draws(groups, len(keys), permutations, rng):
        values = W[perm[row_unit], col_year]
        keep = ~np.isnan(values)
        rows_lost = max(rows_lost, int((~keep).sum()))
        frame = data.loc[keep].copy()
        frame[treatment] = values[keep]
        try:
            b, s = fit(frame)
        except (ValueError, np.linalg.LinAlgError, RuntimeError, ArithmeticError):
            failed += 1
            b = s = math.nan
        if math.isfinite(b):
            hits_b += abs(b) >= abs(est) * (1 - TIE_TOLERANCE)
            if math.isfinite(t_obs) and math.isfinite(s) and s > 0:
                hits_t += abs(b / s) >= abs(t_obs) * (1 - TIE_TOLERANCE)
        done += 1
        if progress is not None:
            progress(done, total)
    used = done - failed
    if used < 1:
        raise ValueError(f"randomization test of {param!r}: every one of {done} refits failed")
    if enumerated:  # the identity is among the draws: the exact randomization p
        p_b, p_t = hits_b / used, hits_t / used
    else:
        p_b, p_t = (1 + hits_b) / (1 + used), (1 + hits_t) / (1 + used)
    return RandomizationResult(param, treatment, float(est), float(t_obs), float(p_t),
                               float(p_b), int(used), enumerated, int(failed), int(rows_lost),
                               len(keys), strata, None if enumerated else int(seed))
