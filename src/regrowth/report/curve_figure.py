"""Figures of a specification curve (``results/curve/<id>_<role>.png``, ``<id>_null.png``,
each with its PDF and SVG beside it: :func:`regrowth.report.figures.save_figure`).

The layout is that of R's ``specr::plot_specs`` and of Simonsohn, Simmons & Nelson (2020),
figure 2: the estimates of every fitted specification sorted from smallest to largest with
their 95% intervals (top), and below them an indicator panel with one row per option of each
dimension that varies, marking the choices each specification made. Colour says whether the
*recommended* p-value (the bootstrap p where the curve computes one, else the clustered p;
never the model-based one) is below 0.05. Each model is one point: its inference choices share
its estimate, so the ``inference`` dimension is not a row of the indicator panel. A caption
gives the median estimate, the share of estimates with the median's sign and the share with
p < 0.05 by the recommended inference, and says which inference that is, read from the
curve's ``summary``.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D

from regrowth.report.figures import save_figure

POS, NEG, NS = "#1f5fa8", "#c0392b", "#9a9a9a"


def _fitted(record: dict, role: str) -> list[tuple[dict, dict]]:
    """The fitted models of ``role``, one per distinct estimate, sorted by estimate."""
    rows = []
    for m in record["models"]:
        t = m["terms"].get(role) or {}
        if not m["error"] and t.get("estimate") is not None:
            rows.append((m, t))
    rows.sort(key=lambda rt: (rt[1]["estimate"], rt[0]["id"]))
    return rows


def specification_curve(record: dict, role: str, path: str | Path, dimensions: Sequence[str],
                        dpi: int = 120) -> Path:
    """Draw the curve of focal role ``role`` of a curve record (``run_curve``); return ``path``.
    ``dimensions``: the dimensions' fixed order (a record read back from JSON has its keys
    sorted)."""
    rows = _fitted(record, role)
    dims = [d for d in dimensions if len(record["dimensions"].get(d, ())) > 1
            and d != "inference"]   # inference choices share the model's estimate
    labels = []
    for d in dims:
        opts = list(record["dimensions"][d])
        present = {r["choices"].get(d) for r, _ in rows}
        if "-" in present and "-" not in opts:
            opts.append("-")
        labels += [(d, o) for o in opts if o in present]
    n = len(rows)
    fig_h = 3.4 + 0.16 * max(len(labels), 4)
    fig, (ax, axi) = plt.subplots(2, 1, figsize=(10, fig_h), sharex=True,
                                  gridspec_kw={"height_ratios": [3.2, 0.16 * max(len(labels), 4) / 0.9 * 1.0 + 0.2]})
    x = np.arange(n)
    est = np.array([t["estimate"] for _, t in rows], dtype=float)
    lo = np.array([np.nan if t.get("ci_low") is None else t["ci_low"] for _, t in rows], dtype=float)
    hi = np.array([np.nan if t.get("ci_high") is None else t["ci_high"] for _, t in rows], dtype=float)
    p = np.array([np.nan if t.get("p_recommended") is None else t["p_recommended"]
                  for _, t in rows], dtype=float)
    colour = np.where(~(p < 0.05), NS, np.where(est > 0, POS, NEG))
    hollow = np.isnan(p)   # no bootstrap and no cluster p: drawn open, not counted
    lw = 0.6 if n > 300 else 1.0
    ms = 4 if n > 300 else 10
    if n:
        ax.vlines(x, lo, hi, colors=colour, alpha=0.35, linewidth=lw)
        ax.scatter(x[~hollow], est[~hollow], c=colour[~hollow], s=ms, zorder=3, linewidths=0)
        if hollow.any():
            ax.scatter(x[hollow], est[hollow], facecolors="none", edgecolors=NS, s=ms, zorder=3,
                       linewidths=0.6)
    ax.axhline(0.0, color="black", linewidth=0.8)
    summ = record["summary"].get(role, {})
    med = summ.get("median_estimate")
    if med is not None:
        ax.axhline(med, color="black", linewidth=0.8, linestyle="--")
    ax.set_ylabel(f"coefficient of the\n{role} measure", fontsize=8)
    title = f"{record['title']}: {role}"
    ax.set_title(textwrap.fill(title, 95), fontsize=10)
    caption = _caption(record, rows, summ, med)
    ax.text(0.0, 1.0, "", transform=ax.transAxes)
    ax.tick_params(labelsize=8)
    handles = [Line2D([], [], marker="o", linestyle="", color=c, label=lab, markersize=4)
               for c, lab in ((POS, "p < 0.05, positive"), (NEG, "p < 0.05, negative"),
                            (NS, "p >= 0.05"))]
    if n and hollow.any():
        handles.append(Line2D([], [], marker="o", linestyle="", markerfacecolor="none",
                              markeredgecolor=NS, label="no bootstrap or cluster p",
                              markersize=4))
    handles.append(Line2D([], [], color="black", linestyle="--", label="median"))
    ax.legend(handles=handles, fontsize=7, loc="upper left", frameon=False)

    _indicator_panel(axi, rows, dims, labels, colour, lw)
    caption = textwrap.fill(caption, 150)
    fig.text(0.01, 0.005, caption, fontsize=7, va="bottom")
    # room for the caption below the x label: about 0.12 in per line of 7-pt text
    fig.tight_layout(rect=(0, min(0.3, (0.08 + 0.12 * (caption.count("\n") + 1)) / fig_h), 1, 1))
    path = save_figure(fig, path, dpi=dpi)["png"]  # with its PDF and SVG beside it
    plt.close(fig)
    return path


def _caption(record: dict, rows: list, summ: dict, med: float | None) -> str:
    """The figure's caption: how many models are drawn and how many failed, the median, and
    what the colours and the headline share mean (the recommended inference)."""
    n = len(rows)
    failed = record["n_models"] - n

    def pct(v):
        return "n/a" if v is None else f"{100 * v:.0f}%"

    ci_from = sorted({t.get("ci_from") for _, t in rows if t.get("ci_from")})
    return (f"{n} of {record['n_models']} models estimated, each estimate shown once "
            f"(the inference choices of a model share its estimate; {failed} failed, "
            f"{record.get('n_not_converged', 0)} without a "
            f"convergence flag; all listed in {record['curve']}.json); median {med:.3g}; "
            f"same sign as the median {pct(summ.get('share_same_sign'))}. Colour and the "
            f"headline share use the recommended inference: the bootstrap p where computed "
            f"({summ.get('n_recommended_bootstrap', 0)} models), else the province-clustered "
            f"p ({summ.get('n_recommended_cluster', 0)}), never the model-based p; "
            f"p < 0.05 in {pct(summ.get('share_p05'))} of {summ.get('n_recommended', 0)} "
            f"({pct(summ.get('share_p05_same_sign'))} with the median's sign)"
            + (f"; {summ['n_without_recommended']} models with neither drawn open, not "
               f"counted" if summ.get("n_without_recommended") else "")
            + f". Intervals: 95%, {' or '.join(ci_from) or 'none'} covariance."
            if med is not None else f"no specification could be estimated ({failed} failed)")


def _indicator_panel(axi, rows: list, dims: list[str], labels: list[tuple], colour,
                     lw: float) -> None:
    """The lower panel: one tick per model and choice it makes, in the estimate's colour,
    a grey line between dimensions."""
    n = len(rows)
    index = {lab: i for i, lab in enumerate(labels)}
    xs, ys, cs = [], [], []
    for i, (r, _) in enumerate(rows):
        for d in dims:
            lab = (d, r["choices"].get(d))
            if lab in index:
                xs.append(i)
                ys.append(index[lab])
                cs.append(colour[i])
    axi.scatter(xs, ys, c=cs, marker="|", s=(18 if n > 300 else 40), linewidths=lw)
    axi.set_yticks(range(len(labels)))
    axi.set_yticklabels([f"{d}: {o}" for d, o in labels], fontsize=7)
    axi.set_ylim(len(labels) - 0.5, -0.5)
    prev = None
    for i, (d, _) in enumerate(labels):
        if prev is not None and d != prev:
            axi.axhline(i - 0.5, color="#cccccc", linewidth=0.6)
        prev = d
    axi.set_xlabel("models (one estimate each), sorted by estimate", fontsize=8)
    axi.tick_params(labelsize=7)
    if n:
        axi.set_xlim(-1, n)


def null_distribution(record: dict, path: str | Path, dpi: int = 120) -> Path:
    """Histograms of the median estimate and share significant under the null, per role (for a
    count curve's score null, of the one-step estimates and the score tests' p-values)."""
    null = record["null"]
    roles = list(null["roles"])
    score = null.get("null_method") == "score"   # count curves: score statistics (count_null)
    labels = (("median one-step estimate (not studentized)",
               "share of models with score-test p < 0.05") if score else
              ("median estimate", "share of models with p < 0.05 (p of record)"))
    fig, axes = plt.subplots(len(roles), 2, figsize=(9, 2.8 * len(roles)), squeeze=False)
    for i, role in enumerate(roles):
        r = null["roles"][role]
        for j, (key, obs, pkey, lab) in enumerate((
                ("null_median", r["observed_median"], "p_median", labels[0]),
                ("null_share_p05", r["observed_share_p05"], "p_share_p05", labels[1]))):
            ax = axes[i, j]
            vals = [v for v in r[key] if v is not None]
            if vals:
                ax.hist(vals, bins=min(30, max(5, len(vals) // 3)), color="#bbbbbb")
            if obs is not None:
                ax.axvline(obs, color=POS, linewidth=1.5)
            pv = r.get(pkey)
            ptxt = ("p n/a" if pv is None else
                    # p = (1 + #as extreme) / (1 + draws) (curve.null._mc_p)
                    f"p = {pv:.3f} ({round(pv * (len(vals) + 1)) - 1} of {len(vals)} draws "
                    "as extreme)")
            ax.set_title(f"{role}: {lab}\nobserved (line) vs {len(vals)} null draws; {ptxt}",
                         fontsize=8)
            ax.tick_params(labelsize=7)
    fig.suptitle(textwrap.fill(f"{record['title']}: inferential specification curve under the "
                               f"null", 90), fontsize=9)
    fig.tight_layout()
    path = save_figure(fig, path, dpi=dpi)["png"]  # with its PDF and SVG beside it
    plt.close(fig)
    return path
