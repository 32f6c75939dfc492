"""The reform's event-study figure, in the house style of :mod:`regrowth.figures`.

:func:`event_study_figure` draws one point per event year (the dose x year coefficients of
:func:`regrowth.models.iv.event_study` or ``ppml_event_study``) with an interval, the
reference year 2018 as a hollow marker at zero (labelled "reference"), a dashed zero line
and a dotted line between 2018 and 2019 where the reform starts. The intervals are, in
order of preference, the ones passed in ``intervals`` (e.g. wild-bootstrap confidence sets
by test inversion, or Anderson-Rubin sets), or wild-cluster-bootstrap sets computed here
(``bootstrap=True``: :meth:`ReformResults.boottest` per coefficient, Rademacher, ``reps``,
``seed``), or the analytic cluster-robust t(G-1) intervals; the figure's note says which.
Unbounded intervals are drawn to the axis edge with an arrow.

:func:`dose_map` draws the dose per province as a choropleth of the 17 provinces
(:func:`regrowth.report.maps.choropleth`: house style, Sejong in the inset, the KOGL
attribution), provinces without a dose (those left out of the estimates) hatched.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from regrowth.report import figures, maps
from regrowth.inference import boottest

__all__ = ["event_study_figure", "bootstrap_intervals", "dose_map", "DOSE_UNIT"]

#: The unit of ``phase1_dose`` (:func:`regrowth.reform.dose.dose_panel`), as the map's
#: colour bar prints it.
DOSE_UNIT = "thousand won per resident per 1 trillion won of national VAT"


def dose_map(dose, path: str | Path | None = None, *, title: str | None = None,
             label: str | None = None, source: str | None = None, boundaries=None,
             missing_label: str = "not in the estimates"):
    """The reform's dose per resident, one colour per province.

    ``dose``: a mapping or Series province -> dose (``phase1_dose``: the 2020 increment of
    the local consumption tax, 21% - 11% of VAT, times the province's 2017-18 weighted
    consumption share, per resident; in :data:`DOSE_UNIT`). A province without a dose is
    hatched and named in the legend after ``missing_label``. ``label`` (the colour bar's
    words; default "Phase-1 dose, " + :data:`DOSE_UNIT`), ``title``, ``source`` (printed
    before the boundary attribution), ``boundaries`` as
    :func:`regrowth.report.maps.choropleth`; ``path``: the PNG, with PDF and SVG beside it
    (None: nothing written). Returns the figure.

    Raises ``ValueError`` if a dose is negative or not finite (the statute only raises
    the rate), naming the province.
    """
    import pandas as pd

    values = pd.Series(dict(dose) if not isinstance(dose, pd.Series) else dose, dtype=float)
    bad = [str(k) for k, v in values.items() if not (np.isfinite(v) and v >= 0)]
    if bad:
        raise ValueError(f"dose_map: the dose of {bad} is negative or not a number; the "
                         "reform's dose is a non-negative increment per resident")
    return maps.choropleth(
        values, path=path, boundaries=boundaries, diverging=False,
        title=title or "The reform's dose: the 2020 local consumption tax increment per "
                       "resident, by 2017-18 consumption shares",
        label=label or f"Phase-1 dose, {DOSE_UNIT}", source=source,
        missing_label=missing_label)


def bootstrap_intervals(results, *, reps: int = 9999, seed: int = 20190101,
                        level: float = 0.95) -> dict[int, tuple[float, float]]:
    """Wild cluster bootstrap (WCR) confidence sets of every event-year coefficient."""
    out = {}
    for term, year in zip(results.params.index, results.event_years):
        bt = boottest(results, term, reps=reps, seed=seed, level=level)
        out[year] = tuple(float(v) for v in bt.conf_int)
    return out


def event_study_figure(results, path: str | Path | None = None, *,
                       intervals: Mapping[int, tuple[float, float]] | None = None,
                       interval_label: str | None = None, bootstrap: bool = False,
                       reps: int = 9999, seed: int = 20190101, title: str | None = None,
                       ylabel: str = "coefficient on dose x year", note: str = "",
                       width: float = 6.5, height: float = 3.8):
    """Event-study plot of ``results`` (an :class:`~regrowth.models.iv.EventStudyResults`);
    saved as PNG to ``path`` if given. Returns the Matplotlib figure."""
    ref = int(results.spec["ref"])
    years = results.event_years
    est = results.params.to_numpy()
    if intervals is not None:
        missing = [y for y in years if y not in intervals]
        if missing:
            raise ValueError(f"intervals has no entry for event year(s) {missing}")
        lo = np.array([intervals[y][0] for y in years], dtype=float)
        hi = np.array([intervals[y][1] for y in years], dtype=float)
        label = interval_label or "95% intervals (given)"
    elif bootstrap:
        b = bootstrap_intervals(results, reps=reps, seed=seed)
        lo = np.array([b[y][0] for y in years])
        hi = np.array([b[y][1] for y in years])
        label = (f"95% wild cluster bootstrap sets (WCR, Rademacher, {reps} draws, seed {seed}; "
                 "test inversion)")
    else:
        ci = results.conf_int()
        lo, hi = ci["lower"].to_numpy(), ci["upper"].to_numpy()
        label = f"95% cluster-robust intervals, t({results.df_ref})"
    finite = np.concatenate([est, lo[np.isfinite(lo)], hi[np.isfinite(hi)], [0.0]])
    span = float(finite.max() - finite.min()) or 1.0
    ymin, ymax = finite.min() - 0.08 * span, finite.max() + 0.08 * span
    with figures.style():
        fig = figures.new_figure(width, height)
        ax = fig.add_subplot()
        ax.axhline(0.0, color=figures.GREY, linestyle="--", linewidth=0.9)
        ax.axvline(ref + 0.5, color=figures.GREY, linestyle=":", linewidth=1.0)
        color = figures.COLORS[0]
        for y, e, a, b in zip(years, est, lo, hi):
            a_draw = ymin if not math.isfinite(a) else a
            b_draw = ymax if not math.isfinite(b) else b
            ax.plot([y, y], [a_draw, b_draw], color=color, linewidth=1.4)
            for end, finite_end, marker in ((a_draw, math.isfinite(a), "v"),
                                            (b_draw, math.isfinite(b), "^")):
                if not finite_end:
                    ax.plot([y], [end], marker=marker, color=color, markersize=5)
        ax.plot(years, est, "o", color=color, markersize=5, label="estimate")
        ax.plot([ref], [0.0], "o", markerfacecolor="white", markeredgecolor="black",
                markersize=6, label=f"{ref}: reference (omitted)")
        ax.annotate("reform\n(2019-20)", xy=(ref + 0.5, ymax), xytext=(4, -2),
                    textcoords="offset points", va="top", fontsize=7, color="#555555")
        ax.set_ylim(ymin, ymax)
        ax.set_xticks(sorted([*years, ref]))
        ax.set_xlabel("year")
        ax.set_ylabel(ylabel)
        ax.legend(loc="upper left")
        figures.figure_title(fig, title or f"Event study: {results.spec.get('outcome', '')} on the "
                             "reform dose x year")
        figures.source_note(fig, f"{label}. {results.model}; {results.nobs} observations, "
                                 f"{results.n_clusters} provinces (clusters). {note}".strip())
        figures.finish(fig, path)
    return fig
