"""Differences of log-gamma functions for count likelihoods, accurate where they cancel.

For r = 1/alpha large the differences lnG(y+r) - lnG(r), psi(y+r) - psi(r) and
psi1(y+r) - psi1(r) cancel catastrophically; there they are computed as Stirling/asymptotic
series written as differences (log1p, exact rational differences), accurate to rounding for
r > 1e5. For integer counts the differences are exact finite sums (:class:`GammaDiffs`).
"""

from __future__ import annotations

import numpy as np
from scipy import special

from regrowth.models._scratch import Scratch

__all__ = ["GammaDiffs"]

# psi1(y+r) - psi1(r) cancel catastrophically; there we use Stirling/asymptotic series written
# as differences (log1p, exact rational differences), accurate to rounding for r > 1e5.
_R_ASYMPTOTIC = 1e5
_K_SUM = 100  # integer counts: explicit sums for the first 100 terms of lnG(y+r) - lnG(r) etc.


def _stirling_tail(x):
    """lnG(x) - [(x - 1/2) ln x - x + ln(2 pi)/2] for large x."""
    x2 = x * x
    return 1.0 / (12.0 * x) - 1.0 / (360.0 * x * x2) + 1.0 / (1260.0 * x * x2 * x2)


def _lgamma_diff_big(y, r):
    return ((r - 0.5) * np.log1p(y / r) + y * np.log(y + r) - y
            + (_stirling_tail(y + r) - _stirling_tail(r)))


def _digamma_diff_big(y, r):
    # psi(x) = ln x - 1/(2x) - 1/(12x^2) + 1/(120x^4) - ...
    x = y + r
    return (np.log1p(y / r) + y / (2.0 * x * r) - (1.0 / (12.0 * x * x) - 1.0 / (12.0 * r * r))
            + (1.0 / (120.0 * x ** 4) - 1.0 / (120.0 * r ** 4)))


def _trigamma_diff_big(y, r):
    # psi1(x) = 1/x + 1/(2x^2) + 1/(6x^3) - 1/(30x^5) + ...
    x = y + r
    return (-y / (x * r) + 0.5 * (1.0 / (x * x) - 1.0 / (r * r))
            + (1.0 / (6.0 * x ** 3) - 1.0 / (6.0 * r ** 3))
            - (1.0 / (30.0 * x ** 5) - 1.0 / (30.0 * r ** 5)))


def _add_tail(acc_l, acc_d, acc_t, c: int, yt, r0, order: int) -> None:
    """Add the terms from r0 = r + K to y + r of the first ``c`` rows (counts above K) to the
    accumulators, in place: lnG(y + r) - lnG(r + K) and its first two derivatives, by the
    asymptotic expansions where r0 is large."""
    big = r0 > _R_ASYMPTOTIC
    with np.errstate(all="ignore"):
        acc_l[:c] += np.where(big, _lgamma_diff_big(yt, r0),
                              special.gammaln(yt + r0) - special.gammaln(r0))
        if order >= 1:
            acc_d[:c] += np.where(big, _digamma_diff_big(yt, r0),
                                  special.digamma(yt + r0) - special.digamma(r0))
        if order >= 2:
            acc_t[:c] += np.where(big, _trigamma_diff_big(yt, r0),
                                  special.polygamma(1, yt + r0) - special.polygamma(1, r0))


def _zeros(ws: Scratch, name: str, shape) -> np.ndarray:
    a = ws(name, shape)
    a.fill(0.0)
    return a


class GammaDiffs:
    """lnG(y+r) - lnG(r) and its first two derivatives in r, for fixed counts ``y`` and any
    ``r`` with one row per observation: ``GammaDiffs(y)(r, order)``. ``r`` of shape (n,) is one
    parameter vector; shape (n, B) evaluates B of them at once (column b for draw b, as
    :mod:`regrowth.models.gnb_draws` does), each column computed exactly as a vector would be."""

    def __init__(self, y: np.ndarray):
        """Precompute the ordering the sums need for integer counts ``y``."""
        y = np.asarray(y, dtype=float)
        self._y = y
        self._int_counts = bool(np.all(y == np.floor(y))) and y.max() < 2 ** 31
        if not self._int_counts:
            self._pos = np.flatnonzero(y > 0)
            return
        yi = y.astype(np.int64)
        self._lgy1 = None
        if y.size and yi.min() >= 0 and yi.max() < 2 ** 20:  # ln(y!) for lgamma_y1
            self._lgy1 = special.gammaln(np.arange(yi.max() + 1, dtype=float) + 1.0)[yi]
        # descending in min(y, K + 1): {y > k} is a prefix for every k <= K (int16: radix sort)
        order = np.argsort(-np.minimum(yi, _K_SUM + 1).astype(np.int16), kind="stable")
        self._ord = order
        K = int(min(yi.max(), _K_SUM))
        counts = np.bincount(np.minimum(yi, K + 1), minlength=K + 2)
        # n_gt[k] = #(y > k) for k = 0..K
        self._n_gt = (counts[::-1].cumsum()[::-1])[1:K + 2]
        self._K = K
        # the counts above K, the first of the sorted order (only they need the tail terms)
        self._ys = y[order[:int(self._n_gt[K]) if K < self._n_gt.size else 0]]

    def lgamma_y1(self) -> np.ndarray:
        """lnG(y + 1) = ln(y!) of every count: ``scipy.special.gammaln(y + 1)``, evaluated once
        per distinct count when the counts are integers below 2^20 (the same values, by
        table lookup)."""
        if self._int_counts and self._lgy1 is not None:
            return self._lgy1
        return special.gammaln(self._y + 1.0)

    def __call__(self, r, order, scratch: Scratch | None = None):
        """lnG(y+r) - lnG(r), psi(y+r) - psi(r), psi1(y+r) - psi1(r) (zero where y == 0).

        Integer counts: sum_{k<y} ln(r+k), 1/(r+k), -1/(r+k)^2 over the observations with y > k
        (a prefix once sorted by y), exact and cheap since most counts are small; the part of
        counts above _K_SUM uses lnG/psi/psi1 from r + _K_SUM. Non-integer y: scipy.special
        (asymptotic differences for r > 1e5).

        ``scratch`` (:class:`regrowth.models._scratch.Scratch`): arrays to work and return the
        results in, reused from call to call (the returned arrays are then overwritten by the
        next call with the same scratch); by default new arrays. The values are the same.
        """
        ws = Scratch() if scratch is None else scratch
        lg = _zeros(ws, "g_lg", r.shape)
        dpsi = _zeros(ws, "g_dpsi", r.shape) if order >= 1 else None
        dtri = _zeros(ws, "g_dtri", r.shape) if order >= 2 else None
        trail = (1,) * (r.ndim - 1)  # y broadcast against r's draws
        y = self._y
        if not self._int_counts:
            pos = self._pos
            rp = r[pos]
            yp = np.broadcast_to(y[pos].reshape(-1, *trail), rp.shape)
            big = rp > _R_ASYMPTOTIC
            sm_ = ~big
            a = np.empty_like(rp)
            a[sm_] = special.gammaln(yp[sm_] + rp[sm_]) - special.gammaln(rp[sm_])
            a[big] = _lgamma_diff_big(yp[big], rp[big])
            lg[pos] = a
            if order >= 1:
                a[sm_] = special.digamma(yp[sm_] + rp[sm_]) - special.digamma(rp[sm_])
                a[big] = _digamma_diff_big(yp[big], rp[big])
                dpsi[pos] = a
            if order >= 2:
                a[sm_] = special.polygamma(1, yp[sm_] + rp[sm_]) - special.polygamma(1, rp[sm_])
                a[big] = _trigamma_diff_big(yp[big], rp[big])
                dtri[pos] = a
            return lg, dpsi, dtri
        n_pos = int(self._n_gt[0]) if self._n_gt.size else 0
        if n_pos == 0:
            return lg, dpsi, dtri
        shape = (n_pos,) + r.shape[1:]
        rs = np.take(r, self._ord[:n_pos], axis=0, out=ws("g_rs", shape))
        acc_l = _zeros(ws, "g_acc_l", shape)
        acc_d = _zeros(ws, "g_acc_d", shape) if order >= 1 else None
        acc_t = _zeros(ws, "g_acc_t", shape) if order >= 2 else None
        rk_all, tmp_all = ws("g_rk", shape), ws("g_tmp", shape)
        for k in range(self._K):
            c = int(self._n_gt[k])
            if c == 0:
                break
            rk, tmp = np.add(rs[:c], k, out=rk_all[:c]), tmp_all[:c]
            acc_l[:c] += np.log(rk, out=tmp)
            if order >= 1:
                inv = np.divide(1.0, rk, out=rk)  # r + k is not needed any more
                acc_d[:c] += inv
                if order >= 2:
                    acc_t[:c] -= np.multiply(inv, inv, out=tmp)
        c = int(self._n_gt[self._K]) if self._K < self._n_gt.size else 0
        if c:  # counts above K: remaining terms from r + K to y + r
            yt = (self._ys[:c] - self._K).reshape(-1, *trail)
            r0 = rs[:c] + self._K
            _add_tail(acc_l, acc_d, acc_t, c, yt, r0, order)
        idx = self._ord[:n_pos]
        lg[idx] = acc_l
        if order >= 1:
            dpsi[idx] = acc_d
        if order >= 2:
            dtri[idx] = acc_t
        return lg, dpsi, dtri

    @property
    def sums_by_group(self) -> bool:
        """Whether :meth:`grouped` and :meth:`cells` apply (integer counts)."""
        return self._int_counts

    @property
    def row_order(self) -> np.ndarray:
        """The rows in the order the sums take them (descending min(y, 101), stable): for
        every k <= 100 the rows with y > k come first. Integer counts only."""
        return self._ord

    def cells(self, rc, per_row, order):
        """``self(r, order)`` on some cells of an (n, B) ``r``, the same bits there.

        ``rc`` (N,) the values of r on the cells: the cells of row ``row_order[0]`` first,
        then those of ``row_order[1]``, ...; ``per_row`` (n,) how many cells each row of
        ``row_order`` has. Returns three (N,) arrays (None above ``order``). Each cell's terms
        and the order of their additions are :meth:`__call__`'s, so a caller that evaluates
        only the cells it needs (``regrowth.models.gnb_draws``: the drawn rows of each draw)
        gets the values a full evaluation gives there. Integer counts only.
        """
        if not self._int_counts:
            raise ValueError("GammaDiffs.cells needs integer counts (sums_by_group)")
        cum = np.concatenate([[0], np.cumsum(per_row)])
        lg = np.zeros(rc.shape)
        dpsi = np.zeros(rc.shape) if order >= 1 else None
        dtri = np.zeros(rc.shape) if order >= 2 else None
        n_pos = int(self._n_gt[0]) if self._n_gt.size else 0
        m = int(cum[n_pos])
        if m == 0:
            return lg, dpsi, dtri
        rs = rc[:m]
        acc_l = np.zeros(m)
        acc_d = np.zeros(m) if order >= 1 else None
        acc_t = np.zeros(m) if order >= 2 else None
        for k in range(self._K):
            c = int(cum[self._n_gt[k]])
            if c == 0:
                break
            rk = rs[:c] + k
            acc_l[:c] += np.log(rk)
            if order >= 1:
                inv = 1.0 / rk
                acc_d[:c] += inv
                if order >= 2:
                    acc_t[:c] -= inv * inv
        rows = int(self._n_gt[self._K]) if self._K < self._n_gt.size else 0
        c = int(cum[rows])
        if c:  # counts above K: remaining terms from r + K to y + r, as __call__
            yt = np.repeat(self._ys[:rows] - self._K, per_row[:rows])
            r0 = rs[:c] + self._K
            _add_tail(acc_l, acc_d, acc_t, c, yt, r0, order)
        lg[:m] = acc_l
        if order >= 1:
            dpsi[:m] = acc_d
        if order >= 2:
            dtri[:m] = acc_t
        return lg, dpsi, dtri

    def grouped(self, r, order, groups, first):
        """``self(r, order)``, the same bytes, for ``r`` of shape (n, B) whose rows are equal
        within groups: ``groups`` (n,) labels 0..U-1, ``first`` (U,) a row of each group, and
        ``r[i] == r[first[groups[i]]]`` exactly for every row i (the caller checks).

        Integer counts only (:attr:`sums_by_group`). The sums over k < min(y, K) of ln(r+k),
        1/(r+k) and -1/(r+k)^2 are running sums over k of one table per group, (U, K, B)
        terms instead of sum_i min(y_i, K) B: the terms and the order of their additions are
        those of :meth:`__call__`, so the values are the same bits. The part of counts above
        K is computed as there.
        """
        if not self._int_counts:
            raise ValueError("GammaDiffs.grouped needs integer counts (sums_by_group)")
        lg = np.zeros(r.shape)
        dpsi = np.zeros(r.shape) if order >= 1 else None
        dtri = np.zeros(r.shape) if order >= 2 else None
        n_pos = int(self._n_gt[0]) if self._n_gt.size else 0
        if n_pos == 0:
            return lg, dpsi, dtri
        K = self._K
        trail = (1,) * (r.ndim - 1)
        rk = r[first][:, None] + np.arange(K, dtype=float).reshape(1, K, *trail)  # (U, K, ...)
        pos = self._y > 0
        g, m = groups[pos], np.minimum(self._y[pos], K).astype(np.int64) - 1
        lg[pos] = np.cumsum(np.log(rk), axis=1)[g, m]
        if order >= 1:
            inv = 1.0 / rk
            dpsi[pos] = np.cumsum(inv, axis=1)[g, m]
            if order >= 2:
                # __call__ subtracts from 0: 0 - a0 - a1 ... == 0 - (a0 + a1 ...) exactly
                dtri[pos] = 0.0 - np.cumsum(inv * inv, axis=1)[g, m]
        c = int(self._n_gt[K]) if K < self._n_gt.size else 0
        if c:  # counts above K: remaining terms from r + K to y + r, as __call__
            idx = self._ord[:c]
            yt = (self._ys[:c] - K).reshape(-1, *trail)
            r0u = r[first] + K
            gi = groups[idx]
            r0 = r0u[gi]
            big = r0 > _R_ASYMPTOTIC
            with np.errstate(all="ignore"):  # the functions of r0 alone once per group
                lg[idx] += np.where(big, _lgamma_diff_big(yt, r0),
                                    special.gammaln(yt + r0) - special.gammaln(r0u)[gi])
                if order >= 1:
                    dpsi[idx] += np.where(big, _digamma_diff_big(yt, r0),
                                          special.digamma(yt + r0) - special.digamma(r0u)[gi])
                if order >= 2:
                    dtri[idx] += np.where(big, _trigamma_diff_big(yt, r0),
                                          special.polygamma(1, yt + r0)
                                          - special.polygamma(1, r0u)[gi])
        return lg, dpsi, dtri
