"""models._optim.newton: the one safeguarded Newton solver (GNB, NB2, count panels)."""

from __future__ import annotations

import numpy as np
import pytest

from regrowth.models._optim import BATCH_STATUS, newton, newton_batch


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


# --------------------------------------------------------------------- newton_batch

def _poisson_batch(Xs, y):
    """The Poisson derivatives of ``_poisson`` for a stack of designs, in newton_batch's form."""
    def derivs(P, rows, order):
        out = [_poisson(Xs[r], y)(p, order) for r, p in zip(rows, P)]
        llf = np.array([o[0] for o in out])
        if order == 0:
            return llf, None, None
        return llf, np.array([o[1] for o in out]), np.array([o[2] for o in out])
    return derivs


def test_newton_batch_takes_each_problem_through_newtons_steps():
    """SYNTHETIC: five Poisson problems that differ in one regressor, started far away; each
    problem of the batch ends where newton() alone ends, after as many iterations, with the
    same status; the values to 1e-12 relative (the same derivatives, but numpy's stacked
    eigendecomposition in place of scipy's: the last bits may differ)."""
    rng = np.random.default_rng(11)
    X = np.c_[np.ones(300), rng.normal(size=(300, 2))]
    y = rng.poisson(np.exp(X @ np.array([0.5, 0.3, -0.2]))).astype(float)
    Xs = np.repeat(X[None], 5, axis=0)
    Xs[:, :, 2] = np.array([rng.permutation(X[:, 2]) for _ in range(5)])
    start = np.array([[3.0, -2.0, 2.0]] * 5)
    P, llf, grad, H, status, iters = newton_batch(_poisson_batch(Xs, y), start, maxiter=50)
    for b in range(5):
        one = newton(_poisson(Xs[b], y), start[b], maxiter=50)
        assert BATCH_STATUS[status[b]] == "converged" and one.info["converged"]
        assert iters[b] == one.info["iterations"]
        np.testing.assert_allclose(P[b], one.params, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(H[b], one.hessian, rtol=1e-12)
        assert llf[b] == pytest.approx(one.llf, rel=1e-14)


def test_newton_batch_reports_the_iteration_limit_and_the_stop_rule_per_problem():
    """SYNTHETIC: with 2 iterations from a far start no problem converges (failed, as newton's
    "iteration limit"); a stop rule that fires for problem 1 only stops problem 1; problems
    left out by ``active`` are failed and untouched."""
    rng = np.random.default_rng(12)
    X = np.c_[np.ones(200), rng.normal(size=(200, 2))]
    y = rng.poisson(np.exp(X @ np.array([0.5, 0.3, -0.2]))).astype(float)
    Xs = np.repeat(X[None], 3, axis=0)
    start = np.array([[3.0, -2.0, 2.0]] * 3)
    _, _, _, _, status, _ = newton_batch(_poisson_batch(Xs, y), start, maxiter=2)
    assert [BATCH_STATUS[s] for s in status] == ["failed"] * 3
    assert not newton(_poisson(X, y), start[0], maxiter=2).info["converged"]
    P, _, _, _, status, _ = newton_batch(_poisson_batch(Xs, y), start,
                                         stop=lambda p, rows: rows == 1,
                                         active=np.array([True, True, False]))
    assert [BATCH_STATUS[s] for s in status] == ["converged", "stopped", "failed"]
    np.testing.assert_array_equal(P[2], start[2])
