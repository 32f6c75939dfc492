r"""Many refits of one GNB at once: frequency-weighted resamples, warm-started Newton.

A cluster bootstrap draw that takes province p ``w_p`` times (0, 1, 2, ...) stacks ``w_p`` copies
of p's rows. Its log likelihood, score and Hessian are those of the full sample with frequency
weight ``w_i = w_p`` on every row i of p::

    l(theta; w)   = sum_i w_i l_i(theta)
    grad(theta; w) = sum_i w_i s_i(theta)          H(theta; w) = sum_i w_i h_i(theta)

(l_i, s_i and h_i are :class:`regrowth.models.gnb.GeneralizedNegativeBinomial`'s, see its module
docstring), so a draw's maximum is the stacked refit's, and B draws are B weight vectors over one
model's rows: ``W`` of shape (B, n). Rows of weight zero are not evaluated into the sums (a
value there that overflows cannot reach them).

Cost: with integer counts the likelihood pieces are evaluated on the drawn cells (i, b) with
w_ib > 0 only (a province draw leaves about (1 - 1/G)^G ~ 1/e of them empty), and the
differences lnG(y+r) - lnG(r), psi(y+r) - psi(r), psi1(y+r) - psi1(r), exact sums over
k < min(y, 100) of ln(r+k), 1/(r+k), -1/(r+k)^2 (:class:`regrowth.models._special.GammaDiffs`),
are running sums over k of one table per distinct dispersion row where those are few (NB2:
r is one number per draw; a 0/1 dispersion regressor: two): U x 100 x B terms instead of
sum_i min(y_i, 100) x B. Every value is computed by the same operations in the same order as
on the full (n, B) arrays row by row, so the results are the same bits (tested).

:func:`fit_weighted` maximises all B at once by the safeguarded Newton iteration of
:func:`regrowth.models._optim.newton`, step for step (Hessian scaled by its diagonal, eigenvalues
floored at 1e-8 of the largest, step capped at ``max_step`` in its largest coordinate, Armijo
backtracking, one polishing step after convergence; the same loop,
:func:`regrowth.models._optim.newton_batch`), started from ``start`` (for a bootstrap:
the full-sample estimate, so a few steps suffice) and stopped after ``maxiter`` steps. Each draw
ends in one of :data:`STATUS`:

``"converged"``  the scaled Hessian is negative definite with condition number below 1e12 and
                 the Newton decrement g'(-H)^{-1}g is below ``tol`` (default 1e-12, the full
                 fit's), then polished: the same criterion as ``GeneralizedNegativeBinomial.fit``;
``"boundary"``   some drawn row's ln(alpha_i) fell below ``LNALPHA_BOUNDARY`` (-20): the Poisson
                 boundary where the full fit stops too (no finite maximum; the mean coefficients
                 are those of the limiting model to about alpha_i mu_i);
``"refit"``      anything else: not converged in ``maxiter`` steps, a stalled line search, a
                 non-finite likelihood, a design or Gram matrix that is singular or within a
                 factor 100 of the full fit's collinearity threshold (1e-12 k on the eigenvalues
                 of the column-scaled Gram matrix; here 1e-10 k), or mean coefficients running
                 to minus infinity at zero counts (fitted eta below -30). Such a draw must be
                 refitted in full by the caller, who then decides what the full fit decides.

Draws are fitted in fixed chunks (the caller's); a chunk's arithmetic is the same wherever it
runs, so the result is the same bytes on every backend for the same chunking.

**Per-draw designs** (``designs``, a randomization test's draws, which differ in one column of
the mean design X_b and have unit weights): l, grad and H as above with X_b in place of X,
eta_b = X_b b + offset, grad_mean = X_b' s_eta, H_mean = X_b' diag(h_ee) X_b, H_mean,disp =
X_b' diag(h_et) Z. Every product is one draw's own (batched matrix products on contiguous
operands, column sums per draw), so a draw's numbers are the same bytes whatever the other
draws of its chunk; the Gram check uses each draw's design.
"""

from __future__ import annotations

import numpy as np

from regrowth.models._optim import newton_batch
from regrowth.models.gnb_results import ETA_DIVERGE, LNALPHA_BOUNDARY

__all__ = ["STATUS", "weighted_derivs", "fit_weighted", "default_start"]

STATUS = ("converged", "boundary", "refit")
_RUNNING, _CONVERGED, _BOUNDARY, _REFIT = -1, 0, 1, 2
GRAM_TOL = 1e-10  # 100 x the full fit's 1e-12 (regrowth.models._checks.collinear): margin


def _arrays(model):
    X = np.ascontiguousarray(model._X)
    Z = np.ascontiguousarray(model.exog_disp)
    return X, Z, model.offset, model._y


def _outer(A: np.ndarray, C: np.ndarray) -> np.ndarray:
    """Row-wise outer products a_i c_i' flattened: (n, ka * kc)."""
    return (A[:, :, None] * C[:, None, :]).reshape(A.shape[0], -1)


def _disp_groups(Z: np.ndarray):
    """Rows of the dispersion design that are equal: ``(groups, first)``, labels (n,) and a
    row of each group (U,)."""
    _, first, groups = np.unique(Z, axis=0, return_index=True, return_inverse=True)
    return groups.reshape(-1), first


def _grouped(model, Z: np.ndarray, t: np.ndarray):
    """``(groups, first)`` when ``GammaDiffs.grouped`` applies to r = exp(-t), t = Z g of
    shape (n, B): integer counts, few distinct dispersion rows (NB2: one; a 0/1 regressor:
    two; fewer table terms U K than half the row-by-row terms sum_i min(y_i, K)) and rows of t
    equal within them; else None."""
    gamma = model._gamma
    y = model._y
    if not gamma.sums_by_group or not np.any(y > 0):
        return None
    groups, first = _disp_groups(Z)
    K = gamma._K
    if first.size * K < 0.5 * np.minimum(y, K).sum() and np.array_equal(t, t[first][groups]):
        return groups, first
    return None


class _Cells:
    """The drawn cells (row i, draw b with w_ib > 0) of an (n, B) array, rows in the order of
    ``GammaDiffs.row_order`` (draws ascending within a row): ``pos`` their flat positions in
    (n, B), ``row`` their rows, ``per_row`` the number of cells of each row in that order."""

    def __init__(self, model, Wt: np.ndarray):
        n, B = Wt.shape
        order = model._gamma.row_order
        on = Wt[order] > 0
        flat = np.flatnonzero(on)
        self.row = order[flat // B]
        self.pos = self.row * B + flat % B
        self.per_row = on.sum(axis=1)
        self.shape = (n, B)

    def take(self, a: np.ndarray) -> np.ndarray:
        return a.ravel()[self.pos]

    def put(self, v: np.ndarray) -> np.ndarray:
        """(n, B): ``v`` on the cells, 0 elsewhere (what ``np.where(w > 0, ., 0.0)`` gives)."""
        out = np.zeros(self.shape[0] * self.shape[1])
        out[self.pos] = v
        return out.reshape(self.shape)


def weighted_derivs(model, P: np.ndarray, W: np.ndarray, order: int = 2,
                    designs: np.ndarray | None = None):
    """Log likelihood, score and Hessian of ``model`` (a ``GeneralizedNegativeBinomial``) at
    each row of ``P`` (B, k) under the frequency weights of the same row of ``W`` (B, n).

    Returns ``(llf, grad, hess)``: shapes (B,), (B, k), (B, k, k) (``None`` above ``order``);
    nats, as ``model.loglike``. With ``W`` all ones this is ``model._derivs`` row by row.
    With integer counts the likelihood pieces are evaluated on the drawn cells only (rows of
    weight zero in a draw are about 1/e of a province bootstrap's cells), each cell by the same
    operations as on the full (n, B) arrays, so the results are the same bits.

    ``designs`` (B, n, k_mean): a mean design per draw in place of the model's (draws that
    differ in a regressor, as a randomization test's; every product with it is one draw's,
    so a draw's numbers do not depend on the other draws of the batch).
    """
    X, Z, off, y = _arrays(model)
    kx = X.shape[1]
    b, g = P[:, :kx], P[:, kx:]
    Wt = np.ascontiguousarray(W.T)  # (n, B): the rows of the likelihood pieces are observations
    Zx = Z  # the dispersion design of the products (per draw with ``designs``)
    if designs is None:
        eta = X @ b.T + off[:, None]
        t = Z @ g.T
    else:  # every product one draw's: batched matmul, never a product across draws
        X = designs
        Zx = np.ascontiguousarray(np.broadcast_to(Z, (len(P),) + Z.shape))  # (B, n, kz)
        eta = np.matmul(designs, np.ascontiguousarray(b)[:, :, None])[:, :, 0].T + off[:, None]
        t = np.matmul(Zx, np.ascontiguousarray(g)[:, :, None])[:, :, 0].T
    if not model._gamma.sums_by_group:
        return _derivs_full(model, X, Zx, y, P, Wt, eta, t, order)
    cells = _Cells(model, Wt)
    row = cells.row
    w, e, tc = cells.take(Wt), cells.take(eta), cells.take(t)
    yc = y[row]
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        mu = np.exp(e)
        r = np.exp(-tc)
        amu = np.exp(e + tc)
        lq = np.log1p(amu)
        grp = _grouped(model, Z, t)
        if grp is None:
            lg, dpsi, dtri = model._gamma.cells(r, cells.per_row, order)
        else:
            lg, dpsi, dtri = (None if a is None else cells.take(a)
                              for a in model._gamma.grouped(np.exp(-t), order, *grp))
        ll = lg - model._lgy1[row] - (r + yc) * lq + np.where(model._ypos[row], yc * (tc + e),
                                                              0.0)
        llf = _colsum(X, cells.put(w * ll))
        if order == 0:
            return llf, None, None
        q = 1.0 + amu
        s_eta = (yc - mu) / q
        rl = r * (lq - dpsi)
        s_t = rl + s_eta
        grad = np.concatenate([_xt(X, cells.put(w * s_eta)), _xt(Zx, cells.put(w * s_t))],
                              axis=1)
        if order == 1:
            return llf, grad, None
        q2 = q * q
        h = (cells.put(w * (-mu * (1.0 + yc / r) / q2)), cells.put(w * (amu * (mu - yc) / q2)),
             cells.put(w * (-rl + mu / q + r * r * dtri - (yc - mu) * amu / q2)))
    return llf, grad, _hessian(X, Zx, P, h)


def _derivs_full(model, X, Z, y, P, Wt, eta, t, order):
    """:func:`weighted_derivs` on the full (n, B) arrays, lnG/psi/psi1 differences row by row
    (non-integer counts; for integer counts the same bits as :func:`weighted_derivs`)."""
    on = Wt > 0
    yc = y[:, None]
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        mu = np.exp(eta)
        r = np.exp(-t)
        amu = np.exp(eta + t)
        lq = np.log1p(amu)
        lg, dpsi, dtri = model._gamma(r, order)
        ll = lg - model._lgy1[:, None] - (r + yc) * lq + np.where(model._ypos[:, None],
                                                                  yc * (t + eta), 0.0)
        llf = _colsum(X, np.where(on, Wt * ll, 0.0))
        if order == 0:
            return llf, None, None
        q = 1.0 + amu
        s_eta = (yc - mu) / q
        rl = r * (lq - dpsi)
        s_t = rl + s_eta
        ws_eta = np.where(on, Wt * s_eta, 0.0)
        ws_t = np.where(on, Wt * s_t, 0.0)
        grad = np.concatenate([_xt(X, ws_eta), _xt(Z, ws_t)], axis=1)
        if order == 1:
            return llf, grad, None
        q2 = q * q
        h_ee = np.where(on, Wt * (-mu * (1.0 + yc / r) / q2), 0.0)
        h_et = np.where(on, Wt * (amu * (mu - yc) / q2), 0.0)
        h_tt = np.where(on, Wt * (-rl + mu / q + r * r * dtri - (yc - mu) * amu / q2), 0.0)
    return llf, grad, _hessian(X, Z, P, (h_ee, h_et, h_tt))


def _xt(X, S):
    """(B, k) rows X'S[:, b] of an (n, B) ``S``; ``X`` (n, k), or (B, n, k) one per draw."""
    if X.ndim == 2:
        return (X.T @ S).T
    # contiguous operands: matmul then takes the same (BLAS) path for any number of draws
    return np.matmul(np.swapaxes(X, 1, 2), np.ascontiguousarray(S.T)[:, :, None])[:, :, 0]


def _colsum(X, S):
    """(B,) column sums of an (n, B) ``S``; with per-draw designs (``X`` 3-d) each draw's
    column summed on its own (the same bits whatever B)."""
    if X.ndim == 2:
        return S.sum(axis=0)
    return np.ascontiguousarray(S.T).sum(axis=1)


def _hessian(X, Z, P, h):
    """(B, k, k) Hessians from the weighted (n, B) second-derivative pieces ``h`` = (h_ee,
    h_et, h_tt) of the mean and dispersion indices (``X`` (n, k_mean) and ``Z`` (n, k_disp),
    or (B, n, k_mean) and (B, n, k_disp): one design per draw)."""
    h_ee, h_et, h_tt = h
    kx = X.shape[-1]
    k, kz, B = P.shape[1], Z.shape[-1], P.shape[0]
    H = np.empty((B, k, k))
    if X.ndim == 3:
        Xt = np.swapaxes(X, 1, 2)
        H[:, :kx, :kx] = np.matmul(Xt * h_ee.T[:, None, :], X)
        H[:, :kx, kx:] = np.matmul(Xt * h_et.T[:, None, :], Z)
        H[:, kx:, kx:] = np.matmul(np.swapaxes(Z, 1, 2) * h_tt.T[:, None, :], Z)
    else:
        H[:, :kx, :kx] = (h_ee.T @ _outer(X, X)).reshape(B, kx, kx)
        H[:, :kx, kx:] = (h_et.T @ _outer(X, Z)).reshape(B, kx, kz)
        H[:, kx:, kx:] = (h_tt.T @ _outer(Z, Z)).reshape(B, kz, kz)
    H[:, kx:, :kx] = np.swapaxes(H[:, :kx, kx:], 1, 2)
    return H


def _full_rank(mat: np.ndarray, W: np.ndarray) -> np.ndarray:
    """Per draw: is the stacked design (rows of ``mat`` repeated ``W`` times; ``mat`` (n, k) or
    one per draw, (B, n, k)) of full column rank by the full fit's Gram check, with a factor
    100 of margin? (B,) bool."""
    k = mat.shape[-1]
    if mat.ndim == 3:
        gram = np.matmul(np.swapaxes(mat, 1, 2) * W[:, None, :], mat)
    else:
        gram = (W @ _outer(mat, mat)).reshape(W.shape[0], k, k)
    scale = np.sqrt(np.einsum("bii->bi", gram))
    ok = np.all(scale > 0, axis=1)
    scale[~ok] = 1.0
    gs = gram / scale[:, :, None] / scale[:, None, :]
    w = np.linalg.eigvalsh(gs)
    return ok & (w[:, 0] > GRAM_TOL * k * w[:, -1]) if k > 1 else ok


def default_start(model, W: np.ndarray) -> np.ndarray:
    """Each draw's own default starting values, as ``model.start_params_default()`` computes
    them on the stacked rows: a weighted Poisson fit of the mean (Newton with step cap 5 and
    halving, from least squares on ln(y + 0.5), to a decrement of 1e-6, at most 100 steps)
    and ln of the moment estimate of a constant alpha, clipped to [0.05, 20]. (B, k)."""
    X, Z, off, y = _arrays(model)
    W = np.asarray(W, dtype=float)
    on = W > 0
    XtWX = np.einsum("ni,nj,bn->bij", X, X, W)
    b = np.linalg.solve(XtWX, np.einsum("nk,bn->bk", X, W * (np.log(y + 0.5) - off))[:, :, None])[:, :, 0]
    lgy1 = np.einsum("bn,n->b", W, model._lgy1)

    def evaluate(bb, rows):
        eta = np.einsum("nk,bk->bn", X, bb) + off
        with np.errstate(over="ignore", invalid="ignore"):
            mu = np.exp(eta)
            ll = np.einsum("bn->b", np.where(on[rows], W[rows] * (y * eta - mu), 0.0)) - lgy1[rows]
        return ll, mu

    allr = np.arange(W.shape[0])
    ll, mu = evaluate(b, allr)
    run = np.ones(W.shape[0], dtype=bool)
    for _ in range(100):
        rows = np.flatnonzero(run)
        if rows.size == 0:
            break
        wr = np.where(on[rows], W[rows], 0.0)
        g = np.einsum("nk,bn->bk", X, wr * (y - mu[rows]))
        A = np.einsum("ni,nj,bn->bij", X, X, wr * mu[rows])
        step = np.linalg.solve(A, g[:, :, None])[:, :, 0]
        dec = np.einsum("bi,bi->b", g, step)
        done = dec < 1e-6
        run[rows[done]] = False
        rows, step, dec = rows[~done], step[~done], dec[~done]
        m = np.max(np.abs(step), axis=1)
        step *= np.where(m > 5, 5 / np.where(m > 0, m, 1.0), 1.0)[:, None]
        s = np.ones(rows.size)
        pend = np.arange(rows.size)
        while pend.size:
            lln, mun = evaluate(b[rows[pend]] + s[pend, None] * step[pend], rows[pend])
            ok = np.isfinite(lln) & (lln >= ll[rows[pend]] + 1e-4 * s[pend] * dec[pend]
                                     - 1e-12 * np.abs(ll[rows[pend]]))
            acc = rows[pend[ok]]
            b[acc] += s[pend[ok], None] * step[pend[ok]]
            ll[acc], mu[acc] = lln[ok], mun[ok]
            s[pend[~ok]] *= 0.5
            stall = ~ok & ~(s[pend] > 1e-12)
            run[rows[pend[stall]]] = False
            pend = pend[~ok & ~stall]
    mu = np.exp(np.einsum("nk,bk->bn", X, b) + off)
    a0 = (np.einsum("bn->b", np.where(on, W * ((y - mu) ** 2 - y), 0.0))
          / np.einsum("bn->b", np.where(on, W * mu ** 2, 0.0)))
    a0 = np.minimum(np.maximum(a0, 0.05), 20.0)
    g = np.zeros((W.shape[0], Z.shape[1]))
    const = np.flatnonzero(np.all(Z == 1.0, axis=0))
    if const.size:
        g[:, const[0]] = np.log(a0)
    return np.concatenate([b, g], axis=1)


def fit_weighted(model, start, W, *, maxiter: int = 25, tol: float = 1e-12,
                 max_step: float = 5.0, designs: np.ndarray | None = None
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Maximise ``model``'s likelihood under each weight vector of ``W`` (B, n), from ``start``
    (one vector (k,) for every draw, one per draw (B, k), or None: each draw's own default
    start, :func:`default_start`, as a full fit of the stacked rows would begin). ``designs``
    (B, n, k_mean): each draw's own mean design (:func:`weighted_derivs`; then ``start`` must
    be given).

    Returns ``(params, status, iterations)``: (B, k) estimates, (B,) codes indexing
    :data:`STATUS` (0 converged, 1 boundary, 2 refit: the estimate is not usable, refit that
    draw in full) and (B,) Newton steps taken. The iteration is
    :func:`regrowth.models._optim.newton_batch` (see the module docstring).
    """
    W = np.asarray(W, dtype=float)
    B = W.shape[0]
    k = model.k_mean + model.k_disp
    kx = model.k_mean
    X, Z, off, y = _arrays(model)
    if designs is not None:
        if start is None:
            raise ValueError("fit_weighted: designs need a start (one per draw or one for all)")
        X = designs
    status = np.full(B, _RUNNING)
    status[~(_full_rank(X, W) & _full_rank(Z, W))] = _REFIT
    if start is None:
        P = np.zeros((B, k))
        ok = np.flatnonzero(status == _RUNNING)
        if ok.size:
            P[ok] = default_start(model, W[ok])
    else:
        start = np.asarray(start, dtype=float)
        P = np.tile(start, (B, 1)) if start.ndim == 1 else start.copy()
    on = W > 0

    def derivs(p, rows, order):
        return weighted_derivs(model, p, W[rows], order,
                               None if designs is None else designs[rows])

    def boundary(p, rows):
        return np.where(on[rows], np.einsum("nk,bk->bn", Z, p[:, kx:]), np.inf).min(axis=1) \
            < LNALPHA_BOUNDARY

    P, _, _, _, got, iters = newton_batch(derivs, P, tol=tol, maxiter=maxiter,
                                          max_step=max_step, stop=boundary,
                                          active=status == _RUNNING)
    status = np.where(status == _REFIT, _REFIT, got)  # newton_batch's codes are STATUS's
    c = np.flatnonzero(status == _CONVERGED)
    if c.size:  # mean coefficients running to minus infinity at zero counts: refit in full
        if X.ndim == 3:
            eta = np.matmul(X[c], P[c, :kx, None])[:, :, 0] + off
        else:
            eta = np.einsum("nk,bk->bn", X, P[c, :kx]) + off
        diverging = np.any(on[c] & (y == 0) & (eta < ETA_DIVERGE), axis=1)
        status[c[diverging]] = _REFIT
    return P, status, iters
