"""Shared machinery of the source parsers: reading, number parsing, tidy output.

Every parser returns a *tidy long* frame with the columns of
:data:`TIDY_COLUMNS`, sorted by (variable, region, year). While it works it
carries each value's 1-based spreadsheet ``row`` and column ``letter`` so that
any check can name the cell it failed on.

Where each check lives (one place per check):

* **duplicate keys** -- :func:`check_duplicates`: every parser's output passes through
  :func:`finish`, which calls it on the rows of one file (naming both rows);
  :func:`regrowth.panel.assemble` calls the same function once on all sources together
  (naming both files). Nothing else checks for duplicates.
* **counts and ranges** (negative or fractional counts, values outside a variable's
  bounds) -- :func:`validate_values`, called by :func:`finish` only, with the file, row and
  column of the offending cell. The bounds and kinds come from the variable specifications in
  :mod:`regrowth.sources.registry`; the panel's pandera schema is generated from the same
  specifications (:func:`regrowth.panel.schema`) and guards the assembled panel.
* **footnote marks**: superscript characters (``45.2¹``) are removed by :func:`clean_text`
  before anything is parsed, so a footnote mark is never read as a digit.
"""

from __future__ import annotations

import codecs
import csv
import io
import math
import re
import unicodedata
import zipfile
from pathlib import Path, PurePath
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from regrowth.errors import DataError, MissingInputError
import warnings
from regrowth.sources.registry import VARIABLES
from regrowth import regions

TIDY_COLUMNS = ["region", "year", "variable", "value", "source"]

#: Cell texts that mean "no value" in KOSIS and similar exports.
MISSING_MARKERS = frozenset({"", "-", "–", "—", "…", "...", "..", "x", "X", "nan", "NaN", "NA", "n/a"})

ENCODINGS_TRIED = ("utf-8-sig", "utf-8", "cp949")

_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
_PLAIN = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


# --------------------------------------------------------------------------- paths

def source_name(path: str | Path, raw_dir: str | Path | None) -> str:
    """``path`` relative to ``raw_dir`` as POSIX text (just the file name if outside it)."""
    path = Path(path)
    if raw_dir is not None:
        try:
            return path.resolve().relative_to(Path(raw_dir).resolve()).as_posix()
        except ValueError:
            pass
    return PurePath(path.name).as_posix()


def require_file(path: str | Path, *, hint: str | None = None) -> Path:
    path = Path(path)
    if not path.is_file():
        raise MissingInputError(f"raw input file not found: {path}", file=path,
                                hint=hint or "run `make data` to acquire the raw files")
    return path


def col_letter(index0: int) -> str:
    """0-based column index -> spreadsheet letters (0 -> A, 26 -> AA)."""
    letters = ""
    n = index0 + 1
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


#: superscript digits and signs (KOSIS footnote marks such as ``45.2¹``, ``서울¹⁾``)
_SUPERSCRIPTS = re.compile("[\u00b9\u00b2\u00b3\u2070-\u207f]")


def has_footnote_mark(value: Any) -> bool:
    """True if a text cell carries a superscript footnote mark."""
    return isinstance(value, str) and bool(_SUPERSCRIPTS.search(value))


def clean_text(value: Any) -> str:
    """NFKC-normalised, stripped text of a cell ('' for None), superscript marks removed.

    NFKC alone would turn ``45.2¹`` into ``45.21``: superscripts (footnote marks) are
    dropped first.
    """
    if value is None:
        return ""
    if isinstance(value, float) and math.isnan(value):
        return ""
    text = _SUPERSCRIPTS.sub("", str(value))
    return unicodedata.normalize("NFKC", text).replace("\u00a0", " ").strip()


# ------------------------------------------------------------------------ decoding

def decode_bytes(data: bytes, file: str | Path) -> tuple[str, str]:
    """Decode a CSV's bytes as UTF-8 (with or without BOM) or CP949; return (text, encoding)."""
    if not data.strip(b" \t\r\n\x00"):
        raise DataError("the file is empty", file=file,
                        hint="acquire it again (`make data`); a KOSIS download that failed "
                             "half-way leaves an empty file")
    tried = ", ".join(ENCODINGS_TRIED)
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or b"\x00" in data[:4096]:
        raise DataError(f"the file is UTF-16 or binary, not text in one of the supported "
                        f"encodings (tried {tried})", file=file, row=1,
                        hint="save it again as CSV in UTF-8 or CP949 (KOSIS: 다운로드 → CSV)")
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[len(codecs.BOM_UTF8):].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            bad = exc.start + len(codecs.BOM_UTF8)
            raise DataError(f"the file starts with a UTF-8 byte-order mark but byte {bad} is "
                            f"not UTF-8 (tried {tried})", file=file,
                            row=data[:bad].count(b"\n") + 1,
                            hint="save it again as UTF-8 or CP949") from None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        first_bad = exc.start
    try:
        text = data.decode("cp949")
    except UnicodeDecodeError:
        text = None
    if text is not None and _plausible_korean(text):
        return text, "cp949"
    raise DataError(f"cannot read the file as text: it is neither UTF-8 (with or without BOM) "
                    f"nor CP949 (tried {tried}); first undecodable byte "
                    f"0x{data[first_bad]:02x} at offset {first_bad}", file=file,
                    row=data[:first_bad].count(b"\n") + 1,
                    hint="save it again as CSV in UTF-8 or CP949 (KOSIS exports use CP949); "
                         "Latin-1/Windows-1252 and UTF-16 are not supported")


def _plausible_korean(text: str) -> bool:
    """CP949 decodes many Latin-1 byte pairs into rare hanja: accept it only if the
    non-ASCII characters are overwhelmingly Hangul (or common CJK punctuation)."""
    non_ascii = [ch for ch in text if ord(ch) > 127]
    if not non_ascii:
        return True
    ok = sum(1 for ch in non_ascii if "\uac00" <= ch <= "\ud7a3" or "\u3000" <= ch <= "\u303f"
             or "\uff00" <= ch <= "\uffef" or ch in "·…‘’“”○■□※")
    return ok / len(non_ascii) >= 0.9


def read_csv_rows(path: str | Path, *, file_label: str | None = None,
                  skip_comments: bool = False) -> tuple[list[list[str]], str, list[str]]:
    """Rows of a CSV (as text), its encoding, and any leading ``#`` comment lines."""
    path = Path(path)
    label = file_label or path.name
    text, encoding = decode_bytes(path.read_bytes(), label)
    comments: list[str] = []
    lines = text.splitlines()
    if skip_comments:
        while lines and lines[0].lstrip().startswith("#"):
            comments.append(lines.pop(0))
    rows = list(csv.reader(io.StringIO("\n".join(lines))))
    return rows, encoding, comments


# ---------------------------------------------------------------------------- xlsx

META_SHEETS = ("메타정보", "meta data", "metadata", "meta", "주석", "통계표정보", "table info")
_META_KEYS = {re.sub(r"\s+", "", m) for m in META_SHEETS}


def is_meta_sheet(title: str) -> bool:
    """True for a KOSIS meta/notes sheet (``메타정보``, ``Meta Data``, ``통계표 정보`` …)."""
    return re.sub(r"\s+", "", clean_text(title)).casefold() in _META_KEYS


def open_workbook(path: str | Path, *, file_label: str, read_only: bool = True):
    """Open an xlsx with openpyxl, turning zip/xml failures into DataError."""
    import openpyxl  # local: import cost only when needed
    path = Path(path)
    if path.stat().st_size == 0:
        raise DataError("the file is empty", file=file_label,
                        hint="acquire it again (`make data`)")
    if not zipfile.is_zipfile(path):
        raise DataError("not a complete .xlsx file (an xlsx is a zip archive and this one "
                        "is truncated or is not an xlsx at all)", file=file_label,
                        hint="acquire the file again (`make data`); if you downloaded it "
                             "yourself, download it again as Excel (xlsx)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return openpyxl.load_workbook(path, read_only=read_only, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, EOFError, ValueError) as exc:
        raise DataError(f"cannot open the workbook ({type(exc).__name__}: {exc}); the file "
                        "is damaged or truncated", file=file_label,
                        hint="acquire the file again (`make data`)") from None
    except Exception as exc:  # xml parse errors and the like from a cut-off archive
        raise DataError(f"cannot open the workbook ({type(exc).__name__}); the file is "
                        "damaged or truncated", file=file_label,
                        hint="acquire the file again (`make data`)") from None


def xlsx_rows(ws, *, file_label: str) -> list[list[Any]]:
    """All rows of a worksheet as lists of Python values (read-only safe)."""
    try:
        if hasattr(ws, "reset_dimensions"):
            ws.reset_dimensions()  # KOSIS files often record a wrong sheet size
        return [list(r) for r in ws.iter_rows(values_only=True)]
    except (zipfile.BadZipFile, EOFError, OSError, KeyError) as exc:
        raise DataError(f"the worksheet {ws.title!r} cannot be read ({type(exc).__name__}); "
                        "the file is damaged or truncated", file=file_label,
                        hint="acquire the file again (`make data`)") from None
    except Exception as exc:
        raise DataError(f"the worksheet {ws.title!r} cannot be read ({type(exc).__name__}: "
                        f"{exc}); the file is damaged or truncated", file=file_label,
                        hint="acquire the file again (`make data`)") from None


_META_KEY = re.compile(r"^(통계표ID|TableID|단위|Unit|통계표명|TableName)$", re.IGNORECASE)


def read_meta(wb) -> dict[str, str]:
    """Key/value pairs of a KOSIS meta sheet (``○ 통계표ID`` / ``○ Table ID`` …)."""
    meta: dict[str, str] = {}
    sheet = None
    for ws in wb.worksheets:
        if not is_meta_sheet(ws.title):
            continue
        sheet = sheet or ws.title
        for row in xlsx_rows(ws, file_label=ws.title):
            if len(row) >= 2 and (clean_text(row[0]).startswith("○") or _META_KEY.match(
                    clean_text(row[0]).replace(" ", ""))):  # "○ 통계표ID" or a bare "통계표ID"
                key = clean_text(row[0]).lstrip("○").strip()
                meta[key] = clean_text(row[1])
    out: dict[str, str] = {"sheet": sheet} if sheet else {}
    for key, value in meta.items():
        k = key.casefold().replace(" ", "")
        if k in ("통계표id", "tableid"):
            out["table_id"] = value
        elif k in ("단위", "unit"):
            out["unit"] = value
        elif k in ("통계표명", "tablename"):
            out["table_name"] = value
        elif k in ("출처", "source"):
            out["producer"] = value
        elif k in ("자료다운일자", "downloaddate"):
            out["downloaded"] = value
    return out


# ------------------------------------------------------------------------- numbers

def parse_number(cell: Any, *, file: str, row: int, column: str, what: str = "value") -> float:
    """A numeric cell as float; NaN for missing markers; DataError otherwise."""
    if cell is None:
        return math.nan
    if isinstance(cell, bool):
        raise DataError(f"{what}: expected a number, found the boolean {cell}", file=file,
                        row=row, column=column, hint="fix the cell in the source file")
    if isinstance(cell, (int, float, np.integer, np.floating)):
        return float(cell)
    text = clean_text(cell)
    if text in MISSING_MARKERS:
        return math.nan
    body = text.replace(" ", "")
    if _PLAIN.match(body):
        return float(body)
    if _THOUSANDS.match(body):
        return float(body.replace(",", ""))
    raise DataError(f"{what}: non-numeric cell {text!r} (a number, '-' or '…' for missing "
                    "was expected)", file=file, row=row, column=column,
                    hint="correct the cell in the raw file or acquire a clean copy "
                         "(`make data`); do not edit files under data/raw by hand")


# -------------------------------------------------------------------------- output

def empty_tidy() -> pd.DataFrame:
    return pd.DataFrame({"region": pd.Series([], dtype="str"), "year": pd.Series([], dtype="int64"),
                         "variable": pd.Series([], dtype="str"),
                         "value": pd.Series([], dtype="float64"),
                         "source": pd.Series([], dtype="str")})


def check_duplicates(frame: pd.DataFrame, *, file: str | None = None,
                     keys: Sequence[str] = ("region", "year", "variable"),
                     column: str | None = None) -> None:
    """DataError on the first repeated (region, year, variable).

    The one duplicate-key check of the package. Within one file (``frame`` has ``row``)
    it names both rows; across sources (``frame`` has ``source``, no ``row``: the tidy rows
    of every file together, as :func:`regrowth.panel.assemble` passes them) it names both
    files and the variable.
    """
    dup = frame.duplicated(list(keys), keep=False)
    if not dup.any():
        return
    if "row" not in frame:
        rows = frame[dup].sort_values(["variable", "region", "year"])
        first = rows.iloc[0]
        same = rows[(rows[list(keys)] == first[list(keys)]).all(axis=1)]
        files = sorted(set(same["source"]))
        raise DataError(
            f"{int(dup.sum())} duplicated (variable, region, year) rows, first "
            f"{first['variable']} for {first['region']} {int(first['year'])} from "
            f"{', '.join(files)}", file=", ".join(files), column=str(first["variable"]),
            hint="two source files supply the same series; each variable must come from one "
                 "entry of regrowth/sources/registry.py")
    d = frame.loc[dup].sort_values("row")
    first = d.iloc[0]
    same = d[(d[list(keys)] == first[list(keys)]).all(axis=1)]
    rows = same["row"].tolist()
    col = column if column is not None else (same["column"].iloc[1] if "column" in same else None)
    raise DataError(f"duplicated region-year: {first['region']} {int(first['year'])} "
                    f"({first['variable']}) appears on rows {rows[0]} and {rows[1]}",
                    file=file, row=int(rows[1]), column=col,
                    hint="each province may appear once per year: delete the repeated row, or "
                         "use a clean copy of the file")


def validate_values(frame: pd.DataFrame, *, file: str) -> None:
    """Range and count checks from the variable catalogue (negative, fractional, out of range)."""
    for name, part in frame.groupby("variable", sort=False):
        spec = VARIABLES.get(name)
        if spec is None:
            continue
        vals = part["value"].to_numpy(dtype=float)
        ok = ~np.isnan(vals)
        if spec.count:
            neg = ok & (vals < 0)
            if neg.any():
                r = part.loc[neg].iloc[0]
                raise DataError(f"negative count {r['value']:g} for {name} ({spec.label}), "
                                f"{r['region']} {int(r['year'])}", file=file, row=int(r["row"]),
                                column=r["column"], hint="a count cannot be negative: correct "
                                "the cell or acquire a clean copy (`make data`)")
            frac = ok & (np.abs(vals - np.round(vals)) > 1e-9)
            if frac.any():
                r = part.loc[frac].iloc[0]
                raise DataError(f"fractional count {r['value']:g} for {name} ({spec.label}), "
                                f"{r['region']} {int(r['year'])}", file=file, row=int(r["row"]),
                                column=r["column"], hint="a count must be a whole number: check "
                                "that the column holds counts, not rates or averages")
        lo, hi = spec.bounds
        bad = ok & (((vals < lo) if lo is not None else False) | ((vals > hi) if hi is not None else False))
        if np.any(bad):
            r = part.loc[bad].iloc[0]
            rng = f"[{'-inf' if lo is None else f'{lo:g}'}, {'inf' if hi is None else f'{hi:g}'}]"
            raise DataError(f"value {r['value']:g} of {name} ({spec.label}, {spec.unit}) for "
                            f"{r['region']} {int(r['year'])} is outside the valid range {rng}",
                            file=file, row=int(r["row"]), column=r["column"],
                            hint="check the cell and the unit of the column; acquire a clean "
                                 "copy of the file (`make data`)")


def missing_before_existence(frame: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    """Zeros printed for a province in the years before it existed become NaN.

    The dates are :attr:`regrowth.regions.Region.first_year` (Gwangju 1986, Daejeon 1989,
    Ulsan 1997, Sejong 2012), owned by :mod:`regrowth.regions`. ``frame`` has region, year,
    variable, value; one note per (region, variable) is appended to ``notes``. A non-zero
    value before that year is kept (a producer may have recomputed it for the territory).
    """
    first_year = {r.key: r.first_year for r in regions.REGIONS if r.first_year}
    before = frame["region"].map(first_year)
    ghost = before.notna() & (frame["year"] < before) & (frame["value"] == 0)
    if not ghost.any():
        return frame
    frame = frame.copy()
    for (reg, var_), part in frame[ghost].groupby(["region", "variable"]):
        y0, y1 = int(part["year"].min()), int(part["year"].max())
        notes.append(f"{var_}: {reg} {y0}-{y1} printed as 0 before the province existed "
                     f"({first_year[reg]}); read as missing")
    frame.loc[ghost, "value"] = float("nan")
    return frame


def finish(frame: pd.DataFrame, *, file: str, source: str, drop_missing: bool = True,
           dup_column: str | None = None) -> pd.DataFrame:
    """Check duplicates and ranges, then return the tidy frame sorted by (variable, region, year).

    ``frame`` needs region, year, variable, value, row, column. Missing values
    (NaN) are dropped unless ``drop_missing`` is False: a tidy long table lists
    what was observed.
    """
    if frame.empty:
        return empty_tidy()
    check_duplicates(frame, file=file, column=dup_column)
    validate_values(frame, file=file)
    if drop_missing:
        frame = frame[frame["value"].notna()]
    out = pd.DataFrame({
        "region": frame["region"].astype("str").to_numpy(),
        "year": frame["year"].astype("int64").to_numpy(),
        "variable": frame["variable"].astype("str").to_numpy(),
        "value": frame["value"].astype("float64").to_numpy(),
    })
    out["source"] = source
    out["source"] = out["source"].astype("str")
    return sort_tidy(out)


def sort_tidy(frame: pd.DataFrame) -> pd.DataFrame:
    """Sort by (variable, region, year) -- plain lexical order of the keys."""
    frame = frame.sort_values(["variable", "region", "year"], kind="stable")
    return frame.reset_index(drop=True)[TIDY_COLUMNS]


def concat_tidy(frames: Iterable[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if not f.empty]
    if not frames:
        return empty_tidy()
    return sort_tidy(pd.concat(frames, ignore_index=True))
