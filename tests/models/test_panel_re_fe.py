"""fit_panel: RE and FE from linearmodels against R plm on Greene's 5-firm Grunfeld data.

Data: tests/fixtures/fgls/grunfeld_greene.csv (Greene 5-firm Grunfeld = Stata
invest2; see grunfeld_greene.py). R numbers: tests/fixtures/fgls/r_results.json,
made by tests/fixtures/fgls/make_r_fixtures.R (versions in versions.txt):
``plm(invest ~ market + stock, model = "random", random.method = "swar")`` and
``plm(..., model = "within")``, non-robust standard errors.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from regrowth.errors import SpecificationError
from regrowth.models import PanelFGLS
from regrowth.models.linear import fit_panel
from regrowth.report.tidy import tidy

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "fgls"
PLM = json.loads((FIX / "r_results.json").read_text())["plm"]
FORMULA = "invest ~ 1 + market + stock"


def _greene():
    spec = importlib.util.spec_from_file_location("fgls_fixture_greene",
                                                  FIX / "grunfeld_greene.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.load()


@pytest.fixture(scope="module")
def invest2() -> pd.DataFrame:
    return _greene()


def test_random_effects_matches_plm_swamy_arora(invest2):
    res = fit_panel("re", FORMULA, invest2)
    ref = PLM["random"]
    names = {"(Intercept)": "Intercept", "market": "market", "stock": "stock"}
    for r_name, name in names.items():
        assert res.params[name] == pytest.approx(ref["coef"][r_name], rel=1e-8, abs=0)
        assert res.std_errors[name] == pytest.approx(ref["se"][r_name], rel=1e-8, abs=0)
    vd = res.variance_decomposition
    assert vd["Effects"] == pytest.approx(ref["sigma2_id"], rel=1e-8)
    assert vd["Residual"] == pytest.approx(ref["sigma2_idios"], rel=1e-8)
    assert float(np.asarray(res.theta).ravel()[0]) == pytest.approx(ref["theta"], rel=1e-8)


def test_fixed_effects_matches_plm_within(invest2):
    ref = PLM["within"]
    for formula in ("invest ~ market + stock", FORMULA,
                    "invest ~ market + stock + EntityEffects"):
        res = fit_panel("fe", formula, invest2)
        for name in ("market", "stock"):
            assert res.params[name] == pytest.approx(ref["coef"][name], rel=1e-8, abs=0)
            assert res.std_errors[name] == pytest.approx(ref["se"][name], rel=1e-8, abs=0)


def test_array_interface_and_aliases(invest2):
    y = invest2["invest"]
    x = invest2[["market", "stock"]]
    res = fit_panel("within", y, x)
    assert res.params["market"] == pytest.approx(PLM["within"]["coef"]["market"], rel=1e-8)
    xc = sm.add_constant(x)
    pooled = fit_panel("ols", y, xc)
    ols = sm.OLS(y, xc).fit()
    np.testing.assert_allclose(pooled.params.to_numpy(), ols.params.to_numpy(), rtol=1e-10)
    np.testing.assert_allclose(pooled.std_errors.to_numpy(), ols.bse.to_numpy(), rtol=1e-10)


def test_robust_covariances_run_and_differ(invest2):
    base = fit_panel("fe", FORMULA, invest2)
    cl = fit_panel("fe", FORMULA, invest2, cov_type="clustered")
    dk = fit_panel("fe", FORMULA, invest2, cov_type="kernel", kernel="bartlett",
                   bandwidth=3)
    np.testing.assert_allclose(cl.params, base.params, rtol=1e-12)
    assert not np.allclose(cl.std_errors, base.std_errors)
    assert not np.allclose(dk.std_errors, base.std_errors)
    assert "Clustered" in str(cl.summary) and "Driscoll-Kraay" in str(dk.summary)


def test_driscoll_kraay_pooled_matches_statsmodels(invest2):
    """linearmodels' kernel covariance vs statsmodels' Driscoll-Kraay (hac-groupsum)."""
    y = invest2["invest"]
    x = sm.add_constant(invest2[["market", "stock"]])
    lm = fit_panel("pooled", y, x, cov_type="kernel", kernel="bartlett", bandwidth=2,
                   debiased=False)
    time = invest2.index.get_level_values("time").to_numpy() - 1
    smres = sm.OLS(y.to_numpy(), x.to_numpy()).fit(
        cov_type="hac-groupsum", cov_kwds={"time": time, "maxlags": 2,
                                          "use_correction": False})
    np.testing.assert_allclose(lm.std_errors.to_numpy(), smres.bse, rtol=1e-8)


def test_fgls_path_equals_direct(invest2):
    opts = {"panels": "hetero", "corr": "ar1"}
    via = fit_panel("fgls", FORMULA, invest2, model_options=opts)
    direct = PanelFGLS.from_formula(FORMULA, invest2, **opts).fit()
    pd.testing.assert_series_equal(via.params, direct.params)
    nmk = fit_panel("xtgls", FORMULA, invest2, model_options=opts, nmk=True)
    np.testing.assert_allclose(nmk.bse ** 2, direct.bse ** 2 * 100 / 97, rtol=1e-12)
    with pytest.raises(SpecificationError, match="not available for FGLS"):
        fit_panel("fgls", FORMULA, invest2, cov_type="clustered")


def test_tidy_is_common_currency(invest2):
    for kind in ("fgls", "re", "fe", "pooled"):
        t = tidy(fit_panel(kind, FORMULA, invest2))
        assert list(t.columns) == ["term", "equation", "estimate", "std_error", "statistic",
                                   "p_value", "ci_low", "ci_high"]
        assert {"market", "stock"} <= set(t["term"])
        assert np.all(t["ci_low"] < t["estimate"]) and np.all(t["estimate"] < t["ci_high"])


def test_bad_kind_and_missing_data(invest2):
    with pytest.raises(SpecificationError, match="unknown panel estimator"):
        fit_panel("gmm", FORMULA, invest2)
    with pytest.raises(SpecificationError, match="needs `data`"):
        fit_panel("re", FORMULA)


# --------------------------------------------------------------------------------------
# Refused inputs (issue 8): a constant dependent variable. Synthetic data, seed 0.

@pytest.mark.parametrize("kind", ["re", "fe", "pooled"])
def test_constant_outcome_is_refused_naming_the_variable(kind):
    from regrowth.errors import EstimationError
    from regrowth.models import fit_panel

    idx = pd.MultiIndex.from_product([list("abcd"), range(2000, 2010)], names=["r", "t"])
    data = pd.DataFrame({"growth": 1.5, "x": np.random.default_rng(0).normal(size=40)},
                        index=idx)
    with pytest.raises(EstimationError, match=r"'growth' is constant \(1\.5 in all 40"):
        fit_panel(kind, "growth ~ 1 + x", data)
