"""The two layouts of a KOSIS export, read into a :class:`KosisTable`: years as columns (the
default "wide" layout: header rows, the year and item of each value column, the data block)
and the long layout (a period column); the period, item and unit conventions KOSIS uses
(``2016 p)``, code-included periods and items, units in headers, item names, unit columns
or notes). :mod:`regrowth.sources.kosis` opens the file and turns the table into tidy rows.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Sequence

import pandas as pd

from regrowth import regions
from regrowth.errors import DataError, UnknownRegionError
from regrowth.sources._common import clean_text, col_letter, parse_number

_YEAR = re.compile(r"^(\d{4})\s*(?:년)?\s*(p\)|\(p\)|p)?\s*(?:\.(\d))?$", re.IGNORECASE)


#: a period code in front of a code-included period: ``Y2023 2023``, ``A2023 2023``
_PERIOD_CODE = re.compile(r"^[A-Z]{1,2}\d{4}[A-Z0-9]*\s+(?=\S)")


#: sub-annual periods: 2023.01, 2023-01, 2023년 01월, 2023. 1/4, 2023 1분기, 2023.1/2, 2023M01
_MONTHLY = re.compile(r"^\d{4}\s*(?:[.\-/]\s*(?:0[1-9]|1[0-2])|년\s*\d{1,2}\s*월|M\d{2})\b",
                      re.IGNORECASE)


_QUARTERLY = re.compile(r"^\d{4}\s*\.?\s*(?:[1-4]\s*/\s*4|[1-4]\s*분기|Q[1-4])", re.IGNORECASE)


_HALF = re.compile(r"^\d{4}\s*\.?\s*(?:[12]\s*/\s*2|[상하]반기|H[12])", re.IGNORECASE)


#: a numeric region code in front of a name (``11 서울특별시``, ``00 Whole country``)
_NUM_CODE = re.compile(r"^\d{1,10}\s+(?=\S)")


#: an item code in front of an item (``T10 15세이상인구``, ``A01 계``)
_ITEM_CODE = re.compile(r"^[A-Z][A-Z0-9_]*\d[A-Z0-9_]*\s+(?=\S)")


#: unit code and unit at the end of a code-included item: ``(14STD06156 천명)``
_CODED_UNIT = re.compile(r"\s*\(\s*\d{2}STD\d+\s+([^)]*?)\s*\)\s*$", re.IGNORECASE)


#: a unit in brackets at the end of a header: ``Migrants[명]``
_BRACKET_UNIT = re.compile(r"\s*\[([^\]\[]+)\]\s*$")


#: a code column of a long code-included CSV: ``[B]By district``
_CODE_COLUMN = re.compile(r"^\[[A-Z0-9]+\]")


#: a well-known unit in parentheses at the end of an item: ``재정자주도 (%)``
_PAREN_UNIT = re.compile(r"\s*\((%|‰|건|천건|명|천명|원|천원|백만원|십억원|억원|개|세대|가구|"
                         r"100만달러|천달러|달러)\)\s*$")


_TABLE_ID = re.compile(r"(?:통계표\s*ID|Table\s*ID)\s*[:：]?\s*(DT_[A-Za-z0-9_]+)", re.IGNORECASE)


_UNIT_COLUMNS = {"단위", "unit"}


_UNIT = re.compile(r"[(\[]\s*(?:단위|unit)\s*[:：]\s*([^)\]]+?)\s*[)\]]", re.IGNORECASE)


_PERIOD_NAMES = {"period", "시점", "기간", "연도", "년도", "year"}


_MAX_HEADER_ROWS = 5


_SCAN_FOR_HEADER = 30


def _period_text(cell: Any) -> str:
    return _PERIOD_CODE.sub("", clean_text(cell))


def parse_year(cell: Any) -> int | None:
    """The year in a header cell (``2014``, ``2014년``, ``2014.1`` as pandas writes a repeated
    header, ``2023 p)``, ``Y2023 2023``, 2014.0) or None (also for sub-annual periods)."""
    if isinstance(cell, bool) or cell is None:
        return None
    if isinstance(cell, (int, float)):
        if isinstance(cell, float) and (math.isnan(cell) or cell != int(cell)):
            return None
        y = int(cell)
        return y if 1900 <= y <= 2100 else None
    m = _YEAR.match(_period_text(cell))
    if not m:
        return None
    y = int(m.group(1))
    return y if 1900 <= y <= 2100 else None


def is_provisional(cell: Any) -> bool:
    """True for a provisional period (``2016 p)``, ``2016(p)``, ``2016p``)."""
    if not isinstance(cell, str):
        return False
    m = _YEAR.match(_period_text(cell))
    return bool(m and m.group(2))


def subannual(cell: Any) -> str | None:
    """'monthly', 'quarterly' or 'half-yearly' for a sub-annual period text, else None."""
    if not isinstance(cell, str):
        return None
    text = _period_text(cell)
    for kind, pattern in (("monthly", _MONTHLY), ("quarterly", _QUARTERLY), ("half-yearly", _HALF)):
        if pattern.match(text):
            return kind
    return None


def strip_code(text: str) -> str:
    """A label without the code KOSIS puts in front in "code included" exports."""
    text = clean_text(text)
    return _ITEM_CODE.sub("", _NUM_CODE.sub("", text))


def split_item(text: str) -> tuple[str, str | None]:
    """(item, unit) of an item header: ``T10 15세이상인구 (14STD06156 천명)`` ->
    (``15세이상인구``, ``천명``); ``Migrants[명]`` -> (``Migrants``, ``명``)."""
    text = clean_text(text)
    unit = None
    m = _CODED_UNIT.search(text) or _BRACKET_UNIT.search(text)
    if m:
        unit = m.group(1).strip() or None
        text = text[:m.start()].strip()
    m = _UNIT.search(text)
    if m:
        unit = unit or m.group(1).strip()
        text = _UNIT.sub("", text).strip()
    m = _PAREN_UNIT.search(text)
    if m:
        unit = unit or m.group(1)
        text = text[:m.start()].strip()
    return _ITEM_CODE.sub("", text), unit


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
    provisional: list[int] = field(default_factory=list)   # years marked p) in the file
    item_units: dict[str, str] = field(default_factory=dict)  # unit stated per item
    unit_source: str | None = None       # where the unit was stated
    table_id_source: str | None = None   # where the table id was stated
    footnote_marks: int = 0              # cells whose superscript footnote mark was removed

    @property
    def items(self) -> list[str]:
        return list(dict.fromkeys(self.cells["item"]))

    @property
    def years(self) -> list[int]:
        return sorted(set(self.cells["year"]))


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


def _refuse_subannual(cell: Any, *, file: str, row: int, column: str) -> None:
    kind = subannual(cell)
    if kind:
        raise DataError(f"the periods are {kind} ({clean_text(cell)!r}); only annual tables are "
                        "read", file=file, row=row, column=column,
                        hint="download the table again from KOSIS with 시점 set to 년 (annual) "
                             "periods")


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


def _header_years(row: Sequence[Any]) -> list[int]:
    """Years in a row's cells after the first (sub-annual periods count too, as their year)."""
    out = []
    for c in row[1:]:
        y = parse_year(c)
        if y is None and subannual(c):
            y = int(_period_text(c)[:4])
        if y is not None:
            out.append(y)
    return out


def _is_year_row(row: Sequence[Any]) -> bool:
    """A plausible header of years: at least two, never decreasing, and (for bare numbers)
    each year at most once -- data values such as 2086, 2077 are not years."""
    years = _header_years(row)
    if len(years) < 2 or any(b < a for a, b in zip(years, years[1:])):
        return False
    texts = sum(isinstance(c, str) for c in row[1:] if parse_year(c) is not None)
    return texts > 0 or len(set(years)) == len(years)


def _has_numbers(row: Sequence[Any]) -> bool:
    return any(_is_number(c) and parse_year(c) is None for c in row[1:])


def _count_header_rows(rows: list[list[Any]]) -> int:
    """Rows at the top whose column A is blank or repeats the first cell and that hold no data."""
    first = clean_text(rows[0][0]) if rows[0] else ""
    n_header = 1
    while (n_header < min(len(rows), _MAX_HEADER_ROWS) and rows[n_header]
           and (clean_text(rows[n_header][0]) in ("", first))
           and not _looks_like_region(rows[n_header][0])
           and not (_has_numbers(rows[n_header]) and not _is_year_row(rows[n_header]))):
        n_header += 1
    return n_header


def _no_year_header(rows: list[list[Any]], n_header: int, file: str) -> DataError:
    """The error for a table whose first rows hold no year header: a header further down
    (titles above it) is named, with the unit a title states."""
    scan = rows[:_SCAN_FOR_HEADER]
    later = next((i for i, r in enumerate(scan) if i >= n_header
                  and (_is_year_row(r) or (_header_years(r) and not _has_numbers(r)
                                           and any(isinstance(c, str) and parse_year(c)
                                                   for c in r[1:])))
                  and not _looks_like_region(r[0])), None)
    # rows above a real header are titles or notes: text in column A at most
    above_is_text = later is not None and all(
        not any(clean_text(c) for c in r[1:]) for r in rows[:later])
    if later is not None and above_is_text:
        unit = _unit_of([clean_text(r[0]) for r in rows[:later] if r])
        keep = (f" Keep the unit: write it into the header cell A{later + 1} "
                f"(e.g. '{clean_text(rows[later][0]) or '행정구역별'}(단위: {unit})') before "
                "deleting the rows, or the values are read without a unit"
                if unit else "")
        return DataError(f"the header row with the years is row {later + 1}, not row 1: the "
                         f"file has {later} extra row(s) of titles or notes above its header"
                         + (f" (one states the unit '{unit}')" if unit else ""),
                         file=file, row=1, column="A",
                         hint=f"delete rows 1-{later} (they hold no data) so that the header "
                              "is the first row, or download the table again from KOSIS with "
                              "the default layout (시점 as columns)." + keep)
    return DataError("no year columns found: row 1 has no header cell like 2014, 2014년, "
                     "Y2014 2014 or 2014.1", file=file, row=1, column=None,
                     hint="download the table from KOSIS with 시점 (years) as the columns, "
                          "or in the long layout with a period (시점/Period) column")


def _header_grid(rows, n_header: int) -> tuple[list[list[str]], int]:
    """The header rows as text, padded to one width, trailing unheaded columns dropped."""
    hdr = [[clean_text(c) for c in rows[i]] for i in range(n_header)]
    width = max(len(h) for h in hdr)
    for h in hdr:
        h.extend([""] * (width - len(h)))
    # drop trailing columns with no header at all (openpyxl pads with None)
    while width > 1 and all(h[width - 1] == "" for h in hdr):
        width -= 1
    return hdr, width


def _column_years(rows, hdr, year_row: int, value_cols, file: str) -> tuple[dict, set]:
    """The year of each value column (forward-filled across merged header cells) and the
    provisional years (``2016 p)``)."""
    years: dict[int, int] = {}
    provisional: set[int] = set()
    current = None
    for j in value_cols:
        text = hdr[year_row][j]
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
            if is_provisional(rows[year_row][j]):
                provisional.add(y)
        years[j] = current
    return years, provisional


def _column_items(hdr, item_rows, value_cols) -> tuple[dict, dict]:
    """The item of each value column (its item-row cells joined by " / ") and the unit an
    item's name states."""
    items: dict[int, str] = {}
    item_units: dict[str, str] = {}
    for j in value_cols:
        parts = []
        for i in item_rows:
            if hdr[i][j]:
                name, u = split_item(hdr[i][j])
                parts.append(name)
                if u:
                    item_units.setdefault(" / ".join(parts), u)
        items[j] = " / ".join(parts)
    return items, item_units


def _check_repeated_years(years, items, item_rows, value_cols, repeat_items, year_row,
                          file: str) -> None:
    """A year may repeat only when an item row (or ``repeat_items``) tells the columns apart;
    with ``repeat_items`` the repeats are named in ``items`` in place."""
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
    if item_rows or not repeat_items:
        return
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


def _wide_cells(rows, start: int, end: int, width: int, label_cols, value_cols, years, items,
                file: str) -> pd.DataFrame:
    """One row per data cell: labels, year, item, raw text, parsed value, row, column."""
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
    return cells


def _read_wide(rows: list[list[Any]], file: str, repeat_items: Sequence[str] | None) -> KosisTable:
    """A KOSIS export with the years as columns (the default layout): header rows, year and
    item of each value column, the data block, the unit wherever the export states it (a
    header, an item name, a unit column, a note below the table)."""
    n_header = _count_header_rows(rows)
    header_counts = [len(_header_years(rows[i])) if (i == 0 or _is_year_row(rows[i]) or
                                                    not _has_numbers(rows[i])) else 0
                     for i in range(n_header)]
    if not any(header_counts):
        raise _no_year_header(rows, n_header, file)
    year_row = max(range(n_header), key=lambda i: header_counts[i])
    hdr, width = _header_grid(rows, n_header)
    for j in range(1, width):
        _refuse_subannual(rows[year_row][j], file=file, row=year_row + 1, column=col_letter(j))
    first_year_col = next(j for j in range(1, width) if parse_year(hdr[year_row][j]) is not None)
    label_cols = list(range(first_year_col))
    value_cols = list(range(first_year_col, width))
    years, provisional = _column_years(rows, hdr, year_row, value_cols, file)
    item_rows = [i for i in range(n_header) if i != year_row
                 and any(hdr[i][j] for j in value_cols)]
    items, item_units = _column_items(hdr, item_rows, value_cols)
    _check_repeated_years(years, items, item_rows, value_cols, repeat_items, year_row, file)
    unit = _unit_of([t for h in hdr for t in h])
    unit_source = "the header" if unit else None
    label_names = [_strip_unit(hdr[0][j]) or f"label_{j}" for j in label_cols]
    unit_col = next((k for k, name in enumerate(label_names)
                     if name.casefold() in _UNIT_COLUMNS), None)
    start = n_header
    end, notes = _data_block(rows, start)
    if end == start:
        raise DataError("no data rows below the header", file=file, row=start + 1,
                        hint="the table is empty or has a blank row under its header; "
                             "download it again")
    if unit is None and _unit_of(notes):
        unit, unit_source = _unit_of(notes), "a note below the table"
    cells = _wide_cells(rows, start, end, width, label_cols, value_cols, years, items, file)
    if unit_col is not None:
        stated = sorted(set(cells[f"label_{unit_col}"]) - {""})
        if len(stated) == 1 and unit is None:
            unit, unit_source = stated[0], f"the {label_names[unit_col]!r} column"
        elif len(stated) > 1:
            for item, part in cells.groupby(cells["item"].where(cells["item"] != "",
                                                                cells[f"label_{unit_col}"])):
                item_units.setdefault(item, part[f"label_{unit_col}"].iloc[0])
    if unit is None and len(set(item_units.values())) == 1:
        unit, unit_source = next(iter(item_units.values())), "the item header"
    return KosisTable(file=file, layout="wide", cells=cells, label_names=label_names,
                      label_letters=[col_letter(j) for j in label_cols], header_rows=n_header,
                      unit=unit, notes=notes, provisional=sorted(provisional),
                      item_units=item_units, unit_source=unit_source)


def _looks_like_region(cell: Any) -> bool:
    text = clean_text(cell)
    if not text:
        return False
    return _region_or_nation(text) is not None


def _region_or_nation(name: str) -> str | None:
    """'nation', a province key, or None; codes in front (``11 서울특별시``) are ignored."""
    for text in dict.fromkeys((clean_text(name), strip_code(name))):
        if regions.is_nation(text):
            return "nation"
        try:
            return regions.lookup(text).key
        except UnknownRegionError:
            continue
    return None


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
    # a column is a label column if none of its non-missing cells is numeric; the code
    # columns of a code-included CSV ("[B]By district", then the names) are skipped
    label_cols, item_cols = [], []
    for j in range(width):
        if j == period_col or _CODE_COLUMN.match(header[j]):
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
    unit_source = "the header or a note" if unit else None
    item_names, item_units = {}, {}
    for j in item_cols:
        item_names[j], u = split_item(header[j])
        if u:
            item_units[item_names[j]] = u
    if unit is None and len(set(item_units.values())) == 1:
        unit, unit_source = next(iter(item_units.values())), "the item header"
    unit_col = next((k for k, j in enumerate(label_cols)
                     if _strip_unit(header[j]).casefold() in _UNIT_COLUMNS), None)
    if unit is None and unit_col is not None:
        stated = sorted({clean_text(r[label_cols[unit_col]]) for r in data} - {""})
        if len(stated) == 1:
            unit, unit_source = stated[0], f"the {header[label_cols[unit_col]]!r} column"
    provisional: set[int] = set()
    records = []
    period = None
    last_labels = [""] * len(label_cols)
    for i, row in enumerate(data, start=1):
        rownum = i + 1
        row = list(row)
        _check_width(row, width, file=file, rownum=rownum)
        ptext = clean_text(row[period_col])
        if ptext:
            _refuse_subannual(row[period_col], file=file, row=rownum,
                              column=col_letter(period_col))
            period = parse_year(row[period_col])
            if period is not None and is_provisional(row[period_col]):
                provisional.add(period)
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
            records.append((*labels, period, item_names[j], row[j], value, rownum, letter))
    cols = [f"label_{k}" for k in range(len(label_cols))]
    cells = pd.DataFrame.from_records(records, columns=[*cols, "year", "item", "raw", "value", "row", "column"])
    cells["raw"] = cells["raw"].astype(object)
    return KosisTable(file=file, layout="long", cells=cells,
                      label_names=[_strip_unit(header[j]) for j in label_cols],
                      label_letters=[col_letter(j) for j in label_cols], header_rows=1,
                      unit=unit, notes=notes, provisional=sorted(provisional),
                      item_units=item_units, unit_source=unit_source)


#: item-row labels that are a national total when regions are in the item row
_ITEM_TOTALS = ("연구개발비", "계", "합계", "총계", "전국", "Total")


def _is_number(cell: Any) -> bool:
    if isinstance(cell, bool) or cell is None:
        return False
    if isinstance(cell, (int, float)):
        return not (isinstance(cell, float) and math.isnan(cell))
    return bool(re.fullmatch(r"[+-]?[\d,]*\.?\d+", clean_text(cell)))


def _is_empty_row(row: Sequence[Any]) -> bool:
    return all(clean_text(c) == "" for c in row)
