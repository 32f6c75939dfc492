"""Spatial dependence of a table's residuals (``analyses = { spatial = {...} }``).

Neighbouring provinces share labour markets (Seoul, Gyeonggi and Incheon) and shocks; a
macro-region regressor is spatial by construction. For each declared column this analysis
takes the fitted model's residuals (linearmodels' and PanelFGLS's ``resids``) and reports
Moran's I by year and pooled (:func:`regrowth.spatial.moran`: esda's statistic, normal and
permutation inference; the pooled row stacks the years with a block-diagonal W) under the
declared weights (:func:`regrowth.spatial.weights`: contiguity from the KOSTAT 2018
boundaries with Jeju linked to its nearest province, k-nearest or inverse distance), and
draws a LISA cluster map of one year's residuals.

Settings: ``{ columns = ["fe_main", ...], weights = "contiguity", permutations = 999,
seed = 20180, map_year = 2017, output = "stem" }`` (default output ``spatial_<table id>``).
Writes ``results/tables/<output>.*``, ``results/figures/<output>_lisa.{png,pdf,svg}`` and
``estimates.json["spatial"][<table id>]``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from regrowth import regions, spatial
from regrowth.report import figures
from regrowth.analyses import Analysis, Context, Output, parse_output_settings, register
from regrowth.report import maps
from regrowth.report.tables import table_paths, RegressionTable, Row, format_number

__all__ = ["residual_moran"]

EXTS = ("md", "tex", "html", "csv", "docx")
_ALLOWED = ("columns", "weights", "permutations", "seed", "map_year", "output")


def residual_moran(fitted, w, *, permutations: int, seed: int) -> pd.DataFrame:
    """Moran's I of a fitted column's residuals by year and pooled (a DataFrame as
    :func:`regrowth.spatial.moran` returns it)."""
    resid = getattr(fitted.result, "resids", None)
    if resid is None:
        raise ValueError(f"{fitted.spec.name}: its results carry no residuals (resids)")
    resid = pd.Series(resid).dropna()
    return spatial.moran(resid, w, permutations=permutations, seed=seed)


def _parse(value, table, problems, where):
    out = parse_output_settings(value, table, problems, where, "spatial", allowed=_ALLOWED,
                                default_output=f"spatial_{table.id}")
    if out is None:
        return None
    cols = out.get("columns", [c.id for c in table.columns])
    if not isinstance(cols, list) or not cols:
        problems.add(where, "analyses.spatial.columns", "must be a list of column ids")
        return None
    for c in cols:
        if table.column(str(c)) is None:
            problems.add(where, "analyses.spatial.columns", f"{c!r} is not a column of the table")
    out["columns"] = cols
    out.setdefault("weights", "contiguity")
    if out["weights"] not in ("contiguity", "knn", "distance"):
        problems.add(where, "analyses.spatial.weights", f"{out['weights']!r} is not one of "
                                                         "contiguity, knn, distance")
    return out


def _files(table, settings) -> list[str]:
    stem = settings["output"]
    return (table_paths(f"tables/{stem}")
            + [str(p) for p in figures.figure_paths(f"figures/{stem}_lisa").values()])


def _table(frames: dict, table, settings) -> RegressionTable:
    years = sorted({int(y) for f in frames.values()
                    for y in f.loc[f["scope"] != "pooled", "year"].dropna()})
    rows = []
    for scope, label in [(None, "Pooled (block-diagonal W)")] + [(y, str(y)) for y in years]:
        cells, pcells = [], []
        for f in frames.values():
            r = f[f["scope"] == "pooled"] if scope is None else f[f["year"] == scope]
            if r.empty:
                cells.append("")
                pcells.append("")
                continue
            r = r.iloc[0]
            cells.append(format_number(r["I"], 3))
            pcells.append(f"[{format_number(r['p_norm'], 3)}; {format_number(r['p_sim'], 3)}]")
        rows.append(Row("coef", label, tuple(cells)))
        rows.append(Row("se", "", tuple(pcells)))
    notes = (f"Moran's I of each column's residuals among the provinces, {settings['weights']} "
             "weights (KOSTAT 2018 boundaries; Jeju linked to its nearest province), "
             "row-standardised. In brackets: the p-value under normality and the permutation "
             f"p-value ({settings.get('permutations', 999)} permutations, seed "
             f"{settings.get('seed', 20180)}). E[I] = -1/(n-1).",
             "Boundaries: Statistics Korea SGIS, 2018, KOGL Type 1.")
    return RegressionTable(
        title=f"Spatial dependence of the residuals: {table.title}",
        columns=tuple(table.column(c).label for c in frames), titles=tuple(
            table.column(c).title for c in frames), rows=tuple(rows), notes=notes, stars=())


def _run(ctx: Context, table, settings) -> Output:
    s = settings
    frames, record = {}, {}
    for cid in s["columns"]:
        spec = table.column(cid)
        if spec.name not in ctx.fitted:
            continue
        ids = sorted(set(ctx.fitted[spec.name].result.resids.index.get_level_values(0)))
        w = spatial.weights(s["weights"], ids=ids)
        frame = residual_moran(ctx.fitted[spec.name], w, permutations=s.get("permutations", 999),
                               seed=s.get("seed", 20180))
        frames[cid] = frame
        record[cid] = frame.to_dict(orient="records")
    if not frames:
        return Output()
    stem = s["output"]
    files = list(_table(frames, table, s).write(Path(ctx.out) / "tables" / stem).values())
    first = table.column(next(iter(frames)))
    resid = pd.Series(ctx.fitted[first.name].result.resids)
    year = int(s.get("map_year", max(resid.index.get_level_values(1))))
    values = resid.xs(year, level=1)
    w = spatial.weights(s["weights"], ids=sorted(values.index))
    path = Path(ctx.out) / "figures" / f"{stem}_lisa.png"
    outcome = ctx.labels.get(first.outcome, first.outcome)
    if outcome[1:2].islower():              # "Real per-capita ..." -> "real per-capita ..."
        outcome = outcome[0].lower() + outcome[1:]
    left_out = [k for k in regions.keys() if k not in set(values.index)]
    maps.lisa_map(values, w, path=path, permutations=s.get("permutations", 999),
                  seed=s.get("seed", 20180),
                  title=f"Local Moran clusters of the residuals of column {first.label} "
                        f"({first.title}), {year}",
                  label=f"LISA cluster of the residual\nof {outcome}",
                  missing_label="not in the model's sample" if left_out else "no data",
                  source=f"Residuals of column {first.label} of \"{table.title}\" in {year}.")
    files += [path.with_suffix(f".{e}") for e in ("png", "pdf", "svg")]
    return Output(files=files, record={"spatial": {table.id: record}})


register(Analysis(name="spatial", stage="outputs", run=_run, parse=_parse, files=_files,
                  record_keys=("spatial",),
                  doc="Moran's I of the residuals by year and pooled, and a LISA map"))
