"""Reform estimators against pyfixest (0.60.0, pinned), the package's Stata-validated FE path,
an independent Anderson-Rubin inversion, and the R fixture (AER::ivreg, lm and glm(poisson) with
dummies + sandwich::vcovCL).

Tolerances: coefficients 1e-9 relative (1e-8 for PPML, which pyfixest solves iteratively, with
iwls_tol=1e-13 here), standard errors 1e-8 relative, F statistics 1e-8 relative, AR set ends
to 1e-8 in the brute-force p-value at the ends. Like with like: pyfixest's ``ssc(k_adj=True,
k_fixef="nonnested", G_adj=True)`` (its default) is exactly Stata's
G/(G-1)(N-1)/(N-K), K = regressors + year dummies + 1, which is ``ssc="stata"`` here;
``ssc(k_adj=False, G_adj=False)`` is the plain CR0 sandwich (``ssc="cr0"``).

SYNTHETIC data (``synthetic_panel``) test the machinery; the real-panel tests use the
built panel with the dose from the raw consumption cells. The 2SLS on the real panel uses
``fiscal_autonomy`` once the merged panel has it and ``fiscal_self_reliance`` (재정자립도)
as the endogenous stand-in until then.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from regrowth.errors import EstimationError, SpecificationError
from regrowth.models import iv, iv_randomization
from regrowth.reform import dose as dose_mod
from regrowth.inference import boottest

pf = pytest.importorskip("pyfixest")

from reform_data import FIXTURES, make_synthetic_panel  # noqa: E402

STATA = dict(k_adj=True, k_fixef="nonnested", G_adj=True)
CR0 = dict(k_adj=False, G_adj=False)
EVENT = [y for y in range(2014, 2024) if y != 2018]


def _frame(panel, years, dose="dose"):
    df = panel.reset_index()
    df = df[df["year"].isin(list(years))].copy()
    for y in years:
        df[f"{dose}_x_{y}"] = df[dose] * (df["year"] == y)
    df["z"] = df[dose] * (df["year"] >= 2019)
    return df


def _pf_event(df, outcome, dose, years, ssc, fn="feols"):
    rhs = " + ".join(f"{dose}_x_{y}" for y in years if y != 2018)
    tol = {"iwls_tol": 1e-13, "iwls_maxiter": 200} if fn == "fepois" else {}
    fit = getattr(pf, fn)(f"{outcome} ~ {rhs} | region + year", df, vcov={"CRV1": "region"},
                          ssc=pf.ssc(**ssc), **tol)
    return fit.coef(), fit.se()


# ----------------------------------------------------------------------------- synthetic

@pytest.mark.parametrize("ssc,ours", [(STATA, "stata"), (CR0, "cr0")])
def test_event_study_equals_pyfixest(synthetic_panel, ssc, ours):
    res = iv.event_study(synthetic_panel, "fiscal_autonomy", "dose", ssc=ours)
    coef, se = _pf_event(_frame(synthetic_panel, range(2014, 2024)), "fiscal_autonomy", "dose",
                         range(2014, 2024), ssc)
    assert list(res.params.index) == [f"dose_x_{y}" for y in EVENT]
    np.testing.assert_allclose(res.params.to_numpy(), coef.to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(res.std_errors.to_numpy(), se.to_numpy(), rtol=1e-8)
    assert res.n_clusters == 17 and res.df_ref == 16 and res.nobs == 170


def test_stata_factor_counts_regressors_year_dummies_and_constant(synthetic_panel):
    a = iv.event_study(synthetic_panel, "fiscal_autonomy", "dose", ssc="stata")
    b = iv.event_study(synthetic_panel, "fiscal_autonomy", "dose", ssc="cr0")
    N, G, K = 170, 17, 9 + 9 + 1
    np.testing.assert_allclose(a.std_errors / b.std_errors,
                               math.sqrt(G / (G - 1) * (N - 1) / (N - K)), rtol=1e-12)


def test_did_equals_the_packages_stata_validated_fixed_effects_path(synthetic_panel):
    from regrowth.models.linear import fit_panel

    res = iv.did(synthetic_panel, "fiscal_autonomy", "dose")
    df = synthetic_panel[synthetic_panel.index.get_level_values(1) >= 2014].copy()
    df = df[df.index.get_level_values(1) <= 2023]
    df["dose_x_post"] = df["dose"] * (df.index.get_level_values(1) >= 2019)
    ref = fit_panel("fe", "fiscal_autonomy ~ dose_x_post + TimeEffects", df, cov_type="clustered")
    assert res.params["dose_x_post"] == pytest.approx(ref.params["dose_x_post"], rel=1e-10)
    assert res.std_errors["dose_x_post"] == pytest.approx(ref.std_errors["dose_x_post"], rel=1e-10)
    assert res.pvalues["dose_x_post"] == pytest.approx(ref.pvalues["dose_x_post"], rel=1e-8)


@pytest.mark.parametrize("ssc,ours", [(STATA, "stata"), (CR0, "cr0")])
def test_2sls_and_first_stage_equal_pyfixest(synthetic_panel, ssc, ours):
    res = iv.iv2sls(synthetic_panel, "outcome", "fiscal_autonomy", "dose", ssc=ours)
    fit = pf.feols("outcome ~ 1 | region + year | fiscal_autonomy ~ z",
                   _frame(synthetic_panel, range(2014, 2024)), vcov={"CRV1": "region"},
                   ssc=pf.ssc(**ssc))
    assert res.params["fiscal_autonomy"] == pytest.approx(fit.coef()["fiscal_autonomy"], rel=1e-9)
    assert res.std_errors["fiscal_autonomy"] == pytest.approx(fit.se()["fiscal_autonomy"], rel=1e-8)
    if ours != "stata":
        return  # pyfixest refits the first stage with its default (= Stata) factor
    fit.IV_Diag()
    # pyfixest's first-stage F is the cluster-robust Wald F of the instrument (= KP rk Wald F
    # with one endogenous regressor), and its effective F the Montiel Olea-Pflueger one
    assert res.first_stage.kp_f == pytest.approx(fit._f_stat_1st_stage, rel=1e-8)
    assert res.first_stage.effective_f == pytest.approx(fit._eff_F, rel=1e-8)


def test_first_stage_f_is_the_squared_cluster_robust_t_of_the_did_first_stage(synthetic_panel):
    res = iv.iv2sls(synthetic_panel, "outcome", "fiscal_autonomy", "dose")
    fs = iv.did(synthetic_panel, "fiscal_autonomy", "dose")
    assert res.first_stage.params["dose_x_post"] == pytest.approx(fs.params["dose_x_post"], rel=1e-10)
    assert res.first_stage.kp_f == pytest.approx(fs.tstats["dose_x_post"] ** 2, rel=1e-10)
    assert res.first_stage.effective_f == pytest.approx(res.first_stage.kp_f, rel=1e-12)


def test_ppml_event_study_equals_pyfixest_fepois(synthetic_panel):
    years = range(2014, 2022)
    for ssc, ours in ((CR0, "cr0"), (dict(k_adj=False, G_adj=True), "g")):
        res = iv.ppml_event_study(synthetic_panel, "count", "dose", ssc=ours)
        coef, se = _pf_event(_frame(synthetic_panel, years), "count", "dose", years, ssc, "fepois")
        np.testing.assert_allclose(res.params.to_numpy(), coef.to_numpy(), rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(res.std_errors.to_numpy(), se.to_numpy(), rtol=1e-8)
    assert res.nobs == 17 * 8


def _brute_ar_pvalue(panel, b0, years=range(2014, 2024)):
    """AR by brute force: regress y - b0 x on z, year dummies and province dummies (plain
    least squares with dummies, no within transformation), cluster-robust t of z with
    Stata's factor, F(1, G-1) p-value."""
    from scipy import stats

    df = panel.reset_index()
    df = df[df["year"].isin(list(years))]
    yb = (df["outcome"] - b0 * df["fiscal_autonomy"]).to_numpy()
    X = np.column_stack([(df["dose"] * (df["year"] >= 2019)).to_numpy(),
                         pd.get_dummies(df["year"], drop_first=True).to_numpy(float),
                         pd.get_dummies(df["region"]).to_numpy(float)])
    beta, *_ = np.linalg.lstsq(X, yb, rcond=None)
    u = yb - X @ beta
    A = np.linalg.pinv(X.T @ X)
    g = pd.factorize(df["region"])[0]
    S = np.array([(X[g == j] * u[g == j, None]).sum(0) for j in range(g.max() + 1)])
    G, N, K = g.max() + 1, len(yb), 1 + (len(set(df["year"])) - 1) + 1
    V = G / (G - 1) * (N - 1) / (N - K) * A @ S.T @ S @ A
    F = beta[0] ** 2 / V[0, 0]
    return float(stats.f.sf(F, 1, G - 1))


def test_anderson_rubin_set_equals_an_independent_grid_inversion(synthetic_panel):
    res = iv.iv2sls(synthetic_panel, "outcome", "fiscal_autonomy", "dose")
    [(lo, hi)] = res.ar_set(0.95)
    assert lo < res.params["fiscal_autonomy"] < hi
    for b0 in np.linspace(lo - 1, hi + 1, 41):
        p = _brute_ar_pvalue(synthetic_panel, b0)
        assert p == pytest.approx(res.ar_test(b0)["pvalue"], rel=1e-8, abs=1e-12)
        assert (p >= 0.05) == (lo <= b0 <= hi)
    # the ends are where the brute-force p-value crosses 0.05
    for end in (lo, hi):
        assert _brute_ar_pvalue(synthetic_panel, end) == pytest.approx(0.05, abs=1e-8)


def test_weak_instrument_gives_an_unbounded_anderson_rubin_set():
    panel = make_synthetic_panel(seed=11, first=0.05)
    res = iv.iv2sls(panel, "outcome", "fiscal_autonomy", "dose")
    assert res.first_stage.kp_f < 1
    ar = res.ar_set(0.95)
    assert any(math.isinf(lo) or math.isinf(hi) for lo, hi in ar)
    grid = [-1e3, -10.0, 0.0, 10.0, 1e3]
    for b0 in grid:
        inside = any(lo <= b0 <= hi for lo, hi in ar)
        assert inside == (_brute_ar_pvalue(panel, b0) >= 0.05)


def test_anderson_rubin_set_shapes():
    V = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert iv.anderson_rubin_set(0.0, 10.0, V, 16)[0][0] < 0 < iv.anderson_rubin_set(0.0, 10.0, V, 16)[0][1]
    union = iv.anderson_rubin_set(5.0, 1.0, V, 16)     # b^2 < q v_xx, a^2 > q v_yy
    assert len(union) == 2 and union[0][0] == -math.inf and union[1][1] == math.inf
    assert iv.anderson_rubin_set(0.0, 0.0, V, 16) == [(-math.inf, math.inf)]


def test_pretrend_test_is_the_joint_wald_on_the_leads(synthetic_panel):
    res = iv.event_study(synthetic_panel, "fiscal_autonomy", "dose")
    pt = res.pretrend_test()
    assert pt["terms"] == ["dose_x_2014", "dose_x_2015", "dose_x_2016", "dose_x_2017"]
    b = res.params[pt["terms"]].to_numpy()
    V = res.cov.loc[pt["terms"], pt["terms"]].to_numpy()
    assert pt["F"] == pytest.approx(b @ np.linalg.inv(V) @ b / 4, rel=1e-10)
    assert (pt["df_num"], pt["df_den"]) == (4, 16)
    fit = pf.feols("fiscal_autonomy ~ " + " + ".join(f"dose_x_{y}" for y in EVENT)
                   + " | region + year", _frame(synthetic_panel, range(2014, 2024)),
                   vcov={"CRV1": "region"})
    R = np.zeros((4, 9))
    R[np.arange(4), np.arange(4)] = 1.0
    ref = fit.wald_test(R=R, distribution="F")  # pyfixest 0.60 reports the Wald statistic W
    assert pt["wald"] == pytest.approx(float(ref["statistic"]), rel=1e-8)
    assert pt["F"] == pytest.approx(pt["wald"] / 4, rel=1e-12)


def test_wild_bootstrap_runs_on_the_same_design(synthetic_panel):
    res = iv.did(synthetic_panel, "fiscal_autonomy", "dose")
    bt = boottest(res, "dose_x_post", reps=999, seed=1)
    assert bt.statistic == pytest.approx(res.tstats["dose_x_post"], rel=1e-8)
    assert bt.n_clusters == 17 and bt.reps == 999 and 0 <= bt.pvalue <= 1
    es = iv.event_study(synthetic_panel, "fiscal_autonomy", "dose")
    bt = boottest(es, "dose_x_2020", reps=499, seed=2)
    assert bt.statistic == pytest.approx(es.tstats["dose_x_2020"], rel=1e-8)


def test_the_bootstrap_model_is_refitted_once_per_result_and_gives_the_same_tests(
        synthetic_panel):
    """Bootstrapping every event-year coefficient of one result refits its PanelOLS once;
    each test equals the one on a result that was never bootstrapped before."""
    es = iv.event_study(synthetic_panel, "fiscal_autonomy", "dose")
    assert es.refit_for_bootstrap() is es.refit_for_bootstrap()
    for term in ("dose_x_2016", "dose_x_2020"):
        shared = boottest(es, term, reps=499, seed=2).to_dict()
        fresh = iv.event_study(synthetic_panel, "fiscal_autonomy", "dose")
        alone = boottest(fresh, term, reps=499, seed=2).to_dict()
        shared.pop("seconds", None), alone.pop("seconds", None)
        assert shared == alone


def test_randomization_inference_over_doses(synthetic_panel):
    ri = iv_randomization.randomization_test(iv.did, synthetic_panel, "dose", "dose_x_post", reps=99, seed=3,
                               outcome="fiscal_autonomy")
    assert ri["observed"] == pytest.approx(
        iv.did(synthetic_panel, "fiscal_autonomy", "dose").tstats["dose_x_post"])
    exceed = int(np.sum(np.abs(ri["draws"]) >= abs(ri["observed"])))
    assert ri["pvalue"] == (1 + exceed) / 100
    assert ri["pvalue"] <= 0.05  # the synthetic first stage is strong (true slope 2)
    again = iv_randomization.randomization_test(iv.did, synthetic_panel, "dose", "dose_x_post", reps=99, seed=3,
                                  outcome="fiscal_autonomy")
    np.testing.assert_array_equal(ri["draws"], again["draws"])


def test_covid_options_change_the_sample(synthetic_panel):
    full = iv.iv2sls(synthetic_panel, "outcome", "fiscal_autonomy", "dose")
    no2020 = iv.iv2sls(synthetic_panel, "outcome", "fiscal_autonomy", "dose", exclude_years=(2020,))
    only2019 = iv.did(synthetic_panel, "fiscal_autonomy", "dose", years=range(2014, 2020))
    assert no2020.nobs == full.nobs - 17 and only2019.nobs == 17 * 6
    es = iv.event_study(synthetic_panel, "fiscal_autonomy", "dose", exclude_years=(2020,))
    assert "dose_x_2020" not in es.params.index


def test_records_are_json_ready(synthetic_panel):
    res = iv.iv2sls(synthetic_panel, "outcome", "fiscal_autonomy", "dose")
    rec = json.loads(json.dumps(res.to_record()))
    assert rec["first_stage"]["kp_rk_wald_f"] == pytest.approx(res.first_stage.kp_f)
    assert rec["anderson_rubin_95"][0][0] == pytest.approx(res.ar_set()[0][0])
    es = iv.event_study(synthetic_panel, "fiscal_autonomy", "dose")
    rec = json.loads(json.dumps(es.to_record()))
    assert [c["term"] for c in rec["coefficients"]] == [f"dose_x_{y}" for y in EVENT]
    assert rec["pretrend"]["df_den"] == 16
    frame = es.event_frame()
    assert list(frame["year"]) == list(range(2014, 2024))
    assert frame.loc[frame["year"] == 2018, "estimate"].item() == 0.0


def test_bad_inputs_are_named(synthetic_panel):
    p = synthetic_panel.copy()
    p.loc[("r03", 2020), "dose"] = 99.0
    with pytest.raises(SpecificationError, match="constant within a province.*r03"):
        iv.did(p, "fiscal_autonomy", "dose")
    with pytest.raises(EstimationError, match="no first stage"):
        iv.iv2sls(synthetic_panel, "outcome", "fiscal_autonomy", "dose", years=range(2014, 2019))
    with pytest.raises(SpecificationError, match="reference year 2018"):
        iv.event_study(synthetic_panel, "fiscal_autonomy", "dose", exclude_years=(2018,))
    with pytest.raises(SpecificationError, match="not in the data"):
        iv.event_study(synthetic_panel, "fiscal_autonomy_x", "dose")


# ----------------------------------------------------------------------------- real panel

def _real(real_panel):
    p = dose_mod.dose_panel(real_panel)  # phase1_dose in thousand won per resident per 1 tn won VAT
    return p[p.index.get_level_values(0) != "sejong"]


def test_real_panel_event_study_of_fiscal_self_reliance_equals_pyfixest(real_panel):
    p = _real(real_panel)
    res = iv.event_study(p, "fiscal_self_reliance", "phase1_dose")
    df = _frame(p, range(2014, 2024), dose="phase1_dose").dropna(subset=["fiscal_self_reliance"])
    coef, se = _pf_event(df, "fiscal_self_reliance", "phase1_dose", range(2014, 2024), STATA)
    np.testing.assert_allclose(res.params.to_numpy(), coef.to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(res.std_errors.to_numpy(), se.to_numpy(), rtol=1e-8)
    assert res.n_clusters == 16 and res.nobs == 160


def test_real_panel_ppml_of_fintech_patents_equals_pyfixest(real_panel):
    p = _real(real_panel)
    res = iv.ppml_event_study(p, "patents_fintech", "phase1_dose")
    df = _frame(p, range(2014, 2022), dose="phase1_dose").dropna(subset=["patents_fintech"])
    coef, se = _pf_event(df, "patents_fintech", "phase1_dose", range(2014, 2022),
                         dict(k_adj=False, G_adj=True), "fepois")
    np.testing.assert_allclose(res.params.to_numpy(), coef.to_numpy(), rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(res.std_errors.to_numpy(), se.to_numpy(), rtol=1e-8)


@pytest.mark.parametrize("endog", ["fiscal_autonomy", "fiscal_self_reliance"])
def test_real_panel_2sls_equals_pyfixest(real_panel, endog):
    if endog not in real_panel.columns:
        pytest.skip(f"{endog} is added to the panel by another branch (merge pending)")
    p = _real(real_panel)
    years = range(2014, 2022)
    res = iv.iv2sls(p, "grdp_pc_nominal_growth", endog, "phase1_dose", years=years)
    df = _frame(p, years, dose="phase1_dose").dropna(subset=["grdp_pc_nominal_growth", endog])
    fit = pf.feols(f"grdp_pc_nominal_growth ~ 1 | region + year | {endog} ~ z", df,
                   vcov={"CRV1": "region"}, ssc=pf.ssc(**STATA))
    assert res.params[endog] == pytest.approx(fit.coef()[endog], rel=1e-9)
    assert res.std_errors[endog] == pytest.approx(fit.se()[endog], rel=1e-8)
    fit.IV_Diag()
    assert res.first_stage.kp_f == pytest.approx(fit._f_stat_1st_stage, rel=1e-8)


# ----------------------------------------------------------------------------- R fixture

def _fixture():
    path = FIXTURES / "r_reference.json"
    if not path.is_file():
        pytest.skip("no R fixture (tests/fixtures/reform/make_r_reference.R)")
    return json.loads(path.read_text())


def test_against_r_aer_ivreg_and_sandwich_vcovcl():
    ref = _fixture()
    data = pd.read_csv(FIXTURES / "synthetic_panel.csv").set_index(["region", "year"])
    res = iv.iv2sls(data, "outcome", "fiscal_autonomy", "dose", ssc="cr0")
    assert res.params["fiscal_autonomy"] == pytest.approx(ref["ivreg"]["coef"], rel=1e-9)
    assert res.std_errors["fiscal_autonomy"] == pytest.approx(ref["ivreg"]["se_cr0"], rel=1e-8)
    es = iv.event_study(data, "fiscal_autonomy", "dose", ssc="cr0")
    np.testing.assert_allclose(es.params.to_numpy(), ref["event"]["coef"], rtol=1e-9)
    np.testing.assert_allclose(es.std_errors.to_numpy(), ref["event"]["se_cr0"], rtol=1e-8)
    d = iv.did(data, "fiscal_autonomy", "dose", ssc="cr0")
    assert d.params["dose_x_post"] == pytest.approx(ref["did"]["coef"], rel=1e-9)
    assert d.std_errors["dose_x_post"] == pytest.approx(ref["did"]["se_cr0"], rel=1e-8)


def test_r_hc1_is_our_cr0_times_rs_own_small_sample_factor():
    """R's vcovCL(HC1, cadjust) counts every dummy in K (K_R = 35 here); the package's
    Stata factor counts regressors + year dummies + 1 (as xtreg, fe): both are CR0 times
    a stated factor, so the CR0 agreement above is the like-with-like comparison."""
    ref = _fixture()
    data = pd.read_csv(FIXTURES / "synthetic_panel.csv").set_index(["region", "year"])
    es = iv.event_study(data, "fiscal_autonomy", "dose", ssc="cr0")
    G, N, K = 17, ref["event"]["n"], ref["event"]["k"]
    np.testing.assert_allclose(es.std_errors.to_numpy() * math.sqrt(G / (G - 1) * (N - 1) / (N - K)),
                               ref["event"]["se_hc1"], rtol=1e-8)


def test_real_subset_against_r():
    ref = _fixture()["real"]
    data = pd.read_csv(FIXTURES / "real_panel_subset.csv").set_index(["region", "year"])
    years = range(2014, 2022)
    es = iv.event_study(data, "fiscal_self_reliance", "phase1_dose", years=years, ssc="cr0")
    np.testing.assert_allclose(es.params.to_numpy(), ref["event"]["coef"], rtol=1e-9)
    np.testing.assert_allclose(es.std_errors.to_numpy(), ref["event"]["se_cr0"], rtol=1e-8)
    d = iv.did(data, "fiscal_self_reliance", "phase1_dose", years=years, ssc="cr0")
    assert d.params.iloc[0] == pytest.approx(ref["did"]["coef"], rel=1e-9)
    assert d.std_errors.iloc[0] == pytest.approx(ref["did"]["se_cr0"], rel=1e-8)
    r = iv.iv2sls(data, "grdp_pc_nominal_growth", "fiscal_self_reliance", "phase1_dose",
                  years=years, ssc="cr0")
    assert r.params.iloc[0] == pytest.approx(ref["ivreg"]["coef"], rel=1e-9)
    assert r.std_errors.iloc[0] == pytest.approx(ref["ivreg"]["se_cr0"], rel=1e-8)
    assert r.nobs == ref["ivreg"]["n"] and d.n_clusters == 16


def test_real_subset_fixture_dose_matches_the_dose_module(real_panel):
    """The stored subset was made with the dose module; a change of the dose shows here."""
    data = pd.read_csv(FIXTURES / "real_panel_subset.csv").set_index(["region", "year"])
    now = dose_mod.dose_panel(real_panel)["phase1_dose"]
    np.testing.assert_allclose(data["phase1_dose"].to_numpy(), now.reindex(data.index).to_numpy(),
                               rtol=1e-12)


def test_ppml_score_bootstrap_tests_our_coefficient(synthetic_panel):
    res = iv.ppml_event_study(synthetic_panel, "count", "dose")
    bt = boottest(res, "dose_x_2020", reps=199, seed=4, ci=False)
    assert bt.estimate == pytest.approx(res.params["dose_x_2020"], rel=1e-7)
    assert bt.n_clusters == 17 and "Poisson" in bt.method and 0 < bt.pvalue <= 1


def test_randomization_permutes_only_the_sample_provinces(synthetic_panel):
    keep = [f"r{i:02d}" for i in range(12)]
    p = synthetic_panel.copy()
    p.loc[~p.index.get_level_values(0).isin(keep), "dose"] = 1e6  # must never be drawn
    ri = iv_randomization.randomization_test(iv.did, p, "dose", "dose_x_post", reps=49, seed=1,
                               outcome="fiscal_autonomy", regions=keep)
    assert np.all(np.abs(ri["draws"]) < 1e3)
    assert ri["observed"] == pytest.approx(
        iv.did(synthetic_panel, "fiscal_autonomy", "dose", regions=keep).tstats.iloc[0])


def test_ppml_against_r_glm_poisson_with_dummies():
    ref = _fixture()
    syn = pd.read_csv(FIXTURES / "synthetic_panel.csv").set_index(["region", "year"])
    real = pd.read_csv(FIXTURES / "real_panel_subset.csv").set_index(["region", "year"])
    for data, y, d, r in ((syn, "count", "dose", ref["ppml"]),
                          (real, "patents_fintech", "phase1_dose", ref["real"]["ppml"])):
        res = iv.ppml_event_study(data, y, d, ssc="cr0")
        np.testing.assert_allclose(res.params.to_numpy(), r["coef"], rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(res.std_errors.to_numpy(), r["se_cr0"], rtol=1e-7)
        assert res.nobs == r["n"]


def test_randomization_of_the_joint_pretrend_statistic(synthetic_panel):
    def pre_f(res):
        return res.pretrend_test()["F"]

    ri = iv_randomization.randomization_test(iv.event_study, synthetic_panel, "dose", None, reps=49, seed=2,
                               statistic=pre_f, outcome="fiscal_autonomy")
    assert ri["observed"] == pytest.approx(
        iv.event_study(synthetic_panel, "fiscal_autonomy", "dose").pretrend_test()["F"])
    assert ri["statistic"] == "pre_f"
    assert ri["pvalue"] == (1 + int(np.sum(ri["draws"] >= ri["observed"]))) / 50


def test_unbalanced_panel_equals_pyfixest(synthetic_panel):
    """Year dummies + within transformation is the exact two-way estimator when rows are
    missing (pyfixest's alternating projections converge to it)."""
    rng = np.random.default_rng(0)
    p = synthetic_panel.copy()
    drop = rng.choice(len(p), 25, replace=False)
    p.iloc[drop, p.columns.get_loc("fiscal_autonomy")] = np.nan
    res = iv.event_study(p, "fiscal_autonomy", "dose")
    df = _frame(p, range(2014, 2024)).dropna(subset=["fiscal_autonomy"])
    fit = pf.feols("fiscal_autonomy ~ " + " + ".join(f"dose_x_{y}" for y in EVENT)
                   + " | region + year", df, vcov={"CRV1": "region"}, fixef_tol=1e-14)
    assert res.nobs == len(df) < 170
    np.testing.assert_allclose(res.params.to_numpy(), fit.coef().to_numpy(), rtol=1e-8)
    np.testing.assert_allclose(res.std_errors.to_numpy(), fit.se().to_numpy(), rtol=1e-8)
    r = iv.iv2sls(p, "outcome", "fiscal_autonomy", "dose")
    g = pf.feols("outcome ~ 1 | region + year | fiscal_autonomy ~ z", df, vcov={"CRV1": "region"},
                 fixef_tol=1e-14)
    assert r.params.iloc[0] == pytest.approx(g.coef().iloc[0], rel=1e-8)
    assert r.std_errors.iloc[0] == pytest.approx(g.se().iloc[0], rel=1e-8)
