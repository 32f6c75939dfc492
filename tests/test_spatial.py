"""regrowth.spatial: weights from the KOSTAT boundaries, Moran's I, Conley SEs, spatial lags.

The weights are checked against known facts of the 2018 boundaries (29 shared borders, Jeju's
nearest province Jeonnam ~170 km) and against libpysal's own Queen/Rook builders; Moran's I
against esda called directly and the textbook formula; Conley's covariance against a
brute-force double loop written from Hsiang (2010)'s definition.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from regrowth import regions, spatial
from regrowth.errors import DataError, MissingInputError

BOUNDARY_FILE = "skorea-provinces-2018-topo-simple.json"


@pytest.fixture(scope="module")
def boundary_path(data_mirror):
    path = data_mirror / "kostat_boundaries" / BOUNDARY_FILE
    if not path.is_file():
        pytest.skip(f"{path} not in the data mirror")
    return path


@pytest.fixture(scope="module")
def w_cont(boundary_path):
    return spatial.weights("contiguity", path=boundary_path)


def _pairs(w) -> set[frozenset]:
    return {frozenset((i, j)) for i in w.neighbors for j in w.neighbors[i]}


# ----------------------------------------------------------------------------- weights

def test_contiguity_has_29_borders_plus_jejus_link(w_cont, boundary_path):
    pairs = _pairs(w_cont)
    assert len(pairs) == 30
    assert w_cont.neighbors["jeju"] == ["jeonnam"]
    assert "jeju" in w_cont.neighbors["jeonnam"]           # symmetric link
    assert sorted(w_cont.neighbors["sejong"]) == ["chungbuk", "chungnam", "daejeon"]
    assert sorted(w_cont.neighbors["seoul"]) == ["gyeonggi", "incheon"]
    with pytest.warns(spatial.IslandWarning, match="jeju"):
        w_none = spatial.weights("contiguity", path=boundary_path, island="none")
    assert len(_pairs(w_none)) == 29
    assert w_none.neighbors["jeju"] == []
    assert pairs - _pairs(w_none) == {frozenset(("jeju", "jeonnam"))}


def test_contiguity_equals_libpysal_queen_and_rook(boundary_path, w_cont):
    from libpysal.weights import Queen, Rook

    frame = spatial.read_boundaries(boundary_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        queen = Queen.from_dataframe(frame.reset_index(), ids=list(frame.index), use_index=False)
        rook = Rook.from_dataframe(frame.reset_index(), ids=list(frame.index), use_index=False)
    assert _pairs(queen) == _pairs(rook)
    assert _pairs(queen) | {frozenset(("jeju", "jeonnam"))} == _pairs(w_cont)


def test_ids_are_province_keys_in_code_order_and_rows_sum_to_one(w_cont):
    assert list(w_cont.id_order) == list(regions.keys())
    full, ids = w_cont.full()
    np.testing.assert_allclose(full.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    # the weights of a row are 1 / (number of neighbours)
    i = ids.index("sejong")
    assert full[i, ids.index("daejeon")] == pytest.approx(1 / 3, abs=1e-12)
    assert full[i, ids.index("seoul")] == 0


def test_read_boundaries_joins_by_code_and_repairs_geometry(boundary_path):
    frame = spatial.read_boundaries(boundary_path)
    assert list(frame.index) == list(regions.keys())
    assert frame.loc["jeju", "code"] == "39" and frame.loc["sejong", "code"] == "29"
    assert frame.geometry.is_valid.all()
    assert set(frame.geom_type) <= {"Polygon", "MultiPolygon"}
    assert frame.crs.to_epsg() == 4326


def test_subset_without_sejong(boundary_path):
    keys16 = [k for k in regions.keys() if k != "sejong"]
    w16 = spatial.weights(path=boundary_path, ids=keys16)
    assert list(w16.id_order) == keys16
    assert len(_pairs(w16)) == 29 - 3 + 1                  # Sejong's 3 borders gone, Jeju's link kept
    assert sorted(w16.neighbors["daejeon"]) == ["chungbuk", "chungnam"]


def test_knn_and_inverse_distance_use_projected_centroids(boundary_path):
    w1 = spatial.weights("knn", path=boundary_path, k=1)
    assert w1.neighbors["jeju"] == ["jeonnam"]
    assert all(len(v) == 1 for v in w1.neighbors.values())
    xy = spatial.centroids_km(spatial.read_boundaries(boundary_path))
    d = np.hypot(*(xy.loc["jeju"] - xy.loc["jeonnam"]))
    assert 160 < d < 180                                     # ~170 km across the strait
    wd = spatial.weights("distance", path=boundary_path, transform="b")
    j = wd.neighbors["seoul"].index("busan")
    d_sb = np.hypot(*(xy.loc["seoul"] - xy.loc["busan"]))
    assert 300 < d_sb < 340                                  # Seoul-Busan ~325 km, not degrees
    assert wd.weights["seoul"][j] == pytest.approx(1 / d_sb, rel=1e-12)
    assert len(wd.neighbors["seoul"]) == 16
    wr = spatial.weights("distance", path=boundary_path)
    np.testing.assert_allclose(wr.full()[0].sum(axis=1), 1.0, atol=1e-12)
    wc = spatial.weights("distance", path=boundary_path, cutoff_km=200, transform="b")
    assert "busan" not in wc.neighbors["seoul"]


# ----------------------------------------------------------------------------- bad input

def _write_geojson(src, dst, edit):
    import geopandas as gpd

    frame = gpd.read_file(src)
    frame = edit(frame)
    dst.write_text(frame.to_json())
    return dst


def test_missing_province_names_file_province_and_code(boundary_path, tmp_path):
    path = _write_geojson(boundary_path, tmp_path / "no_jeju.geojson",
                          lambda f: f[f["code"] != "39"])
    with pytest.raises(DataError) as err:
        spatial.weights(path=path)
    msg = str(err.value)
    assert "no_jeju.geojson" in msg and "jeju" in msg and "code 39" in msg
    assert "What to do" in msg
    # leaving the province out explicitly works
    w = spatial.weights(path=path, ids=[k for k in regions.keys() if k != "jeju"])
    assert len(_pairs(w)) == 29


def test_boundaries_frame_missing_a_province(boundary_path):
    frame = spatial.read_boundaries(boundary_path).drop(index="ulsan")
    with pytest.raises(DataError, match="ulsan"):
        spatial.weights(boundaries=frame)


def test_unknown_code_is_named(boundary_path, tmp_path):
    def edit(f):
        f = f.copy()
        f.loc[f["code"] == "29", "code"] = "36110"   # Sejong's 시군구-style code
        return f
    path = _write_geojson(boundary_path, tmp_path / "bad_code.geojson", edit)
    with pytest.raises(DataError, match=r"bad_code\.geojson.*'36110'"):
        spatial.read_boundaries(path)


@pytest.mark.parametrize("content", ["region,code\nseoul,11\n",
                                     json.dumps({"type": "Feature", "properties": {}})])
def test_not_topojson_or_geojson(tmp_path, content):
    path = tmp_path / "provinces.csv"
    path.write_text(content)
    with pytest.raises(DataError, match=r"provinces\.csv.*(TopoJSON|JSON)"):
        spatial.weights(path=path)


def test_missing_file_says_make_data(tmp_path):
    with pytest.raises(MissingInputError, match="make data"):
        spatial.read_boundaries(tmp_path / "absent.json")


def test_default_path_is_the_acquired_raw_file():
    assert str(spatial.DEFAULT_BOUNDARIES) == \
        "data/raw/kostat_boundaries/skorea-provinces-2018-topo-simple.json"


# ----------------------------------------------------------------------------- Moran

def _residual_panel(keys, years, seed=3):
    rng = np.random.default_rng(seed)
    idx = pd.MultiIndex.from_product([keys, years], names=["region", "year"])
    return pd.Series(rng.standard_normal(len(idx)), index=idx)


def test_moran_by_year_equals_esda_and_the_formula(w_cont):
    from esda.moran import Moran

    u = _residual_panel(list(regions.keys()), [2015, 2016, 2017])
    out = spatial.moran(u, w_cont, permutations=499, seed=7)
    assert list(out["scope"]) == ["year"] * 3 + ["pooled"]
    row = out[out["year"] == 2016].iloc[0]
    y = u.xs(2016, level="year").loc[list(w_cont.id_order)].to_numpy()
    np.random.seed(7)
    ref = Moran(y, w_cont, permutations=499)
    assert row["I"] == pytest.approx(ref.I, rel=1e-12)
    assert row["p_sim"] == pytest.approx(ref.p_sim, abs=0)
    assert row["p_norm"] == pytest.approx(ref.p_norm, rel=1e-12)
    assert row["z"] == pytest.approx(ref.z_norm, rel=1e-12)
    # textbook formula with the row-standardised W: I = n/S0 z'Wz / z'z, S0 = n
    full = w_cont.full()[0]
    z = y - y.mean()
    assert row["I"] == pytest.approx(z @ full @ z / (z @ z), rel=1e-12)
    assert row["expected_I"] == pytest.approx(-1 / 16, rel=1e-12)
    assert row["n"] == 17 and row["permutations"] == 499 and row["seed"] == 7


def test_moran_pooled_is_block_diagonal(w_cont):
    from esda.moran import Moran
    from libpysal.weights import full2W
    from scipy.linalg import block_diag

    years = [2014, 2015, 2016, 2017]
    u = _residual_panel(list(regions.keys()), years, seed=11)
    out = spatial.moran(u, w_cont, permutations=99, seed=1)
    pooled = out[out["scope"] == "pooled"].iloc[0]
    full = w_cont.full()[0]
    big = block_diag(*[full] * len(years))
    y = np.concatenate([u.xs(t, level="year").loc[list(w_cont.id_order)].to_numpy()
                        for t in years])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                      # "not fully connected": 4 blocks
        wbig = full2W(big)
    ref = Moran(y, wbig, permutations=0)
    assert pooled["I"] == pytest.approx(ref.I, rel=1e-12)
    assert pooled["n"] == 17 * len(years)
    z = y - y.mean()
    assert pooled["I"] == pytest.approx(z @ big @ z / (z @ z), rel=1e-12)


def test_moran_detects_a_spatial_pattern_and_seed_reproduces(w_cont):
    full = w_cont.full()[0]
    rng = np.random.default_rng(5)
    eps = rng.standard_normal(17)
    y = np.linalg.solve(np.eye(17) - 0.8 * full, eps)      # strong positive dependence
    s = pd.Series(y, index=list(w_cont.id_order))
    a = spatial.moran(s, w_cont, permutations=999, seed=3)
    b = spatial.moran(s, w_cont, permutations=999, seed=3)
    pd.testing.assert_frame_equal(a, b)
    assert len(a) == 1 and a["year"].iloc[0] == -1           # one cross-section, no pooled row
    assert a["I"].iloc[0] > 0.2


def test_moran_subsets_w_to_the_years_provinces(w_cont):
    from esda.moran import Moran

    keys = [k for k in regions.keys() if k != "sejong"]
    u = _residual_panel(keys, [2011, 2012])
    out = spatial.moran(u, w_cont, permutations=0, pooled=False)
    w16 = spatial._subset(w_cont, keys)
    assert sorted(w16.neighbors["daejeon"]) == ["chungbuk", "chungnam"]
    y = u.xs(2011, level="year").loc[keys].to_numpy()
    assert out["I"].iloc[0] == pytest.approx(Moran(y, w16, permutations=0).I, rel=1e-12)
    with pytest.raises(ValueError, match="nowhere|seoul|ids="):
        bad = u.rename(index={"seoul": "nowhere"}, level="region")
        spatial.moran(bad, spatial._subset(w_cont, keys[1:]))


# ----------------------------------------------------------------------------- Conley

def _conley_brute(X, u, coords, cutoff, kernel, time, entity, lag_cutoff):
    """Hsiang (2010)'s definition, one pair at a time."""
    n, k = X.shape
    meat = np.zeros((k, k))
    for a in range(n):
        for b in range(n):
            if time[a] == time[b]:
                d = np.sqrt((coords[a, 0] - coords[b, 0]) ** 2 + (coords[a, 1] - coords[b, 1]) ** 2)
                if d < cutoff:
                    wgt = 1.0 - d / cutoff if kernel == "bartlett" else 1.0
                else:
                    wgt = 0.0
            elif entity[a] == entity[b] and abs(time[a] - time[b]) <= lag_cutoff:
                wgt = 1.0 - abs(time[a] - time[b]) / (lag_cutoff + 1)
            else:
                wgt = 0.0
            if wgt:
                meat += wgt * u[a] * u[b] * np.outer(X[a], X[b])
    bread = np.linalg.inv(X.T @ X)
    return bread @ meat @ bread


@pytest.mark.parametrize("kernel,lag", [("bartlett", 0), ("bartlett", 2), ("uniform", 1)])
def test_conley_equals_brute_force(kernel, lag):
    rng = np.random.default_rng(42)
    units, periods = 9, 5
    xy = rng.uniform(0, 400, size=(units, 2))
    entity = np.repeat(np.arange(units), periods)
    time = np.tile(np.arange(2010, 2010 + periods), units)
    coords = xy[entity]
    X = np.column_stack([np.ones(units * periods), rng.standard_normal((units * periods, 2))])
    u = rng.standard_normal(units * periods)
    ours = spatial.conley_cov(X, u, coords, 250.0, kernel=kernel, time=time, entity=entity,
                              lag_cutoff=lag)
    ref = _conley_brute(X, u, coords, 250.0, kernel, time, entity, lag)
    np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=0)


def test_conley_with_tiny_cutoff_is_white_hc0():
    rng = np.random.default_rng(1)
    X = np.column_stack([np.ones(30), rng.standard_normal(30)])
    u = rng.standard_normal(30)
    coords = rng.uniform(0, 100, size=(30, 2))
    bread = np.linalg.inv(X.T @ X)
    hc0 = bread @ (X.T * u ** 2) @ X @ bread
    np.testing.assert_allclose(spatial.conley_cov(X, u, coords, 1e-9), hc0, rtol=1e-12)
    with pytest.raises(ValueError, match="entity"):
        spatial.conley_cov(X, u, coords, 10, lag_cutoff=1, time=np.arange(30))


# ----------------------------------------------------------------------------- SLX

def test_spatial_lag_is_neighbours_mean_by_year(w_cont):
    keys = list(regions.keys())
    idx = pd.MultiIndex.from_product([keys, [2016, 2017]], names=["region", "year"])
    x = pd.Series(np.arange(len(idx), dtype=float) ** 1.5, index=idx)
    panel = pd.DataFrame({"x": x, "z": -x})
    out = spatial.spatial_lag(panel, ["x", "z"], w_cont)
    assert out.index.equals(panel.index)
    for year in (2016, 2017):
        expect = np.mean([x[("incheon", year)], x[("gyeonggi", year)]])
        assert out.loc[("seoul", year), "w_x"] == pytest.approx(expect, rel=1e-12)
        assert out.loc[("jeju", year), "w_x"] == pytest.approx(x[("jeonnam", year)], rel=1e-12)
    np.testing.assert_allclose(out["w_z"], -out["w_x"], rtol=1e-12)
    flat = spatial.spatial_lag(panel.reset_index(), "x", w_cont)
    np.testing.assert_allclose(flat["w_x"].to_numpy(), out["w_x"].to_numpy(), rtol=1e-12)


def test_conley_fe_slopes_equal_panelols_and_use_conley_cov():
    from linearmodels import PanelOLS

    rng = np.random.default_rng(9)
    keys = list(regions.keys())[:12]
    idx = pd.MultiIndex.from_product([keys, range(2005, 2013)], names=["region", "year"])
    coords = pd.DataFrame(rng.uniform(0, 300, (12, 2)), index=keys, columns=["x_km", "y_km"])
    x1 = rng.standard_normal(len(idx))
    x2 = rng.standard_normal(len(idx))
    effect = np.repeat(rng.standard_normal(12), 8)
    panel = pd.DataFrame({"x1": x1, "x2": x2,
                          "y": 0.5 * x1 - 0.2 * x2 + effect + rng.standard_normal(len(idx))},
                         index=idx)
    unbalanced = panel.drop(index=[("seoul", 2007), ("busan", 2011)])
    out = spatial.conley_fe(unbalanced, "y", ["x1", "x2"], 150.0, coords=coords, lag_cutoff=1)
    ref = PanelOLS.from_formula("y ~ x1 + x2 + EntityEffects + TimeEffects", unbalanced).fit()
    np.testing.assert_allclose(out["estimate"], ref.params[["x1", "x2"]], rtol=1e-10)
    # balanced: FWL residuals = the two-way within transformation
    bal = spatial.conley_fe(panel, "y", ["x1", "x2"], 150.0, coords=coords, lag_cutoff=1)
    cube = panel[["y", "x1", "x2"]].to_numpy().reshape(12, 8, 3)
    within = (cube - cube.mean(axis=1, keepdims=True) - cube.mean(axis=0, keepdims=True)
              + cube.mean(axis=(0, 1), keepdims=True)).reshape(-1, 3)
    b = np.linalg.lstsq(within[:, 1:], within[:, 0], rcond=None)[0]
    u = within[:, 0] - within[:, 1:] @ b
    xy = coords.loc[panel.index.get_level_values(0)].to_numpy()
    cov = _conley_brute(within[:, 1:], u, xy, 150.0, "bartlett",
                        panel.index.get_level_values(1).to_numpy(),
                        panel.index.get_level_values(0).to_numpy(), 1)
    np.testing.assert_allclose(bal["std_error"], np.sqrt(np.diag(cov)), rtol=1e-9)


def test_slx_lags_equal_libpysal_lag_spatial_on_the_row_standardised_w(w_cont, boundary_path):
    from libpysal.weights import lag_spatial

    keys = [k for k in regions.keys() if k != "sejong"]
    rng = np.random.default_rng(3)
    idx = pd.MultiIndex.from_product([keys, [2015, 2016, 2017]], names=["region", "year"])
    panel = pd.DataFrame({"x": rng.normal(40, 15, len(idx)), "z": rng.normal(size=len(idx))},
                         index=idx).sample(frac=1.0, random_state=1)   # any row order
    out = spatial.slx_lags(panel, ["x", "z"], path=boundary_path)
    assert out.index.equals(panel.index) and list(out.columns) == ["w_x", "w_z"]
    w16 = spatial.weights("contiguity", path=boundary_path, ids=keys)   # row-standardised
    for year in (2015, 2016, 2017):
        for var in ("x", "z"):
            x = panel.xs(year, level="year")[var].reindex(w16.id_order)
            ref = lag_spatial(w16, x.to_numpy())
            ours = out.xs(year, level="year")[f"w_{var}"].reindex(w16.id_order).to_numpy()
            np.testing.assert_allclose(ours, ref, rtol=1e-12)


def test_slx_lags_average_the_observed_neighbours_of_a_hand_built_w():
    from libpysal.weights import W

    # a - b - c - d in a line, and a - c: binary weights
    w = W({"a": ["b", "c"], "b": ["a", "c"], "c": ["a", "b", "d"], "d": ["c"]},
          silence_warnings=True)
    idx = pd.MultiIndex.from_product([list("abcd"), [1, 2]], names=["region", "year"])
    x = pd.Series([1.0, 10.0, 2.0, 20.0, 4.0, np.nan, 8.0, 80.0], index=idx)
    out = spatial.slx_lags(pd.DataFrame({"x": x}), "x", w=w)["w_x"]
    expect = {("a", 1): (2 + 4) / 2, ("b", 1): (1 + 4) / 2, ("c", 1): (1 + 2 + 8) / 3,
              ("d", 1): 4.0,
              # year 2: c is missing, so it leaves every neighbour set; d has no other
              ("a", 2): 20.0, ("b", 2): 10.0, ("c", 2): (10 + 20 + 80) / 3, ("d", 2): np.nan}
    for key, value in expect.items():
        if np.isnan(value):
            assert np.isnan(out[key])
        else:
            assert out[key] == pytest.approx(value, rel=1e-14)
    with pytest.raises(DataError, match=r"\['e'\] are not in the spatial weights"):
        idx_e = pd.MultiIndex.from_tuples([("e", 1), ("a", 1)], names=["region", "year"])
        spatial.slx_lags(pd.DataFrame({"x": [1.0, 2.0]}, index=idx_e), "x", w=w)
    with pytest.raises(KeyError, match="'y'"):
        spatial.slx_lags(pd.DataFrame({"x": x}), ["y"], w=w)
# ----------------------------------------------------------------------------- simplification

def test_simplified_boundaries_keep_every_shared_border(boundary_path):
    """The coverage simplification keeps the 29 borders shared: the same contiguous pairs,
    each still a line of positive length, and no overlap or gap between neighbours."""
    import shapely

    full = spatial.read_boundaries(boundary_path)
    simple = spatial.simplify_boundaries(full, 500)
    assert simple.crs.equals(spatial.PROJECTED_CRS) and list(simple.index) == list(full.index)
    assert shapely.coverage_is_valid(simple.geometry.values)
    assert shapely.is_valid(simple.geometry.values).all()
    n_full = shapely.get_num_coordinates(full.geometry.values).sum()
    n_simple = shapely.get_num_coordinates(simple.geometry.values).sum()
    assert n_full == 30_571 and n_simple < 0.3 * n_full
    # every island kept, every area within 1% of the original
    assert list(shapely.get_num_geometries(simple.geometry.values)) == \
        list(shapely.get_num_geometries(full.geometry.values))
    area = simple.area / full.to_crs(spatial.PROJECTED_CRS).area
    assert ((area - 1).abs() < 0.01).all(), area
    w_full = spatial.weights("contiguity", boundaries=full, island="nearest")
    pairs = _pairs(w_full) - {frozenset(("jeju", "jeonnam"))}
    assert len(pairs) == 29
    geom = simple.geometry
    for pair in pairs:
        i, j = sorted(pair)
        shared = shapely.intersection(geom[i], geom[j])
        assert shared.length > 1_000, (i, j, shared.length)          # a border, not a point
        assert shapely.area(shared) < 1.0, (i, j)                      # and no overlap
    simple_adj = spatial.weights("contiguity", boundaries=simple.to_crs("EPSG:4326"))
    assert _pairs(simple_adj) == _pairs(w_full)


def test_simplify_tolerance_zero_and_bad_input(boundary_path):
    import shapely
    from shapely.affinity import translate

    full = spatial.read_boundaries(boundary_path)
    same = spatial.simplify_boundaries(full, 0)
    assert shapely.equals_exact(same.geometry.values,
                                full.to_crs(spatial.PROJECTED_CRS).geometry.values, 0).all()
    with pytest.raises(ValueError, match="tolerance_m"):
        spatial.simplify_boundaries(full, -1)
    moved = full.to_crs(spatial.PROJECTED_CRS)
    moved.loc["sejong", "geometry"] = translate(moved.geometry["sejong"], 2_000, 0)
    with pytest.raises(DataError, match="sejong") as err:
        spatial.simplify_boundaries(moved, 500)
    assert "not a coverage" in str(err.value)


def test_read_boundaries_parses_a_file_once_and_rereads_it_when_it_changes(boundary_path,
                                                                             tmp_path,
                                                                             monkeypatch):
    """A second call returns an equal copy without parsing (a caller changing it changes no
    later call); a rewritten file is read again."""
    path = tmp_path / "b.json"
    path.write_bytes(Path(boundary_path).read_bytes())
    first = spatial.read_boundaries(path)
    first.loc["seoul", "name_ko"] = "changed by a caller"
    with monkeypatch.context() as m:
        m.setattr(spatial, "_check_format", lambda p: pytest.fail("parsed twice"))
        again = spatial.read_boundaries(path)
    assert again.loc["seoul", "name_ko"] != "changed by a caller"
    assert again.equals(spatial.read_boundaries(boundary_path))
    path.write_text("{}", encoding="utf-8")             # another size and mtime: read again
    with pytest.raises(DataError, match="JSON of type None"):
        spatial.read_boundaries(path)
