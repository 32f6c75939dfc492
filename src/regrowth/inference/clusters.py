"""How many clusters a test really has: the effective number of clusters G* (Carter,
Schnepel & Steigerwald 2017) and the share of the cluster score variance carried by the
largest clusters.

Effective number of clusters, G*(rho)
=====================================
Model y = X b + u with clusters g = 1..G (N_g observations each), a test of the linear
combination a'b (a = e_j for one coefficient). Carter, Schnepel & Steigerwald (2017, *Review
of Economics and Statistics* 99(4), "Asymptotic behavior of a t-test robust to cluster
heterogeneity") show that the cluster-robust t behaves as if there were fewer clusters when
the clusters differ in size or in their regressors. With w = (X'X)^-1 a and a working
covariance of the errors within a cluster, Omega_g(rho) = (1 - rho) I_{N_g} + rho 1 1'
(unit variance, within-cluster correlation rho):

    gamma_g(rho) = w' X_g' Omega_g(rho) X_g w
                 = (1 - rho) w'X_g'X_g w + rho (1'X_g w)^2
    gamma_bar    = (1/G) sum_g gamma_g
    Gamma(rho)   = (1/G) sum_g (gamma_g - gamma_bar)^2 / gamma_bar^2
    G*(rho)      = G / (1 + Gamma(rho))

gamma_g is cluster g's share of the variance of a'b^ under the working covariance; G* = G
when every cluster carries the same share (equal sizes, identical regressors) and falls
towards 1 as one cluster dominates. Cluster sizes enter through X_g'X_g (a sum over the
cluster's N_g rows: with equal regressors gamma_g is proportional to N_g under rho = 0 and to
N_g^2 under rho = 1); observation weights enter through the rows of X (for GLS the whitened
rows). The default rho = 0 is CSS's and MacKinnon, Nielsen & Webb's G*(0) (Stata
``summclust, gstar``; its ``rho()`` option is ``rho`` here): it measures the heterogeneity
the regressors alone create. CSS find the normal (or t(G - 1)) reference unreliable when G*
is small, whatever G is.

Which X: after linear models the regression whose OLS coefficients are the model's (as
:func:`regrowth.inference.boottest` rebuilds it: within-transformed after fixed effects,
quasi-demeaned after random effects, whitened after FGLS, so the absorbed effects are
partialled out as ``summclust``'s ``absorb()`` does); after ML count models the regressors of
the mean equation as they are (the regressors' cluster structure, unweighted).

Top-two share of the cluster score variance
===========================================
From the fitted model, cluster g's contribution to coefficient j is

    s_g = e_j' H^-1 sum_{i in g} score_i        (ML: H the Hessian of the log likelihood)
    s_g = e_j' (X'X)^-1 X_g' u^_g               (linear models, the design above)

(up to sign, the one-step change of b^_j when cluster g is dropped; the clustered variance of
b^_j is proportional to sum_g s_g^2). The share carried by the two largest clusters is

    top2 = (s_(1)^2 + s_(2)^2) / sum_g s_g^2,    s_(1)^2 >= s_(2)^2 >= ... the ordered squares

It is 2/G when all clusters contribute equally and near 1 when two clusters carry the test.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from regrowth.errors import SpecificationError
from regrowth.models.covariance import cluster_sums

__all__ = ["ClusterDiagnostics", "effective_clusters", "top_share", "cluster_diagnostics"]


@dataclass(frozen=True)
class ClusterDiagnostics:
    """The effective number of clusters and the cluster influence of one coefficient.

    param : the coefficient. n_clusters : G. rho : the working within-cluster correlation of
    G*. gstar : G*(rho) (a number of clusters, 1 <= G* <= G). gamma : CSS's Gamma(rho)
    (dimensionless). top2_share : share (0-1) of sum_g s_g^2 carried by the two largest
    clusters, named in ``top2``. contributions : s_g by cluster (units of the coefficient).
    sizes : N_g by cluster. design : which X entered G* (see the module docstring).
    """

    param: str
    n_clusters: int
    rho: float
    gstar: float
    gamma: float
    top2_share: float
    top2: tuple[str, str]
    contributions: pd.Series
    sizes: pd.Series
    design: str

    def to_dict(self) -> dict:
        """Plain-Python record (JSON-ready) for ``estimates.json``."""
        return {"param": self.param, "n_clusters": self.n_clusters, "rho": self.rho,
                "gstar": self.gstar, "gamma": self.gamma, "top2_share": self.top2_share,
                "top2": list(self.top2), "design": self.design,
                "contributions": {str(k): float(v) for k, v in self.contributions.items()},
                "sizes": {str(k): int(v) for k, v in self.sizes.items()}}


def _codes(clusters, n: int) -> tuple[np.ndarray, np.ndarray]:
    arr = np.asarray(clusters).reshape(-1)
    if len(arr) != n:
        raise SpecificationError(f"clusters has {len(arr)} values but X has {n} rows")
    codes, labels = pd.factorize(pd.Series(arr), sort=True)
    if (codes < 0).any():
        raise SpecificationError("clusters has missing values")
    if len(labels) < 2:
        raise SpecificationError(f"{len(labels)} cluster: G* needs at least 2 clusters")
    return codes.astype(np.intp), np.asarray(labels)


def effective_clusters(X, clusters, a, *, rho: float = 0.0) -> tuple[float, float, np.ndarray]:
    """CSS's G*(rho) of the test of a'b in the regression on ``X`` (n x k) with cluster ids
    ``clusters`` (n values); ``a`` is a k-vector or the index of one coefficient.

    Returns (G*, Gamma, gamma_g): G* in clusters, Gamma dimensionless, gamma_g (G values, in
    the sorted order of the cluster ids) in units of a'b's variance per unit error variance.
    """
    if not 0.0 <= float(rho) <= 1.0:
        raise SpecificationError(f"rho={rho!r}: the within-cluster correlation of G*(rho) must "
                                 "be between 0 and 1")
    X = np.asarray(X, dtype=float)
    n, k = X.shape
    if np.ndim(a) == 0:
        vec = np.zeros(k)
        vec[int(a)] = 1.0
    else:
        vec = np.asarray(a, dtype=float).reshape(-1)
    codes, labels = _codes(clusters, n)
    G = len(labels)
    w = np.linalg.solve(X.T @ X, vec)
    Xw = X @ w
    zero = cluster_sums(codes, G, Xw * Xw)                 # w'X_g'X_g w
    one = cluster_sums(codes, G, Xw) ** 2                  # (1'X_g w)^2
    gam = (1.0 - rho) * zero + rho * one
    gbar = gam.mean()
    Gamma = float(np.mean((gam - gbar) ** 2) / gbar ** 2)
    return G / (1.0 + Gamma), Gamma, gam


def top_share(contributions, k: int = 2) -> float:
    """Share (0-1) of sum_g s_g^2 carried by the ``k`` largest s_g^2."""
    sq = np.sort(np.asarray(contributions, dtype=float) ** 2)[::-1]
    total = sq.sum()
    if not total > 0:
        raise SpecificationError("top_share: every cluster contribution is zero")
    return float(sq[:k].sum() / total)


def cluster_diagnostics(results, param: str, *, clusters, rho: float = 0.0
                        ) -> ClusterDiagnostics:
    """G*(rho) and the top-two cluster share of coefficient ``param`` of a fitted model.

    ``results``: what :func:`regrowth.inference.boottest` takes (linearmodels panel models,
    ``PanelFGLS``, statsmodels OLS/Poisson, GNB/NB2). ``clusters``: one id per observation
    of the estimation sample. See the module docstring for the formulas and which X enters.
    """
    import importlib

    bt = importlib.import_module("regrowth.inference.boottest")  # the designs it rebuilds
    results = bt._unwrap(results)
    family = bt._family(results)
    ids = np.asarray(clusters).reshape(-1)
    if family == "ml":
        prob = bt._MLProblem(results, param, ids)
        X, codes, j = prob.X, prob.codes, prob.j
        theta = prob.theta_hat
        S = cluster_sums(codes, prob.G, np.asarray(prob.model.score_obs(theta), dtype=float))
        H = np.asarray(prob.model.hessian(theta), dtype=float)
        s = S @ np.linalg.solve(H, np.eye(H.shape[0])[:, j])
        design = "mean-equation regressors of the ML model"
        gstar, Gamma, _ = effective_clusters(X, ids, j, rho=rho)
    else:
        build = {"linearmodels": bt._linearmodels_design, "fgls": bt._fgls_design}.get(
            family, bt._statsmodels_ols_design)
        d = build(results, ids)
        j = bt._param_index(d.names, param, f"{d.kind} model")
        X, y, codes = d.X, d.y, d.codes
        A = np.linalg.inv(X.T @ X)
        u = y - X @ (A @ (X.T @ y))
        s = cluster_sums(codes, d.G, X * u[:, None]) @ A[:, j]
        design = d.kind
        gstar, Gamma, _ = effective_clusters(X, ids, j, rho=rho)
    _, labels = _codes(ids, len(ids))
    contrib = pd.Series(s, index=labels.astype(str))
    sizes = pd.Series(np.bincount(codes, minlength=len(labels)), index=labels.astype(str))
    order = contrib.abs().sort_values(ascending=False, kind="mergesort").index
    return ClusterDiagnostics(param, len(labels), float(rho), float(gstar), Gamma,
                              top_share(s), (str(order[0]), str(order[1])), contrib, sizes,
                              design)
