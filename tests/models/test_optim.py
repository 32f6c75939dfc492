"""models._optim.newton: the one safeguarded Newton solver (GNB, NB2, count panels)."""

from __future__ import annotations

import numpy as np
import pytest

from regrowth.models._optim import newton


def _poisson(X, y):
    def derivs(b, order):
        eta = X @ b
        mu = np.exp(eta)
        ll = float(np.sum(y * eta - mu))
        if order == 0:
            return (ll,)
        return ll, X.T @ (y - mu), -(X * mu[:, None]).T @ X
    return derivs


def test_converges_to_machine_precision_from_a_far_start():
    rng = np.random.default_rng(3)
    X = np.c_[np.ones(500), rng.normal(size=(500, 2))]
    y = rng.poisson(np.exp(X @ np.array([0.5, 0.3, -0.2])))
    res = newton(_poisson(X, y), np.array([5.0, -3.0, 3.0]))
    assert res.info["converged"] and res.info["message"] == "converged"
    # the polishing step leaves the score at rounding level, not at sqrt(tol)
    assert np.max(np.abs(res.grad)) < 1e-8 * np.sum(y)
    import statsmodels.api as sm

    ref = sm.GLM(y, X, family=sm.families.Poisson()).fit(tol=1e-14).params
    assert res.params == pytest.approx(ref, rel=1e-10)


def test_a_stop_rule_ends_the_search_with_its_message():
    X = np.ones((10, 1))
    y = np.arange(10.0)
    res = newton(_poisson(X, y), np.array([0.0]), stop=lambda b: "stop here" if b[0] > -1 else None)
    assert not res.info["converged"] and res.info["stopped"] and res.info["message"] == "stop here"


def test_a_non_finite_start_is_reported_not_iterated():
    res = newton(lambda b, order: (float("nan"),) if order == 0 else (float("nan"), None, None),
                 np.zeros(2))
    assert not res.info["converged"] and "not finite" in res.info["message"]
