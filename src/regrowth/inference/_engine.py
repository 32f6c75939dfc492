"""Numerical kernels of :func:`regrowth.inference.boottest` (see the package docstring for
the formulas). Everything here works on plain arrays and cluster-level sums."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from regrowth.models.covariance import cluster_sums

__all__ = ["LinearWild", "ScoreWild", "cluster_sums", "invert", "pvalue"]

_TIE = 1e-12  # relative tolerance below which |t*| and |t| count as tied (not exceeding)


def pvalue(t: float, tstar: np.ndarray, ptype: str) -> float:
    """Bootstrap p-value of ``t`` in the draws ``tstar``; ties do not count as exceeding
    (Stata ``boottest`` since 2.0.6)."""
    tol = _TIE * max(1.0, abs(t))
    if ptype == "symmetric":
        return float(np.mean(np.abs(tstar) > abs(t) + tol))
    lower = float(np.mean(tstar < t - tol))
    upper = float(np.mean(tstar > t + tol))
    if ptype == "equaltail":
        return 2.0 * min(lower, upper)
    if ptype == "lower":   # H1: parameter < r
        return lower
    return upper           # "upper", H1: parameter > r


_T_CACHE: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def _draws_major(V: np.ndarray) -> np.ndarray:
    """V (G, B) as a C-contiguous (B, G) array. (OpenBLAS multiplies a small G x G matrix
    into a 16 x 10,000 block slowly with threads -- milliseconds -- but a 10,000 x 16 block
    in microseconds.) The transpose of the last array seen is cached (enumeration reuses
    one read-only matrix)."""
    hit = _T_CACHE.get(id(V))
    if hit is not None and hit[0] is V:
        return hit[1]
    VT = np.ascontiguousarray(V.T)
    _T_CACHE.clear()
    _T_CACHE[id(V)] = (V, VT)
    return VT


@dataclass
class LinearWild:
    """Wild cluster bootstrap of the cluster-robust t of coefficient ``j`` in y = Xb + u.

    Holds, for the restricted (``impose_null``) or unrestricted DGP, the G-vectors ``a0, a1``
    and G x G matrices ``K0, K1`` with numerator(v) = (a0 + r a1)'v and the bootstrap cluster
    scores of the denominator (K0 + r K1) v (see the package docstring). Built from cluster
    sums X_g'X_g and X_g'y_g only.
    """

    beta: np.ndarray
    j: int
    se: float
    c: float
    a0: np.ndarray
    a1: np.ndarray
    K0: np.ndarray
    K1: np.ndarray

    @classmethod
    def build(cls, X: np.ndarray, y: np.ndarray, codes: np.ndarray, G: int, j: int,
              c: float, impose_null: bool) -> LinearWild:
        k = X.shape[1]
        XtX_g = cluster_sums(codes, G, X[:, :, None] * X[:, None, :])      # G x k x k
        Xty_g = cluster_sums(codes, G, X * y[:, None])                      # G x k
        XtX = XtX_g.sum(axis=0)
        A = np.linalg.inv(XtX)
        A = (A + A.T) / 2.0
        beta = A @ Xty_g.sum(axis=0)
        aj = A[j]
        S_hat = Xty_g - XtX_g @ beta                                         # X_g'u_hat
        se = math.sqrt(c * float(np.sum((S_hat @ aj) ** 2)))
        if impose_null:
            e = A[:, j] / A[j, j]
            beta0 = beta - e * beta[j]            # restricted estimate at r = 0
            S0 = Xty_g - XtX_g @ beta0            # X_g'u_tilde(r) = S0 + r S1
            S1 = -(XtX_g @ e)
        else:
            S0, S1 = S_hat, np.zeros((G, k))
        P = np.einsum("i,gik,kl->gl", aj, XtX_g, A)                         # aj X_g'X_g A
        a0, a1 = S0 @ aj, S1 @ aj
        K0 = np.diag(a0) - P @ S0.T
        K1 = np.diag(a1) - P @ S1.T
        return cls(beta, j, se, c, a0, a1, K0, K1)

    def prepare(self, V: np.ndarray) -> _Draws:
        """Project the weights once; afterwards any null value r costs O(B)."""
        VT = _draws_major(V)                      # (B, G): a fast BLAS layout for B x G
        KV0, KV1 = VT @ self.K0.T, VT @ self.K1.T
        return _Draws(VT @ self.a0, VT @ self.a1, np.einsum("bg,bg->b", KV0, KV0),
                      np.einsum("bg,bg->b", KV0, KV1), np.einsum("bg,bg->b", KV1, KV1),
                      self.c)

    def t(self, r: float) -> float:
        return (float(self.beta[self.j]) - r) / self.se


@dataclass
class _Draws:
    n0: np.ndarray
    n1: np.ndarray
    q00: np.ndarray
    q01: np.ndarray
    q11: np.ndarray
    c: float

    def tstar(self, r: float) -> np.ndarray:
        num = self.n0 + r * self.n1
        den = self.q00 + 2.0 * r * self.q01 + (r * r) * self.q11
        with np.errstate(divide="ignore", invalid="ignore"):
            return num / np.sqrt(self.c * np.maximum(den, 0.0))


class ScoreWild:
    """Score bootstrap (Kline & Santos 2012) at one restricted ML estimate.

    ``scores`` are the per-observation scores at the restricted estimate, ``hessian`` the
    full Hessian of the log likelihood there, ``cluster_hessians`` (G, p, p) its cluster
    parts (only for ``variance="onestep"``). With a_g = -(H^-1 S_g)_j:

    ``variance="fixed"`` (Kline & Santos; no re-estimation):
        t = sum a_g / sqrt(c sum a_g^2),  t* = sum a_g v_g / sqrt(c sum a_g^2 v_g^2).
    ``variance="onestep"``: the variance of each draw is re-linearised at the one-step
        estimate theta* = theta~ - H^-1 sum_h v_h S_h, whose cluster scores are
        S*_g = v_g S_g - H_g H^-1 sum_h v_h S_h; with P_g = e_j'H^-1 H_g H^-1 and
        K = diag(a) + P S' (G x G) the draw is t* = sum a_g v_g / sqrt(c sum_g ((K v)_g)^2)
        and the statistic is the same function at v = 1 (a one-step Wald t). In the linear
        model this is exactly the WCR.
    """

    def __init__(self, scores: np.ndarray, hessian: np.ndarray, codes: np.ndarray, G: int,
                 j: int, c: float, cluster_hessians: np.ndarray | None = None,
                 variance: str = "fixed"):
        Sg = cluster_sums(codes, G, scores)
        Hinv = np.linalg.inv(hessian)
        hj = Hinv[j]
        self.a = -(Sg @ hj)
        self.c = c
        #: the model-based (OIM) variance of the coefficient at the restricted estimate,
        #: -(H^-1)_jj (the null curve's reference scale, regrowth.curve.count_null)
        self.var_model = -float(hj[j])
        self.variance = variance
        if variance == "onestep":
            P = np.einsum("i,gik,kl->gl", hj, cluster_hessians, Hinv)
            self.K = np.diag(self.a) + P @ Sg.T
        else:
            self.K = None

    @property
    def t(self) -> float:
        return float(self.tstar(np.ones((len(self.a), 1)))[0])

    def tstar(self, V: np.ndarray) -> np.ndarray:
        VT = _draws_major(V)
        num = VT @ self.a
        if self.K is None:
            den = (VT * VT) @ (self.a ** 2)
        else:
            KV = VT @ self.K.T
            den = np.einsum("bg,bg->b", KV, KV)
        with np.errstate(divide="ignore", invalid="ignore"):
            return num / np.sqrt(self.c * den)


def invert(pfun, center: float, scale: float, alpha: float, *, ptol: float = 1e-6,
           max_expand: int = 40) -> tuple[float, float]:
    """Confidence set by test inversion: the interval of r around ``center`` with
    p(r) >= alpha, bounds located by bisection to ``ptol * scale``.

    ``pfun(r)`` is the bootstrap p-value of H0: parameter = r. A side on which p never
    falls below alpha (possible with few clusters) gives an infinite bound.
    """
    bounds = []
    for sign in (-1.0, 1.0):
        inside, step = center, max(scale, 1e-12 * max(1.0, abs(center)))
        outside = None
        for _ in range(max_expand):
            cand = center + sign * step
            if pfun(cand) < alpha:
                outside = cand
                break
            inside = cand
            step *= 2.0
        if outside is None:
            bounds.append(sign * math.inf)
            continue
        tol = ptol * scale
        while abs(outside - inside) > tol:
            mid = 0.5 * (inside + outside)
            if pfun(mid) >= alpha:
                inside = mid
            else:
                outside = mid
        bounds.append(0.5 * (inside + outside))
    return bounds[0], bounds[1]


def _illinois(f, a: float, fa: float, b: float, fb: float, xtol: float, ftol: float,
              maxiter: int = 100) -> float:
    """Root of f in [a, b] (fa < 0 < fb or the reverse) by the Illinois variant of
    regula falsi: superlinear on the nearly linear h of :func:`invert_smooth`, and it
    stops as soon as |f| <= ftol or the bracket is shorter than xtol."""
    side = 0
    for _ in range(maxiter):
        c = b - fb * (b - a) / (fb - fa)
        if not (min(a, b) < c < max(a, b)):
            c = 0.5 * (a + b)
        fc = f(c)
        if abs(fc) <= ftol or abs(b - a) <= xtol:
            return c
        if (fc > 0) == (fb > 0):
            b, fb = c, fc
            if side == -1:
                fa /= 2.0
            side = -1
        else:
            a, fa = c, fc
            if side == 1:
                fb /= 2.0
            side = 1
    return 0.5 * (a + b)


def _rejections_needed(alpha: float, n_draws: int, scale: float = 1.0) -> int:
    """K: the least count m of exceeding draws with ``scale`` * m / B >= ``alpha``, computed
    as :func:`pvalue` computes p (so a test rejects exactly when fewer than K draws
    exceed: p < alpha)."""
    m = np.arange(n_draws + 1)
    ok = scale * (m / n_draws) >= alpha
    return int(np.argmax(ok)) if ok.any() else n_draws + 1


def own_draws(V: np.ndarray) -> np.ndarray:
    """Per column of the weights ``V`` (G, B): +1 where every weight is +1 (that draw is
    the observed statistic, t* = t), -1 where every weight is -1 (t* = -t), else 0. The
    weights are exact constants (Rademacher +-1; Webb and Mammen include +-1), so this is an
    exact comparison, not a rounding decision."""
    V = np.asarray(V)
    return np.where(np.all(V == 1.0, axis=0), 1, np.where(np.all(V == -1.0, axis=0), -1, 0))


def _kth_largest(x: np.ndarray, k: int) -> float:
    """The k-th largest value of ``x``; -inf when ``x`` has fewer than k values (then fewer
    than k draws can exceed the statistic: every null value is rejected, and h = +inf is
    treated as a rejection)."""
    if k > len(x):
        return -math.inf
    return float(np.partition(x, len(x) - k)[len(x) - k])


def invert_smooth(draws, center: float, scale: float, alpha: float, ptype: str, *,
                  xtol: float, ftol: float = 1e-4, max_expand: int = 40,
                  own: np.ndarray | None = None) -> tuple[float, float]:
    """Test inversion when each null value is expensive (a restricted ML refit).

    ``draws(r)`` returns (t, t*) at H0: parameter = r. Instead of bisecting the step
    function p(r), find the root of the continuous h(r) = (statistic) - (critical draw),
    h >= 0 exactly when :func:`pvalue` rejects (p < alpha), ties counted as :func:`pvalue`
    counts them (a draw within tol = ``_TIE`` max(1, |t|) of the statistic does not exceed
    it). (Until 2026-12 h used the interpolated 1 - alpha quantile of the draws, which with
    few draws is not where p crosses alpha.)

    * symmetric: p = #{|t*| > |t| + tol} / B, so p < alpha iff fewer than K draws exceed,
      iff the K-th largest |t*| is at most |t| + tol (K = :func:`_rejections_needed`):
      h = |t| + tol - (K-th largest |t*|);
    * equal-tailed, lower bound (t > 0 there): p = 2 #{t* > t + tol} / B:
      h = t + tol - (K-th largest t*), K for 2 m / B >= alpha; upper bound (t < 0):
      h = (K-th smallest t*) - (t - tol).

    The K-th largest of draws that are each continuous in r is continuous in r, so h is
    continuous and its sign is the test's decision. ``own`` (:func:`own_draws`) marks the
    draws that reproduce the statistic whatever r is: weights v = 1 give t* = t, v = -1
    give t* = -t. They never exceed it, so they are left out of the order statistics (v = 1
    from both, v = -1 from the symmetric one's |t*|) while B counts them: with them in, h is
    the rounding error of |t*| - |t| wherever one of them is the K-th largest, which with
    2^7 enumerated draws is a whole stretch of r, and the bound fell wherever that rounding
    first came out positive.

    Regula falsi (Illinois) from a bracket found by stepping out from ``center`` in
    multiples of ``scale``; stops at |h| <= ``ftol`` (in units of the statistic) or a
    bracket shorter than ``xtol``.
    """
    def h(r: float, side: float) -> float:
        t, ts = draws(r)
        if not math.isfinite(t):
            return math.inf
        tol = _TIE * max(1.0, abs(t))
        if ptype == "symmetric":
            x = np.abs(ts if own is None else ts[own == 0])
            return abs(t) + tol - _kth_largest(x, _rejections_needed(alpha, len(ts)))
        x = ts if own is None else ts[own != 1]
        k = _rejections_needed(alpha, len(ts), 2.0)
        if side < 0:
            return t + tol - _kth_largest(x, k)
        return -_kth_largest(-x, k) - (t - tol)

    bounds = []
    for sign in (-1.0, 1.0):
        inside, h_in = center, h(center, sign)
        step, outside, h_out = 2.0 * scale, None, None
        for _ in range(max_expand):
            cand = center + sign * step
            hc = h(cand, sign)
            if hc > 0:
                outside, h_out = cand, hc
                break
            inside, h_in = cand, hc
            step *= 2.0
        if outside is None:
            bounds.append(sign * math.inf)
            continue
        if not math.isfinite(h_out):
            # the model could not be fitted there: bisect until it can
            while not math.isfinite(h_out) and abs(outside - inside) > xtol:
                mid = 0.5 * (inside + outside)
                hm = h(mid, sign)
                if hm > 0:
                    outside, h_out = mid, hm
                else:
                    inside, h_in = mid, hm
            if not math.isfinite(h_out):
                bounds.append(0.5 * (inside + outside))
                continue
        bounds.append(_illinois(lambda r, s=sign: h(r, s), inside, h_in, outside, h_out,
                                xtol, ftol))
    return bounds[0], bounds[1]
