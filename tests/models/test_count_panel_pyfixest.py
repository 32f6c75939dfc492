"""``poisson_fe`` (panel constants concentrated out) against ``pyfixest.fepois`` and against the
dummy-variable fit it replaced.

References:
* pyfixest 0.60.0 (pinned in the test extras), ``fepois`` with one fixed effect (the panel)
  and year effects as ``i(t)`` regressors, the same offset, solved to ``iwls_tol=1e-15``
  (pyfixest's covariance uses the weights of its last IRLS step but one, so its SEs settle
  only when the deviance stops changing: at 1e-13 they are 7e-8 off on the real panel).
  Like with like: ``ssc(k_adj=False, G_adj=True)`` is Stata's G/(G-1) after ``poisson,
  vce(cluster id)`` (our default), ``ssc(k_adj=False, G_adj=False)`` is the plain CR0 sandwich
  (``use_correction=False``), and ``vcov="iid"`` with ``k_adj=False`` is the inverse
  information (``cov_type="oim"``). pyfixest drops singleton panels by default
  (``fixef_rm="singleton"``, as ppmlhdfe); ``poisson_fe`` keeps them as Stata's ``poisson y x
  i.id`` does, so the comparisons use ``fixef_rm="none"`` where singletons exist.
* The dummy-variable ML fit the previous implementation made, transcribed independently:
  statsmodels ``GLM(Poisson)`` on a dense design with the G - 1 panel dummies.

Tolerances: coefficients 1e-8 relative (atol 1e-10) and SEs 1e-8 relative. Measured against
pyfixest: coefficients 3e-15 and SEs 2e-11 on the synthetic panel; 5e-10 (on a coefficient of
7e-4, so 4e-13 absolute) and 2e-13 on Fatalities (where R's glm gave the stored numbers;
tests/models/test_count_panel.py); 4e-11 and 6e-12 on the real panel. Log likelihood 1e-10
relative (measured 1e-13 at most). Against the dense dummy-variable GLM: the same tolerances.

SYNTHETIC data: ``synthetic`` (346 panels x 6 years, the number of panels issue 19 names; 3
panels forced all-zero plus any that come out all-zero by chance), ``singletons`` and
``small`` are simulated with fixed seeds. Fatalities is AER's public panel; the real-panel test
uses the built panel's innovation sample.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from regrowth.errors import EstimationError
from regrowth.models import count_panel as cp

pf = pytest.importorskip("pyfixest")

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "count_panel"
REAL = Path(__file__).resolve().parents[2] / "data" / "processed" / "panel.parquet"
TIGHT = {"iwls_tol": 1e-15, "iwls_maxiter": 500, "fixef_tol": 1e-14}
SSC = {  # our covariance options -> (pyfixest vcov, ssc)
    "cluster": ({}, "CRV1", {"k_adj": False, "G_adj": True}),
    "cr0": ({"use_correction": False}, "CRV1", {"k_adj": False, "G_adj": False}),
    "oim": ({"cov_type": "oim"}, "iid", {"k_adj": False, "G_adj": False}),
}
X3 = ["x1", "x2", "x3"]


def _pyfixest(df, y, xs, panel, *, year=None, offset=None, se="cluster", **kw):
    _, vcov, ssc = SSC[se]
    rhs = " + ".join(xs) + (f" + i({year})" if year else "")
    vcov = {"CRV1": panel} if vcov == "CRV1" else vcov
    return pf.fepois(f"{y} ~ {rhs} | {panel}", df, vcov=vcov, ssc=pf.ssc(**ssc), offset=offset,
                     **TIGHT, **kw)


def _same(ours, fit):
    """Same terms in the same order (our year_<t> is pyfixest's <year>::<t>), coefficients and
    SEs equal, same rows used."""
    ref_b, ref_se = fit.coef(), fit.se()
    assert list(ours.params.index) == [f"year_{n.split('::')[1]}" if "::" in n else n
                                       for n in ref_b.index]
    np.testing.assert_allclose(ours.params.to_numpy(), ref_b.to_numpy(), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(ours.bse.to_numpy(), ref_se.to_numpy(), rtol=1e-8)
    assert ours.nobs == fit._N


# ----------------------------------------------------------------------------- synthetic, 346 panels

@pytest.fixture(scope="module")
def synthetic():
    """SYNTHETIC: 346 panels x 2010-2015, y ~ Poisson(e exp(a_i + g_t + 0.3 x1 - 0.2 x2 +
    0.1 x3)), exposure e ~ U(0.5, 2); panels 0-2 forced all-zero."""
    rng = np.random.default_rng(19)
    G, T = 346, 6
    g = np.repeat(np.arange(G), T)
    t = np.tile(np.arange(2010, 2010 + T), G)
    x = rng.normal(size=(G * T, 3))
    e = rng.uniform(0.5, 2.0, size=G * T)
    mu = e * np.exp(np.repeat(rng.normal(size=G), T) + 0.05 * (t - 2010) + x @ [0.3, -0.2, 0.1])
    y = rng.poisson(mu)
    y[g < 3] = 0
    df = pd.DataFrame(x, columns=X3)
    df["y"], df["g"], df["t"], df["e"], df["ln_e"] = y, g, t, e, np.log(e)
    return df


@pytest.mark.parametrize("se", list(SSC))
@pytest.mark.parametrize("year", [False, True])
def test_synthetic_346_panels_equal_pyfixest_fepois(synthetic, se, year):
    df = synthetic
    with pytest.warns(UserWarning, match="dropped because of all zero outcomes"):
        ours = cp.poisson_fe(df["y"], df[X3], df["g"], time=df["t"] if year else None,
                             exposure=df["e"], **SSC[se][0])
    fit = _pyfixest(df, "y", X3, "g", year="t" if year else None, offset="ln_e", se=se)
    _same(ours, fit)
    assert ours.llf == pytest.approx(fit._loglik, rel=1e-10)
    zero = df.groupby("g")["y"].sum().pipe(lambda s: tuple(s.index[s == 0]))
    assert ours.dropped_groups == zero and {0, 1, 2} <= set(zero)
    assert ours.n_groups == 346 - len(zero)
    assert ours.effects == ("panel + year" if year else "panel")


def test_synthetic_panel_constants_give_pyfixest_fitted_means(synthetic):
    """full_params (Intercept = first panel's constant, panel[<g>] = the others minus it, year
    effects, slopes) rebuild the fitted means of pyfixest (whose fixef() refuses i() terms)."""
    df = synthetic
    ours = cp.poisson_fe(df["y"], df[X3], df["g"], time=df["t"], exposure=df["e"])
    fit = _pyfixest(df, "y", X3, "g", year="t", offset="ln_e")
    kept = df[~df["g"].isin(ours.dropped_groups)]
    full = ours.full_params
    first = min(kept["g"])
    assert list(full.index[:4]) == ["Intercept", *X3]
    assert f"panel[{first}]" not in full and len(full) == 1 + 3 + 5 + ours.n_groups - 1
    a = full["Intercept"] + kept["g"].map(lambda v: full.get(f"panel[{v}]", 0.0))
    yr = kept["t"].map(lambda v: full.get(f"year_{v}", 0.0))
    mu = np.exp(a + yr + kept[X3].to_numpy() @ full[X3].to_numpy() + kept["ln_e"])
    np.testing.assert_allclose(mu.to_numpy(), fit.predict(type="response"), rtol=1e-8)


# ----------------------------------------------------------------------------- singletons

def test_singleton_panels_are_kept_as_statas_poisson_with_dummies():
    """SYNTHETIC (310 panels x 5, four reduced to one row): a singleton panel's constant fits
    its count exactly and adds nothing to the slopes, but it stays a row and a cluster (Stata
    ``poisson y x i.id``, the previous implementation): pyfixest with ``fixef_rm="none"``
    gives the same SEs; its default drops the singletons, which leaves the slopes and changes
    G/(G-1) only."""
    rng = np.random.default_rng(5)
    G, T = 310, 5
    g, t = np.repeat(np.arange(G), T), np.tile(np.arange(2000, 2000 + T), G)
    x = rng.normal(size=(G * T, 2))
    y = rng.poisson(np.exp(1.5 + x @ [0.4, -0.3] + np.repeat(rng.normal(size=G), T)))
    y[::T] += 1  # every panel's first year (the singletons' only one): no all-zero panel
    df = pd.DataFrame({"y": y, "x1": x[:, 0], "x2": x[:, 1], "g": g, "t": t})
    df = df[~((df["g"] < 4) & (df["t"] > 2000))].reset_index(drop=True)
    assert df.groupby("g")["y"].sum().gt(0).all()  # no all-zero panel (singletons included)
    ours = cp.poisson_fe(df["y"], df[["x1", "x2"]], df["g"])
    _same(ours, _pyfixest(df, "y", ["x1", "x2"], "g", fixef_rm="none"))
    assert (ours.nobs, ours.n_groups) == (len(df), G)
    dropped = _pyfixest(df, "y", ["x1", "x2"], "g")  # pyfixest's default: singletons out
    np.testing.assert_allclose(ours.params.to_numpy(), dropped.coef().to_numpy(), rtol=1e-8)
    np.testing.assert_allclose((ours.bse / dropped.se().to_numpy()) ** 2,
                               (G / (G - 1)) / ((G - 4) / (G - 5)), rtol=1e-8)


# ----------------------------------------------------------------------------- the dummy-variable fit

def test_equals_the_dummy_variable_glm_it_replaced():
    """SYNTHETIC (40 panels x 6, year effects, offset): the concentrated fit is the
    dummy-variable ML fit -- statsmodels GLM(Poisson) with G - 1 panel dummies, year dummies
    and a constant: slopes, year effects, Intercept and every panel dummy, llf and the OIM SEs
    (GLM's nonrobust covariance, scale 1)."""
    import statsmodels.api as sm

    rng = np.random.default_rng(11)
    G, T = 40, 6  # a small dense design: the GLM's cost grows with rows x panels
    g, t = np.repeat(np.arange(G), T), np.tile(np.arange(2001, 2001 + T), G)
    x = rng.normal(size=(G * T, 2))
    off = rng.normal(scale=0.3, size=G * T)
    y = rng.poisson(np.exp(1.0 + off + x @ [0.5, -0.25] + np.repeat(rng.normal(size=G), T)))
    X = pd.DataFrame(x, columns=["x1", "x2"])
    assert (np.bincount(g, weights=y) > 0).all()
    ours = cp.poisson_fe(y, X, g, time=t, offset=off, cov_type="oim")
    D = pd.concat([X, pd.get_dummies(t, prefix="year", drop_first=True, dtype=float),
                   pd.get_dummies(g, drop_first=True, dtype=float)
                   .rename(columns=lambda v: f"panel[{v}]")], axis=1)
    glm = sm.GLM(y, sm.add_constant(D).rename(columns={"const": "Intercept"}),
                 family=sm.families.Poisson(), offset=off).fit(tol=1e-13, maxiter=100)
    assert list(ours.full_params.index) == list(glm.params.index)
    np.testing.assert_allclose(ours.full_params.to_numpy(), glm.params.to_numpy(),
                               rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(ours.bse.to_numpy(), glm.bse[ours.params.index].to_numpy(), rtol=1e-8)
    assert ours.llf == pytest.approx(glm.llf, rel=1e-10)


def test_a_regressor_fixed_within_every_panel_is_named():
    """SYNTHETIC: a panel-level regressor is absorbed by the panel dummies; the error names it."""
    rng = np.random.default_rng(2)
    g = np.repeat(np.arange(30), 4)
    X = pd.DataFrame({"x": rng.normal(size=120), "size": np.repeat(rng.normal(size=30), 4)})
    y = rng.poisson(np.exp(0.5 + 0.2 * X["x"]))
    with pytest.raises(EstimationError, match="size do\\(es\\) not vary within any panel"):
        cp.poisson_fe(y, X, g)


# ----------------------------------------------------------------------------- fixtures

@pytest.mark.parametrize("year", [False, True])
def test_fatalities_equals_pyfixest_fepois(year):
    """AER::Fatalities (48 states, 1982-88), deaths on beer tax, unemployment and log income
    with state (and year) effects, exposure = population: the fixture R's glm reproduced."""
    d = pd.read_csv(FIX / "fatalities.csv")
    d["lincome"], d["lpop"] = np.log(d["income"]), np.log(d["pop"])
    slopes = ["beertax", "unemp", "lincome"]
    ours = cp.poisson_fe(d["fatal"], d[slopes], d["state"], time=d["year"] if year else None,
                         exposure=d["pop"])
    fit = _pyfixest(d, "fatal", slopes, "state", year="year" if year else None, offset="lpop")
    _same(ours, fit)
    assert ours.llf == pytest.approx(fit._loglik, rel=1e-10)


@pytest.mark.skipif(not REAL.is_file(), reason="the real panel is not built (make panel)")
@pytest.mark.parametrize("year", [False, True])
def test_real_innovation_sample_equals_pyfixest_fepois(year):
    """The built panel, Table 1 column (1)'s sample (16 provinces, 2015-2020): the two Poisson
    FE columns of the within-province table (analyses/within.py) equal pyfixest."""
    from regrowth import panel
    from regrowth import specs as specs_mod
    from regrowth.fit import estimation_sample

    spec = next(c for c in specs_mod.load(REAL.parents[2] / "specs" / "models.toml").columns()
                if c.id == "gnb_main")
    data, _ = estimation_sample(spec, panel.load(REAL.parent))
    xs = list(spec.regressors)
    df = data.reset_index()
    assert spec.exposure is None  # no offset on either side
    ours = cp.poisson_fe(df[spec.outcome], df[xs], df["region"],
                         time=df["year"] if year else None)
    fit = _pyfixest(df, spec.outcome, xs, "region", year="year" if year else None)
    _same(ours, fit)
    assert (ours.nobs, ours.n_groups) == (112, 16)   # 16 provinces x 2015-2021
