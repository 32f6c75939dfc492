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
def boundary_path(data_mirror):
    path = data_mirror / "kostat_boundaries" / "skorea-provinces-2018-topo-simple.json"
    if not path.is_file():
        pytest.skip(f"{path} not in the data mirror")
    return path


@pytest.fixture(scope="module")
def boundaries(boundary_path):
    return spatial.read_boundaries(boundary_path)


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


# ----------------------------------------------------------------------------- what a reader sees

LONG_SOURCE = ("Source: Ministry of the Interior and Safety via KOSIS (DT_1YL20921), old revenue "
               "classification; a long source line that has to wrap over several lines before "
               "the attribution, which must still be printed in full inside the figure.")


def _renderer(fig):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    return FigureCanvasAgg(fig).get_renderer()


def _note(fig):
    (note,) = [t for t in fig.texts if "KOGL" in t.get_text()]
    return note


def _assert_note_inside(fig, png):
    """The note (source + attribution) lies inside the figure as saved: the package saves
    with ``savefig.bbox = None`` (no ``bbox_inches``), so the PNG is the figure's extent."""
    from matplotlib.image import imread
    from matplotlib.textpath import TextToPath

    height, width = imread(png).shape[:2]
    assert abs(width - fig.bbox.width) < 1 and abs(height - fig.bbox.height) < 1
    note = _note(fig)
    assert maps.ATTRIBUTION in note.get_text().replace("\n", " ")
    box = note.get_window_extent(_renderer(fig))
    assert box.x0 >= 0 and box.y0 >= 0, box
    assert box.x1 <= width and box.y1 <= height, (box, width, height)
    # the PDF and SVG draw the unhinted outlines: each line fits at that width too
    for line in note.get_text().split("\n"):
        outline = TextToPath().get_text_width_height_descent(
            line, note.get_fontproperties(), ismath=False)[0] * fig.dpi / 72
        assert box.x0 + outline <= width, line


#: the source line of the 2017 fiscal self-reliance map, whose attribution ran off the
#: right edge when notes were wrapped by a character count
SPEC_SOURCE = ("Source: Ministry of the Interior and Safety via KOSIS (DT_1YL20921), old "
               "revenue classification.")


@pytest.mark.parametrize("source", [SPEC_SOURCE, LONG_SOURCE], ids=["spec", "long"])
def test_attribution_is_inside_the_figure_after_savefig(panel, boundaries, tmp_path, source):
    fig = maps.choropleth(panel, "x", year=2017, boundaries=boundaries, title="X, 2017",
                          label="x, percent", source=source, path=tmp_path / "m.png")
    _assert_note_inside(fig, tmp_path / "m.png")


def test_lisa_attribution_inside_and_legend_explains_clusters(boundaries, tmp_path):
    keys16 = [k for k in KEYS if k != "sejong"]
    w = spatial.weights(boundaries=boundaries, ids=keys16)
    y = np.linalg.solve(np.eye(16) - 0.7 * w.full()[0],
                        np.random.default_rng(8).standard_normal(16))
    fig = maps.lisa_map(pd.Series(y, index=keys16), w, boundaries=boundaries, seed=3,
                        label="LISA cluster of the residual (pp)", source=LONG_SOURCE,
                        missing_label="not in the sample", path=tmp_path / "lisa.png")
    _assert_note_inside(fig, tmp_path / "lisa.png")
    legend = fig.axes[0].get_legend()
    assert legend.get_title().get_text() == "LISA cluster of the residual (pp)"
    texts = [t.get_text() for t in legend.get_texts()]
    assert "not in the sample (Sejong)" in texts
    assert "High-High: high, neighbours high" in texts or "Low-Low: low, neighbours low" in texts
    assert "contiguity" in _note(fig).get_text().replace("\n", " ")


def _inside(box, disp):
    """Which display points lie in ``box``, edges included (``Bbox.contains``, on arrays)."""
    (xa, xb), (ya, yb) = sorted(box.intervalx), sorted(box.intervaly)
    return (disp[:, 0] >= xa) & (disp[:, 0] <= xb) & (disp[:, 1] >= ya) & (disp[:, 1] <= yb)


def _province_pixels(fig, png, geo, key):
    """Colours of the PNG's pixels inside province ``key`` on the main map (1 km grid, 2 km
    inside its border), away from every label box and leader line."""
    from matplotlib.image import imread

    import shapely

    img = imread(png)[..., :3]
    height = img.shape[0]
    ax = fig.axes[0]
    renderer = _renderer(fig)
    inner = geo.geometry[key].buffer(-2000)
    x0, y0, x1, y1 = inner.bounds
    gx, gy = np.meshgrid(np.arange(x0, x1, 1000.0), np.arange(y0, y1, 1000.0))
    pts = np.column_stack([gx.ravel(), gy.ravel()])
    pts = pts[shapely.contains_xy(inner, pts[:, 0], pts[:, 1])]
    disp = ax.transData.transform(pts)
    keep = _inside(ax.bbox, disp)                        # inside the main axes ...
    for child in ax.child_axes:                          # ... but not under the inset
        keep &= ~_inside(child.bbox.padded(3), disp)
    legend = ax.get_legend()
    if legend is not None:
        keep &= ~_inside(legend.get_window_extent(renderer).padded(3), disp)
    for patch in ax.patches:                             # the inset's frame on the map
        frame = patch.get_window_extent(renderer)
        keep &= ~(_inside(frame.padded(4), disp) & ~_inside(frame.padded(-4), disp))
    for text in ax.texts:                                # label, its box (pad < 2 px) too
        box = text.get_window_extent(renderer).padded(6)
        keep &= ~_inside(box, disp)
        if hasattr(text, "xy"):                          # a leader line: 4 px either side
            a = ax.transData.transform(text.xy)
            b = np.array([(box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2])
            t = np.clip(((disp - a) @ (b - a)) / ((b - a) @ (b - a)), 0, 1)
            keep &= np.hypot(*(disp - (a + t[:, None] * (b - a))).T) > 4
    rows = np.round(height - disp[keep, 1]).astype(int)
    cols = np.round(disp[keep, 0]).astype(int)
    return img[rows, cols]


def test_every_province_shows_its_own_colour(boundaries, tmp_path):
    """All 17 provinces are visible in their colour on the saved PNG, the small ones too,
    and a province inside another (Gwangju in Jeonnam) is not painted over by its hole."""
    import matplotlib.colors as mcolors

    values = pd.Series({k: float(i) for i, k in enumerate(KEYS)})
    fig = maps.choropleth(values, boundaries=boundaries, label="rank", path=tmp_path / "r.png")
    geo = maps.map_geometry(boundaries)
    colours = {c.get_gid(): mcolors.to_rgb(c.get_facecolor()[0])
               for c in fig.axes[0].collections if c.get_gid() in KEYS}
    assert sorted(colours) == sorted(KEYS)
    for key in KEYS:
        pixels = _province_pixels(fig, tmp_path / "r.png", geo, key)
        assert len(pixels) >= 10, key
        share = float((np.abs(pixels - colours[key]).max(axis=1) < 0.015).mean())
        assert share >= 0.95, (key, share, len(pixels))


def test_map_files_are_small(panel, boundaries, tmp_path):
    """The boundaries are simplified (maps.TOLERANCE_M) and the SVG path data written
    compactly: every format of a map stays far under the 1.6 MB SVG / 620 kB PDF of the
    full-resolution drawing."""
    maps.choropleth(panel, "x", year=2017, boundaries=boundaries, title="X", label="x, %",
                    source=LONG_SOURCE, path=tmp_path / "m.png")
    sizes = {ext: (tmp_path / f"m.{ext}").stat().st_size for ext in ("png", "pdf", "svg")}
    assert sizes["svg"] < 250_000 and sizes["pdf"] < 150_000 and sizes["png"] < 300_000, sizes


def test_map_geometry_is_simplified_once_per_file(boundary_path):
    a = maps.map_geometry(boundary_path)
    b = maps.map_geometry(boundary_path)
    assert a is not b and a.geometry.equals(b.geometry)    # a copy of the cached frame
    assert a.crs.equals("EPSG:5179")
    full = spatial.read_boundaries(boundary_path).to_crs("EPSG:5179")
    import shapely

    assert shapely.get_num_coordinates(a.geometry.values).sum() < \
        0.3 * shapely.get_num_coordinates(full.geometry.values).sum()


def test_log_scale_colour_bar_reads_in_plain_numbers(panel, boundaries):
    fig = maps.choropleth(panel, "x", year=2017, boundaries=boundaries, log=True,
                          label="x per million (log scale)")
    bar = fig.axes[-1]
    assert bar.get_xlabel() == "x per million (log scale)"            # said once
    ticks = [t.get_text() for t in bar.get_xticklabels()]
    assert "20" in ticks and "50" in ticks and not any("^" in t for t in ticks), ticks
    fig = maps.choropleth(panel, "x", year=2017, boundaries=boundaries, log=True, label="x")
    assert fig.axes[-1].get_xlabel() == "x (log scale)"


def test_boundaries_without_a_province_are_refused_by_name(panel, boundaries):
    from regrowth.errors import DataError

    with pytest.raises(DataError, match="sejong"):
        maps.choropleth(panel, "x", year=2017, boundaries=boundaries.drop(index="sejong"))
