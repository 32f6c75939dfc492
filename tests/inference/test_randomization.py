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
    units = list(pd.unique(frame.index.get_level_values("region")))
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
