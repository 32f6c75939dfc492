"""CR2 (Bell-McCaffrey) cluster-robust covariance with Satterthwaite degrees of freedom.

For OLS y = X b + u with clusters g, A = (X'X)^-1, H_gg = X_g A X_g' and residuals u^::
    V_CR2 = A [ sum_g X_g' B_g u^_g u^_g' B_g X_g ] A,      B_g = (I - H_gg)^(-1/2)

(symmetric inverse square root; Bell & McCaffrey 2002). It is unbiased when the errors
are i.i.d., and its t-test uses the Satterthwaite degrees of freedom (Bell-McCaffrey;
Imbens & Kolesar 2016; Pustejovsky & Tipton 2018) for the coefficient j: with
M = I - H (n x n) and the n-vectors p_g = M[:, g] B_g X_g A e_j,

    df_j = (sum_g p_g'p_g)^2 / sum_g sum_h (p_g'p_h)^2.

Fixed effects absorbed by the within transformation (entities nested in clusters) use the
demeaned X in H_gg and in M, with M also removing the entity means (M = I - P_D - H), as
R ``clubSandwich::vcovCR(plm_within, type = "CR2")`` and ``coef_test(test =
"Satterthwaite")`` do. Validated against clubSandwich 0.5.8
(``tests/fixtures/inference``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from regrowth.inference.boottest import (
_family,
_linearmodels_design,
_statsmodels_ols_design,
_unwrap,
)

__all__ = ["CR2Result", "cr2", "vcov_cr2"]


@dataclass(frozen=True)
class CR2Result:
    """CR2 estimates: ``params``, ``cov``, ``std_errors``, ``df`` (Satterthwaite, per
    coefficient), ``tstats``, ``pvalues`` (two-sided, t(df)); labelled pandas objects."""
    params: pd.Series
    cov: pd.DataFrame
    std_errors: pd.Series
    df: pd.Series
    tstats: pd.Series
    pvalues: pd.Series
    n_clusters: int

    def conf_int(self, level: float = 0.95) -> pd.DataFrame:
        q = stats.t.ppf(0.5 + level / 2.0, self.df)
        return pd.DataFrame({"lower": self.params - q * self.std_errors,
                             "upper": self.params + q * self.std_errors})


def _inv_sqrt_psd(M: np.ndarray) -> np.ndarray:
    w, U = np.linalg.eigh((M + M.T) / 2.0)
    tol = max(M.shape) * np.finfo(float).eps * max(1.0, float(np.abs(w).max()))
    inv = np.where(w > tol, 1.0 / np.sqrt(np.clip(w, tol, None)), 0.0)
    return (U * inv) @ U.T


def vcov_cr2(X: np.ndarray, y: np.ndarray, clusters, *, absorb=None, names=None,
             df_for=None) -> CR2Result:
    """CR2 covariance and Satterthwaite df of OLS of ``y`` on ``X`` clustered by
    ``clusters``. ``absorb``: entity ids whose fixed effects are swept out first by the
    within transformation (they must be nested in the clusters). ``df_for``: names (or
    positions) of the coefficients whose df is wanted (default all; the others get NaN)."""
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float).ravel()
    n, k = X.shape
    codes, uniq = pd.factorize(pd.Series(np.asarray(clusters).ravel()), sort=True)
    G = len(uniq)
    if G < 2:
        raise ValueError("CR2 needs at least 2 clusters")
    if absorb is not None:
        ent, _ = pd.factorize(pd.Series(np.asarray(absorb).ravel()), sort=True)
        if not np.all(pd.Series(codes).groupby(ent).nunique() == 1):
            raise ValueError("absorbed effects must be nested in the clusters")
        cnt = np.bincount(ent).astype(float)
        y = y - (np.bincount(ent, weights=y) / cnt)[ent]
        Xm = np.zeros((cnt.size, k))
        np.add.at(Xm, ent, X)
        X = X - (Xm / cnt[:, None])[ent]
    A = np.linalg.inv(X.T @ X)
    beta = A @ X.T @ y
    u = y - X @ beta
    H = X @ A @ X.T
    M = np.eye(n) - H
    if absorb is not None:
        M -= (ent[:, None] == ent[None, :]) / cnt[ent][:, None]
    idx = [np.flatnonzero(codes == g) for g in range(G)]
    meat = np.zeros((k, k))
    BX = []
    for rows in idx:
        B = _inv_sqrt_psd(np.eye(rows.size) - H[np.ix_(rows, rows)])
        bx = B @ X[rows]                       # n_g x k
        BX.append(bx)
        s = bx.T @ u[rows]
        meat += np.outer(s, s)
    V = A @ meat @ A
    V = (V + V.T) / 2.0
    se = np.sqrt(np.diag(V))
    names = list(names) if names is not None else [f"x{i}" for i in range(k)]
    wanted = range(k) if df_for is None else [
        names.index(w) if isinstance(w, str) else int(w) for w in df_for]
    df = np.full(k, np.nan)
    for j in wanted:
        P = np.column_stack([M[:, rows] @ (BX[g] @ A[:, j]) for g, rows in enumerate(idx)])
        Q = P.T @ P
        df[j] = np.trace(Q) ** 2 / float(np.sum(Q * Q))
    t = beta / se
    p = 2.0 * stats.t.sf(np.abs(t), df)
    return CR2Result(pd.Series(beta, index=names), pd.DataFrame(V, index=names, columns=names),
                     pd.Series(se, index=names), pd.Series(df, index=names),
                     pd.Series(t, index=names), pd.Series(p, index=names), G)


def cr2(results, *, clusters=None, terms=None) -> CR2Result:
    """CR2 for a fitted linear model (pooled OLS, one-way fixed effects or random effects
    as :func:`regrowth.models.linear.fit_panel` returns them; statsmodels OLS): rebuilds its
    regression (see :mod:`regrowth.inference`) and applies :func:`vcov_cr2`. ``terms``:
    coefficients whose Satterthwaite df (and p-value) is wanted (default all)."""
    results = _unwrap(results)
    fam = _family(results)
    if fam == "linearmodels":
        d = _linearmodels_design(results, clusters)
    elif fam == "ols":
        d = _statsmodels_ols_design(results, clusters)
    else:
        raise ValueError("CR2 is for linear models (pooled OLS, fixed/random effects, OLS)")
    absorb = None
    if d.kind.startswith("fixed effects (within"):
        # the design is already demeaned; the entity means must still enter M
        model = results.model
        y_all = np.asarray(model.dependent.values2d, dtype=float).ravel()
        X_all = np.asarray(model.exog.values2d, dtype=float)
        keep = np.isfinite(y_all) & np.isfinite(X_all).all(axis=1)
        absorb = model.dependent.index[keep].get_level_values(0)
    out = vcov_cr2(d.X, d.y, d.codes, absorb=absorb, names=d.names + [
        f"_extra{i}" for i in range(d.X.shape[1] - len(d.names))],
        df_for=None if terms is None else [d.names.index(t) for t in terms])
    keep_names = d.names
    return CR2Result(out.params[keep_names], out.cov.loc[keep_names, keep_names],
                     out.std_errors[keep_names], out.df[keep_names], out.tstats[keep_names],
                     out.pvalues[keep_names], out.n_clusters)



