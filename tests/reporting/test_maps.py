"""regrowth.report.maps: choropleths of the 17 provinces and the LISA cluster map.

Each map is checked for what a reader needs: all 17 provinces drawn (one artist per province,
``gid`` = key) and labelled, Sejong in the inset, the KOGL attribution line, the colour bar's
units, "no data" for missing provinces, and byte-identical PNG/PDF/SVG on a rerun.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PatchCollection

from regrowth import regions, spatial
from regrowth.report import maps

KEYS = list(regions.keys())


@pytest.fixture(scope="module")
def boundaries(data_mirror):
    path = data_mirror / "kostat_boundaries" / "skorea-provinces-2018-topo-simple.json"
    if not path.is_file():
        pytest.skip(f"{path} not in the data mirror")
    return spatial.read_boundaries(path)


@pytest.fixture(scope="module")
def panel():
    rows = []
    for i, key in enumerate(KEYS):
        for year in (2001, 2016, 2017):
            value = np.nan if (key == "sejong" and year == 2001) else 10 + 3.7 * i + 0.25 * (year - 2001) * (i % 5)
            rows.append({"region": key, "year": year, "x": value})
    return pd.DataFrame(rows)


def _province_artists(ax):
    return sorted(c.get_gid() for c in ax.collections
                  if isinstance(c, PatchCollection) and c.get_gid() in KEYS)


def _texts(fig):
    out = []
    for ax in fig.axes:
        out += [t.get_text() for t in ax.texts]
        for child in ax.get_children():
            if hasattr(child, "get_text") and hasattr(child, "get_gid") and child.get_gid():
                out.append(child.get_text())
    return out + [t.get_text() for t in fig.texts]


def test_province_values_level_mean_change(panel):
    level = maps.province_values(panel, "x", year=2017)
    assert list(level.index) == KEYS
    assert level["busan"] == pytest.approx(10 + 3.7 + 0.25 * 16 * 1)
    mean = maps.province_values(panel, "x", year=(2016, 2017))
    assert mean["busan"] == pytest.approx(np.mean([10 + 3.7 + 0.25 * 15, 10 + 3.7 + 0.25 * 16]))
    change = maps.province_values(panel, "x", change=(2001, 2017))
    assert change["daegu"] == pytest.approx(0.25 * 16 * 2)
    assert np.isnan(change["sejong"])
    with pytest.raises(KeyError, match="1999"):
        maps.province_values(panel, "x", year=1999)
    by_name = maps.province_values(pd.Series({"서울특별시": 1.0, "Busan": 2.0}))
    assert by_name["seoul"] == 1.0 and by_name["busan"] == 2.0 and by_name.isna().sum() == 15


def test_choropleth_has_17_provinces_labels_attribution_and_units(panel, boundaries, tmp_path):
    fig = maps.choropleth(panel, "x", year=2017, boundaries=boundaries,
                          path=tmp_path / "x_map.png", title="X, 2017", label="x, percent")
    main = fig.axes[0]
    (inset,) = main.child_axes
    assert _province_artists(main) == sorted(KEYS)
    assert "sejong" in _province_artists(inset)
    labels = [t for t in main.texts if (t.get_gid() or "").startswith("label-")]
    assert sorted(t.get_gid()[6:] for t in labels) == sorted(KEYS)
    assert {t.get_text() for t in labels} == {r.name_en for r in regions.REGIONS}
    assert any(t.get_gid() == "inset-label-sejong" for t in inset.texts)
    note = " ".join(t.get_text() for t in fig.texts).replace("\n", " ")
    assert maps.ATTRIBUTION in note
    assert "KOGL Type 1" in note and "Statistics Korea SGIS" in note
    colorbar = fig.axes[-1]
    assert colorbar.get_xlabel() == "x, percent"
    for ext in ("png", "pdf", "svg"):
        assert (tmp_path / f"x_map.{ext}").stat().st_size > 10_000
    svg = (tmp_path / "x_map.svg").read_text()
    assert all(f'id="{k}"' in svg for k in KEYS)
    assert "<dc:date>" not in svg
    assert b"CreationDate" not in (tmp_path / "x_map.pdf").read_bytes()


def test_colours_follow_the_values(panel, boundaries):
    fig = maps.choropleth(panel, "x", year=2017, boundaries=boundaries)
    coll = {c.get_gid(): c for c in fig.axes[0].collections if c.get_gid() in KEYS}
    values = maps.province_values(panel, "x", year=2017)
    lo, hi = values.idxmin(), values.idxmax()
    cmap_lo = coll[lo].get_facecolor()[0]
    cmap_hi = coll[hi].get_facecolor()[0]
    import matplotlib

    viridis = matplotlib.colormaps["viridis"]
    np.testing.assert_allclose(cmap_lo, viridis(0.0), atol=1e-6)
    np.testing.assert_allclose(cmap_hi, viridis(1.0), atol=1e-6)


def test_change_map_marks_missing_province_and_diverges(panel, boundaries):
    fig = maps.choropleth(panel, "x", change=(2001, 2017), boundaries=boundaries)
    main = fig.axes[0]
    legend = main.get_legend()
    assert legend is not None and "no data (Sejong)" in [t.get_text() for t in legend.get_texts()]
    sejong = next(c for c in main.collections if c.get_gid() == "sejong")
    assert sejong.get_hatch() == "////"
    assert _province_artists(main) == sorted(KEYS)
    bar = fig.axes[-1]
    lo, hi = bar.get_xlim()
    assert lo == pytest.approx(-hi)                       # centred on zero


def test_maps_are_byte_identical_on_rerun(panel, boundaries, tmp_path):
    for run in ("a", "b"):
        maps.choropleth(panel, "x", year=2016, boundaries=boundaries,
                        path=tmp_path / run / "m.png", title="X", label="x, %")
    for ext in ("png", "pdf", "svg"):
        assert (tmp_path / "a" / f"m.{ext}").read_bytes() == (tmp_path / "b" / f"m.{ext}").read_bytes(), ext


def test_lisa_map_categories_equal_esda(boundaries, tmp_path):
    from esda.moran import Moran_Local

    keys16 = [k for k in KEYS if k != "sejong"]
    w = spatial.weights(boundaries=boundaries, ids=keys16)
    rng = np.random.default_rng(8)
    full = w.full()[0]
    y = np.linalg.solve(np.eye(16) - 0.7 * full, rng.standard_normal(16))
    values = pd.Series(y, index=keys16)
    fig = maps.lisa_map(values, w, boundaries=boundaries, permutations=999, seed=3,
                        path=tmp_path / "lisa_map.png")
    ref = Moran_Local(y, w, transformation="r", permutations=0)   # statistic and quadrants
    np.testing.assert_allclose(fig.lisa["Ii"], ref.Is, rtol=1e-12)
    assert list(fig.lisa["q"]) == list(ref.q)
    quad = {1: "High-High", 2: "Low-High", 3: "Low-Low", 4: "High-Low"}
    expect = [quad[q] if p < 0.05 else "Not significant"
              for q, p in zip(fig.lisa["q"], fig.lisa["p_sim"])]
    assert list(fig.lisa["category"]) == expect
    assert (fig.lisa["category"] != "Not significant").any()
    assert _province_artists(fig.axes[0]) == sorted(KEYS)
    colors = {c.get_gid(): c.get_facecolor()[0] for c in fig.axes[0].collections
              if c.get_gid() in KEYS}
    import matplotlib.colors as mcolors

    for key, cat in fig.lisa["category"].items():
        np.testing.assert_allclose(colors[key], mcolors.to_rgba(maps.LISA_COLORS[cat]), atol=1e-9)
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "no data (Sejong)" in legend
    assert maps.ATTRIBUTION in " ".join(t.get_text() for t in fig.texts).replace("\n", " ")


def test_local_moran_pseudo_p_matches_exact_conditional_randomisation():
    """Enumerate every choice of a unit's neighbours among the other n - 1 values (the
    conditional randomisation distribution, exactly) and compare the folded p."""
    from itertools import combinations

    from libpysal.weights import lat2W

    w = lat2W(4, 4, rook=True)
    w.transform = "r"
    y = np.array([3.1, 2.2, 0.4, -1.0, 2.7, 1.9, 0.1, -0.6, 0.9, 0.3, -0.8, -1.7, -0.2, -0.9,
                  -1.5, -2.6])
    res = maps.local_moran(y, w, permutations=19999, seed=11)
    z = y - y.mean()
    n = len(y)
    for i in (0, 5, 15):
        k = len(w.neighbors[i])
        others = np.delete(z, i)
        sims = np.array([(n - 1) * z[i] * others[list(c)].mean() / (z @ z)
                         for c in combinations(range(n - 1), k)])
        share = float((sims >= res.Is[i] - 1e-12).mean())
        exact = min(share, 1 - share)
        assert abs(res.p_sim[i] - exact) < 0.01, (i, res.p_sim[i], exact)


def test_bad_inputs(panel, boundaries):
    with pytest.raises(ValueError, match="log=True"):
        maps.choropleth(panel, "x", change=(2001, 2017), boundaries=boundaries, log=True,
                        diverging=False)
    with pytest.raises(KeyError, match="nope"):
        maps.choropleth(panel, "nope", year=2017, boundaries=boundaries)
    with pytest.raises(ValueError, match="year"):
        maps.choropleth(panel, "x", boundaries=boundaries)
