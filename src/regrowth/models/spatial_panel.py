"""Spatial-lag (SAR) fixed-effects panel: ML with two-way effects and the Lee-Yu correction.

The model (Elhorst 2014, ch. 3; Lee & Yu 2010)
----------------------------------------------
For provinces i = 1..N and years t = 1..T (a balanced panel),

    y_t = rho W y_t + X_t beta + mu + alpha_t iota_N + v_t,    v_t ~ (0, sigma^2 I_N),

with province effects mu and (``effects="twoway"``, the default) year effects alpha_t; W is
row-standardised (rows sum to 1), so the two-way within transformation of W y_t is W times
the transformed y_t. Estimation follows Elhorst's ``sar_panel_FE``:

1. Demean y, W y and X by province and by year (two-way: x_it - x_i. - x_.t + x_..).
2. OLS of y* and of (Wy)* on X* give b0, b1 and residuals e0, e1; the concentrated
   log-likelihood ``-NT/2 ln((e0 - rho e1)'(e0 - rho e1)) + T ln|I_N - rho W|`` is maximised
   over rho in (1/omega_min, 1) (omega: eigenvalues of W); beta = b0 - rho b1,
   sigma^2 = (e0 - rho e1)'(e0 - rho e1) / (NT).
3. Information matrix (analytic, at the estimates; G = W (I - rho W)^-1):
   ============  =========================================================================
   beta, beta    X*'X* / sigma^2
   beta, rho     sum_t X_t*' G X_t* beta / sigma^2
   rho, rho      sum_t (G X_t* beta)'(G X_t* beta) / sigma^2 + T tr(G G + G' G)
   rho, sigma^2  T tr(G) / sigma^2
   sigma^2, s^2  NT / (2 sigma^4)
   ============  =========================================================================

   The covariance is its inverse (R ``spatialreg::lagsarlm``'s analytic asymptotic variance
   on the stacked demeaned data).
4. Lee-Yu (2010) bias correction (``lee_yu=True``), as Elhorst (2014, eq. 3.31) applies it:
   with both effects, theta = (beta, rho, sigma^2) becomes
   ``theta + (Sigma / NT)^-1 (0, 1/(1 - rho), 1/(2 sigma^2))' / N``, then sigma^2 is
   multiplied by T/(T-1); the information matrix (hence the SEs) is recomputed at the
   corrected parameters. With province effects only (``effects="entity"``) only sigma^2 is
   biased: sigma^2 T/(T-1), SEs at that sigma^2. ``lee_yu=False`` gives the uncorrected
   (direct-approach) ML estimates, which equal ``lagsarlm`` on the demeaned data.

The log-likelihood reported (``llf``) is Elhorst's at the *uncorrected* estimates:
``-NT/2 ln(2 pi sigma^2) + T ln|I - rho W| - e'e / (2 sigma^2)`` on the demeaned data.

Direct, indirect and total effects (LeSage & Pace 2009)
-------------------------------------------------------
S_k = (I - rho W)^-1 beta_k; direct_k = tr(S_k)/N, total_k = iota'S_k iota / N = beta_k/(1-rho)
(row-standardised W), indirect_k = total_k - direct_k (spillovers). Standard errors by the
delta method (``effects_se="delta"``, the default, deterministic) with the analytic gradient
(d/drho tr((I-rho W)^-1)/N = tr((I-rho W)^-1 W (I-rho W)^-1)/N) and the (beta, rho) block of
the covariance; or by simulation (``effects_se="simulation"``: ``draws`` draws of
(beta, rho) from N(theta_hat, V_hat), ``seed``; mean and standard deviation of the draws,
as Elhorst's ``direct_indirect_effects_estimates`` and R's ``spatialreg::impacts(R=...)``).
Inference on parameters and effects uses the normal distribution.

Why not spreg. ``spreg.Panel_FE_Lag`` (spreg 1.9, deprecated there) demeans by province only:
no year effects and no Lee-Yu correction.

Validation: ``tests/fixtures/spatial/`` (R ``spatialreg::lagsarlm`` on the two-way demeaned
stacked data with a block-diagonal listw, and an R transcription of the Lee-Yu formula).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

from regrowth.errors import EstimationError, SpecificationError
from regrowth.spatial import _subset
from regrowth import spatial
from regrowth.models.registry import get
from regrowth.models.registry import Estimator, Option, register, register_se_type

__all__ = ["SpatialPanelLag", "SpatialPanelLagResults", "fit_sar_fe_spec"]

_EFFECTS = ("twoway", "entity")


def _dense_w(w, entities: list[str]) -> np.ndarray:
    """The W as a dense matrix in ``entities`` order (W ids must cover them)."""
    ids = list(w.id_order)
    missing = [e for e in entities if e not in ids]
    if missing:
        raise SpecificationError(f"the spatial weights have no province(s) {missing} "
                                 f"(W ids: {ids}); build them with ids= the sample's provinces")
    if len(ids) != len(entities):
        w = _subset(w, entities)
    full, fid = w.full()
    order = [fid.index(e) for e in entities]
    mat = np.asarray(full, dtype=float)[np.ix_(order, order)]
    rows = mat.sum(axis=1)
    if not np.allclose(rows, 1.0, rtol=0, atol=1e-10):
        bad = [entities[i] for i in np.flatnonzero(~np.isclose(rows, 1.0, atol=1e-10))]
        raise SpecificationError(f"the SAR fixed-effects panel needs a row-standardised W "
                                 f"(rows of {bad} do not sum to 1: isolated provinces or "
                                 "transform='b'); use weights(..., transform='r') and link "
                                 "islands (island='nearest')")
    return mat


def _two_way(a: np.ndarray, n: int, t: int, effects: str) -> np.ndarray:
    """Within transformation of an (T*N, k) array stacked year by year (rows: t major)."""
    cube = a.reshape(t, n, -1)
    unit = cube.mean(axis=0, keepdims=True)
    if effects == "entity":
        return (cube - unit).reshape(t * n, -1)
    year = cube.mean(axis=1, keepdims=True)
    grand = cube.mean(axis=(0, 1), keepdims=True)
    return (cube - unit - year + grand).reshape(t * n, -1)


@dataclass
class _Fit:
    beta: np.ndarray
    rho: float
    sigma2: float


class SpatialPanelLag:
    """Spatial-lag fixed-effects panel (SAR FE), ML with the Lee-Yu bias correction.

    Parameters
    ----------
    dependent : Series on an (entity, time) MultiIndex.
    exog : DataFrame on the same index (no constant: the effects absorb it).
    w : a libpysal ``W`` (row-standardised) whose ids include every entity.
    effects : "twoway" (province and year effects, the default) or "entity".
    lee_yu : apply the Lee-Yu (2010) bias correction (see the module docstring).
    """
    def __init__(self, dependent, exog, w, *, effects: str = "twoway", lee_yu: bool = True):
        if effects not in _EFFECTS:
            raise SpecificationError(f"effects={effects!r}: use one of {list(_EFFECTS)}")
        y = pd.Series(dependent) if not isinstance(dependent, pd.Series) else dependent
        x = pd.DataFrame(exog)
        if not isinstance(y.index, pd.MultiIndex) or y.index.nlevels != 2:
            raise SpecificationError("dependent must be indexed by (entity, time)")
        x = x.reindex(y.index)
        frame = pd.concat([y.rename("__y__"), x], axis=1)
        bad = frame.isna().any(axis=1)
        if bad.any():
            where = [f"{a}/{b}" for a, b in frame.index[bad][:5]]
            raise EstimationError(f"{int(bad.sum())} observation(s) have missing values (e.g. "
                                  f"{where}); the SAR panel needs a balanced panel without gaps: "
                                  "restrict the sample (years, provinces) first")
        const = [c for c in x.columns if np.ptp(x[c].to_numpy(dtype=float)) == 0]
        if const:
            raise SpecificationError(f"regressor(s) {const} are constant: the fixed effects "
                                     "absorb a constant; leave it out")
        ent = frame.index.get_level_values(0)
        tim = frame.index.get_level_values(1)
        self.entities = sorted(set(ent), key=list(ent).index)
        self.periods = sorted(set(tim))
        n, t = len(self.entities), len(self.periods)
        if len(frame) != n * t or frame.index.duplicated().any():
            raise EstimationError(f"unbalanced panel: {len(frame)} observations for {n} "
                                  f"provinces x {t} years; the SAR panel needs every province in "
                                  "every year (drop the provinces or years with gaps)")
        if t < 2:
            raise EstimationError("the SAR fixed-effects panel needs at least two years")
        if not hasattr(w, "id_order"):
            raise SpecificationError("w must be a libpysal W (regrowth.spatial.weights)")
        full = pd.MultiIndex.from_product([self.periods, self.entities])
        stacked = frame.swaplevel().reindex(full)
        self.N, self.T = n, t
        self.exog_names = list(x.columns)
        self.dependent_name = str(y.name) if y.name is not None else "y"
        self.effects = effects
        self.lee_yu = bool(lee_yu)
        self.W = _dense_w(w, self.entities)
        self._y = stacked["__y__"].to_numpy(dtype=float)
        self._x = stacked[self.exog_names].to_numpy(dtype=float)
        self.index = stacked.index

    @classmethod
    def from_formula(cls, formula: str, data: pd.DataFrame, w, **kwargs):
        """``"y ~ x1 + x2"`` (plain column names; no constant, no effects terms)."""
        lhs, _, rhs = formula.partition("~")
        terms = [t.strip() for t in rhs.split("+") if t.strip() not in ("", "0", "1", "-1")]
        if not lhs.strip() or not terms:
            raise SpecificationError(f"formula {formula!r}: write 'y ~ x1 + x2'")
        return cls(data[lhs.strip()], data[terms], w, **kwargs)

    # ------------------------------------------------------------------ estimation
    def _info(self, xs, beta, rho, sigma2) -> np.ndarray:
        n, t, k = self.N, self.T, xs.shape[1]
        a = np.eye(n) - rho * self.W
        g = self.W @ np.linalg.inv(a)
        gxb = (xs @ beta).reshape(t, n) @ g.T            # row t: G X_t beta
        gxb = gxb.reshape(-1)
        info = np.zeros((k + 2, k + 2))
        info[:k, :k] = xs.T @ xs / sigma2
        info[:k, k] = info[k, :k] = xs.T @ gxb / sigma2
        info[k, k] = gxb @ gxb / sigma2 + t * np.trace(g @ g + g.T @ g)
        info[k, k + 1] = info[k + 1, k] = t * np.trace(g) / sigma2
        info[k + 1, k + 1] = n * t / (2 * sigma2 ** 2)
        return info

    def fit(self, *, effects_se: str = "delta", draws: int = 1000, seed: int | None = 20180,
            tol: float = 1e-12) -> SpatialPanelLagResults:
        """ML estimates; ``effects_se`` "delta" or "simulation" (``draws``, ``seed``)."""
        if effects_se not in ("delta", "simulation"):
            raise SpecificationError(f"effects_se={effects_se!r}: use 'delta' or 'simulation'")
        n, t = self.N, self.T
        xs = _two_way(self._x, n, t, self.effects)
        wy = (self._y.reshape(t, n) @ self.W.T).reshape(-1)
        ys = _two_way(self._y[:, None], n, t, self.effects).ravel()
        wys = _two_way(wy[:, None], n, t, self.effects).ravel()
        if np.linalg.matrix_rank(xs) < xs.shape[1]:
            raise EstimationError(f"the regressors {self.exog_names} are collinear after "
                                  "removing the fixed effects (a regressor that varies only by "
                                  "province or only by year is absorbed)")
        xtx = xs.T @ xs
        b0 = np.linalg.solve(xtx, xs.T @ ys)
        b1 = np.linalg.solve(xtx, xs.T @ wys)
        e0, e1 = ys - xs @ b0, wys - xs @ b1
        eig = np.linalg.eigvals(self.W).real
        lo = 1.0 / eig.min() + 1e-9
        hi = 1.0 - 1e-9
        nt = n * t

        def negll(rho):
            e = e0 - rho * e1
            sign, logdet = np.linalg.slogdet(np.eye(n) - rho * self.W)
            if sign <= 0:
                return np.inf
            return nt / 2 * np.log(e @ e) - t * logdet

        opt = optimize.minimize_scalar(negll, bounds=(lo, hi), method="bounded",
                                       options={"xatol": tol, "maxiter": 1000})
        rho = float(opt.x)
        beta = b0 - rho * b1
        e = e0 - rho * e1
        sigma2 = float(e @ e / nt)
        logdet = np.linalg.slogdet(np.eye(n) - rho * self.W)[1]
        llf = -nt / 2 * np.log(2 * np.pi * sigma2) + t * logdet - e @ e / (2 * sigma2)
        uncorrected = _Fit(beta.copy(), rho, sigma2)
        k = xs.shape[1]
        if self.lee_yu and self.effects == "twoway":
            info = self._info(xs, beta, rho, sigma2)
            theta = np.r_[beta, rho, sigma2]
            bvec = np.r_[np.zeros(k), 1.0 / (1.0 - rho), 1.0 / (2.0 * sigma2)]
            theta = theta + np.linalg.solve(info / nt, bvec) / n
            beta, rho, sigma2 = theta[:k], float(theta[k]), float(theta[k + 1]) * t / (t - 1)
        elif self.lee_yu:
            sigma2 = sigma2 * t / (t - 1)
        info = self._info(xs, beta, rho, sigma2)
        cov = np.linalg.inv(info)
        return SpatialPanelLagResults(
            model=self, beta=beta, rho=rho, sigma2=sigma2, cov_full=cov, llf=float(llf),
            uncorrected=uncorrected, converged=bool(opt.success), resid=e,
            effects_se=effects_se, draws=draws, seed=seed)


@dataclass
class SpatialPanelLagResults:
    """Results of :class:`SpatialPanelLag` (linearmodels-style read-only pieces)."""
    model: SpatialPanelLag
    beta: np.ndarray
    rho: float
    sigma2: float
    cov_full: np.ndarray          # (beta, rho, sigma2) inverse information
    llf: float
    uncorrected: Any
    converged: bool
    resid: np.ndarray             # residuals of the demeaned model at the uncorrected fit
    effects_se: str = "delta"
    draws: int = 1000
    seed: int | None = None
    _effects: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def param_names(self) -> list[str]:
        return [*self.model.exog_names, "rho"]

    @property
    def params(self) -> pd.Series:
        return pd.Series(np.r_[self.beta, self.rho], index=self.param_names, name="parameter")

    @property
    def cov(self) -> pd.DataFrame:
        k = len(self.param_names)
        return pd.DataFrame(self.cov_full[:k, :k], index=self.param_names,
                            columns=self.param_names)

    @property
    def std_errors(self) -> pd.Series:
        return pd.Series(np.sqrt(np.diag(self.cov.to_numpy())), index=self.param_names,
                         name="std_error")

    bse = std_errors

    @property
    def tstats(self) -> pd.Series:
        return (self.params / self.std_errors).rename("tstat")

    @property
    def pvalues(self) -> pd.Series:
        return pd.Series(2 * stats.norm.sf(np.abs(self.tstats.to_numpy())),
                         index=self.param_names, name="pvalue")

    def conf_int(self, level: float = 0.95) -> pd.DataFrame:
        q = stats.norm.ppf(0.5 + level / 2)
        return pd.DataFrame({"lower": self.params - q * self.std_errors,
                             "upper": self.params + q * self.std_errors})

    @property
    def sigma2_se(self) -> float:
        return float(np.sqrt(self.cov_full[-1, -1]))

    @property
    def included_effects(self) -> list[str]:
        """The absorbed effects, named as linearmodels names them (read by the tables)."""
        return ["Entity", "Time"] if self.model.effects == "twoway" else ["Entity"]

    @property
    def nobs(self) -> int:
        return self.model.N * self.model.T

    @property
    def entities(self) -> int:
        return self.model.N

    @property
    def periods(self) -> int:
        return self.model.T

    @property
    def resids(self) -> pd.Series:
        """Residuals of the within-transformed model at the uncorrected ML fit, on the
        (entity, time) index (for Moran's I)."""
        idx = self.model.index.swaplevel()
        return pd.Series(self.resid, index=idx, name="resid")

    # ------------------------------------------------------------------ effects
    def _effects_at(self, beta, rho):
        n = self.model.N
        ainv = np.linalg.inv(np.eye(n) - rho * self.model.W)
        direct = np.trace(ainv) / n * beta
        total = beta / (1.0 - rho)
        return direct, total - direct, total

    @property
    def effects(self) -> pd.DataFrame:
        """Direct, indirect and total effects of each regressor with SEs (module docstring):
        one row per (variable, effect) with ``estimate, std_error, z, p_value``."""
        if self._effects is not None:
            return self._effects
        k = len(self.beta)
        direct, indirect, total = self._effects_at(self.beta, self.rho)
        if self.effects_se == "delta":
            n = self.model.N
            ainv = np.linalg.inv(np.eye(n) - self.rho * self.model.W)
            d = np.trace(ainv) / n
            dd = np.trace(ainv @ self.model.W @ ainv) / n
            v = self.cov_full[:k + 1, :k + 1]
            se = {"direct": [], "indirect": [], "total": []}
            for j in range(k):
                g_dir = np.zeros(k + 1)
                g_dir[j], g_dir[k] = d, self.beta[j] * dd
                g_tot = np.zeros(k + 1)
                g_tot[j], g_tot[k] = 1 / (1 - self.rho), self.beta[j] / (1 - self.rho) ** 2
                g_ind = g_tot - g_dir
                for name, g in (("direct", g_dir), ("indirect", g_ind), ("total", g_tot)):
                    se[name].append(float(np.sqrt(g @ v @ g)))
            est = {"direct": direct, "indirect": indirect, "total": total}
            ses = {key: np.asarray(val) for key, val in se.items()}
        else:
            rng = np.random.default_rng(self.seed)
            mean = np.r_[self.beta, self.rho]
            sims = rng.multivariate_normal(mean, self.cov_full[:k + 1, :k + 1], size=self.draws)
            out = np.array([np.vstack(self._effects_at(s[:k], s[k])) for s in sims])
            est = {"direct": direct, "indirect": indirect, "total": total}
            ses = {name: out[:, i, :].std(axis=0, ddof=1)
                   for i, name in enumerate(("direct", "indirect", "total"))}
        rows = []
        for j, var in enumerate(self.model.exog_names):
            for name in ("direct", "indirect", "total"):
                e, s = float(est[name][j]), float(ses[name][j])
                z = e / s
                rows.append({"variable": var, "effect": name, "estimate": e, "std_error": s,
                             "z": z, "p_value": float(2 * stats.norm.sf(abs(z)))})
        self._effects = pd.DataFrame(rows)
        return self._effects

    def summary(self) -> str:
        corr = ("Lee-Yu bias-corrected" if self.model.lee_yu else "uncorrected") + \
            f", {self.model.effects} effects"
        lines = [f"Spatial-lag FE panel (SAR, ML; {corr})",
                 f"N = {self.model.N}, T = {self.model.T}, observations = {self.nobs}, "
                 f"log-likelihood = {self.llf:.4f}, sigma^2 = {self.sigma2:.6g}", ""]
        table = pd.DataFrame({"estimate": self.params, "std_error": self.std_errors,
                              "z": self.tstats, "p": self.pvalues})
        lines.append(table.to_string(float_format=lambda v: f"{v:.5g}"))
        lines += ["", f"Effects (LeSage-Pace; SEs by {self.effects_se}):",
                  self.effects.to_string(index=False, float_format=lambda v: f"{v:.5g}")]
        return "\n".join(lines)


# ----------------------------------------------------------------------------- registry

def fit_sar_fe_spec(spec, data: pd.DataFrame):
    """Fit a spec column with ``estimator = "sar_fe"`` on its estimation sample."""
    entry = get("sar_fe")
    opts = {o.name: spec.options.get(o.name, o.default) for o in entry.options}
    entities = list(dict.fromkeys(data.index.get_level_values(0)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", spatial.IslandWarning)
        w = spatial.weights(opts["weights"], ids=entities, k=opts["k"])
    model = SpatialPanelLag(data[spec.outcome], data[list(spec.regressors)], w,
                            effects="twoway" if spec.year_effects else "entity",
                            lee_yu=opts["lee_yu"])
    return model.fit(effects_se=opts["effects_se"], draws=opts["draws"], seed=opts["seed"])


def _fit_panel_sar_fe(formula_or_dependent, data, *, cov_type, model_options, **cov_kwds):
    if cov_type not in ("unadjusted", "information"):
        raise SpecificationError(f"cov_type={cov_type!r}: the SAR FE panel reports the ML "
                                 "information-matrix covariance only")
    opts = dict(model_options)
    w = opts.pop("w", None)
    if w is None:
        entities = list(dict.fromkeys(data.index.get_level_values(0)))
        w = spatial.weights(opts.pop("weights", "contiguity"), ids=entities, k=opts.pop("k", 1))
    if isinstance(formula_or_dependent, str):
        model = SpatialPanelLag.from_formula(formula_or_dependent, data, w, **opts)
    else:
        model = SpatialPanelLag(formula_or_dependent, data, w, **opts)
    return model.fit(**cov_kwds)


def _register() -> None:
    register_se_type("information", "ML information matrix", reference="normal",
                     stata="xsmle (default)")
    register(Estimator(
        name="sar_fe", label="spatial-lag FE (SAR, ML)", stata="xsmle, model(sar) fe type(both)",
        family="linear",
        doc="spatial-lag fixed-effects panel, ML (Elhorst) with the Lee-Yu bias correction and "
            "LeSage-Pace direct/indirect effects; W from the KOSTAT province boundaries",
        aliases=("spatial_lag_fe", "sar"),
        options=(
            Option("weights", "str", "contiguity", "spatial weights: regrowth.spatial.weights "
                   "kind", choices=("contiguity", "knn", "distance")),
            Option("k", "int", 1, "neighbours for weights = 'knn'", minimum=1),
            Option("lee_yu", "bool", True, "Lee-Yu (2010) bias correction"),
            Option("effects_se", "str", "delta", "SEs of direct/indirect/total effects",
                   choices=("delta", "simulation")),
            Option("draws", "int", 1000, "draws for effects_se = 'simulation'", minimum=2),
            Option("seed", "int", 20180, "seed for effects_se = 'simulation'"),
        ),
        se_types=("information",), default_se="information",
        year_effects="time_effects", province_effects="implied",
        reports=("spatial_effects",),  # the tables show direct/indirect/total effects
        fit=fit_sar_fe_spec, fit_panel=_fit_panel_sar_fe,
    ))


_register()
