"""The effective number of clusters G* (Carter, Schnepel & Steigerwald 2017) and the top-two
cluster share, against an independent transcription of the formulas (cluster by cluster, as
Stata's ``summclust, gstar rho()`` computes them in Mata) and closed forms."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from regrowth.errors import SpecificationError
from regrowth.inference.clusters import cluster_diagnostics, effective_clusters, top_share


def _design(seed=3, G=9):
    """Synthetic, unbalanced clusters (not real data): sizes 2..10, a cluster-level regressor,
    an observation-level one and a constant."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(2, 11, size=G)
    ids = np.repeat([f"c{g}" for g in range(G)], sizes)
    n = len(ids)
    level = np.repeat(rng.normal(size=G), sizes)
    X = np.column_stack([np.ones(n), level + 0.3 * rng.normal(size=n), rng.normal(size=n)])
    return X, ids


def _gstar_by_hand(X, ids, j, rho):
    """summclust's loop: w = (X'X)^-1 column j; gamma_g(0) = w'X_g'X_g w,
    gamma_g(1) = (iota'X_g w)^2, gamma_g(rho) = rho gamma_g(1) + (1 - rho) gamma_g(0);
    Gamma = mean(((gamma_g - mean gamma) / mean gamma)^2); G* = G / (1 + Gamma)."""
    w = np.linalg.inv(X.T @ X)[:, j]
    gams = []
    for g in sorted(set(ids)):
        Xg = X[ids == g]
        zero = w @ Xg.T @ Xg @ w
        one = (np.ones(len(Xg)) @ Xg @ w) ** 2
        gams.append(rho * one + (1 - rho) * zero)
    gams = np.array(gams)
    bar = gams.mean()
    return len(gams) / (1 + np.mean(((gams - bar) / bar) ** 2))


@pytest.mark.parametrize("rho", [0.0, 0.3, 1.0])
@pytest.mark.parametrize("j", [1, 2])
def test_gstar_matches_the_cluster_by_cluster_transcription(rho, j):
    X, ids = _design()
    gstar, Gamma, gam = effective_clusters(X, ids, j, rho=rho)
    ref = _gstar_by_hand(X, ids, j, rho)
    assert abs(gstar - ref) <= 1e-12 * ref
    assert abs(gstar - 9 / (1 + Gamma)) <= 1e-12 * gstar and len(gam) == 9
    # a linear combination given as a vector equals the coefficient's index
    a = np.zeros(3)
    a[j] = 1.0
    assert abs(effective_clusters(X, ids, a, rho=rho)[0] - gstar) <= 1e-12 * gstar


def test_gstar_closed_forms():
    # identical clusters: every cluster carries the same share, G* = G
    block = np.array([[1.0, -1.0], [1.0, 0.5], [1.0, 2.0]])
    X = np.vstack([block] * 6)
    ids = np.repeat(np.arange(6), 3)
    assert abs(effective_clusters(X, ids, 1)[0] - 6.0) <= 1e-12
    # a constant only, sizes 1, 1, 1, 5: gamma_g is proportional to N_g (rho = 0), so
    # Gamma = var(N_g)/mean(N_g)^2 = 3/4 and G* = 4/1.75; with rho = 1 gamma_g ~ N_g^2:
    # mean 7, var 108, Gamma = 108/49, G* = 4/(1 + 108/49) = 196/157
    ones = np.ones((8, 1))
    ids = np.array([0, 1, 2, 3, 3, 3, 3, 3])
    assert abs(effective_clusters(ones, ids, 0)[0] - 4 / 1.75) <= 1e-12
    assert abs(effective_clusters(ones, ids, 0, rho=1.0)[0] - 196 / 157) <= 1e-12


def test_gstar_refuses_a_correlation_outside_0_1_and_a_single_cluster():
    X, ids = _design()
    with pytest.raises(SpecificationError, match="between 0 and 1"):
        effective_clusters(X, ids, 1, rho=1.5)
    with pytest.raises(SpecificationError, match="at least 2 clusters"):
        effective_clusters(X, np.zeros(len(ids)), 1)


def test_top_share_of_the_largest_two_squares():
    assert abs(top_share([3.0, -4.0, 0.0, 1.0]) - 25 / 26) <= 1e-15
    assert abs(top_share(np.ones(8)) - 2 / 8) <= 1e-15


def test_ols_cluster_contributions_are_the_score_sums_through_the_inverse_hessian():
    X, ids = _design(seed=5)
    rng = np.random.default_rng(11)
    y = X @ np.array([1.0, 0.5, -0.2]) + rng.normal(size=len(ids))
    res = sm.OLS(y, pd.DataFrame(X, columns=["const", "x1", "x2"])).fit()
    d = cluster_diagnostics(res, "x1", clusters=ids)
    A = np.linalg.inv(X.T @ X)
    u = y - X @ res.params.to_numpy()
    by_hand = pd.Series({g: A[1] @ X[ids == g].T @ u[ids == g] for g in sorted(set(ids))})
    assert np.allclose(d.contributions.to_numpy(), by_hand.to_numpy(), rtol=1e-10, atol=1e-14)
    sq = np.sort(by_hand.to_numpy() ** 2)[::-1]
    assert abs(d.top2_share - sq[:2].sum() / sq.sum()) <= 1e-10
    assert set(d.top2) == set(by_hand.abs().sort_values().index[-2:])
    assert abs(d.gstar - _gstar_by_hand(X, ids, 1, 0.0)) <= 1e-12 * d.gstar
    # the clustered variance of b_1 is proportional to sum_g s_g^2 (CR0 meat)
    cr0 = sm.OLS(y, X).fit(cov_type="cluster", cov_kwds={"groups": pd.factorize(ids)[0],
                                                          "use_correction": False})
    assert abs(cr0.cov_params()[1, 1] - (d.contributions ** 2).sum()) <= 1e-10 * cr0.cov_params()[1, 1]


def test_poisson_contributions_use_the_hessian_and_sum_to_zero_at_the_estimate():
    X, ids = _design(seed=8)
    rng = np.random.default_rng(2)
    y = rng.poisson(np.exp(0.5 + 0.3 * X[:, 1] - 0.2 * X[:, 2]))
    model = sm.Poisson(y, pd.DataFrame(X, columns=["const", "x1", "x2"]))
    res = model.fit(disp=0, cov_type="cluster", cov_kwds={"groups": pd.factorize(ids, sort=True)[0]})
    d = cluster_diagnostics(res, "x2", clusters=ids)
    theta = res.params.to_numpy()
    Hinv = np.linalg.inv(model.hessian(theta))
    S = model.score_obs(theta)
    by_hand = np.array([Hinv[2] @ S[ids == g].sum(axis=0) for g in sorted(set(ids))])
    assert np.allclose(d.contributions.to_numpy(), by_hand, rtol=1e-10, atol=1e-14)
    assert abs(d.contributions.sum()) <= 1e-6 * np.abs(by_hand).max()
    # G* of an ML model: from its mean-equation regressors, as for OLS on them
    assert abs(d.gstar - _gstar_by_hand(X, ids, 2, 0.0)) <= 1e-12 * d.gstar
