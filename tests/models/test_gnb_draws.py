"""Many GNB refits at once (regrowth.models.gnb_draws) against the same refits one at a time.

A draw with integer frequency weights w is the model refitted on its rows stacked w times; the
reference is GeneralizedNegativeBinomial on those stacked rows (its own likelihood, score,
Hessian and fit). Synthetic data (seeded): 12 clusters of 8 observations, an NB2 mean with two
regressors and ln(alpha) on a cluster-level 0/1 variable. Tolerances: derivatives 1e-10
relative (the same sums in another order), estimates 1e-7 absolute (both stop at a Newton
decrement below 1e-12 and polish once, so they agree to about 1e-9).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from regrowth.models._special import GammaDiffs
from regrowth.models.gnb import GeneralizedNegativeBinomial
from regrowth.models.gnb_draws import STATUS, fit_weighted, weighted_derivs

G, T = 12, 8


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(20261205)
    cl = np.repeat(np.arange(G), T)
    x1 = rng.normal(size=G * T)
    x2 = rng.normal(size=G)[cl] + 0.5 * rng.normal(size=G * T)
    d = (np.arange(G) < 4).astype(float)[cl]
    X = np.column_stack([np.ones(G * T), x1, x2])
    Z = np.column_stack([np.ones(G * T), d])
    mu = np.exp(1.0 + 0.4 * x1 - 0.3 * x2)
    alpha = np.exp(-0.5 + 0.8 * d)
    y = rng.negative_binomial(1.0 / alpha, 1.0 / (1.0 + alpha * mu)).astype(float)
    return y, X, Z, cl


def _draws(seed: int, B: int) -> np.ndarray:
    """B cluster draws as frequency weights per cluster, stratified like the chain's (the four
    d = 1 clusters among themselves, the eight others among themselves)."""
    rng = np.random.default_rng(seed)
    w = np.zeros((B, G))
    for b in range(B):
        for layer in (np.arange(4), np.arange(4, G)):
            np.add.at(w[b], layer[rng.integers(0, layer.size, layer.size)], 1.0)
    return w


def _stacked(data, wc):
    y, X, Z, cl = data
    rows = np.concatenate([np.repeat(np.flatnonzero(cl == g), int(wc[g])) for g in range(G)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return GeneralizedNegativeBinomial(y[rows], X[rows], Z[rows])


@pytest.mark.parametrize("counts", ["synthetic", "large", "fractional"])
def test_gamma_diffs_of_many_draws_are_those_of_each_draw(data, counts):
    """Exact sums (integer counts), the lnG tail above 100 and the asymptotic differences for
    r > 1e5, and scipy's functions (non-integer y): column b of an (n, B) call is the call
    with that column."""
    y = {"synthetic": data[0], "large": np.array([0.0, 1, 7, 99, 100, 101, 250, 3000] * 4),
         "fractional": np.array([0.0, 0.5, 2.25, 7, 120.5] * 6)}[counts]
    r = np.exp(np.random.default_rng(1).normal(size=(y.size, 5)) * 3)
    r[::3, 1] = 1e7
    many = GammaDiffs(y)(r, 2)
    for b in range(r.shape[1]):
        one = GammaDiffs(y)(r[:, b], 2)
        for a, c in zip(many, one):
            np.testing.assert_allclose(a[:, b], c, rtol=1e-14, atol=0)


@pytest.mark.parametrize("counts", ["synthetic", "large"])
def test_gamma_diffs_by_dispersion_group_are_the_same_bits(data, counts):
    """Rows sharing r (a dispersion design with few distinct rows: NB2, a 0/1 regressor): the
    running sums of one table per group are the row-by-row sums, bit for bit (the same terms
    added in the same order), including the tail above 100 and r > 1e5."""
    y = {"synthetic": data[0], "large": np.array([0.0, 1, 7, 99, 100, 101, 250, 3000] * 4)}[counts]
    groups = np.arange(y.size) % 3
    first = np.array([0, 1, 2])
    r = np.exp(np.random.default_rng(2).normal(size=(3, 6)) * 3)[groups]
    r[:, 1] = 1e7
    gd = GammaDiffs(y)
    for order in (0, 1, 2):
        for a, c in zip(gd.grouped(r, order, groups, first), gd(r, order)):
            assert (a is None and c is None) or a.tobytes() == c.tobytes()


@pytest.mark.parametrize("counts", ["synthetic", "large"])
def test_gamma_diffs_on_the_drawn_cells_are_the_same_bits(data, counts):
    """Evaluated only where a draw has weight (the cells of each row in GammaDiffs.row_order),
    the sums are those of the full evaluation there, bit for bit."""
    y = {"synthetic": data[0], "large": np.array([0.0, 1, 7, 99, 100, 101, 250, 3000] * 4)}[counts]
    rng = np.random.default_rng(3)
    r = np.exp(rng.normal(size=(y.size, 7)) * 3)
    r[::3, 1] = 1e7
    on = rng.random(r.shape) < 0.6
    gd = GammaDiffs(y)
    on_s = on[gd.row_order]
    rc = r[gd.row_order][on_s]
    for order in (0, 1, 2):
        full = gd(r, order)
        for a, c in zip(gd.cells(rc, on_s.sum(axis=1), order), full):
            assert (a is None and c is None) or a.tobytes() == c[gd.row_order][on_s].tobytes()


def test_weighted_derivatives_are_those_of_the_full_arrays(data):
    """The drawn-cells evaluation (and the grouped sums where the dispersion rows repeat) gives
    the bytes of the full (n, B) evaluation with row-by-row sums, at a continuous and at a
    0/1 dispersion regressor."""
    from regrowth.models import gnb_draws

    y, X, Z, cl = data
    W = _draws(5, 30)[:, cl]
    P = np.array([0.9, 0.3, -0.2, -0.4, 0.6]) + 0.05 * np.random.default_rng(4).normal(
        size=(30, 5))
    for Zd in (Z, np.column_stack([Z[:, 0], X[:, 2]])):
        m = GeneralizedNegativeBinomial(y, X, Zd)
        Xa, Za, off, ya = gnb_draws._arrays(m)
        eta = Xa @ P[:, :3].T + off[:, None]
        t = Za @ P[:, 3:].T
        for order in (0, 1, 2):
            got = weighted_derivs(m, P, W, order)
            ref = gnb_draws._derivs_full(m, Xa, Za, ya, P, np.ascontiguousarray(W.T), eta, t,
                                         order)
            for a, c in zip(got, ref):
                assert (a is None and c is None) or a.tobytes() == c.tobytes()


def test_weighted_derivatives_are_the_stacked_models(data):
    y, X, Z, cl = data
    full = GeneralizedNegativeBinomial(y, X, Z)
    W = _draws(3, 4)[:, cl]
    P = np.array([[0.9, 0.3, -0.2, -0.4, 0.6]] * 4) + 0.01 * np.arange(4)[:, None]
    llf, grad, H = weighted_derivs(full, P, W, 2)
    for b in range(4):
        ref = _stacked(data, _draws(3, 4)[b])
        np.testing.assert_allclose(llf[b], ref.loglike(P[b]), rtol=1e-10)
        np.testing.assert_allclose(grad[b], ref.score(P[b]), rtol=1e-10, atol=1e-9)
        np.testing.assert_allclose(H[b], ref.hessian(P[b]), rtol=1e-10, atol=1e-9)


def test_batched_fits_are_the_stacked_refits(data):
    y, X, Z, cl = data
    full = GeneralizedNegativeBinomial(y, X, Z)
    wc = _draws(11, 40)
    params, status, _ = fit_weighted(full, None, wc[:, cl])
    assert np.all(status == STATUS.index("converged"))
    for b in range(wc.shape[0]):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = _stacked(data, wc[b]).fit()
        assert ref.converged
        np.testing.assert_allclose(params[b], np.asarray(ref.params), rtol=0, atol=1e-7)


def test_a_draw_without_a_dispersion_group_is_left_to_a_full_refit(data):
    """Unstratified, a draw without any d = 1 cluster makes z = d identically zero: the full
    fit refuses that design, so the batch must not return a number for it."""
    y, X, Z, cl = data
    full = GeneralizedNegativeBinomial(y, X, Z)
    wc = np.zeros((1, G))
    wc[0, 4:8] = 2.0
    wc[0, 8:] = 1.0  # 12 draws, all among the 8 clusters with d = 0
    _, status, _ = fit_weighted(full, None, wc[:, cl])
    assert status[0] == STATUS.index("refit")


# ----------------------------------------------------------- per-draw designs (randomization)

def _permuted_designs(X, cl, seed: int, B: int) -> np.ndarray:
    """B copies of X whose regressor x2 (column 2) has its cluster series dealt out anew, as a
    randomization test does (SYNTHETIC)."""
    rng = np.random.default_rng(seed)
    series = X[:, 2].reshape(G, T)
    out = np.repeat(X[None], B, axis=0)
    for b in range(B):
        out[b, :, 2] = series[rng.permutation(G)].ravel()
    return out


def _model(data, Xd=None):
    y, X, Z, cl = data
    return GeneralizedNegativeBinomial(y, X if Xd is None else Xd, Z)


def test_derivatives_with_per_draw_designs_are_each_designs_model(data):
    """``designs``: draw b's likelihood, score and Hessian are those of the model built on its
    own design (1e-10 relative: the same sums in another order), at a 0/1 and at a constant
    dispersion (NB2, the grouped path)."""
    y, X, Z, cl = data
    Xs = _permuted_designs(X, cl, 7, 6)
    P = np.array([0.9, 0.3, -0.2, -0.4, 0.6]) + 0.05 * np.random.default_rng(8).normal(
        size=(6, 5))
    for Zd, p in ((Z, P), (Z[:, :1], P[:, :4])):
        m = GeneralizedNegativeBinomial(y, X, Zd)
        llf, grad, H = weighted_derivs(m, p, np.ones((6, len(y))), 2, designs=Xs)
        for b in range(6):
            ref = GeneralizedNegativeBinomial(y, Xs[b], Zd)
            np.testing.assert_allclose(llf[b], ref.loglike(p[b]), rtol=1e-10)
            np.testing.assert_allclose(grad[b], ref.score(p[b]), rtol=1e-10, atol=1e-9)
            np.testing.assert_allclose(H[b], ref.hessian(p[b]), rtol=1e-10, atol=1e-9)


def test_batched_fits_of_per_draw_designs_are_the_refits_of_each_design(data):
    """``fit_weighted(..., designs=)`` with unit weights: every draw converges to the estimate of
    the full fit on its own design (1e-10 relative, 1e-12 absolute), from the observed
    estimate."""
    y, X, Z, cl = data
    full = _model(data)
    start = np.asarray(full.fit().params)
    Xs = _permuted_designs(X, cl, 9, 12)
    params, status, _ = fit_weighted(full, start, np.ones((12, len(y))), designs=Xs)
    assert np.all(status == STATUS.index("converged"))
    for b in range(12):
        ref = _model(data, Xs[b]).fit()
        assert ref.converged
        np.testing.assert_allclose(params[b], np.asarray(ref.params), rtol=1e-10, atol=1e-12)


def test_a_draws_numbers_do_not_depend_on_the_other_draws_of_the_batch(data):
    """Per-draw designs: fitting the draws one at a time, seven at a time or all at once gives
    the same bytes for each draw (every product is the draw's own)."""
    y, X, Z, cl = data
    full = _model(data)
    start = np.asarray(full.fit().params)
    Xs = _permuted_designs(X, cl, 10, 15)
    ones = np.ones((15, len(y)))
    whole = fit_weighted(full, start, ones, designs=Xs)[0]
    for size in (1, 7):
        parts = np.concatenate([fit_weighted(full, start, ones[i:i + size],
                                             designs=Xs[i:i + size])[0]
                                for i in range(0, 15, size)])
        assert parts.tobytes() == whole.tobytes()
