"""Figures: coefficient plots and province time series, as deterministic PNG, PDF and SVG files.

What each figure shows
----------------------
* :func:`coefficient_plot` — one small panel per regressor ("facet"), the models of a table
  as rows sharing the column labels ``(1) GNB, main`` …, each with its point estimate and 95 %
  confidence interval on the panel's own scale, a dashed line at zero. Every coefficient is
  readable, whatever the scale of the others (a percentage-point effect of 0.01 beside a
  log-income effect of -4 would be an invisible dot on a common axis).
* :func:`province_lines` — one line per province, a few highlighted; ``log=True`` for counts
  so that Seoul and Gyeonggi do not flatten the other fifteen.
* :func:`macro_region_lines` — a series published per macro-region (권역) and copied to each
  of its provinces, drawn once per macro-region.
* :func:`province_small_multiples` — one panel per province.

Shared style (use it for every figure of the package)
-----------------------------------------------------
Other figures (leave-one-out, Monte Carlo coverage, specification curve) follow the same
conventions by building on these helpers::
    from regrowth import figures

    with figures.style():                       # fixed rcParams, restored on exit
        fig = figures.new_figure(6.5, 4.0)      # bare Figure, constrained layout
        ax = fig.add_subplot()
        ax.plot(x, y, color=figures.COLORS[0])
        figures.figure_title(fig, "A long title is wrapped to the figure's width")
        figures.source_note(fig, "Source: regrowth Monte Carlo, 1,000 replications, seed 1.")
        figures.finish(fig, "results/figures/montecarlo.png")   # freeze layout, save

:func:`figure_title` wraps a title to the figure width (left-aligned), :func:`source_note` puts a
wrapped source line in small grey type under everything else (reserving room for it), and
:func:`finish` solves the layout once, freezes it and saves it (:func:`save_figure`, the one save
path: ``<name>.png`` with ``<name>.pdf`` and ``<name>.svg`` beside it). :data:`COLORS`
is the Okabe–Ito palette; :data:`GREY` the colour of context lines.

Determinism. Every figure is drawn on a bare :class:`matplotlib.figure.Figure` (Agg canvas; no
pyplot, no global figure registry) inside :func:`style`, which starts from Matplotlib's
built-in defaults and applies this module's fixed settings (:data:`RC`) — the user's
``matplotlibrc`` and any ``rcParams`` changed elsewhere cannot leak in, and nothing is
changed after the call returns. Sizes and dpi are fixed, the font is the bundled DejaVu Sans
(it has no Hangul: keep labels in English, e.g. ``Region.name_en``), the constrained layout
is solved once and then frozen, and files are saved with no software version and no date
(PNG ``Software``, PDF ``Creator``/``Producer``/``CreationDate``, SVG ``Creator``/``Date`` all
dropped; SVG ids salted with ``svg.hashsalt`` and the hashed ones renamed in order; SVG path
coordinates rounded to 0.01 pt, :data:`SVG_PATH_DIGITS`): the same data and the same
Matplotlib give byte-identical PNG, PDF and SVG files.

Writes are atomic (:func:`regrowth.files.write_bytes`), after all three formats are rendered:
an interrupted run leaves the previous files intact.

Inputs come from :func:`regrowth.report.tidy.tidy` (coefficient plots) and from the panel, indexed
by a ``(region, year)`` MultiIndex (or with ``region`` and ``year`` columns).
"""

from __future__ import annotations

import contextlib
import functools
import io
import math
import re
import textwrap
from collections.abc import Iterator, Mapping, Sequence
from fnmatch import fnmatchcase
from pathlib import Path

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib import cycler
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

from regrowth.files import write_bytes
from regrowth.report.tidy import CONSTANT_NAMES
from regrowth import regions

__all__ = [
    "DPI",
    "RC",
    "COLORS",
    "GREY",
    "DEFAULT_HIGHLIGHT",
    "style",
    "new_figure",
    "figure_title",
    "wrap_title",
    "source_note",
    "wrap_note",
    "finish",
    "save_png",
    "save_figure",
    "figure_paths",
    "figure_bytes",
    "FIGURE_FORMATS",
    "png_bytes",
    "coefficient_plot",
    "NUISANCE_TERMS",
    "is_nuisance",
    "province_lines",
    "macro_region_lines",
    "province_small_multiples",
]

#: Resolution of every saved PNG.
DPI = 150

#: Okabe–Ito colour-blind-safe palette (black dropped), in the order models/provinces use it.
COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442")

#: Colour of context lines (provinces not highlighted) and of notes.
GREY = "#B0B0B0"
_NOTE_GREY = "#555555"

#: Provinces drawn in colour by :func:`province_lines` unless told otherwise: the two largest
#: innovation centres of the capital region and Daejeon (Daedeok research complex).
DEFAULT_HIGHLIGHT = ("seoul", "gyeonggi", "daejeon")

_GREY = GREY

#: Font sizes (points) of the title and of the source note.
_TITLE_SIZE = 10.0
_NOTE_SIZE = 7.0

#: Settings applied over Matplotlib's defaults while a figure is drawn and saved.
RC: Mapping[str, object] = {
    "font.family": "DejaVu Sans",
    "font.size": 9.0,
    "axes.titlesize": 9.0,
    "axes.labelsize": 9.0,
    "xtick.labelsize": 8.0,
    "ytick.labelsize": 8.0,
    "legend.fontsize": 8.0,
    "legend.frameon": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#DDDDDD",
    "grid.linewidth": 0.6,
    "axes.axisbelow": True,
    "axes.prop_cycle": cycler(color=list(COLORS)),
    "lines.linewidth": 1.4,
    "figure.dpi": DPI,
    "figure.titlesize": _TITLE_SIZE,
    "savefig.dpi": DPI,
    "savefig.bbox": None,
    "savefig.facecolor": "white",
    "figure.facecolor": "white",
    "svg.hashsalt": "regrowth",
    "text.usetex": False,
}


@contextlib.contextmanager
def style() -> Iterator[None]:
    """Matplotlib defaults plus :data:`RC`, restored to the caller's settings on exit."""
    with mpl.rc_context():
        mpl.rcdefaults()
        mpl.rcParams.update(RC)
        yield


#: Every figure is saved in these formats, side by side: ``<name>.png`` for the web and the
#: notebooks, ``<name>.pdf`` and ``<name>.svg`` for a paper.
FIGURE_FORMATS = ("png", "pdf", "svg")

#: Metadata written into each format: no software version, no date, so the same figure gives
#: the same bytes on every run (SVG ids come from ``svg.hashsalt`` in :data:`RC`).
_METADATA = {
    "png": {"Software": None},
    "pdf": {"Creator": None, "Producer": None, "CreationDate": None, "ModDate": None},
    "svg": {"Creator": None, "Date": None, "Format": None, "Type": None},
}


def _savefig(fig: Figure, target, fmt: str = "png", dpi: float = DPI) -> None:
    fig.savefig(target, format=fmt, dpi=dpi, metadata=_METADATA[fmt])


#: Decimals kept in SVG path data (points; 0.01 pt is 0.02 pixel of the 150-dpi PNG).
SVG_PATH_DIGITS = 2
_SVG_PATH_DATA = re.compile(rb' d="[^"]*"')
_SVG_NUMBER = re.compile(rb"-?\d+\.\d+")
# Matplotlib names clip paths, markers and hatches by a hash of their geometry ("p" / "m" /
# "h" and ten hex digits): a layout that moves by 1e-14 between two runs changes the name
# though no printed coordinate moves. They are renamed in order of first appearance.
_SVG_HASH_ID = re.compile(rb'(id="|url\(#|href="#)([pmh])([0-9a-f]{10})(?=[")])')


def _round_number(match: re.Match) -> bytes:
    text = f"{round(float(match.group()), SVG_PATH_DIGITS):.{SVG_PATH_DIGITS}f}"
    text = text.rstrip("0").rstrip(".")
    return b"0" if text in ("-0", "") else text.encode()


def _compact_path(match: re.Match) -> bytes:
    """One ``d="..."`` attribute: numbers rounded, and each ``L`` that follows a moveto or a
    lineto dropped (SVG reads a bare coordinate pair after M or L as another lineto)."""
    out, previous = [], b""
    body = match.group()[len(b' d="'):-1]
    for segment in _SVG_NUMBER.sub(_round_number, body).split(b"\n"):
        seg = segment.strip()
        if seg.startswith(b"L ") and previous in (b"M", b"L"):
            seg = seg[2:]
        elif seg[:1].isalpha():
            previous = seg[:1]
        out.append(seg)
    return b' d="' + b" ".join(part for part in out if part) + b'"'


def _compact_svg(data: bytes) -> bytes:
    """``data`` (an SVG) with its path data (``d="..."``) written compactly: coordinates
    rounded to :data:`SVG_PATH_DIGITS` decimals (Matplotlib writes six) and the repeated
    lineto commands of a polyline dropped, which more than halves a map's SVG; and the
    hashed ids of clip paths, markers and hatches renamed by order of first appearance
    (``p1``, ``m1``, ...), so that float noise below the printed digits cannot change them.
    The shapes are the same to 0.01 pt; nothing else (text, sizes) is changed."""
    names: dict[bytes, bytes] = {}
    counts: dict[bytes, int] = {}

    def rename(m: re.Match) -> bytes:
        kind, key = m.group(2), m.group(2) + m.group(3)
        if key not in names:
            counts[kind] = counts.get(kind, 0) + 1
            names[key] = kind + str(counts[kind]).encode()
        return m.group(1) + names[key]

    return _SVG_HASH_ID.sub(rename, _SVG_PATH_DATA.sub(_compact_path, data))


def figure_bytes(fig: Figure, fmt: str = "png", *, dpi: float = DPI) -> bytes:
    """The bytes of ``fig`` in ``fmt`` (png, pdf or svg) as :func:`save_figure` writes them
    (``dpi`` sets the PNG's resolution and the size of any raster part of the others)."""
    if fmt not in FIGURE_FORMATS:
        raise ValueError(f"figure format must be one of {FIGURE_FORMATS}, not {fmt!r}")
    with style():
        buf = io.BytesIO()
        _savefig(fig, buf, fmt, dpi)
    return _compact_svg(buf.getvalue()) if fmt == "svg" else buf.getvalue()


def png_bytes(fig: Figure) -> bytes:
    """The PNG bytes of ``fig`` as :func:`save_png` would write them."""
    return figure_bytes(fig, "png")


def figure_paths(path: str | Path) -> dict[str, Path]:
    """``{format: path}`` of the files :func:`save_figure` writes for ``path`` (its suffix,
    if any, is replaced: ``figures/x.png`` -> ``x.png``, ``x.pdf``, ``x.svg``)."""
    path = Path(path)
    stem = path.with_suffix("") if path.suffix.lower().lstrip(".") in FIGURE_FORMATS else path
    return {fmt: stem.with_name(f"{stem.name}.{fmt}") for fmt in FIGURE_FORMATS}


def save_figure(fig: Figure, path: str | Path, *, dpi: float = DPI,
                formats: Sequence[str] = FIGURE_FORMATS,
                rendered: dict[str, bytes] | None = None) -> dict[str, Path]:
    """The one save path of the package's figures: ``fig`` as PNG, PDF and SVG beside each
    other (:func:`figure_paths`), deterministic (:data:`_METADATA`), each file written
    atomically after all three are rendered — a failure leaves every previous file intact.
    ``formats`` narrows the set (default all three); ``rendered``: the bytes of formats
    already rendered (:func:`finish`'s PNG). Returns ``{format: path}``."""
    unknown = sorted(set(formats) - set(FIGURE_FORMATS))
    if unknown:
        raise ValueError(f"formats {unknown}: use {', '.join(FIGURE_FORMATS)}")
    rendered = rendered or {}
    data = {fmt: rendered[fmt] if fmt in rendered else figure_bytes(fig, fmt, dpi=dpi)
            for fmt in FIGURE_FORMATS if fmt in formats}
    return {fmt: write_bytes(target, data[fmt]) for fmt, target in figure_paths(path).items()
            if fmt in data}


def save_png(fig: Figure, path: str | Path) -> Path:
    """Save ``fig`` to ``path`` (a ``.png``) with its PDF and SVG beside it
    (:func:`save_figure`); returns the PNG's path."""
    return save_figure(fig, path)["png"]


def new_figure(width: float, height: float) -> Figure:
    """A bare figure of ``width`` x ``height`` inches with constrained layout (call inside
    :func:`style`)."""
    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


_new_figure = new_figure


def _wrap(text: str, chars: int) -> str:
    """``text`` wrapped to ``chars`` characters a line; line breaks already in it are kept."""
    return "\n".join(textwrap.fill(part, max(10, chars), break_on_hyphens=False) or part
                     for part in str(text).split("\n"))


def wrap_title(text: str, width: float, *, size: float = _TITLE_SIZE) -> str:
    """``text`` wrapped as :func:`figure_title` wraps it for a figure ``width`` inches wide
    (count its lines to size a figure before drawing it)."""
    return _wrap(text, int(width * 72 / (0.6 * size)))


def figure_title(fig: Figure, text: str, *, size: float = _TITLE_SIZE) -> None:
    """A left-aligned figure title, wrapped to the figure's width (never cut off)."""
    fig.suptitle(wrap_title(text, fig.get_figwidth(), size=size), x=0.01,
                 horizontalalignment="left", fontsize=size)


def _text_width_pt(text: str, size: float, dpi: float = DPI) -> float:
    """Width in points of one line of ``text`` in the house font at ``size`` points: the
    larger of Agg's hinted width at ``dpi`` (the PNG; hinting widens small text by up to
    5% at 150 dpi) and the unhinted outline's width (the PDF and SVG)."""
    from matplotlib.backends.backend_agg import RendererAgg
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextToPath

    prop = FontProperties(family=RC["font.family"], size=size)
    hinted = RendererAgg(1, 1, dpi).get_text_width_height_descent(text, prop, ismath=False)[0]
    outline = TextToPath().get_text_width_height_descent(text, prop, ismath=False)[0]
    return max(hinted * 72.0 / dpi, outline)


@functools.lru_cache(maxsize=256)
def _wrap_to_width(text: str, width_pt: float, size: float, dpi: float = DPI) -> str:
    """``text`` wrapped greedily at spaces so that every line, measured in the house font,
    is at most ``width_pt`` points wide (a single longer word keeps its own line); line
    breaks already in it are kept.

    Greedy: each line takes the most words that fit. The width of the first k words grows
    with k (each word adds its advance and a space's), so the most that fit are found by
    bisection on k, measuring about log2(words) candidates a line instead of every one; a
    figure's note is wrapped once to size the figure and again to draw it, hence the cache.
    (Measuring every candidate took 2 s of a replicate run's CPU.)"""
    lines = []
    for part in str(text).split("\n"):
        words = part.split()
        start = 0
        while start < len(words):
            fits, over = start + 1, len(words) + 1  # words[start:fits] fits (one word always)
            while over - fits > 1:
                mid = (fits + over) // 2
                if _text_width_pt(" ".join(words[start:mid]), size, dpi) > width_pt:
                    over = mid
                else:
                    fits = mid
            lines.append(" ".join(words[start:fits]))
            start = fits
        if not words:
            lines.append("")
    return "\n".join(lines)


#: Share of the figure's width a source note may fill (it starts at 1% from the left edge;
#: the rest is a margin).
_NOTE_WIDTH = 0.95


def wrap_note(text: str, width: float, *, size: float = _NOTE_SIZE, dpi: float = DPI) -> str:
    """``text`` wrapped as :func:`source_note` wraps it for a figure ``width`` inches wide
    (count its lines to size a figure before drawing it)."""
    return _wrap_to_width(text, _NOTE_WIDTH * width * 72, size, dpi)


def source_note(fig: Figure, text: str, *, size: float = _NOTE_SIZE) -> None:
    """A small grey note under everything else (source, sample, caveats), wrapped to the
    figure's width by measuring each line in the house font (so the last word of a long
    line, e.g. a licence's attribution, is never cut off at the edge); the layout keeps a
    strip at the bottom free for it. Call before :func:`finish`. Put legends inside the axes
    or ``loc="outside right upper"``: a legend placed "outside lower" is not moved up by the
    strip and would overlap the note."""
    wrapped = wrap_note(text, fig.get_figwidth(), size=size, dpi=fig.dpi)
    n_lines = wrapped.count("\n") + 1
    strip = (n_lines * size * 1.35 + 5.0) / 72.0 / fig.get_figheight()
    engine = fig.get_layout_engine()
    if engine is not None and hasattr(engine, "set"):
        engine.set(rect=(0.0, strip, 1.0, 1.0 - strip))
    fig.text(0.01, 0.5 * 4.0 / 72.0 / fig.get_figheight(), wrapped, fontsize=size,
             color=_NOTE_GREY, horizontalalignment="left", verticalalignment="bottom")


def finish(fig: Figure, path: str | Path | None = None, *,
           formats: Sequence[str] = FIGURE_FORMATS) -> Figure:
    """Solve the constrained layout once, then freeze it, and save if asked (PNG, PDF and
    SVG, or ``formats``: :func:`save_figure`).

    The layout solver is not idempotent to the last bit: drawing the same figure twice can
    move an axes by ~1e-14 and change a few PNG bytes. Freezing after one solve makes every
    later save of the figure identical to the first.

    When the PNG is saved, its own draw is the one that solves the layout (the Agg renderer
    at the figure's resolution, which is what ``draw_without_rendering`` uses, so the bytes
    are the same), and the PDF and SVG are drawn with it frozen: one draw of the figure
    fewer (about 0.15 s of each coefficient plot or panel figure).
    """
    if path is None or "png" not in formats or fig.dpi != DPI:
        fig.draw_without_rendering()
        fig.set_layout_engine("none")
        if path is not None:
            save_figure(fig, path, formats=formats)
        return fig
    png = figure_bytes(fig, "png")
    fig.set_layout_engine("none")
    save_figure(fig, path, formats=formats, rendered={"png": png})
    return fig


_finish = finish


# --------------------------------------------------------------------------- coefficients

def _key(equation: str, term: str) -> str:
    return term if equation in ("main", "mean") else f"{equation}:{term}"


#: Terms left out of coefficient plots unless asked for (``drop=()``): year and province
#: dummies, which a table reports as "Year effects: yes" rather than as coefficients.
NUISANCE_TERMS = ("year_*", "province_*")


def is_nuisance(term: str, patterns: Sequence[str]) -> bool:
    bare = term.split(":", 1)[-1]
    return any(fnmatchcase(term, p) or fnmatchcase(bare, p) for p in patterns)


def _collect(tidy_frames, terms, equations):
    data: dict[str, dict[str, tuple[float, float, float]]] = {}
    appearance: list[str] = []
    for name, frame in tidy_frames.items():
        rows = {}
        for rec in frame.itertuples(index=False):
            key = _key(str(rec.equation), str(rec.term))
            rows[key] = (float(rec.estimate), float(rec.ci_low), float(rec.ci_high))
            if (terms is None and str(rec.equation) in equations
                    and str(rec.term) not in CONSTANT_NAMES and key not in appearance):
                appearance.append(key)
        data[str(name)] = rows
    return data, (list(terms) if terms is not None else appearance)


def _term_panel(ax, rows: Sequence[tuple[float, float, float] | None]) -> None:
    """Draw one term's panel of :func:`coefficient_plot`: a marker and 95 % interval per model
    (row ``m`` of ``rows`` is ``(estimate, low, high)`` or None), the zero line kept in view,
    and "not in model" for the models without the term."""
    lows, highs, absent = [0.0], [0.0], []
    for m, row in enumerate(rows):
        if row is None or not math.isfinite(row[0]):
            absent.append(m)
            continue
        est, lo, hi = row
        lo = lo if math.isfinite(lo) else est
        hi = hi if math.isfinite(hi) else est
        lows.append(lo)
        highs.append(hi)
        ax.errorbar([est], [m], xerr=[[est - lo], [hi - est]], fmt="o", markersize=4,
                    capsize=2.5, elinewidth=1.2, color=COLORS[m % len(COLORS)], zorder=3)
    ax.axvline(0.0, color="#555555", linewidth=0.8, linestyle="--", zorder=1)
    lo, hi = min(lows), max(highs)
    pad = 0.08 * (hi - lo) if hi > lo else 1.0
    ax.set_xlim(lo - pad, hi + pad)
    # "not in model" on the wider side of the zero line, never across it
    zero = (0.0 - (lo - pad)) / ((hi + pad) - (lo - pad))
    x, ha = (0.02, "left") if zero >= 0.5 else (0.98, "right")
    for m in absent:
        ax.text(x, m, "not in model", transform=ax.get_yaxis_transform(), ha=ha,
                va="center", fontsize=6.5, color=_NOTE_GREY, clip_on=False)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=4))
    ax.grid(axis="y", visible=False)


def coefficient_plot(
    tidy_frames: Mapping[str, pd.DataFrame],
    terms: Sequence[str] | None = None,
    path: str | Path | None = None,
    *,
    var_labels: Mapping[str, str] | None = None,
    equations: Sequence[str] = ("main", "mean"),
    title: str | None = None,
    xlabel: str = "Dots: estimates; bars: 95% confidence intervals",
    width: float = 7.0,
    ncols: int | None = None,
    source: str | None = None,
    drop: Sequence[str] = NUISANCE_TERMS,
) -> Figure:
    """Point estimates with their 95 % confidence intervals (``ci_low``/``ci_high`` of the
    tidy frames), **one small panel per term**, the models as rows of every panel.

    Each panel has its own horizontal scale (so a coefficient of 0.01 is as visible as one
    of -4), a dashed line at zero kept in view, and the term's label as its title. The
    model names (the keys of ``tidy_frames``, e.g. ``"(1) GNB, main"``) label the rows of
    the left-most panels and are shared by the panels to their right. A model without the
    term shows "not in model" in its row.

    Parameters
    ----------
    tidy_frames : ``{model name: tidy frame}``, top to bottom.
    terms : terms to show, one panel each, in reading order (``"x"`` for the mean/main
        equation, ``"lnalpha:z"`` for the dispersion equation). Default: every term of
        ``equations`` in order of first appearance, constants excluded.
    path : if given, the PNG is written there (atomically).
    var_labels : display names keyed like ``terms``.
    equations : equations considered when ``terms`` is None.
    title : figure title (wrapped to the width).
    xlabel : what the markers mean; printed in the note under the figure.
    ncols : panels per row (default: 2 for two or four terms, else 3).
    source : source line printed under the figure (:func:`source_note`).
    drop : ``fnmatch`` patterns (bare or qualified names) of nuisance terms left out, of
        ``terms`` too: default :data:`NUISANCE_TERMS` (year and province dummies); add a
        spec's own (e.g. a boundary-change shift), or pass ``()`` to show everything.

    A model without a term prints "not in model" in its row, on the side of the panel away
    from the zero line, so the label never crosses it.

    Returns the :class:`~matplotlib.figure.Figure`.
    """
    if not tidy_frames:
        raise ValueError("coefficient_plot: no models given")
    var_labels = dict(var_labels or {})
    data, shown = _collect(tidy_frames, terms, equations)
    shown = [t for t in shown if not is_nuisance(t, tuple(drop))]
    if not shown:
        raise ValueError("coefficient_plot: no terms to plot (after leaving out the nuisance "
                         f"terms {list(drop)}; pass drop=() to show them)")
    unknown = [t for t in shown if not any(t in rows for rows in data.values())]
    if unknown:
        raise KeyError(f"coefficient_plot: term(s) {unknown} are in none of the models")

    n_terms, n_models = len(shown), len(data)
    if ncols is None:  # full rows where possible: 2 x 2 for four terms, else rows of three
        ncols = 2 if n_terms in (2, 4) else 3
    ncols = max(1, min(ncols, n_terms))
    nrows = math.ceil(n_terms / ncols)
    names = list(data)
    longest = max(len(n) for n in names)
    label_width = min(2.4, 0.3 + 0.062 * longest)          # inches for the model names
    panel_w = (width - label_width) / ncols
    panel_h = 0.24 * n_models + 0.75
    extra = 0.35 + (0.4 if title else 0.0) + (0.35 if source else 0.15)
    with style():
        fig = new_figure(width, nrows * panel_h + extra)
        axes = fig.subplots(nrows, ncols, sharey=True, squeeze=False)
        for idx, ax in enumerate(axes.flat):
            if idx >= n_terms:
                ax.set_visible(False)
                continue
            term = shown[idx]
            _term_panel(ax, [data[name].get(term) for name in names])
            chars = int(panel_w * 72 / (0.6 * 9.0))
            ax.set_title(_wrap(var_labels.get(term, term), chars), loc="left", fontsize=8.5)
        axes[0, 0].set_yticks(range(n_models), names)
        axes[0, 0].set_ylim(n_models - 0.5, -0.5)
        if title:
            figure_title(fig, title)
        # the axis legend goes into the note: a figure-level x label would collide with it
        note = " ".join(t for t in (f"{xlabel}; each panel has its own scale." if xlabel else "",
                                    source or "") if t)
        if note:
            source_note(fig, note)
        return finish(fig, path)


# --------------------------------------------------------------------------- provinces

def _long(panel_df: pd.DataFrame, variable: str, region: str, year: str) -> pd.DataFrame:
    """``region, year, value`` rows from a (region, year)-indexed panel or one with those
    columns."""
    df = panel_df
    names = [n for n in (df.index.names or []) if n is not None]
    if region in names or year in names:
        df = df.reset_index()
    missing = [c for c in (region, year, variable) if c not in df.columns]
    if missing:
        raise KeyError(f"panel has no {missing}: expected a ({region!r}, {year!r}) index or "
                       f"columns, and the variable {variable!r}")
    out = pd.DataFrame({
        "region": df[region].astype(str).to_numpy(),
        "year": pd.to_numeric(df[year]).to_numpy(),
        "value": pd.to_numeric(df[variable], errors="raise").astype("float64").to_numpy(),
    })
    if out.duplicated(["region", "year"]).any():
        dup = out.loc[out.duplicated(["region", "year"]), ["region", "year"]].iloc[0]
        raise ValueError(f"panel has duplicated (region, year) = "
                         f"({dup['region']}, {dup['year']})")
    return out


def _wide(long: pd.DataFrame) -> pd.DataFrame:
    order = list(dict.fromkeys(long["region"]))
    wide = long.pivot(index="year", columns="region", values="value").sort_index()
    return wide[order]


def _region_label(key: str, labels: Mapping[str, str] | None) -> str:
    if labels and key in labels:
        return labels[key]
    return key.replace("_", " ").title()


def _log_axis(ax) -> None:
    """A log y axis labelled with plain numbers at 1, 2, 5 x 10^k."""
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}" if v >= 1 else f"{v:g}"))
    ax.yaxis.set_minor_formatter(NullFormatter())


def _line_figure(wide, chosen_labels, others, *, label, title, size, log, note, source,
                 other_label="Other provinces", colors=COLORS):
    """Shared body of the line charts: grey context lines, coloured highlighted lines,
    legend outside on the right, optional log axis, title and source/notes line."""
    with style():
        fig = new_figure(*size)
        ax = fig.add_subplot()
        for i, key in enumerate(others):
            ax.plot(wide.index, wide[key], color=GREY, linewidth=0.9, zorder=2,
                    label=other_label if i == 0 else None)
        for i, (key, text) in enumerate(chosen_labels):
            ax.plot(wide.index, wide[key], color=colors[i % len(colors)], linewidth=1.8,
                    zorder=3, label=text)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("Year")
        ax.set_ylabel(label)
        if log:
            _log_axis(ax)
        if title:
            figure_title(fig, title)
        handles, labels = ax.get_legend_handles_labels()
        if handles:
            # highlighted lines first, the grey context last
            pairs = sorted(zip(handles, labels), key=lambda hl: hl[1] == other_label)
            # a fixed place outside the axes: loc="best" depends on the draw history, so a
            # figure saved twice would not give the same bytes
            fig.legend([h for h, _ in pairs], [lab for _, lab in pairs],
                       loc="outside right upper")
        text = " ".join(t for t in (source, note) if t)
        if text:
            source_note(fig, text)
        return fig


def province_lines(
    panel_df: pd.DataFrame,
    variable: str,
    path: str | Path | None = None,
    *,
    label: str | None = None,
    highlight: Sequence[str] | None = None,
    title: str | None = None,
    region_labels: Mapping[str, str] | None = None,
    region: str = "region",
    year: str = "year",
    size: tuple[float, float] = (6.5, 4.0),
    log: bool = False,
    note: str | None = None,
    source: str | None = None,
) -> Figure:
    """One line per province over the years: highlighted provinces in colour (legend), the
    others in grey.

    ``highlight`` defaults to :data:`DEFAULT_HIGHLIGHT` (those present in the panel); names
    given explicitly must all be in the panel. ``label`` is the y-axis label (default: the
    variable name). ``log=True`` draws the y axis on a log scale (for counts spanning orders
    of magnitude); values <= 0 cannot be shown there and are left out, which the note
    under the figure then says. ``source`` and ``note`` are printed under the figure.
    Missing years break the line. Returns the figure; writes a PNG if ``path`` is given.
    """
    long = _long(panel_df, variable, region, year)
    wide = _wide(long)
    present = list(wide.columns)
    if highlight is None:
        chosen = [r for r in DEFAULT_HIGHLIGHT if r in present]
    else:
        chosen = list(dict.fromkeys(highlight))
        unknown = [r for r in chosen if r not in present]
        if unknown:
            raise KeyError(f"province_lines: highlight {unknown} not in the panel "
                           f"(regions: {present})")
    if log:
        hidden = int((wide <= 0).sum().sum())
        wide = wide.where(wide > 0)
        if hidden:
            note = ((note + " ") if note else "") + (
                f"{hidden} province-year value(s) of zero or less are not shown on the log scale.")
    others = [r for r in present if r not in chosen]
    fig = _line_figure(wide, [(k, _region_label(k, region_labels)) for k in chosen], others,
                       label=label or variable, title=title, size=size, log=log, note=note,
                       source=source)
    return finish(fig, path)


def macro_region_lines(
    panel_df: pd.DataFrame,
    variable: str,
    path: str | Path | None = None,
    *,
    label: str | None = None,
    title: str | None = None,
    region: str = "region",
    year: str = "year",
    size: tuple[float, float] = (7.0, 4.2),
    log: bool = False,
    note: str | None = None,
    source: str | None = None,
) -> Figure:
    """A series published per macro-region (권역) and copied to each of its provinces
    (e.g. ``patents_pm_macro``), drawn **once per macro-region**, labelled with the
    provinces it stands for (legend entry "Capital Region" over "Seoul, Incheon, Gyeonggi").

    Raises ``ValueError`` naming the macro-region and year if two provinces of one
    macro-region have different values (then the series is provincial: use
    :func:`province_lines`). Returns the figure; writes a PNG if ``path`` is given.
    """
    long = _long(panel_df, variable, region, year).dropna(subset=["value"])
    long["macro"] = [regions.lookup(r).macro_region for r in long["region"]]
    spread = long.groupby(["macro", "year"])["value"].agg(["min", "max"])
    differ = spread[~np.isclose(spread["min"], spread["max"], rtol=1e-12, atol=0.0)]
    if len(differ):
        (macro, yr), _ = next(iter(differ.iterrows()))
        raise ValueError(f"macro_region_lines: {variable!r} differs between provinces of "
                         f"{macro} in {yr}; it is not a macro-region series")
    present = [k for k in regions.MACRO_REGIONS if k in set(long["macro"])]
    wide = long.groupby(["year", "macro"])["value"].first().unstack("macro")[present]
    in_panel = set(long["region"])
    labels = []
    for key in present:
        m = regions.MACRO_REGIONS[key]
        members = [regions.lookup(r).name_en for r in m.members if r in in_panel]
        shown = m.name_en if members == [m.name_en] else f"{m.name_en}\n  {', '.join(members)}"
        labels.append((key, shown))
    # seven series: the palette's pale yellow would vanish on white, black replaces it
    fig = _line_figure(wide, labels, [], label=label or variable, title=title, size=size,
                       log=log, note=note, source=source, colors=COLORS[:6] + ("#000000",))
    return finish(fig, path)


def province_small_multiples(
    panel_df: pd.DataFrame,
    variable: str,
    path: str | Path | None = None,
    *,
    label: str | None = None,
    title: str | None = None,
    region_labels: Mapping[str, str] | None = None,
    ncols: int = 4,
    region: str = "region",
    year: str = "year",
    panel_size: tuple[float, float] = (1.9, 1.5),
    source: str | None = None,
) -> Figure:
    """One small panel per province (in panel order): the province in colour over all the
    others in light grey, shared axes. Returns the figure; writes a PNG if ``path`` is
    given."""
    wide = _wide(_long(panel_df, variable, region, year))
    keys = list(wide.columns)
    if not keys:
        raise ValueError("province_small_multiples: the panel is empty")
    ncols = max(1, min(ncols, len(keys)))
    nrows = math.ceil(len(keys) / ncols)
    with style():
        fig = new_figure(panel_size[0] * ncols, panel_size[1] * nrows + (0.4 if title else 0.2)
                         + (0.3 if source else 0.0))
        axes = fig.subplots(nrows, ncols, sharex=True, sharey=True, squeeze=False)
        for idx, ax in enumerate(axes.flat):
            if idx >= len(keys):
                ax.set_visible(False)
                continue
            key = keys[idx]
            for other in keys:
                if other != key:
                    ax.plot(wide.index, wide[other], color="#D9D9D9", linewidth=0.6, zorder=2)
            ax.plot(wide.index, wide[key], color=COLORS[0], linewidth=1.5, zorder=3)
            ax.set_title(_region_label(key, region_labels), fontsize=8.5, loc="left")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=3))
            ax.tick_params(labelsize=7)
            if idx + ncols >= len(keys):  # nothing below it: show its year labels
                ax.tick_params(labelbottom=True)
        fig.supylabel(label or variable, fontsize=9)
        if title:
            figure_title(fig, title)
        if source:
            source_note(fig, source)
        return finish(fig, path)
