"""regrowth.fit: which panel a column reads, and what a failed fit on a shrunk sample says.

Macro-region tables (``unit = "macro_region"``) are fitted on the macro-region panel, and a
column given the other units' panel is refused. A regressor observed in only part of the
years shrinks the estimation sample by listwise deletion; a flag that is 1 only outside the
remaining years (``sejong_break``) is then all zero, and the estimator's own message ("exog is
rank deficient") names neither. The package's message says from how many rows to how many,
which variable's missing values did it, and which regressors no longer vary (issue 20,
item 4).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from regrowth import fit, regions
from regrowth.errors import EstimationError, SpecificationError
from regrowth.fit import fit_column, sample_shrinkage
from regrowth.specs import ColumnSpec, Sample

SEED = 20181121


@pytest.fixture(scope="module")
def panel():
    """Seeded 8 provinces x 2002-2017; ``rnd`` observed from 2014 only; ``sejong_break`` is 1
    for one province in 2012-13 only."""
    rng = np.random.default_rng(SEED)
    keys = [r.key for r in regions.REGIONS][:8]
    idx = pd.MultiIndex.from_product([keys, range(2002, 2018)], names=["region", "year"])
    n = len(idx)
    years = idx.get_level_values("year")
    x = rng.normal(size=n)
    brk = ((idx.get_level_values("region") == keys[3]) & years.isin([2012, 2013])).astype(float)
    rnd = np.where(years >= 2014, rng.normal(size=n), np.nan)
    return pd.DataFrame({"x": x, "rnd": rnd, "sejong_break": brk,
                         "growth": 1 + 0.5 * x + brk + rng.normal(size=n)}, index=idx)


def _spec(regressors, estimator="fgls"):
    return ColumnSpec(table="t", id="c", label="(1)", title="T", estimator=estimator,
                      outcome="growth", regressors=tuple(regressors), sample=Sample(2002, 2017),
                      se_type="conventional", rationale="test",
                      options={"panels": "hetero", "corr": "ar1"})


def test_sample_shrinkage_counts_rows_missing_values_and_constant_regressors(panel):
    info = sample_shrinkage(_spec(["x", "rnd", "sejong_break"]), panel)
    assert (info["window"], info["kept"]) == (128, 32)          # 8 x 16 -> 8 x 4 years
    assert info["missing"] == {"rnd": 96}
    assert info["constant"] == {"sejong_break": 0.0}
    assert info["years"] == "2014–2017"


def test_a_shrunk_sample_with_an_all_zero_regressor_is_explained_not_rank_deficient(panel):
    with pytest.raises(SpecificationError) as err:
        fit_column(_spec(["x", "rnd", "sejong_break"]), panel)
    text = str(err.value)
    assert "t/c" in text
    assert "shrank from 128 to 32 rows" in text
    assert "'rnd' missing in 96" in text
    assert "'sejong_break' is all zero" in text
    assert "2014–2017" in text
    assert "specs/models.toml" in text                          # what to do
    assert isinstance(err.value.__cause__, EstimationError)    # the estimator's error is kept


@pytest.mark.parametrize("regressors", [["x", "dup"], ["x", "dup", "rnd"]])
def test_a_failure_with_no_constant_regressor_keeps_the_estimators_own_error(panel, regressors):
    """Collinear but varying regressors: nothing to name, on the full or a shrunk sample."""
    data = panel.assign(dup=panel["x"] * 2.0)
    with pytest.raises(EstimationError, match="rank deficient"):
        fit_column(_spec(regressors), data)


def test_a_fit_that_works_is_unchanged_by_the_check(panel):
    fitted = fit_column(_spec(["x", "rnd"]), panel)
    assert fitted.stats["nobs"] == 32 and fitted.stats["dropped_missing"] == 96


def _macro_panel():
    """SYNTHETIC macro-region panel shaped like regrowth.panel.load_macro's."""
    keys = list(regions.MACRO_REGIONS)
    idx = pd.MultiIndex.from_product([keys, range(2010, 2016)], names=["macro_region", "year"])
    rng = np.random.default_rng(1)
    return pd.DataFrame({"y": rng.poisson(50, len(idx)).astype(float),
                         "x": rng.normal(size=len(idx))}, index=idx)


def _macro_spec(unit):
    return ColumnSpec(table="t", id="c", label="(1)", title="P", estimator="poisson",
                      outcome="y", regressors=("x",), sample=Sample(2010, 2015),
                      se_type="cluster", rationale="test", se_groups="macro_region", unit=unit)


def test_the_macro_panel_is_given_the_shape_every_fit_reads():
    m = fit.macro_fit_panel(_macro_panel())
    assert m.index.names == ["region", "year"]
    assert (m["macro_region"].to_numpy() == m.index.get_level_values("region").to_numpy()).all()
    capital = m.xs("capital", level="region")["capital_region"]
    assert (capital == 1).all() and m["capital_region"].sum() == len(capital)


def test_a_macro_region_column_is_fitted_on_the_seven_units_and_says_so():
    m = fit.macro_fit_panel(_macro_panel())
    f = fit.fit_column(_macro_spec("macro_region"), m)
    assert f.stats["n_macro_regions"] == 7 and "n_entities" not in f.stats
    assert f.stats["se"] == "clustered by macro-region"
    assert "7 clusters" in f.stats["inference"]


def test_a_column_given_the_other_units_panel_is_refused():
    m = fit.macro_fit_panel(_macro_panel())
    with pytest.raises(SpecificationError, match="province column was given the macro-region panel"):
        fit.fit_column(_macro_spec("region"), m)
    assert fit.panel_for(_macro_spec("macro_region"), "provinces", m) is m
    with pytest.raises(SpecificationError, match="make panel"):
        fit.panel_for(_macro_spec("macro_region"), "provinces", None)


# ----------------------------------------------------------------------------- spatial columns

BOUNDARY_FILE = "skorea-provinces-2018-topo-simple.json"


@pytest.fixture()
def boundaries(data_mirror, monkeypatch):
    """The KOSTAT boundary file of the data mirror, as the default the fits read."""
    from regrowth import spatial

    path = data_mirror / "kostat_boundaries" / BOUNDARY_FILE
    if not path.is_file():
        pytest.skip(f"{path} not in the data mirror")
    monkeypatch.setattr(spatial, "DEFAULT_BOUNDARIES", path)
    return path


def _province_panel(seed=4):
    """SYNTHETIC panel of the 16 provinces without Sejong, 2001-2010, with a 0/1 flag."""
    keys = [k for k in regions.keys() if k != "sejong"]
    idx = pd.MultiIndex.from_product([keys, range(2001, 2011)], names=["region", "year"])
    rng = np.random.default_rng(seed)
    n = len(idx)
    frame = pd.DataFrame({"x1": rng.normal(40, 10, n), "x2": rng.normal(size=n),
                          "flag": 0.0}, index=idx)
    frame.loc[("chungnam", 2005), "flag"] = 1.0
    frame["y"] = 0.05 * frame["x1"] + frame["x2"] + rng.normal(size=n)
    return frame


def _linear(estimator="fe", se_type="cluster", groups="region", **kw):
    return ColumnSpec(table="t", id="c", label="(1)", title="FE", estimator=estimator,
                      outcome="y", regressors=kw.pop("regressors", ("x1", "x2")),
                      sample=kw.pop("sample", Sample(2001, 2010, (), ("flag",))),
                      se_type=se_type, rationale="test", se_groups=groups,
                      year_effects=True, province_effects=estimator == "fe", **kw)


def test_slx_regressors_are_the_neighbours_mean_with_flagged_rows_still_neighbours(boundaries):
    from regrowth import spatial

    panel = _province_panel()
    spec = _linear(regressors=("x1", "x2", "w_x1"), slx=("x1",))
    data, dropped = fit.estimation_sample(spec, panel)
    assert ("chungnam", 2005) not in data.index and dropped == 0 and len(data) == 159
    w = spatial.weights("contiguity", path=boundaries,
                        ids=[k for k in regions.keys() if k != "sejong"])  # row-standardised
    for year in (2005, 2009):                      # 2005: Chungnam flagged, still a neighbour
        x = panel.xs(year, level="year")["x1"]
        for key in ("daejeon", "seoul", "jeju"):
            expect = np.mean([x[j] for j in w.neighbors[key]])
            assert data.loc[(key, year), "w_x1"] == pytest.approx(expect, rel=1e-12)
    f = fit.fit_column(spec, panel)
    assert "w_x1" in set(f.coefs["term"])


def test_slx_bad_input_names_the_key(boundaries, tmp_path, monkeypatch):
    from regrowth import spatial

    panel = _province_panel()
    with pytest.raises(SpecificationError, match=r"t/c: key 'slx': 'x9' is not a panel column"):
        fit.estimation_sample(_linear(regressors=("x1", "w_x9"), slx=("x9",)), panel)
    # a boundary file without Jeju: the province is named, with the column and the key
    frame = spatial.read_boundaries(boundaries).drop(index="jeju").reset_index(drop=True)
    frame["name"] = frame["name_file"]
    cut = tmp_path / "no_jeju.geojson"
    frame[["code", "name", "geometry"]].to_file(cut, driver="GeoJSON")
    monkeypatch.setattr(spatial, "DEFAULT_BOUNDARIES", cut)
    with pytest.raises(SpecificationError) as err:
        fit.estimation_sample(_linear(regressors=("x1", "w_x1"), slx=("x1",)), panel)
    msg = str(err.value)
    assert "t/c: key 'slx'" in msg and "missing from the boundary file: jeju" in msg
    # the Conley and spatial-lag columns name the province too
    from regrowth.errors import DataError

    for spec in (_linear(se_type="conley", groups=None),
                 _linear(estimator="sar_fe", se_type="information", groups=None,
                         sample=Sample(2001, 2010))):
        with pytest.raises(DataError, match=r"missing from the boundary file: jeju \(code 39"):
            fit.fit_column(spec, panel)


def test_conley_column_equals_spatial_conley_fe_with_normal_inference(boundaries):
    from scipy import stats

    from regrowth import spatial

    panel = _province_panel()
    spec = _linear(se_type="conley", groups=None,
                   options={"cutoff_km": 200.0, "lag_cutoff": 1})
    f = fit.fit_column(spec, panel)
    data, _ = fit.estimation_sample(spec, panel)
    ref = spatial.conley_fe(data, "y", ["x1", "x2"], 200.0, lag_cutoff=1, path=boundaries)
    rows = f.coefs.set_index("term").loc[["x1", "x2"]]
    np.testing.assert_allclose(rows["estimate"], ref["estimate"], rtol=1e-10)
    np.testing.assert_allclose(rows["std_error"], ref["std_error"], rtol=1e-10)
    np.testing.assert_allclose(rows["p_value"], 2 * stats.norm.sf(np.abs(ref["z"])), rtol=1e-10)
    assert f.stats["inference"] == "normal"
    assert f.stats["se"] == "Conley spatial HAC, 200 km, 1 year serial"


def test_a_spatial_lag_column_shows_its_direct_indirect_and_total_effects(boundaries):
    panel = _province_panel()
    spec = _linear(estimator="sar_fe", se_type="information", groups=None,
                   sample=Sample(2001, 2010), regressors=("x1", "x2", "flag"))
    f = fit.fit_column(spec, panel)
    eff = f.result.effects.set_index(["variable", "effect"])
    rows = f.coefs.set_index(["term", "equation"])
    for var in ("x1", "x2"):
        for kind in ("direct", "indirect", "total"):
            assert rows.loc[(var, kind), "estimate"] == eff.loc[(var, kind), "estimate"]
            assert rows.loc[(var, kind), "std_error"] == eff.loc[(var, kind), "std_error"]
    assert rows.loc[("rho", "main"), "estimate"] == f.result.rho


def test_a_resource_warning_during_a_fit_is_not_recorded_as_the_fits_warning(monkeypatch):
    """The garbage collector closing something another part of the process left open (an
    event loop of an earlier Dask run) is no warning of this fit: the record must not depend
    on what ran before."""
    import warnings

    from regrowth.models import registry

    m = fit.macro_fit_panel(_macro_panel())
    spec = _macro_spec("macro_region")
    entry = registry.get(spec.estimator)
    real = entry.fit

    def noisy(s, data):
        warnings.warn("unclosed event loop", ResourceWarning)
        warnings.warn("a warning of the fit itself", UserWarning)
        return real(s, data)

    import dataclasses

    monkeypatch.setattr(fit.registry, "get", lambda name: dataclasses.replace(entry, fit=noisy))
    f = fit.fit_column(spec, m)
    assert f.warnings == ["UserWarning: a warning of the fit itself"]


def test_a_full_edition_column_without_its_download_is_left_out_of_the_analyses():
    import dataclasses

    m = fit.macro_fit_panel(_macro_panel())
    public = _macro_spec("macro_region")
    assert not fit.awaits_download(public, m)
    full = dataclasses.replace(public, edition="full")
    assert not fit.awaits_download(full, m)                          # everything it reads is there
    needs = dataclasses.replace(full, regressors=("x", "patents_all"))
    assert fit.awaits_download(needs, m)                              # its download is missing
    assert not fit.awaits_download(dataclasses.replace(needs, edition="public"), m)
