"""KOSTAT regional-indicator CSVs (``Year,지역,Value`` or ``Year,시도,[시군구,]Value``).

Areas are numbered: ``0.전국`` (the nation), ``1.수도권`` … ``7.제주권`` (the
seven 권역) in indicators 1-x to 4-x; ``2.서울특별시`` etc. (provinces) with
시군구 rows in 5-x and 6-x. :func:`read_indicator` returns every area with its
kind; :func:`macro_series` the 권역 rows; :func:`broadcast_to_provinces` gives
each province its 권역's value (for ``patents_pm_macro`` from indicator 2-2-1),
from the province's first year on (Sejong from 2012).
"""

from __future__ import annotations

from pathlib import PurePosixPath

import pandas as pd

from regrowth import regions
from regrowth.errors import DataError, UnknownRegionError
from regrowth.sources._common import (
    check_duplicates, clean_text, col_letter, parse_number, read_csv_rows, require_file,
    source_name, validate_values,
)
from regrowth.sources.kosis import parse_year

__all__ = ["read_indicator", "macro_series", "broadcast_to_provinces", "parse_patents_pm_macro"]

_AREA_COLUMNS = ("지역", "시도", "권역", "region", "area")


def read_indicator(path, *, raw_dir=None) -> pd.DataFrame:
    """All rows of an indicator CSV.

    Columns: ``area`` (macro-region or province key, or ``"nation"``),
    ``area_kind`` (``nation``/``macro``/``province``), ``year`` (int), ``value``
    (float), ``row``, ``column``. Sub-provincial (시군구) rows are left out.
    """
    path = require_file(path)
    file = source_name(path, raw_dir)
    rows, _, _ = read_csv_rows(path, file_label=file)
    rows = [r for r in rows if any(clean_text(c) for c in r)]
    if not rows:
        raise DataError("the file is empty", file=file, hint="acquire it again (`make data`)")
    header = [clean_text(c) for c in rows[0]]
    lower = [h.casefold() for h in header]
    if "year" not in lower or "value" not in lower:
        found = next((i + 1 for i, r in enumerate(rows[:20])
                      if [clean_text(c).casefold() for c in r][:1] == ["year"]), None)
        where = f" (a header-like row is row {found})" if found and found != 1 else ""
        raise DataError(f"expected a header row 'Year,지역,Value', found {header}{where}",
                        file=file, row=1, column="A",
                        hint="the indicator files have the header on row 1; acquire a clean copy "
                             "(`make data`)")
    j_year, j_value = lower.index("year"), lower.index("value")
    j_area = next((j for j, h in enumerate(header) if h in _AREA_COLUMNS or h.casefold() in _AREA_COLUMNS), None)
    if j_area is None:
        raise DataError(f"no area column ({'/'.join(_AREA_COLUMNS)}) in the header {header}",
                        file=file, row=1, hint="acquire a clean copy (`make data`)")
    j_sub = header.index("시군구") if "시군구" in header else None
    records = []
    cache: dict[str, tuple[str, str]] = {}
    for i, row in enumerate(rows[1:], start=2):
        if len(row) < len(header):
            raise DataError(f"row has {len(row)} fields but the header has {len(header)} (truncated "
                            "file?)", file=file, row=i, column=col_letter(len(row)),
                            hint="acquire the file again (`make data`)")
        if j_sub is not None and clean_text(row[j_sub]):
            continue
        name = clean_text(row[j_area])
        if name not in cache:
            cache[name] = _area(name, file=file, row=i, column=col_letter(j_area))
        kind, key = cache[name]
        year = parse_year(row[j_year])
        if year is None:
            raise DataError(f"year {row[j_year]!r} is not a year", file=file, row=i,
                            column=col_letter(j_year), hint="acquire a clean copy (`make data`)")
        value = parse_number(row[j_value], file=file, row=i, column=col_letter(j_value),
                             what=f"{name} {year}")
        records.append((key, kind, year, value, i, col_letter(j_value)))
    frame = pd.DataFrame.from_records(records, columns=["area", "area_kind", "year", "value", "row", "column"])
    # the package's one duplicate-key check (regrowth.sources._common)
    check_duplicates(frame.assign(region=frame["area"], variable=PurePosixPath(file).stem), file=file,
                     column=col_letter(j_area))
    return frame


def _area(name: str, *, file, row, column) -> tuple[str, str]:
    if regions.is_nation(name):
        return "nation", "nation"
    if regions.is_macro(name):
        return "macro", regions.lookup_macro(name).key
    try:
        return "province", regions.lookup(name, file=file, row=row, column=column).key
    except UnknownRegionError as exc:
        raise UnknownRegionError(f"{exc.message} (neither a province, a 권역 nor the nation)",
                                 file=file, row=row, column=column, hint=exc.hint) from None


def macro_series(path, variable: str, *, raw_dir=None) -> pd.DataFrame:
    """The 권역 rows as a tidy-like frame: macro_region, year, variable, value, source."""
    frame = read_indicator(path, raw_dir=raw_dir)
    macro = frame[frame["area_kind"] == "macro"]
    if macro.empty:
        raise DataError("the file has no macro-region (권역) rows", file=source_name(path, raw_dir),
                        hint="use an indicator from sections 1-4 (5-x and 6-x are by province)")
    out = pd.DataFrame({"macro_region": macro["area"].to_numpy(), "year": macro["year"].astype("int64").to_numpy(),
                        "variable": variable, "value": macro["value"].astype(float).to_numpy(),
                        "source": source_name(path, raw_dir)})
    return out.sort_values(["variable", "macro_region", "year"]).reset_index(drop=True)


def broadcast_to_provinces(macro: pd.DataFrame, *, variable: str | None = None,
                           respect_first_year: bool = True) -> pd.DataFrame:
    """Give every province its 권역's value: tidy (region, year, variable, value, source).

    With ``respect_first_year`` a province gets values only from the year it
    existed (Sejong from 2012, when it joined 충청권).
    """
    parts = []
    for key, m in regions.MACRO_REGIONS.items():
        part = macro[macro["macro_region"] == key]
        for region in regions.members(key):
            p = part.assign(region=region.key)
            if respect_first_year and region.first_year is not None:
                p = p[p["year"] >= region.first_year]
            parts.append(p)
    out = pd.concat(parts, ignore_index=True)
    if variable is not None:
        out["variable"] = variable
    out = out[["region", "year", "variable", "value", "source"]]
    for c in ("region", "variable", "source"):
        out[c] = out[c].astype("str")
    return out.sort_values(["variable", "region", "year"]).reset_index(drop=True)


def parse_patents_pm_macro(path, *, raw_dir=None):
    """indicator_2-2-1: patent applications per million residents by 권역 (domestic
    applicants, first applicant's address), broadcast to provinces as
    ``patents_pm_macro``; the nation's rate (``0.전국``) as ``patents_pm_nation``, given to
    every province (the panel checks the derived macro-region counts against it).
    Returns (tidy frame, report with the 권역 series)."""
    frame = read_indicator(path, raw_dir=raw_dir)
    file = source_name(path, raw_dir)
    parts = []
    for kind, variable in (("macro", "patents_pm_macro"), ("nation", "patents_pm_nation")):
        part = frame[frame["area_kind"] == kind].copy()
        part["variable"] = variable
        part["region"] = part["area"]
        # the package's one value check, with row and column (regrowth.sources._common)
        validate_values(part, file=file)
        parts.append(part)
    macro, nation = parts
    series = pd.DataFrame({"macro_region": macro["area"], "year": macro["year"].astype("int64"),
                           "variable": "patents_pm_macro", "value": macro["value"].astype(float),
                           "source": file})
    national = pd.concat([pd.DataFrame({"macro_region": key, "year": nation["year"].astype("int64"),
                                        "variable": "patents_pm_nation",
                                        "value": nation["value"].astype(float), "source": file})
                          for key in regions.MACRO_REGIONS], ignore_index=True)
    tidy = pd.concat([broadcast_to_provinces(series.dropna(subset=["value"])),
                      broadcast_to_provinces(national.dropna(subset=["value"]))],
                     ignore_index=True)
    tidy = tidy.sort_values(["variable", "region", "year"]).reset_index(drop=True)
    report = {"file": file, "macro_regions": sorted(set(series["macro_region"])),
              "years": (int(series["year"].min()), int(series["year"].max())),
              "nation_rows": int((frame["area_kind"] == "nation").sum()),
              "note": "value of the province's 권역, not of the province"}
    return tidy, report
