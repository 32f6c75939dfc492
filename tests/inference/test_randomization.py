"""Randomization inference by whole-series permutation (regrowth.inference.randomization).

Synthetic panels (marked so): the reference p-values are computed here independently, by
listing every permutation with itertools and fitting OLS with numpy's lstsq.
"""

import itertools
import math

import numpy as np
import pandas as pd
import pytest

from regrowth.inference.randomization import randomization_test


def _panel(G=5, T=4, seed=0, effect=0.5):
    """SYNTHETIC: y = effect * d + unit noise, d a unit-specific series."""
    rng = np.random.default_rng(seed)
    units = [f"u{g}" for g in range(G)]
    idx = pd.MultiIndex.from_product([units, range(2001, 2001 + T)], names=["region", "year"])
    d = np.repeat(rng.normal(size=G), T) + 0.1 * rng.normal(size=G * T)
    y = effect * d + rng.normal(size=G * T)
    stratum = np.repeat([0 if g < 2 else 1 for g in range(G)], T)
    return pd.DataFrame({"y": y, "d": d, "stratum": stratum}, index=idx)


def _ols(frame):
    X = np.column_stack([np.ones(len(frame)), frame["d"].to_numpy()])
    y = frame["y"].to_numpy()
    b, *_ = np.linalg.lstsq(X, y, rcond=None)
    e = y - X @ b
    s2 = e @ e / (len(y) - 2)
    se = math.sqrt(s2 * np.linalg.inv(X.T @ X)[1, 1])
    return float(b[1]), se


def _by_hand(frame, groups):
    """Exact randomization p of |t| by listing every within-group permutation."""
    wide = frame["d"].unstack("year")
    b0, s0 = _ols(frame)
    t0 = abs(b0 / s0)
    hits = total = 0
    for combo in itertools.product(*(itertools.permutations(g) for g in groups)):
        assign = dict(zip([u for g in groups for u in g], [u for c in combo for u in c]))
        f = frame.copy()
        f["d"] = [wide.loc[assign[u], y] for u, y in f.index]
        b, s = _ols(f)
        hits += abs(b / s) >= t0 - 1e-12
        total += 1
    return hits / total, total


def test_all_permutations_enumerated_give_the_exact_p_value():
    frame = _panel(G=5)
    res = randomization_test(_ols, frame, "d", permutations=200)
    want, total = _by_hand(frame, [[f"u{g}" for g in range(5)]])
    assert res.enumerated and res.permutations == total == 120 and res.seed is None
    assert res.pvalue == pytest.approx(want, abs=1e-12)


def test_strata_permute_units_only_within_their_stratum():
    frame = _panel(G=5)
    res = randomization_test(_ols, frame, "d", strata="stratum", permutations=1000)
    want, total = _by_hand(frame, [["u0", "u1"], ["u2", "u3", "u4"]])
    assert res.enumerated and res.permutations == total == 2 * 6
    assert res.pvalue == pytest.approx(want, abs=1e-12)


def test_random_draws_never_give_zero_and_count_the_observed_assignment():
    frame = _panel(G=8, effect=5.0)  # a huge effect: no permutation is as extreme
    res = randomization_test(_ols, frame, "d", permutations=99, seed=3)
    assert not res.enumerated and res.permutations == 99
    assert res.pvalue == pytest.approx(1 / 100) and res.pvalue_coef == pytest.approx(1 / 100)
    again = randomization_test(_ols, frame, "d", permutations=99, seed=3)
    assert again.pvalue == res.pvalue


def test_a_stratum_that_varies_within_a_unit_is_refused():
    frame = _panel(G=5)
    frame.iloc[0, frame.columns.get_loc("stratum")] = 1
    with pytest.raises(ValueError, match="varies within unit 'u0'"):
        randomization_test(_ols, frame, "d", strata="stratum")


def test_rows_whose_reassigned_treatment_is_missing_are_left_out_and_counted():
    frame = _panel(G=4).drop(("u1", 2001))
    seen = []

    def fit(f):
        seen.append(len(f))
        return _ols(f)

    res = randomization_test(fit, frame, "d", permutations=50)
    assert res.enumerated and res.rows_lost == 1
    assert min(seen) == len(frame) - 1 and max(seen) == len(frame)


# ----------------------------------------------------------------------------- blocks

def _blocked_panel(seed=0, T=4):
    """SYNTHETIC: 7 provinces in 3 macro-regions (3, 2, 2); d varies by macro-region only."""
    rng = np.random.default_rng(seed)
    macro = {"p0": "A", "p1": "A", "p2": "A", "p3": "B", "p4": "B", "p5": "C", "p6": "C"}
    idx = pd.MultiIndex.from_product([list(macro), range(2001, 2001 + T)],
                                     names=["region", "year"])
    series = {m: rng.normal(size=T) for m in "ABC"}
    d = np.array([series[macro[r]][y - 2001] for r, y in idx])
    y = 0.7 * d + rng.normal(size=len(idx))
    return pd.DataFrame({"y": y, "d": d, "macro_region": [macro[r] for r, _ in idx]}, index=idx)


def test_blocks_deal_out_whole_macro_region_series_and_enumerate_their_permutations():
    frame = _blocked_panel()
    seen = set()

    def fit(f):
        # every province of a macro-region carries one value a year: the macro structure kept
        assert (f.groupby(["macro_region", f.index.get_level_values("year")])["d"]
                .nunique() == 1).all()
        seen.add(tuple(f["d"].round(12)))
        return _ols(f)

    res = randomization_test(fit, frame, "d", unit="macro_region", permutations=100)
    assert res.enumerated and res.permutations == 6 and res.n_units == 3
    assert res.unit == "macro_region" and len(seen) == 6
    # by hand: each of the 3! assignments of the macro-region series
    wide = frame.groupby(["macro_region", frame.index.get_level_values("year")])["d"].first()
    t0 = abs(np.divide(*_ols(frame)))
    hits = 0
    for perm in itertools.permutations("ABC"):
        move = dict(zip("ABC", perm))
        f = frame.copy()
        f["d"] = [wide[(move[m], y)] for m, (_, y) in zip(frame["macro_region"], frame.index)]
        hits += abs(np.divide(*_ols(f))) >= t0 - 1e-12
    assert res.pvalue == pytest.approx(hits / 6, abs=1e-12)


def test_a_treatment_that_varies_within_a_block_is_refused():
    frame = _blocked_panel()
    frame.iloc[0, frame.columns.get_loc("d")] += 1.0
    with pytest.raises(ValueError, match="several values within unit 'A' in 2001"):
        randomization_test(_ols, frame, "d", unit="macro_region")


def test_an_unknown_permutation_unit_is_refused_with_its_name():
    with pytest.raises(ValueError, match="permutation unit 'province' is neither"):
        randomization_test(_ols, _panel(), "d", unit="province")


# ----------------------------------------------------------------------------- backends

def test_the_result_is_the_same_for_every_chunk_size_and_on_worker_processes():
    from regrowth.curve.backends import Executor

    frame = _panel(G=9, effect=0.3)
    base = randomization_test(_ols, frame, "d", permutations=60, seed=11).to_dict()
    for chunk in (1, 7, 60):
        assert randomization_test(_ols, frame, "d", permutations=60, seed=11,
                                  chunk=chunk).to_dict() == base
    with Executor("processes", workers=2) as ex:
        got = randomization_test(_ols, frame, "d", permutations=60, seed=11, chunk=13,
                                 executor=ex).to_dict()
    assert got == base


def test_fits_that_fell_back_to_a_cold_refit_are_counted():
    frame = _panel(G=5)

    def fit(f):
        b, s = _ols(f)
        return b, s, f["d"].iloc[0] < 0  # "cold" on the draws whose first value is negative

    res = randomization_test(fit, frame, "d", permutations=200)
    want = sum(frame["d"].unstack().to_numpy()[list(p)][0, 0] < 0
               for p in itertools.permutations(range(5)))
    assert res.fallbacks == want and 0 < want < 120


def test_a_refit_with_a_batch_settles_the_draws_that_keep_every_row():
    """SYNTHETIC, unbalanced (u1 has no 2004 row): every draw goes to ``fit.batch``, NaN on
    the row it loses (draws that do not leave u1's series to u1); the draws it leaves (None)
    are refitted by ``fit``; the result is the one without a batch, rows lost included."""
    frame = _panel(G=6).drop(("u1", 2004))
    seen, asked = [], []

    class Batched:
        def __call__(self, f):
            asked.append(len(f))
            return _ols(f)

        def batch(self, xs):
            out = []
            for x in xs:
                seen.append(x)
                keep = ~np.isnan(x)
                f = frame.loc[keep].copy()
                f["d"] = x[keep]
                out.append(_ols(f) if x[0] > 0 else None)  # leave some to fit
            return out

    kw = {"permutations": 300, "seed": 4}
    got = randomization_test(Batched(), frame, "d", **kw)
    assert got.to_dict() == randomization_test(_ols, frame, "d", **kw).to_dict()
    assert got.rows_lost == 1 and len(seen) == 300
    u1 = frame.loc["u1", "d"].to_numpy()
    full = [x for x in seen if not np.isnan(x).any()]
    assert 0 < len(full) < 300
    for x in full:  # a draw that keeps every row leaves u1's own series to u1
        np.testing.assert_array_equal(x[4:7], u1)
    left = [x for x in seen if x[0] <= 0]
    assert left and len(asked) == 1 + len(left)  # the observed fit and the draws left
