"""Choropleth maps of the 17 provinces in the house figure style.

* :func:`choropleth` — one value per province: a level in a year, the mean over a range of
  years, or the change between two years, with a colour bar that carries the units.
* :func:`lisa_map` — local Moran clusters (:func:`local_moran`, esda's ``Moran_Local`` in
  NumPy) of a cross-section, e.g. one
  year's residuals or their province means: high-high, low-low, high-low, low-high
  (significant at ``alpha`` by conditional permutation) and not significant.

Geometry. KOSTAT's 2018 province boundaries (``regrowth.spatial.read_boundaries``: joined by
the 2-digit code, invalid rings repaired), drawn in the Korea 2000 / Unified CS projection
(EPSG:5179), so shapes and distances are true, not stretched lon/lat. The file's 30,571
vertices are thinned once per boundary file (cached) by
:func:`regrowth.spatial.simplify_boundaries` at :data:`TOLERANCE_M` = 500 m, a topology-
preserving coverage simplification (Visvalingam-Whyatt: a vertex goes while the triangle
with its neighbours covers less than 0.25 km²), which keeps each shared border shared and
every island. That leaves 7,411 vertices. On the main map one pixel of the 150-dpi PNG is
about 770 m and in the inset about 375 m; no province's area changes by more than 0.5%,
and the PNG looks the same (under 0.5% of its pixels, all on borders, change by more than
0.3 in any colour channel). The inset draws only the provinces inside its window, clipped to
it, and the SVG's path data is written compactly (:func:`regrowth.report.figures.save_figure`:
0.01 pt). A map's SVG thus shrinks from about 1.6 MB to 195-230 kB (about 60 kB of it is the
text, drawn as glyphs) and its PDF from about 620 kB to about 100 kB.
Ulleungdo and Dokdo (Gyeongbuk) are far out in the East Sea; the map is cropped to the
peninsula and Jeju and a note says so. Sejong and the other small metropolitan cities are
labelled with short names, the smallest with a leader line, and an inset enlarges the
Daejeon-Sejong area, so every one of the 17 provinces can be seen and read.

Attribution. Every map carries ``Boundaries: Statistics Korea SGIS (...), 2018, KOGL Type 1``
(공공누리 제1유형 requires the source). The house style pins the bundled DejaVu Sans, which has
no Hangul glyphs (and this machine has no Korean font: ``fc-list :lang=ko`` is empty), so
the line is romanised: "Statistics Korea SGIS (Tonggyecheong Tonggyejiri Jeongbo Seobiseu)"
for 통계청 통계지리정보서비스 (:data:`ATTRIBUTION_KO` keeps the Korean text).

Outputs. :func:`save_map` writes the PNG through :func:`regrowth.report.figures.finish` (byte-
deterministic) and, beside it, PDF and SVG with their dates and producer stripped (and the
SVG hash salt fixed by the house style), so reruns give identical files. Each province is one
artist whose ``gid`` is its key (``seoul`` …): SVG elements carry it as ``id``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import colormaps, patheffects
from matplotlib.cm import ScalarMappable
from matplotlib.colors import LogNorm, Normalize, TwoSlopeNorm
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from matplotlib.collections import PatchCollection
from matplotlib.patches import PathPatch
from matplotlib.path import Path as MplPath

from regrowth import regions
from regrowth.errors import DataError
from regrowth.report import figures
from regrowth.spatial import DEFAULT_BOUNDARIES, read_boundaries, simplify_boundaries

__all__ = ["ATTRIBUTION", "ATTRIBUTION_KO", "SHORT_NAMES", "LISA_COLORS", "TOLERANCE_M",
           "choropleth", "lisa_map", "local_moran", "province_values", "map_geometry",
           "save_map"]

#: Simplification tolerance of the drawn boundaries, metres (see the module docstring).
TOLERANCE_M = 500.0

#: The attribution line printed on every map (romanised: the house font has no Hangul).
ATTRIBUTION = ("Boundaries: Statistics Korea SGIS (Tonggyecheong Tonggyejiri Jeongbo "
               "Seobiseu), 2018, KOGL Type 1")
#: The licence's attribution in Korean, for outputs that can render Hangul.
ATTRIBUTION_KO = "Boundaries: Statistics Korea SGIS (통계청 통계지리정보서비스), 2018, KOGL Type 1"

#: Short labels drawn on the map.
SHORT_NAMES = {r.key: r.name_en for r in regions.REGIONS}

#: Provinces labelled with a leader line (too small for a label inside): offset in km.
_LEADER = {"seoul": (-10, 52), "incheon": (-75, 5), "sejong": (-85, 28),
           "daejeon": (-70, -30), "gwangju": (-95, -5), "daegu": (5, 0), "ulsan": (72, 5),
           "busan": (60, -45)}
_LEADER_KEEP_INSIDE = {"daegu"}   # large enough: label inside, no line
#: Labels moved off the representative point (km) so they do not cover a small neighbour.
_SHIFT = {"gyeonggi": (-5, 42), "chungbuk": (25, 5), "chungnam": (-20, 0)}

#: LISA categories and colours (Okabe-Ito reds/blues, grey for not significant).
LISA_COLORS = {"High-High": "#D55E00", "Low-Low": "#0072B2", "High-Low": "#E69F00",
               "Low-High": "#56B4E9", "Not significant": "#E6E6E6"}

_NO_DATA = "#FFFFFF"
_EDGE = "#4D4D4D"
# mainland + Jeju in EPSG:5179 metres (Ulleungdo/Dokdo, ~130.9E, outside)
_EXTENT = (740_000, 1_190_000, 1_450_000, 2_075_000)
# figure size (inches) with a one-line title and a note of up to three lines; each further
# line of title (10 pt) or note (7 pt) adds its height, so the map itself keeps its scale
_WIDTH, _HEIGHT = 5.6, 6.6
_TITLE_LINE, _NOTE_LINE = 10 * 1.25 / 72, 7 * 1.35 / 72
# the inset window around Daejeon and Sejong (EPSG:5179 metres)
_INSET = (958_000, 1_012_000, 1_793_000, 1_866_000)


# ----------------------------------------------------------------------------- values

def province_values(panel_or_series, variable: str | None = None, *, year=None,
                    change: tuple[int, int] | None = None) -> pd.Series:
    """One value per province key from a panel or a Series.

    ``panel_or_series``: a Series indexed by province (keys or any alias), or by
    (region, year); or a panel DataFrame indexed by (region, year) or with ``region`` and
    ``year`` columns (then ``variable`` names the column). ``year=t``: the value in t;
    ``year=(t0, t1)``: the mean over t0..t1 of the non-missing values; ``change=(t0, t1)``:
    value(t1) - value(t0). A province without a value is missing (drawn as "no data").
    """
    obj = panel_or_series
    if isinstance(obj, pd.DataFrame):
        if variable is None or variable not in obj.columns:
            raise KeyError(f"variable {variable!r} is not a column of the panel")
        frame = obj.reset_index() if isinstance(obj.index, pd.MultiIndex) else obj
        series = frame.set_index(["region", "year"])[variable]
    else:
        series = pd.Series(obj)
    if isinstance(series.index, pd.MultiIndex):
        region = series.index.get_level_values(0)
        yr = series.index.get_level_values(1)
        long = pd.Series(series.to_numpy(dtype=float),
                         index=pd.MultiIndex.from_arrays(
                             [[regions.normalize(r) for r in region], yr],
                             names=["region", "year"]))
        if change is not None:
            y0, y1 = change
            wide = long.unstack("year")
            for t in (y0, y1):
                if t not in wide.columns:
                    raise KeyError(f"year {t} is not in the data of {variable or series.name!r}")
            values = wide[y1] - wide[y0]
        elif isinstance(year, tuple):
            y0, y1 = year
            sel = long[(long.index.get_level_values("year") >= y0)
                       & (long.index.get_level_values("year") <= y1)]
            values = sel.groupby(level="region").mean()
        elif year is not None:
            sel = long[long.index.get_level_values("year") == year]
            if sel.empty:
                raise KeyError(f"year {year} is not in the data of {variable or series.name!r}")
            values = sel.droplevel("year")
        else:
            raise ValueError("a panel needs year=t, year=(t0, t1) for a mean, or "
                             "change=(t0, t1)")
    else:
        if year is not None or change is not None:
            raise ValueError("year/change apply to a panel, not to a Series by province")
        values = pd.Series(series.to_numpy(dtype=float),
                           index=[regions.normalize(r) for r in series.index])
    if values.index.duplicated().any():
        raise ValueError(f"duplicated provinces: {sorted(set(values.index[values.index.duplicated()]))}")
    return values.reindex(list(regions.keys())).astype(float)


# ----------------------------------------------------------------------------- drawing

_GEOMETRY_CACHE: dict[tuple, object] = {}


def map_geometry(boundaries=None, *, tolerance_m: float = TOLERANCE_M):
    """The province boundaries as drawn: EPSG:5179 metres, simplified at ``tolerance_m``
    (:func:`regrowth.spatial.simplify_boundaries`). ``boundaries``: a boundary file (default
    :data:`regrowth.spatial.DEFAULT_BOUNDARIES`), or a :func:`regrowth.spatial.read_boundaries`
    frame. A file is read and simplified once per process (cached by its path, size and
    modification time); a copy is returned, so callers may change it. A frame without all
    17 provinces is a :class:`~regrowth.errors.DataError` naming the missing ones."""
    if hasattr(boundaries, "geometry"):
        absent = [k for k in regions.keys() if k not in boundaries.index]
        if absent:
            raise DataError(f"a map draws all 17 provinces; the boundaries passed lack {absent}",
                            hint="pass the frame of regrowth.spatial.read_boundaries() for all "
                                 "17 provinces (without ids=)")
        return simplify_boundaries(boundaries, tolerance_m)
    path = Path(DEFAULT_BOUNDARIES if boundaries is None else boundaries)
    try:
        st = path.stat()
        key = (str(path.resolve()), st.st_size, st.st_mtime_ns, float(tolerance_m))
    except OSError:
        key = None                          # read_boundaries says what is missing
    if key is None or key not in _GEOMETRY_CACHE:
        frame = simplify_boundaries(read_boundaries(path), tolerance_m)
        if key is None:
            return frame
        _GEOMETRY_CACHE[key] = frame
    return _GEOMETRY_CACHE[key].copy()


_projected = map_geometry


def _draw_provinces(ax, geo, colors: dict[str, str], *, hatch_missing: set[str], lw=0.5):
    import shapely

    def polygons(geom):                     # (Multi)Polygon, or what a clip left of one
        # shells counter-clockwise, holes clockwise: Matplotlib fills by the nonzero winding
        # rule, so a hole (Gwangju inside Jeonnam) wound like its shell would be painted over
        geom = shapely.orient_polygons(geom, exterior_cw=False)
        return [g for g in shapely.get_parts(geom) if g.geom_type == "Polygon"]

    for key in geo.index:
        patches = []
        for poly in polygons(geo.geometry[key]):
            rings = [np.asarray(poly.exterior.coords)] + [np.asarray(r.coords)
                                                          for r in poly.interiors]
            verts = np.concatenate(rings)
            codes = np.concatenate([[MplPath.MOVETO] + [MplPath.LINETO] * (len(r) - 2)
                                    + [MplPath.CLOSEPOLY] for r in rings])
            patches.append(PathPatch(MplPath(verts, codes)))
        coll = PatchCollection(patches, facecolor=colors[key], edgecolor=_EDGE, linewidth=lw,
                               hatch="////" if key in hatch_missing else None)
        coll.set_gid(key)
        ax.add_collection(coll)


def _label_provinces(ax, geo, *, size=6.5):
    for key in geo.index:
        geom = geo.geometry[key]
        if geom.geom_type == "MultiPolygon":     # label the largest part, not an island
            geom = max(geom.geoms, key=lambda g: g.area)
        pt = geom.representative_point()
        name = SHORT_NAMES[key]
        if key in _LEADER and key not in _LEADER_KEEP_INSIDE:
            dx, dy = _LEADER[key]
            ann = ax.annotate(name, xy=(pt.x, pt.y),
                              xytext=(pt.x + dx * 1000, pt.y + dy * 1000),
                              fontsize=size, ha="center", va="center", gid=f"label-{key}",
                              arrowprops={"arrowstyle": "-", "color": "#222222", "lw": 0.6,
                                          "shrinkA": 1, "shrinkB": 0},
                              bbox={"boxstyle": "round,pad=0.12", "fc": "white", "ec": "none",
                                    "alpha": 0.8})
            # a white halo keeps the leader line visible over a dark fill
            ann.arrow_patch.set_path_effects([patheffects.withStroke(linewidth=1.8,
                                                                     foreground="white")])
        else:
            dx, dy = _SHIFT.get(key, (0, 0))
            ax.text(pt.x + dx * 1000, pt.y + dy * 1000, name, fontsize=size, ha="center",
                    va="center",
                    gid=f"label-{key}",
                    bbox={"boxstyle": "round,pad=0.12", "fc": "white", "ec": "none",
                          "alpha": 0.7})


def _base_axes(fig):
    ax = fig.add_subplot()
    ax.set_aspect("equal")
    ax.set_xlim(_EXTENT[0], _EXTENT[1])
    ax.set_ylim(_EXTENT[2], _EXTENT[3])
    ax.set_axis_off()
    ax.grid(False)
    return ax


def _inset(fig, ax, geo, colors, hatch_missing):
    """An enlarged view of Daejeon and Sejong in the empty sea corner south-west of Jeju."""
    import shapely

    x0, x1, y0, y1 = _INSET
    ins = ax.inset_axes([0.0, 0.0, 0.27, 0.24])
    ins.set_aspect("equal")
    # only what the window shows (10% margin, so no clipped edge is drawn inside it)
    mx, my = 0.1 * (x1 - x0), 0.1 * (y1 - y0)
    inside = geo.set_geometry(shapely.clip_by_rect(geo.geometry.values, x0 - mx, y0 - my,
                                                   x1 + mx, y1 + my))
    inside = inside[~inside.geometry.is_empty]
    _draw_provinces(ins, inside, colors, hatch_missing=hatch_missing, lw=0.6)
    ins.set_xlim(x0, x1)
    ins.set_ylim(y0, y1)
    ins.set_xticks([])
    ins.set_yticks([])
    ins.grid(False)
    for side in ins.spines.values():
        side.set_visible(True)
        side.set_color("#555555")
        side.set_linewidth(0.6)
    for key in ("sejong", "daejeon"):
        pt = geo.geometry[key].representative_point()
        ins.text(pt.x, pt.y, SHORT_NAMES[key], fontsize=6.5, ha="center", va="center",
                 gid=f"inset-label-{key}",
                 bbox={"boxstyle": "round,pad=0.12", "fc": "white", "ec": "none", "alpha": 0.8})
    ins.set_title("Dashed box enlarged:\nSejong and Daejeon", fontsize=6.5, pad=2)
    for ec, lw, ls in (("white", 1.8, "-"), ("#222222", 0.8, "--")):   # visible on any fill
        ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, ec=ec, lw=lw, ls=ls))
    return ins


def _figure(values: pd.Series, colors: dict[str, str], *, boundaries, title, source,
            note_extra: str = ""):
    geo = _projected(boundaries)
    missing = {k for k in geo.index if k not in values.index or pd.isna(values.get(k))}
    note = " ".join(p for p in (source, note_extra, "Ulleungdo and Dokdo (Gyeongbuk) not shown.",
                                ATTRIBUTION + ".") if p)
    # the map keeps its size (labels are placed in km): the figure grows with the text
    title_lines = figures.wrap_title(title, _WIDTH).count("\n") + 1 if title else 0
    note_lines = figures.wrap_note(note, _WIDTH).count("\n") + 1
    height = (_HEIGHT + max(title_lines - 1, 0) * _TITLE_LINE
              + max(note_lines - 3, 0) * _NOTE_LINE)
    fig = figures.new_figure(_WIDTH, height)
    ax = _base_axes(fig)
    _draw_provinces(ax, geo, colors, hatch_missing=missing)
    _label_provinces(ax, geo)
    _inset(fig, ax, geo, colors, missing)
    if title:
        figures.figure_title(fig, title)
    figures.source_note(fig, note)
    return fig, ax, missing


def _digits(v: float) -> int:
    """Decimals that print a 1-2-5 tick value exactly (0.05 -> 2, 20 -> 0)."""
    return max(0, -int(np.floor(np.log10(abs(v)) + 1e-9))) if v else 0


def choropleth(panel_or_series, variable: str | None = None, *, year=None,
               change: tuple[int, int] | None = None, path: str | Path | None = None,
               boundaries=None, title: str | None = None, label: str | None = None,
               source: str | None = None, cmap: str | None = None, diverging: bool | None = None,
               log: bool = False, missing_label: str = "no data",
               formats: Sequence[str] = ("png", "pdf", "svg")):
    """A choropleth of one value per province (see :func:`province_values`).

    Parameters
    ----------
    panel_or_series, variable, year, change : what to map (:func:`province_values`).
    path : output file (``.png``); PDF and SVG are written beside it (``formats``). None:
        nothing is written, the figure is returned.
    boundaries : the boundary file (default ``data/raw/kostat_boundaries/...``, as
        :func:`regrowth.spatial.read_boundaries`) or an already read frame.
    title, label, source : figure title, colour-bar label (put the units in it, e.g.
        "fiscal self-reliance, %"), source line (printed before the attribution).
    cmap, diverging : colour map; a change, or values of both signs, use a diverging map
        centred on 0 (``diverging=False`` to refuse), otherwise sequential (viridis).
    log : a logarithmic colour scale (positive values only), for skewed levels such as
        patents per capita, where Seoul would otherwise leave the other provinces one colour.
    missing_label : the legend's words for the hatched provinces without a value, followed
        by their names ("no data (Sejong)"; e.g. "not in the sample").

    Returns the (frozen) Matplotlib figure.
    """
    values = province_values(panel_or_series, variable, year=year, change=change)
    if values.notna().sum() == 0:
        raise ValueError(f"no province has a value of {variable!r} for year={year!r}, "
                         f"change={change!r}")
    finite = values.dropna()
    if log and (finite <= 0).any():
        raise ValueError(f"log=True needs positive values; {variable!r} has "
                         f"{list(finite.index[finite <= 0])} <= 0")
    if diverging is None:
        diverging = not log and (change is not None or (finite.min() < 0 < finite.max()))
    with figures.style():
        if diverging:
            span = float(np.abs(finite).max()) or 1.0
            norm = TwoSlopeNorm(vcenter=0.0, vmin=-span, vmax=span)
            cm = colormaps[cmap or "RdBu_r"]
        else:
            kind = LogNorm if log else Normalize
            norm = kind(vmin=float(finite.min()), vmax=float(finite.max()))
            cm = colormaps[cmap or "viridis"]
        colors = {k: (_NO_DATA if pd.isna(values.get(k)) else cm(norm(values[k])))
                  for k in regions.keys()}
        what = (f"change {change[0]}-{change[1]}" if change is not None
                else f"mean {year[0]}-{year[1]}" if isinstance(year, tuple)
                else f"{year}" if year is not None else "")
        fig, ax, missing = _figure(values, colors, boundaries=boundaries,
                                   title=title or f"{variable or values.name} {what}".strip(),
                                   source=source)
        sm = ScalarMappable(norm=norm, cmap=cm)
        bar = fig.colorbar(sm, ax=ax, orientation="horizontal", fraction=0.035, pad=0.01,
                           shrink=0.7, aspect=30)
        text = label or (variable or "")
        if log and "log scale" not in text:
            text += " (log scale)"
        bar.set_label(text, fontsize=8)
        if log:                             # plain numbers at 1, 2, 5 x 10^k, not 10^1
            bar.ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
            bar.ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.{_digits(v)}f}"))
            bar.ax.xaxis.set_minor_formatter(NullFormatter())
        bar.ax.tick_params(labelsize=7)
        if missing:
            names = ", ".join(SHORT_NAMES[k] for k in sorted(missing))
            ax.legend(handles=[Patch(facecolor=_NO_DATA, edgecolor=_EDGE, hatch="////",
                                     label=f"{missing_label} ({names})")],
                      loc="lower right", fontsize=7)
        return save_map(fig, path, formats) if path is not None else figures.finish(fig)


def lisa_map(values, w, *, path: str | Path | None = None, boundaries=None,
             permutations: int = 999, seed: int = 20180, alpha: float = 0.05,
             title: str | None = None, source: str | None = None, label: str | None = None,
             missing_label: str = "no data",
             formats: Sequence[str] = ("png", "pdf", "svg")):
    """Local Moran (LISA) cluster map of one value per province (e.g. residuals).

    ``values``: a Series by province (keys or aliases) covering ``w``'s ids; ``w`` a
    :func:`regrowth.spatial.weights` W. Categories from :func:`local_moran` (esda's
    ``Moran_Local`` statistic and quadrants: 1 High-High, 2 Low-High, 3 Low-Low, 4 High-Low)
    where the conditional-permutation pseudo p-value ``p_sim`` < ``alpha``; other provinces
    "Not significant"; provinces not in ``w`` are hatched and named in the legend after
    ``missing_label`` ("no data (Sejong)"). The legend says what each category means
    ("High-High: high, neighbours high"); its title is ``label`` (what the values are, with
    their unit, e.g. "Residual of growth (percentage points)"; default "LISA cluster"). The
    note under the map gives the weights (``w.kind``, as :func:`regrowth.spatial.weights`
    sets it), the permutations, the seed and the threshold. With 16-17 provinces and 999
    permutations few are significant; no multiple-testing correction is applied (the note
    says so). Returns the figure; the categories are in ``fig.lisa`` (a DataFrame: Ii, q,
    p_sim, category).
    """
    vals = province_values(pd.Series(values))
    ids = list(w.id_order)
    y = vals.reindex(ids)
    if y.isna().any():
        raise ValueError(f"no value for province(s) {list(y.index[y.isna()])} in the weights")
    lisa = local_moran(y.to_numpy(dtype=float), w, permutations=permutations, seed=seed)
    quad = {1: "High-High", 2: "Low-High", 3: "Low-Low", 4: "High-Low"}
    cat = [quad[int(q)] if p < alpha else "Not significant" for q, p in zip(lisa.q, lisa.p_sim)]
    table = pd.DataFrame({"Ii": lisa.Is, "q": lisa.q, "p_sim": lisa.p_sim, "category": cat},
                         index=pd.Index(ids, name="region"))
    kind = getattr(w, "kind", None)
    weights_note = (f"Weights: {kind}, row-standardised" if kind == "contiguity"
                    else f"Weights: {kind}" if kind else "")
    if kind == "contiguity":
        weights_note += " (Jeju linked to its nearest province)"
    with figures.style():
        colors = {k: (LISA_COLORS[table.loc[k, "category"]] if k in table.index else _NO_DATA)
                  for k in regions.keys()}
        extra = (f"Local Moran's I, {permutations} conditional permutations, seed {seed}, "
                 f"p < {alpha:g}, no multiple-testing correction."
                 + (f" {weights_note}." if weights_note else ""))
        fig, ax, missing = _figure(vals.reindex(ids), colors, boundaries=boundaries,
                                   title=title or "Local Moran clusters", source=source,
                                   note_extra=extra)
        present = [c for c in LISA_COLORS if c in set(cat)] or ["Not significant"]
        handles = [Patch(facecolor=LISA_COLORS[c], edgecolor=_EDGE,
                         label=f"{c}: {_LISA_MEANING[c]}" if c in _LISA_MEANING
                         else f"{c} (p >= {alpha:g})") for c in present]
        if missing:
            handles.append(Patch(facecolor=_NO_DATA, edgecolor=_EDGE, hatch="////",
                                 label=f"{missing_label} (" + ", ".join(
                                     SHORT_NAMES[k] for k in sorted(missing)) + ")"))
        ax.legend(handles=handles, loc="lower right", fontsize=7,
                  title=label or "LISA cluster", title_fontsize=7, alignment="left")
        fig.lisa = table
        return save_map(fig, path, formats) if path is not None else figures.finish(fig)


#: What each significant LISA category means (the legend's words).
_LISA_MEANING = {"High-High": "high, neighbours high", "Low-Low": "low, neighbours low",
                 "High-Low": "high, neighbours low", "Low-High": "low, neighbours high"}


class _Local:
    def __init__(self, Is, q, p_sim):
        self.Is, self.q, self.p_sim = Is, q, p_sim


def local_moran(y, w, *, permutations: int = 999, seed: int = 20180):
    """Local Moran's I (Anselin 1995) as ``esda.Moran_Local`` computes it, in NumPy.

    ``Is_i = (n - 1) z_i (W z)_i / sum(z^2)`` with z = y - mean(y) and W row-standardised;
    quadrant ``q`` 1 High-High, 2 Low-High, 3 Low-Low, 4 High-Low (esda's coding); ``p_sim``
    esda's directed conditional-permutation pseudo p-value: for each i, ``permutations``
    draws of its neighbours' values from the other n - 1 observations (without
    replacement), ``(min(#{sim >= Is_i}, permutations - #{sim >= Is_i}) + 1) /
    (permutations + 1)``. Draws come from ``numpy.random.default_rng(seed)``, so the pseudo
    p-values equal esda's in distribution, not draw for draw. (esda 2.9 compiles its
    permutation kernel with numba, which takes about 45 s per process here.)
    Returns an object with ``Is``, ``q``, ``p_sim`` arrays in ``w.id_order``.
    """
    full, _ = w.full()
    full = np.asarray(full, dtype=float)
    rows = full.sum(axis=1)
    full = np.divide(full, rows[:, None], out=np.zeros_like(full), where=rows[:, None] > 0)
    y = np.asarray(y, dtype=float)
    n = y.size
    z = y - y.mean()
    den = float(z @ z)
    lag = full @ z
    Is = (n - 1) * z * lag / den
    q = np.where(z > 0, np.where(lag > 0, 1, 4), np.where(lag > 0, 2, 3))
    rng = np.random.default_rng(seed)
    p_sim = np.ones(n)
    for i in range(n):
        nbrs = np.flatnonzero(full[i])
        k = nbrs.size
        if k == 0 or permutations == 0:
            p_sim[i] = np.nan
            continue
        others = np.delete(z, i)
        draws = np.argsort(rng.random((permutations, n - 1)), axis=1)[:, :k]
        sims = (n - 1) * z[i] * (others[draws] @ full[i, nbrs]) / den
        larger = int((sims >= Is[i]).sum())
        if permutations - larger < larger:
            larger = permutations - larger
        p_sim[i] = (larger + 1.0) / (permutations + 1.0)
    return _Local(Is, q, p_sim)


# ----------------------------------------------------------------------------- saving

def save_map(fig, path: str | Path, formats: Sequence[str] = ("png", "pdf", "svg")):
    """Freeze ``fig`` (:func:`regrowth.report.figures.finish`) and write it in ``formats`` beside
    ``path`` through the package's one save path (:func:`regrowth.report.figures.save_figure`:
    no dates, no producer, every format rendered before any file is replaced)."""
    return figures.finish(fig, path, formats=formats)

