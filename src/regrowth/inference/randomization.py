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

The permutation unit (``unit``, the "blocks" of :func:`regrowth.inference.randomization_test`)
is an index level (the province, ``region``) or a column constant within each row's unit, such
as ``macro_region``: then the treatment must take one value per (unit, year) -- a regressor
that varies by macro-region, like Table 2's innovation intensity -- and every province of
macro-region m receives, in year t, the value of macro-region pi(m). Dealing out province
series of such a regressor would give provinces of one macro-region different values, a
pattern the regressor can never have: the exchangeable units are the macro-regions, and the
randomization distribution is the one over their 7! reassignments (or draws from it).

Parallel draws: the permutations are drawn here, in the calling process, from ``seed``
(``numpy.random.default_rng``) and dealt out in chunks of ``chunk`` draws to an executor (the
specification curve's :class:`regrowth.curve.backends.Executor`: serial, local processes or
Dask); each chunk refits its draws on one BLAS thread and returns (b*, se*) per draw; the
counting is done here. Each draw's refit depends only on its permutation, so the result is
the same, bit for bit, on every backend and for any number of workers or chunk size.

A refit may offer ``fit.batch(xs)``, all the draws of a chunk at once (``xs``: their
reassigned treatment on the rows of ``data``, one row per draw, NaN on the rows a draw
loses), returning (b*, se*) per draw or None for a draw it leaves to ``fit``
(:mod:`regrowth.inference.refit`: batched Newton of the count models, the linear steps of
FE and RE vectorised over draws); a draw's result must not depend on the other draws of the
chunk, so the result is still the same for any chunk size.

A refit may report that it fell back to a cold fit (``fit`` returning ``(b, se, cold)``,
e.g. a warm-started Newton that did not converge, :mod:`regrowth.inference.refit`); the
number of such draws is ``fallbacks``.

A row (g, t) whose reassigned treatment D_{pi(g), t} is missing (unit pi(g) not observed in
year t) is left out of that draw; the largest number of rows any draw lost is reported.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from regrowth.threads import one_blas_thread

__all__ = ["RandomizationResult", "randomization_test", "column_randomization_test",
           "TIE_TOLERANCE"]

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
    None; ``n_units``: the units permuted, ``unit``: what they are (``region``: provinces,
    or a column such as ``macro_region``); ``seed`` (None when enumerated); ``fallbacks``:
    draws whose fast refit fell back to a cold fit."""

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
    unit: str = "region"
    fallbacks: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


def _n_permutations(groups: list[np.ndarray]) -> int:
    return math.prod(math.factorial(len(g)) for g in groups)


def _draws(groups: list[np.ndarray], n_units: int, permutations: int, rng) -> np.ndarray:
    """Permutations of 0..n_units-1 (rows of an int array) moving units only within
    ``groups``: all of them when there are at most ``permutations``, else ``permutations``
    draws from ``rng``."""
    out = []
    if _n_permutations(groups) <= permutations:
        for combo in itertools.product(*(itertools.permutations(g) for g in groups)):
            perm = np.arange(n_units)
            for g, p in zip(groups, combo):
                perm[g] = p
            out.append(perm)
    else:
        for _ in range(permutations):
            perm = np.arange(n_units)
            for g in groups:
                perm[g] = g[rng.permutation(len(g))]
            out.append(perm)
    return np.asarray(out, dtype=np.int64).reshape(len(out), n_units)


def _refit_chunk(fit, data: pd.DataFrame, treatment: str, W: np.ndarray, row_unit: np.ndarray,
                 col_year: np.ndarray, perms: np.ndarray) -> list[tuple]:
    """Refit ``fit`` on ``data`` with the treatment reassigned by each row of ``perms``;
    returns ``(b, se, cold, rows_lost, failed)`` per draw (one BLAS thread: the same numbers
    in any process)."""
    out = []
    with one_blas_thread():
        values_of = [W[perm[row_unit], col_year] for perm in perms]
        settled = _batch(fit, values_of)
        for values, got in zip(values_of, settled):
            keep = ~np.isnan(values)
            lost = int((~keep).sum())
            if got is not None:
                out.append((float(got[0]), float(got[1]), False, lost, False))
                continue
            frame = data.loc[keep].copy() if lost else data.copy()
            frame[treatment] = values[keep]
            cold, bad = False, False
            try:
                got = fit(frame)
                b, s = float(got[0]), float(got[1])
                cold = bool(got[2]) if len(got) > 2 else False
            except (ValueError, np.linalg.LinAlgError, RuntimeError, ArithmeticError):
                b = s = math.nan
                bad = True
            out.append((b, s, cold, lost, bad))
    return out


def _batch(fit, values_of: list[np.ndarray]) -> list:
    """``fit.batch`` of the draws, where ``fit`` offers one: per draw (estimate, std_error),
    or None for a draw left to ``fit`` itself."""
    batch = getattr(fit, "batch", None)
    if batch is None or not values_of:
        return [None] * len(values_of)
    try:
        return list(batch(np.stack(values_of)))
    except (ValueError, np.linalg.LinAlgError, RuntimeError, ArithmeticError):
        return [None] * len(values_of)  # every draw goes through fit, which decides


def _unit_keys(data: pd.DataFrame, unit: str) -> np.ndarray:
    if unit in data.index.names:
        return np.asarray(data.index.get_level_values(unit))
    if unit in data.columns:
        if data[unit].isna().any():
            raise ValueError(f"permutation unit column {unit!r} has missing values in the "
                             "estimation sample; fill it or choose another unit")
        return data[unit].to_numpy()
    raise ValueError(f"permutation unit {unit!r} is neither an index level "
                     f"({', '.join(map(str, data.index.names))}) nor a column of the "
                     "estimation sample")


def randomization_test(fit: Callable[[pd.DataFrame], Sequence[float]], data: pd.DataFrame,
                       treatment: str, *, param: str | None = None, unit: str = "region",
                       strata: str | None = None, permutations: int = 1999, seed: int = 0,
                       progress: Callable[[int, int], None] | None = None,
                       executor=None, chunk: int = 50) -> RandomizationResult:
    """Randomization p-values of ``param`` (default ``treatment``) by whole-series permutation.

    ``fit(frame) -> (estimate, std_error[, cold])`` refits the model on a frame shaped like
    ``data`` (the estimation sample, indexed by (region, year)) and returns the coefficient
    of ``param`` and its standard error (and, optionally, whether a fast refit fell back to
    a cold fit). ``treatment``: the column whose series are dealt out (``param`` differs
    from it only when the coefficient is on a transformation of it). ``unit``: what is
    permuted, an index level or a column (e.g. ``macro_region``; see the module docstring).
    ``strata``: a column constant within each unit; units are permuted within it.
    ``permutations``: random draws (with a ``seed``); all permutations are enumerated
    instead when there are at most that many. ``progress(done, total)`` is called as chunks
    of draws finish. ``executor``: an object with ``map(fn, items, *shared)`` returning
    results in item order (:class:`regrowth.curve.backends.Executor`; default: this process);
    ``chunk``: draws per task. Returns :class:`RandomizationResult`; the formulas are in the
    module docstring.
    """
    if permutations < 1:
        raise ValueError(f"permutations must be at least 1, not {permutations}")
    if chunk < 1:
        raise ValueError(f"chunk must be at least 1, not {chunk}")
    if treatment not in data.columns:
        raise ValueError(f"treatment {treatment!r} is not a column of the estimation sample")
    param = param or treatment
    units = _unit_keys(data, unit)
    years = data.index.get_level_values("year")
    keys = list(pd.unique(units))
    by_cell = data[treatment].astype(float).groupby([units, years])
    spread = by_cell.agg(lambda v: v.nunique(dropna=False))
    if (spread > 1).any():
        (bad_unit, bad_year) = spread[spread > 1].index[0]
        raise ValueError(f"treatment {treatment!r} takes several values within unit "
                         f"{bad_unit!r} in {bad_year}: permuting whole {unit!r} series needs "
                         f"one value per ({unit}, year); permute a finer unit")
    wide = by_cell.first().unstack().reindex(index=keys)
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
    rng = None if enumerated else np.random.default_rng(seed)
    perms = _draws(groups, len(keys), permutations, rng)
    total = len(perms)

    with one_blas_thread():
        got = fit(data)
    est, se = float(got[0]), float(got[1])
    t_obs = est / se if se > 0 else math.nan
    row_unit = pd.Index(keys).get_indexer(units)
    col_year = wide.columns.get_indexer(years)
    W = wide.to_numpy()
    chunks = [perms[i:i + chunk] for i in range(0, total, chunk)]
    shared = (fit, data, treatment, W, row_unit, col_year)
    rows: list[tuple] = []
    if executor is None:
        for c in chunks:
            rows.extend(_refit_chunk(*shared, c))
            if progress is not None:
                progress(len(rows), total)
    else:
        for part in executor.map(_refit_chunk, chunks, *shared):
            rows.extend(part)
        if progress is not None:
            progress(len(rows), total)
    hits_b = hits_t = failed = fallbacks = rows_lost = 0
    for b, s, cold, lost, bad in rows:  # counted here, in draw order, whatever the backend
        failed += bad
        fallbacks += cold
        rows_lost = max(rows_lost, lost)
        if math.isfinite(b):
            hits_b += abs(b) >= abs(est) * (1 - TIE_TOLERANCE)
            if math.isfinite(t_obs) and math.isfinite(s) and s > 0:
                hits_t += abs(b / s) >= abs(t_obs) * (1 - TIE_TOLERANCE)
    done = len(rows)
    used = done - failed
    if used < 1:
        raise ValueError(f"randomization test of {param!r}: every one of {done} refits failed")
    if enumerated:  # the identity is among the draws: the exact randomization p
        p_b, p_t = hits_b / used, hits_t / used
    else:
        p_b, p_t = (1 + hits_b) / (1 + used), (1 + hits_t) / (1 + used)
    return RandomizationResult(param, treatment, float(est), float(t_obs), float(p_t),
                               float(p_b), int(used), enumerated, int(failed), int(rows_lost),
                               len(keys), strata, None if enumerated else int(seed),
                               unit=unit, fallbacks=int(fallbacks))


def column_randomization_test(results_or_spec, param: str, *, panel: pd.DataFrame | None = None,
                              blocks: str = "region", strata: str | None = None,
                              permutations: int = 1999, seed: int = 0, executor=None,
                              progress: Callable[[int, int], None] | None = None
                              ) -> RandomizationResult:
    """Randomization test of ``param`` in a column of ``specs/models.toml``: exported as
    ``regrowth.inference.randomization_test(results_or_spec, param, *, blocks="region",
    permutations=1999, seed=...)``.

    ``results_or_spec``: a fitted column (:class:`regrowth.fit.Fitted`, as
    ``regrowth.fit.fit_column`` returns it) or its :class:`regrowth.specs.ColumnSpec`.
    ``panel``: the province panel (``regrowth.panel.load`` or the macro-region panel in fit
    shape for a macro-region column); default: the project's ``data/processed`` (run
    ``make panel`` first). ``param``: a regressor of the column, whose whole series are
    permuted. ``blocks``: the permutation unit, ``"region"`` (the column's rows: provinces)
    or a column constant within each province such as ``"macro_region"`` (whole
    macro-region series dealt out among the macro-regions: the coherent design for a
    regressor that varies by macro-region; module docstring). ``strata``, ``permutations``,
    ``seed``, ``executor`` (e.g. ``regrowth.curve.backends.Executor("processes")``, used as
    a context manager by the caller), ``progress``: as :func:`randomization_test`, the
    engine this dispatches to with the column's fast refit
    (:func:`regrowth.inference.refit.column_refit`). Returns :class:`RandomizationResult`
    (p-values of the t-statistic, ``pvalue``, and of the coefficient, ``pvalue_coef``).
    """
    from regrowth import fit as fit_mod  # the fit layer imports the spec parser, which
    from regrowth import panel as panel_mod  # imports this package: import here, not above
    from regrowth.inference.refit import column_refit

    spec = getattr(results_or_spec, "spec", results_or_spec)
    # a column spec by what it carries (this layer sits below regrowth.specs)
    if not all(hasattr(spec, a) for a in ("regressors", "estimator", "sample", "unit", "name")):
        raise TypeError("randomization_test: pass a fitted column (regrowth.fit.Fitted) or a "
                        f"regrowth.specs.ColumnSpec, not {type(results_or_spec).__name__}")
    if param not in spec.regressors:
        raise ValueError(f"randomization_test: {param!r} is not a regressor of {spec.name} "
                         f"(regressors: {', '.join(spec.regressors)})")
    if panel is None:
        from regrowth.report.reader import project_root

        processed = project_root(None) / "data" / "processed"
        panel = (fit_mod.macro_fit_panel(panel_mod.load_macro(processed))
                 if spec.unit == "macro_region"
                 else fit_mod.with_region_attributes(panel_mod.load(processed)))
    elif spec.unit != "macro_region":
        panel = fit_mod.with_region_attributes(panel)
    data, _ = fit_mod.estimation_sample(spec, panel)
    if data.empty:
        raise ValueError(f"randomization_test: {spec.name} has no observations in the panel "
                         f"given ({spec.sample.describe()})")
    with one_blas_thread():
        refit = column_refit(spec, data, param)
    return randomization_test(refit, data, param, unit=blocks, strata=strata,
                              permutations=permutations, seed=seed, executor=executor,
                              progress=progress)
