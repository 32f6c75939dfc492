"""Randomization inference over doses without refits (``iv_randomization._PermutedDoses``).

The batch of draws (FWL on the once-built within-transformed sample) must equal the draw-by-
draw refits of the estimator (``fast=False``, the former path) to 1e-10 relative, on the
synthetic panel (labelled SYNTHETIC in ``reform_data``) and on the real one, and give the
same p-value: draws within ``RI_REFIT_BAND`` of the observed statistic are refitted, so the
count never depends on rounding.
"""

from __future__ import annotations

import numpy as np
import pytest

import regrowth.reform.dose as dose_mod
from regrowth.models import iv, iv_randomization

RTOL = 1e-10  # the batch agrees with the refits to about 1e-12 (F of 4 leads), 1e-14 (t)


def _pretrend_f(res):
    return res.pretrend_test()["F"]


def _both(data, estimator, dose, param, statistic, *, reps=60, seed=11, **kw):
    fast = iv_randomization.randomization_test(estimator, data, dose, param, reps=reps, seed=seed,
                                 statistic=statistic, **kw)
    slow = iv_randomization.randomization_test(estimator, data, dose, param, reps=reps, seed=seed,
                                 statistic=statistic, fast=False, **kw)
    return fast, slow


def _assert_equal(fast, slow):
    scale = np.maximum(1.0, np.abs(slow["draws"]))
    assert np.max(np.abs(fast["draws"] - slow["draws"]) / scale) < RTOL
    assert fast["observed"] == slow["observed"]
    assert fast["pvalue"] == slow["pvalue"]


@pytest.mark.parametrize("statistic", ["t", "coef"])
def test_did_draws_equal_refits_on_the_synthetic_panel(synthetic_panel, statistic):
    _assert_equal(*_both(synthetic_panel, iv.did, "dose", "dose_x_post", statistic,
                         outcome="fiscal_autonomy"))


def test_event_study_pretrend_draws_equal_refits_on_the_synthetic_panel(synthetic_panel):
    fast, slow = _both(synthetic_panel, iv.event_study, "dose", None, "pretrend",
                       outcome="outcome")
    _assert_equal(fast, slow)
    # the string and the function give the same draws (the function gets a results object)
    f, _ = _both(synthetic_panel, iv.event_study, "dose", None, _pretrend_f, reps=20,
                 outcome="outcome")
    np.testing.assert_allclose(f["draws"], fast["draws"][:20], rtol=RTOL)


def test_unbalanced_sample_with_a_missing_dose_and_excluded_year(synthetic_panel):
    """Rows missing the outcome, a province without a dose, 2020 excluded, a subset of
    provinces: the draws' sample is still fixed and the batch equals the refits."""
    p = synthetic_panel.copy()
    rng = np.random.default_rng(4)
    p.iloc[rng.choice(len(p), 20, replace=False), p.columns.get_loc("fiscal_autonomy")] = np.nan
    p.loc[p.index.get_level_values(0) == "r03", "dose"] = np.nan
    keep = [f"r{i:02d}" for i in range(15)]
    for est, param, stat in ((iv.did, "dose_x_post", "t"), (iv.event_study, None, "pretrend")):
        _assert_equal(*_both(p, est, "dose", param, stat, outcome="fiscal_autonomy",
                             exclude_years=(2020,), regions=keep))


def test_draws_inside_the_band_are_the_refits_own(synthetic_panel, monkeypatch):
    """With the band widened to everything, every draw is a refit: the draws are then the
    refits' bit for bit (the band is what makes the count independent of rounding)."""
    monkeypatch.setattr(iv_randomization, "RI_REFIT_BAND", np.inf)
    fast, slow = _both(synthetic_panel, iv.did, "dose", "dose_x_post", "t", reps=15,
                       outcome="fiscal_autonomy")
    np.testing.assert_array_equal(fast["draws"], slow["draws"])


def test_real_panel_reform_draws_equal_refits(real_panel):
    p = dose_mod.dose_panel(real_panel)
    regions = sorted(set(p.index.get_level_values(0)) - {"sejong"})
    for col in ("fiscal_self_reliance", "fiscal_autonomy"):
        if col not in p.columns:
            continue
        _assert_equal(*_both(p, iv.event_study, "phase1_dose", None, "pretrend", reps=40,
                             outcome=col, regions=regions))
        _assert_equal(*_both(p, iv.did, "phase1_dose", "phase1_dose_x_post", "t", reps=40,
                             outcome=col, regions=regions))
