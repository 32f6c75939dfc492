r"""Cheap refits of a column with one regressor replaced (for randomization inference).

A randomization test refits the column once per draw with the treatment column dealt out
anew; every other variable, the sample, the clusters and the options are the same. A cold
refit (``spec.entry.fit(spec, frame)`` + :func:`regrowth.report.tidy.tidy`) rebuilds the
design through formulas, starts the maximiser from scratch and builds a full results object:
tens of ms for the GNB on 112 rows, 100-200 ms for linearmodels' RE and FE on 254. Here the
design is built once (:func:`column_refit`) and a draw only replaces the permuted column.

Count models (``gnb``, ``nb2``, ``poisson``)
    Newton-Raphson (:func:`regrowth.models._optim.newton`, the package's maximiser, same
    convergence rule as the cold fit: Newton decrement g'(-H)^{-1}g < 1e-12 at a
    negative-definite Hessian, then one polishing step) **warm-started from the observed
    estimate**, at most :data:`WARM_STEPS` iterations. Score s_i and Hessian H at the
    estimate give the covariance as the cold fit does: OIM (-H)^{-1}; robust
    N/(N-1) H^{-1}(sum s_i s_i')H^{-1}; cluster G/(G-1) H^{-1}(sum_g S_g S_g')H^{-1}
    (:func:`regrowth.models.covariance.stata_ml_scale`). GNB/NB2 use the model's own
    likelihood derivatives; Poisson's are l = sum y eta - mu - lnG(y+1), g = X'(y - mu),
    H = -X' diag(mu) X. A draw that does not converge within the steps (or stops at the
    Poisson boundary) is refitted cold and counted as a fallback.
    **Batched** (``batch``, what the randomization engine calls for a chunk's draws that keep
    every row): the draws differ only in column j of the design, so the same iterations run
    on all of them at once (:func:`regrowth.models._optim.newton_batch`; for GNB/NB2
    :func:`regrowth.models.gnb_draws.fit_weighted` with one design per draw and unit
    weights), each with its own line search and convergence test: the same starts and rule.
    A draw the batch does not settle (not converged in WARM_STEPS, boundary, rank trouble)
    goes through the per-draw path above, then the cold fallback, so which draws fall back
    is decided as before. Every product is a draw's own, so a draw's numbers do not depend on
    the chunk it came in.
FGLS (``fgls``)
    :class:`regrowth.models.fgls.PanelFGLS` built once on the design arrays (no formula); a
    draw runs the steps of its ``fit`` on a copy with the column replaced: rho and the panel
    variances are re-estimated each draw, as in the cold fit (no results object is built).
Fixed effects (``fe``, clustered)
    Frisch-Waugh-Lovell: with D the entity (and, two-way, time) dummies, every column is
    residualised once, x~ = x - D D^+ x; a draw residualises only the permuted column. Then
    b = (X~'X~)^{-1} X~'y~, e = y~ - X~ b and Stata's ``xtreg, fe vce(cluster)`` covariance
    G/(G-1) (N-1)/(N-K) (X~'X~)^{-1} (sum_g S_g S_g') (X~'X~)^{-1}, S_g = sum_{i in g} x~_i e_i,
    K = regressors + 1 (+ T - 1 with time effects; + entities - 1 if they are not nested in
    the clusters), as :func:`regrowth.models.covariance.stata_clustered`.
Random effects (``re``, clustered)
    linearmodels' Swamy-Arora steps transcribed (``small_sample=False``, no weights):
    within regression on entity-demeaned data with the grand mean added back (sigma2_e =
    e_w'e_w / (N - n - rank_w)), between regression of entity means (sigma2_u =
    max(0, ssr_b / (n - rank_b) - sigma2_e / T_bar), T_bar = n / sum_i 1/T_i), theta_i =
    1 - sqrt(sigma2_e / (T_i sigma2_u + sigma2_e)), OLS of y - theta_i ybar_i on
    x - theta_i xbar_i, and the clustered sandwich on that regression times
    G/(G-1)(N-1)/(N-K), K = all coefficients.

Batched linear draws (``batch``)
    FE and RE: the steps above for all the draws of a chunk that keep the same rows at once
    (batched matrix products; RE's least squares by each draw's SVD, the rank cut
    max(n, k) eps s_max as ``gelsy``'s, and a draw with a singular value between a tenth of
    the cut and 100 times it left to the per-draw path). FGLS (panels iid or hetero, no
    ``igls``): the layout once, the rank check by singular values (numpy's ``matrix_rank``
    cut, a draw within 1e4 of it left to the per-draw path), then the OLS, Prais-Winsten OLS
    and GLS of every draw by QR; rho and the transform per draw by the model's own steps.
    Any other fast path: each draw through ``fast`` without building its data frame.

Everything else (other estimators or SE types, or a draw that lost rows to a missing
reassigned value) is refitted cold. ``tests/inference/test_refit.py`` checks every fast
path against the cold refit on permuted data (estimates and SEs to 1e-8 relative), and the
batched count refits against the per-draw ones (1e-10 relative).
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pandas as pd
from scipy import linalg, special

from regrowth.models.count import (cluster_groups, count_design, poisson_batch_derivs,
                                   poisson_derivs)
from regrowth.models.covariance import cluster_codes, cluster_sums, stata_linear_factor, stata_ml_scale
from regrowth.models.design import effect_dummies
from regrowth.models.gnb import GeneralizedNegativeBinomial
from regrowth.errors import RegrowthError
from regrowth.models._checks import panel_rhos
from regrowth.models.fgls import PanelFGLS, _is_constant
from regrowth.models._optim import newton, newton_batch
from regrowth.models.gnb_draws import fit_weighted
from regrowth.report.tidy import tidy

__all__ = ["ColumnRefit", "column_refit", "coefficient", "WARM_STEPS"]

#: Newton iterations a warm-started count refit may take before it falls back to a cold fit.
WARM_STEPS = 25


def coefficient(result, term: str) -> tuple[float, float]:
    """(estimate, standard error) of ``term`` in the mean equation of a fitted result (the
    first equation: a GNB's dispersion equation, ``lnalpha``, may carry a regressor of the
    same name)."""
    rows = tidy(result)
    rows = rows[(rows["term"] == term) & (rows["equation"] != "lnalpha")]
    if rows.empty:
        raise ValueError(f"{term!r} is not a coefficient of the refitted model")
    return float(rows["estimate"].iloc[0]), float(rows["std_error"].iloc[0])


class ColumnRefit:
    """``refit(frame) -> (estimate, std_error, cold)`` of ``term`` for a column ``spec``
    whose estimation sample is ``data``; ``frame`` is ``data`` with the ``term`` column
    replaced (or fewer rows). ``kind`` names the fast path ("cold" when there is none);
    ``cold`` is True when the draw was refitted cold although a fast path exists.
    Picklable: it is sent to the randomization test's workers."""

    kind = "cold"

    def __init__(self, spec, data: pd.DataFrame, term: str):
        self.spec, self.term = spec, term
        self.index = data.index

    def cold(self, frame: pd.DataFrame) -> tuple[float, float]:
        return coefficient(self.spec.entry.fit(self.spec, frame), self.term)

    def fast(self, x: np.ndarray, pos: np.ndarray | None) -> tuple[float, float] | None:
        """(estimate, std_error) with the term's column ``x`` on the rows ``pos`` (positions
        in ``data``; None: every row), or None when this path cannot give it."""
        return None  # pragma: no cover - overridden

    def batch(self, xs: np.ndarray) -> list[tuple[float, float] | None]:
        """(estimate, std_error) of many draws at once, ``xs`` (m, n): the term's column of
        each draw on the rows of ``data``, NaN on a row the draw loses; None for a draw this
        batch does not settle (the caller refits it one by one: :meth:`__call__`, which may
        fall back to a cold fit). A draw's numbers do not depend on the other draws of
        ``xs``. By default each draw goes through :meth:`fast` on its kept rows, as
        :meth:`__call__` would send it, without building its frame (a cold refit: nothing is
        settled here)."""
        if self.kind == "cold":
            return [None] * len(xs)
        out: list = []
        for x in xs:
            keep = ~np.isnan(x)
            try:
                out.append(self.fast(x[keep], None if keep.all() else np.flatnonzero(keep)))
            except (ValueError, np.linalg.LinAlgError, RuntimeError, ArithmeticError):
                out.append(None)  # __call__ meets the same error, and the engine counts it
        return out

    def _full_rows(self, xs) -> np.ndarray:
        """Positions in ``xs`` of the draws that keep every row."""
        return np.flatnonzero(~np.isnan(xs).any(axis=1))

    def __call__(self, frame: pd.DataFrame):
        if self.kind == "cold":
            return (*self.cold(frame), False)
        pos = None
        if not frame.index.equals(self.index):
            pos = self.index.get_indexer(frame.index)
            if (pos < 0).any():
                return (*self.cold(frame), True)
        got = self.fast(frame[self.term].to_numpy(dtype=float), pos)
        if got is None:
            return (*self.cold(frame), True)
        return (*got, False)


def _ml_se(H: np.ndarray, S: np.ndarray, se_type: str, clusters, j: int) -> float:
    """Standard error of coefficient ``j`` (``clusters``: (codes, G) or None)."""
    hinv = -linalg.inv(H)
    if se_type == "oim":
        return math.sqrt(hinv[j, j])
    if se_type == "robust":
        fac = stata_ml_scale("robust", S.shape[0])
        meat = S.T @ S
    else:
        codes, G = clusters
        Sg = cluster_sums(codes, G, S)
        meat = Sg.T @ Sg
        fac = stata_ml_scale("cluster", S.shape[0], G)
    v = fac * (hinv[j] @ meat @ hinv[:, j])
    return math.sqrt(v)


def _with_column(X: np.ndarray, j: int, xs: np.ndarray) -> np.ndarray:
    """(m, n, k): ``X`` (n, k) once per row of ``xs`` (m, n), column ``j`` replaced by it."""
    out = np.repeat(X[None], len(xs), axis=0)
    out[:, :, j] = xs
    return out


def _by_rows(xs) -> dict:
    """Draws grouped by the rows they keep: ``{key: (rows, pos)}``, ``rows`` the draws'
    positions in ``xs``, ``pos`` the rows kept (None: every row), key None for every row."""
    keep = ~np.isnan(xs)
    groups: dict = {}
    for i, k in enumerate(keep):
        key = None if k.all() else np.flatnonzero(k).tobytes()
        groups.setdefault(key, ([], None if key is None else np.flatnonzero(k)))[0].append(i)
    return groups


def _stacked(A: np.ndarray, B: int) -> np.ndarray:
    """``A`` once per draw, (B, *A.shape), contiguous: every product with it is the draw's
    own (a broadcast operand can make matmul take a path that depends on B)."""
    return np.repeat(A[None], B, axis=0)


def _indicator(codes: np.ndarray, G: int) -> np.ndarray:
    """(G, n) 0/1 matrix of cluster membership: C @ S are the cluster sums of S's rows."""
    C = np.zeros((G, len(codes)))
    C[codes, np.arange(len(codes))] = 1.0
    return C


def _clustered_se(X, e, Ainv, codes, G, factor, j) -> np.ndarray:
    """Per draw sqrt(factor a'(sum_g S_g S_g')a), a = row j of (X'X)^-1, S_g = sum_{i in g}
    x_i e_i, as the fast paths compute it: X (B, n, k), e (B, n), Ainv (B, k, k)."""
    Sg = np.matmul(_stacked(_indicator(codes, G), len(X)), X * e[:, :, None])   # (B, G, k)
    v = np.matmul(Sg, np.ascontiguousarray(Ainv[:, j, :])[:, :, None])[:, :, 0]
    return np.sqrt(factor * np.sum(v * v, axis=1))


def _lstsq_batch(A: np.ndarray, y: np.ndarray):
    """Least squares of every draw at once as ``scipy.linalg.lstsq`` (cond = max(n, k) eps):
    ``(coef, resid, rank, ok)`` from each draw's SVD (A (B, n, k), y (B, n)); ``ok`` False
    where a singular value lies between a tenth of the rank cut-off and 100 times it (the
    rank the pivoted QR of ``gelsy`` finds there could differ: leave that draw to the
    per-draw path; an exactly collinear column, such as the within-transformed intercept,
    gives about n eps s_max, below the band)."""
    U, s, Vt = np.linalg.svd(A, full_matrices=False)
    cut = max(A.shape[1:]) * np.finfo(float).eps * s[:, :1]
    on = s > cut
    ok = ~np.any((s > cut * 0.1) & (s < cut * 100.0), axis=1)
    uy = np.matmul(np.swapaxes(U, 1, 2), np.ascontiguousarray(y)[:, :, None])[:, :, 0]
    uy = np.where(on, uy, 0.0)
    coef = np.matmul(np.swapaxes(Vt, 1, 2), (uy / np.where(on, s, 1.0))[:, :, None])[:, :, 0]
    resid = y - np.matmul(U, uy[:, :, None])[:, :, 0]
    return coef, resid, on.sum(axis=1), ok


def _qr_lstsq(A: np.ndarray, y: np.ndarray):
    """Least squares of every draw at once by QR, for designs already known to be of full
    column rank with a margin (A (B, n, k), y (B, n)): ``(coef, resid, R)``."""
    Q, R = np.linalg.qr(A)
    coef = np.linalg.solve(R, np.matmul(np.swapaxes(Q, 1, 2),
                                        np.ascontiguousarray(y)[:, :, None]))[:, :, 0]
    return coef, y - np.matmul(A, coef[:, :, None])[:, :, 0], R


def _poisson_pieces(spec, data):
    y, X, exposure = count_design(spec, data)
    yv = y.to_numpy(dtype=float)
    off = (np.log(exposure.to_numpy(dtype=float)) if exposure is not None
           else np.zeros(len(yv)))
    return yv, np.asfortranarray(X.to_numpy(dtype=float)), off, special.gammaln(yv + 1.0), \
        list(X.columns)


class _GNBRefit(ColumnRefit):
    """GNB/NB2: Newton on the GNB likelihood started from (Poisson estimate on the permuted
    design, itself Newton from the observed Poisson estimate; observed dispersion
    coefficients), about 5 GNB iterations against 9-11 from the observed GNB estimate."""

    kind = "warm_newton"

    def __init__(self, spec, data, term):
        super().__init__(spec, data, term)
        self.py, self.pX, self.poff, self.plgy, _ = _poisson_pieces(spec, data)
        y, X, exposure = count_design(spec, data)
        Z = None
        if spec.estimator == "gnb":
            Z = pd.concat([pd.DataFrame({"Intercept": 1.0}, index=data.index),
                           data[list(spec.dispersion)].astype(float)], axis=1)
        self.model = GeneralizedNegativeBinomial(y, X, Z, exposure=exposure,
                                                 groups=cluster_groups(spec, data))
        self.j = list(X.columns).index(term)
        cold = self.model.fit(cov_type="nonrobust")
        self.start = np.asarray(cold.params, dtype=float)
        self.clusters = (None if self.model.groups is None
                         else cluster_codes(self.model.groups))
        pstart = np.zeros(self.pX.shape[1])
        pstart[0] = math.log(self.py.mean()) - self.poff.mean()  # column 0 is the Intercept
        pois = newton(poisson_derivs(self.pX, self.py, self.poff, self.plgy), pstart,
                      tol=1e-12, maxiter=100)
        self.pstart = pois.params

    def fast(self, x, pos):
        if pos is not None:  # a draw that lost rows: the GNB's count tables are per sample
            return None
        kx = self.model.k_mean
        pX = self.pX.copy(order="F")
        pX[:, self.j] = x
        pois = newton(poisson_derivs(pX, self.py, self.poff, self.plgy), self.pstart,
                      tol=1e-8, maxiter=WARM_STEPS)
        start = np.concatenate([pois.params, self.start[kx:]]) if pois.info["converged"] \
            else self.start
        return self._settle(x, start)

    def _settle(self, x, start):
        """Newton on the GNB likelihood of the design with column ``x`` from ``start``;
        (estimate, std_error), or None when it does not converge in WARM_STEPS."""
        m = copy.copy(self.model)
        X = np.array(m._X, order="F", copy=True)
        X[:, self.j] = x
        m._X = X
        res = newton(m._derivs, start, tol=1e-12, maxiter=WARM_STEPS)
        if not res.info["converged"] or res.info["stopped"]:
            return None
        S = m.score_obs(res.params)
        return float(res.params[self.j]), _ml_se(res.hessian, S, self.spec.se_type,
                                                 self.clusters, self.j)

    def batch(self, xs):
        """:meth:`fast` of every draw at once: the Poisson warm starts by
        :func:`regrowth.models._optim.newton_batch`, the GNB iterations by
        :func:`regrowth.models.gnb_draws.fit_weighted` on per-draw designs (unit weights),
        the same rule step for step (polishing step included); then the Hessian and scores
        at the estimate from the model's own derivatives and the SE by :func:`_ml_se`, as in
        :meth:`fast` (the batched Hessian adds in another order, which the inverse amplifies:
        1e-10 in a Table 1 SE). A draw the batch does not converge (iteration limit,
        boundary, rank, stalled line search, divergent mean at zero counts) is left to
        :meth:`fast` (None).

        The batched derivatives add in another order than the model's, so a draw's estimate
        equals :meth:`fast`'s up to the likelihood's rounding: 3e-11 relative on Table 1's
        columns; on Table 7's macro-region GNB (Hessian condition number 3e9, 49 rows) 2e-7
        of the standard error, as far as :meth:`fast` is from the cold refit there."""
        out: list = [None] * len(xs)
        full = self._full_rows(xs)  # a draw that lost rows: fast leaves it to the cold fit
        if full.size == 0:
            return out
        xs = xs[full]
        m, kx = len(xs), self.model.k_mean
        pX = _with_column(self.pX, self.j, xs)
        pois, _, _, _, pst, _ = newton_batch(
            poisson_batch_derivs(pX, self.py, self.poff, self.plgy),
            np.tile(self.pstart, (m, 1)), tol=1e-8, maxiter=WARM_STEPS)
        start = np.tile(self.start, (m, 1))
        start[pst == 0, :kx] = pois[pst == 0]
        X = _with_column(np.asarray(self.model._X, dtype=float), self.j, xs)
        ones = np.ones((m, X.shape[1]))
        P, status, _ = fit_weighted(self.model, start, ones, maxiter=WARM_STEPS, tol=1e-12,
                                    designs=X)
        mod = copy.copy(self.model)
        for i in np.flatnonzero(status == 0):
            mod._X = np.asfortranarray(X[i])
            out[full[i]] = (float(P[i, self.j]), _ml_se(mod._derivs(P[i], 2)[2],
                                                        mod.score_obs(P[i]),
                                                        self.spec.se_type, self.clusters,
                                                        self.j))
        return out


class _PoissonRefit(ColumnRefit):
    kind = "warm_newton"

    def __init__(self, spec, data, term):
        super().__init__(spec, data, term)
        self.y, self.X, self.off, self.lgy, names = _poisson_pieces(spec, data)
        self.j = names.index(term)
        self.groups = cluster_groups(spec, data)
        self.clusters = None if self.groups is None else cluster_codes(self.groups)
        self.start = np.asarray(spec.entry.fit(spec, data).params, dtype=float)

    def fast(self, x, pos):
        X, y, off, lgy, clusters = self.X, self.y, self.off, self.lgy, self.clusters
        if pos is not None:
            X, y, off, lgy = X[pos], y[pos], off[pos], lgy[pos]
            clusters = None if self.groups is None else cluster_codes(self.groups[pos])
        X = np.array(X, order="F", copy=True)
        X[:, self.j] = x
        res = newton(poisson_derivs(X, y, off, lgy), self.start, tol=1e-12,
                     maxiter=WARM_STEPS)
        if not res.info["converged"] or res.info["stopped"]:
            return None
        mu = np.exp(X @ res.params + off)
        S = X * (y - mu)[:, None]
        return float(res.params[self.j]), _ml_se(res.hessian, S, self.spec.se_type,
                                                 clusters, self.j)

    def batch(self, xs):
        """:meth:`fast` of every draw at once (:func:`regrowth.models._optim.newton_batch`,
        the same rule step for step), the SE from the Hessian and scores :meth:`fast` uses; a
        draw not converged there is left to :meth:`fast` (None)."""
        out: list = [None] * len(xs)
        full = self._full_rows(xs)  # draws that lost rows: fast, on their rows
        if full.size == 0:
            return out
        X = _with_column(self.X, self.j, xs[full])
        P, _, _, _, status, _ = newton_batch(
            poisson_batch_derivs(X, self.y, self.off, self.lgy),
            np.tile(self.start, (len(full), 1)), tol=1e-12, maxiter=WARM_STEPS)
        for i in np.flatnonzero(status == 0):  # Hessian and scores as fast computes them
            Xi = np.asfortranarray(X[i])
            H = poisson_derivs(Xi, self.y, self.off, self.lgy)(P[i], 2)[2]
            mu = np.exp(Xi @ P[i] + self.off)
            S = Xi * (self.y - mu)[:, None]
            out[full[i]] = (float(P[i, self.j]), _ml_se(H, S, self.spec.se_type,
                                                        self.clusters, self.j))
        return out


def _linear_design(spec, data, *, two_way: bool):
    """(y, X with Intercept, regressors and the spec's effect dummies) as the cold fit."""
    dummies = effect_dummies(spec, data, year=spec.year_effects and not two_way,
                             province=spec.province_effects and spec.entry.province_effects
                             == "dummies")
    X = pd.concat([pd.DataFrame({"Intercept": 1.0}, index=data.index),
                   data[list(spec.regressors)].astype(float), dummies], axis=1)
    return data[spec.outcome].astype(float), X


class _FGLSRefit(ColumnRefit):
    """FGLS: the model is built once from the design arrays; a draw replaces the column in
    a shallow copy and runs the steps of :meth:`PanelFGLS.fit` (OLS, rho, Prais-Winsten,
    Sigma, GLS, igls iterations, nmk) without building a results object."""

    kind = "design"

    def __init__(self, spec, data, term):
        super().__init__(spec, data, term)
        y, X = _linear_design(spec, data, two_way=False)
        opts = {o.name: spec.options.get(o.name, o.default) for o in spec.entry.options}
        self.nmk = opts.pop("nmk")
        self.model = PanelFGLS(y, X, **opts)
        self.j = list(X.columns).index(term)
        self.order = data.index.get_indexer(self.model._index)  # model rows -> data rows
        m = self.model
        self.lay = None  # the layout batch() vectorises over, where it does
        if m.panels in ("iid", "hetero") and m.corr in ("independent", "ar1", "psar1") \
                and not m.igls:
            self.lay = m._layout()
            self.kept = m._index.get_indexer(self.lay.index)  # layout rows -> model rows

    def fast(self, x, pos):
        if pos is not None:
            return None
        m = copy.copy(self.model)
        xx = self.model._x.copy()
        xx[:, self.j] = x[self.order]
        m._x = xx
        lay = m._layout()
        m._check_design(lay)
        _, _, _, beta, cov, *_ = m._estimate(lay)   # the steps PanelFGLS.fit takes
        if self.nmk:
            cov = cov * lay.n / (lay.n - lay.k)
        return float(beta[self.j]), math.sqrt(cov[self.j, self.j])

    def batch(self, xs):
        """:meth:`fast` of the draws that keep every row, vectorised (panels iid or hetero,
        no ``igls``; else draw by draw): the layout once, the rank check (singular values),
        OLS, Prais-Winsten OLS and GLS of every draw at once (:func:`_qr_lstsq`); rho and
        the transform per draw by the model's own steps. A draw an error or a rank near the
        cut-off stops is left to :meth:`fast` (None)."""
        if self.lay is None:
            return super().batch(xs)
        out: list = [None] * len(xs)
        full = self._full_rows(xs)
        if full.size == 0:
            return out
        m, lay, j = self.model, self.lay, self.j
        x = xs[full][:, self.order][:, self.kept]
        B, n, k = len(x), lay.n, lay.k
        X = _stacked(lay.x, B)
        X[:, :, j] = x
        Y = _stacked(lay.y, B)
        sv = np.linalg.svd(X, compute_uv=False)
        cut = sv[:, :1] * max(n, k) * np.finfo(float).eps  # numpy's matrix_rank and lstsq
        # full rank (PanelFGLS._check_design), and not within 1e4 of the cut-off, where the
        # ranks lstsq finds in the steps below could differ: then QR gives their solutions
        good = sv[:, -1] > 1e4 * cut[:, 0]
        _, e, _ = _qr_lstsq(X, Y)                           # OLS residuals
        if m.corr == "independent":
            ys, Xs = Y, X
        else:
            ys, Xs = Y.copy(), X.copy()
            others = [c for c in lay.const_cols if c != j]
            for b in np.flatnonzero(good):
                k_rho = k - len(others) - _is_constant(X[b, :, j])
                try:
                    rho_i = m._rho(e[b], lay.g_codes, lay.first, lay.n_g, k_rho)
                    rho = panel_rhos(rho_i, m.corr, entities=lay.entities, rhotype=m.rhotype,
                                     weights=lay.sizes)[lay.g_codes]
                except (ValueError, RegrowthError, ArithmeticError):
                    good[b] = False
                    continue
                ys[b] = m._prais_winsten(lay.y, rho, lay.first)
                Xs[b] = m._prais_winsten(X[b], rho, lay.first)
        _, res, _ = _qr_lstsq(Xs, ys)
        if m.panels == "iid":
            s2 = np.repeat(np.mean(res * res, axis=1)[:, None], lay.n_g, axis=1)
        else:
            sq = np.matmul(_stacked(_indicator(lay.g_codes, lay.n_g), B),
                           (res * res)[:, :, None])[:, :, 0]
            s2 = sq / lay.sizes
        good &= np.all(s2 > 0, axis=1)
        w = 1.0 / np.sqrt(np.where(good[:, None], s2, 1.0))[:, lay.g_codes]
        xw, yw = Xs * w[:, :, None], ys * w
        beta, _, r = _qr_lstsq(xw, yw)                      # X*'Om^-1 X* = R'R
        rinv = np.linalg.solve(r, _stacked(np.eye(k), B))
        var = np.sum(rinv[:, j, :] ** 2, axis=1)            # (R^-1 R^-T)_jj
        if self.nmk:
            var = var * n / (n - k)
        for i in np.flatnonzero(good):
            out[full[i]] = (float(beta[i, j]), math.sqrt(var[i]))
        return out


def _cluster_ids(spec, data):
    if spec.se_groups in (None, "region"):
        return np.asarray(data.index.get_level_values("region"))
    return cluster_groups(spec, data)


class _FERefit(ColumnRefit):
    kind = "within"

    def __init__(self, spec, data, term):
        super().__init__(spec, data, term)
        self.two_way = bool(spec.year_effects)
        y, X = _linear_design(spec, data, two_way=self.two_way)
        X = X.drop(columns="Intercept")
        self.j = list(X.columns).index(term)
        self.X, self.y = X.to_numpy(dtype=float), y.to_numpy(dtype=float)
        self.ent = pd.factorize(pd.Series(data.index.get_level_values("region")))[0]
        self.tim = pd.factorize(pd.Series(data.index.get_level_values("year")))[0]
        self.clusters = _cluster_ids(spec, data)
        self._cache: dict = {}
        self._cache[None] = self._prepare(None)

    def _prepare(self, pos):
        """Within-transformed design of the rows ``pos`` (every row: None)."""
        sel = slice(None) if pos is None else pos
        ent = pd.factorize(pd.Series(self.ent[sel]))[0]
        parts = [np.eye(ent.max() + 1)[ent]]
        n_time = 0
        if self.two_way:
            tim = pd.factorize(pd.Series(self.tim[sel]))[0]
            n_time = tim.max() + 1
            parts.append(np.eye(n_time)[tim])
        D = np.hstack(parts)
        Dp = np.linalg.pinv(D)
        within = lambda a: a - D @ (Dp @ a)  # noqa: E731
        codes, G = cluster_codes(self.clusters[sel])
        nested = bool(np.all(pd.Series(codes).groupby(ent).nunique() == 1))
        n = len(ent)
        K = self.X.shape[1] + 1 + (n_time - 1 if self.two_way else 0) + (0 if nested
                                                                            else ent.max())
        return (D, Dp, within(self.X[sel]), within(self.y[sel]), codes, G,
                stata_linear_factor(G, n, K))

    def fast(self, x, pos):
        key = None if pos is None else pos.tobytes()
        if key not in self._cache:
            if len(self._cache) > 64:  # a few patterns of lost rows recur; bound the memory
                self._cache = {None: self._cache[None]}
            self._cache[key] = self._prepare(pos)
        D, Dp, Xw, yw, codes, G, factor = self._cache[key]
        Xw = Xw.copy()
        Xw[:, self.j] = x - D @ (Dp @ x)
        Ainv = linalg.inv(Xw.T @ Xw)
        b = Ainv @ (Xw.T @ yw)
        e = yw - Xw @ b
        Sg = cluster_sums(codes, G, Xw * e[:, None])
        a = Ainv[self.j]
        return float(b[self.j]), math.sqrt(factor * float(np.sum((Sg @ a) ** 2)))

    def batch(self, xs):
        """:meth:`fast` of every draw, vectorised over the draws that keep the same rows."""
        out: list = [None] * len(xs)
        for key, (rows, pos) in _by_rows(xs).items():
            if key not in self._cache:
                if len(self._cache) > 64:
                    self._cache = {None: self._cache[None]}
                self._cache[key] = self._prepare(pos)
            D, Dp, Xw, yw, codes, G, factor = self._cache[key]
            x = xs[rows] if pos is None else xs[rows][:, pos]
            B = len(x)
            X = _stacked(Xw, B)
            X[:, :, self.j] = x - np.matmul(_stacked(D, B), np.matmul(
                _stacked(Dp, B), x[:, :, None]))[:, :, 0]
            Xt = np.swapaxes(X, 1, 2)
            Ainv = np.linalg.inv(np.matmul(Xt, X))
            b = np.matmul(Ainv, np.matmul(Xt, _stacked(yw, B)[:, :, None]))[:, :, 0]
            e = yw - np.matmul(X, b[:, :, None])[:, :, 0]
            se = _clustered_se(X, e, Ainv, codes, G, factor, self.j)
            for r, i in enumerate(rows):
                out[i] = (float(b[r, self.j]), float(se[r]))
        return out


class _RERefit(ColumnRefit):
    kind = "swamy_arora"

    def __init__(self, spec, data, term):
        super().__init__(spec, data, term)
        y, X = _linear_design(spec, data, two_way=False)
        self.y = y.to_numpy(dtype=float)
        self.X = X.to_numpy(dtype=float)
        self.j = list(X.columns).index(term)
        self.ent_all = pd.factorize(pd.Series(data.index.get_level_values("region")))[0]
        self.clusters = _cluster_ids(spec, data)

    def fast(self, x, pos):
        sel = slice(None) if pos is None else pos
        X = self.X[sel].copy()
        X[:, self.j] = x
        y = self.y[sel]
        ent = pd.factorize(pd.Series(self.ent_all[sel]))[0]
        n_ent = int(ent.max()) + 1
        T = np.bincount(ent).astype(float)
        E = np.zeros((n_ent, len(y)))
        E[ent, np.arange(len(y))] = 1.0 / T[ent]  # row i of E @ a: the mean of entity i
        codes, G = cluster_codes(self.clusters[sel])
        factor = stata_linear_factor(G, len(y), X.shape[1])
        lst = lambda a, b: linalg.lstsq(a, b, cond=max(a.shape) * np.finfo(float).eps,  # noqa: E731
                                        lapack_driver="gelsy")
        xbar, ybar = E @ X, E @ y
        xw, yw = X - xbar[ent], y - ybar[ent]
        x_norm = np.sqrt((X ** 2).sum(0))
        x_norm[x_norm == 0.0] = 1.0
        rank_w = lst(xw / x_norm, yw)[2]
        xw = xw + X.mean(0)
        yw = yw + y.mean()
        weps = yw - xw @ lst(xw, yw)[0]
        pb, _, rank_b, _ = lst(xbar, ybar)
        wu = ybar - xbar @ pb
        n = len(y)
        df_w, df_b = n - n_ent - rank_w, n_ent - rank_b
        if df_w <= 0 or df_b <= 0:
            return None
        s2e = float(weps @ weps) / df_w
        t_bar = n_ent / np.sum(1.0 / T)
        s2u = max(0.0, float(wu @ wu) / df_b - s2e / t_bar)
        theta = 1.0 - np.sqrt(s2e / (T * s2u + s2e))
        gx = X - (theta[:, None] * xbar)[ent]
        gy = y - (theta * ybar)[ent]
        b = lst(gx, gy)[0]
        e = gy - gx @ b
        Ainv = linalg.inv(gx.T @ gx)
        Sg = cluster_sums(codes, G, gx * e[:, None])
        a = Ainv[self.j]
        return float(b[self.j]), math.sqrt(factor * float(np.sum((Sg @ a) ** 2)))

    def batch(self, xs):
        """:meth:`fast` of every draw, vectorised over the draws that keep the same rows
        (:func:`_re_batch`)."""
        out: list = [None] * len(xs)
        for rows, pos in _by_rows(xs).values():
            sel = slice(None) if pos is None else pos
            x = xs[rows] if pos is None else xs[rows][:, pos]
            for i, got in zip(rows, _re_batch(self, x, sel)):
                out[i] = got
        return out


def _re_batch(refit: "_RERefit", x: np.ndarray, sel) -> list:
    """:meth:`_RERefit.fast` of the draws ``x`` (B, rows) on the rows ``sel``, vectorised:
    the least squares by each draw's SVD (:func:`_lstsq_batch`), None for a draw whose rank
    is near the cut-off or whose degrees of freedom are not positive."""
    B = len(x)
    X = _stacked(refit.X[sel], B)
    X[:, :, refit.j] = x
    y = refit.y[sel]
    ent = pd.factorize(pd.Series(refit.ent_all[sel]))[0]
    n_ent = int(ent.max()) + 1
    T = np.bincount(ent).astype(float)
    E = np.zeros((n_ent, len(y)))
    E[ent, np.arange(len(y))] = 1.0 / T[ent]
    codes, G = cluster_codes(refit.clusters[sel])
    n, k = len(y), X.shape[2]
    factor = stata_linear_factor(G, n, k)
    xbar, ybar = np.matmul(_stacked(E, B), X), E @ y
    xw, yw = X - xbar[:, ent, :], y - ybar[ent]
    x_norm = np.sqrt((X ** 2).sum(axis=1))
    x_norm[x_norm == 0.0] = 1.0
    _, _, rank_w, ok_w = _lstsq_batch(xw / x_norm[:, None, :], _stacked(yw, B))
    xw = xw + X.mean(axis=1)[:, None, :]
    yw = yw + y.mean()
    _, weps, _, ok_e = _lstsq_batch(xw, _stacked(yw, B))
    _, wu, rank_b, ok_b = _lstsq_batch(xbar, _stacked(ybar, B))
    df_w, df_b = n - n_ent - rank_w, n_ent - rank_b
    good = ok_w & ok_e & ok_b & (df_w > 0) & (df_b > 0)
    dw, db = np.where(good, df_w, 1), np.where(good, df_b, 1)
    s2e = np.sum(weps * weps, axis=1) / dw
    t_bar = n_ent / np.sum(1.0 / T)
    s2u = np.maximum(0.0, np.sum(wu * wu, axis=1) / db - s2e / t_bar)
    theta = 1.0 - np.sqrt(s2e[:, None] / (T * s2u[:, None] + s2e[:, None]))   # (B, n_ent)
    gx = X - (theta[:, :, None] * xbar)[:, ent, :]
    gy = y - (theta * ybar)[:, ent]
    b, e, rank_g, ok_g = _lstsq_batch(gx, gy)
    good &= ok_g & (rank_g == k)
    Ainv = np.linalg.inv(np.matmul(np.swapaxes(gx, 1, 2), gx))
    se = _clustered_se(gx, e, Ainv, codes, G, factor, refit.j)
    return [(float(b[r, refit.j]), float(se[r])) if good[r] else None for r in range(B)]


def column_refit(spec, data: pd.DataFrame, term: str) -> ColumnRefit:
    """The refit of ``term``'s coefficient for column ``spec`` (a
    :class:`regrowth.specs.ColumnSpec`) on its estimation sample ``data``: the fastest path
    the estimator and SE type have (module docstring), else the cold refit."""
    est, se = spec.estimator, spec.se_type
    if term not in spec.regressors:
        raise ValueError(f"{term!r} is not a regressor of {spec.name}")
    if est in ("gnb", "nb2") and se in ("oim", "robust", "cluster"):
        return _GNBRefit(spec, data, term)
    if est == "poisson" and se in ("oim", "robust", "cluster"):
        return _PoissonRefit(spec, data, term)
    if est == "fgls":
        return _FGLSRefit(spec, data, term)
    if est == "fe" and se == "cluster":
        return _FERefit(spec, data, term)
    if est == "re" and se == "cluster":
        return _RERefit(spec, data, term)
    return ColumnRefit(spec, data, term)
