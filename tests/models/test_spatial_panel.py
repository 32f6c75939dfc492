"""SAR fixed-effects panel against R (tests/fixtures/spatial/, made by make_spatial_fixtures.R).

The reference is spatialreg::lagsarlm on the two-way demeaned stacked data with a
block-diagonal listw (Elhorst's estimator before the Lee-Yu correction), an R transcription of
the Lee-Yu correction and the information matrix, and spatialreg::impacts for the
LeSage-Pace effects; the data are synthetic (make_sar_data.py). Tolerances: parameters,
log-likelihood and effects 1e-6 relative (R's optimiser stops at tol.opt = 1e-12 in rho);
the R effects' delta-method SEs use central differences (step 1e-6), 1e-5 relative.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from regrowth.errors import EstimationError, SpecificationError
from regrowth.models.spatial_panel import SpatialPanelLag

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "spatial"
REF = json.loads((FIX / "sar_fe.json").read_text())
IDS = [f"u{i + 1:02d}" for i in range(16)]
RTOL = 1e-6


@pytest.fixture(scope="module")
def data():
    return pd.read_csv(FIX / "sar_data.csv").set_index(["unit", "year"])


@pytest.fixture(scope="module")
def w():
    from libpysal.weights import full2W

    return full2W(np.loadtxt(FIX / "sar_w.csv", delimiter=","), ids=IDS)


def _fit(data, w, effects, lee_yu, **kw):
    return SpatialPanelLag(data["y"], data[["x1", "x2"]], w, effects=effects,
                           lee_yu=lee_yu).fit(**kw)


def _effects(res, kind):
    e = res.effects.set_index(["variable", "effect"])
    return e.xs(kind, level="effect").loc[["x1", "x2"]]


@pytest.mark.parametrize("effects", ["twoway", "entity"])
def test_uncorrected_equals_lagsarlm_on_demeaned_data(data, w, effects):
    ref = REF[effects]["elhorst"]
    res = _fit(data, w, effects, lee_yu=False)
    np.testing.assert_allclose(res.params[["x1", "x2"]], ref["beta"], rtol=RTOL)
    assert res.params["rho"] == pytest.approx(ref["rho"], rel=RTOL)
    assert res.sigma2 == pytest.approx(ref["sigma2"], rel=RTOL)
    assert res.llf == pytest.approx(ref["llf"], rel=RTOL)
    for kind in ("direct", "indirect", "total"):           # spatialreg::impacts
        np.testing.assert_allclose(_effects(res, kind)["estimate"], np.ravel(ref[kind]),
                                   rtol=RTOL)


def test_uncorrected_ses(data, w):
    """One-way: lagsarlm's analytic SEs exactly. Two-way: the R transcription of Elhorst's
    information matrix; lagsarlm's own SEs there also count the year dummies it needed, and
    differ by < 1.5 %."""
    ref = REF["entity"]["elhorst"]
    res = _fit(data, w, "entity", lee_yu=False)
    np.testing.assert_allclose(res.std_errors, [*ref["beta_se"], ref["rho_se"]], rtol=1e-6)
    ref = REF["twoway"]["elhorst"]
    res = _fit(data, w, "twoway", lee_yu=False)
    np.testing.assert_allclose(res.std_errors, ref["info_se"], rtol=1e-6)
    np.testing.assert_allclose(res.std_errors, [*ref["beta_se"], ref["rho_se"]], rtol=0.015)


@pytest.mark.parametrize("effects", ["twoway", "entity"])
def test_lee_yu_corrected_equals_r_transcription(data, w, effects):
    ref = REF[effects]["lee_yu"]
    res = _fit(data, w, effects, lee_yu=True)
    np.testing.assert_allclose(res.params[["x1", "x2"]], ref["beta"], rtol=RTOL)
    assert res.params["rho"] == pytest.approx(ref["rho"], rel=RTOL)
    assert res.sigma2 == pytest.approx(ref["sigma2"], rel=RTOL)
    np.testing.assert_allclose(res.std_errors, [*ref["beta_se"], ref["rho_se"]], rtol=RTOL)
    assert res.sigma2_se == pytest.approx(ref["sigma2_se"], rel=RTOL)
    for kind in ("direct", "indirect", "total"):
        got = _effects(res, kind)
        np.testing.assert_allclose(got["estimate"], ref["effects"][kind], rtol=RTOL)
        np.testing.assert_allclose(got["std_error"], ref["effects"][f"{kind}_se"], rtol=1e-5)


def test_correction_changes_what_it_should(data, w):
    raw = _fit(data, w, "twoway", lee_yu=False)
    bc = _fit(data, w, "twoway", lee_yu=True)
    # the two-way correction moves rho (order 1/N) and inflates sigma2 by more than T/(T-1)
    assert bc.params["rho"] - raw.params["rho"] > 0.05
    assert bc.sigma2 > raw.sigma2 * 10 / 9
    raw1 = _fit(data, w, "entity", lee_yu=False)
    bc1 = _fit(data, w, "entity", lee_yu=True)
    np.testing.assert_allclose(bc1.params, raw1.params, rtol=1e-12)
    assert bc1.sigma2 == pytest.approx(raw1.sigma2 * 10 / 9, rel=1e-12)
    assert bc.llf == raw.llf                                 # reported at the ML estimates


def test_direct_plus_indirect_is_total_and_simulation_ses(data, w):
    res = _fit(data, w, "twoway", lee_yu=True)
    e = res.effects
    for var in ("x1", "x2"):
        row = e[e["variable"] == var].set_index("effect")["estimate"]
        assert row["direct"] + row["indirect"] == pytest.approx(row["total"], rel=1e-12)
        assert row["total"] == pytest.approx(res.params[var] / (1 - res.params["rho"]),
                                             rel=1e-12)
    sim = _fit(data, w, "twoway", lee_yu=True, effects_se="simulation", draws=2000, seed=5)
    again = _fit(data, w, "twoway", lee_yu=True, effects_se="simulation", draws=2000, seed=5)
    pd.testing.assert_frame_equal(sim.effects, again.effects)
    np.testing.assert_allclose(sim.effects["estimate"], e["estimate"], rtol=1e-12)
    np.testing.assert_allclose(sim.effects["std_error"], e["std_error"], rtol=0.15)


def test_results_are_tidy_and_registered(data, w):
    from regrowth.models import registry
    from regrowth.report.tidy import tidy

    res = _fit(data, w, "twoway", lee_yu=True)
    frame = tidy(res)
    assert list(frame["term"]) == ["x1", "x2", "rho"]
    assert frame["std_error"].gt(0).all()
    entry = registry.get("sar_fe")
    assert entry.year_effects == "time_effects" and entry.province_effects == "implied"
    assert entry.option("weights").default == "contiguity"
    assert "information" in entry.se_types
    assert "Lee-Yu" in res.summary()
    from regrowth.models.design import fitted_effects

    eff = fitted_effects(res, frame["term"])
    assert eff["year"] and eff["province"]
    one_way = _fit(data, w, "entity", lee_yu=True)
    assert fitted_effects(one_way, ["x1"])["year"] is False


def test_bad_inputs(data, w):
    from libpysal.weights import full2W

    with pytest.raises(EstimationError, match="unbalanced"):
        SpatialPanelLag(data["y"].iloc[:-1], data[["x1", "x2"]].iloc[:-1], w)
    gap = data.copy()
    gap.iloc[3, gap.columns.get_loc("x1")] = np.nan
    with pytest.raises(EstimationError, match="missing"):
        SpatialPanelLag(gap["y"], gap[["x1", "x2"]], w)
    binary = full2W((np.loadtxt(FIX / "sar_w.csv", delimiter=",") > 0).astype(float), ids=IDS)
    with pytest.raises(SpecificationError, match="row-standardised"):
        SpatialPanelLag(data["y"], data[["x1", "x2"]], binary)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        small = full2W(np.loadtxt(FIX / "sar_w.csv", delimiter=",")[:15, :15], ids=IDS[:15])
    with pytest.raises(SpecificationError, match="u16"):
        SpatialPanelLag(data["y"], data[["x1", "x2"]], small)
    with pytest.raises(SpecificationError, match="constant"):
        SpatialPanelLag(data["y"], data[["x1"]].assign(c=1.0), w)


# ----------------------------------------------------------------------------- Moran vs spdep

def test_moran_equals_spdep_moran_test():
    from libpysal.weights import full2W

    from regrowth import spatial

    ref = json.loads((FIX / "moran.json").read_text())
    y = pd.read_csv(FIX / "moran_y.csv")["y"].to_numpy()
    w = full2W(np.loadtxt(FIX / "sar_w.csv", delimiter=","), ids=IDS)
    w.transform = "r"
    out = spatial.moran(pd.Series(y, index=IDS), w, permutations=999, seed=1).iloc[0]
    assert out["I"] == pytest.approx(ref["I"], rel=1e-10)
    assert out["I"] == pytest.approx(ref["mc_statistic"], rel=1e-10)
    assert out["expected_I"] == pytest.approx(ref["expected"], rel=1e-12)
    assert out["z_rand"] == pytest.approx((ref["I"] - ref["expected"]) / np.sqrt(ref["var_rand"]),
                                          rel=1e-8)
    assert out["z"] == pytest.approx((ref["I"] - ref["expected"]) / np.sqrt(ref["var_norm"]),
                                     rel=1e-8)
    # spdep reports the one-sided "greater" p; ours is two-sided
    assert out["p_rand"] == pytest.approx(2 * ref["p_rand_greater"], rel=1e-6)
    # permutation p: a different generator, so only the same neighbourhood
    assert abs(out["p_sim"] - ref["mc_p_greater"]) < 0.03
