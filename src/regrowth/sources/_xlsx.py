"""A small, fast reader for one worksheet of an .xlsx file (values only).

openpyxl builds a Python object per cell and takes seconds on the 24,104-row
KIPRIS export; this reader parses the sheet XML with the C ElementTree in one
go and keeps only the columns asked for. It reads cached values (never
formulas), shared and inline strings, numbers and booleans -- enough for data
exports. Damaged or truncated files raise :class:`~regrowth.errors.DataError`.
"""

from __future__ import annotations

import posixpath
import re
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path
from typing import Any, Callable, Collection

from regrowth.errors import DataError

_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_CELL_REF = re.compile(r"^([A-Z]+)(\d+)$")

_HINT = "acquire the file again (`make data`); if you downloaded it yourself, download it again"


def _damaged(file: str, what: str) -> DataError:
    return DataError(f"not a complete .xlsx file ({what}): the file is damaged or truncated",
                     file=file, hint=_HINT)


def read_sheet(path: str | Path, *, file_label: str, columns: Collection[str] | None = None,
               sheet_index: int = 0, select: Callable[[dict], Collection[str]] | None = None,
               full_rows: int = 30, hidden_rows: list[int] | None = None
               ) -> dict[int, dict[str, Any]]:
    """``{row number: {column letter: value}}`` of one worksheet (1-based rows).

    ``columns`` keeps only those column letters. ``select``, if given, is
    called with the first ``full_rows`` rows (all columns) and returns the
    letters to keep from then on (e.g. the columns named in a header row).
    ``hidden_rows``, if a list, receives the numbers of rows hidden in the sheet
    (e.g. by an autofilter); hidden rows are read like any other.
    """
    path = Path(path)
    if path.stat().st_size == 0:
        raise DataError("the file is empty", file=file_label, hint=_HINT)
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise _damaged(file_label, "it is not a readable zip archive") from None
    with zf:
        try:
            names = set(zf.namelist())
            sheet_path = _sheet_path(zf, names, sheet_index)
            strings = _shared_strings(zf) if "xl/sharedStrings.xml" in names else []
            root = ET.fromstring(zf.read(sheet_path))
        except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
            raise _damaged(file_label, f"{type(exc).__name__}: {exc}") from None
        except KeyError as exc:
            raise _damaged(file_label, f"missing part {exc}") from None
        except ET.ParseError as exc:
            raise _damaged(file_label, f"XML error {exc}") from None
    wanted = None if columns is None else set(columns)
    out: dict[int, dict[str, Any]] = {}
    sheet_data = root.find(_NS + "sheetData")
    if sheet_data is None:
        return out
    v_tag, t_tag, is_tag = _NS + "v", _NS + "t", _NS + "is"
    next_row = 1
    pending_select = select
    hidden: list[int] = []
    for row in sheet_data:
        rnum = int(row.get("r") or next_row)
        next_row = rnum + 1
        if row.get("hidden") in ("1", "true"):
            hidden.append(rnum)
        if pending_select is not None and rnum > full_rows:
            wanted = set(pending_select(out))
            pending_select = None
        cells: dict[str, Any] = {}
        for j, c in enumerate(row):
            ref = c.get("r")
            letter = ref.rstrip("0123456789") if ref else _letter(j)
            if wanted is not None and letter not in wanted and pending_select is None:
                continue
            kind = c.get("t")
            if kind == "s":
                v = c.findtext(v_tag)
                value = strings[int(v)] if v is not None else None
            elif kind == "inlineStr":
                node = c.find(is_tag)
                value = "".join(x.text or "" for x in node.iter(t_tag)) if node is not None else None
            else:
                v = c.findtext(v_tag)
                if v is None:
                    value = None
                elif kind in ("str", "e"):
                    value = v
                elif kind == "b":
                    value = v == "1"
                else:
                    f = float(v)
                    value = int(f) if f.is_integer() and "." not in v and "E" not in v.upper() else f
            cells[letter] = value
        out[rnum] = cells
    if hidden_rows is not None:
        hidden_rows.extend(hidden)
    return out


def _letter(index0: int) -> str:
    letters, n = "", index0 + 1
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _sheet_path(zf: zipfile.ZipFile, names: set[str], index: int) -> str:
    wb = ET.fromstring(zf.read("xl/workbook.xml"))
    sheets = wb.find(_NS + "sheets")
    if sheets is None or len(sheets) <= index:
        raise KeyError("worksheet")
    rid = sheets[index].get(_REL + "id")
    rels = ET.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    for rel in rels.iter(_PKG_REL + "Relationship"):
        if rel.get("Id") == rid:
            target = rel.get("Target")
            path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(
                posixpath.join("xl", target))
            if path in names:
                return path
    raise KeyError("worksheet")


def _shared_strings(zf: zipfile.ZipFile) -> list[str]:
    root = ET.fromstring(zf.read("xl/sharedStrings.xml"))
    t_tag = _NS + "t"
    out = []
    for si in root:
        if len(si) == 1 and si[0].tag == t_tag:
            out.append(si[0].text or "")
        else:  # rich text: <r><t>…</t></r>…, skip phonetic runs
            out.append("".join(x.text or "" for r in si if r.tag != _NS + "rPh"
                               for x in r.iter(t_tag)))
    return out
