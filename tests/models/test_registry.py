"""The estimator registry, the shared Stata ML scaling, and time/unit effects for every estimator.

Synthetic data (seeded) only; the estimators themselves are validated against Stata/R in
test_gnb.py, test_fgls.py and test_panel_re_fe.py.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from regrowth import regions, specs
from regrowth.errors import SpecificationError
from regrowth.models import covariance, registry
from regrowth.models.covariance import stata_ml_scale
from regrowth.models.linear import fit_panel

SEED = 20181121


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    """16 provinces x 10 years of synthetic (overdispersed) counts and growth with year shocks."""
    rng = np.random.default_rng(SEED)
    keys = [r.key for r in regions.REGIONS if r.key != "sejong"]
    idx = pd.MultiIndex.from_product([keys, range(2010, 2020)], names=["region", "year"])
    n = len(idx)
    shock = rng.normal(size=10)[np.tile(np.arange(10), 16)]
    x1 = rng.normal(size=n)
    return pd.DataFrame({
        "x1": x1, "x2": rng.normal(size=n),
        "y": rng.negative_binomial(2, 2 / (2 + np.exp(1.0 + 0.4 * x1 + 0.3 * shock))).astype(float),
        "growth": 2 + 0.5 * x1 + shock + rng.normal(size=n),
        "macro_region": [regions.get(k).macro_region for k, _ in idx],
    }, index=idx)


def column(estimator: str, **kw) -> specs.ColumnSpec:
    entry = registry.get(estimator)
    base = dict(table="t", id=estimator, label="(1)", title=estimator, estimator=estimator,
                outcome="y" if entry.family == "count" else "growth", regressors=("x1", "x2"),
                sample=specs.Sample(2010, 2019), se_type=entry.default_se, rationale="test")
    base.update(kw)
    return specs.ColumnSpec(**base)


def test_the_registry_holds_the_seven_built_in_estimators_in_order():
    assert registry.names()[:7] == ("gnb", "nb2", "poisson", "fgls", "re", "fe", "pooled")
    labels = {e.name: (e.label, e.stata, e.family) for e in registry.entries()}
    assert labels["gnb"] == ("gnbreg (GNB)", "gnbreg", "count")
    assert labels["fgls"] == ("xtgls (FGLS)", "xtgls", "linear")
    assert registry.get("fgls").option_names() == ("panels", "corr", "rhotype", "igls", "nmk",
                                                   "force", "tol", "maxiter")


def test_aliases_and_did_you_mean():
    assert registry.get("XTGLS").name == "fgls" and registry.get("within").name == "fe"
    with pytest.raises(SpecificationError, match="did you mean 'pooled'"):
        registry.get("poooled")


def test_a_name_cannot_be_registered_twice():
    entry = registry.get("fe")
    with pytest.raises(ValueError, match="already"):
        registry.register(dataclasses.replace(entry, name="fe2", aliases=("within",)))


@pytest.fixture
def toy_estimator():
    """Register a toy 'demeaned OLS' estimator the way another module would, then remove it."""
    calls = []

    def fit_formula(formula, data, *, cov_type, model_options, **cov_kwds):
        calls.append((formula, cov_type, model_options))
        return "fitted"

    registry.register_se_type("toy_se", "toy standard errors")
    entry = registry.register(registry.Estimator(
        name="toy", label="toy OLS", stata="toyreg", family="linear", doc="a test estimator",
        options=(registry.Option("shrink", "float", 0.0, "shrinkage", minimum=0),),
        se_types=("toy_se",), default_se="toy_se", province_effects="",
        fit=lambda spec, data: "fitted", fit_panel=fit_formula))
    yield entry, calls
    registry._REGISTRY.pop("toy")
    registry._ALIASES.pop("toy")
    covariance._SE_TYPES.pop("toy_se")


def test_one_registration_block_plugs_an_estimator_into_specs_and_fit_panel(tmp_path,
                                                                            toy_estimator):
    _, calls = toy_estimator
    path = tmp_path / "models.toml"
    path.write_text("""
[[table]]
id = "t"
[[table.column]]
id = "a"
label = "(1)"
title = "toy"
estimator = "toy"
outcome = "y"
regressors = ["x"]
sample = { years = [2000, 2001] }
options = { shrink = 1 }
rationale = "test"
""", encoding="utf-8")
    col = specs.load(path).columns()[0]
    assert col.options == {"shrink": 1.0} and col.se_type == "toy_se"
    assert col.se_label() == "toy standard errors"
    assert "toy: shrink (float)" in specs.schema_comment()
    path.write_text(path.read_text().replace("shrink = 1", 'shrink = "1"'), encoding="utf-8")
    with pytest.raises(SpecificationError, match="options.shrink"):
        specs.load(path)
    assert fit_panel("toy", "y ~ 1 + x", pd.DataFrame()) == "fitted"
    assert calls == [("y ~ 1 + x", "unadjusted", {})]


def test_fit_panel_refuses_an_unknown_kind_with_a_suggestion():
    with pytest.raises(SpecificationError, match="unknown panel estimator 'fixedd'.*'fixed'"):
        fit_panel("fixedd", "y ~ 1", pd.DataFrame())


# ----------------------------------------------------------------------------- Stata scaling

def test_stata_ml_scale_is_oim_1_robust_n_over_n_minus_1_cluster_g_over_g_minus_1():
    assert stata_ml_scale("oim", 100) == 1.0
    assert stata_ml_scale("robust", 100) == pytest.approx(100 / 99, rel=1e-15)
    assert stata_ml_scale("cluster", 100, 16) == pytest.approx(16 / 15, rel=1e-15)
    with pytest.raises(ValueError, match="2 clusters"):
        stata_ml_scale("cluster", 100, 1)


def test_poisson_covariances_carry_stata_scaling_without_patching(panel):
    import statsmodels.api as sm

    from regrowth.models.count import count_design, fit_poisson

    data = panel
    y, X, _ = count_design(column("poisson"), data)
    raw = sm.Poisson(y, X)
    groups = data.index.get_level_values("region")
    unscaled = raw.fit(disp=0, cov_type="cluster",
                       cov_kwds={"groups": pd.factorize(groups)[0], "use_correction": False})
    res = fit_poisson(column("poisson", se_type="cluster", se_groups="region"), data)
    np.testing.assert_allclose(res.bse, unscaled.bse * np.sqrt(16 / 15), rtol=1e-6)
    hc0 = raw.fit(disp=0, cov_type="HC0")
    res = fit_poisson(column("poisson", se_type="robust"), data)
    n = len(y)
    np.testing.assert_allclose(res.bse, hc0.bse * np.sqrt(n / (n - 1)), rtol=1e-6)
    assert res.cov_kwds["scaling_factor"] == pytest.approx(n / (n - 1))


def test_gnb_takes_its_factor_from_the_shared_function(panel):
    from regrowth.models.count import fit_nb2

    res = fit_nb2(column("nb2", se_type="cluster", se_groups="region"), panel)
    assert res.cov_kwds["correction"] == stata_ml_scale("cluster", len(panel), 16)


# ----------------------------------------------------------------------------- effects

@pytest.mark.parametrize("estimator", ["gnb", "nb2", "poisson", "fgls", "re", "fe", "pooled"])
def test_year_effects_work_for_every_estimator_and_are_read_from_the_fitted_terms(panel,
                                                                                   estimator):
    from regrowth.models.design import fitted_effects
    from regrowth.report.tidy import tidy

    extra = {"dispersion": ()} if estimator != "gnb" else {"dispersion": ("x2",)}
    col = column(estimator, year_effects=True, **extra)
    res = registry.get(estimator).fit(col, panel)
    eff = fitted_effects(res, tidy(res)["term"])
    assert eff["year"] is True
    if estimator == "fe":  # two-way within: TimeEffects absorbed, no dummies
        assert eff["absorbed"] == ["EntityEffects", "TimeEffects"] and eff["year_terms"] == []
        assert eff["province"] is True
    else:
        assert eff["year_terms"] == [f"year_{t}" for t in range(2011, 2020)]
        assert eff["province"] is False
    without = registry.get(estimator).fit(dataclasses.replace(col, year_effects=False), panel)
    assert fitted_effects(without, tidy(without)["term"])["year"] is False


@pytest.mark.parametrize("estimator", ["fgls", "pooled", "poisson", "nb2"])
def test_province_dummies_lsdv(panel, estimator):
    from regrowth.models.design import fitted_effects
    from regrowth.report.tidy import tidy

    col = column(estimator, province_effects=True)
    res = registry.get(estimator).fit(col, panel)
    eff = fitted_effects(res, tidy(res)["term"])
    assert eff["province"] and len(eff["province_terms"]) == 15 and not eff["year"]


def test_pooled_ols_with_province_dummies_equals_the_within_estimator(panel):
    """LSDV and within give the same slopes (Frisch-Waugh-Lovell)."""
    lsdv = registry.get("pooled").fit(column("pooled", province_effects=True), panel)
    fe = registry.get("fe").fit(column("fe"), panel)
    np.testing.assert_allclose(lsdv.params[["x1", "x2"]], fe.params[["x1", "x2"]], rtol=1e-10)


def test_two_way_fe_equals_pooled_ols_with_both_sets_of_dummies(panel):
    lsdv = registry.get("pooled").fit(column("pooled", province_effects=True,
                                             year_effects=True), panel)
    fe = registry.get("fe").fit(column("fe", year_effects=True), panel)
    np.testing.assert_allclose(lsdv.params[["x1", "x2"]], fe.params[["x1", "x2"]], rtol=1e-9)


def test_clustering_by_macro_region(panel):
    fe = registry.get("fe").fit(column("fe", se_type="cluster", se_groups="macro_region"), panel)
    assert fe._cov_type == "Clustered" or "lustered" in str(fe.summary)
    by_region = registry.get("fe").fit(column("fe", se_type="cluster", se_groups="region"), panel)
    assert not np.allclose(fe.std_errors, by_region.std_errors)
