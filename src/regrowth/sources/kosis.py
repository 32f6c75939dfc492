"""A general parser for KOSIS exports (kosis.kr), Korean or English, CSV or XLSX.

Two layouts occur:

* **wide** -- one row per region (and sub-item), one column per year; one or
  more header rows: a row of years (``2014``, ``2014년``, ``2014.1`` as pandas
  writes a repeated header, ``2023 p)``) and optionally a row of item names
  under them. A year repeats when the item row tells the columns apart (the
  재정자립도 table from 2014: 세입과목개편전 then 세입과목개편후). Merged year cells
  of xlsx exports are forward-filled. The first column(s) hold the row labels,
  possibly with a unit hint (``행정구역별(단위: 100만달러)``, ``자치단체（단위:천원）``).
* **long** -- sheet ``Data`` of an English download: ``Period`` (forward-filled),
  ``By province``, then one column per item (DT_1C86).

:func:`read_kosis` turns either into a :class:`KosisTable` of numeric cells,
each with its row labels, year, item, and spreadsheet row and column;
:func:`to_tidy` maps it onto provinces and variables. CSV encodings:
UTF-8 with or without BOM and CP949. Missing-value markers ``-``, ``…`` and
blanks become NaN; thousands separators are removed.

The same functions read full-edition KOSIS downloads put into ``data/raw/kosis/``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Collection, Mapping, Sequence

import pandas as pd

from regrowth import regions
from regrowth.errors import DataError, UnknownRegionError
from regrowth.sources._common import (
    clean_text, col_letter, finish, open_workbook, parse_number, read_csv_rows, read_meta,
    require_file, source_name, xlsx_rows, META_SHEETS,
)

__all__ = ["KosisTable", "read_kosis", "to_tidy", "parse_kosis", "parse_year"]

_YEAR = re.compile(r"^(\d{4})\s*(?:년)?\s*(?:p\)|\(p\)|p)?\s*(?:\.(\d+))?$", re.IGNORECASE)
_UNIT = re.compile(r"[(\[]\s*(?:단위|unit)\s*[:：]\s*([^)\]]+?)\s*[)\]]", re.IGNORECASE)
_PERIOD_NAMES = {"period", "시점", "기간", "연도", "년도", "year"}
_MAX_HEADER_ROWS = 5
_SCAN_FOR_HEADER = 30


def parse_year(cell: Any) -> int | None:
    """The year in a header cell (``2014``, ``2014년``, ``2014.1``, ``2023 p)``, 2014.0) or None."""
    if isinstance(cell, bool) or cell is None:
        return None
    if isinstance(cell, (int, float)):
        if isinstance(cell, float) and (math.isnan(cell) or cell != int(cell)):
            return None
        y = int(cell)
        return y if 1900 <= y <= 2100 else None
    m = _YEAR.match(clean_text(cell))
    if not m:
        return None
    y = int(m.group(1))
    return y if 1900 <= y <= 2100 else None


@dataclass
class KosisTable:
    """The numeric cells of a KOSIS export.

    ``cells`` has one row per value cell: ``label_0 … label_{k-1}`` (row labels,
    text), ``year`` (int), ``item`` (text, '' for single-item tables), ``raw``,
    ``value`` (float, NaN if missing), ``row`` (1-based) and ``column`` (letter).
    """

    file: str                      # for messages: path relative to the raw dir
    layout: str                    # "wide" or "long"
    cells: pd.DataFrame
    label_names: list[str]
    label_letters: list[str]
    header_rows: int
    encoding: str | None = None
    sheet: str | None = None
    table_id: str | None = None
    unit: str | None = None
    meta: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def items(self) -> list[str]:
        return list(dict.fromkeys(self.cells["item"]))

    @property
    def years(self) -> list[int]:
        return sorted(set(self.cells["year"]))


# ------------------------------------------------------------------------- reading

def _grid(path: Path, file: str, sheet: str | None):
    """Rows of the file as lists of cell values, plus encoding/sheet/meta."""
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        wb = open_workbook(path, file_label=file)
        try:
            meta = read_meta(wb)
            if sheet is None:
                data_sheets = [ws for ws in wb.worksheets
                               if clean_text(ws.title).casefold() not in META_SHEETS]
                if not data_sheets:
                    raise DataError("the workbook has no data sheet", file=file,
                                    hint="download the table again as xlsx")
                ws = data_sheets[0]
            else:
                if sheet not in wb.sheetnames:
                    raise DataError(f"sheet {sheet!r} not found (sheets: {wb.sheetnames})",
                                    file=file, hint="download the table again as xlsx")
                ws = wb[sheet]
            rows = xlsx_rows(ws, file_label=file)
            # xlsx stores no trailing empty cells: pad, a short row is not a cut row here
            width = max((len(r) for r in rows), default=0)
            rows = [r + [None] * (width - len(r)) for r in rows]
            return rows, None, ws.title, meta
        finally:
            if hasattr(wb, "close"):
                wb.close()
    if suffix in (".csv", ".txt", ".tsv"):
        rows, encoding, _ = read_csv_rows(path, file_label=file)
        return rows, encoding, None, {}
    raise DataError(f"unsupported file type {suffix!r} (KOSIS exports are read as .csv or .xlsx)",
                    file=file, hint="download the table from KOSIS as CSV or Excel (xlsx)")


def _is_empty_row(row: Sequence[Any]) -> bool:
    return all(clean_text(c) == "" for c in row)


def _unit_of(texts: Sequence[str]) -> str | None:
    for t in texts:
        m = _UNIT.search(t)
        if m:
            return m.group(1).strip()
        m = re.match(r"^\s*(?:단위|unit)\s*[:：]\s*(.+)$", t, re.IGNORECASE)
        if m:
            return m.group(1).strip()
    return None


def _strip_unit(text: str) -> str:
    return _UNIT.sub("", text).strip()


def read_kosis(path: str | Path, *, raw_dir: str | Path | None = None, sheet: str | None = None,
               repeat_items: Sequence[str] | None = None) -> KosisTable:
    """Read a KOSIS export (see the module docstring) into a :class:`KosisTable`.

    ``repeat_items``: names to give, in order, to the columns of a year that
    repeats when the file has no item row (the documented 재정자립도 pattern);
    any other repeated year column is an error.
    """
    path = require_file(path)
    file = source_name(path, raw_dir)
    rows, encoding, sheet_name, meta = _grid(path, file, sheet)
    # trim trailing empty rows
    while rows and _is_empty_row(rows[-1]):
        rows.pop()
    if not rows:
        raise DataError("the file is empty (no rows)", file=file,
                        hint="acquire it again (`make data`) or download the table again")
    header = [clean_text(c) for c in rows[0]]
    if any(h.casefold() in _PERIOD_NAMES for h in header) and not any(parse_year(c) for c in rows[0]):
        table = _read_long(rows, file)
    else:
        table = _read_wide(rows, file, repeat_items)
    table.encoding, table.sheet, table.meta = encoding, sheet_name, meta
    table.table_id = meta.get("table_id")
    table.unit = table.unit or meta.get("unit")
    return table


def _row_labels(row: Sequence[Any], label_cols: Sequence[int], previous: list[str]) -> list[str]:
    """The row's label cells; an empty one (but the last) repeats the row above, since
    xlsx exports merge the cells of an outer label over the rows it spans."""
    labels = []
    for k, j in enumerate(label_cols):
        text = clean_text(row[j])
        if text == "" and k < len(label_cols) - 1:
            text = previous[k]
        labels.append(text)
    return labels


def _data_block(rows: list[list[Any]], start: int) -> tuple[int, list[str]]:
    """Index one past the last data row (data stop at the first empty row), and footer notes."""
    end = start
    while end < len(rows) and not _is_empty_row(rows[end]):
        end += 1
    notes = [clean_text(c) for r in rows[end:] for c in r if clean_text(c)]
    return end, notes


def _check_width(row: list[Any], width: int, *, file: str, rownum: int) -> None:
    n_fields = len(row)
    while n_fields > 0 and clean_text(row[n_fields - 1]) == "":
        n_fields -= 1
    if len(row) < width:
        raise DataError(f"row has {len(row)} fields but the header has {width}: the row is cut "
                        "short (truncated file?)", file=file, row=rownum,
                        column=col_letter(len(row)),
                        hint="acquire the file again (`make data`); a download that stopped "
                             "half-way leaves a short last row")
    if n_fields > width:
        raise DataError(f"row has {n_fields} fields but the header has {width}: values without "
                        "a header (shifted row?)", file=file, row=rownum, column=col_letter(width),
                        hint="check the row against the header; acquire a clean copy (`make data`)")


def _read_wide(rows: list[list[Any]], file: str, repeat_items: Sequence[str] | None) -> KosisTable:
    year_counts = [sum(parse_year(c) is not None for c in r[1:]) for r in rows[:_SCAN_FOR_HEADER]]
    first = clean_text(rows[0][0]) if rows[0] else ""
    n_header = 1
    while (n_header < min(len(rows), _MAX_HEADER_ROWS) and rows[n_header]
           and (clean_text(rows[n_header][0]) in ("", first))
           and not _looks_like_region(rows[n_header][0])):
        n_header += 1
    header_counts = year_counts[:n_header]
    if not any(header_counts):
        later = next((i for i, c in enumerate(year_counts) if i >= n_header and c >= 2), None)
        if later is not None:
            raise DataError(f"the header row with the years is row {later + 1}, not row 1: the file "
                            f"has {later} extra row(s) above its header (title or notes?)",
                            file=file, row=1, column="A",
                            hint=f"delete rows 1-{later} so that the header is the first row, or "
                                 "download the table again from KOSIS with the default layout "
                                 "(시점 as columns)")
        raise DataError("no year columns found: the header row has no cell like 2014, 2014년 or "
                        "2014.1", file=file, row=1, column=None,
                        hint="download the table from KOSIS with 시점 (years) as columns, or in "
                             "the long layout with a Period column")
    year_row = max(range(n_header), key=lambda i: header_counts[i])
    hdr = [[clean_text(c) for c in rows[i]] for i in range(n_header)]
    width = max(len(h) for h in hdr)
    for h in hdr:
        h.extend([""] * (width - len(h)))
    # drop trailing columns with no header at all (openpyxl pads with None)
    while width > 1 and all(h[width - 1] == "" for h in hdr):
        width -= 1
    years_raw = hdr[year_row][:width]
    first_year_col = next(j for j in range(1, width) if parse_year(years_raw[j]) is not None)
    label_cols = list(range(first_year_col))
    value_cols = list(range(first_year_col, width))
    # forward-fill the year row across merged / blank header cells
    years: dict[int, int] = {}
    current = None
    for j in value_cols:
        text = years_raw[j]
        if text == "":
            if current is None:
                raise DataError("a value column has no year", file=file, row=year_row + 1,
                                column=col_letter(j), hint="check the header row")
        else:
            y = parse_year(rows[year_row][j])
            if y is None:
                raise DataError(f"header cell {text!r} is not a year (expected 2014, 2014년 …)",
                                file=file, row=year_row + 1, column=col_letter(j),
                                hint="the header must list one year per value column; download "
                                     "the table again from KOSIS")
            current = y
        years[j] = current
    item_rows = [i for i in range(n_header) if i != year_row
                 and any(hdr[i][j] for j in value_cols)]
    items = {j: " / ".join(hdr[i][j] for i in item_rows if hdr[i][j]) for j in value_cols}
    # repeated years
    seen: dict[tuple[int, str], int] = {}
    for j in value_cols:
        key = (years[j], items[j])
        if key in seen:
            if not item_rows and repeat_items:
                continue
            raise DataError(f"year {years[j]} appears twice (columns {col_letter(seen[key])} and "
                            f"{col_letter(j)})" + (f" with the same item {items[j]!r}" if items[j] else "")
                            + "; a KOSIS export repeats a year only when an item row tells the "
                              "columns apart (as 재정자립도 does from 2014: 세입과목개편전 / 개편후)",
                            file=file, row=year_row + 1, column=col_letter(j),
                            hint="remove the repeated column or download the table again with "
                                 "its item row")
        seen[key] = j
    if not item_rows and repeat_items:
        counts: dict[int, int] = {}
        for j in value_cols:
            k = counts.get(years[j], 0)
            counts[years[j]] = k + 1
            if k >= len(repeat_items):
                raise DataError(f"year {years[j]} appears {k + 1} times; at most "
                                f"{len(repeat_items)} ({', '.join(repeat_items)}) are expected",
                                file=file, row=year_row + 1, column=col_letter(j),
                                hint="remove the repeated column or download the table again")
        reps = {y for y, c in counts.items() if c > 1}
        counts = {}
        for j in value_cols:
            k = counts.get(years[j], 0)
            counts[years[j]] = k + 1
            items[j] = repeat_items[k] if years[j] in reps else repeat_items[0]
    header_texts = [t for h in hdr for t in h]
    unit = _unit_of(header_texts)
    label_names = [_strip_unit(hdr[0][j]) or f"label_{j}" for j in label_cols]
    start = n_header
    end, notes = _data_block(rows, start)
    if end == start:
        raise DataError("no data rows below the header", file=file, row=start + 1,
                        hint="the table is empty or has a blank row under its header; "
                             "download it again")
    unit = unit or _unit_of(notes)
    records: list[tuple] = []
    last_labels = [""] * len(label_cols)
    for i in range(start, end):
        row = list(rows[i])
        rownum = i + 1
        _check_width(row, width, file=file, rownum=rownum)
        labels = last_labels = _row_labels(row, label_cols, last_labels)
        for j in value_cols:
            letter = col_letter(j)
            value = parse_number(row[j], file=file, row=rownum, column=letter,
                                 what=f"{labels[0]} {years[j]}")
            records.append((*labels, years[j], items[j], row[j], value, rownum, letter))
    cols = [f"label_{k}" for k in range(len(label_cols))]
    cells = pd.DataFrame.from_records(records, columns=[*cols, "year", "item", "raw", "value", "row", "column"])
    cells["raw"] = cells["raw"].astype(object)
    return KosisTable(file=file, layout="wide", cells=cells, label_names=label_names,
                      label_letters=[col_letter(j) for j in label_cols], header_rows=n_header,
                      unit=unit, notes=notes)


def _looks_like_region(cell: Any) -> bool:
    text = clean_text(cell)
    if not text:
        return False
    try:
        regions.lookup(text)
        return True
    except UnknownRegionError:
        return regions.is_nation(text)


def _read_long(rows: list[list[Any]], file: str) -> KosisTable:
    header = [clean_text(c) for c in rows[0]]
    width = len(header)
    while width > 1 and header[width - 1] == "":
        width -= 1
    header = header[:width]
    period_col = next(j for j, h in enumerate(header) if h.casefold() in _PERIOD_NAMES)
    end, notes = _data_block(rows, 1)
    if end == 1:
        raise DataError("no data rows below the header", file=file, row=2,
                        hint="download the table again")
    data = rows[1:end]
    # a column is a label column if none of its non-missing cells is numeric
    label_cols, item_cols = [], []
    for j in range(width):
        if j == period_col:
            continue
        cells = [r[j] for r in data if j < len(r) and clean_text(r[j]) not in ("", "-", "…", "...")]
        numeric = 0
        for c in cells:
            if isinstance(c, (int, float)) and not isinstance(c, bool):
                numeric += 1
            elif re.fullmatch(r"[+-]?[\d,]*\.?\d+", clean_text(c)):
                numeric += 1
        (item_cols if numeric else label_cols).append(j)
    if not item_cols:
        raise DataError("no value columns found in the long layout", file=file, row=1,
                        hint="download the table again")
    unit = _unit_of(header) or _unit_of(notes)
    records = []
    period = None
    last_labels = [""] * len(label_cols)
    for i, row in enumerate(data, start=1):
        rownum = i + 1
        row = list(row)
        _check_width(row, width, file=file, rownum=rownum)
        ptext = clean_text(row[period_col])
        if ptext:
            period = parse_year(row[period_col])
            if period is None:
                raise DataError(f"period {ptext!r} is not a year (only annual tables are read)",
                                file=file, row=rownum, column=col_letter(period_col),
                                hint="download the table with annual periods")
        elif period is None:
            raise DataError("the first data row has no period", file=file, row=rownum,
                            column=col_letter(period_col), hint="download the table again")
        labels = last_labels = _row_labels(row, label_cols, last_labels)
        for j in item_cols:
            letter = col_letter(j)
            value = parse_number(row[j], file=file, row=rownum, column=letter,
                                 what=f"{labels[0] if labels else ''} {period} {header[j]}")
            records.append((*labels, period, _strip_unit(header[j]), row[j], value, rownum, letter))
    cols = [f"label_{k}" for k in range(len(label_cols))]
    cells = pd.DataFrame.from_records(records, columns=[*cols, "year", "item", "raw", "value", "row", "column"])
    cells["raw"] = cells["raw"].astype(object)
    return KosisTable(file=file, layout="long", cells=cells,
                      label_names=[_strip_unit(header[j]) for j in label_cols],
                      label_letters=[col_letter(j) for j in label_cols], header_rows=1,
                      unit=unit, notes=notes)


# -------------------------------------------------------------------------- tidying

def _key(text: str) -> str:
    return re.sub(r"\s+", "", clean_text(text)).casefold()


def to_tidy(table: KosisTable, variables: str | Mapping[str, str], *, source: str | None = None,
            region_from: str = "label", region_label: int = 0,
            where: Mapping[int, str | Collection[str]] | None = None,
            ignore: Collection[str] = (), other_items: str = "error",
            expect_units: Collection[str] | None = None, drop_missing: bool = True,
            item_label: int | None = None) -> pd.DataFrame:
    """Map a :class:`KosisTable` onto the tidy (region, year, variable, value, source) frame.

    variables : one variable name (the table must then hold a single item) or a
        mapping ``item -> variable`` (items compared without spaces, casefolded).
    region_from : "label" (regions are the rows, in label column ``region_label``)
        or "item" (regions are the item-row columns, as in the R&D table).
    where : keep only rows whose label column k equals the given text(s)
        (``{1: "소계"}`` keeps the province subtotals of a 시도/시군구 table).
    ignore : region names that are not provinces and are skipped (besides the
        nation, always skipped), e.g. ``("(Ulsan-si)", "(Ulsan-gun)")``.
    other_items : "error" or "ignore" for items not in ``variables``.
    expect_units : accepted unit texts; a table whose unit hint differs is an error.
    item_label : take the item from label column k instead of the header (KOSIS
        downloads that list 항목 as a row label: ``행정구역별,항목,단위,2019,2020``).
    """
    file = table.file
    cells = table.cells
    if item_label is not None:
        cells = cells.assign(item=cells[f"label_{item_label}"])
    if expect_units is not None and table.unit is not None:
        if _key(table.unit) not in {_key(u) for u in expect_units}:
            raise DataError(f"the table's unit is {table.unit!r}, expected one of "
                            f"{sorted(expect_units)}", file=file, row=1, column="A",
                            hint="download the table again with the default unit, or convert it")
    if where:
        mask = pd.Series(True, index=cells.index)
        for k, allowed in where.items():
            allowed = {allowed} if isinstance(allowed, str) else set(allowed)
            mask &= cells[f"label_{k}"].isin(allowed)
        cells = cells[mask]
    # variables
    if isinstance(variables, str):
        item_col = "item" if region_from == "label" else None
        distinct = list(dict.fromkeys(cells["item"])) if item_col else [""]
        if len(distinct) > 1:
            raise DataError(f"the table holds several items {distinct}; say which variable each "
                            "one is", file=file, hint="pass a mapping item -> variable")
        var = pd.Series(variables, index=cells.index, dtype="str")
    else:
        if region_from == "item":
            raise ValueError("region_from='item' takes a single variable name")
        mapping = {_key(k): v for k, v in variables.items()}
        keys = cells["item"].map(_key)
        var = keys.map(mapping)
        unknown = var.isna()
        if unknown.any():
            if other_items == "error":
                r = cells.loc[unknown].iloc[0]
                raise DataError(f"unexpected item {r['item']!r} (expected {list(variables)})",
                                file=file, row=table.header_rows, column=r["column"],
                                hint="check that this is the right table; download it again")
            cells, var = cells[~unknown], var[~unknown]
        missing_items = set(mapping) - set(keys)
        if missing_items:
            raise DataError(f"items {sorted(missing_items)} not found in the table (found "
                            f"{table.items})", file=file, row=table.header_rows,
                            hint="check that this is the right table; download it again")
    # regions
    ignore_keys = {_key(x) for x in ignore}
    region_col = f"label_{region_label}" if region_from == "label" else "item"
    names = cells[region_col]
    resolved: dict[str, str | None] = {}
    for name in dict.fromkeys(names):
        if regions.is_nation(name) or _key(name) in ignore_keys or (
                region_from == "item" and _key(name) in {_key(i) for i in _ITEM_TOTALS}):
            resolved[name] = None
            continue
        first = cells[names == name].iloc[0]
        if region_from == "label":
            row, column = int(first["row"]), table.label_letters[region_label]
        else:
            row, column = table.header_rows, first["column"]
        resolved[name] = regions.lookup(name, file=file, row=row, column=column).key
    region = names.map(resolved)
    keep = region.notna()
    frame = pd.DataFrame({
        "region": region[keep], "year": cells.loc[keep, "year"], "variable": var[keep],
        "value": cells.loc[keep, "value"], "row": cells.loc[keep, "row"],
        "column": cells.loc[keep, "column"],
    })
    # a duplicated region-year is a row problem: point at the region label column
    dup_column = table.label_letters[region_label] if region_from == "label" else None
    return finish(frame, file=file, source=source or file, drop_missing=drop_missing,
                  dup_column=dup_column)


#: item-row labels that are a national total when regions are in the item row
_ITEM_TOTALS = ("연구개발비", "계", "합계", "총계", "전국", "Total")


def parse_kosis(path: str | Path, variables: str | Mapping[str, str], *,
                raw_dir: str | Path | None = None, **kwargs) -> pd.DataFrame:
    """Read and tidy a KOSIS export in one call (``kwargs`` go to :func:`to_tidy`,
    except ``sheet`` and ``repeat_items`` which go to :func:`read_kosis`)."""
    read_kw = {k: kwargs.pop(k) for k in ("sheet", "repeat_items") if k in kwargs}
    table = read_kosis(path, raw_dir=raw_dir, **read_kw)
    return to_tidy(table, variables, **kwargs)
