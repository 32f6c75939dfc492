"""PanelFGLS (Stata xtgls) against Stata's printed output, linearmodels SUR, OLS and R nlme.

Reference numbers live in tests/fixtures/fgls/ (Stata: stata_xtgls.py with its
source; R: r_results.json made by make_r_fixtures.R, versions in versions.txt).
"""

from __future__ import annotations

import importlib.util
import json
import math
import shutil
import subprocess
import warnings
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from regrowth.errors import (ConvergenceWarning, DataError, EstimationError,
                             MissingValuesWarning, SpecificationError)
from regrowth.models import PanelFGLS

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "fgls"
FORMULA = "invest ~ 1 + market + stock"
NAMES = {"_cons": "Intercept", "market": "market", "stock": "stock"}


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"fgls_fixture_{name}", FIX / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


GREENE = _load("grunfeld_greene")
STATA = _load("stata_xtgls").EXAMPLES
R = json.loads((FIX / "r_results.json").read_text())


@pytest.fixture(scope="module")
def invest2() -> pd.DataFrame:
    return GREENE.load()


def _printed_ok(ours: float, printed: str) -> bool:
    """True if `ours` rounds to the printed string at its last printed digit."""
    dec = Decimal(printed)
    half_ulp = Decimal(1).scaleb(dec.as_tuple().exponent) / 2
    return abs(Decimal(repr(float(ours))) - dec) <= half_ulp * Decimal("1.000001")


def test_data_matches_greene_edits(invest2):
    steel = invest2.xs(5, level="company")
    assert steel.loc[6, "invest"] == 261.6 and steel.loc[12, "stock"] == 232.6
    assert steel.loc[18, "invest"] == 645.2
    assert invest2.shape == (100, 5)
    # The committed CSV that R reads is the same data.
    csv = pd.read_csv(FIX / "grunfeld_greene.csv").set_index(["company", "time"])
    np.testing.assert_array_equal(csv[["invest", "market", "stock"]].to_numpy(),
                                  invest2[["invest", "market", "stock"]].to_numpy())


@pytest.mark.parametrize("example", sorted(STATA))
def test_matches_stata_printed_output(invest2, example):
    ref = STATA[example]
    res = PanelFGLS.from_formula(FORMULA, invest2, **ref["options"]).fit()
    for stata_name, name in NAMES.items():
        assert _printed_ok(res.params[name], ref["coef"][stata_name]), (
            example, name, res.params[name], ref["coef"][stata_name])
        assert _printed_ok(res.bse[name], ref["se"][stata_name]), (
            example, name, res.bse[name], ref["se"][stata_name])
    assert _printed_ok(res.wald.stat, ref["wald_chi2"])
    assert res.wald.df == 2
    if "rho" in ref:
        assert _printed_ok(res.rho, ref["rho"])
    assert res.n_covariances == ref["n_covariances"]
    assert res.n_autocorrelations == ref["n_autocorrelations"]
    assert (res.nobs, res.n_panels, res.n_periods) == (ref["nobs"], ref["groups"],
                                                       ref["periods"])
    assert math.isnan(res.llf)  # Stata prints no log likelihood for these


def _constrained_sur(invest2):
    """linearmodels SUR, one equation per company, with every company's intercept and
    slopes constrained equal to company 1's: the pooled model with a full panel Sigma."""
    from linearmodels.system import SUR

    eqs = {f"c{c}": {"dependent": g.droplevel(0)["invest"],
                     "exog": g.droplevel(0)[["market", "stock"]].assign(Intercept=1.0)[
                         ["Intercept", "market", "stock"]]}
           for c, g in invest2.groupby(level="company")}
    mod = SUR(eqs)
    names = list(mod.param_names)
    rows = []
    for e in list(eqs)[1:]:
        for v in ("Intercept", "market", "stock"):
            row = pd.Series(0.0, index=names)
            row[f"c1_{v}"], row[f"{e}_{v}"] = 1.0, -1.0
            rows.append(row)
    mod.add_constraints(pd.DataFrame(rows))
    return mod


def test_correlated_equals_constrained_sur(invest2):
    """panels='correlated', corr='independent' == SUR with all equations' slopes and
    intercepts constrained equal. linearmodels' constrained first step is pooled OLS,
    so its Sigma (divisor T, debiased=False) is xtgls's Sigma."""
    ours = PanelFGLS.from_formula(FORMULA, invest2, panels="correlated",
                                  corr="independent").fit()
    mod = _constrained_sur(invest2)
    sur = mod.fit(method="gls", cov_type="unadjusted", iterate=False, full_cov=True)
    first = [f"c1_{v}" for v in ("Intercept", "market", "stock")]
    np.testing.assert_allclose(sur.params[first].to_numpy(), ours.params.to_numpy(),
                               rtol=1e-10, atol=0)
    np.testing.assert_allclose(sur.std_errors[first].to_numpy(), ours.bse.to_numpy(),
                               rtol=1e-10, atol=0)
    np.testing.assert_allclose(np.asarray(sur.sigma), ours.sigma.to_numpy(), rtol=1e-10)


def test_iid_independent_equals_ols_with_ml_variance(invest2):
    ours = PanelFGLS.from_formula(FORMULA, invest2, panels="iid", corr="independent").fit()
    x = sm.add_constant(invest2[["market", "stock"]])
    ols = sm.OLS(invest2["invest"], x).fit()
    np.testing.assert_allclose(ours.params.to_numpy(), ols.params.to_numpy(), rtol=1e-10)
    cov_ml = ols.cov_params().to_numpy() * ols.df_resid / ols.nobs  # sigma^2 = SSR/N
    np.testing.assert_allclose(ours.cov.to_numpy(), cov_ml, rtol=1e-10)
    np.testing.assert_allclose(ours.llf, ols.llf, rtol=1e-12)
    # nmk is exactly the OLS (n - k) covariance
    nmk = PanelFGLS.from_formula(FORMULA, invest2, panels="iid",
                                 corr="independent").fit(nmk=True)
    np.testing.assert_allclose(nmk.cov.to_numpy(), ols.cov_params().to_numpy(), rtol=1e-10)


def test_igls_hetero_equals_nlme_ml(invest2):
    """Iterated heteroskedastic GLS is the Gaussian MLE that nlme::gls(varIdent, ML)
    computes. The log likelihoods agree to 1e-10 (relative). nlme's coefficients
    are only as exact as its optimiser: its two optimisers (nlminb, optim) differ
    from each other by ~3e-7 relative, so coefficients are compared at 1e-6 and our
    fixed point must be at least as high on the likelihood as either nlme answer."""
    ref = R["nlme_hetero_ml"]
    ours = PanelFGLS.from_formula(FORMULA, invest2, panels="hetero", corr="independent",
                                  igls=True, tol=1e-14, maxiter=1000).fit()
    assert ours.converged
    np.testing.assert_allclose(ours.llf, ref["loglik"], rtol=1e-10)
    np.testing.assert_allclose(ours.llf, ref["optim"]["loglik"], rtol=1e-10)
    assert ours.llf >= max(ref["loglik"], ref["optim"]["loglik"]) - 1e-9
    for fit in (ref, ref["optim"]):
        r_coef = np.array([fit["coef"][k] for k in ("(Intercept)", "market", "stock")])
        np.testing.assert_allclose(ours.params.to_numpy(), r_coef, rtol=1e-6)
    r_s2 = np.array([ref["sigma2_panel"][str(i)] for i in range(1, 6)])
    np.testing.assert_allclose(np.diag(ours.sigma.to_numpy()), r_s2, rtol=1e-5)


def test_igls_default_tolerance_close_to_mle(invest2):
    ours = PanelFGLS.from_formula(FORMULA, invest2, panels="hetero", corr="independent",
                                  igls=True).fit()
    assert ours.converged and 1 < ours.iterations < 100
    assert abs(ours.llf - R["nlme_hetero_ml"]["loglik"]) < 1e-6


@pytest.mark.needs_r
def test_r_fixture_regenerates(tmp_path):
    """Rerun the committed R script into a temporary folder; same numbers."""
    if shutil.which("Rscript") is None:
        pytest.skip("Rscript not installed")
    root = FIX.parents[2]
    subprocess.run(["Rscript", str(FIX / "make_r_fixtures.R"), str(tmp_path)], cwd=root,
                   check=True)
    new = json.loads((tmp_path / "r_results.json").read_text())
    assert new["nlme_hetero_ml"]["loglik"] == pytest.approx(
        R["nlme_hetero_ml"]["loglik"], rel=1e-12)
    for kind in ("random", "within"):
        for part in ("coef", "se"):
            for name, value in R["plm"][kind][part].items():
                assert new["plm"][kind][part][name] == pytest.approx(value, rel=1e-12)


def test_igls_correlated_equals_iterated_sur_and_gaussian_ml(invest2):
    """Iterated correlated-panels GLS == linearmodels' iterated constrained SUR, and
    its llf is the Gaussian log likelihood sum_t log N(u_t; 0, Sigma)."""
    from scipy import stats

    ours = PanelFGLS.from_formula(FORMULA, invest2, panels="correlated",
                                  corr="independent", igls=True, maxiter=5000,
                                  tol=1e-12).fit()
    assert ours.converged
    mod = _constrained_sur(invest2)
    sur = mod.fit(method="gls", cov_type="unadjusted", iterate=True, iter_limit=5000,
                  tol=1e-12, full_cov=True)
    first = [f"c1_{v}" for v in ("Intercept", "market", "stock")]
    np.testing.assert_allclose(sur.params[first].to_numpy(), ours.params.to_numpy(),
                               rtol=1e-8)
    u = ours.resids.unstack(0).to_numpy()  # T x N
    sigma = u.T @ u / u.shape[0]
    ll = stats.multivariate_normal(np.zeros(u.shape[1]), sigma).logpdf(u).sum()
    np.testing.assert_allclose(ours.llf, ll, rtol=1e-10)


# --------------------------------------------------------------- degenerate designs

def _one_period(n_panels: int = 10) -> pd.DataFrame:
    rng = np.random.default_rng(5)
    idx = pd.MultiIndex.from_product([[f"p{i}" for i in range(n_panels)], [2015]],
                                     names=["company", "year"])
    return pd.DataFrame({"invest": rng.normal(size=n_panels),
                         "market": rng.normal(size=n_panels),
                         "stock": rng.normal(size=n_panels)}, index=idx)


@pytest.mark.parametrize("panels", ["hetero", "correlated"])
def test_one_period_is_refused_for_panel_variances(panels):
    with pytest.raises(EstimationError) as err:
        PanelFGLS.from_formula(FORMULA, _one_period(), panels=panels, corr="independent").fit()
    msg = str(err.value)
    assert f"panels={panels!r} estimates each panel's variance" in msg
    assert "one period (10 panels)" in msg and "FGLS needs T >= 2 periods" in msg


@pytest.mark.parametrize("corr", ["ar1", "psar1"])
def test_one_period_with_ar1_is_refused_not_a_traceback(corr):
    # every panel is a single observation, dropped for AR(1): nothing was left to fit
    with pytest.warns(Warning, match="only one observation"), \
            pytest.raises(EstimationError, match=r"every panel has a single observation "
                                                 r"\(periods: 2015\)"):
        PanelFGLS.from_formula(FORMULA, _one_period(), panels="iid", corr=corr).fit()


def test_one_period_with_iid_panels_and_independent_errors_is_ols():
    d = _one_period()
    res = PanelFGLS.from_formula(FORMULA, d, panels="iid", corr="independent").fit()
    ols = sm.OLS(d["invest"].to_numpy(), sm.add_constant(d[["market", "stock"]].to_numpy())).fit()
    np.testing.assert_allclose(res.params.to_numpy(), ols.params, rtol=1e-10)


# --------------------------------------------------------------- rho and corr

def _ols_resid(df):
    x = sm.add_constant(df[["market", "stock"]]).to_numpy()
    y = df["invest"].to_numpy()
    return y - x @ np.linalg.lstsq(x, y, rcond=None)[0]


@pytest.mark.parametrize("rhotype", ["regress", "freg", "tscorr", "dw", "theil", "nagar",
                                     "onestep"])
def test_rhotype_formulas(invest2, rhotype):
    """Per-panel rho from plain loops over the OLS residuals (psar1 reports them)."""
    e_all = _ols_resid(invest2)
    comp = invest2.index.get_level_values("company").to_numpy()
    expected = []
    k = 2
    for c in range(1, 6):
        e = e_all[comp == c]
        t = len(e)
        num = sum(e[i] * e[i - 1] for i in range(1, t))
        sse = sum(v * v for v in e)
        dw = sum((e[i] - e[i - 1]) ** 2 for i in range(1, t)) / sse
        val = {"regress": num / sum(e[i - 1] ** 2 for i in range(1, t)),
               "freg": num / sum(e[i] ** 2 for i in range(1, t)),
               "tscorr": num / sse, "dw": 1 - dw / 2,
               "theil": (t - k) * num / ((t - 1) * sse),
               "nagar": (t * t * (1 - dw / 2) + k * k) / (t * t - k * k),
               "onestep": t / (t - 1) * num / sse}[rhotype]
        expected.append(val)
    expected = np.array(expected)
    if np.any(np.abs(expected) >= 1):
        with pytest.raises(EstimationError, match=r"\|rho\| >= 1"):
            PanelFGLS.from_formula(FORMULA, invest2, panels="hetero", corr="psar1",
                                   rhotype=rhotype).fit()
        return
    res = PanelFGLS.from_formula(FORMULA, invest2, panels="hetero", corr="psar1",
                                 rhotype=rhotype).fit()
    np.testing.assert_allclose(res.rho.to_numpy(), expected, rtol=1e-12)
    common = PanelFGLS.from_formula(FORMULA, invest2, panels="hetero", corr="ar1",
                                    rhotype=rhotype).fit()
    assert common.rho == pytest.approx(expected.mean(), rel=1e-12)  # equal T_i


def test_ar1_by_hand(invest2):
    """Prais-Winsten + per-panel variances + weighted LS, written out directly."""
    res = PanelFGLS.from_formula(FORMULA, invest2, panels="hetero", corr="ar1").fit()
    rho = res.rho
    x = sm.add_constant(invest2[["market", "stock"]]).to_numpy()
    y = invest2["invest"].to_numpy()
    comp = invest2.index.get_level_values("company").to_numpy()
    xs, ys = x.copy(), y.copy()
    for c in range(1, 6):
        idx = np.flatnonzero(comp == c)
        xs[idx[0]] = math.sqrt(1 - rho ** 2) * x[idx[0]]
        ys[idx[0]] = math.sqrt(1 - rho ** 2) * y[idx[0]]
        xs[idx[1:]] = x[idx[1:]] - rho * x[idx[:-1]]
        ys[idx[1:]] = y[idx[1:]] - rho * y[idx[:-1]]
    u = ys - xs @ np.linalg.lstsq(xs, ys, rcond=None)[0]
    s2 = np.array([np.mean(u[comp == c] ** 2) for c in range(1, 6)])
    w = 1 / np.sqrt(s2[comp - 1])
    b = np.linalg.lstsq(xs * w[:, None], ys * w, rcond=None)[0]
    v = np.linalg.inv((xs * w[:, None]).T @ (xs * w[:, None]))
    np.testing.assert_allclose(res.params.to_numpy(), b, rtol=1e-10)
    np.testing.assert_allclose(res.bse.to_numpy(), np.sqrt(np.diag(v)), rtol=1e-10)
    np.testing.assert_allclose(np.diag(res.sigma.to_numpy()), s2, rtol=1e-10)


def test_correlated_psar1_with_bounded_rhotype(invest2):
    res = PanelFGLS.from_formula(FORMULA, invest2, panels="correlated", corr="psar1",
                                 rhotype="tscorr").fit()
    assert res.rho.index.tolist() == [1, 2, 3, 4, 5]
    assert np.all(np.abs(res.rho) < 1)
    assert res.n_autocorrelations == 5 and res.n_covariances == 15
    sig = res.sigma
    assert sig.index.equals(sig.columns) and np.allclose(sig, sig.T)


def test_common_rho_is_panel_size_weighted_average(invest2):
    """Stata's corr(ar1) rho: the T_i-weighted mean of the per-panel estimates."""
    d = invest2.drop(index=[(1, t) for t in range(1, 9)] + [(4, 20)])
    ps = PanelFGLS.from_formula(FORMULA, d, panels="hetero", corr="psar1",
                                rhotype="tscorr").fit()
    common = PanelFGLS.from_formula(FORMULA, d, panels="hetero", corr="ar1",
                                    rhotype="tscorr").fit()
    sizes = ps.panel_sizes
    assert sizes.tolist() == [12, 20, 20, 19, 20]
    assert common.rho == pytest.approx(float((ps.rho * sizes).sum() / sizes.sum()),
                                       rel=1e-12)


def test_igls_keeps_rho_from_first_step(invest2):
    two = PanelFGLS.from_formula(FORMULA, invest2, panels="hetero", corr="ar1").fit()
    it = PanelFGLS.from_formula(FORMULA, invest2, panels="hetero", corr="ar1",
                                igls=True).fit()
    assert it.rho == two.rho and it.converged and it.iterations > 1
    assert math.isnan(it.llf)  # Stata reports no likelihood with AR(1)


def test_datetime_time_index(invest2):
    d = invest2.copy()
    d.index = d.index.set_levels(
        pd.to_datetime([f"{1934 + t}-12-31" for t in d.index.levels[1]]), level=1)
    a = PanelFGLS.from_formula(FORMULA, d, panels="hetero", corr="ar1").fit()
    b = PanelFGLS.from_formula(FORMULA, invest2, panels="hetero", corr="ar1").fit()
    np.testing.assert_allclose(a.params.to_numpy(), b.params.to_numpy(), rtol=1e-12)
    with pytest.raises(DataError, match="not regularly spaced"):
        PanelFGLS.from_formula(FORMULA, d.drop(index=d.index[5]), panels="hetero",
                               corr="ar1").fit()


# ------------------------------------------------------------------ errors

def test_rho_at_least_one_is_an_error(invest2):
    with pytest.raises(EstimationError, match=r"\|rho\| >= 1.*3"):
        PanelFGLS.from_formula(FORMULA, invest2, panels="correlated", corr="psar1").fit()


def test_correlated_needs_balanced_panels_and_names_them(invest2):
    d = invest2.drop(index=[(2, 5), (4, 17)])
    with pytest.raises(DataError, match=r"balanced.*2: 5.*4: 17"):
        PanelFGLS.from_formula(FORMULA, d, panels="correlated", corr="independent").fit()


def test_hetero_allows_unbalanced_panels(invest2):
    d = invest2.drop(index=[(2, 5), (4, 17), (4, 18)])
    res = PanelFGLS.from_formula(FORMULA, d, panels="hetero", corr="independent").fit()
    assert res.nobs == 97 and res.panel_sizes.tolist() == [20, 19, 20, 18, 20]
    x = sm.add_constant(d[["market", "stock"]]).to_numpy()
    y = d["invest"].to_numpy()
    comp = d.index.get_level_values("company").to_numpy()
    u = y - x @ np.linalg.lstsq(x, y, rcond=None)[0]
    s2 = np.array([np.mean(u[comp == c] ** 2) for c in range(1, 6)])
    w = 1 / np.sqrt(s2[comp - 1])
    b = np.linalg.lstsq(x * w[:, None], y * w, rcond=None)[0]
    np.testing.assert_allclose(res.params.to_numpy(), b, rtol=1e-10)
    assert "Obs per group" in str(res.summary)


def test_ar1_rejects_gaps_unless_force(invest2):
    d = invest2.drop(index=[(3, 10)])
    with pytest.raises(DataError, match=r"not regularly spaced.*3 \(between 9 and 11\)"):
        PanelFGLS.from_formula(FORMULA, d, panels="hetero", corr="ar1").fit()
    res = PanelFGLS.from_formula(FORMULA, d, panels="hetero", corr="ar1", force=True).fit()
    assert res.nobs == 99
    # unbalanced but gap-free (panel starts later) is fine without force
    ok = invest2.drop(index=[(3, 1), (3, 2)])
    assert PanelFGLS.from_formula(FORMULA, ok, panels="hetero", corr="ar1").fit().nobs == 98


def test_correlated_needs_t_at_least_n(invest2):
    short = invest2[invest2.index.get_level_values("time") <= 4]
    with pytest.raises(EstimationError, match=r"4 periods and 5 panels"):
        PanelFGLS.from_formula(FORMULA, short, panels="correlated",
                               corr="independent").fit()
    with pytest.warns(UserWarning, match="pseudo-inverse"):
        res = PanelFGLS.from_formula(FORMULA, short, panels="correlated",
                                     corr="independent", force=True).fit()
    assert np.all(np.isfinite(res.params))


def test_igls_nonconvergence_is_reported(invest2):
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        res = PanelFGLS.from_formula(FORMULA, invest2, panels="correlated",
                                     corr="independent", igls=True, maxiter=3).fit()
    assert res.converged is False and res.iterations == 3


def test_single_observation_panel_dropped_for_ar1(invest2):
    d = invest2.drop(index=[(1, t) for t in range(2, 21)])
    with pytest.warns(MissingValuesWarning, match="only one observation"):
        res = PanelFGLS.from_formula(FORMULA, d, panels="hetero", corr="ar1").fit()
    assert res.n_panels == 4 and res.nobs == 80


def test_missing_values_warn_and_drop(invest2):
    d = invest2.copy()
    d.loc[(2, 20), "market"] = np.nan
    with pytest.warns(MissingValuesWarning, match="1 observations dropped"):
        res = PanelFGLS(d["invest"], sm.add_constant(d[["market", "stock"]]),
                        panels="hetero", corr="independent").fit()
    assert res.nobs == 99


def test_bad_options_and_data(invest2):
    with pytest.raises(EstimationError):
        PanelFGLS.from_formula(FORMULA, invest2, panels="weird")
    with pytest.raises(EstimationError):
        PanelFGLS.from_formula(FORMULA, invest2, corr="ar2")
    with pytest.raises(EstimationError):
        PanelFGLS.from_formula(FORMULA, invest2, rhotype="magic")
    with pytest.raises(DataError, match="MultiIndex"):
        PanelFGLS.from_formula(FORMULA, invest2.reset_index())
    dup = pd.concat([invest2, invest2.iloc[[0]]])
    with pytest.raises(DataError, match="duplicated"):
        PanelFGLS.from_formula(FORMULA, dup)
    x = sm.add_constant(invest2[["market", "stock"]]).assign(m2=invest2["market"] * 2)
    with pytest.raises(EstimationError, match="rank deficient"):
        PanelFGLS(invest2["invest"], x, panels="hetero", corr="independent").fit()


# ------------------------------------------------------------------ results API

def test_results_are_labelled_and_read_only(invest2):
    res = PanelFGLS.from_formula(FORMULA, invest2, panels="hetero", corr="ar1").fit()
    assert list(res.params.index) == ["Intercept", "market", "stock"]
    assert list(res.cov.columns) == ["Intercept", "market", "stock"]
    assert res.sigma.index.tolist() == [1, 2, 3, 4, 5]
    np.testing.assert_array_equal(res.panel_variances.to_numpy(),
                                  np.diag(res.sigma.to_numpy()))
    assert np.count_nonzero(res.sigma.to_numpy() - np.diag(np.diag(res.sigma))) == 0
    ci = res.conf_int()
    z = 1.959963984540054
    np.testing.assert_allclose(ci["upper"], res.params + z * res.bse, rtol=1e-9)
    from scipy import stats
    np.testing.assert_allclose(res.pvalues, 2 * stats.norm.sf(np.abs(res.tstats)),
                               rtol=1e-12)
    with pytest.raises(AttributeError):
        res.params = None
    p = res.params
    p.iloc[0] = 0.0  # a copy: the result does not change
    assert res.params.iloc[0] != 0.0
    text = str(res.summary)
    assert "common AR(1)" in text and "Wald chi2(2)" in text and "market" in text
    np.testing.assert_allclose(res.fitted_values["fitted_values"] + res.resids,
                               invest2["invest"].to_numpy(), rtol=1e-12)


# ------------------------------------------------- linearmodels-style results object

@pytest.fixture(scope="module")
def ar1_res(invest2):
    return PanelFGLS.from_formula(FORMULA, invest2, panels="hetero", corr="ar1").fit()


def test_results_are_linearmodels_panel_results(ar1_res, invest2):
    """One set of names, linearmodels': what compare() and user code read."""
    from linearmodels.panel.results import PanelResults

    res = ar1_res
    assert isinstance(res, PanelResults)
    assert res.cov_type == "Unadjusted" and res.nobs == 100 and res.df_resid == 97
    assert res.df_model == 3 and res.name == "PanelFGLS"
    np.testing.assert_allclose(res.std_errors, np.sqrt(np.diag(res.cov)), rtol=1e-14)
    np.testing.assert_allclose(res.tstats, res.params / res.std_errors, rtol=1e-14)
    # statsmodels' names that summary_col needs are aliases of the same numbers
    assert res.bse.equals(res.std_errors) and res.tvalues.equals(res.tstats)
    assert res.entity_info["total"] == 5 and res.time_info["total"] == 20
    # the names helper code (inference) relies on
    assert res.model.panels == "hetero" and isinstance(res.rho, float)
    assert res.sigma.shape == (5, 5) and res.cov.shape == (3, 3)


def test_rsquared_undefined_but_squared_correlations_reported(ar1_res, invest2):
    res = ar1_res
    assert math.isnan(res.rsquared) and math.isnan(res.rsquared_overall)
    fitted = res.fitted_values["fitted_values"].to_numpy()
    y = invest2["invest"].to_numpy()
    assert res.corr_squared_overall == pytest.approx(np.corrcoef(y, fitted)[0, 1] ** 2,
                                                     rel=1e-12)
    ybar = invest2["invest"].groupby(level="company").mean().to_numpy()
    fbar = pd.Series(fitted, index=invest2.index).groupby(level="company").mean().to_numpy()
    assert res.corr_squared_between == pytest.approx(np.corrcoef(ybar, fbar)[0, 1] ** 2,
                                                     rel=1e-12)


def test_wald_test_by_matrix_and_by_formula(ar1_res):
    res = ar1_res
    b, v = res.params.to_numpy(), res.cov.to_numpy()
    by_hand = (b[1] - b[2]) ** 2 / (v[1, 1] + v[2, 2] - 2 * v[1, 2])
    by_formula = res.wald_test(formula="market = stock")
    by_matrix = res.wald_test(np.array([[0.0, 1.0, -1.0]]), np.array([0.0]))
    assert by_formula.stat == pytest.approx(by_hand, rel=1e-12)
    assert by_matrix.stat == pytest.approx(by_hand, rel=1e-12) and by_matrix.df == 1
    # Stata's header test is the same quadratic form over the slopes
    slopes = res.wald_test(formula="market = stock = 0")
    assert slopes.stat == pytest.approx(res.wald.stat, rel=1e-12) and res.wald.df == 2
    assert res.f_statistic is res.wald


def test_predict_is_the_linear_prediction_xb(ar1_res, invest2):
    """With AR(1) errors predict() is still x'b (Stata's `predict, xb`), in and out of sample."""
    res = ar1_res
    xb = (res.params["Intercept"] + res.params["market"] * invest2["market"]
          + res.params["stock"] * invest2["stock"])
    inside = res.predict()
    assert list(inside.columns) == ["fitted_values"]
    np.testing.assert_allclose(inside["fitted_values"], xb, rtol=1e-13)
    # new rows, raw variables through the formula (index kept, NaN row gives NaN)
    new = invest2.iloc[[5, 40, 77]].copy()
    new.iloc[1, new.columns.get_loc("stock")] = np.nan
    out = res.predict(new)
    assert out.index.equals(new.index) and list(out.columns) == ["predictions"]
    np.testing.assert_allclose(out["predictions"].iloc[[0, 2]], xb.iloc[[5, 77]], rtol=1e-13)
    assert np.isnan(out["predictions"].iloc[1])
    # linearmodels' data= keyword and a DataFrame holding the regressors by name
    np.testing.assert_allclose(res.predict(data=invest2)["predictions"], xb, rtol=1e-13)
    regs = invest2[["stock", "market"]].assign(Intercept=1.0)
    np.testing.assert_allclose(res.predict(regs)["predictions"], xb, rtol=1e-13)
    with pytest.raises(ValueError, match="not both"):
        res.predict(invest2, data=invest2)


def test_predict_applies_factor_levels_of_the_fit(invest2):
    res = PanelFGLS.from_formula("invest ~ 1 + market + stock + C(firm)", invest2,
                                 panels="hetero", corr="independent").fit()
    two_firms = invest2[invest2["firm"].isin(["Chrysler", "US Steel"])]
    out = res.predict(two_firms)["predictions"]
    np.testing.assert_allclose(out, res.predict()["fitted_values"].loc[two_firms.index],
                               rtol=1e-12)


def test_compare_and_summary_col_accept_fgls(ar1_res, invest2):
    from linearmodels.panel import PooledOLS, compare
    from statsmodels.iolib.summary2 import summary_col

    ols = PooledOLS.from_formula(FORMULA, invest2).fit()
    cmp = compare({"FGLS": ar1_res, "OLS": ols}, precision="std_errors")
    assert cmp.params["FGLS"].equals(ar1_res.params)
    np.testing.assert_allclose(cmp.std_errors["FGLS"], ar1_res.std_errors, rtol=1e-14)
    text = str(cmp.summary)
    assert "PanelFGLS" in text and "Unadjusted" in text and f"{ar1_res.wald.stat:.2f}" in text
    sm_ols = sm.OLS.from_formula(FORMULA, invest2).fit()
    col = summary_col([ar1_res, sm_ols], model_names=["FGLS", "OLS"])
    table = col.tables[0]
    assert table.loc["market", "FGLS"] == f"{ar1_res.params['market']:.4f}"
    assert f"({ar1_res.std_errors['stock']:.4f})" in table["FGLS"].tolist()


def test_summary_is_a_linearmodels_summary_in_three_formats(ar1_res):
    s = ar1_res.summary
    text = s.as_text()
    assert "PanelFGLS Estimation Summary" in text and "common AR(1)" in text
    assert "Wald chi2(2)" in text and "Log likelihood not reported" in text
    assert "\\begin{tabular}" in s.as_latex() and "<table" in s.as_html()
    assert ar1_res.summary.as_text() == text  # deterministic: no date or time
    assert str(ar1_res).startswith(text[:40])


def test_llf_only_where_stata_reports_it(invest2):
    ml = PanelFGLS.from_formula(FORMULA, invest2, panels="hetero", corr="independent",
                                igls=True).fit()
    assert math.isfinite(ml.llf) and ml.loglik == ml.llf
    assert "Log likelihood not reported" not in ml.summary.as_text()
    two_step = PanelFGLS.from_formula(FORMULA, invest2, panels="hetero",
                                      corr="independent").fit()
    assert math.isnan(two_step.llf)


# ------------------------------------------------------------ refused inputs (issue 8)

def test_constant_outcome_refused(invest2):
    d = invest2.assign(invest=5.0)
    with pytest.raises(EstimationError, match="'invest' is constant.*sample"):
        PanelFGLS.from_formula(FORMULA, d)


def test_misaligned_dependent_and_exog_refused(invest2):
    x = sm.add_constant(invest2[["market", "stock"]])
    shifted = x.iloc[1:]
    with pytest.raises(SpecificationError, match=r"exog and dependent are not indexed by the "
                       r"same rows \(99 rows against 100\).*reindex"):
        PanelFGLS(invest2["invest"], shifted)
    relabelled = x.rename(index={1: 9}, level="company")
    with pytest.raises(SpecificationError, match=r"rows not in dependent: \(9, 1\)"):
        PanelFGLS(invest2["invest"], relabelled)


def test_results_pickle_and_predict_missing_rows(invest2):
    import pickle

    d = invest2.copy()
    d.loc[(1, 4), "market"] = np.nan
    with pytest.warns(MissingValuesWarning):
        res = PanelFGLS.from_formula(FORMULA, d, panels="hetero", corr="independent").fit()
    again = pickle.loads(pickle.dumps(res))
    np.testing.assert_array_equal(again.params, res.params)
    np.testing.assert_array_equal(again.cov, res.cov)
    full = res.predict(missing=True)
    assert full.index.equals(d.index) and np.isnan(full.loc[(1, 4), "fitted_values"])
    assert full["fitted_values"].notna().sum() == 99


def test_tidy_and_glance_read_the_real_results(ar1_res, invest2):
    from regrowth.report.tidy import glance, tidy

    g = glance(ar1_res)
    assert g == {"nobs": 100, "n_entities": 5, "n_periods": 20,
                 "wald_chi2": ar1_res.wald.stat, "wald_df": 2, "wald_p": ar1_res.wald.pval,
                 "cov_type": "Unadjusted", "converged": True}  # llf NaN: left out
    t = tidy(ar1_res)
    assert t["term"].tolist() == ["Intercept", "market", "stock"]
    np.testing.assert_array_equal(t["std_error"], ar1_res.std_errors)
    np.testing.assert_array_equal(t["ci_high"], ar1_res.conf_int()["upper"])
    # no slopes: no model test (linearmodels' InvalidTestStatistic), and no R^2-type numbers
    only = PanelFGLS.from_formula("invest ~ 1", invest2, panels="hetero",
                                  corr="independent").fit()
    assert not {"wald_chi2", "wald_df", "wald_p"} & set(glance(only))
    assert math.isnan(only.corr_squared_overall)
    assert "Wald chi2:" in only.summary.as_text()


def _half(x):
    return x / 2


def test_formula_functions_of_the_callers_namespace(invest2):
    res = PanelFGLS.from_formula("invest ~ 1 + _half(market) + stock", invest2,
                                 panels="hetero", corr="independent").fit()
    plain = PanelFGLS.from_formula(FORMULA, invest2, panels="hetero",
                                   corr="independent").fit()
    assert res.params["_half(market)"] == pytest.approx(2 * plain.params["market"], rel=1e-10)
    np.testing.assert_allclose(res.predict(invest2.iloc[:3])["predictions"],
                               plain.predict(invest2.iloc[:3])["predictions"], rtol=1e-10)
