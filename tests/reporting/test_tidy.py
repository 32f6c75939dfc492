"""tidy() and glance() on real statsmodels, linearmodels, GNB and FGLS results (synthetic data)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from linearmodels import PanelOLS, RandomEffects

from regrowth.report.tidy import TIDY_COLUMNS, glance, split_term, tidy


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    rng = np.random.default_rng(20181)
    idx = pd.MultiIndex.from_product([[f"p{i:02d}" for i in range(8)], range(2010, 2018)],
                                     names=["region", "year"])
    df = pd.DataFrame({"x": rng.normal(size=len(idx)), "w": rng.normal(size=len(idx))},
                      index=idx)
    effect = np.repeat(rng.normal(size=8), 8)
    df["y"] = 1.0 + 0.5 * df["x"] - 0.3 * df["w"] + effect + rng.normal(size=len(idx))
    df["count"] = rng.poisson(np.exp(0.3 + 0.4 * df["x"]))
    df["const"] = 1.0
    return df


def test_ols_matches_statsmodels(panel):
    res = sm.OLS(panel["y"], panel[["const", "x", "w"]]).fit()
    out = tidy(res)
    assert tuple(out.columns) == TIDY_COLUMNS
    assert list(out["term"]) == ["const", "x", "w"]
    assert set(out["equation"]) == {"main"}
    np.testing.assert_allclose(out["estimate"], res.params.to_numpy())
    np.testing.assert_allclose(out["std_error"], res.bse.to_numpy())
    np.testing.assert_allclose(out["statistic"], res.tvalues.to_numpy())
    np.testing.assert_allclose(out["p_value"], res.pvalues.to_numpy())
    ci = res.conf_int().to_numpy()
    np.testing.assert_allclose(out[["ci_low", "ci_high"]].to_numpy(), ci)
    assert out.index.equals(pd.RangeIndex(3))

    g = glance(res)
    assert g["nobs"] == 64 and isinstance(g["nobs"], int)
    assert g["llf"] == pytest.approx(res.llf)
    assert g["aic"] == pytest.approx(res.aic) and g["bic"] == pytest.approx(res.bic)
    assert g["rsquared"] == pytest.approx(res.rsquared)
    assert g["cov_type"] == "nonrobust"
    # Wald chi2 of x and w jointly = 2 * F of the regression (no constant in the test)
    assert g["wald_df"] == 2
    assert g["wald_chi2"] == pytest.approx(2 * res.fvalue)
    assert "converged" not in g


def test_ndarray_params_take_names_from_the_model(panel):
    res = sm.OLS(panel["y"].to_numpy(), panel[["const", "x"]].to_numpy()).fit()
    assert list(tidy(res)["term"]) == ["const", "x1"]


def test_poisson_cluster(panel):
    groups = pd.factorize(panel.index.get_level_values("region"))[0]
    res = sm.Poisson(panel["count"], panel[["const", "x"]]).fit(
        disp=0, cov_type="cluster", cov_kwds={"groups": groups})
    out = tidy(res, model_name="Poisson")
    assert list(out.columns) == ["model", *TIDY_COLUMNS]
    assert set(out["model"]) == {"Poisson"}
    np.testing.assert_allclose(out["std_error"], res.bse.to_numpy())
    g = glance(res)
    assert g["converged"] is True
    assert g["cov_type"] == "cluster"
    assert g["wald_df"] == 1
    assert g["wald_chi2"] == pytest.approx((res.params["x"] / res.bse["x"]) ** 2)
    assert g["wald_p"] == pytest.approx(res.pvalues["x"])


def test_linearmodels_panel_ols(panel):
    res = PanelOLS(panel["y"], panel[["x", "w"]], entity_effects=True).fit(
        cov_type="clustered", cluster_entity=True)
    out = tidy(res)
    assert list(out["term"]) == ["x", "w"]
    np.testing.assert_allclose(out["std_error"], res.std_errors.to_numpy())
    np.testing.assert_allclose(out["statistic"], res.tstats.to_numpy())
    np.testing.assert_allclose(out[["ci_low", "ci_high"]].to_numpy(), res.conf_int().to_numpy())
    g = glance(res)
    assert (g["nobs"], g["n_entities"], g["n_periods"]) == (64, 8, 8)
    assert g["llf"] == pytest.approx(res.loglik)
    assert g["rsquared_within"] == pytest.approx(res.rsquared_within)
    assert g["rsquared_overall"] == pytest.approx(res.rsquared_overall)
    assert g["cov_type"] == "Clustered"
    assert "aic" not in g


def test_linearmodels_random_effects_wald_matches_its_own_test(panel):
    res = RandomEffects(panel["y"], panel[["const", "x", "w"]]).fit()
    g = glance(res)
    own = res.wald_test(formula="x = 0, w = 0")
    assert g["wald_df"] == 2
    assert g["wald_chi2"] == pytest.approx(own.stat)
    assert g["wald_p"] == pytest.approx(own.pval)


def _wald(params: pd.Series, cov: pd.DataFrame, names: list[str]) -> float:
    """b' V^-1 b over ``names``: the Wald chi2 computed here, independently of glance()."""
    idx = [list(params.index).index(n) for n in names]
    b = params.to_numpy()[idx]
    v = np.asarray(cov, dtype=float)[np.ix_(idx, idx)]
    return float(b @ np.linalg.solve(v, b))


def test_gnb_equations_and_wald_on_a_real_fit(panel):
    """A real GeneralizedNegativeBinomial result (synthetic counts): the ln(alpha) terms get
    their own equation, numbers are the result's own, the Wald test leaves out the constant."""
    from regrowth.models import GeneralizedNegativeBinomial

    data = panel.reset_index()
    rng = np.random.default_rng(20182)          # over-dispersed counts: NB2, alpha = 0.5
    mu = np.exp(1.0 + 0.4 * data["x"] - 0.2 * data["w"])
    data["nb"] = rng.negative_binomial(2.0, 2.0 / (2.0 + mu))
    res = GeneralizedNegativeBinomial.from_formula(
        "nb ~ x + w", data, disp_formula="~ w", groups="region").fit(cov_type="cluster")
    assert res.converged
    out = tidy(res)
    assert list(out["term"]) == ["Intercept", "x", "w", "Intercept", "w"]
    assert list(out["equation"]) == ["mean", "mean", "mean", "lnalpha", "lnalpha"]
    np.testing.assert_array_equal(out["estimate"], np.asarray(res.params))
    np.testing.assert_array_equal(out["std_error"], np.asarray(res.bse))
    np.testing.assert_allclose(out[["ci_low", "ci_high"]].to_numpy(), np.asarray(res.conf_int()))
    g = glance(res)
    params = pd.Series(np.asarray(res.params), index=list(res.params.index))
    assert g["wald_df"] == 2                                   # x and w of the mean equation
    assert g["wald_chi2"] == pytest.approx(_wald(params, res.cov_params(), ["x", "w"]), rel=1e-10)
    assert g["converged"] is True and g["nobs"] == 64 and g["llf"] == pytest.approx(res.llf)
    json.dumps(g)  # plain Python types only
    assert all(type(v) in (int, float, str, bool) for v in g.values())


def test_fgls_panel_counts_and_no_log_likelihood_on_a_real_fit(panel):
    """A real PanelFGLS result: panel counts come through; its NaN log likelihood (two-step
    FGLS with AR(1) is not an MLE) is left out rather than reported as NaN."""
    from regrowth.models import PanelFGLS

    res = PanelFGLS.from_formula("y ~ 1 + x + w", panel, panels="hetero", corr="ar1").fit()
    g = glance(res)
    assert "llf" not in g
    assert (g["nobs"], g["n_entities"], g["n_periods"]) == (64, 8, 8)
    names = [n for n in res.params.index if n not in ("const", "Intercept")]
    assert names == ["x", "w"] and g["wald_df"] == 2
    assert g["wald_chi2"] == pytest.approx(_wald(res.params, res.cov, names), rel=1e-10)
    out = tidy(res)
    np.testing.assert_array_equal(out["estimate"], res.params.to_numpy())


def test_split_term_only_knows_equation_prefixes():
    assert split_term("lnalpha:z") == ("lnalpha", "z")
    assert split_term("a:b") == (None, "a:b")  # a formula interaction, not an equation
    assert split_term("lnalpha:") == (None, "lnalpha:")


def test_minimal_duck_without_conf_int_or_statistic():
    class Minimal:
        params = pd.Series([2.0, -1.0], index=["a", "b"])
        bse = pd.Series([1.0, 0.5], index=["a", "b"])
        pvalues = pd.Series([0.05, 0.05], index=["a", "b"])

    out = tidy(Minimal())
    assert list(out["statistic"]) == [2.0, -2.0]
    assert out[["ci_low", "ci_high"]].isna().all().all()
    assert glance(Minimal()) == {}


def test_not_a_result():
    with pytest.raises(TypeError, match="params"):
        tidy(object())
