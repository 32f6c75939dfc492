"""The pieces of bias-corrected LSDV (Stata ``xtlsdvc``; see :mod:`regrowth.models.dynamic`
for the formulas): first differences, the Anderson-Hsiao and Arellano-Bond initial
estimators, the LSDV fit, the Bun-Kiviet bias terms B1-B3 and the parametric bootstrap's
simulation."""

from __future__ import annotations


import numpy as np
import pandas as pd

from dataclasses import dataclass, field

from regrowth.errors import EstimationError
from scipy.linalg import qr


@dataclass
class _Panel:
    """Sorted arrays of one estimation sample (rows: usable observations)."""
    y: np.ndarray            # dependent (levels scale for the dynamic estimators)
    X: np.ndarray            # n x k exogenous regressors (year dummies appended if asked)
    ent: np.ndarray          # entity codes 0..N-1
    pos: np.ndarray          # time position 0..T-1 on the grid
    xnames: list[str]
    entity_labels: np.ndarray
    periods: np.ndarray      # grid periods
    index: pd.MultiIndex
    ylag: np.ndarray | None = None
    n_dummies: int = 0
    extra: dict = field(default_factory=dict)

    @property
    def N(self) -> int:
        return int(self.ent.max()) + 1 if self.ent.size else 0

    @property
    def T(self) -> int:
        return len(self.periods)


# ----------------------------------------------------------------------------- FD pieces

def _previous(pn: _Panel) -> np.ndarray:
    """Index of the row at t-1 of the same entity, or -1."""
    prev = np.full(len(pn.y), -1)
    same = (pn.ent[1:] == pn.ent[:-1]) & (pn.pos[1:] == pn.pos[:-1] + 1)
    prev[1:][same] = np.flatnonzero(same)
    return prev


def _fd_arrays(pn: _Panel):
    """First-difference pieces for rows t with a row at t-1: dy_t, dy_t-1, dX_t, y_t-2."""
    prev = _previous(pn)
    r = np.flatnonzero(prev >= 0)
    q = prev[r]
    dy = pn.y[r] - pn.ylag[r]
    dlag = pn.y[q] - pn.ylag[q]
    dX = pn.X[r] - pn.X[q]
    y2 = pn.ylag[q]
    return r, dy, dlag, dX, y2


def _drop_collinear(A: np.ndarray, tol: float = 1e-10) -> np.ndarray:
    """Boolean mask of columns kept by a pivoted QR (deterministic tolerance)."""
    if A.shape[1] == 0:
        return np.zeros(0, bool)
    _, R, piv = qr(A, mode="economic", pivoting=True)
    d = np.abs(np.diag(R))
    rank = int(np.sum(d > tol * max(d[0], 1e-300))) if d.size else 0
    keep = np.zeros(A.shape[1], bool)
    keep[piv[:rank]] = True
    return keep


def _ah(pn: _Panel, *, with_cov: bool = False):
    """Anderson-Hsiao 2SLS; returns (coef over [ylag, X], cov or None, n, G)."""
    r, dy, dlag, dX, y2 = _fd_arrays(pn)
    if len(r) == 0:
        raise EstimationError("Anderson-Hsiao needs two consecutive usable periods per unit")
    Wd = np.column_stack([dlag, dX])
    Z = np.column_stack([y2, dX])
    keep = _drop_collinear(Z)
    keep[0] = True
    Wk, Zk = Wd[:, keep], Z[:, keep]
    ZZi = np.linalg.pinv(Zk.T @ Zk)
    A = Wk.T @ Zk @ ZZi
    XhX = A @ Zk.T @ Wk
    b = np.linalg.solve(XhX, A @ Zk.T @ dy)
    coef = np.zeros(Wd.shape[1])
    coef[keep] = b
    cov = None
    if with_cov:
        u = dy - Wk @ b
        Xh = Zk @ ZZi @ (Zk.T @ Wk)           # fitted first-stage regressors
        g = pn.ent[r]
        scores = np.zeros((g.max() + 1, Xh.shape[1]))
        np.add.at(scores, g, Xh * u[:, None])
        G = len(np.unique(g))
        n, K = len(u), Xh.shape[1]
        bread = np.linalg.inv(Xh.T @ Xh)
        factor = G / (G - 1) * (n - 1) / (n - K)
        cov_k = factor * bread @ (scores.T @ scores) @ bread
        cov = np.full((Wd.shape[1], Wd.shape[1]), np.nan)
        cov[np.ix_(keep, keep)] = cov_k
        return coef, cov, n, G, keep
    return coef, cov, len(r), None, keep


def _ab(pn: _Panel) -> np.ndarray:
    """Arellano-Bond one-step difference GMM (xtabond, noconstant); coef over [ylag, X]."""
    r, dy, dlag, dX, _ = _fd_arrays(pn)
    if len(r) == 0:
        raise EstimationError("Arellano-Bond needs two consecutive usable periods per unit")
    T = pn.T
    # levels y_s on the grid, s = position - 1 .. (ylag at position p is the level at p-1)
    lev = np.full((pn.N, T + 1), np.nan)       # column c = level at grid position c - 1
    lev[pn.ent, pn.pos] = pn.ylag               # level at pos-1  -> column pos
    # instrument columns: for the equation at position p (p >= 1), the levels at positions
    # <= p-2, i.e. columns c = 0..p-1 of `lev`; column (p, c) sits at p(p-1)/2 + c
    nz = T * (T - 1) // 2
    e, p = pn.ent[r], pn.pos[r]
    c = np.arange(T)
    vals = lev[e][:, :T]
    use = (c[None, :] < p[:, None]) & np.isfinite(vals)
    rows_i, cols_c = np.nonzero(use)
    Zg = np.zeros((len(r), nz))
    Zg[rows_i, p[rows_i] * (p[rows_i] - 1) // 2 + cols_c] = vals[rows_i, cols_c]
    Z = np.column_stack([Zg, dX])
    used = np.any(Z != 0, axis=0)
    Z = Z[:, used]
    Wd = np.column_stack([dlag, dX])
    ZHZ = np.zeros((Z.shape[1], Z.shape[1]))
    for g in np.unique(e):
        rows = np.flatnonzero(e == g)
        pg = p[rows]
        H = 2.0 * np.eye(len(rows))
        adj = np.abs(pg[:, None] - pg[None, :]) == 1
        H[adj] = -1.0
        Zi = Z[rows]
        ZHZ += Zi.T @ H @ Zi
    Wt = np.linalg.pinv(ZHZ, hermitian=True)
    keep = _drop_collinear(Wd)
    keep[0] = True
    A = Z.T @ Wd[:, keep]
    bvec = Z.T @ dy
    b = np.linalg.solve(A.T @ Wt @ A, A.T @ Wt @ bvec)
    coef = np.zeros(Wd.shape[1])
    coef[keep] = b
    return coef


# ----------------------------------------------------------------------------- LSDVC core

def _lsdv(pn: _Panel) -> tuple[np.ndarray, np.ndarray]:
    """One-way within regression of y on [ylag, X]; returns (coef, classical cov)."""
    W = np.column_stack([pn.ylag, pn.X])
    cnt = np.bincount(pn.ent)
    def demean(a):
        s = np.zeros((pn.N,) + a.shape[1:])
        np.add.at(s, pn.ent, a)
        return a - (s / cnt.reshape((-1,) + (1,) * (a.ndim - 1)))[pn.ent]
    Wd, yd = demean(W), demean(pn.y)
    keep = _drop_collinear(Wd)
    if not keep[0]:
        raise EstimationError("the lagged dependent variable is collinear with the regressors")
    if not keep.all():
        dropped = [n for n, k in zip(["ylag", *pn.xnames], keep) if not k]
        raise EstimationError(f"regressors collinear with the fixed effects: {dropped}")
    b, *_ = np.linalg.lstsq(Wd, yd, rcond=None)
    u = yd - Wd @ b
    dof = len(yd) - pn.N - Wd.shape[1]
    cov = (u @ u / dof) * np.linalg.inv(Wd.T @ Wd)
    return b, cov


def _bias_terms(pn: _Panel, gamma: float, beta: np.ndarray) -> dict:
    """Bun-Kiviet (2003) / Bruno (2005a) bias terms B1, B2, B3 and sigma^2 at (gamma, beta)."""
    T, N = pn.T, pn.N
    k = 1 + pn.X.shape[1]
    u = pn.y - gamma * pn.ylag - pn.X @ beta
    L = np.eye(T, k=-1)
    C = L @ np.linalg.inv(np.eye(T) - gamma * L)
    trP = trPtP = trPtPP = trPPPP = uMu = 0.0
    WMW = np.zeros((k, k))
    WPMW = np.zeros((k, k))
    WPPW = np.zeros((k, k))
    n_minus = 0
    for i in range(N):
        rows = np.flatnonzero(pn.ent == i)
        s = np.zeros(T)
        s[pn.pos[rows]] = 1.0
        Ti = s.sum()
        n_minus += Ti - 1
        M = np.diag(s) - np.outer(s, s) / Ti
        ug = np.zeros(T)
        ug[pn.pos[rows]] = u[rows]
        Wg = np.zeros((T, k))
        Wg[pn.pos[rows], 0] = pn.ylag[rows]
        Wg[pn.pos[rows], 1:] = pn.X[rows]
        Mu = M @ ug
        Wg[:, 0] = Wg[:, 0] - C @ Mu           # E(ylag) = ylag - C M u
        P = M @ C
        PtP = P.T @ P
        trP += np.trace(P)
        trPtP += np.trace(PtP)
        trPtPP += np.trace(PtP @ P)
        trPPPP += np.trace(PtP @ PtP)
        uMu += ug @ Mu
        MW = M @ Wg
        WMW += Wg.T @ MW
        WPMW += Wg.T @ P @ MW
        PtW = P.T @ Wg
        WPPW += PtW.T @ PtW
    s2 = uMu / (n_minus - k)
    e1 = np.zeros(k)
    e1[0] = 1.0
    Q = np.linalg.inv(WMW + s2 * trPtP * np.outer(e1, e1))
    q = Q @ e1
    q11 = q[0]
    QWPMW = Q @ WPMW
    QWPPW = Q @ WPPW
    eye = np.eye(k)
    B1 = s2 * trP * q
    c2 = -s2 * (QWPMW + np.trace(QWPMW) * eye + 2.0 * s2 * q11 * trPtPP * eye) @ q
    c3 = s2 ** 2 * trP * (2.0 * q11 * QWPPW @ q
                          + (q @ WPPW @ q + q11 * np.trace(QWPPW) + 2.0 * trPPPP * q11 ** 2)
                          * q)
    return {"B1": B1, "B2": B1 + c2, "B3": B1 + c2 + c3, "sigma2": s2}


def _lsdvc_once(pn: _Panel, initial: str, bias: int) -> dict:
    if initial == "ah":
        init = _ah(pn)[0]
    else:
        init = _ab(pn)
    b, cov_lsdv = _lsdv(pn)
    terms = _bias_terms(pn, init[0], init[1:])
    corr = b - terms[f"B{bias}"]
    return {"coef": corr, "lsdv": b, "lsdv_cov": cov_lsdv, "initial": init,
            "bias": terms[f"B{bias}"], "sigma2": terms["sigma2"]}


def _simulate(pn: _Panel, coef: np.ndarray, sigma: float, rng) -> _Panel:
    """xtlsdvc_b's parametric bootstrap sample (start-up values: observed lags)."""
    g, b = coef[0], coef[1:]
    xb = pn.X @ b
    resid = pn.y - g * pn.ylag - xb
    theta = np.bincount(pn.ent, resid) / np.bincount(pn.ent)
    prev = _previous(pn)
    e = rng.standard_normal(len(pn.y)) * sigma
    ys = np.empty_like(pn.y)
    lags = np.empty_like(pn.y)
    for j in range(len(pn.y)):
        lags[j] = ys[prev[j]] if prev[j] >= 0 else pn.ylag[j]
        ys[j] = g * lags[j] + xb[j] + theta[pn.ent[j]] + e[j]
    return _Panel(y=ys, X=pn.X, ent=pn.ent, pos=pn.pos, xnames=pn.xnames,
                  entity_labels=pn.entity_labels, periods=pn.periods, index=pn.index,
                  ylag=lags, n_dummies=pn.n_dummies)
