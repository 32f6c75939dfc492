"""Stata-equal clustered standard errors from fit_panel, and CR2, against R.

R numbers (tests/fixtures/inference/r_inference.json, made by
make_inference_fixtures.R; versions.txt): plm + sandwich ``vcovHC(method = "arellano",
type = "HC0", cluster = "group")`` multiplied by Stata's factor G/(G-1)(N-1)/(N-K) (K =
regressors + constant; for ``xtreg, fe`` the absorbed effects are not counted, year
dummies are), p-values from t(G-1); clubSandwich ``vcovCR(type = "CR2")`` and
``coef_test(test = "Satterthwaite")``.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from regrowth.inference import cr2, stata_cluster_factor, vcov_cr2
from regrowth.models.linear import fit_panel
from regrowth.report.tidy import tidy

DATA = {"grunfeld": ("firm", "inv ~ 1 + value + capital"),
        "produc16": ("state", "lgsp ~ 1 + lpcap + lpc + lemp + unemp")}
CASES = [("pooled", "pooled", ""), ("fe", "fe", ""), ("re", "re", ""),
         ("fe", "fe2", " + TimeEffects")]


def _frame(name, grunfeld, produc16):
    df = grunfeld if name == "grunfeld" else produc16
    return df.set_index([DATA[name][0], "year"])


def _aligned(series, names):
    return series.rename({"Intercept": "(Intercept)"})[names].to_numpy()


@pytest.mark.parametrize("name", sorted(DATA))
@pytest.mark.parametrize("kind,key,extra", CASES)
def test_fit_panel_clustered_equals_stata_formula_and_t_g_minus_1(
        name, kind, key, extra, r_numbers, grunfeld, produc16):
    ref = r_numbers[name][key]
    df = _frame(name, grunfeld, produc16)
    res = fit_panel(kind, DATA[name][1] + extra, df, cov_type="clustered")
    names = ref["names"]
    se_r = np.array([ref["se_stata"][n] for n in names])
    p_r = np.array([ref["p_t_G1"][n] for n in names])
    np.testing.assert_allclose(_aligned(res.params, names),
                               [ref["coef"][n] for n in names], rtol=1e-9)
    np.testing.assert_allclose(_aligned(res.std_errors, names), se_r, rtol=1e-9)
    np.testing.assert_allclose(_aligned(res.pvalues, names), p_r, rtol=1e-8, atol=1e-14)
    G = r_numbers[name]["G"]
    assert res.df_ref == G - 1 and res.n_clusters == G
    assert res.cluster_factor == pytest.approx(ref["factor"], rel=1e-12)
    # the intervals and the tidy table carry the same t(G-1) numbers
    q = stats.t.ppf(0.975, G - 1)
    ci = res.conf_int()
    np.testing.assert_allclose(ci["upper"], res.params + q * res.std_errors, rtol=1e-12)
    td = tidy(res).set_index("term")
    np.testing.assert_allclose(td["p_value"], res.pvalues.to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(td["ci_low"], ci["lower"].to_numpy(), rtol=1e-12)


def test_stata_factor_counts_as_documented():
    assert stata_cluster_factor(16, 256, 5) == pytest.approx(16 / 15 * 255 / 251)


def test_linearmodels_numbers_remain_available(produc16):
    df = produc16.set_index(["state", "year"])
    form = DATA["produc16"][1]
    stata = fit_panel("fe", form, df, cov_type="clustered")
    lm = fit_panel("fe", form, df, cov_type="clustered", small_sample="linearmodels")
    assert type(lm).__module__.startswith("linearmodels")
    assert not np.allclose(lm.std_errors, stata.std_errors)
    explicit = fit_panel("fe", form, df, cov_type="clustered", debiased=True)
    assert type(explicit).__module__.startswith("linearmodels")


def test_driscoll_kraay_uses_t_with_periods_minus_one(produc16):
    df = produc16.set_index(["state", "year"])
    res = fit_panel("fe", DATA["produc16"][1], df, cov_type="kernel", bandwidth=2)
    T = df.index.get_level_values("year").nunique()
    assert res.df_ref == T - 1
    t = res.tstats.to_numpy()
    np.testing.assert_allclose(res.pvalues, 2 * stats.t.sf(np.abs(t), T - 1), rtol=1e-12)
    np.testing.assert_allclose(res.std_errors, res.results.std_errors, rtol=1e-12)


@pytest.mark.parametrize("name", sorted(DATA))
@pytest.mark.parametrize("kind,key", [("pooled", "pooled_cr2"), ("fe", "fe_cr2")])
def test_cr2_and_satterthwaite_df_equal_clubsandwich(name, kind, key, r_numbers,
                                                     grunfeld, produc16):
    ref = r_numbers[name][key]
    df = _frame(name, grunfeld, produc16)
    res = fit_panel(kind, DATA[name][1], df, cov_type="clustered")
    out = cr2(res)
    names = ref["names"]
    np.testing.assert_allclose(_aligned(out.std_errors, names),
                               [ref["se"][n] for n in names], rtol=1e-9)
    np.testing.assert_allclose(_aligned(out.df, names), [ref["df"][n] for n in names],
                               rtol=1e-9)
    np.testing.assert_allclose(_aligned(out.pvalues, names), [ref["p"][n] for n in names],
                               rtol=1e-8)
    cov_names = [n for n in names]
    V = out.cov.rename(index={"Intercept": "(Intercept)"},
                       columns={"Intercept": "(Intercept)"}).loc[cov_names, cov_names]
    np.testing.assert_allclose(V.to_numpy(), np.array(ref["cov"]), rtol=1e-8, atol=1e-15)


def test_vcov_cr2_refuses_effects_not_nested_in_clusters(produc16):
    X = produc16[["lpcap", "lpc"]].to_numpy()
    with pytest.raises(ValueError, match="nested"):
        vcov_cr2(X, produc16["lgsp"], produc16["year"], absorb=produc16["state"])
