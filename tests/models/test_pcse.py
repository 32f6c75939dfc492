"""PanelPCSE (Stata ``xtpcse``) against an independent R transcription of Beck-Katz.

References: tests/fixtures/pcse/pcse_reference.json, made by
tests/fixtures/pcse/make_pcse_fixtures.R (versions in versions.txt). The R code forms
the n x n matrix Omega = Sigma (x) I_T explicitly with loops; the Python code never
does. Data: Greene's 5-firm Grunfeld (Stata ``invest2``, tests/fixtures/fgls/),
plm's 10-firm Grunfeld (= Stata's ``webuse grunfeld``, the data of the xtpcse help
examples; tests/fixtures/pcse/grunfeld_plm.csv), an unbalanced version of the
latter (panels starting late or ending early), and the real growth panel of Table 2
(tests/fixtures/diagnostics/growth_panel.csv; Table 4's PCSE column among the cases).
Tolerance: 1e-8 relative.

Stata's printed xtpcse output could not be retrieved with the search tools available
(they return the help file's syntax and example commands, not the manual's output
pages), so no Stata digits are transcribed here.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from regrowth.errors import DataError, EstimationError
from regrowth.models.linear import fit_panel
from regrowth.models.pcse import PanelPCSE
from regrowth.report.tidy import glance, tidy

FIX = Path(__file__).resolve().parents[1] / "fixtures"
REF = json.loads((FIX / "pcse" / "pcse_reference.json").read_text())
RTOL = 1e-8


def _greene() -> pd.DataFrame:
    spec = importlib.util.spec_from_file_location("pcse_fixture_greene",
                                                  FIX / "fgls" / "grunfeld_greene.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    d = mod.load(index=False)
    out = pd.DataFrame({"id": d["company"], "t": d["year"], "y": d["invest"],
                        "x1": d["market"], "x2": d["stock"]})
    return out.set_index(["id", "t"])


def _grunfeld() -> pd.DataFrame:
    d = pd.read_csv(FIX / "pcse" / "grunfeld_plm.csv")
    out = pd.DataFrame({"id": d["firm"], "t": d["year"], "y": d["invest"],
                        "x1": d["mvalue"], "x2": d["kstock"]})
    return out.set_index(["id", "t"])


def _unbalanced() -> pd.DataFrame:
    d = _grunfeld()
    ids = d.index.get_level_values("id")
    t = d.index.get_level_values("t")
    drop = ((ids == 3) & (t < 1938)) | ((ids == 7) & (t > 1951)) | ((ids == 10) & (t < 1936))
    return d[~drop]


def _growth() -> pd.DataFrame:
    """The real estimation sample of Table 2 (see tests/fixtures/diagnostics/)."""
    d = pd.read_csv(FIX / "diagnostics" / "growth_panel.csv")
    out = pd.DataFrame({"id": d["region"], "t": d["year"], "y": d["grdp_pc_real_growth"],
                        "x1": d["fiscal_self_reliance_l1"], "x2": d["ln_patents_pm_macro_l1"],
                        "x3": d["ln_grdp_pc_real_l1"], "x4": d["population_growth"]})
    return out.set_index(["id", "t"])


DATA = {"greene": _greene(), "grunfeld": _grunfeld(), "unbalanced": _unbalanced(),
        "growth": _growth()}
FORMULA = "y ~ 1 + x1 + x2"


def _design(name: str, year_effects: bool) -> tuple[str, pd.DataFrame]:
    """Formula and data of a reference case: x1.. and, with year effects, year dummies."""
    d = DATA[name]
    xs = [c for c in d.columns if c.startswith("x")]
    if year_effects:
        t = d.index.get_level_values("t")
        years = sorted(set(t))
        dummies = pd.DataFrame({f"year_{y}": (t == y).astype(float) for y in years[1:]},
                               index=d.index)
        d = pd.concat([d, dummies], axis=1)
        xs += list(dummies.columns)
    return "y ~ 1 + " + " + ".join(xs), d


def _case_id(case: dict) -> str:
    opts = ",".join(f"{k}={v}" for k, v in case["options"].items()) or "default"
    return f"{case['data']}[{opts}]"


@pytest.mark.parametrize("case", REF["cases"], ids=_case_id)
def test_pcse_matches_the_r_transcription(case):
    opts = dict(case["options"])
    nmk = bool(opts.pop("nmk", False))
    formula, data = _design(case["data"], bool(opts.pop("year_effects", False)))
    res = PanelPCSE.from_formula(formula, data, **opts).fit(nmk=nmk)
    assert res.nobs == case["nobs"]
    np.testing.assert_allclose(res.params.to_numpy(), case["coef"], rtol=RTOL, atol=0)
    np.testing.assert_allclose(res.std_errors.to_numpy(), case["se"], rtol=RTOL, atol=0)
    np.testing.assert_allclose(res.cov.to_numpy(), np.asarray(case["cov"]), rtol=RTOL,
                               atol=1e-12 * np.abs(np.asarray(case["cov"])).max())
    assert res.rsquared == pytest.approx(case["rsquared"], rel=RTOL)
    if case["rho"] is None:
        assert res.rho is None
    elif isinstance(case["rho"], dict):
        got = res.rho
        for key, value in case["rho"].items():
            label = int(key) if key.isdigit() else key
            assert got[label] == pytest.approx(value, rel=RTOL)
    else:
        assert res.rho == pytest.approx(case["rho"], rel=RTOL)


def test_independent_with_nmk_is_exactly_the_conventional_ols_covariance():
    d = DATA["greene"]
    ols = sm.OLS(d["y"], sm.add_constant(d[["x1", "x2"]])).fit()
    res = PanelPCSE.from_formula(FORMULA, d, independent=True).fit(nmk=True)
    np.testing.assert_allclose(res.params.to_numpy(), ols.params.to_numpy(), rtol=1e-10)
    np.testing.assert_allclose(res.cov.to_numpy(), ols.cov_params().to_numpy(), rtol=1e-10)
    # without nmk the divisor is n: the same matrix times (n - k) / n
    plain = PanelPCSE.from_formula(FORMULA, d, independent=True).fit()
    n, k = 100, 3
    np.testing.assert_allclose(plain.cov.to_numpy(), ols.cov_params().to_numpy() * (n - k) / n,
                               rtol=1e-10)


def test_hetonly_uses_a_diagonal_sigma_of_panel_variances():
    d = DATA["greene"]
    res = PanelPCSE.from_formula(FORMULA, d, hetonly=True).fit()
    sig = res.sigma.to_numpy()
    assert np.count_nonzero(sig - np.diag(np.diag(sig))) == 0
    e = res.resids
    by_panel = (e ** 2).groupby(level=0).mean()
    np.testing.assert_allclose(np.diag(sig), by_panel.to_numpy(), rtol=1e-12)
    # and the covariance is the sandwich with that diagonal meat
    x = np.column_stack([np.ones(len(d)), d["x1"], d["x2"]])
    w = by_panel.reindex(d.index.get_level_values(0)).to_numpy()
    bread = np.linalg.inv(x.T @ x)
    np.testing.assert_allclose(res.cov.to_numpy(), bread @ (x.T * w) @ x @ bread, rtol=1e-10)


def test_default_sigma_is_the_cross_panel_residual_covariance_over_t():
    d = DATA["greene"]
    res = PanelPCSE.from_formula(FORMULA, d).fit()
    wide = res.resids.unstack(level=0)  # periods x panels
    np.testing.assert_allclose(res.sigma.to_numpy(), wide.T @ wide / wide.shape[0],
                               rtol=1e-12)


def test_balanced_casewise_and_pairwise_agree_and_differ_when_unbalanced():
    bal = [PanelPCSE.from_formula(FORMULA, DATA["grunfeld"], pairwise=p).fit() for p in
           (False, True)]
    np.testing.assert_allclose(bal[0].cov.to_numpy(), bal[1].cov.to_numpy(), rtol=1e-12)
    unb = [PanelPCSE.from_formula(FORMULA, DATA["unbalanced"], pairwise=p).fit() for p in
           (False, True)]
    assert not np.allclose(unb[0].std_errors, unb[1].std_errors, rtol=1e-4)
    assert not unb[0].balanced


def test_fit_panel_reaches_pcse_and_tidy_glance_read_it():
    d = DATA["grunfeld"]
    res = fit_panel("pcse", FORMULA, d, model_options={"correlation": "ar1", "nmk": True})
    direct = PanelPCSE.from_formula(FORMULA, d, correlation="ar1").fit(nmk=True)
    np.testing.assert_allclose(res.std_errors, direct.std_errors, rtol=1e-14)
    alias = fit_panel("xtpcse", FORMULA, d)
    assert alias.model.correlation == "independent"
    t = tidy(res)
    assert list(t["term"]) == ["Intercept", "x1", "x2"]
    np.testing.assert_allclose(t["std_error"], res.std_errors.to_numpy())
    g = glance(res)
    assert g["nobs"] == 200 and g["n_entities"] == 10 and g["n_periods"] == 20
    assert g["rsquared"] == pytest.approx(res.rsquared)
    assert g["wald_df"] == 2 and g["wald_chi2"] == pytest.approx(res.wald.stat)
    assert "Panel-corrected" in str(res.summary) and res.cov_type == "Panel-corrected (nmk)"


def test_bad_options_and_data_are_refused_with_a_clear_message():
    d = DATA["greene"]
    with pytest.raises(EstimationError, match="hetonly and independent"):
        PanelPCSE.from_formula(FORMULA, d, hetonly=True, independent=True)
    with pytest.raises(EstimationError, match="correlation="):
        PanelPCSE.from_formula(FORMULA, d, correlation="ar2")
    with pytest.raises(EstimationError, match="unknown PanelPCSE options"):
        PanelPCSE.from_formula(FORMULA, d, panels="correlated")
    # psar1 with the default rhotype(regress) gives rho_i > 1 for one firm here; Stata's
    # help example uses rhotype(tscorr) for psar1
    with pytest.raises(EstimationError, match=r"\|rho\| >= 1"):
        PanelPCSE.from_formula(FORMULA, d, correlation="psar1").fit()
    # casewise needs a period in which every panel is observed
    u = DATA["unbalanced"]
    ids = u.index.get_level_values("id")
    t = u.index.get_level_values("t")
    disjoint = u[~((ids == 1) & (t < 1945)) & ~((ids == 2) & (t >= 1945))]
    with pytest.raises(DataError, match="casewise"):
        PanelPCSE.from_formula(FORMULA, disjoint).fit()
    PanelPCSE.from_formula(FORMULA, disjoint, pairwise=True).fit()  # pairwise works
    # AR(1) refuses interior gaps
    gapped = u[~((ids == 4) & (t == 1940))]
    with pytest.raises(DataError, match="regularly spaced"):
        PanelPCSE.from_formula(FORMULA, gapped, correlation="ar1").fit()


def test_results_are_linearmodels_panel_results_for_compare_and_summary_col():
    from linearmodels.panel import compare
    from linearmodels.panel.results import PanelResults
    from statsmodels.iolib.summary2 import summary_col

    d = DATA["grunfeld"]
    pcse = fit_panel("pcse", FORMULA, d, model_options={"correlation": "ar1"})
    fgls = fit_panel("fgls", FORMULA, d)
    assert isinstance(pcse, PanelResults)
    table = str(compare({"pcse": pcse, "fgls": fgls}).summary)
    assert "PanelPCSE" in table and "Panel-corrected" in table
    assert "x1" in str(summary_col([pcse, fgls]))
    np.testing.assert_allclose(pcse.bse, pcse.std_errors)
    ci = pcse.conf_int()
    np.testing.assert_allclose(ci["upper"] - pcse.params, 1.959963984540054 * pcse.std_errors)


# --------------------------------------------------------------- degenerate designs

def _one_period(n_panels: int = 10) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    idx = pd.MultiIndex.from_product([[f"p{i}" for i in range(n_panels)], [2015]],
                                     names=["id", "t"])
    return pd.DataFrame({"y": rng.normal(size=n_panels), "x1": rng.normal(size=n_panels),
                         "x2": rng.normal(size=n_panels)}, index=idx)


@pytest.mark.parametrize("options, words", [
    ({}, "the cross-panel covariance Sigma"),
    ({"pairwise": True}, "the cross-panel covariance Sigma"),
    ({"hetonly": True}, "each panel's variance sigma_i^2 would be one squared residual"),
])
def test_one_period_is_refused_instead_of_zero_standard_errors(options, words):
    # with one period Sigma = e e' and X' Sigma X = (X'e)(X'e)' = 0: SEs of exactly 0
    with pytest.raises(EstimationError) as err:
        PanelPCSE.from_formula(FORMULA, _one_period(), **options).fit()
    msg = str(err.value)
    assert words in msg and "(2015)" in msg and "PCSE needs T >= 2 periods" in msg
    assert "independent=True" in msg


def test_one_period_with_ar1_is_refused_for_want_of_a_rho():
    with pytest.warns(Warning, match="only one observation"), \
            pytest.raises(EstimationError, match=r"every panel has a single observation "
                                                 r"\(periods: 2015\)"):
        PanelPCSE.from_formula(FORMULA, _one_period(), correlation="ar1").fit()


def test_one_period_with_the_ols_covariance_is_ols():
    d = _one_period()
    res = PanelPCSE.from_formula(FORMULA, d, independent=True).fit(nmk=True)
    ols = sm.OLS(d["y"].to_numpy(), sm.add_constant(d[["x1", "x2"]].to_numpy())).fit()
    np.testing.assert_allclose(res.params.to_numpy(), ols.params, rtol=1e-10)
    np.testing.assert_allclose(res.std_errors.to_numpy(), ols.bse, rtol=1e-10)


def test_casewise_with_a_single_complete_period_is_refused_naming_it():
    d = DATA["unbalanced"]
    ids = d.index.get_level_values("id")
    t = d.index.get_level_values("t")
    # panel 1 observed up to 1940, panel 2 from 1940: 1940 is the only complete period
    one = d[~((ids == 1) & (t > 1940)) & ~((ids == 2) & (t < 1940))]
    with pytest.raises(EstimationError, match=r"1 period\(s\) in which every panel is observed "
                                              r"\(1940\)"):
        PanelPCSE.from_formula(FORMULA, one).fit()
    PanelPCSE.from_formula(FORMULA, one, pairwise=True).fit()   # pairwise has many periods
def test_header_wald_of_a_rank_deficient_pcse_covariance_is_not_computable_not_a_number():
    """With year effects and no autocorrelation the residuals sum to zero in every period, so
    Sigma 1 = 0 and the panel-corrected covariance is singular in the year-dummy directions
    (exactly, up to rounding). The header Wald test over those coefficients is undefined: it
    is recorded as not computable (covariance.RANK_RTOL), never as +-1e17 or a LinAlgError
    that rounding decides (the growth curve lost a PCSE specification to one)."""
    from linearmodels.shared.hypotheses import InvalidTestStatistic

    d = DATA["grunfeld"].copy()
    years = d.index.get_level_values(1)
    for y in sorted(set(years))[1:]:
        d[f"year_{y}"] = (years == y).astype(float)
    formula = FORMULA + " + " + " + ".join(c for c in d if c.startswith("year_"))
    res = PanelPCSE.from_formula(formula, d).fit()
    assert isinstance(res.wald, InvalidTestStatistic)
    assert "rank" in str(res.wald._reason) and "not computable" in str(res.wald._reason)
    g = glance(res)
    assert "wald_chi2" not in g and "rank" in g.get("wald_invalid", "")
    assert np.isfinite(res.std_errors["x1"]) and res.std_errors["x1"] > 0   # slopes still fine
