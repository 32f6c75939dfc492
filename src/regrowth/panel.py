"""Tidy long tables -> the (region, year) panel, its codebook, validated and written once.

``build(raw_dir, out_dir)`` reads every source through ``regrowth.sources.load_all``,
pivots the tidy rows (region, year, variable, value, source) into one row per province
and year, derives the logs, lags, growth rates and per-capita ratios the models use
(each exactly once, here), validates the result with a pandera schema and only then
writes ``panel.parquet``, ``panel.csv`` and ``codebook.csv`` atomically, together with the
macro-region (권역) panel ``macro_panel.parquet``/``.csv`` and ``macro_codebook.csv``
(:func:`macro_panel`, read back by :func:`load_macro`). The derived columns are declared in
:mod:`regrowth.sources.variables` (``DERIVED`` here is that tuple).

Data choices made here, each written into the codebook:

* Fintech patent counts stop at 2021: applications are published about 18 months after
  filing, so 2022-2023 are incomplete in the KIPRIS extract and are dropped.
* ``fiscal_self_reliance`` is 재정자립도 under the *old* revenue classification, the one
  series that runs unbroken 2001-2025 across the 2014 revision; the revised series is
  ``fiscal_self_reliance_rev`` (2014-2025). Neither is spliced onto the other.
* Lags are by calendar year within a province (year t-1 must exist, else missing), not
  by row.
* Growth rates are 100 * (x_t / x_{t-1} - 1), percent.
* ``sejong_break`` flags Chungnam in 2012 and 2013: Sejong was carved out of it in July
  2012 (population) and counts as its own unit in GRDP and fiscal data from 2013, so
  Chungnam's growth rates in those years mix a boundary change with growth.
* ``patents_pm_macro`` is the macro-region (권역) value given to each of its provinces.
* ``patents_all_macro`` (2001-2022) is DERIVED: the 권역's rate x its mid-year population
  ((Dec(t-1) + Dec(t)) / 2, provinces that existed) / 1e6, with the rounding half-width
  ``patents_all_macro_hw``; :func:`check_macro_sum` refuses the build unless the seven 권역
  sum to the national count (the 전국 rate x national mid-year population) within 0.1% in
  every year (:data:`MACRO_SUM_TOLERANCE`).
* ``fiscal_autonomy_old`` is 재정자주도 on the old basis throughout: as published to 2013,
  ``fiscal_autonomy + (fiscal_self_reliance - fiscal_self_reliance_rev)`` from 2014.

Validation, once per check: duplicate keys across sources with
:func:`regrowth.sources._common.check_duplicates` in :func:`assemble` (each file's own rows
were checked by its parser through the same function); counts and ranges per file by the
parsers (``_common.validate_values``, naming row and column); the assembled panel by the
pandera :func:`schema`, generated from the variable specifications of
:mod:`regrowth.sources.registry` (kind -> dtype and checks, bounds -> range) and from
:data:`DERIVED`. The codebook records, per column, the provinces and years covered and the
sources' notes (provisional years, zeros read as missing, full-edition coverage).
"""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd

from regrowth import regions, sources
from regrowth.errors import DataError
from regrowth.files import Transaction, check_writable, csv_safe_frame
from regrowth.sources._common import check_duplicates
from regrowth.sources.registry import VARIABLES
from regrowth.sources.variables import DERIVED, MACRO_RULES, RULE_TEXT, Derived

INDEX = ["region", "year"]
ID_COLUMNS = ["region", "year", "code", "region_ko", "macro_region", "capital_region", "sejong_break"]
FINTECH_LAST_COMPLETE_YEAR = 2021
MACRO_INDEX = ["macro_region", "year"]
#: the seven 권역 must sum to the national derived patent count within this relative gap
MACRO_SUM_TOLERANCE = 1e-3

__all__ = ["build", "load", "load_macro", "assemble", "derive", "codebook", "schema", "validate",
           "write", "macro_panel", "macro_codebook", "macro_patent_counts", "check_macro_sum",
           "DERIVED", "Derived",
           "PanelBuild", "INDEX", "MACRO_INDEX"]


@dataclasses.dataclass
class PanelBuild:
    """The built panel, its codebook, what was written and the source reports."""

    panel: pd.DataFrame
    codebook: pd.DataFrame
    written: list[Path]
    reports: dict
    #: one row per source file: source, variables, rows, first_year, last_year, provinces
    sources: pd.DataFrame | None = None
    #: the macro-region (권역) panel and its codebook (None without the 권역 rates)
    macro: pd.DataFrame | None = None
    macro_codebook: pd.DataFrame | None = None

    def describe(self) -> str:
        """The build log: one line per source file (rows, years, provinces, variables), one
        for the KIPRIS records (counts only: no applicant's name or address), one for the
        full-edition downloads, then the panel and the files written."""
        lines = []
        if self.sources is not None and len(self.sources):
            lines.append(f"panel: read {len(self.sources)} source files")
            width = max(len(_short(s)) for s in self.sources["source"])
            for r in self.sources.itertuples(index=False):
                lines.append(f"  {_short(r.source):<{width}}  {r.rows:>4} rows  "
                             f"{r.first_year}-{r.last_year}  {r.provinces:>2} provinces  "
                             f"{r.variables}")
        for name, rep in self.reports.items():
            if hasattr(rep, "assigned") and hasattr(rep, "foreign"):  # KiprisReport
                lines.append(f"  KIPRIS records: {rep.records:,}, {rep.assigned:,} assigned to a "
                             f"province, {rep.foreign:,} foreign applicants, {rep.unparseable:,} "
                             f"without a province, {rep.duplicates:,} duplicated")
            elif name == "full_edition" and hasattr(rep, "summary"):
                lines.append("  " + rep.summary())
            elif name == "macro_patents" and isinstance(rep, pd.DataFrame) and "rel_gap" in rep:
                gaps = rep["rel_gap"].dropna()
                if len(gaps):
                    worst = int(gaps.abs().idxmax())
                    lines.append(f"  derived all-field patent counts {int(gaps.index.min())}-"
                                 f"{int(gaps.index.max())}: the 7 macro-regions sum to the "
                                 f"national count within {100 * gaps.abs().max():.3f}% (worst "
                                 f"{worst}; limit {100 * MACRO_SUM_TOLERANCE:g}%)")
            elif name == "full_edition" and isinstance(rep, dict):
                have = [t for t, ok in rep.items() if ok]
                lines.append("  full edition: " + (
                    "KOSIS downloads used: " + ", ".join(have) if have else
                    "no KOSIS downloads in data/raw/kosis/ (optional: "
                    + ", ".join(rep) + "; see README)"))
        if self.macro is not None:
            myears = self.macro.index.get_level_values("year")
            lines.append(f"macro-region panel: {len(self.macro)} rows = 7 macro-regions x "
                         f"{myears.min()}-{myears.max()}, {self.macro.shape[1]} columns")
        n_regions = self.panel.index.get_level_values("region").nunique()
        years = self.panel.index.get_level_values("year")
        lines.append(f"panel: {len(self.panel)} rows = {n_regions} provinces x "
                     f"{years.min()}-{years.max()}, {self.panel.shape[1]} columns; wrote "
                     + ", ".join(str(p) for p in self.written))
        return "\n".join(lines)


def _short(source: str, width: int = 48) -> str:
    """The file name of a source path, cut to ``width`` characters.

    A name in Hangul (the KOSIS exports of kosis_region_insight/, the KIET workbook) is shown
    as its folder and KOSIS table id instead, so that the build log stays ASCII: the log never
    holds Korean text, which is how it is checked to carry no applicant's name or address.
    """
    name = str(source).rsplit("/", 1)[-1]
    if not name.isascii():
        src = next((s for s in sources.PUBLIC
                    if s.path == str(source) or s.path.rsplit("/", 1)[-1] == name), None)
        folder = src.path.split("/", 1)[0] if src else "file"
        tag = src.table_id if src is not None and src.table_id else "workbook"
        name = f"{folder}: {tag}{Path(name).suffix}"
    return name if len(name) <= width else name[: width - 1] + "…"


def source_summary(tidy: pd.DataFrame) -> pd.DataFrame:
    """One row per source of the tidy rows: ``source``, ``variables`` (comma-separated),
    ``rows`` (values read), ``first_year``, ``last_year``, ``provinces`` (distinct regions)."""
    if tidy.empty:
        return pd.DataFrame(columns=["source", "variables", "rows", "first_year", "last_year",
                                     "provinces"])
    g = tidy.groupby("source", sort=True)
    return pd.DataFrame({
        "variables": g["variable"].agg(lambda v: ", ".join(sorted(set(v)))),
        "rows": g.size(),
        "first_year": g["year"].min().astype(int),
        "last_year": g["year"].max().astype(int),
        "provinces": g["region"].nunique(),
    }).reset_index()


def _wide(tidy: pd.DataFrame) -> pd.DataFrame:
    years = range(int(tidy.year.min()), int(tidy.year.max()) + 1)
    # sorted keys, so the index is lexsorted and label slicing (.loc[(slice(None), 2015), :]) works
    grid = pd.MultiIndex.from_product([sorted(r.key for r in regions.REGIONS), list(years)],
                                      names=INDEX)
    wide = tidy.pivot(index=INDEX, columns="variable", values="value")
    order = list(dict.fromkeys(tidy.variable))
    return wide.reindex(index=grid, columns=order)


def _lag_by_year(s: pd.Series) -> pd.Series:
    # the index is the full (unit, year) grid, so shifting within a unit is shifting by a year
    return s.groupby(level=0, sort=False).shift(1)


def _existed(region: str, year: int) -> bool:
    first = regions.get(region).first_year
    return first is None or year >= first


def _macro_population(pop: pd.Series) -> pd.DataFrame:
    """Year-end population of each 권역 (rows) by year (columns): the sum over the member
    provinces that existed that year; missing if any of them lacks a value."""
    wide = pop.unstack("year")
    out = {}
    for key, macro in regions.MACRO_REGIONS.items():
        row = {}
        for year in wide.columns:
            members = [r for r in macro.members if _existed(r, int(year))]
            vals = wide.loc[members, year] if all(m in wide.index for m in members) else pd.Series([np.nan])
            row[year] = float(vals.sum()) if vals.notna().all() else np.nan
        out[key] = row
    return pd.DataFrame.from_dict(out, orient="index")


def _mid_year(dec: pd.DataFrame) -> pd.DataFrame:
    """(Dec(t-1) + Dec(t)) / 2 by row; missing where either year is missing."""
    prev = dec.reindex(columns=[c - 1 for c in dec.columns])
    prev.columns = dec.columns
    return (prev + dec) / 2.0


def macro_patent_counts(panel: pd.DataFrame) -> pd.DataFrame:
    """The derived all-field patent counts by 권역 and the nation.

    One row per year: for each 권역 its rate (per million, integer), mid-year population and
    derived count = rate x mid-year population / 1e6 and half-width = 0.5 x mid-year population
    / 1e6; the national rate, population and count; the sum of the seven 권역 counts and its
    relative gap to the national count. Read from a (region, year) panel holding
    ``patents_pm_macro``, ``population`` and, for the national columns, ``patents_pm_nation``.
    """
    pop = panel["population"].astype(float)
    dec = _macro_population(pop)
    mid = _mid_year(dec)
    complete = {int(y): all(v == v for (r, _), v in part.items() if _existed(r, int(y)))
                for y, part in pop.groupby(level="year")}
    totals = pop.groupby(level="year").sum(min_count=1)
    nation_dec = pd.DataFrame([[t if complete[int(y)] else np.nan for y, t in totals.items()]],
                              index=["nation"], columns=totals.index)
    nation_mid = _mid_year(nation_dec).loc["nation"]
    rate = panel["patents_pm_macro"].astype(float).groupby(
        [panel.index.get_level_values("region").map(lambda r: regions.get(r).macro_region),
         panel.index.get_level_values("year")]).first().unstack("year")
    rows = []
    for year in rate.columns:
        row = {"year": int(year)}
        for key in regions.MACRO_REGIONS:
            r = rate.loc[key, year] if key in rate.index else np.nan
            m = mid.loc[key, year] if year in mid.columns else np.nan
            row[f"rate_{key}"], row[f"mid_{key}"] = r, m
            row[f"count_{key}"] = r * m / 1e6
            row[f"hw_{key}"] = 0.5 * m / 1e6 if r == r else np.nan
        counts = [row[f"count_{k}"] for k in regions.MACRO_REGIONS]
        row["sum_macro"] = float(np.sum(counts)) if all(c == c for c in counts) else np.nan
        if "patents_pm_nation" in panel:
            nat_rate = panel["patents_pm_nation"].xs(year, level="year").dropna()
            row["rate_nation"] = float(nat_rate.iloc[0]) if len(nat_rate) else np.nan
            row["mid_nation"] = float(nation_mid.get(year, np.nan))
            row["count_nation"] = row["rate_nation"] * row["mid_nation"] / 1e6
            row["rel_gap"] = row["sum_macro"] / row["count_nation"] - 1.0
        rows.append(row)
    return pd.DataFrame(rows).set_index("year")


def check_macro_sum(table: pd.DataFrame, tolerance: float = MACRO_SUM_TOLERANCE) -> None:
    """Refuse unless the seven derived 권역 counts sum to the national derived count within
    ``tolerance`` (relative) in every year where both exist; the error names the year."""
    if "rel_gap" not in table:
        return
    gaps = table["rel_gap"].dropna()
    bad = gaps[gaps.abs() > tolerance]
    if len(bad):
        year = int(bad.index[0])
        r = table.loc[year]
        raise DataError(
            f"derived all-field patent counts, {year}: the seven macro-regions sum to "
            f"{r['sum_macro']:,.1f} applications but the nation's rate x mid-year population "
            f"gives {r['count_nation']:,.1f} (gap {100 * r['rel_gap']:+.3f}%, more than "
            f"{100 * tolerance:g}%)", file="kostat_regional_indicators/indicator_2-2-1.csv",
            column=str(year), hint="the rates or the population of that year are inconsistent: "
            "check both raw files (`make data` acquires clean copies)")


def _broadcast_macro(panel: pd.DataFrame, table: pd.DataFrame, prefix: str) -> pd.Series:
    """A 권역 series of :func:`macro_patent_counts` given to every province of the 권역 (where
    the province has the 권역's rate)."""
    values = []
    for (region, year), rate in panel["patents_pm_macro"].items():
        key = regions.get(region).macro_region
        ok = rate == rate and year in table.index
        values.append(float(table.loc[year, f"{prefix}_{key}"]) if ok else np.nan)
    return pd.Series(values, index=panel.index, dtype="float64")


def derive(wide: pd.DataFrame) -> pd.DataFrame:
    """Add the DERIVED columns to a (unit, year)-indexed frame on a full year grid.

    A derived column already present (the macro-region panel carries the 권역 counts) is kept.
    """
    out = wide.copy()
    counts = None
    for d in DERIVED:
        missing = [c for c in d.inputs if c not in out]
        if d.name in out or (missing and d.kind != "macro_count") or (
                d.kind == "macro_count" and any(c not in out for c in d.inputs[:2])):
            continue  # an input series absent from this edition: no derived column either
        a = out[d.inputs[0]].astype(float)
        if d.kind in ("log", "log1p"):
            bad = a[(a <= 0) if d.kind == "log" else (a < 0)]
            if len(bad):
                region, year = bad.index[0]
                raise DataError(f"cannot take the log of {d.inputs[0]} = {float(bad.iloc[0]):g} "
                                f"for {region} {year}", column=d.inputs[0],
                                hint="non-positive values must be missing in the source, not zero")
            out[d.name] = np.log(a) if d.kind == "log" else np.log1p(a)
        elif d.kind == "lag":
            out[d.name] = _lag_by_year(a)
        elif d.kind == "growth":
            out[d.name] = 100.0 * (a / _lag_by_year(a) - 1.0)
        elif d.kind == "ratio":
            out[d.name] = d.scale * a / out[d.inputs[1]].astype(float)
        elif d.kind == "rebase":
            b, c = (out[i].astype(float) for i in d.inputs[1:3])
            year = out.index.get_level_values("year")
            out[d.name] = a.where(year < d.break_year, a + (b - c))
        elif d.kind in ("macro_count", "macro_halfwidth"):
            if counts is None:
                counts = macro_patent_counts(out)
                check_macro_sum(counts)
            out[d.name] = _broadcast_macro(out, counts, "count" if d.kind == "macro_count" else "hw")
    return out


def _identity(index: pd.MultiIndex) -> pd.DataFrame:
    info = {r.key: r for r in regions.REGIONS}
    reg = index.get_level_values("region")
    year = index.get_level_values("year")
    return pd.DataFrame({
        "code": [info[k].code for k in reg],
        "region_ko": [info[k].name_ko for k in reg],
        "macro_region": [info[k].macro_region for k in reg],
        "capital_region": np.array([int(info[k].capital_region) for k in reg], dtype="int64"),
        "sejong_break": np.array([int(k == "chungnam" and y in (2012, 2013)) for k, y in zip(reg, year)],
                                 dtype="int64"),
    }, index=index)


def assemble(tidy: pd.DataFrame) -> pd.DataFrame:
    """The full panel from tidy rows: identity columns, base series, derived series."""
    tidy = tidy.copy()
    tidy["year"] = tidy["year"].astype("int64")
    check_duplicates(tidy[["region", "year", "variable", "source"]])
    drop = (tidy.variable == "patents_fintech") & (tidy.year > FINTECH_LAST_COMPLETE_YEAR)
    tidy = tidy[~drop]
    base = _wide(tidy)
    # the base series pass the schema before anything is derived from them, so that a bad
    # count is reported as such (not as the log of a negative ratio)
    validate(pd.concat([_identity(base.index), _integer_columns(base)], axis=1))
    wide = derive(base)
    panel = pd.concat([_identity(wide.index), wide], axis=1)
    panel = _integer_columns(panel)
    panel.columns.name = None
    return panel


def _integer_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Counts declared ``integer_column`` as Int64 (left as float if not whole: the schema
    then refuses them)."""
    frame = frame.copy()
    for name, spec in VARIABLES.items():
        if name in frame and spec.dtype == "Int64":
            col = frame[name]
            if bool(((col.dropna() % 1) == 0).all()):
                frame[name] = col.astype("Int64")
    return frame


def codebook(panel: pd.DataFrame, tidy: pd.DataFrame,
             notes: dict[str, list[str]] | None = None) -> pd.DataFrame:
    """One row per panel column: label, unit, source file(s), transformation, coverage
    (first and last year, non-missing cells, provinces with any value) and ``notes`` (from
    the sources: provisional years, zeros read as missing, full-edition coverage; derived
    columns inherit their inputs' notes)."""
    notes = notes or {}
    meta = {name: {"label": v.label, "unit": v.unit, "transformation": v.note or "as published"}
            for name, v in VARIABLES.items()}
    srcs = tidy.groupby("variable", sort=False)["source"].agg(lambda s: "; ".join(sorted(set(s))))
    derived = {d.name: d for d in DERIVED}
    ident = {
        "region": ("province key (English, stable)", "", "regions module", "regrowth.regions"),
        "year": ("calendar year", "year", "", ""),
        "code": ("2-digit KOSIS province code", "", "regions module", "regrowth.regions"),
        "region_ko": ("province name in Korean", "", "regions module", "regrowth.regions"),
        "macro_region": ("macro-region (권역)", "", "regions module", "regrowth.regions"),
        "capital_region": ("1 for Seoul, Incheon, Gyeonggi", "0/1", "regions module", "regrowth.regions"),
        "sejong_break": ("1 for Chungnam in 2012-2013 (Sejong carved out)", "0/1", "regions module",
                         "territorial break; see regrowth.panel"),
    }

    def sources_of(name: str) -> str:
        if name in srcs:
            return srcs[name]
        if name in derived:
            return "; ".join(sorted({sources_of(i) for i in derived[name].inputs}))
        return ""

    def notes_of(name: str) -> list[str]:
        if name in notes:
            return list(notes[name])
        if name in derived:
            return [n for i in derived[name].inputs for n in notes_of(i)]
        return []

    rows = []
    flat = panel.reset_index()
    for name in flat.columns:
        if name in ident:
            label, unit, source, transformation = ident[name]
        elif name in derived:
            d = derived[name]
            label, unit, source, transformation = d.label, d.unit, sources_of(name), d.transformation()
        else:
            info = meta.get(name, {})
            label, unit = info.get("label", name), info.get("unit", "")
            source, transformation = sources_of(name), info.get("transformation", "as published")
            if name == "patents_fintech":
                transformation = (f"count of records by first applicant's province and application "
                                  f"year; years after {FINTECH_LAST_COMPLETE_YEAR} dropped (publication lag)")
        col = flat[name]
        years = flat.loc[col.notna(), "year"]
        rows.append({"name": name, "label": label, "unit": unit, "source": source,
                     "transformation": transformation,
                     "first_year": int(years.min()) if len(years) else pd.NA,
                     "last_year": int(years.max()) if len(years) else pd.NA,
                     "n_nonmissing": int(col.notna().sum()),
                     "n_provinces": int(flat.loc[col.notna(), "region"].nunique()),
                     "notes": " | ".join(dict.fromkeys(notes_of(name)))})
    return pd.DataFrame(rows).astype({"first_year": "Int64", "last_year": "Int64"})


def _checks(bounds, pa) -> list:
    lo, hi = bounds
    if lo is not None and hi is not None:
        return [pa.Check.in_range(lo, hi)]
    if lo is not None:
        return [pa.Check.ge(lo)]
    if hi is not None:
        return [pa.Check.le(hi)]
    return []


def schema():
    """The pandera schema every panel must pass before it is written.

    Generated, not written by hand: one column per variable specification of
    :mod:`regrowth.sources.registry` (``count`` -> Int64 >= 0; ``flag`` -> Int64 in {0, 1};
    ``ratio``/``level`` -> float within the variable's bounds) and per :data:`DERIVED`
    column with bounds (growth rates in [-50, 100] %, shares in [0, 100] %), plus the
    identity columns and the (region, year) index.
    """
    import pandera.pandas as pa

    def col(dtype, checks=(), nullable=True):
        return pa.Column(dtype, checks=list(checks), nullable=nullable, required=False)

    columns = {
        "code": col(str, nullable=False),
        "region_ko": col(str, nullable=False),
        "macro_region": col(str, nullable=False),
        "capital_region": col("int64", [pa.Check.isin([0, 1])], nullable=False),
        "sejong_break": col("int64", [pa.Check.isin([0, 1])], nullable=False),
    }
    whole = pa.Check(lambda s: s.isna() | (s.astype(float) % 1 == 0),
                     error="whole numbers (a count)")
    for name, spec in VARIABLES.items():
        if spec.kind == "flag":
            columns[name] = col("Int64", [pa.Check.isin([0, 1])])
        elif spec.kind == "count":
            columns[name] = col(spec.dtype, _checks(spec.bounds, pa) + [whole])
        else:
            columns[name] = col(spec.dtype, _checks(spec.bounds, pa))
    for d in DERIVED:
        if d.bounds != (None, None):
            columns[d.name] = col(float, _checks(d.bounds, pa))
    return pa.DataFrameSchema(
        columns,
        index=pa.MultiIndex([pa.Index(str, name="region", checks=pa.Check.isin([r.key for r in regions.REGIONS])),
                             pa.Index("int64", name="year", checks=pa.Check.in_range(1950, 2100))],
                            unique=["region", "year"]),
        strict=False, coerce=False,
    )


def validate(panel: pd.DataFrame, *, file: str = "data/processed/panel.csv") -> pd.DataFrame:
    """Validate with :func:`schema`; turn the first failure into a DataError naming row and column."""
    import pandera.errors as pe

    try:
        return schema().validate(panel, lazy=True)
    except pe.SchemaErrors as exc:
        cases = exc.failure_cases
        # a failed value check says more than the dtype failure it may cause
        is_dtype = cases["check"].astype(str).str.startswith("dtype(")
        first = cases[~is_dtype].iloc[0] if (~is_dtype).any() else cases.iloc[0]
        column = first.get("column")
        index = first.get("index")
        where = ""
        row = None
        if isinstance(index, str):  # pandera reports a MultiIndex label as its repr
            try:
                index = ast.literal_eval(index)
            except (ValueError, SyntaxError):
                pass
        if isinstance(index, tuple):
            where = f" at {index}"
            try:
                row = int(panel.index.get_loc(index)) + 2  # +1 header, +1 one-based
            except (KeyError, TypeError):
                row = None
        raise DataError(f"panel fails its schema{where}: {first.get('check')} "
                        f"(value {first.get('failure_case')!r}; {len(cases)} failure(s) in all)",
                        file=file, row=row, column=None if column is None else str(column),
                        hint="the source value is out of range or mis-typed; check the raw file "
                             "named in codebook.csv for this column") from exc


def _write_csv(df: pd.DataFrame, path: Path) -> None:
    # text cells a spreadsheet would run as formulas get a leading ' (numbers stay numbers)
    csv_safe_frame(df).to_csv(path, index=False, lineterminator="\n", encoding="utf-8")


def write(panel: pd.DataFrame, book: pd.DataFrame, out_dir: str | Path,
          macro: pd.DataFrame | None = None, macro_book: pd.DataFrame | None = None) -> list[Path]:
    """Write panel.parquet, panel.csv and codebook.csv (and, when given, macro_panel.parquet,
    macro_panel.csv and macro_codebook.csv) as one transaction: all or none
    (:class:`regrowth.files.Transaction`; a kill -9 leaves the old or the new set)."""
    out_dir = Path(out_dir)
    flat = panel.reset_index()
    names = ["panel.parquet", "panel.csv", "codebook.csv"]
    if macro is not None:
        names += ["macro_panel.parquet", "macro_panel.csv", "macro_codebook.csv"]
    with Transaction(out_dir, prune=True) as tx:
        tx.write_with(names[0], lambda t: flat.to_parquet(t, index=False, engine="pyarrow",
                                                          compression="zstd"))
        tx.write_with(names[1], lambda t: _write_csv(flat, t))
        tx.write_with(names[2], lambda t: _write_csv(book, t))
        if macro is not None:
            mflat = macro.reset_index()
            tx.write_with(names[3], lambda t: mflat.to_parquet(t, index=False, engine="pyarrow",
                                                               compression="zstd"))
            tx.write_with(names[4], lambda t: _write_csv(mflat, t))
            tx.write_with(names[5], lambda t: _write_csv(macro_book, t))
    return [out_dir / n for n in names]


# ------------------------------------------------------------------ macro-region panel

def _members_existing(macro: str, years) -> pd.DataFrame:
    """Boolean (member province x year): did the province exist as a 시도 that year."""
    members = list(regions.MACRO_REGIONS[macro].members)
    return pd.DataFrame([[_existed(r, int(y)) for y in years] for r in members],
                        index=members, columns=list(years))


def _aggregate(values: pd.DataFrame, pop: pd.DataFrame, rule: str) -> pd.DataFrame:
    """(province x year) values -> (macro x year) by ``rule`` (see variables.RULE_TEXT)."""
    out = {}
    for key in regions.MACRO_REGIONS:
        exist = _members_existing(key, values.columns)
        sub = values.reindex(index=exist.index)
        w = pop.reindex(index=exist.index, columns=values.columns)
        present = sub.notna() & (w.notna() if rule == "pop_mean" else True)
        complete = (present | ~exist).all(axis=0) & exist.any(axis=0)
        if rule == "sum":
            agg = sub.where(exist).sum(axis=0, min_count=1)
        elif rule == "pop_mean":
            ww = w.where(exist & sub.notna())
            agg = (sub.where(exist) * ww).sum(axis=0, min_count=1) / ww.sum(axis=0, min_count=1)
        else:  # macro, common: the value the members share
            agg = sub.where(exist).bfill(axis=0).iloc[0]
            complete = agg.notna()
        out[key] = agg.where(complete)
    return pd.DataFrame(out).T


def macro_panel(panel: pd.DataFrame) -> pd.DataFrame:
    """The macro-region (권역) panel: 7 units x years, indexed (macro_region, year).

    Each base column named in :data:`regrowth.sources.variables.MACRO_RULES` is aggregated
    from the provinces that existed in the year (sums for counts and levels,
    population-weighted means for per-capita amounts, ratios, percentages and indices, the
    권역's own value for 권역 series, including the derived all-field patent counts); a value
    is missing unless every such province has one. The derived columns (logs, lags, growth,
    per-capita ratios) are then recomputed on the aggregates by the panel's own rules, and
    ``population_mid`` = (Dec(t-1) + Dec(t)) / 2 is added (the exposure of the derived counts).
    """
    years = sorted(set(panel.index.get_level_values("year")))
    pop = panel["population"].astype(float).unstack("year").reindex(columns=years)
    cols = {}
    for name, rule in MACRO_RULES.items():
        if name not in panel:
            continue
        wide = panel[name].astype(float).unstack("year").reindex(columns=years)
        cols[name] = _aggregate(wide, pop, rule).stack(future_stack=True)
    frame = pd.DataFrame(cols)
    frame.index = frame.index.set_names(MACRO_INDEX)
    grid = pd.MultiIndex.from_product([list(regions.MACRO_REGIONS), years], names=MACRO_INDEX)
    frame = frame.reindex(grid)
    if "population" in frame:
        frame["population_mid"] = (_lag_by_year(frame["population"]) + frame["population"]) / 2.0
    frame = derive(frame)
    info = regions.MACRO_REGIONS
    keys = frame.index.get_level_values("macro_region")
    yrs = frame.index.get_level_values("year")
    ident = pd.DataFrame({
        "macro_region_ko": [info[k].name_ko for k in keys],
        "n_provinces": np.array([sum(_existed(r, int(y)) for r in info[k].members)
                                 for k, y in zip(keys, yrs)], dtype="int64"),
    }, index=frame.index)
    out = pd.concat([ident, frame], axis=1)
    out.columns.name = None
    if not out.index.is_unique:
        raise DataError("the macro-region panel has a repeated (macro_region, year)")
    return out


def macro_codebook(macro: pd.DataFrame, book: pd.DataFrame) -> pd.DataFrame:
    """One row per macro-panel column: label, unit, ``rule`` (sum / pop_mean / macro / common /
    derived / identity) and what it means, source, transformation, coverage and notes."""
    province = book.set_index("name")
    derived = {d.name: d for d in DERIVED}
    rows = []
    flat = macro.reset_index()
    for name in flat.columns:
        if name in ("macro_region", "year", "macro_region_ko", "n_provinces"):
            label = {"macro_region": "macro-region key (권역)", "year": "calendar year",
                     "macro_region_ko": "macro-region name in Korean",
                     "n_provinces": "provinces of the macro-region that existed that year"}[name]
            rule, unit, source, transformation, notes = "identity", "", "regions module", "", ""
        elif name == "population_mid":
            label, unit, rule = "mid-year population of the macro-region", "persons", "derived"
            source = province.loc["population", "source"] if "population" in province.index else ""
            transformation, notes = "(population_(t-1) + population_t) / 2, KOSTAT's 연앙인구", ""
        elif name in MACRO_RULES:
            rule = MACRO_RULES[name]
            row = province.loc[name] if name in province.index else None
            label = row["label"] if row is not None else name
            unit = row["unit"] if row is not None else ""
            source = row["source"] if row is not None else ""
            transformation = RULE_TEXT[rule]
            if name in derived:
                transformation += "; " + derived[name].transformation()
            notes = row["notes"] if row is not None and isinstance(row["notes"], str) else ""
        else:
            d = derived[name]
            rule, label, unit = "derived", d.label, d.unit
            source = province.loc[name, "source"] if name in province.index else ""
            transformation = d.transformation().replace("same province", "same macro-region")
            notes = ""
        col = flat[name]
        years = flat.loc[col.notna(), "year"]
        rows.append({"name": name, "label": label, "unit": unit, "rule": rule,
                     "rule_text": RULE_TEXT.get(rule, ""), "source": source,
                     "transformation": transformation,
                     "first_year": int(years.min()) if len(years) else pd.NA,
                     "last_year": int(years.max()) if len(years) else pd.NA,
                     "n_nonmissing": int(col.notna().sum()),
                     "n_macro_regions": int(flat.loc[col.notna(), "macro_region"].nunique()),
                     "notes": notes})
    return pd.DataFrame(rows).astype({"first_year": "Int64", "last_year": "Int64"})


def build(raw_dir: str | Path = "data/raw", out_dir: str | Path = "data/processed", *,
          allow_partial=(), accept_unverified=()) -> PanelBuild:
    """Read the raw files, build and validate the panel, write it; return what was built.

    ``allow_partial``: full-edition table ids whose downloads may cover fewer than the 17
    provinces, ``accept_unverified`` those whose downloads may state neither item nor unit
    (see :mod:`regrowth.sources.full_edition`). ``PanelBuild.reports`` holds
    each source's report, ``"full_edition"`` (what each slot held: table, unit, years,
    provinces) and ``"notes"`` (also in the codebook's ``notes`` column).
    """
    check_writable(out_dir, option="--out-dir")  # before reading anything
    tidy, reports = sources.load_all(Path(raw_dir), allow_partial=allow_partial,
                                     accept_unverified=accept_unverified)
    panel = assemble(tidy)
    validate(panel)
    notes = reports.setdefault("notes", {})
    _compare_download_with_public(panel, notes, reports.get("full_edition"))
    book = codebook(panel, tidy, notes)
    macro = macro_book = None
    if "patents_pm_macro" in panel and "population" in panel:
        macro = macro_panel(panel)
        macro_book = macro_codebook(macro, book)
        reports["macro_patents"] = macro_patent_counts(panel)
    written = write(panel, book, out_dir, macro, macro_book)
    return PanelBuild(panel, book, written, reports, source_summary(tidy), macro, macro_book)


#: full-edition column -> the public column it should reproduce (a note, never a refusal: the
#: user may have downloaded another basis). `regrowth data kosis` asks DT_1YL20891 for itmId
#: T10, 재정자주도 on the old revenue classification, which is what fiscal_autonomy_old is.
DOWNLOAD_COUNTERPARTS = {"fiscal_autonomy_kosis": "fiscal_autonomy_old"}
#: full-edition column -> the public macro-region (권역) column its 권역 sums should match in
#: scale, and the tolerance of the median ratio: the derived all-field counts (rate x
#: mid-year population) are only roughly the same count, so a factor of 10 is allowed; an
#: unconverted 천건 (1/1000) is still refused
DOWNLOAD_MACRO_COUNTERPARTS = {"patents_all": ("patents_all_macro", 10.0)}


def _compare_download_with_public(panel: pd.DataFrame, notes: dict[str, list[str]],
                                  edition=None) -> None:
    """Refuse a full-edition column on another scale than its public counterpart
    (:func:`regrowth.sources.full_edition.check_scale_against_public`: median ratio within
    [1/3, 3], or the tolerance of :data:`DOWNLOAD_MACRO_COUNTERPARTS`), and add to the
    codebook notes how far it lies from it in the province-years both have. ``edition``: the
    full-edition report (names the downloaded file)."""
    full_edition = sources.full_edition
    slots = {s.variable: s for s in edition.slots.values()} if edition is not None else {}

    def scale(full, public, a, b, tolerance=full_edition.SCALE_TOLERANCE):
        slot = slots.get(full)
        full_edition.check_scale_against_public(
            a, b, table_id=slot.table_id if slot else "?", file=slot.file if slot else None,
            download_name=full, public_name=public, tolerance=tolerance)

    for full, (public, tolerance) in DOWNLOAD_MACRO_COUNTERPARTS.items():
        if full not in panel or public not in panel:
            continue
        region = panel.index.get_level_values("region")
        year = panel.index.get_level_values("year")
        keys = [region.map(lambda r: regions.get(r).macro_region), year]
        existed = pd.Series([_existed(r, int(y)) for r, y in zip(region, year)], index=panel.index)
        values = panel[full].astype(float)
        complete = (values.notna() | ~existed).groupby(keys).all()  # every province that existed
        sums = values.groupby(keys).sum(min_count=1)[complete]
        scale(full, public, sums, panel[public].astype(float).groupby(keys).first(), tolerance)
    for full, public in DOWNLOAD_COUNTERPARTS.items():
        if full not in panel or public not in panel:
            continue
        both = panel[[full, public]].astype(float).dropna()
        if both.empty:
            continue
        scale(full, public, both[full], both[public])
        gap = (both[full] - both[public]).abs()
        region, year = gap.idxmax()
        notes.setdefault(full, []).append(
            f"compared with the public {public} in {len(both)} province-years: max |difference| "
            f"{gap.max():.2f} points ({region} {year}); equal (within 0.05) in "
            f"{int((gap <= 0.05).sum())}")


def load(processed_dir: str | Path = "data/processed") -> pd.DataFrame:
    """Read panel.parquet back as a (region, year)-indexed frame."""
    path = Path(processed_dir) / "panel.parquet"
    if not path.is_file():
        raise DataError("the panel has not been built", file=path, hint="run `make panel`")
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise DataError(f"the panel file cannot be read ({type(exc).__name__}: "
                        f"{str(exc).splitlines()[0][:120] if str(exc) else ''})", file=path,
                        hint="rebuild it with `regrowth panel` (or `make panel`)") from exc
    missing = [c for c in INDEX if c not in frame.columns]
    if missing:
        raise DataError(f"the panel file has no column(s) {missing}", file=path,
                        hint="rebuild it with `regrowth panel` (or `make panel`)")
    return frame.set_index(INDEX)


def load_macro(processed_dir: str | Path = "data/processed") -> pd.DataFrame:
    """Read macro_panel.parquet back as a (macro_region, year)-indexed frame (7 권역)."""
    path = Path(processed_dir) / "macro_panel.parquet"
    if not path.is_file():
        raise DataError("the macro-region panel has not been built", file=path,
                        hint="run `make panel`")
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise DataError(f"the macro-region panel file cannot be read ({type(exc).__name__})",
                        file=path, hint="rebuild it with `regrowth panel` (or `make panel`)") from exc
    missing = [c for c in MACRO_INDEX if c not in frame.columns]
    if missing:
        raise DataError(f"the macro-region panel file has no column(s) {missing}", file=path,
                        hint="rebuild it with `regrowth panel` (or `make panel`)")
    return frame.set_index(MACRO_INDEX)
