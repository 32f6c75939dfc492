"""Figures: coefficient plots and province time series, as deterministic PNG files.

Determinism. Every figure is drawn on a bare :class:`matplotlib.figure.Figure` (Agg canvas; no
pyplot, no global figure registry) inside :func:`style`, which starts from Matplotlib's
built-in defaults and applies this module's fixed settings (:data:`RC`) — the user's
``matplotlibrc`` and any ``rcParams`` changed elsewhere cannot leak in, and nothing is
changed after the call returns. Sizes and dpi are fixed, the font is the bundled DejaVu Sans
(it has no Hangul: keep labels in English, e.g. ``Region.name_en``), the constrained layout
is solved once and then frozen, and PNGs are saved with ``metadata={"Software": None}`` so no
version or date is embedded: the same data and the same Matplotlib give byte-identical files.

Writes are atomic (:func:`regrowth.io.write_with`): an interrupted run leaves the previous
PNG intact.

Inputs come from :func:`regrowth.tidy.tidy` (coefficient plots) and from the panel, indexed
by a ``(region, year)`` MultiIndex (or with ``region`` and ``year`` columns).
"""

from __future__ import annotations

import contextlib
import io
import math
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib import cycler
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from regrowth.io import write_with
from regrowth.tidy import CONSTANT_NAMES

__all__ = [
    "DPI",
    "RC",
    "COLORS",
    "DEFAULT_HIGHLIGHT",
    "style",
    "save_png",
    "png_bytes",
    "coefficient_plot",
    "province_lines",
    "province_small_multiples",
]

#: Resolution of every saved PNG.
DPI = 150

#: Okabe–Ito colour-blind-safe palette (black dropped), in the order models/provinces use it.
COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442")

#: Provinces drawn in colour by :func:`province_lines` unless told otherwise: the two largest
#: innovation centres of the capital region and Daejeon (Daedeok research complex).
DEFAULT_HIGHLIGHT = ("seoul", "gyeonggi", "daejeon")

_GREY = "#B0B0B0"

#: Settings applied over Matplotlib's defaults while a figure is drawn and saved.
RC: Mapping[str, object] = {
    "font.family": "DejaVu Sans",
    "font.size": 9.0,
    "axes.titlesize": 10.0,
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


def _savefig(fig: Figure, target) -> None:
    fig.savefig(target, format="png", dpi=DPI, metadata={"Software": None})


def png_bytes(fig: Figure) -> bytes:
    """The PNG bytes of ``fig`` as :func:`save_png` would write them."""
    with style():
        buf = io.BytesIO()
        _savefig(fig, buf)
    return buf.getvalue()


def save_png(fig: Figure, path: str | Path) -> Path:
    """Save ``fig`` as PNG to ``path`` atomically (temporary file, then rename)."""
    with style():
        return write_with(path, lambda tmp: _savefig(fig, tmp))


def _new_figure(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def _finish(fig: Figure, path: str | Path | None) -> Figure:
    """Solve the constrained layout once, then freeze it, and save if asked.

    The layout solver is not idempotent to the last bit: drawing the same figure twice can
    move an axes by ~1e-14 and change a few PNG bytes. Freezing after one solve makes every
    later save of the figure identical to the first.
    """
    fig.draw_without_rendering()
    fig.set_layout_engine("none")
    if path is not None:
        save_png(fig, path)
    return fig


# --------------------------------------------------------------------------- coefficients

def _key(equation: str, term: str) -> str:
    return term if equation in ("main", "mean") else f"{equation}:{term}"


def coefficient_plot(
    tidy_frames: Mapping[str, pd.DataFrame],
    terms: Sequence[str] | None = None,
    path: str | Path | None = None,
    *,
    var_labels: Mapping[str, str] | None = None,
    equations: Sequence[str] = ("main", "mean"),
    title: str | None = None,
    xlabel: str = "Estimate with 95% confidence interval",
    width: float = 6.5,
) -> Figure:
    """Point estimates with their confidence intervals (``ci_low``/``ci_high`` of the tidy
    frames, 95 %), one marker per model, models side by side within each term.

    Parameters
    ----------
    tidy_frames : ``{model name: tidy frame}``, in legend order.
    terms : terms to show, top to bottom (``"x"`` for the mean/main equation,
        ``"lnalpha:z"`` for the dispersion equation). Default: every term of ``equations``
        in order of first appearance, constants excluded.
    path : if given, the PNG is written there (atomically).
    var_labels : display names keyed like ``terms``.
    equations : equations considered when ``terms`` is None.

    Returns the :class:`~matplotlib.figure.Figure`.
    """
    if not tidy_frames:
        raise ValueError("coefficient_plot: no models given")
    var_labels = dict(var_labels or {})
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
    shown = list(terms) if terms is not None else appearance
    if not shown:
        raise ValueError("coefficient_plot: no terms to plot")
    unknown = [t for t in shown if not any(t in rows for rows in data.values())]
    if unknown:
        raise KeyError(f"coefficient_plot: term(s) {unknown} are in none of the models")

    n_terms, n_models = len(shown), len(data)
    band = 0.7
    offsets = (np.linspace(-band / 2, band / 2, n_models) if n_models > 1 else np.zeros(1))
    with style():
        fig = _new_figure(width, max(2.4, 0.42 * n_terms * max(1.0, n_models / 2.5) + 1.3))
        ax = fig.add_subplot()
        ax.axvline(0.0, color="#555555", linewidth=0.8, linestyle="--", zorder=1)
        for m, (name, rows) in enumerate(data.items()):
            ys, xs, lo_err, hi_err = [], [], [], []
            for i, term in enumerate(shown):
                if term not in rows or not math.isfinite(rows[term][0]):
                    continue
                est, lo, hi = rows[term]
                ys.append(i + offsets[m])
                xs.append(est)
                lo_err.append(est - lo if math.isfinite(lo) else 0.0)
                hi_err.append(hi - est if math.isfinite(hi) else 0.0)
            ax.errorbar(xs, ys, xerr=[lo_err, hi_err], fmt="o", markersize=4, capsize=2.5,
                        elinewidth=1.1, color=COLORS[m % len(COLORS)], label=name, zorder=3)
        ax.set_yticks(range(n_terms), [var_labels.get(t, t) for t in shown])
        ax.set_ylim(n_terms - 0.5, -0.5)
        ax.grid(axis="y", visible=False)
        ax.set_xlabel(xlabel)
        if title:
            ax.set_title(title, loc="left")
        if n_models > 1:
            fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center",
                       ncols=min(n_models, 4))
        return _finish(fig, path)


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
) -> Figure:
    """One line per province over the years: highlighted provinces in colour (legend), the
    others in grey.

    ``highlight`` defaults to :data:`DEFAULT_HIGHLIGHT` (those present in the panel); names
    given explicitly must all be in the panel. ``label`` is the y-axis label (default: the
    variable name). Missing years break the line. Returns the figure; writes a PNG if
    ``path`` is given.
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
    with style():
        fig = _new_figure(*size)
        ax = fig.add_subplot()
        others = [r for r in present if r not in chosen]
        for i, key in enumerate(others):
            ax.plot(wide.index, wide[key], color=_GREY, linewidth=0.9, zorder=2,
                    label="Other provinces" if i == 0 else None)
        for i, key in enumerate(chosen):
            ax.plot(wide.index, wide[key], color=COLORS[i % len(COLORS)], linewidth=1.8,
                    zorder=3, label=_region_label(key, region_labels))
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("Year")
        ax.set_ylabel(label or variable)
        if title:
            ax.set_title(title, loc="left")
        if present:
            handles, labels = ax.get_legend_handles_labels()
            # highlighted provinces first, "Other provinces" last
            pairs = sorted(zip(handles, labels), key=lambda hl: hl[1] == "Other provinces")
            # a fixed place outside the axes: loc="best" depends on the draw history, so a
            # figure saved twice would not give the same bytes
            fig.legend([h for h, _ in pairs], [lab for _, lab in pairs],
                       loc="outside right upper")
        return _finish(fig, path)


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
        fig = _new_figure(panel_size[0] * ncols, panel_size[1] * nrows + (0.4 if title else 0.2))
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
            fig.suptitle(title, fontsize=10, x=0.01, horizontalalignment="left")
        return _finish(fig, path)
