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


# --------------------------------------------- convergence by the package's rule (issue 20)

def _large_intercept_data(seed=20181121):
    """log mu = -100 + 2 x with x = 50 + u: an intercept of -100 beside a slope of 2, where
    statsmodels' absolute step rule (every step < 1e-12) is at the mercy of rounding."""
    rng = np.random.default_rng(seed)
    x = 50 + rng.normal(0, 0.5, 400)
    y = rng.poisson(np.exp(-100 + 2 * x))
    return pd.Series(y, name="y"), pd.DataFrame({"const": 1.0, "x": x})


def test_convergence_is_judged_by_the_newton_decrement_not_the_step_size():
    import statsmodels.api as sm
    from regrowth.models import _optim
    from regrowth.models.count import _judge_convergence

    y, X = _large_intercept_data()
    res = poisson(y, X)
    assert res.mle_retvals["converged"] and res.mle_retvals["decrement"] < 1e-18
    assert not res.mle_retvals["borderline"]
    glm = sm.GLM(y, X, family=sm.families.Poisson()).fit(tol=1e-14)  # IRLS: another route
    np.testing.assert_allclose(res.params.to_numpy(), glm.params.to_numpy(), rtol=1e-8)
    # statsmodels stopped at the maximum without its own step test passing (no iteration):
    # the package's rule still says converged, from the decrement alone
    at_max = sm.Poisson(y, X).fit(start_params=res.params.to_numpy(), method="newton",
                                  maxiter=0, disp=0, warn_convergence=False)
    assert at_max.mle_retvals["converged"] is False and at_max.converged is False
    _judge_convergence(at_max)
    assert at_max.mle_retvals["converged"] and at_max.mle_retvals["decrement"] < _optim.TOL
    # the attribute statsmodels copied at construction, which glance (and so the tables and
    # the curve) reads first, carries the package's verdict too
    from regrowth.report.tidy import glance

    assert at_max.converged is True and glance(at_max)["converged"] is True


def test_a_fit_away_from_the_maximum_is_not_converged_and_says_why():
    import warnings as w
    import statsmodels.api as sm
    from regrowth.errors import ConvergenceWarning
    from regrowth.models.count import _judge_convergence

    y, X = _large_intercept_data()
    early = sm.Poisson(y, X).fit(start_params=[-99.0, 1.98], method="newton", maxiter=0,
                                 disp=0, warn_convergence=False)
    with w.catch_warnings(record=True) as caught:
        w.simplefilter("always")
        _judge_convergence(early)
    assert early.mle_retvals["converged"] is False and early.mle_retvals["decrement"] > 1e-6
    assert any(issubclass(c.category, ConvergenceWarning)
               and "scaled Newton decrement" in str(c.message) for c in caught)
