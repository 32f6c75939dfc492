"""regrowth.fit: what a failed fit on a shrunk sample says (issue 20, item 4).

A regressor observed in only part of the years shrinks the estimation sample by listwise
deletion; a flag that is 1 only outside the remaining years (``sejong_break``) is then all
zero, and the estimator's own message ("exog is rank deficient") names neither. The package's
message says from how many rows to how many, which variable's missing values did it, and
which regressors no longer vary.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from regrowth import regions
from regrowth.errors import EstimationError, SpecificationError
from regrowth.fit import fit_column, sample_shrinkage
from regrowth.specs import ColumnSpec, Sample

SEED = 20181121


@pytest.fixture(scope="module")
def panel():
    """Seeded 8 provinces x 2002-2017; ``rnd`` observed from 2014 only; ``sejong_break`` is 1
    for one province in 2012-13 only."""
    rng = np.random.default_rng(SEED)
    keys = [r.key for r in regions.REGIONS][:8]
    idx = pd.MultiIndex.from_product([keys, range(2002, 2018)], names=["region", "year"])
    n = len(idx)
    years = idx.get_level_values("year")
    x = rng.normal(size=n)
    brk = ((idx.get_level_values("region") == keys[3]) & years.isin([2012, 2013])).astype(float)
    rnd = np.where(years >= 2014, rng.normal(size=n), np.nan)
    return pd.DataFrame({"x": x, "rnd": rnd, "sejong_break": brk,
                         "growth": 1 + 0.5 * x + brk + rng.normal(size=n)}, index=idx)


def _spec(regressors, estimator="fgls"):
    return ColumnSpec(table="t", id="c", label="(1)", title="T", estimator=estimator,
                      outcome="growth", regressors=tuple(regressors), sample=Sample(2002, 2017),
                      se_type="conventional", rationale="test",
                      options={"panels": "hetero", "corr": "ar1"})


def test_sample_shrinkage_counts_rows_missing_values_and_constant_regressors(panel):
    info = sample_shrinkage(_spec(["x", "rnd", "sejong_break"]), panel)
    assert (info["window"], info["kept"]) == (128, 32)          # 8 x 16 -> 8 x 4 years
    assert info["missing"] == {"rnd": 96}
    assert info["constant"] == {"sejong_break": 0.0}
    assert info["years"] == "2014–2017"


def test_a_shrunk_sample_with_an_all_zero_regressor_is_explained_not_rank_deficient(panel):
    with pytest.raises(SpecificationError) as err:
        fit_column(_spec(["x", "rnd", "sejong_break"]), panel)
    text = str(err.value)
    assert "t/c" in text
    assert "shrank from 128 to 32 rows" in text
    assert "'rnd' missing in 96" in text
    assert "'sejong_break' is all zero" in text
    assert "2014–2017" in text
    assert "specs/models.toml" in text                          # what to do
    assert isinstance(err.value.__cause__, EstimationError)    # the estimator's error is kept


@pytest.mark.parametrize("regressors", [["x", "dup"], ["x", "dup", "rnd"]])
def test_a_failure_with_no_constant_regressor_keeps_the_estimators_own_error(panel, regressors):
    """Collinear but varying regressors: nothing to name, on the full or a shrunk sample."""
    data = panel.assign(dup=panel["x"] * 2.0)
    with pytest.raises(EstimationError, match="rank deficient"):
        fit_column(_spec(regressors), data)


def test_a_fit_that_works_is_unchanged_by_the_check(panel):
    fitted = fit_column(_spec(["x", "rnd"]), panel)
    assert fitted.stats["nobs"] == 32 and fitted.stats["dropped_missing"] == 96
