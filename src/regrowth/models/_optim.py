"""The package's one maximiser: safeguarded Newton on a log likelihood.

Used by :class:`regrowth.models.gnb.GeneralizedNegativeBinomial` (GNB and NB2) and the count
panel models (:mod:`regrowth.models.count_panel`: Poisson with dummies;
:mod:`regrowth.models.xtnbreg`: the HHG likelihoods). Each iteration, with gradient g and
Hessian H of the log likelihood at p:

1. scale: D = sqrt|diag(-H)|, A = D^-1 (-H) D^-1, g_s = D^-1 g (unit-free);
2. eigen-decompose A = V diag(w) V'. If A is positive definite (w_min > 0 and condition
   below 1e12) the Newton decrement is dec = g_s' A^-1 g_s; **convergence** is dec < ``tol``
   at a negative-definite Hessian, and is followed by one polishing Newton step (kept if the
   log likelihood does not fall beyond rounding and the gradient does not grow), so the
   estimate is accurate to machine precision, not to sqrt(tol): two machines agree to the
   last digits rather than to 1e-7;
3. otherwise (indefinite far from the optimum) the step uses |w| floored at 1e-8 w_max
   (a modified Newton step, always an ascent direction);
4. the step is capped at ``max_step`` in its largest coordinate and halved until the
   log likelihood rises by the Armijo fraction 1e-4 of the slope (near convergence, a step
   that keeps it within 1e-9 relative is accepted too); no acceptable step stops the search.

``stop(p)`` may end the search with a message before a step (the GNB stops at the Poisson
boundary of ln alpha, where no finite maximum exists). The result says whether it converged,
why it stopped, the iterations, the final decrement, gradient and Hessian.

:func:`newton_batch` runs the same iteration on B problems at once (B parameter vectors, one
``derivs`` call for all the problems still running): steps 1-4 per problem, with its own
line search, and a status per problem (:data:`BATCH_STATUS`) instead of a message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy import linalg

__all__ = ["NewtonResult", "newton", "newton_batch", "decrement", "TOL", "BATCH_STATUS"]

#: Convergence of every maximiser of the package: the scaled Newton decrement below this.
#: At a maximum found to machine precision the decrement is ~1e-20 or less, so the rule has
#: a margin of many orders over rounding; a statsmodels fit is judged by the same rule
#: (:func:`decrement`) rather than by its absolute step size, which rounding decides.
TOL = 1e-12


@dataclass
class NewtonResult:
    """Where :func:`newton` stopped: the parameters, log likelihood, gradient and Hessian
    there, and ``info`` (converged, iterations, message, decrement, stopped)."""

    params: np.ndarray
    llf: float
    grad: np.ndarray
    hessian: np.ndarray
    info: dict = field(default_factory=dict)


def _scaled(H: np.ndarray, grad: np.ndarray):
    A = -H
    d = np.sqrt(np.abs(np.diag(A)))
    d[d == 0] = 1.0
    return A / d[:, None] / d[None, :], grad / d, d


def decrement(grad: np.ndarray, hessian: np.ndarray) -> float:
    """The scaled Newton decrement g_s' A^-1 g_s of step 2 of the module docstring at a point
    with log-likelihood gradient ``grad`` and Hessian ``hessian``; ``inf`` where the scaled
    Hessian is not negative definite with condition below 1e12 (no maximum there)."""
    As, gs, _ = _scaled(np.asarray(hessian, dtype=float), np.asarray(grad, dtype=float))
    if not np.all(np.isfinite(As)) or not np.all(np.isfinite(gs)):
        return float("inf")
    w, V = linalg.eigh(As)
    if not (w[0] > 0 and np.max(np.abs(w)) / w[0] < 1e12):
        return float("inf")
    vg = V.T @ gs
    return float(np.sum(vg * vg / w))


def newton(derivs: Callable[[np.ndarray, int], tuple], start, *, tol: float = TOL,
           maxiter: int = 100, max_step: float = 5.0,
           stop: Callable[[np.ndarray], str | None] | None = None) -> NewtonResult:
    """Maximise a log likelihood by safeguarded Newton (see the module docstring).

    ``derivs(p, order)`` returns ``(llf,)`` for order 0 and ``(llf, grad, hessian)`` for
    order 2 (a non-finite llf marks p as outside the domain). Returns :class:`NewtonResult`.
    """
    p = np.asarray(start, dtype=float).copy()
    llf, grad, H = derivs(p, 2)
    info = {"converged": False, "iterations": 0, "message": "", "stopped": False}
    if not np.isfinite(llf):
        info["message"] = "log likelihood is not finite at the starting values"
        return NewtonResult(p, llf, grad, H, info)
    for it in range(maxiter + 1):
        info["iterations"] = it
        As, gs, d = _scaled(H, grad)
        if not np.all(np.isfinite(As)):
            info["message"] = "Hessian is not finite"
            break
        w, V = linalg.eigh(As)
        wmax = np.max(np.abs(w))
        nd = w[0] > 0 and wmax / w[0] < 1e12
        vg = V.T @ gs
        why = stop(p) if stop is not None else None
        if why:
            info["stopped"] = True
            info["message"] = why
            break
        dec = float(np.sum(vg * vg / w)) if nd else np.inf
        info["decrement"] = dec
        if nd and dec < tol:
            info["converged"] = True
            info["message"] = "converged"
            # one polishing Newton step (quadratic convergence), kept if not worse
            pn = p + (V @ (vg / w)) / d
            lln, gn, Hn = derivs(pn, 2)
            # (llf changes by ~decrement/2, below rounding: compare up to rounding)
            if (np.isfinite(lln) and lln >= llf - 1e-12 * (1.0 + abs(llf))
                    and np.all(np.isfinite(Hn))
                    and np.max(np.abs(gn)) <= np.max(np.abs(grad))):
                p, llf, grad, H = pn, lln, gn, Hn
            break
        if it == maxiter:
            info["message"] = f"iteration limit ({maxiter}) reached"
            break
        wm = np.maximum(np.abs(w), 1e-8 * wmax)
        step = (V @ (vg / wm)) / d
        m = np.max(np.abs(step))
        if m > max_step:
            step *= max_step / m
        slope = float(grad @ step)
        s, accepted, full = 1.0, False, None
        while s > 1e-12:
            pn = p + s * step
            if s == 1.0:  # the full step is usually accepted: get its derivatives at once
                full = derivs(pn, 2)
                lln = full[0]
            else:
                lln = derivs(pn, 0)[0]
            if np.isfinite(lln) and (lln >= llf + 1e-4 * s * slope
                                     or (nd and dec < 1e-6 and lln >= llf - 1e-9 * abs(llf))):
                accepted = True
                break
            s *= 0.5
        if not accepted:
            info["message"] = ("line search stalled: no step increases the log likelihood "
                               f"(Newton decrement {dec:.3g})")
            break
        p = pn
        llf, grad, H = full if s == 1.0 else derivs(p, 2)
    return NewtonResult(p, llf, grad, H, info)


#: What :func:`newton_batch` says of each problem: converged (and polished); stopped by
#: ``stop`` (the GNB's Poisson boundary); failed (not converged in ``maxiter`` steps, a
#: stalled line search, a non-finite likelihood or Hessian).
BATCH_STATUS = ("converged", "stopped", "failed")
_RUNNING, _CONVERGED, _STOPPED, _FAILED = -1, 0, 1, 2


def _batch_line_search(derivs, P, llf, G, H, rows, step, slope, ll0, easy) -> np.ndarray:
    """Step 4 of the module docstring for the problems ``rows`` along ``step``: the full step
    first, with its derivatives (usually accepted), then halving down to 1e-12. Accepted points
    are written into ``P``, ``llf``, ``G`` and ``H`` in place; returns the rows whose search
    stalled. ``easy`` rows (Newton decrement below 1e-6) also accept a step that keeps the log
    likelihood within 1e-9 (relative), where rounding hides the increase."""
    pn = P[rows] + step
    lln, gn, Hn = derivs(pn, rows, 2)
    ok = np.isfinite(lln) & ((lln >= ll0 + 1e-4 * slope)
                             | (easy & (lln >= ll0 - 1e-9 * np.abs(ll0))))
    P[rows[ok]], llf[rows[ok]], G[rows[ok]], H[rows[ok]] = pn[ok], lln[ok], gn[ok], Hn[ok]
    pend = np.flatnonzero(~ok)
    s = 1.0
    while pend.size and s > 1e-12:
        s *= 0.5
        if not s > 1e-12:
            break
        pt = P[rows[pend]] + s * step[pend]
        lt = derivs(pt, rows[pend], 0)[0]
        okp = np.isfinite(lt) & ((lt >= ll0[pend] + 1e-4 * s * slope[pend])
                                 | (easy[pend] & (lt >= ll0[pend] - 1e-9 * np.abs(ll0[pend]))))
        if okp.any():
            acc = rows[pend[okp]]
            P[acc] = pt[okp]
            llf[acc], G[acc], H[acc] = derivs(pt[okp], acc, 2)
        pend = pend[~okp]
    return rows[pend]


def newton_batch(derivs: Callable[[np.ndarray, np.ndarray, int], tuple], start, *,
                 tol: float = TOL, maxiter: int = 100, max_step: float = 5.0,
                 stop: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
                 active: np.ndarray | None = None):
    """Maximise B log likelihoods at once by the safeguarded Newton iteration of
    :func:`newton`, step for step, each problem with its own line search and stopping rule.

    ``start`` (B, k): the starting values. ``derivs(P, rows, order)`` returns, for the
    problems ``rows`` (indices into 0..B-1) at the parameters ``P`` (len(rows), k), ``(llf,
    grad, hessian)`` of shapes (m,), (m, k), (m, k, k) (``None`` above ``order``; a
    non-finite llf marks a point outside the domain). ``stop(P, rows)``: a bool (m,), True
    where a problem must stop before its next step (``newton``'s ``stop``). ``active``: bool
    (B,), the problems to run (default all; the others are returned as failed, untouched).

    Returns ``(params, llf, grad, hessian, status, iterations)``: (B, k), (B,), (B, k),
    (B, k, k), (B,) codes indexing :data:`BATCH_STATUS` and (B,) iterations taken (as
    ``NewtonResult.info["iterations"]``).
    """
    P = np.array(start, dtype=float)
    B, k = P.shape
    status = np.full(B, _RUNNING)
    if active is not None:
        status[~np.asarray(active, dtype=bool)] = _FAILED
    iters = np.zeros(B, dtype=int)
    llf = np.full(B, np.nan)
    G = np.zeros((B, k))
    H = np.zeros((B, k, k))
    act = np.flatnonzero(status == _RUNNING)
    if act.size:
        llf[act], G[act], H[act] = derivs(P[act], act, 2)
    status[(status == _RUNNING) & ~np.isfinite(llf)] = _FAILED
    for it in range(maxiter + 1):
        act = np.flatnonzero(status == _RUNNING)
        if act.size == 0:
            break
        iters[act] = it
        p, g, h = P[act], G[act], H[act]
        A = -h
        d = np.sqrt(np.abs(np.einsum("bii->bi", A)))
        d[d == 0] = 1.0
        As = A / d[:, :, None] / d[:, None, :]
        gs = g / d
        finite = np.all(np.isfinite(As), axis=(1, 2))
        status[act[~finite]] = _FAILED
        As[~finite] = np.eye(k)
        ev, V = np.linalg.eigh(As)
        wmax = np.max(np.abs(ev), axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            nd = (ev[:, 0] > 0) & (wmax / ev[:, 0] < 1e12)
        vg = np.einsum("bji,bj->bi", V, gs)
        live = finite
        if stop is not None:
            halt = np.zeros(act.size, dtype=bool)
            halt[finite] = stop(p[finite], act[finite])
            status[act[halt]] = _STOPPED
            live = finite & ~halt
        with np.errstate(divide="ignore", invalid="ignore"):
            dec = np.where(nd, np.einsum("bi,bi->b", vg, vg / np.where(nd[:, None], ev, 1.0)),
                           np.inf)
        conv = live & nd & (dec < tol)
        if conv.any():  # one polishing Newton step, kept if not worse
            c = np.flatnonzero(conv)
            pn = p[c] + np.einsum("bij,bj->bi", V[c], vg[c] / ev[c]) / d[c]
            lln, gn, Hn = derivs(pn, act[c], 2)
            keep = (np.isfinite(lln) & (lln >= llf[act[c]] - 1e-12 * (1.0 + np.abs(llf[act[c]])))
                    & np.all(np.isfinite(Hn), axis=(1, 2))
                    & (np.max(np.abs(gn), axis=1) <= np.max(np.abs(g[c]), axis=1)))
            kc = act[c[keep]]
            P[kc], llf[kc], G[kc], H[kc] = pn[keep], lln[keep], gn[keep], Hn[keep]
            status[act[c]] = _CONVERGED
        step_rows = np.flatnonzero(live & ~conv)
        if step_rows.size == 0:
            continue
        if it == maxiter:
            status[act[step_rows]] = _FAILED
            break
        sr = step_rows
        wm = np.maximum(np.abs(ev[sr]), 1e-8 * wmax[sr, None])
        step = np.einsum("bij,bj->bi", V[sr], vg[sr] / wm) / d[sr]
        m = np.max(np.abs(step), axis=1)
        step *= np.where(m > max_step, max_step / np.where(m > 0, m, 1.0), 1.0)[:, None]
        slope = np.einsum("bi,bi->b", g[sr], step)
        rows = act[sr]
        easy = nd[sr] & (dec[sr] < 1e-6)
        stalled = _batch_line_search(derivs, P, llf, G, H, rows, step, slope, llf[rows], easy)
        status[stalled] = _FAILED
    status[status == _RUNNING] = _FAILED
    return P, llf, G, H, status, iters
