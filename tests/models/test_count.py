"""Poisson (models/count.py) against Stata's `poisson` on the ships data.

Stata numbers: tests/fixtures/count/stata_poisson.py, copied from statsmodels' test suite by
tests/fixtures/count/extract_stata_poisson.py (versions in versions.txt). Stata scales the
sandwich by N/(N-1) (robust) and G/(G-1) (cluster) for ML estimators; the factor comes from
regrowth.models.covariance.stata_ml_scale. Tolerance 1e-6 relative (Stata prints ~14 digits;
the Newton fit stops at tol 1e-12).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from regrowth.models.count import poisson

FIX = Path(__file__).resolve().parents[1] / "fixtures"


def _module(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


STATA = _module(FIX / "count" / "stata_poisson.py").POISSON


@pytest.fixture(scope="module")
def ships() -> pd.DataFrame:
    return pd.read_csv(FIX / "gnb" / "ships.csv").dropna().reset_index(drop=True)


@pytest.mark.parametrize("case, se_type, exposure", [
    ("clu", "cluster", False), ("hc1", "robust", False),
    ("exposure_nonrobust", "oim", True), ("exposure_hc1", "robust", True),
    ("exposure_clu", "cluster", True),
])
def test_poisson_matches_stata(ships, case, se_type, exposure):
    ref = STATA[case]
    X = ships[["yr_con", "op_75_79"]].assign(const=1.0)
    res = poisson(ships["accident"].astype(float), X,
                  ships["service"].astype(float) if exposure else None, se_type,
                  ships["ship"].to_numpy() if se_type == "cluster" else None)
    np.testing.assert_allclose(res.params, ref["params"], rtol=1e-6)
    np.testing.assert_allclose(res.bse, ref["bse"], rtol=1e-6)
    np.testing.assert_allclose(np.asarray(res.cov_params()).ravel(), ref["cov"], rtol=1e-6)


def test_poisson_refuses_an_all_zero_outcome_naming_it():
    """Synthetic: 30 zero counts have no finite maximum (issue 8)."""
    from regrowth.errors import EstimationError

    X = pd.DataFrame({"const": 1.0, "x": np.arange(30.0)})
    y = pd.Series(0.0, index=X.index, name="patents")
    with pytest.raises(EstimationError, match="'patents' is zero in all 30 observations"):
        poisson(y, X)
