"""Null draws of the linear specifications by linear algebra, not refits.

Each linear estimator of the growth curve is OLS on a transformed regression y* = X* b + u*
(pooled OLS: none; ``fe``: the within transformation; ``re``: quasi-demeaning with theta held
at its full-sample estimate; ``fgls``: Prais-Winsten and division by sigma_i with Omega and
rho held at their estimates; ``pcse``: Prais-Winsten with rho held), which is what
``boottest`` bootstraps (:mod:`regrowth.inference.boottest`). Every transformation acts
within a province, so a null draw that resamples provinces with replacement (counts c_g,
a province drawn twice counting as two panels) only reweights the provinces' blocks. With
the null b = 0 imposed on the data, y0* = y* - b_s X*_j, for draw d and province blocks g::

    b_d   = (sum_g c_dg X_g'X_g)^-1 sum_g c_dg X_g'y0_g           (its j-th element: the estimate)
    e_dg  = y0_g - X_g b_d,      r_d = (sum_g c_dg X_g'X_g)^-1 e_j,      q_dg = X_g r_d
    model    Var = s2 r_d[j],  s2 = sum_g c_dg e_dg'e_dg / df_r                t(df_r)
    fgls     Var = r_d[j]  ((X*'Omega^-1 X*)^-1, Omega held)                 normal
    cluster  Var = f sum_g c_dg (q_dg'e_dg)^2,  f = G/(G-1) (N-1)/(N-K)      t(G-1)
    kernel   Var = N/df_r sum_{|l|<=L} w_l sum_t h_t h_t-l,  h_t = sum_g c_dg q_dgt e_dgt,
             w_l = 1 - |l|/(L+1) (Bartlett), L = floor(4 (T/100)^(2/9))     t(T-1)
    pcse     Var = (1/T) sum_{t,s} (sum_g c_dg q_dgt e_dgs)^2  (Beck-Katz, casewise,
             balanced panels)                                                normal
    cr2      Var = sum_g c_dg (v_dg'e_dg)^2,  v_dg = (I - X_g A_d X_g')^-1/2 q_dg, with
             Satterthwaite df = tr(Q)^2 / sum(Q * Q), Q_gh = v_g'M_gh v_h,
             M_gh = [g=h] (I - J/T_g) - X_g A_d X_h'  (J/T_g only after the within
             transformation), as :func:`regrowth.inference.cr2.vcov_cr2`             t(df)

df_r = N - K (pooled, RE) or N - K - (G - 1) (within), as linearmodels counts them (its
p-values of the model covariance use t(df_r)). G, N, K are those of the draw (G = sum_g c_dg
provinces with rows, N their rows), K as Stata counts it
(:func:`regrowth.models.covariance.stata_clustered`). All B draws of one specification are
computed together in arrays of shape (B, G, ...); each specification is computed by one
task, so the result does not depend on the backend or the worker count.

For pooled OLS and fixed effects the draws equal full refits on the resampled data (to
rounding); for RE, FGLS and PCSE they differ from refits only by holding the transformation
at its full-sample estimate, as ``boottest`` does. ``tests/test_curve_linear_null.py`` checks
both: against refits, and against OLS on the explicitly stacked transformed rows.
"""

from __future__ import annotations

import hashlib
import importlib
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from regrowth.curve.enumeration import Spec
from regrowth.curve.schema import Unavailable
from regrowth.errors import RegrowthError

__all__ = ["LinearMap", "build_map", "null_draws", "IDENTIFIED_RTOL"]

#: A draw identifies the regression when the smallest eigenvalue of its scaled X'X (a
#: correlation-type matrix) exceeds this fraction of the largest. A draw in which a regressor
#: is constant in the drawn provinces gives ~1e-17 (rounding), a genuine design 1e-6 or more,
#: so 1e-12 has four orders of margin either way; a ratio within a factor 100 of it is
#: counted as borderline in the null record (``borderline_draws``).
IDENTIFIED_RTOL = 1e-12


@dataclass
class LinearMap:
    """One specification's null problem laid out by province block.

    ``X`` (G, T, k) and ``y0`` (G, T) are the transformed regressors and null outcome (zeros
    where a province lacks a period), ``regions`` the G province keys, ``j`` the focal
    column, ``se`` one of model/fgls/cluster/kernel/pcse/cr2; ``k_df`` the K of the
    residual degrees of freedom (model: N - k_df; FE adds the provinces drawn),
    ``k_stata`` Stata's K of the cluster factor, ``absorb`` whether the within
    transformation swept province means (CR2's M), ``bandwidth`` the kernel's."""
    X: np.ndarray
    y0: np.ndarray
    present: np.ndarray
    regions: list
    j: int
    se: str
    k_df: int
    fe_df: bool
    k_stata: int
    absorb: bool
    bandwidth: float | None


def _layout(X, y, regions_of_rows, periods_of_rows):
    """Rows -> (G, T, k) blocks; returns X3, y2, present, region keys."""
    g, regions = pd.factorize(pd.Index(regions_of_rows), sort=True)
    t, _ = pd.factorize(pd.Index(periods_of_rows), sort=True)
    G, T, k = len(regions), int(t.max()) + 1, X.shape[1]
    X3 = np.zeros((G, T, k))
    y2 = np.zeros((G, T))
    present = np.zeros((G, T), dtype=bool)
    if np.any(np.bincount(g * T + t, minlength=G * T) > 1):
        raise RegrowthError("a province has two rows in one period: the linear null map "
                            "needs one row per province and year")
    X3[g, t] = X
    y2[g, t] = y
    present[g, t] = True
    return X3, y2, present, [str(r) for r in regions]


def _design(fitted) -> dict:
    """The transformed regression of a fit: X, y, names, row index, kind, Stata's K, and
    the results class name (see :func:`build_map`)."""
    bt = importlib.import_module("regrowth.inference.boottest")   # the module, not the function

    res = bt._unwrap(fitted.result)
    model = getattr(res, "model", None)
    name = type(model).__name__
    if name == "PanelPCSE":
        if res.model.hetonly or res.model.independent or res.model.pairwise \
                or getattr(res, "_nmk", False) or not res.balanced:
            raise Unavailable("the linear null map covers casewise PCSE on balanced panels")
        d = res.model._data
        keep = d._check_panels(d._g, d._t, d._time_values)
        y, x, _, ys, xs = d._transformed_at(res.rho, keep)
        return {"X": xs, "y": ys, "names": list(res.model.exog_names), "index": d._index[keep],
                "kind": "pcse", "K": x.shape[1], "class": name}
    if name == "PanelFGLS":
        if getattr(res, "_nmk", False):
            raise Unavailable("xtgls nmk is not covered by the linear null map")
        dsg = bt._fgls_design(res, None)
        return {"X": dsg.X, "y": dsg.y, "names": dsg.names, "index": dsg._fgls[4],
                "kind": "fgls", "K": dsg.K, "class": name}
    if type(model).__module__.startswith("linearmodels"):
        dsg = bt._linearmodels_design(res, None)
        if dsg.kind.startswith("fixed effects (entity dummies"):
            raise Unavailable(f"{dsg.kind}: not covered by the linear null map")
        y_all = np.asarray(model.dependent.values2d, dtype=float).ravel()
        X_all = np.asarray(model.exog.values2d, dtype=float)
        keep = np.isfinite(y_all) & np.isfinite(X_all).all(axis=1)
        return {"X": dsg.X, "y": dsg.y, "names": dsg.names,
                "index": model.dependent.index[keep], "kind": dsg.kind, "K": dsg.K,
                "class": name}
    raise Unavailable(f"{name} results have no linear null map")


def build_map(spec: Spec, term: str, b: float, fitted, cache: dict | None = None) -> LinearMap:
    """The linear map of one specification and focal term from its full-sample fit.

    ADAPTER (the only call into the estimators' internals): the transformed regression is
    rebuilt by :mod:`regrowth.inference.boottest`'s design functions (linearmodels pooled,
    within and RE; PanelFGLS), and for PCSE from the fit's own Prais-Winsten rho. Raises
    :class:`~regrowth.curve.schema.Unavailable` for a specification the map does not cover
    (the caller refits it instead). ``cache``: a dict kept between calls on the same
    ``fitted`` (one model's inference choices and roles), so its design is rebuilt once."""
    se = {"model": "model", "cluster": "cluster", "cr2": "cr2", "kernel": "kernel"}.get(
        spec.inference)
    if se is None:
        raise Unavailable(f"inference {spec.inference!r} has no linear null map")
    bw = spec.options.get("bandwidth")
    if spec.options.get("kernel", "bartlett") != "bartlett":
        raise Unavailable("the linear null map implements the Bartlett kernel only")
    if cache is not None and cache.get("fitted") is fitted:
        dsg = cache["design"]
    else:
        dsg = _design(fitted)
        if cache is not None:
            cache.clear()
            cache.update(fitted=fitted, design=dsg)
    if dsg["class"] in ("PanelPCSE", "PanelFGLS"):
        if se != "model":
            raise Unavailable(f"{dsg['class']} has only its own covariance")
        if spec.options.get("nmk"):
            raise Unavailable("nmk scaling is not covered by the linear null map")
        se = dsg["kind"]
    X, yv, names, kind, K, index = (dsg["X"], dsg["y"], dsg["names"], dsg["kind"], dsg["K"],
                                    dsg["index"])
    if term not in names:
        raise RegrowthError(f"term {term!r} is not in the fitted model (dropped as collinear?)")
    j = names.index(term)
    absorb = kind.startswith("fixed effects (within")
    X3, y2, present, regions = _layout(X, yv - b * X[:, j],
                                        index.get_level_values(0), index.get_level_values(1))
    # residual df (model covariance, kernel scale): linearmodels' N - K; after the within
    # transformation K is Stata's (regressors, time dummies, constant) plus G - 1 effects
    k_df = K if absorb else X.shape[1]
    return LinearMap(X=X3, y0=y2, present=present, regions=regions, j=j, se=se, k_df=k_df,
                     fe_df=absorb, k_stata=K, absorb=absorb, bandwidth=bw)


def _inv_sqrt_psd(M: np.ndarray) -> np.ndarray:
    """Batched symmetric inverse square root, zero on the null space (as CR2's)."""
    w, U = np.linalg.eigh((M + np.swapaxes(M, -1, -2)) / 2.0)
    n = M.shape[-1]
    tol = n * np.finfo(float).eps * np.maximum(1.0, np.abs(w).max(axis=-1, keepdims=True))
    inv = np.where(w > tol, 1.0 / np.sqrt(np.clip(w, tol, None)), 0.0)
    return (U * inv[..., None, :]) @ np.swapaxes(U, -1, -2)


def _base(m: LinearMap, C: np.ndarray, cache: dict | None) -> dict:
    """What every map of one design shares in B draws: (X'CX)^-1, N, G, the identified
    draws; reused from ``cache`` when the design (X and its rows) is the same."""
    key = hashlib.sha256(m.X.tobytes() + m.present.tobytes() + C.tobytes()).hexdigest()
    if cache is not None and cache.get("key") == key:
        return cache
    k = m.X.shape[2]
    n_g = m.present.sum(axis=1).astype(float)
    XtX = np.einsum("bg,gkl->bkl", C, np.einsum("gtk,gtl->gkl", m.X, m.X))
    has = (C * (n_g > 0)).sum(axis=1)
    ok = has >= 2
    # a singular draw (a regressor constant in the drawn provinces) gives NaN, not an error:
    # the smallest eigenvalue of the scaled X'X against its largest (a condition number)
    scale = np.sqrt(np.einsum("bkk->bk", XtX))
    with np.errstate(divide="ignore", invalid="ignore"):
        R = XtX / (scale[:, :, None] * scale[:, None, :])
    R[~np.isfinite(R)] = 0.0
    w = np.linalg.eigvalsh(R)
    ratio = w[:, 0] / np.where(w[:, -1] > 0, w[:, -1], 1.0)
    ok &= (scale > 0).all(axis=1) & (ratio > IDENTIFIED_RTOL)
    # a draw whose ratio lies within a factor 100 of the tolerance could be decided the other
    # way by rounding on another machine: counted and reported, never decided silently
    borderline = ((scale > 0).all(axis=1) & (ratio > IDENTIFIED_RTOL / 100)
                  & (ratio < IDENTIFIED_RTOL * 100))
    XtX[~ok] = np.eye(k)
    base = {"key": key, "A": np.linalg.inv(XtX), "ok": ok, "has": has, "N": C @ n_g,
            "n_g": n_g, "borderline": borderline}
    if cache is not None:
        cache.clear()
        cache.update(base)
        return cache
    return base


def _cr2_adjustment(m: LinearMap, C: np.ndarray, base: dict) -> np.ndarray:
    """(B, G, T, T): (I - X_g A_d X_g')^-1/2 for the provinces drawn (zeros where c_dg = 0)."""
    if "Bg" not in base:
        A = base["A"]
        bi, gi = np.nonzero(C > 0)
        XA = np.einsum("mtk,mkl->mtl", m.X[gi], A[bi])
        H = np.matmul(XA, np.swapaxes(m.X[gi], 1, 2))
        T = m.X.shape[1]
        Bg = np.zeros(C.shape + (T, T))
        Bg[bi, gi] = _inv_sqrt_psd(np.eye(T) - H)
        base["Bg"] = Bg
    return base["Bg"]


def null_draws(m: LinearMap, counts: np.ndarray, cache: dict | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
    """Estimates and p-values of the focal coefficient in B null draws.

    ``counts`` (B, G): how often each of the map's provinces was drawn. ``cache``: a dict
    kept between calls for maps of the same design (one model's inference choices and focal
    roles), so (X'CX)^-1 and CR2's adjustments are computed once. Returns two arrays of
    shape (B,), NaN where a draw leaves the regression unidentified (fewer than 2
    provinces, or a singular X'X). See the module docstring for the formulas.
    """
    C = np.ascontiguousarray(counts, dtype=float)
    X, y0, j = m.X, m.y0, m.j
    B = C.shape[0]
    base = _base(m, C, cache)
    A, ok, has, N, n_g = base["A"], base["ok"], base["has"], base["N"], base["n_g"]
    Xty = C @ np.einsum("gtk,gt->gk", X, y0)
    beta = np.einsum("bkl,bl->bk", A, Xty)
    est = beta[:, j]
    r = A[:, :, j]
    e = y0[None] - np.einsum("gtk,bk->bgt", X, beta)
    e *= m.present[None]
    q = np.einsum("gtk,bk->bgt", X, r)
    dist_df: np.ndarray | None = None
    # linearmodels' residual df: N - K, and after the within transformation N - K - (G - 1)
    dfr = N - m.k_df - (has - 1 if m.fe_df else 0)
    if m.se == "fgls":
        var = r[:, j].copy()
    elif m.se == "model":
        rss = np.einsum("bg,bgt->b", C, e * e)
        var = rss / dfr * r[:, j]
        dist_df = dfr
    elif m.se == "cluster":
        s = np.einsum("bgt,bgt->bg", q, e)
        with np.errstate(divide="ignore", invalid="ignore"):
            f = has / (has - 1.0) * (N - 1.0) / (N - m.k_stata)
        var = f * np.einsum("bg,bg->b", C, s * s)
        dist_df = has - 1.0
    elif m.se == "kernel":
        T = X.shape[1]
        h = np.einsum("bg,bgt->bt", C, q * e)
        L = m.bandwidth if m.bandwidth is not None else math.floor(4 * (T / 100) ** (2 / 9))
        var = np.einsum("bt,bt->b", h, h)
        for lag in range(1, int(L) + 1):
            w = 1.0 - lag / (float(L) + 1.0)
            var = var + 2.0 * w * np.einsum("bt,bt->b", h[:, lag:], h[:, :-lag])
        var = var * N / dfr
        dist_df = np.full(B, T - 1.0)
    elif m.se == "pcse":
        T = X.shape[1]
        W = np.matmul(np.swapaxes(C[:, :, None] * q, 1, 2), e)      # (B, T, T): [t, s]
        var = np.einsum("bts,bts->b", W, W) / T
    elif m.se == "cr2":
        Bg = _cr2_adjustment(m, C, base)
        v = np.einsum("bgts,bgs->bgt", Bg, q)
        s = np.einsum("bgt,bgt->bg", v, e)
        var = np.einsum("bg,bg->b", C, s * s)
        w = np.einsum("gtk,bgt->bgk", X, v)
        WAW = np.matmul(np.matmul(w, A), np.swapaxes(w, 1, 2))        # (B, G, G)
        d = np.einsum("bgt,bgt->bg", v, v)
        if m.absorb:
            with np.errstate(divide="ignore", invalid="ignore"):
                d = d - np.where(n_g > 0, v.sum(axis=2) ** 2 / np.maximum(n_g, 1.0), 0.0)
        diag = np.einsum("bgg->bg", WAW)
        tr = np.einsum("bg,bg->b", C, d - diag)
        ss = (np.einsum("bg,bg->b", C, np.einsum("bgh,bh->bg", WAW * WAW, C))
              + np.einsum("bg,bg->b", C, (d - diag) ** 2 - diag ** 2))
        dist_df = tr * tr / ss
    else:
        raise RegrowthError(f"unknown covariance {m.se!r} of a linear null map")
    with np.errstate(divide="ignore", invalid="ignore"):
        tstat = est / np.sqrt(var)
        if dist_df is None:
            p = 2.0 * stats.norm.sf(np.abs(tstat))
        else:
            p = 2.0 * stats.t.sf(np.abs(tstat), dist_df)
    bad = ~ok | ~np.isfinite(est) | ~np.isfinite(p)
    est = np.where(bad, np.nan, est)
    p = np.where(bad, np.nan, p)
    return est, p
