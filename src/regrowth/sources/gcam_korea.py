"""gcam-korea input CSVs (``real_grdp_per_capita/``): ``#`` comment header, then a
table keyed by 2-letter province codes (SU IC DJ DG GJ BS US GG GW CB CN JB JN
GB GN JJ; no Sejong).

``GRDP_09WON_state.csv`` -> ``grdp_pc_real`` (2009 thousand won per capita,
1997–2017). Ulsan's 1997 value is recorded as 0: Ulsan became a metropolitan
city in July 1997 and no real per-capita GRDP was compiled for it that year,
so a zero per-capita GRDP is read as missing (and reported), never as a value.
The comment lines carry Korean text garbled in the original (CP949 bytes
re-encoded); they are read leniently, the table itself must be ASCII/UTF-8.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from regrowth import regions
from regrowth.errors import DataError
from regrowth.sources._common import (
    clean_text, col_letter, finish, parse_number, require_file, source_name,
)
from regrowth.sources.kosis import parse_year
import csv
import io

__all__ = ["read_gcam", "parse_grdp_real"]


def read_gcam(path, *, raw_dir=None) -> tuple[pd.DataFrame, dict[str, str], str]:
    """Cells of a gcam-korea CSV: (frame of region,year,value,row,column; comment fields; file)."""
    path = require_file(path)
    file = source_name(path, raw_dir)
    data = path.read_bytes()
    if not data.strip():
        raise DataError("the file is empty", file=file, hint="acquire it again (`make data`)")
    lines = data.split(b"\n")
    meta: dict[str, str] = {}
    i = 0
    while i < len(lines) and lines[i].lstrip().startswith(b"#"):
        text = lines[i].decode("utf-8", errors="replace").lstrip("#").strip()
        m = re.match(r"^([A-Za-z ]+):\s*(.*)$", text)
        if m:
            meta[m.group(1).strip().lower()] = m.group(2).strip()
        i += 1
    header_line = i + 1
    body = b"\n".join(lines[i:])
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError("the table part of the file is not UTF-8/ASCII (tried utf-8)", file=file,
                        row=header_line + body[:exc.start].count(b"\n"),
                        hint="acquire a clean copy (`make data`)") from None
    rows = [r for r in csv.reader(io.StringIO(text))]
    while rows and not any(c.strip() for c in rows[-1]):
        rows.pop()
    if not rows:
        raise DataError("no table below the # comment header", file=file, row=header_line,
                        hint="acquire a clean copy (`make data`)")
    header = [clean_text(c) for c in rows[0]]
    year_cols = [j for j, h in enumerate(header) if parse_year(h) is not None]
    if not year_cols:
        raise DataError(f"no year columns in the header {header[:4]}…", file=file, row=header_line,
                        hint="the table header must follow the # comment lines directly")
    key_col = next((j for j, h in enumerate(header) if h.casefold() in ("area", "state", "region")), None)
    if key_col is None:
        raise DataError("no Area/state column with the province codes", file=file, row=header_line,
                        hint="acquire a clean copy (`make data`)")
    records = []
    for k, row in enumerate(rows[1:], start=1):
        rownum = header_line + k
        if not any(c.strip() for c in row):
            continue
        if len(row) < len(header):
            raise DataError(f"row has {len(row)} fields but the header has {len(header)} (truncated "
                            "file?)", file=file, row=rownum, column=col_letter(len(row)),
                            hint="acquire the file again (`make data`)")
        region = regions.lookup(row[key_col], file=file, row=rownum, column=col_letter(key_col)).key
        for j in year_cols:
            value = parse_number(row[j], file=file, row=rownum, column=col_letter(j),
                                 what=f"{row[key_col]} {header[j]}")
            records.append((region, parse_year(header[j]), value, rownum, col_letter(j)))
    frame = pd.DataFrame.from_records(records, columns=["region", "year", "value", "row", "column"])
    return frame, meta, file


def parse_grdp_real(path, *, raw_dir=None, variable: str = "grdp_pc_real"):
    """``GRDP_09WON_state.csv`` -> ``grdp_pc_real`` (2009 thousand won). Zeros -> missing."""
    frame, meta, file = read_gcam(path, raw_dir=raw_dir)
    unit = meta.get("units", "")
    if unit and "thou" not in unit.lower():
        raise DataError(f"unexpected unit {unit!r} (expected thousand won per capita)", file=file,
                        row=None, hint="check that this is GRDP_09WON_state.csv")
    zero = frame["value"] == 0
    zeros = [f"{r.region} {r.year} (row {r.row}, column {r.column})" for r in frame[zero].itertuples()]
    frame.loc[zero, "value"] = np.nan
    frame["variable"] = variable
    tidy = finish(frame, file=file, source=file)
    if zeros:
        tidy.attrs["notes"] = {variable: ["recorded as 0, read as missing: " + ", ".join(
            f"{r.region} {r.year}" for r in frame[zero].itertuples())]}
    return tidy, {"file": file, "unit": unit, "title": meta.get("title"),
                  "zeros_as_missing": zeros, "values": int(len(tidy)),
                  "years": (int(tidy["year"].min()), int(tidy["year"].max())) if len(tidy) else None}
