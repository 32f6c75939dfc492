"""models.covariance: one home for Stata's factors, the cluster meat, SE types and the rule
that a test a covariance cannot support is not a number."""

from __future__ import annotations

import numpy as np
import pytest
from linearmodels.shared.hypotheses import InvalidTestStatistic, WaldTestStatistic

from regrowth.models import covariance as cov


def test_stata_factors():
    assert cov.stata_ml_scale("oim", 96) == 1.0
    assert cov.stata_ml_scale("robust", 96) == pytest.approx(96 / 95)
    assert cov.stata_ml_scale("cluster", 96, 16) == pytest.approx(16 / 15)
    assert cov.stata_linear_factor(16, 254, 20) == pytest.approx(16 / 15 * 253 / 234)
    with pytest.raises(ValueError, match="at least 2 clusters"):
        cov.stata_linear_factor(1, 10, 2)


def test_cluster_meat_is_the_sum_of_outer_products_of_cluster_sums():
    rng = np.random.default_rng(1)
    s = rng.normal(size=(12, 3))
    g = np.repeat(["b", "a", "c"], 4)
    meat, G = cov.cluster_meat(s, g)
    by_hand = sum(np.outer(s[g == k].sum(0), s[g == k].sum(0)) for k in "abc")
    assert G == 3 and np.allclose(meat, by_hand, rtol=1e-14)


def test_se_types_declare_groups_and_reference():
    assert cov.se_type("cluster").needs_groups and cov.se_type("cluster").reference == "t(G-1)"
    assert not cov.se_type("oim").needs_groups
    assert {"oim", "robust", "cluster", "unadjusted", "kernel"} <= set(cov.se_types())


def test_a_wald_test_a_clustered_covariance_cannot_support_is_invalid_not_a_number():
    """With G clusters the cluster-robust covariance has rank at most G - 1: a joint test of
    more restrictions is not defined. It is recorded with the reason, never as a number."""
    rng = np.random.default_rng(2)
    G, q = 4, 6
    S = rng.normal(size=(G, q))
    S -= S.mean(0)                     # scores sum to zero: rank <= G - 1 = 3
    V = S.T @ S
    res = cov.wald_test(np.ones(q), V, n_clusters=G)
    assert isinstance(res, InvalidTestStatistic)
    assert "rank 3 < 6 restrictions" in res._reason and "4 clusters" in res._reason
    full = cov.wald_test(np.ones(3), np.eye(3) * 2.0)
    assert isinstance(full, WaldTestStatistic) and full.stat == pytest.approx(1.5)


def test_the_rank_decision_does_not_depend_on_units():
    """A covariance of coefficients in very different units (1e-20 next to 1) has full rank:
    the decision is taken on the correlation matrix."""
    V = np.diag([1.0, 1e-20]) + 0.1 * np.sqrt(1e-20) * (np.ones((2, 2)) - np.eye(2))
    assert cov.numerical_rank(V) == (2, False)
    assert isinstance(cov.wald_test(np.array([1.0, 1e-10]), V), WaldTestStatistic)
