"""Leave-one-province-out estimates of the headline coefficients, and the Sejong break.

With 16 provinces, one province can carry a coefficient: Seoul holds most fintech applicants
and the highest 재정자립도, Gyeonggi and Daejeon the R&D. :func:`leave_one_out` refits one
specification of ``specs/models.toml`` once per province of its estimation sample, with that
province added to ``sample.exclude``, through the same path as ``make replicate``
(:func:`regrowth.fit.fit_column`), so every estimator, option and SE type of the spec is
kept. :func:`loo_figure` draws the result, one row per dropped province with its 95%
interval and a vertical line at the full-sample estimate.

A table carries it with ``analyses = { loo = "column" }`` (the terms: the table's ``focus``
coefficients among the column's regressors) or ``loo = { column = "...", terms = [...] }``;
it writes ``results/figures/loo_<table>.png``.

A boundary break. A 0/1 flag that marks rows whose growth rates mix two territories (the
panel's ``sejong_break``: Chungnam in 2012-13, when Sejong was carved out of it) can be
handled by a dummy, by dropping the rows, or not at all. :func:`break_flag_report` lists, for
every linear column of the specs, how many flagged rows its sample holds and how the given
coefficients move under each treatment.
"""

from __future__ import annotations

import dataclasses
import math
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from regrowth import regions
from regrowth.analyses import Analysis, Context, Output, register
from regrowth.errors import RegrowthError
from regrowth.fit import awaits_download, estimation_sample, fit_column
from regrowth.models import registry
from regrowth.models.registry import did_you_mean
from regrowth.report import figures
from regrowth.specs.parse import Problems

__all__ = ["leave_one_out", "loo_figure", "break_flag_report", "loo_columns"]

FULL = "(none)"


def _headline(spec, terms) -> list[str]:
    wanted = tuple(terms)
    out = [t for t in spec.regressors if t in wanted]
    if not out:
        raise ValueError(f"{spec.name}: none of {list(wanted)} is a regressor")
    return out


def leave_one_out(spec, panel: pd.DataFrame, terms) -> pd.DataFrame:
    """Refit ``spec`` without each province in turn.

    Parameters
    ----------
    spec : a :class:`regrowth.specs.ColumnSpec` (e.g. from ``regrowth.specs.load``).
    panel : the (region, year)-indexed panel.
    terms : coefficients to report (those among the spec's regressors).

    Returns
    -------
    DataFrame, one row per (dropped province, term), the full-sample fit first with
    ``dropped = "(none)"``: ``table``, ``column``, ``dropped``, ``term``, ``estimate``,
    ``std_error``, ``ci_low``, ``ci_high`` (95%, as the estimator reports them), ``p_value``,
    ``nobs``, ``n_provinces``, ``error`` (empty, or why that fit failed). Units are the
    coefficient's own (see the table the spec belongs to).
    """
    terms = _headline(spec, terms)
    data, _ = estimation_sample(spec, panel)
    provinces = sorted(set(data.index.get_level_values("region")))
    rows = []
    for dropped in [FULL, *provinces]:
        s = spec if dropped == FULL else dataclasses.replace(
            spec, sample=dataclasses.replace(spec.sample,
                                             exclude=tuple(spec.sample.exclude) + (dropped,)))
        if dropped != FULL:
            # a 0/1 regressor that only the dropped province switches on (sejong_break without
            # Chungnam) is identically zero: leave it out of that refit
            sub, _ = estimation_sample(s, panel)
            dead = [r for r in s.regressors if r not in terms and (sub[r] == 0).all()]
            if dead:
                s = dataclasses.replace(s, regressors=tuple(r for r in s.regressors
                                                            if r not in dead))
        base = {"table": spec.table, "column": spec.id, "dropped": dropped}
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fitted = fit_column(s, panel)
        except Exception as exc:  # noqa: BLE001 - e.g. linearmodels' AbsorbingEffectError:
            # one province's refit failing is a result to show, not a reason to stop
            for term in terms:
                rows.append({**base, "term": term, "estimate": math.nan, "std_error": math.nan,
                             "ci_low": math.nan, "ci_high": math.nan, "p_value": math.nan,
                             "nobs": 0, "n_provinces": 0, "error": f"{type(exc).__name__}: {exc}"})
            continue
        coefs = fitted.coefs[fitted.coefs["equation"].isin(["main", "mean"])].set_index("term")
        for term in terms:
            c = coefs.loc[term]
            rows.append({**base, "term": term, "estimate": float(c["estimate"]),
                         "std_error": float(c["std_error"]), "ci_low": float(c["ci_low"]),
                         "ci_high": float(c["ci_high"]), "p_value": float(c["p_value"]),
                         "nobs": int(fitted.stats["nobs"]),
                         "n_provinces": int(fitted.stats["n_entities"]), "error": ""})
    return pd.DataFrame(rows)


def loo_figure(frame: pd.DataFrame, path: str | Path | None = None, *,
               var_labels: dict | None = None, title: str | None = None):
    """One panel per term: a row per dropped province (estimate and 95% interval), the
    full-sample estimate as a vertical line (its interval shaded), zero dashed.

    Province names are printed in English (the bundled font has no Hangul). Returns the
    Matplotlib figure; writes a deterministic PNG if ``path`` is given (``regrowth.figures``).
    """
    var_labels = dict(var_labels or {})
    terms = list(dict.fromkeys(frame["term"]))
    drops = [d for d in dict.fromkeys(frame["dropped"]) if d != FULL]

    def name(key):
        try:
            return regions.get(key).name_en
        except Exception:  # noqa: BLE001 - an unknown key is printed as is
            return str(key)

    width = max(5.6, 3.3 * len(terms) + 1.2)
    with figures.style():
        fig = figures.new_figure(width, 0.24 * len(drops) + 1.5)
        axes = fig.subplots(1, len(terms), sharey=True, squeeze=False)[0]
        for ax, term in zip(axes, terms):
            sub = frame[frame["term"] == term].set_index("dropped")
            full = sub.loc[FULL]
            ax.axvspan(full["ci_low"], full["ci_high"], color="#E8E8E8", zorder=0)
            ax.axvline(full["estimate"], color=figures.COLORS[1], linewidth=1.2, zorder=2,
                       label="All provinces (95% interval shaded)")
            ax.axvline(0.0, color="#555555", linewidth=0.8, linestyle="--", zorder=1)
            ys = np.arange(len(drops))
            est = sub.loc[drops, "estimate"].to_numpy(dtype=float)
            lo = sub.loc[drops, "ci_low"].to_numpy(dtype=float)
            hi = sub.loc[drops, "ci_high"].to_numpy(dtype=float)
            ok = np.isfinite(est)
            ax.errorbar(est[ok], ys[ok], xerr=[est[ok] - lo[ok], hi[ok] - est[ok]], fmt="o",
                        markersize=3.5, capsize=2, elinewidth=1.0, color=figures.COLORS[0],
                        zorder=3, label="Province dropped")
            ax.set_title(var_labels.get(term, term), loc="left", fontsize=9)
            ax.grid(axis="y", visible=False)
            ax.set_xlabel("Estimate, 95% interval")
            ax.xaxis.set_major_locator(MaxNLocator(nbins=5))
        axes[0].set_yticks(range(len(drops)), [f"without {name(d)}" for d in drops])
        axes[0].set_ylim(len(drops) - 0.5, -0.5)
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncols=2)
        if title:
            fig.suptitle(textwrap.fill(title, int(width * 11)), fontsize=10, x=0.01,
                         horizontalalignment="left")
        return figures.finish(fig, path)


def loo_columns(specs) -> list[tuple[object, tuple[str, ...]]]:
    """The (column spec, terms) of every table's ``analyses.loo``, in table order."""
    out = []
    for table in specs.tables:
        settings = _parse(table.analyses["loo"], table, Problems(specs.path), f"table {table.id!r}") \
            if "loo" in table.analyses else None
        if settings:
            out.append((table.column(settings["column"]), tuple(settings["terms"])))
    return out


def _parse(value, table, problems: Problems, where: str) -> dict | None:
    if isinstance(value, str):
        value = {"column": value}
    if not isinstance(value, dict) or "column" not in value:
        problems.add(where, "analyses.loo", "must name a column (loo = \"column\") or be "
                                            "{ column = \"...\", terms = [...] }")
        return None
    for k in value:
        if k not in ("column", "terms"):
            problems.add(where, f"analyses.loo.{k}", "unknown key; allowed: column, terms")
    col = table.column(str(value["column"]))
    if col is None:
        problems.add(where, "analyses.loo.column", f"{value['column']!r} is not a column of the "
                     "table" + did_you_mean(str(value["column"]), [c.id for c in table.columns]))
        return None
    terms = value.get("terms", list(table.focus))
    if not isinstance(terms, list) or not [t for t in terms if t in col.regressors]:
        problems.add(where, "analyses.loo.terms", f"none of {terms!r} is a regressor of column "
                     f"{col.id!r} (give terms = [...] or the table's focus)")
        return None
    return {"column": col.id, "terms": [t for t in terms if t in col.regressors]}


def _files(table, settings) -> list[str]:
    return [str(p) for p in figures.figure_paths(f"figures/loo_{table.id}").values()]


def _run(ctx: Context, table, settings) -> Output:
    spec = table.column(settings["column"])
    if spec.name not in ctx.fitted:
        return Output()
    frame = leave_one_out(spec, ctx.panel, settings["terms"])
    path = Path(ctx.out) / _files(table, settings)[0]
    title = f"Leave one province out: {table.title}, column {spec.label} ({spec.title})"
    loo_figure(frame, path, var_labels=ctx.labels, title=title)
    # the refits in numbers, full precision (:func:`leave_one_out`'s rows), for readers such
    # as notebook 04: estimates.json["loo"][table]
    return Output(files=[path], record={"loo": {table.id: {
        "column": spec.id, "rows": frame.to_dict(orient="records")}}})


register(Analysis(name="loo", stage="outputs", run=_run, parse=_parse, files=_files,
                  doc="leave-one-province-out refits of a column's focus coefficients"))


def _without_flag(spec, flag: str):
    return dataclasses.replace(
        spec, regressors=tuple(r for r in spec.regressors if r != flag),
        sample=dataclasses.replace(spec.sample, drop_if=tuple(
            f for f in spec.sample.drop_if if f != flag)))


def break_flag_report(specs, panel: pd.DataFrame, flag: str, terms) -> pd.DataFrame:
    """For every linear column (not a count model): the rows the 0/1 ``flag`` marks in its
    sample and the ``terms`` coefficients with no treatment, with the rows dropped and with
    a dummy.

    Returns one row per (column, term): ``table``, ``column``, ``estimator``, ``treatment``
    (what the spec does: "dummy", "drop" or "none"), ``flagged_rows`` (rows with
    ``flag == 1`` in the untreated estimation sample), ``term``; ``estimate``,
    ``std_error``, ``nobs`` with no treatment; ``estimate_drop``, ``std_error_drop``,
    ``nobs_drop`` (``flag`` in ``sample.drop_if``) and ``drop_error`` (why that fit was
    refused, e.g. xtgls's AR(1) cannot bridge the gap dropped rows leave in a series);
    ``estimate_dummy``, ``std_error_dummy`` (``flag`` as a regressor: one common shift
    for the flagged rows) and ``dummy_error`` (why that fit was refused). Columns with no
    flagged row repeat the untreated fit.
    """
    rows = []
    for spec in specs.columns():
        if registry.get(spec.estimator).family == "count":
            continue
        if awaits_download(spec, panel):
            continue
        try:
            heads = _headline(spec, terms)
        except ValueError:
            continue
        treatment = ("dummy" if flag in spec.regressors else
                     "drop" if flag in spec.sample.drop_if else "none")
        base = _without_flag(spec, flag)
        data, _ = estimation_sample(base, panel)
        flagged = int((panel.loc[data.index, flag] == 1).sum())
        drop_spec = dataclasses.replace(base, sample=dataclasses.replace(
            base.sample, drop_if=(*base.sample.drop_if, flag)))
        dummy_spec = dataclasses.replace(base, regressors=(*base.regressors, flag))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            a = fit_column(base, panel)
            b, c, why, dummy_why = a, a, "", ""
            if flagged:
                try:
                    b = fit_column(drop_spec, panel)
                except (RegrowthError, ValueError, np.linalg.LinAlgError, RuntimeError) as exc:
                    b, why = None, f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
                try:
                    c = fit_column(dummy_spec, panel)
                except (RegrowthError, ValueError, np.linalg.LinAlgError, RuntimeError) as exc:
                    # e.g. the split-panel jackknife: the flag is constant within a half
                    c, dummy_why = None, f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
        # a term's first row is its coefficient; later rows of the same name are other panels
        # of the table (a spatial-lag model's direct/indirect/total effects)
        ca = a.coefs.drop_duplicates("term").set_index("term")
        cc = c.coefs.drop_duplicates("term").set_index("term") if c is not None else None
        cb = b.coefs.drop_duplicates("term").set_index("term") if b is not None else None
        for term in heads:
            rows.append({
                "table": spec.table, "column": spec.id, "estimator": spec.estimator,
                "treatment": treatment, "flagged_rows": flagged, "term": term,
                "estimate": float(ca.loc[term, "estimate"]),
                "std_error": float(ca.loc[term, "std_error"]), "nobs": int(a.stats["nobs"]),
                "estimate_drop": float(cb.loc[term, "estimate"]) if cb is not None else math.nan,
                "std_error_drop": float(cb.loc[term, "std_error"]) if cb is not None else math.nan,
                "nobs_drop": int(b.stats["nobs"]) if b is not None else 0, "drop_error": why,
                "estimate_dummy": float(cc.loc[term, "estimate"]) if cc is not None else math.nan,
                "std_error_dummy": float(cc.loc[term, "std_error"]) if cc is not None else math.nan,
                "dummy_error": dummy_why})
    return pd.DataFrame(rows)
