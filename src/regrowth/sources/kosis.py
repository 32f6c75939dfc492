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

Exports as users download them are read or refused:

* "code included" exports: ``Y2023 2023`` (period code, period), ``11 서울특별시`` /
  ``11 Seoul`` (region code, name; the codes differ between tables and are not trusted:
  the name decides), ``T10 15세이상인구 (14STD06156 천명)`` (item code, item, unit code and
  unit), and the long CSV form with ``[B]…`` code columns beside the name columns and the
  unit in brackets (``Migrants[명]``);
* the unit is taken from ``(단위: …)`` in a header or note, a ``단위``/``Unit`` label column,
  a unit in brackets or in an item's code-included name, or the meta sheet (``메타정보`` /
  ``Meta Data``), in that order; the table id from the meta sheet or a ``통계표ID`` note;
* item-first layouts (the item column before the region column) are detected by
  :func:`to_tidy` (the region column is the one whose every name is a province or the
  nation); a table in which no column holds provinces is refused with the layout hint;
* the header is row 1; a later header is reported only when the rows above it hold no
  numbers (so data values such as 2086 are never taken for years, and no advice ever
  deletes data rows);
* zeros printed for years before a province existed (``regions.Region.first_year``: Gwangju
  1986, Daejeon 1989, Ulsan 1997, Sejong 2012) become missing, with a note;
* superscript footnote marks are removed before numbers are parsed (``45.2¹`` is 45.2);
* refused, naming the sheet: xlsx formulas without cached values, monthly, quarterly or
  half-yearly periods, an empty first data sheet and a first data sheet of notes only;
* provisional years (``2016 p)``) are read and listed in ``KosisTable.provisional`` and in
  the notes :func:`to_tidy` attaches to its frame (``frame.attrs["notes"]``), which the
  panel's codebook shows.

The same functions read full-edition KOSIS downloads put into ``data/raw/kosis/``
(:mod:`regrowth.sources.full_edition` verifies them first).
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
    clean_text, col_letter, finish, has_footnote_mark, missing_before_existence, open_workbook,
    parse_number,
    read_csv_rows, read_meta, require_file, source_name, xlsx_rows, is_meta_sheet,
)

__all__ = ["KosisTable", "read_kosis", "to_tidy", "parse_kosis", "parse_year"]

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
                               if not is_meta_sheet(ws.title)]
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
            others = [w.title for w in wb.worksheets if w.title != ws.title]
            title = ws.title
        finally:
            if hasattr(wb, "close"):
                wb.close()
        _check_sheet(rows, file=file, sheet=title, others=others, chosen=sheet is None)
        _check_formulas(path, rows, file=file, sheet=title)
        return rows, None, title, meta
    if suffix in (".csv", ".txt", ".tsv"):
        rows, encoding, _ = read_csv_rows(path, file_label=file)
        return rows, encoding, None, {}
    raise DataError(f"unsupported file type {suffix!r} (KOSIS exports are read as .csv or .xlsx)",
                    file=file, hint="download the table from KOSIS as CSV or Excel (xlsx)")


def _is_number(cell: Any) -> bool:
    if isinstance(cell, bool) or cell is None:
        return False
    if isinstance(cell, (int, float)):
        return not (isinstance(cell, float) and math.isnan(cell))
    return bool(re.fullmatch(r"[+-]?[\d,]*\.?\d+", clean_text(cell)))


def _check_sheet(rows: list[list[Any]], *, file: str, sheet: str, others: list[str],
                 chosen: bool) -> None:
    """Refuse an empty data sheet, or one that holds only notes (no number at all)."""
    where = (f" (the first data sheet; the workbook's other sheets: {others})"
             if chosen and others else "")
    fix = ("KOSIS puts the table on the first sheet: download the table again as Excel, or "
           "move the sheet with the table to the front")
    if all(_is_empty_row(r) for r in rows):
        raise DataError(f"sheet {sheet!r} is empty{where}", file=file, row=None, column=None,
                        hint=fix)
    if not any(_is_number(c) for r in rows for c in r):
        first = next(clean_text(c) for r in rows for c in r if clean_text(c))
        raise DataError(f"sheet {sheet!r} holds only text (notes such as {first[:60]!r}), no "
                        f"table of numbers{where}", file=file, row=None, column=None, hint=fix)


def _check_formulas(path: Path, rows: list[list[Any]], *, file: str, sheet: str) -> None:
    """Refuse formula cells saved without their computed value (they would read as missing)."""
    import openpyxl
    import warnings
    if not any(c is None for r in rows for c in r):
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        wb = openpyxl.load_workbook(path, read_only=True, data_only=False)
    try:
        ws = wb[sheet]
        if hasattr(ws, "reset_dimensions"):
            ws.reset_dimensions()
        for i, row in enumerate(ws.iter_rows(values_only=True)):
            for j, cell in enumerate(row):
                if (isinstance(cell, str) and cell.startswith("=") and i < len(rows)
                        and j < len(rows[i]) and rows[i][j] is None):
                    raise DataError(
                        f"sheet {sheet!r}, cell {col_letter(j)}{i + 1} holds the formula "
                        f"{cell[:40]!r} without a saved value (the file was written by a program "
                        "that does not compute formulas), so its value cannot be read",
                        file=file, row=i + 1, column=col_letter(j),
                        hint="open the file in Excel or LibreOffice and save it again (that "
                             "stores the computed values), or download the table again")
    finally:
        wb.close()


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
    where = f"sheet {sheet_name!r}: " if sheet_name else ""
    try:
        if (any(h.casefold() in _PERIOD_NAMES for h in header)
                and not any(parse_year(c) for c in rows[0])):
            table = _read_long(rows, file)
        else:
            table = _read_wide(rows, file, repeat_items)
    except DataError as exc:
        if sheet_name and not exc.message.startswith("sheet "):
            raise DataError(where + exc.message, file=exc.file, row=exc.row, column=exc.column,
                            hint=exc.hint) from None
        raise
    table.encoding, table.sheet, table.meta = encoding, sheet_name, meta
    table.footnote_marks = sum(has_footnote_mark(c) for r in rows for c in r)
    if meta.get("table_id"):
        table.table_id, table.table_id_source = meta["table_id"], f"sheet {meta.get('sheet')!r}"
    else:
        for r in rows:
            for c in r:
                m = _TABLE_ID.search(clean_text(c)) if isinstance(c, str) else None
                if m:
                    table.table_id, table.table_id_source = m.group(1), "a note in the file"
                    break
            if table.table_id:
                break
    if table.unit is None and meta.get("unit"):
        table.unit, table.unit_source = meta["unit"], f"sheet {meta.get('sheet')!r}"
    return table


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


def _read_wide(rows: list[list[Any]], file: str, repeat_items: Sequence[str] | None) -> KosisTable:
    first = clean_text(rows[0][0]) if rows[0] else ""
    n_header = 1
    while (n_header < min(len(rows), _MAX_HEADER_ROWS) and rows[n_header]
           and (clean_text(rows[n_header][0]) in ("", first))
           and not _looks_like_region(rows[n_header][0])
           and not (_has_numbers(rows[n_header]) and not _is_year_row(rows[n_header]))):
        n_header += 1
    header_counts = [len(_header_years(rows[i])) if (i == 0 or _is_year_row(rows[i]) or
                                                    not _has_numbers(rows[i])) else 0
                     for i in range(n_header)]
    if not any(header_counts):
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
            raise DataError(f"the header row with the years is row {later + 1}, not row 1: the "
                            f"file has {later} extra row(s) of titles or notes above its header"
                            + (f" (one states the unit '{unit}')" if unit else ""),
                            file=file, row=1, column="A",
                            hint=f"delete rows 1-{later} (they hold no data) so that the header "
                                 "is the first row, or download the table again from KOSIS with "
                                 "the default layout (시점 as columns)." + keep)
        raise DataError("no year columns found: row 1 has no header cell like 2014, 2014년, "
                        "Y2014 2014 or 2014.1", file=file, row=1, column=None,
                        hint="download the table from KOSIS with 시점 (years) as the columns, "
                             "or in the long layout with a period (시점/Period) column")
    year_row = max(range(n_header), key=lambda i: header_counts[i])
    hdr = [[clean_text(c) for c in rows[i]] for i in range(n_header)]
    width = max(len(h) for h in hdr)
    for h in hdr:
        h.extend([""] * (width - len(h)))
    # drop trailing columns with no header at all (openpyxl pads with None)
    while width > 1 and all(h[width - 1] == "" for h in hdr):
        width -= 1
    years_raw = hdr[year_row][:width]
    for j in range(1, width):
        _refuse_subannual(rows[year_row][j], file=file, row=year_row + 1, column=col_letter(j))
    first_year_col = next(j for j in range(1, width) if parse_year(years_raw[j]) is not None)
    label_cols = list(range(first_year_col))
    value_cols = list(range(first_year_col, width))
    # forward-fill the year row across merged / blank header cells
    years: dict[int, int] = {}
    provisional: set[int] = set()
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
            if is_provisional(rows[year_row][j]):
                provisional.add(y)
        years[j] = current
    item_rows = [i for i in range(n_header) if i != year_row
                 and any(hdr[i][j] for j in value_cols)]
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
    ignore_keys = {_key(x) for x in ignore}
    notes: list[str] = []
    if region_from == "label":
        region_label, item_from = _region_column(cells, table, region_label, ignore_keys,
                                                 item_label)
        if item_from is not None:
            notes.append(f"item-first layout: provinces read from column "
                         f"{table.label_letters[region_label]}, items from column "
                         f"{table.label_letters[item_from]}")
            if item_label is None:
                cells = cells.assign(item=cells[f"label_{item_from}"])
            if isinstance(variables, str):
                distinct = list(dict.fromkeys(cells[f"label_{item_from}"]))
                if len(distinct) > 1:
                    raise DataError(f"the table holds several items {distinct} (column "
                                    f"{table.label_letters[item_from]}); say which variable each "
                                    "one is", file=file, column=table.label_letters[item_from],
                                    hint="download the table with only the item you need "
                                         "selected (항목 선택), or pass a mapping item -> variable")
    if (isinstance(variables, str) and region_from == "label"
            and _province_column(cells, region_label, ignore_keys)):
        # another row-label column with several values would put two series in one variable
        for k, letter in enumerate(table.label_letters):
            if k == region_label or k in (where or {}) or k == item_label:
                continue
            if table.label_names[k].casefold() in _UNIT_COLUMNS:
                continue
            distinct = list(dict.fromkeys(cells[f"label_{k}"]))
            if len(distinct) > 1:
                raise DataError(f"column {letter} ({table.label_names[k]!r}) holds several "
                                f"values {distinct[:5]}: the table holds more than one series "
                                f"for {variables!r}", file=file, row=table.header_rows + 1,
                                column=letter,
                                hint="download the table with a single item and a single "
                                     "category selected (항목/분류 선택)")
    # variables
    if isinstance(variables, str):
        item_col = "item" if region_from == "label" else None
        distinct = list(dict.fromkeys(cells["item"])) if item_col else [""]
        if len(distinct) > 1:
            raise DataError(f"the table holds several items {distinct}; one variable needs one "
                            "item", file=file, row=table.header_rows,
                            hint="download the table with only the needed item selected "
                                 "(항목 선택), or, in code, pass a mapping item -> variable")
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
        if _key(name) in ignore_keys or (
                region_from == "item" and _key(name) in {_key(i) for i in _ITEM_TOTALS}):
            resolved[name] = None
            continue
        known = _region_or_nation(name)
        if known is not None:
            resolved[name] = None if known == "nation" else known
            continue
        first = cells[names == name].iloc[0]
        if region_from == "label":
            row, column = int(first["row"]), table.label_letters[region_label]
        else:
            row, column = table.header_rows, first["column"]
        try:
            resolved[name] = regions.lookup(name, file=file, row=row, column=column).key
        except UnknownRegionError as exc:
            if region_from == "label" and len(table.label_letters) > 1:
                raise UnknownRegionError(
                    exc.message + "; no label column of this table holds only province names",
                    file=file, row=row, column=column,
                    hint="download the 시도 table with 행정구역 (the provinces) as the row labels; "
                         "an export whose item column comes first is read when its other label "
                         "column names the 17 provinces. " + (exc.hint or "")) from None
            raise
    region = names.map(resolved)
    keep = region.notna()
    frame = pd.DataFrame({
        "region": region[keep], "year": cells.loc[keep, "year"], "variable": var[keep],
        "value": cells.loc[keep, "value"].astype(float), "row": cells.loc[keep, "row"],
        "column": cells.loc[keep, "column"],
    })
    # zeros printed for the years before a province existed are not observations
    frame = missing_before_existence(frame, notes)
    # a duplicated region-year is a row problem: point at the region label column
    dup_column = table.label_letters[region_label] if region_from == "label" else None
    out = finish(frame, file=file, source=source or file, drop_missing=drop_missing,
                 dup_column=dup_column)
    by_var: dict[str, list[str]] = {}
    for v in dict.fromkeys(out["variable"]):
        vnotes = [n for n in notes if not re.match(r"^\w+: ", n) or n.startswith(f"{v}: ")]
        years = set(out.loc[(out["variable"] == v) & out["value"].notna(), "year"])
        prov = [y for y in table.provisional if y in years]
        if prov:
            vnotes.append(f"provisional (p) in the source: {', '.join(map(str, prov))}")
        if vnotes:
            by_var[v] = vnotes
    out.attrs["notes"] = by_var
    return out


def _province_column(cells: pd.DataFrame, k: int, ignore_keys: set[str]) -> bool:
    """True if every name in label column k is a province, the nation or ignored."""
    names = [n for n in dict.fromkeys(cells[f"label_{k}"]) if _key(n) not in ignore_keys]
    keys = [_region_or_nation(n) for n in names]
    return bool(names) and all(keys) and any(k_ != "nation" for k_ in keys)


def _region_column(cells: pd.DataFrame, table: KosisTable, region_label: int,
                   ignore_keys: set[str], item_label: int | None) -> tuple[int, int | None]:
    """(label column holding the provinces, label column holding the items or None).

    The requested column is used when every name in it is a province, the nation or ignored;
    otherwise another label column that qualifies is taken (an item-first export), and the
    requested column then holds the items.
    """
    def qualifies(k: int) -> bool:
        return _province_column(cells, k, ignore_keys)

    n = len(table.label_letters)
    if n <= 1 or qualifies(region_label):
        return region_label, None
    for k in range(n):
        if k != region_label and k != item_label and qualifies(k):
            if item_label is None and (cells["item"] == "").all():
                return k, region_label
            return k, None
    return region_label, None


#: item-row labels that are a national total when regions are in the item row
_ITEM_TOTALS = ("연구개발비", "계", "합계", "총계", "전국", "Total")


def parse_kosis(path: str | Path, variables: str | Mapping[str, str], *,
                raw_dir: str | Path | None = None, **kwargs) -> pd.DataFrame:
    """Read and tidy a KOSIS export in one call (``kwargs`` go to :func:`to_tidy`,
    except ``sheet`` and ``repeat_items`` which go to :func:`read_kosis`)."""
    read_kw = {k: kwargs.pop(k) for k in ("sheet", "repeat_items") if k in kwargs}
    table = read_kosis(path, raw_dir=raw_dir, **read_kw)
    return to_tidy(table, variables, **kwargs)


def unit_key(text: str) -> str:
    """Comparison form of a unit: no spaces or brackets, casefolded, English plural 's' off."""
    key = re.sub(r"[\s()\[\]]+", "", text).casefold()
    return key[:-1] if len(key) > 2 and key.endswith("s") and key.isascii() else key
