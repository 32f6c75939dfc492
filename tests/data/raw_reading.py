"""Readers the data tests use to parse raw files on their own (openpyxl, csv), so that a
test compares the panel with the file, never the package with itself."""

from __future__ import annotations

from pathlib import Path


def xlsx_sheet(path: Path, sheet: str | int = 0) -> list[list]:
    """Every row of a worksheet as plain values (openpyxl, independent of regrowth)."""
    import warnings

    import openpyxl
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    ws = wb[sheet] if isinstance(sheet, str) else wb.worksheets[sheet]
    ws.reset_dimensions()
    return [list(r) for r in ws.iter_rows(values_only=True)]


def num(cell) -> float | None:
    """A cell as a number; None for '-', blanks and other non-numbers."""
    if isinstance(cell, (int, float)):
        return float(cell)
    try:
        return float(str(cell).replace(",", ""))
    except (TypeError, ValueError):
        return None


def copy_raw(shared_data: Path, dest: Path, *rels: str) -> Path:
    """Copy the named raw files (paths relative to the mirror) into ``dest`` (a writable
    scratch raw folder for tampering tests; the mirror itself is never edited)."""
    import shutil
    for rel in rels:
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shared_data / rel, dest / rel)
    return dest
