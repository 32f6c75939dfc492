"""Dynamic panels: split-panel jackknife FE, LSDVC (xtlsdvc) and Anderson-Hsiao.

Reference numbers: tests/fixtures/dynamic/r_reference.json, made by
tests/fixtures/dynamic/make_dynamic_fixtures.R (versions in versions.txt) -- an independent R
transcription: plm within fits, plm::pgmm (Arellano-Bond one-step), AER::ivreg with
sandwich::vcovCL, and the Bun-Kiviet bias terms coded by a loop over units. Data: plm's EmplUK
(= Stata's abdata, unbalanced: 140 firms, 7-9 years; saved as emplUK_abdata.csv) and the growth
panel extract tests/fixtures/diagnostics/growth_panel.csv (Table 2's sample). No printed Stata
``xtlsdvc`` output was found to compare with (the help file has no example log).
Tolerances: 1e-8 relative (1e-10 absolute) for deterministic numbers; observed agreement ~1e-13.
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
from regrowth.models.dynamic import (LSDVC, AndersonHsiao, DynamicPanelResults,
                                     SplitPanelJackknife)
from regrowth.models.panel import fit_panel

ROOT = Path(__file__).resolve().parents[2]
FIX = ROOT / "tests" / "fixtures" / "dynamic"
REF = json.loads((FIX / "r_reference.json").read_text())
XS = ["fiscal_self_reliance_l1", "ln_patents_pm_macro_l1", "ln_grdp_pc_real_l1",
      "population_growth"]
LAG = "ln_grdp_pc_real_l1"
TOL = dict(rel=1e-8, abs=1e-10)


@pytest.fixture(scope="module")
def abdata() -> pd.DataFrame:
    return pd.read_csv(FIX / "emplUK_abdata.csv").set_index(["id", "year"])


@pytest.fixture(scope="module")
def growth() -> pd.DataFrame:
    """Table 2's fixed-effects sample: 16 provinces 2002-2017 without Chungnam 2012-13."""
    g = pd.read_csv(ROOT / "tests" / "fixtures" / "diagnostics" / "growth_panel.csv")
    g = g[~((g.region == "chungnam") & g.year.isin([2012, 2013]))]
    return g.set_index(["region", "year"])


def _approx(ours, theirs):
    np.testing.assert_allclose(np.asarray(ours, float), np.asarray(theirs, float),
                               rtol=TOL["rel"], atol=TOL["abs"])


# ----------------------------------------------------------------------------- LSDVC

@pytest.mark.parametrize("initial", ["ah", "ab"])
@pytest.mark.parametrize("bias", [1, 2, 3])
def test_lsdvc_on_abdata_matches_the_r_transcription(abdata, initial, bias):
    """xtlsdvc n w k, initial(.) bias(.) on the unbalanced Arellano-Bond panel (Bruno's S_i)."""
    res = LSDVC(abdata["n"], abdata[["w", "k"]], initial=initial, bias=bias).fit(reps=0)
    ref = REF["emplUK"]
    assert list(res.params.index) == ["L.n", "w", "k"]
    _approx(res.params, ref[initial][f"lsdvc{bias}"])
    _approx(res.lsdv_params, ref["lsdv"])
    _approx(res.initial_params, ref[initial]["initial"])
    assert res.sigma2 == pytest.approx(ref[initial]["sigma2"], **TOL)
    assert res.nobs == ref["nobs"] and res.periods == ref["T"]


@pytest.mark.parametrize("bias", [1, 2, 3])
def test_lsdvc_with_year_dummies_matches_r(abdata, bias):
    res = LSDVC(abdata["n"], abdata[["w", "k"]], initial="ah", bias=bias,
                time_effects=True).fit(reps=0)
    _approx(res.params, REF["emplUK_year"]["ah"][f"lsdvc{bias}"][:3])
    assert "year_1978" not in res.params.index      # year effects fitted, not reported
    assert res.included_effects == ["Entity", "Time"]


def test_arellano_bond_initial_estimator_matches_pgmm(abdata):
    """The AB initial estimator is plm::pgmm's one-step difference GMM (Stata xtabond), with
    and without year effects (pgmm effect = "twoways")."""
    one = LSDVC(abdata["n"], abdata[["w", "k"]], initial="ab").fit(reps=0)
    _approx(one.initial_params, REF["emplUK"]["ab"]["initial"])
    two = LSDVC(abdata["n"], abdata[["w", "k"]], initial="ab", time_effects=True).fit(reps=0)
    _approx(two.initial_params, REF["emplUK_year"]["ab_twoways_slopes"])


def test_bias_correction_moves_the_lsdv_estimate_by_the_reported_bias(abdata):
    res = LSDVC(abdata["n"], abdata[["w", "k"]], initial="ab", bias=2).fit(reps=0)
    _approx(res.lsdv_params - res.bias_estimate, res.params)
    # Nickell: the LSDV autoregressive coefficient is biased downwards, the correction raises it
    assert res.params["L.n"] > res.lsdv_params["L.n"] + 0.1


@pytest.mark.filterwarnings("ignore::regrowth.models.dynamic.BiasApproximationWarning")
def test_lsdvc_growth_mapping_matches_r(growth):
    """Growth on the lagged log level: the levels model z = l + g/100 (module docstring)."""
    ref = REF["growth_lsdvc"]
    for bias in (1, 2, 3):
        res = LSDVC(growth["grdp_pc_real_growth"], growth[XS], lagged_dependent=LAG,
                    time_effects=True, initial="ah", bias=bias).fit(reps=0)
        _approx(res.params[ref["names"]], ref[f"ah{bias}"])
    assert res.rho == pytest.approx(1 + res.lsdv_params[LAG] / 100 - res.bias_estimate[LAG] / 100,
                                    **TOL)


def test_lsdv_of_the_growth_mapping_is_the_two_way_fe_growth_regression(growth):
    res = LSDVC(growth["grdp_pc_real_growth"], growth[XS], lagged_dependent=LAG,
                time_effects=True).fit(reps=0)
    fe = fit_panel("fe", "grdp_pc_real_growth ~ 1 + " + " + ".join(XS) + " + TimeEffects",
                   growth)
    _approx(res.lsdv_params[XS], fe.params[XS])
    assert list(res.params.index) == XS             # the caller's order


def test_growth_mapping_is_exactly_the_levels_model_when_growth_is_a_log_difference():
    """With g = 100 d ln y the mapped model is xtlsdvc on ln y: b = 100 (rho - 1), c = 100 b,
    and the bootstrap (same seed, same draws) scales the SEs by exactly 100."""
    rng = np.random.default_rng(7)
    N, T = 12, 10
    a = rng.standard_normal(N)
    x = rng.standard_normal((N, T + 1))
    ly = np.zeros((N, T + 1))
    ly[:, 0] = a + rng.standard_normal(N)
    for t in range(1, T + 1):
        ly[:, t] = 0.6 * ly[:, t - 1] + 0.5 * x[:, t] + a + 0.3 * rng.standard_normal(N)
    idx = pd.MultiIndex.from_product([range(N), range(T + 1)], names=["i", "t"])
    lv = pd.DataFrame({"lny": ly.ravel(), "x": x.ravel()}, index=idx)
    lv["lny_l1"] = lv.groupby(level=0).lny.shift(1)
    lv["g"] = 100 * (lv.lny - lv.lny_l1)
    gr = lv.dropna()
    for init in ("ah", "ab"):
        levels = LSDVC(lv["lny"], lv[["x"]], initial=init, bias=3).fit(reps=20, seed=3)
        mapped = LSDVC(gr["g"], gr[["lny_l1", "x"]], lagged_dependent="lny_l1", initial=init,
                       bias=3).fit(reps=20, seed=3)
        assert mapped.params["lny_l1"] == pytest.approx(100 * (levels.params["L.lny"] - 1),
                                                        rel=1e-9)
        assert mapped.params["x"] == pytest.approx(100 * levels.params["x"], rel=1e-9)
        np.testing.assert_allclose(mapped.std_errors.to_numpy(),
                                   100 * levels.std_errors.to_numpy(), rtol=1e-7)


def test_lsdvc_parametric_bootstrap_is_seeded_and_is_the_covariance_of_its_draws(abdata):
    kw = dict(initial="ah", bias=1)
    a = LSDVC(abdata["n"], abdata[["w", "k"]], **kw).fit(reps=12, seed=11)
    b = LSDVC(abdata["n"], abdata[["w", "k"]], **kw).fit(reps=12, seed=11)
    c = LSDVC(abdata["n"], abdata[["w", "k"]], **kw).fit(reps=12, seed=12)
    np.testing.assert_allclose(a.std_errors.to_numpy(), b.std_errors.to_numpy(), rtol=1e-12)
    assert not np.allclose(a.std_errors.to_numpy(), c.std_errors.to_numpy(), rtol=1e-3)
    np.testing.assert_allclose(a.cov.to_numpy(), np.cov(a.boot_draws, rowvar=False, ddof=1),
                               rtol=1e-12)
    # draws are centred near the estimate they were simulated from (LSDVC is ~unbiased)
    assert abs(a.boot_draws[:, 0].mean() - a.params["L.n"]) < 4 * a.std_errors["L.n"] / np.sqrt(12)
    assert a.reference == "z"
    none = LSDVC(abdata["n"], abdata[["w", "k"]], **kw).fit(reps=0)
    assert none.std_errors.isna().all() and "not computed" in none.cov_type


def test_lsdvc_refuses_what_it_does_not_implement(abdata):
    with pytest.raises(SpecificationError, match="not implemented.*'ah'.*'ab'"):
        LSDVC(abdata["n"], abdata[["w", "k"]], initial="bb")
    with pytest.raises(SpecificationError, match="1, 2 or 3"):
        LSDVC(abdata["n"], abdata[["w", "k"]], bias=4)
    with pytest.raises(SpecificationError, match="0 or >= 2"):
        LSDVC(abdata["n"], abdata[["w", "k"]]).fit(reps=1)
    with pytest.raises(SpecificationError, match="lagged_dependent='nope'"):
        LSDVC(abdata["n"], abdata[["w", "k"]], lagged_dependent="nope")
    with pytest.raises(SpecificationError, match="MultiIndex"):
        LSDVC(abdata["n"].reset_index(drop=True), abdata[["w", "k"]].reset_index(drop=True))


# ----------------------------------------------------------------------------- Anderson-Hsiao

def test_anderson_hsiao_matches_ivreg_with_stata_cluster_se(abdata):
    res = AndersonHsiao(abdata["n"], abdata[["w", "k"]]).fit()
    ref = REF["emplUK"]["ah_iv"]
    _approx(res.params, ref["coef"])
    _approx(res.std_errors, ref["se"])
    assert res.nobs == ref["nobs"] and res.reference == "t(139)"
    ci = res.conf_int()
    from scipy import stats
    q = stats.t.ppf(0.975, 139)
    _approx(ci["upper"], res.params + q * res.std_errors)


# ----------------------------------------------------------------------------- SPJ

def test_spj_on_the_growth_panel_matches_r_halves(growth):
    """Table 2 FE column: FE -22.95 -> SPJ -0.78 for the convergence term (issue 17)."""
    ref = REF["growth_spj"]
    res = SplitPanelJackknife(growth["grdp_pc_real_growth"], growth[XS],
                              time_effects=True).fit(reps=9, seed=1)
    _approx(res.params[XS], ref["spj"])
    _approx(res.fe_params[XS], ref["fe"])
    _approx(res.halves["first_half_1"][XS], ref["half1"])
    _approx(res.halves["second_half_1"][XS], ref["half2"])
    assert res.fe_params[LAG] == pytest.approx(-22.954466873, abs=1e-8)
    assert res.params[LAG] == pytest.approx(-0.776471342, abs=1e-8)
    assert res.nobs == ref["nobs"] == 254


def test_spj_reports_the_fe_column_analytic_cluster_se(growth):
    res = SplitPanelJackknife(growth["grdp_pc_real_growth"], growth[XS],
                              time_effects=True).fit(reps=9)
    fe = fit_panel("fe", "grdp_pc_real_growth ~ 1 + " + " + ".join(XS) + " + TimeEffects",
                   growth, cov_type="clustered")
    _approx(res.fe_std_errors[XS], fe.std_errors[XS])
    assert res.reference == "t(15)" and res.n_clusters == 16


def _ols_fe(frame: pd.DataFrame, two_way: bool) -> pd.Series:
    """An independent within estimator: statsmodels OLS with entity (and year) dummies."""
    d = pd.get_dummies(frame.index.get_level_values(0), prefix="e", dtype=float)
    parts = [frame[["ylag", "x"]].reset_index(drop=True), d]
    if two_way:
        parts.append(pd.get_dummies(frame.index.get_level_values(1), prefix="t", dtype=float,
                                    drop_first=True))
    X = pd.concat(parts, axis=1)
    return sm.OLS(frame["y"].to_numpy(), X).fit().params[["ylag", "x"]]


def _synthetic(T: int, seed: int = 5, drop: tuple = ()) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    N = 9
    rows = []
    for i in range(N):
        a, y = rng.standard_normal(), 0.0
        for t in range(T + 1):
            x = rng.standard_normal()
            ylag, y = y, 0.7 * y + x + a + rng.standard_normal()
            if t and (i, t) not in drop:
                rows.append((i, 2000 + t, y, ylag, x))
    return pd.DataFrame(rows, columns=["i", "year", "y", "ylag", "x"]).set_index(["i", "year"])


@pytest.mark.parametrize("two_way", [False, True])
@pytest.mark.parametrize("odd_t", ["average", "overlap"])
def test_spj_with_odd_t_and_gaps_against_an_independent_loop(two_way, odd_t):
    """T = 7 with a gap: the documented odd-T conventions, refitted with statsmodels dummies."""
    d = _synthetic(7, drop=((2, 3), (4, 7)))
    res = SplitPanelJackknife(d["y"], d[["ylag", "x"]], time_effects=two_way,
                              odd_t=odd_t).fit(reps=3)
    years = d.index.get_level_values(1)
    full = _ols_fe(d, two_way)
    if odd_t == "average":     # (3 | 4) and (4 | 3) splits of 2001..2007, averaged
        splits = [(years <= 2003, years >= 2004), (years <= 2004, years >= 2005)]
    else:                      # two halves of 4 periods sharing 2004
        splits = [(years <= 2004, years >= 2004)]
    jk = [2 * full - (_ols_fe(d[a], two_way) + _ols_fe(d[b], two_way)) / 2 for a, b in splits]
    _approx(res.params[["ylag", "x"]], sum(jk) / len(jk))


def test_spj_province_bootstrap_draw_is_the_jackknife_on_resampled_provinces():
    d = _synthetic(8)
    res = SplitPanelJackknife(d["y"], d[["ylag", "x"]], time_effects=True).fit(reps=4, seed=99)
    pick = np.random.default_rng(99).integers(0, 9, 9)
    parts = [d.xs(g, level=0, drop_level=False).rename(index={g: k}, level=0)
             for k, g in enumerate(pick)]
    boot = pd.concat(parts)
    years = boot.index.get_level_values(1)
    full = _ols_fe(boot, True)
    first = 2 * full - (_ols_fe(boot[years <= 2004], True) + _ols_fe(boot[years > 2004], True)) / 2
    _approx(res.boot_draws[0], first)
    np.testing.assert_allclose(res.cov.to_numpy(), np.cov(res.boot_draws, rowvar=False),
                               rtol=1e-12)


def test_spj_removes_most_of_the_nickell_bias_in_a_long_simulation():
    """One long-N panel (N = 400, T = 8, rho = 0.7): FE is off by about -(1 + rho)/(T - 1);
    the jackknife by far less."""
    rng = np.random.default_rng(1)
    N, T, rho = 400, 8, 0.7
    a = rng.standard_normal(N)
    y = a / (1 - rho) + rng.standard_normal(N) / np.sqrt(1 - rho ** 2)
    rows = []
    for t in range(1, T + 1):
        x = rng.standard_normal(N)
        ylag, y = y, rho * y + x + a + rng.standard_normal(N)
        rows.append(pd.DataFrame({"i": range(N), "t": t, "y": y, "ylag": ylag, "x": x}))
    d = pd.concat(rows).set_index(["i", "t"]).sort_index()
    res = SplitPanelJackknife(d["y"], d[["ylag", "x"]]).fit(reps=2)
    fe_bias = res.fe_params["ylag"] - rho
    assert fe_bias < -0.1
    assert abs(res.params["ylag"] - rho) < abs(fe_bias) / 3


def test_results_object_speaks_linearmodels(growth):
    res = SplitPanelJackknife(growth["grdp_pc_real_growth"], growth[XS],
                              time_effects=True).fit(reps=19, seed=4)
    assert isinstance(res, DynamicPanelResults)
    for attr in ("params", "std_errors", "tstats", "pvalues"):
        s = getattr(res, attr)
        assert isinstance(s, pd.Series) and list(s.index) == XS
    assert list(res.cov.index) == XS and list(res.cov.columns) == XS
    ci = res.conf_int(0.9)
    assert list(ci.columns) == ["lower", "upper"] and (ci["lower"] < ci["upper"]).all()
    assert LAG in res.summary and "province bootstrap (19 draws, seed 4)" in res.summary
    from regrowth.tidy import tidy
    t = tidy(res).set_index("term")
    assert t.loc[LAG, "estimate"] == pytest.approx(res.params[LAG], rel=1e-12)
    assert t.loc[LAG, "p_value"] == pytest.approx(res.pvalues[LAG], rel=1e-12)


def test_spj_refuses_bad_options(growth):
    with pytest.raises(SpecificationError, match="odd_t"):
        SplitPanelJackknife(growth["grdp_pc_real_growth"], growth[XS], odd_t="middle")
    with pytest.raises(SpecificationError, match="reps"):
        SplitPanelJackknife(growth["grdp_pc_real_growth"], growth[XS]).fit(reps=1)


# ----------------------------------------------------------------------------- spec / registry

_SPEC = """
[edition]
name = "public"
summary = "test"

[[table]]
id = "t2"
title = "T"
notes = []
{columns}
"""
_COLUMN = """
[[table.column]]
id = "{id}"
label = "(1)"
title = "x"
estimator = "{estimator}"
outcome = "grdp_pc_real_growth"
regressors = {regressors}
year_effects = true
sample = {{ years = [2002, 2017], exclude = ["sejong"], drop_if = ["sejong_break"] }}
{extra}
rationale = "x"
"""


def _spec(tmp_path, **cols):
    from regrowth import specs

    text = _SPEC.format(columns="".join(
        _COLUMN.format(id=k, regressors=json.dumps(XS), **v) for k, v in cols.items()))
    path = tmp_path / "models.toml"
    path.write_text(text, encoding="utf-8")
    return {c.id: c for c in specs.load(path).columns()}


def test_spec_columns_select_the_dynamic_estimators(tmp_path, growth):
    from regrowth.models import registry

    cols = _spec(tmp_path,
                 lsdvc={"estimator": "lsdvc", "extra": 'options = { initial = "ah", bias = 2, '
                        'reps = 5, lagged_dependent = "ln_grdp_pc_real_l1" }'},
                 spj={"estimator": "fe_spj", "extra": "options = { reps = 5, seed = 3 }"},
                 ah={"estimator": "ah", "extra": 'se = { type = "cluster", groups = "region" }\n'
                     'options = { lagged_dependent = "ln_grdp_pc_real_l1" }'})
    res = registry.get("lsdvc").fit(cols["lsdvc"], growth)
    _approx(res.params[REF["growth_lsdvc"]["names"]], REF["growth_lsdvc"]["ah2"])
    assert res.reps == 5
    spj = registry.get("fe_spj").fit(cols["spj"], growth)
    _approx(spj.params[XS], REF["growth_spj"]["spj"])
    assert spj.seed == 3
    ah = registry.get("ah").fit(cols["ah"], growth)
    assert ah.reference == "t(15)"
    assert registry.get("xtlsdvc").name == "lsdvc" and registry.get("spj").name == "fe_spj"


def test_spec_refuses_bb_and_unknown_options(tmp_path):
    with pytest.raises(SpecificationError, match="'bb' is not one of"):
        _spec(tmp_path, c={"estimator": "lsdvc", "extra": 'options = { initial = "bb" }'})
    with pytest.raises(SpecificationError, match="bias"):
        _spec(tmp_path, c={"estimator": "lsdvc", "extra": "options = { bias = 4 }"})


def test_lagged_dependent_must_be_a_regressor_of_the_column(tmp_path, growth):
    from regrowth.models import registry

    cols = _spec(tmp_path, c={"estimator": "lsdvc",
                              "extra": 'options = { lagged_dependent = "ln_grdp_pc_real" }'})
    with pytest.raises(SpecificationError, match="must be one of the regressors"):
        registry.get("lsdvc").fit(cols["c"], growth)


# ----------------------------------------------------------------------------- Monte Carlo

def _mc():
    path = ROOT / "benchmarks" / "montecarlo_dynamic.py"
    spec = importlib.util.spec_from_file_location("montecarlo_dynamic", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.slow
def test_montecarlo_small_bias_corrections_beat_fe():
    """50 replications at N = T = 16, rho = 0.8: SPJ and LSDVC are less biased than FE."""
    table, meta = _mc().run(reps=50, spj_boot=19, lsdvc_boot=9, coverage=[("ab", 1)],
                            progress=False)
    t = table.set_index("estimator")
    fe = abs(t.loc["FE", "bias_rho"])
    assert t.loc["FE", "bias_rho"] < -0.02          # Nickell: ~ -(1 + rho)/(T - 1) / something
    for name in ("SPJ", "LSDVC-AH1", "LSDVC-AB1", "LSDVC-AB2"):
        assert abs(t.loc[name, "bias_rho"]) < fe / 2, (name, t.loc[name, "bias_rho"], fe)


def test_a_broken_bias_approximation_warns_and_gives_no_standard_errors(growth):
    """bias(3) on the growth panel: |rho| > 1 (the R transcription agrees, +209.8), so the
    package says so instead of bootstrapping an explosive process (which printed SE 0.000)."""
    from regrowth.models.dynamic import BiasApproximationWarning

    kw = dict(lagged_dependent=LAG, time_effects=True, initial="ah")
    with pytest.warns(BiasApproximationWarning, match="broken down"):
        bad = LSDVC(growth["grdp_pc_real_growth"], growth[XS], bias=3, **kw).fit(reps=5)
    assert bad.params[LAG] == pytest.approx(REF["growth_lsdvc"]["ah3"][0], **TOL)
    assert bad.std_errors.isna().all() and bad.rho > 1
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error", BiasApproximationWarning)
        good = LSDVC(growth["grdp_pc_real_growth"], growth[XS], bias=1, **kw).fit(reps=5)
    assert good.std_errors.notna().all() and good.rho < 1


def test_from_formula_reads_time_effects_and_regressors(growth):
    f = "grdp_pc_real_growth ~ 1 + " + " + ".join(XS) + " + TimeEffects"
    spj = SplitPanelJackknife.from_formula(f, growth).fit(reps=3)
    _approx(spj.params[XS], REF["growth_spj"]["spj"])
    lsdvc = LSDVC.from_formula(f, growth, lagged_dependent=LAG, initial="ah", bias=1).fit(reps=0)
    _approx(lsdvc.params[REF["growth_lsdvc"]["names"]], REF["growth_lsdvc"]["ah1"])
    one_way = SplitPanelJackknife.from_formula(f.replace(" + TimeEffects", ""), growth).fit(reps=3)
    assert one_way.included_effects == ["Entity"]
    assert not np.allclose(one_way.params.to_numpy(), spj.params.to_numpy())
    with pytest.raises(SpecificationError, match="unknown column"):
        SplitPanelJackknife.from_formula("grdp_pc_real_growth ~ nope", growth)
