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

import re
from pathlib import Path
from typing import Any, Collection, Mapping, Sequence

import pandas as pd

from regrowth import regions
from regrowth.errors import DataError, UnknownRegionError
from regrowth.sources._common import (
    clean_text, col_letter, finish, has_footnote_mark, missing_before_existence, open_workbook,
    read_csv_rows, read_meta, require_file, source_name, xlsx_rows, is_meta_sheet,
)
from regrowth.sources.kosis_layouts import (  # noqa: F401 (re-exported: the export's vocabulary)
    _is_empty_row,
    _is_number,
    _BRACKET_UNIT,
    _check_repeated_years,
    _check_width,
    _CODE_COLUMN,
    _CODED_UNIT,
    _column_items,
    _column_years,
    _count_header_rows,
    _data_block,
    _HALF,
    _has_numbers,
    _header_grid,
    _header_years,
    _is_year_row,
    _ITEM_CODE,
    _ITEM_TOTALS,
    _looks_like_region,
    _MAX_HEADER_ROWS,
    _MONTHLY,
    _no_year_header,
    _NUM_CODE,
    _PAREN_UNIT,
    _PERIOD_CODE,
    _PERIOD_NAMES,
    _period_text,
    _QUARTERLY,
    _read_long,
    _read_wide,
    _refuse_subannual,
    _region_or_nation,
    _row_labels,
    _SCAN_FOR_HEADER,
    _strip_unit,
    _TABLE_ID,
    _UNIT,
    _UNIT_COLUMNS,
    _unit_of,
    _wide_cells,
    _YEAR,
    is_provisional,
    KosisTable,
    parse_year,
    split_item,
    strip_code,
    subannual,
)
import warnings

__all__ = ["KosisTable", "read_kosis", "to_tidy", "parse_kosis", "parse_year", "unit_key"]


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
                            hint=f"download the table again with its unit set to "
                                 f"{sorted(expect_units)[0]!r} (values in another unit are "
                                 "not converted here)")
    if where:
        mask = pd.Series(True, index=cells.index)
        for k, allowed in where.items():
            allowed = {allowed} if isinstance(allowed, str) else set(allowed)
            mask &= cells[f"label_{k}"].isin(allowed)
        cells = cells[mask]
    ignore_keys = {_key(x) for x in ignore}
    notes: list[str] = []
    if region_from == "label":
        cells, region_label = _item_first_layout(cells, table, variables, region_label,
                                                 ignore_keys, item_label, notes)
        if isinstance(variables, str) and _province_column(cells, region_label, ignore_keys):
            _refuse_second_series(cells, table, variables, region_label, where, item_label)
    cells, var = _variables_of(cells, table, variables, region_from, other_items)
    region_col = f"label_{region_label}" if region_from == "label" else "item"
    names = cells[region_col]
    region = names.map(_resolve_regions(cells, names, table, region_from, region_label,
                                        ignore_keys))
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
    out.attrs["notes"] = _notes_by_variable(out, notes, table)
    return out


def _item_first_layout(cells, table, variables, region_label, ignore_keys, item_label, notes):
    """The province column (an item-first export lists the items in the first label
    column); returns the cells (items taken from that column) and the province column."""
    region_label, item_from = _region_column(cells, table, region_label, ignore_keys, item_label)
    if item_from is None:
        return cells, region_label
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
                            "one is", file=table.file, column=table.label_letters[item_from],
                            hint="download the table with only the item you need "
                                 "selected (항목 선택), or, in code, "
                                 + _mapping_call(distinct))
    return cells, region_label


def _refuse_second_series(cells, table, variables, region_label, where, item_label) -> None:
    """Another row-label column with several values would put two series in one variable."""
    for k, letter in enumerate(table.label_letters):
        if k == region_label or k in (where or {}) or k == item_label:
            continue
        if table.label_names[k].casefold() in _UNIT_COLUMNS:
            continue
        distinct = list(dict.fromkeys(cells[f"label_{k}"]))
        if len(distinct) > 1:
            raise DataError(f"column {letter} ({table.label_names[k]!r}) holds several "
                            f"values {distinct[:5]}: the table holds more than one series "
                            f"for {variables!r}", file=table.file, row=table.header_rows + 1,
                            column=letter,
                            hint="download the table with a single item and a single "
                                 "category selected (항목/분류 선택), or, in code, keep one "
                                 f"category with to_tidy(..., where={{{k}: {distinct[0]!r}}})")


def _variables_of(cells, table, variables, region_from, other_items):
    """The variable of each cell: one name for a one-item table, or by item."""
    file = table.file
    if isinstance(variables, str):
        item_col = "item" if region_from == "label" else None
        distinct = list(dict.fromkeys(cells["item"])) if item_col else [""]
        if len(distinct) > 1:
            raise DataError(f"the table holds several items {distinct}; one variable needs one "
                            "item", file=file, row=table.header_rows,
                            hint="download the table with only the needed item selected "
                                 "(항목 선택), or, in code, " + _mapping_call(distinct))
        return cells, pd.Series(variables, index=cells.index, dtype="str")
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
                            hint="if this is the right table, add the item to the mapping "
                                 "(item -> variable) or skip the items you do not use with "
                                 "to_tidy(..., other_items='ignore'); otherwise download the "
                                 "right table")
        cells, var = cells[~unknown], var[~unknown]
    missing_items = set(mapping) - set(keys)
    if missing_items:
        asked = [k for k in variables if _key(k) in missing_items]
        found = list(dict.fromkeys(cells["item"])) or list(table.items)
        close = "".join(_closest(a, found) for a in asked)
        raise DataError(f"items {asked} not found in the table (found {found}){close}",
                        file=file, row=table.header_rows,
                        hint="spell each key of the mapping as the table prints its item "
                             "(spaces and case are ignored), or download the table that "
                             "holds the item")
    return cells, var


def _resolve_regions(cells, names, table, region_from, region_label, ignore_keys) -> dict:
    """{printed name: province key, or None for the nation and ignored names}; an unknown
    name is an error naming its cell."""
    file = table.file
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
                         "column names the 17 provinces") from None
            if _district_like(name):
                raise UnknownRegionError(
                    exc.message + " (a 시군구 name: this is not a 시도 table)", file=file, row=row,
                    column=column,
                    hint="download the table at the 시도 level (행정구역 -> 시도) so that its rows "
                         "are the 17 provinces; 시군구 rows are not summed for you") from None
            raise
    return resolved


def _mapping_call(items: Sequence[str]) -> str:
    """The call that reads the first of ``items`` and skips the others (what a hint names)."""
    return (f"to_tidy(table, {{{str(items[0])!r}: 'variable'}}, other_items='ignore') reads "
            "one item and skips the others (map more items to read them too)")


def _closest(word: str, found: Sequence[str]) -> str:
    """`` ('x' is close to 'y')`` for the closest printed item, or ``""``."""
    import difflib
    keys = {_key(f): f for f in found}
    close = difflib.get_close_matches(_key(word), list(keys), n=1, cutoff=0.6)
    return f"; {word!r} is close to {keys[close[0]]!r}" if close else ""


def _district_like(name: str) -> bool:
    """True for a 시군구 (district, county or city) name such as 종로구, 수원시, 울주군."""
    text = _key(name)
    return (len(text) >= 2 and text[-1] in "구군시"
            and not text.endswith(("특별시", "광역시", "자치시")))


def _notes_by_variable(out: pd.DataFrame, notes: list[str], table) -> dict[str, list[str]]:
    """The codebook notes of each variable: the reader's notes and the provisional years."""
    by_var: dict[str, list[str]] = {}
    for v in dict.fromkeys(out["variable"]):
        vnotes = [n for n in notes if not re.match(r"^\w+: ", n) or n.startswith(f"{v}: ")]
        years = set(out.loc[(out["variable"] == v) & out["value"].notna(), "year"])
        prov = [y for y in table.provisional if y in years]
        if prov:
            vnotes.append(f"provisional (p) in the source: {', '.join(map(str, prov))}")
        if vnotes:
            by_var[v] = vnotes
    return by_var


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
