"""The GNB's Newton iterations in reused scratch arrays (regrowth.models._scratch).

A model evaluates its log likelihood, gradient and Hessian in scratch arrays that it keeps,
and that pass to the next model when it is collected. The reference is the same model's
evaluation in new arrays (``_core`` without a scratch, what ``loglikeobs``/``score_obs`` use):
whatever arrays a model inherits (from a model of another size, with other counts, or none),
and whichever thread evaluates it, the numbers must be the same bits.
"""

import gc
import threading

import numpy as np
import pytest

from regrowth.models import GeneralizedNegativeBinomial
from regrowth.models import _scratch


def _data(n, seed, big=False):
    """Synthetic (for tests only): counts with a dispersion regressor; ``big`` adds counts
    above 100 (the tail terms of the gamma differences)."""
    rng = np.random.default_rng(seed)
    X = np.c_[np.ones(n), rng.normal(size=(n, 2))]
    Z = np.c_[np.ones(n), rng.normal(size=n)]
    mu = np.exp(X @ [1.0, 0.3, -0.2] + (3.0 if big else 0.0))
    alpha = np.exp(Z @ [-0.5, 0.4])
    y = rng.poisson(mu * rng.gamma(1 / alpha, alpha)).astype(float)
    return y, X, Z


def _reference(model, p):
    """llf, gradient and Hessian from new arrays: the per-observation pieces of ``_core``
    summed as ``_derivs`` sums them (X'(w X) and friends)."""
    ll, d = model._core(p, 2)
    X, Z = model._X, model.exog_disp
    grad = np.concatenate([X.T @ d["s_eta"], Z.T @ d["s_t"]])
    H = np.block([[X.T @ (X * d["h_ee"][:, None]), X.T @ (Z * d["h_et"][:, None])],
                  [(X.T @ (Z * d["h_et"][:, None])).T, Z.T @ (Z * d["h_tt"][:, None])]])
    return float(ll.sum()), grad, H


def _assert_same(a, b):
    assert a[0] == b[0]
    np.testing.assert_array_equal(a[1], b[1])
    np.testing.assert_array_equal(a[2], b[2])


@pytest.mark.parametrize("sizes", [(400, 150, 400), (150, 400, 150)])
def test_derivatives_are_the_same_bits_in_inherited_scratch(sizes):
    """Models of other sizes and counts, built and dropped in turn, pass their scratch on;
    each one's derivatives equal those computed in new arrays."""
    for i, n in enumerate(sizes):
        y, X, Z = _data(n, seed=i, big=i == 1)
        model = GeneralizedNegativeBinomial(y, X, exog_disp=Z)
        p = model.start_params_default() + 0.01
        for _ in range(2):  # the first call fills the scratch, the second reuses it
            _assert_same(model._derivs(p, 2), _reference(model, p))
        assert model._derivs(p, 0)[0] == _reference(model, p)[0]
        del model
        gc.collect()


def test_pool_keeps_at_most_pool_size_scratches():
    models = [GeneralizedNegativeBinomial(*_data(200, seed=s)[:2]) for s in range(4)]
    for m in models:
        m._derivs(m.start_params_default(), 2)
    del models, m
    gc.collect()
    assert len(_scratch._POOL) <= _scratch.POOL_SIZE


def test_two_threads_evaluating_one_model_get_the_serial_numbers():
    y, X, Z = _data(3000, seed=7)
    model = GeneralizedNegativeBinomial(y, X, exog_disp=Z)
    points = [model.start_params_default() + 0.002 * k for k in range(40)]
    serial = [model._derivs(p, 2) for p in points]
    out = [[None] * len(points) for _ in range(2)]

    def run(t):
        for k, p in enumerate(points):
            out[t][k] = model._derivs(p, 2)

    threads = [threading.Thread(target=run, args=(t,)) for t in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for t in range(2):
        for a, b in zip(out[t], serial):
            _assert_same(a, b)


def test_fit_is_the_same_bits_with_or_without_a_pooled_scratch():
    y, X, Z = _data(500, seed=3)
    first = GeneralizedNegativeBinomial(y, X, exog_disp=Z).fit()
    gc.collect()  # the first model's scratch is now in the pool
    _scratch._POOL.clear()
    cold = GeneralizedNegativeBinomial(y, X, exog_disp=Z).fit()
    gc.collect()
    warm = GeneralizedNegativeBinomial(y, X, exog_disp=Z).fit()
    for res in (cold, warm):
        np.testing.assert_array_equal(np.asarray(res.params), np.asarray(first.params))
        np.testing.assert_array_equal(np.asarray(res.bse), np.asarray(first.bse))
