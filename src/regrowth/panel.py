"""Tidy long tables -> the (region, year) panel, its codebook, validated and written once.

``build(raw_dir, out_dir)`` reads every source through ``regrowth.sources.load_all``,
pivots the tidy rows (region, year, variable, value, source) into one row per province
and year, derives the logs, lags, growth rates and per-capita ratios the models use
(each exactly once, here), validates the result with a pandera schema and only then
writes ``panel.parquet``, ``panel.csv`` and ``codebook.csv`` atomically.

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

INDEX = ["region", "year"]
ID_COLUMNS = ["region", "year", "code", "region_ko", "macro_region", "capital_region", "sejong_break"]
FINTECH_LAST_COMPLETE_YEAR = 2021


@dataclasses.dataclass(frozen=True)
class Derived:
    """One derived column: how it is computed, for the codebook and for the code."""

    name: str
    kind: str  # log | log1p | lag | growth | ratio
    inputs: tuple[str, ...]
    label: str
    unit: str
    scale: float = 1.0
    bounds: tuple[float | None, float | None] = (None, None)   # checked by the schema

    def transformation(self) -> str:
        a = self.inputs[0]
        if self.kind == "ratio":
            b = self.inputs[1]
            return f"{self.scale:g} * {a} / {b}" if self.scale != 1 else f"{a} / {b}"
        return {
            "log": f"ln({a})",
            "log1p": f"ln(1 + {a})",
            "lag": f"{a} in year t-1 of the same province (missing if year t-1 is missing)",
            "growth": f"100 * ({a}_t / {a}_(t-1) - 1), same province, consecutive years",
        }[self.kind]


def _log(v):
    return Derived(f"ln_{v}", "log", (v,), f"log of {v}", "log points")


def _lag(v):
    return Derived(f"{v}_l1", "lag", (v,), f"{v}, lagged one year", "as " + v)


def _growth(v):
    return Derived(f"{v}_growth", "growth", (v,), f"annual growth of {v}", "percent",
                   bounds=(-50.0, 100.0))


#: Every derived column, in the order it is computed and written.
DERIVED: tuple[Derived, ...] = (
    Derived("patents_fintech_pm", "ratio", ("patents_fintech", "population"),
            "fintech patent applications per million residents", "per million residents", 1e6),
    Derived("rnd_pc", "ratio", ("rnd", "population"),
            "R&D expenditure per resident", "thousand won per person", 1e3),
    Derived("patents_all_pm", "ratio", ("patents_all", "population"),
            "all-field patent applications per million residents (full edition)",
            "per million residents", 1e6),
    Derived("higher_ed_pct", "ratio", ("higher_ed_entrants", "hs_graduates"),
            "high-school graduates entering higher education", "percent of graduates", 100.0,
            bounds=(0.0, 100.0)),
    Derived("exports_pc", "ratio", ("exports", "population"),
            "exports per resident", "USD per person", 1e6),
    _log("population"), _log("rnd"), _log("grdp_pc_nominal"), _log("grdp_pc_real"),
    _log("patents_pm_macro"), _log("exports"), _log("patents_all_pm"),
    Derived("ln1p_patents_fintech_pm", "log1p", ("patents_fintech_pm",),
            "log(1 + fintech applications per million residents)", "log points"),
    _growth("grdp_pc_real"), _growth("grdp_pc_nominal"), _growth("population"),
    _lag("fiscal_self_reliance"), _lag("fiscal_self_reliance_rev"), _lag("ln_rnd"),
    _lag("ln_patents_pm_macro"), _lag("ln_grdp_pc_real"), _lag("ln_grdp_pc_nominal"),
    _lag("ln1p_patents_fintech_pm"), _lag("fiscal_autonomy"), _lag("ln_patents_all_pm"),
)


@dataclasses.dataclass
class PanelBuild:
    """The built panel, its codebook, what was written and the source reports."""

    panel: pd.DataFrame
    codebook: pd.DataFrame
    written: list[Path]
    reports: dict
    #: one row per source file: source, variables, rows, first_year, last_year, provinces
    sources: pd.DataFrame | None = None

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
            elif name == "full_edition" and isinstance(rep, dict):
                have = [t for t, ok in rep.items() if ok]
                lines.append("  full edition: " + (
                    "KOSIS downloads used: " + ", ".join(have) if have else
                    "no KOSIS downloads in data/raw/kosis/ (optional: "
                    + ", ".join(rep) + "; see README)"))
        n_regions = self.panel.index.get_level_values("region").nunique()
        years = self.panel.index.get_level_values("year")
        lines.append(f"panel: {len(self.panel)} rows = {n_regions} provinces x "
                     f"{years.min()}-{years.max()}, {self.panel.shape[1]} columns; wrote "
                     + ", ".join(str(p) for p in self.written))
        return "\n".join(lines)


def _short(source: str, width: int = 48) -> str:
    """The file name of a source path, cut to ``width`` characters."""
    name = str(source).rsplit("/", 1)[-1]
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
    # the index is the full (region, year) grid, so shifting within a region is shifting by a year
    return s.groupby(level="region", sort=False).shift(1)


def derive(wide: pd.DataFrame) -> pd.DataFrame:
    """Add the DERIVED columns to a (region, year)-indexed frame on a full year grid."""
    out = wide.copy()
    for d in DERIVED:
        missing = [c for c in d.inputs if c not in out]
        if missing:
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


def write(panel: pd.DataFrame, book: pd.DataFrame, out_dir: str | Path) -> list[Path]:
    """Write panel.parquet, panel.csv and codebook.csv as one transaction: all three or none
    (:class:`regrowth.files.Transaction`; a kill -9 leaves the old or the new set)."""
    out_dir = Path(out_dir)
    flat = panel.reset_index()
    names = ["panel.parquet", "panel.csv", "codebook.csv"]
    with Transaction(out_dir, prune=True) as tx:
        tx.write_with(names[0], lambda t: flat.to_parquet(t, index=False, engine="pyarrow",
                                                          compression="zstd"))
        tx.write_with(names[1], lambda t: _write_csv(flat, t))
        tx.write_with(names[2], lambda t: _write_csv(book, t))
    return [out_dir / n for n in names]


def build(raw_dir: str | Path = "data/raw", out_dir: str | Path = "data/processed", *,
          allow_partial=()) -> PanelBuild:
    """Read the raw files, build and validate the panel, write it; return what was built.

    ``allow_partial``: full-edition table ids whose downloads may cover fewer than the 17
    provinces (see :mod:`regrowth.sources.full_edition`). ``PanelBuild.reports`` holds
    each source's report, ``"full_edition"`` (what each slot held: table, unit, years,
    provinces) and ``"notes"`` (also in the codebook's ``notes`` column).
    """
    check_writable(out_dir, option="--out-dir")  # before reading anything
    tidy, reports = sources.load_all(Path(raw_dir), allow_partial=allow_partial)
    panel = assemble(tidy)
    validate(panel)
    book = codebook(panel, tidy, reports.get("notes"))
    written = write(panel, book, out_dir)
    return PanelBuild(panel, book, written, reports, source_summary(tidy))


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
