"""Panel count models (regrowth.models.count_panel) against R and against each other.

Reference numbers: tests/fixtures/count_panel/r_reference.json, made by
make_count_panel_fixtures.R on AER::Fatalities (48 US states, 1982-88, traffic deaths) with
R glm/sandwich (Poisson with state dummies), MASS::glm.nb (NB2 with state dummies) and an
independent R transcription of the HHG likelihoods (xtnbreg fe/re) maximised with optim and
Newton steps. Synthetic data appear only in the property tests and say so.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from regrowth.errors import EstimationError
from regrowth.models import count_panel as cp
from regrowth.models import xtnbreg as xt
from regrowth.report.tidy import tidy

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "count_panel"
REF = json.loads((FIX / "r_reference.json").read_text())
SLOPES = ["beertax", "unemp", "lincome"]


@pytest.fixture(scope="module")
def fatalities():
    d = pd.read_csv(FIX / "fatalities.csv")
    d["lincome"] = np.log(d["income"])
    return d


def _fit(fn, d, **kw):
    return fn(d["fatal"], d[SLOPES], d["state"], exposure=d["pop"], **kw)


def test_poisson_with_state_dummies_equals_r_glm_and_vcovcl(fatalities):
    ref = REF["poisson_state"]
    res = _fit(cp.poisson_fe, fatalities)
    np.testing.assert_allclose(res.params[SLOPES], [ref["params"][k] for k in SLOPES], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(res.bse[SLOPES], [ref["se_cluster"][k] for k in SLOPES], rtol=1e-8)
    assert res.llf == pytest.approx(ref["llf"], rel=1e-11)
    assert (res.nobs, res.n_groups, res.cov_type) == (336, 48, "cluster")
    oim = _fit(cp.poisson_fe, fatalities, cov_type="oim")
    np.testing.assert_allclose(oim.bse[SLOPES], [ref["se_oim"][k] for k in SLOPES], rtol=1e-8)


def test_cluster_scaling_is_stata_g_over_g_minus_1(fatalities):
    """xtpoisson, fe vce(robust) == vce(cluster id): G/(G-1) times the HC0 cluster sandwich
    (R vcovCL cadjust = TRUE vs FALSE); without it, Wooldridge's (1999) covariance."""
    ref = REF["poisson_state"]
    plain = _fit(cp.poisson_fe, fatalities, use_correction=False)
    np.testing.assert_allclose(plain.bse[SLOPES], [ref["se_cluster_nocorr"][k] for k in SLOPES], rtol=1e-8)
    full = _fit(cp.poisson_fe, fatalities)
    np.testing.assert_allclose((full.bse / plain.bse) ** 2, 48 / 47, rtol=1e-12)


def test_poisson_with_state_and_year_dummies_equals_r(fatalities):
    ref = REF["poisson_state_year"]
    res = cp.poisson_fe(fatalities["fatal"], fatalities[SLOPES], fatalities["state"],
                        time=fatalities["year"], exposure=fatalities["pop"])
    np.testing.assert_allclose(res.params[SLOPES], [ref["params"][k] for k in SLOPES], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(res.bse[SLOPES], [ref["se_cluster"][k] for k in SLOPES], rtol=1e-8)
    years = ref["year_effects"]
    np.testing.assert_allclose(res.params[list(years)], list(years.values()), rtol=1e-8)
    assert res.effects == "panel + year"


def test_dummy_variable_poisson_equals_conditional_poisson(fatalities):
    """The slopes (and the panel-clustered SEs) of Poisson with dummies are those of the
    conditional multinomial likelihood (xtpoisson, fe), ours and statsmodels' ConditionalPoisson."""
    from statsmodels.discrete.conditional_models import ConditionalPoisson

    dummies = _fit(cp.poisson_fe, fatalities)
    cond = _fit(cp.conditional_poisson, fatalities, cov_type="cluster")
    np.testing.assert_allclose(cond.params[SLOPES], dummies.params[SLOPES], rtol=1e-9)
    np.testing.assert_allclose(cond.bse[SLOPES], dummies.bse[SLOPES], rtol=1e-8)
    oim = _fit(cp.conditional_poisson, fatalities)
    np.testing.assert_allclose(oim.bse[SLOPES], [REF["poisson_state"]["se_oim"][k] for k in SLOPES], rtol=1e-8)
    sm = ConditionalPoisson(fatalities["fatal"], fatalities[SLOPES], groups=fatalities["state"],
                            offset=np.log(fatalities["pop"])).fit(method="newton", maxiter=100, disp=0)
    np.testing.assert_allclose(cond.params[SLOPES], sm.params, rtol=1e-7, atol=1e-10)


def test_conditional_llf_is_the_multinomial_log_likelihood(fatalities):
    """The reported llf is ln P(y_i1..y_iT | n_i) summed: recompute it by hand with scipy."""
    from scipy import stats as st

    cond = _fit(cp.conditional_poisson, fatalities)
    d = fatalities
    eta = d[SLOPES].to_numpy() @ cond.params[SLOPES].to_numpy() + np.log(d["pop"].to_numpy())
    total = 0.0
    for _, rows in d.assign(eta=eta).groupby("state"):
        p = np.exp(rows["eta"] - rows["eta"].max())
        total += st.multinomial.logpmf(rows["fatal"].to_numpy(), rows["fatal"].sum(), p / p.sum())
    assert cond.llf == pytest.approx(total, rel=1e-10)


def test_nb2_with_state_dummies_equals_mass_glm_nb(fatalities):
    ref = REF["nb2_state"]
    res = _fit(cp.nb2_dummies, fatalities)
    np.testing.assert_allclose(res.params[SLOPES], [ref["params"][k] for k in SLOPES], rtol=1e-6)
    assert res.params["lnalpha:Intercept"] == pytest.approx(ref["lnalpha"], rel=1e-6)
    assert res.llf == pytest.approx(ref["llf"], rel=1e-10)
    assert res.converged


@pytest.mark.parametrize("kind", ["xtnbreg_fe", "xtnbreg_re"])
def test_xtnbreg_equals_r_transcription(fatalities, kind):
    ref = REF[kind]
    res = _fit(getattr(xt, kind), fatalities)
    names = [n.replace("const", "Intercept") for n in ref["params"]]  # R calls it const
    assert list(res.params.index) == names
    np.testing.assert_allclose(res.params[names], list(ref["params"].values()), rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(res.bse[names], list(ref["se_oim"].values()), rtol=1e-6)
    assert res.llf == pytest.approx(ref["llf"], rel=1e-11)
    assert res.converged and res.cov_type == "oim"


def test_xtnbreg_fe_is_not_a_mean_fixed_effects_model(fatalities):
    """Allison & Waterman's point: xtnbreg, fe identifies a constant and time-invariant
    regressors, which a model with a free panel constant in the mean could not."""
    d = fatalities.copy()
    # a state-level (time-invariant) regressor: the state's mean beer tax
    d["beertax_mean"] = d.groupby("state")["beertax"].transform("mean")
    res = xt.xtnbreg_fe(d["fatal"], d[["beertax", "beertax_mean"]], d["state"], exposure=d["pop"])
    assert np.isfinite(res.bse[["Intercept", "beertax_mean"]]).all()
    with pytest.raises(EstimationError, match="beertax_mean"):
        cp.conditional_poisson(d["fatal"], d[["beertax", "beertax_mean"]], d["state"],
                               exposure=d["pop"])


def test_all_zero_panels_are_dropped_with_a_note():
    """Synthetic: one panel with only zeros is dropped (Stata: 'groups dropped because of all
    zero outcomes') and the estimates equal those without it."""
    rng = np.random.default_rng(7)
    g = np.repeat(np.arange(6), 5)
    x = rng.normal(size=30)
    y = rng.poisson(np.exp(0.5 + 0.3 * x + 0.2 * g))
    y[g == 0] = 0
    with pytest.warns(UserWarning, match="1 group"):
        res = cp.poisson_fe(y, pd.DataFrame({"x": x}), g)
    keep = g != 0
    ref = cp.poisson_fe(y[keep], pd.DataFrame({"x": x[keep]}), g[keep])
    assert res.dropped_groups == (0,)
    assert res.params["x"] == pytest.approx(ref.params["x"], rel=1e-12)
    assert res.nobs == 25 and res.n_groups == 5


def test_bad_counts_are_refused():
    with pytest.raises(ValueError, match="non-negative integer"):
        cp.poisson_fe([1, 2.5, 3, 4], pd.DataFrame({"x": [1.0, 2, 3, 4]}), [1, 1, 2, 2])


def test_results_feed_tidy(fatalities):
    frame = tidy(_fit(xt.xtnbreg_re, fatalities))
    assert list(frame["term"]) == ["Intercept", *SLOPES, "ln_r", "ln_s"]
    row = frame.set_index("term").loc["beertax"]
    assert row["ci_low"] < row["estimate"] < row["ci_high"]


def test_within_between_sd_is_xtsum():
    """Synthetic 2 x 3 panel worked by hand: between = sd of the two means, within = sd of
    x - xbar_i + xbar."""
    x = [1.0, 2.0, 3.0, 10.0, 10.0, 13.0]
    g = ["a", "a", "a", "b", "b", "b"]
    out = cp.within_between_sd(x, g)
    assert out["between_sd"] == pytest.approx(np.std([2.0, 11.0], ddof=1))
    dev = np.array([-1.0, 0, 1, -1, -1, 2])
    assert out["within_sd"] == pytest.approx(np.std(dev + np.mean(x), ddof=1))
    assert out["overall_sd"] == pytest.approx(np.std(x, ddof=1))
    assert (out["n"], out["n_groups"]) == (6, 2)


REAL = Path(__file__).resolve().parents[2] / "data" / "processed" / "panel.parquet"


@pytest.mark.skipif(not REAL.is_file(), reason="the real panel is not built (regrowth panel)")
def test_real_innovation_sample_within_province_table():
    """On the real gnb_main sample (16 provinces, 2015-2021): 재정자립도 varies almost only
    between provinces, every model is fitted on the same 112 rows, and the Poisson FE column
    equals the conditional Poisson (xtpoisson, fe) slope."""
    from regrowth import panel
    from regrowth import specs as specs_mod
    from regrowth.analyses import within

    p = panel.load(REAL.parent)
    main = next(c for c in specs_mod.load(REAL.parents[2] / "specs" / "models.toml").columns()
                if c.id == "gnb_main")
    rows, var = within.within_province_table(p, main, "fiscal_self_reliance_l1")
    assert list(rows["model"]) == [m[0] for m in within.WITHIN_MODELS]
    assert set(rows["nobs"]) == {112} and set(rows["n_groups"]) == {16}   # 16 x 2015-2021
    assert rows["converged"].all()
    assert var["within_sd"] < 3
    assert var["between_sd"] > 15
    from regrowth.fit import estimation_sample

    spec = main
    data, _ = estimation_sample(spec, p)
    cond = cp.conditional_poisson(data[spec.outcome], data[list(spec.regressors)],
                                  data.index.get_level_values("region"), cov_type="cluster")
    row = rows.set_index("model").loc["poisson_fe"]
    assert row["estimate"] == pytest.approx(cond.params["fiscal_self_reliance_l1"], rel=1e-8)
    assert row["std_error"] == pytest.approx(cond.bse["fiscal_self_reliance_l1"], rel=1e-7)
    table = within.within_province_regression_table(rows, var, label="Fiscal self-reliance (%), t-1")
    assert "within-province sd" in table.to_markdown()


@pytest.mark.needs_r
def test_r_fixture_regenerates(tmp_path):
    """make_count_panel_fixtures.R reproduces the stored numbers (needs Rscript, AER, MASS,
    sandwich, numDeriv, jsonlite)."""
    import subprocess

    subprocess.run(["Rscript", str(FIX / "make_count_panel_fixtures.R"), str(tmp_path)],
                   check=True, capture_output=True)
    new = json.loads((tmp_path / "r_reference.json").read_text())

    def flat(d, prefix=""):
        for k, v in d.items():
            if isinstance(v, dict):
                yield from flat(v, f"{prefix}{k}.")
            elif not k.startswith("grad"):
                yield f"{prefix}{k}", v

    old, fresh = dict(flat(REF)), dict(flat(new))
    assert old.keys() == fresh.keys()
    for k, value in old.items():
        assert fresh[k] == pytest.approx(value, rel=1e-7, abs=1e-10), k
    assert (tmp_path / "fatalities.csv").read_text() == (FIX / "fatalities.csv").read_text()


# ----------------------------------------------------------------------------- registry and specs

SPEC_TEXT = """
[edition]
name = "test"
summary = "synthetic"

[[table]]
id = "t1"
title = "T1"

[[table.column]]
id = "c1"
label = "(1)"
title = "HHG"
estimator = "xtnbreg"
outcome = "n"
regressors = ["x1"]
year_effects = true
sample = { years = [2010, 2019] }
options = { model = "fe" }
rationale = "test"
"""


def _load(tmp_path, text):
    from regrowth import specs

    path = tmp_path / "models.toml"
    path.write_text(text, encoding="utf-8")
    return specs.load(path)


def test_xtnbreg_and_xtpoisson_are_registered_with_stata_names():
    from regrowth.models import registry

    nb = registry.get("xtnbreg")
    assert (nb.stata, nb.family, nb.se_types, nb.option("model").default) == (
        "xtnbreg", "count", ("oim",), "re")  # Stata's default is re
    po = registry.get("xtpoisson")
    assert (po.stata, po.province_effects, po.se_types) == ("xtpoisson, fe", "implied",
                                                             ("oim", "cluster"))


def test_specs_refuse_what_xtnbreg_and_xtpoisson_cannot_do(tmp_path):
    from regrowth.errors import SpecificationError

    assert _load(tmp_path, SPEC_TEXT).columns()[0].options == {"model": "fe"}
    for old, new, fragment in [
        ('options = { model = "fe" }', 'options = { model = "pa" }', "model"),
        ('year_effects = true', 'year_effects = true\nprovince_effects = true', "province"),
        ('options = { model = "fe" }', 'se = { type = "cluster", groups = "region" }', "se.type"),
    ]:
        with pytest.raises(SpecificationError, match=fragment):
            _load(tmp_path, SPEC_TEXT.replace(old, new))


def test_spec_path_fits_equal_the_functions():
    """Synthetic (seeded) panel: the registry's xtpoisson and xtnbreg fits of a spec column
    equal the module's functions; effects are read from the fitted model."""
    from regrowth.models.design import fitted_effects
    from regrowth.specs import ColumnSpec, Sample

    rng = np.random.default_rng(3)
    idx = pd.MultiIndex.from_product([[f"p{i}" for i in range(8)], range(2010, 2016)],
                                     names=["region", "year"])
    x = rng.normal(size=len(idx))
    a = np.repeat(rng.normal(size=8), 6)
    # overdispersed counts (gamma-Poisson): xtnbreg has an interior maximum
    mu = np.exp(1.5 + 0.4 * x + a) * rng.gamma(2.0, 0.5, size=len(idx))
    data = pd.DataFrame({"n": rng.poisson(mu), "x1": x}, index=idx)
    common = {"table": "t", "label": "(1)", "title": "T", "outcome": "n", "regressors": ("x1",),
              "sample": Sample(2010, 2015), "rationale": "test", "year_effects": True}
    from regrowth.models import registry

    po = registry.get("xtpoisson").fit(
        ColumnSpec(id="p", estimator="xtpoisson", se_type="cluster", se_groups="region", **common), data)
    ref = cp.poisson_fe(data["n"], data[["x1"]], data.index.get_level_values("region"),
                        time=data.index.get_level_values("year"))
    assert po.params["x1"] == pytest.approx(ref.params["x1"], rel=1e-9)
    assert po.bse["x1"] == pytest.approx(ref.bse["x1"], rel=1e-8)
    assert fitted_effects(po, po.params.index)["province"] is True
    nb = registry.get("xtnbreg").fit(
        ColumnSpec(id="q", estimator="xtnbreg", se_type="oim", options={"model": "fe"}, **common), data)
    assert nb.command == "xtnbreg y x, fe" and nb.converged
    direct = xt.xtnbreg_fe(data["n"], pd.concat([data[["x1"]], pd.get_dummies(
        data.index.get_level_values("year"), prefix="year", drop_first=True, dtype=float
    ).set_index(data.index)], axis=1), data.index.get_level_values("region"))
    assert nb.params["x1"] == pytest.approx(direct.params["x1"], rel=1e-8)
    effects = fitted_effects(nb, nb.params.index)
    assert effects["year"] is True and effects["province"] is False  # dispersion, not mean


# ----------------------------------------------------------------------------- all-zero panels
#
# tests/fixtures/count_panel/zero_panels_reference.json, made by make_zero_panels_fixtures.R:
# an independent R transcription of the HHG likelihoods (optim, then Newton with a numDeriv
# Hessian) on two panels with all-zero units -- glmmTMB::Salamanders (public; one panel per
# site x species, 58 of 161 never saw a salamander) and a SIMULATED patents-by-firm panel
# (seed in the script; 101 of 250 firms never patent). Tolerances: the Python solver is
# polished to machine precision and so is R's Newton, so estimates agree to 1e-9 relative
# (measured: 3e-14), llf to 1e-11 relative; OIM SEs come from two different numerical
# Hessians (central differences of the analytic score here, Richardson extrapolation in R),
# so 1e-7 relative (measured: 7e-10).

ZREF = json.loads((FIX / "zero_panels_reference.json").read_text())


def _zero_panel_data(name):
    if name == "salamanders":
        d = pd.read_csv(FIX / "salamander_panels.csv")
        return d["count"], d[["mined", "cover", "DOP", "Wtemp"]], d["panel"]
    d = pd.read_csv(FIX / "patents_firms.csv")
    return d["patents"], d[["lnrd", "big"]], d["firm"]


def _against(res, ref, rtol_b=1e-9, rtol_se=1e-7):
    names = [n.replace("const", "Intercept") for n in ref["params"]]
    assert list(res.params.index) == names
    np.testing.assert_allclose(res.params[names], list(ref["params"].values()),
                               rtol=rtol_b, atol=1e-10)
    np.testing.assert_allclose(res.bse[names], list(ref["se_oim"].values()), rtol=rtol_se)
    assert res.llf == pytest.approx(ref["llf"], rel=1e-11)
    assert (res.nobs, res.n_groups) == (ref["nobs"], ref["n_groups"])


@pytest.mark.parametrize("data", ["salamanders", "patents_firms"])
def test_xtnbreg_re_keeps_all_zero_panels_as_stata_does(data, recwarn):
    """HHG random effects: an all-zero panel has probability < 1 under the Beta mixture, so
    it is part of the likelihood; estimates, OIM SEs and llf equal the R transcription on ALL
    panels, no group is reported dropped and nothing warns about dropping."""
    ref = ZREF[data]
    assert ref["n_zero_groups"] > 50  # the fixture does exercise the point
    res = xt.xtnbreg_re(*_zero_panel_data(data))
    _against(res, ref["re_all"])
    assert res.dropped_groups == ()
    assert res.converged
    assert not [w for w in recwarn if "dropped" in str(w.message)]


@pytest.mark.parametrize("data", ["salamanders", "patents_firms"])
def test_dropping_all_zero_panels_would_move_xtnbreg_re_a_lot(data):
    """What the old behaviour cost: the re fit on the panels with a positive count equals R's
    fit on those panels, and its slopes differ from the all-panel fit by more than 30%
    (measured: 45% for 'mined', 51% for the R&D elasticity)."""
    ref = ZREF[data]
    y, X, g = _zero_panel_data(data)
    keep = ~pd.Series(g).isin(ref["zero_groups"]).to_numpy()
    dropped = xt.xtnbreg_re(y[keep], X[keep], g[keep])
    # R's Newton stopped at max|gradient| 1.5e-8 on the Salamanders subset: 1e-6 there
    _against(dropped, ref["re_dropped"], rtol_b=1e-6, rtol_se=1e-5)
    full = xt.xtnbreg_re(y, X, g)
    slope = X.columns[0]
    move = abs(dropped.params[slope] / full.params[slope] - 1)
    assert move > 0.3


@pytest.mark.parametrize("data", ["salamanders", "patents_firms"])
def test_xtnbreg_fe_drops_all_zero_panels_with_a_note(data):
    """Conditional NB: an all-zero panel adds exactly 0 to the log likelihood; it is dropped
    with Stata's note, listed in dropped_groups, and the fit equals R's on the other panels."""
    ref = ZREF[data]
    with pytest.warns(UserWarning, match=f"{ref['n_zero_groups']} group"):
        res = xt.xtnbreg_fe(*_zero_panel_data(data))
    assert sorted(map(str, res.dropped_groups)) == sorted(ref["zero_groups"])
    _against(res, ref["fe"])


@pytest.mark.needs_r
def test_zero_panel_fixture_regenerates(tmp_path):
    """make_zero_panels_fixtures.R reproduces the stored numbers and data (needs Rscript,
    glmmTMB, numDeriv, jsonlite)."""
    import subprocess

    subprocess.run(["Rscript", str(FIX / "make_zero_panels_fixtures.R"), str(tmp_path)],
                   check=True, capture_output=True)
    new = json.loads((tmp_path / "zero_panels_reference.json").read_text())
    for data, fits in ZREF.items():
        assert new[data]["zero_groups"] == fits["zero_groups"]
        for kind in ("re_all", "re_dropped", "fe"):
            for key in ("params", "se_oim"):
                for name, value in fits[kind][key].items():
                    assert new[data][kind][key][name] == pytest.approx(value, rel=1e-7), \
                        (data, kind, key, name)
    for f in ("salamander_panels.csv", "patents_firms.csv"):
        assert (tmp_path / f).read_text() == (FIX / f).read_text()


def test_all_zero_panels_are_not_clusters_of_poisson_fe():
    """Synthetic (as the test above): poisson_fe's docstring promises that an all-zero panel
    is not a cluster -- G counts the panels with a positive count, so the clustered SEs
    (with G/(G-1)) equal those of the fit without that panel; the conditional Poisson too."""
    rng = np.random.default_rng(7)
    g = np.repeat(np.arange(6), 5)
    x = rng.normal(size=30)
    y = rng.poisson(np.exp(0.5 + 0.3 * x + 0.2 * g))
    y[g == 0] = 0
    keep = g != 0
    for fn in (cp.poisson_fe, cp.conditional_poisson):
        with pytest.warns(UserWarning, match="1 group"):
            res = fn(y, pd.DataFrame({"x": x}), g, cov_type="cluster")
        ref = fn(y[keep], pd.DataFrame({"x": x[keep]}), g[keep], cov_type="cluster")
        assert res.n_groups == 5
        assert res.bse["x"] == pytest.approx(ref.bse["x"], rel=1e-10)
