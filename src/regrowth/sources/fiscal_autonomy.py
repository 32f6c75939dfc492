"""재정자주도 (fiscal autonomy ratio) by 시도, 2001-2025, public edition (README section 2).

``kosis_fiscal_autonomy/kosis_fiscal_autonomy_data.csv`` (columns ``year, region,
fiscal_autonomy_ratio, fiscal_independence_ratio, source``) was written by another
project's KOSIS OpenAPI collector. Two traps, both handled here:

* **the English column names are swapped**: ``fiscal_autonomy_ratio`` holds 재정자립도
  (DT_1YL20921) and ``fiscal_independence_ratio`` holds **재정자주도** (DT_1YL20891);
* **values are fractions** (0.764), converted here to percent (76.4).

The series is as published: the old revenue classification (세입과목개편전) to 2013, the
revised one (개편후) from 2014; ``fiscal_basis_2014`` flags the revised years (1 from 2014).
The continuous old-basis series ``fiscal_autonomy_old`` is derived in the panel (see
:mod:`regrowth.sources.variables`) from the identity 자주도(old) = 자주도(new) + 자립도(old) -
자립도(new) (the 2014 revision moved non-tax items out of own revenue).

**Cross-check (refusal).** Every 재정자립도 value of this file must equal the DT_1YL20921
excerpt already in the registry (old basis to 2013, revised from 2014): that pins down both
the column swap and the basis of each year. A difference refuses the build, naming this
file, its row and column, the province and year, and both values.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from regrowth import regions
from regrowth.errors import DataError
from regrowth.sources._common import (
    clean_text, col_letter, finish, missing_before_existence, parse_number, read_csv_rows,
    require_file, source_name,
)
from regrowth.sources.kosis import parse_year
from regrowth.sources.kosis_tables import parse_fiscal

__all__ = ["parse_fiscal_autonomy", "EXCERPT", "BASIS_BREAK", "COLUMNS"]

#: the DT_1YL20921 excerpt whose 재정자립도 this file must reproduce
EXCERPT = "kosis_fiscal_self_reliance/fiscal_autonomy_DT_1YL20921_sido_rows_excerpt.csv"
#: first year of the revised revenue classification
BASIS_BREAK = 2014
#: the file's column -> what it really holds (the English names are swapped)
COLUMNS = {"fiscal_autonomy_ratio": "재정자립도", "fiscal_independence_ratio": "재정자주도"}


def parse_fiscal_autonomy(path, *, raw_dir=None):
    """``fiscal_autonomy`` (재정자주도, %) and ``fiscal_basis_2014`` (0/1) by province-year;
    refuses the file if its 재정자립도 differs from the DT_1YL20921 excerpt anywhere."""
    path = require_file(path)
    file = source_name(path, raw_dir)
    rows, _, _ = read_csv_rows(path, file_label=file)
    header = [clean_text(c) for c in rows[0]] if rows else []
    need = ("year", "region", *COLUMNS)
    missing = [c for c in need if c not in header]
    if missing:
        raise DataError(f"expected the columns {list(need)}, found {header} (missing {missing})",
                        file=file, row=1, hint="acquire a clean copy (`make data`)")
    j = {c: header.index(c) for c in need}
    records = []
    for i, row in enumerate(rows[1:], start=2):
        if not any(clean_text(c) for c in row):
            continue
        name = clean_text(row[j["region"]])
        if regions.is_nation(name):
            continue
        region = regions.lookup(name, file=file, row=i, column=col_letter(j["region"])).key
        year = parse_year(row[j["year"]])
        if year is None:
            raise DataError(f"year {row[j['year']]!r} is not a year", file=file, row=i,
                            column=col_letter(j["year"]), hint="acquire a clean copy (`make data`)")
        for col in COLUMNS:
            frac = parse_number(row[j[col]], file=file, row=i, column=col_letter(j[col]),
                                what=f"{COLUMNS[col]} {name} {year}")
            if not np.isnan(frac) and not 0 <= frac <= 1:
                raise DataError(f"{COLUMNS[col]} {frac:g} for {region} {year} is not a fraction "
                                "in [0, 1] (the file stores ratios, not percent)", file=file,
                                row=i, column=col_letter(j[col]),
                                hint="acquire a clean copy (`make data`)")
            records.append((region, year, COLUMNS[col], round(100.0 * frac, 6), i,
                            col_letter(j[col])))
    cells = pd.DataFrame.from_records(records, columns=["region", "year", "item", "value", "row",
                                                        "column"])
    # a 0 for a province before it existed (an API row for a unit not yet there) is no value:
    # neither checked nor kept
    cells["variable"] = cells["item"].map({"재정자주도": "fiscal_autonomy",
                                           "재정자립도": "fiscal_self_reliance"})
    found: list[str] = []
    cells = missing_before_existence(cells, found)
    notes = [n for n in found if n.startswith("fiscal_autonomy:")]
    _cross_check(cells, file, raw_dir if raw_dir is not None else Path(path).parents[1])
    auto = cells[cells["item"] == "재정자주도"]
    flag = auto[auto["value"].notna()].assign(
        variable="fiscal_basis_2014", value=lambda f: (f["year"] >= BASIS_BREAK).astype(float))
    frame = finish(pd.concat([auto, flag], ignore_index=True), file=file, source=file,
                   dup_column=col_letter(j["region"]))
    frame.attrs["notes"] = {
        "fiscal_autonomy": [f"old revenue classification (세입과목개편전) to {BASIS_BREAK - 1}, "
                            f"revised (개편후) from {BASIS_BREAK}: see fiscal_basis_2014 and the "
                            "continuous old-basis fiscal_autonomy_old",
                            "재정자립도 of the same file checked equal to DT_1YL20921 in every "
                            "province-year", *notes],
        "fiscal_basis_2014": [f"1 where fiscal_autonomy is on the revised basis (from "
                              f"{BASIS_BREAK}), 0 on the old basis"]}
    years = (int(frame["year"].min()), int(frame["year"].max())) if len(frame) else None
    return frame, {"file": file, "rows": len(rows) - 1, "years": years,
                   "checked_against": EXCERPT,
                   "self_reliance_cells_checked": int(cells["item"].eq("재정자립도").sum())}


def _cross_check(cells: pd.DataFrame, file: str, raw_dir) -> None:
    """Refuse unless every 재정자립도 cell equals the excerpt (old basis < 2014, revised after)."""
    excerpt, _ = parse_fiscal(Path(raw_dir) / EXCERPT, raw_dir=raw_dir)
    ref = excerpt.set_index(["variable", "region", "year"])["value"]
    own = cells[(cells["item"] == "재정자립도") & cells["value"].notna()]
    for r in own.itertuples(index=False):
        variable = "fiscal_self_reliance" if r.year < BASIS_BREAK else "fiscal_self_reliance_rev"
        basis = "old" if r.year < BASIS_BREAK else "revised"
        expected = ref.get((variable, r.region, r.year), np.nan)
        if np.isnan(expected) or abs(expected - r.value) > 1e-6:
            theirs = "no value" if np.isnan(expected) else f"{expected:g}"
            raise DataError(f"재정자립도 of {r.region} {r.year} is {r.value:g} here (column "
                            f"'fiscal_autonomy_ratio', x100) but {theirs} in {EXCERPT} "
                            f"({basis} basis): the two KOSIS extracts disagree, so this file's "
                            "재정자주도 cannot be trusted", file=file, row=int(r.row),
                            column=r.column, hint="both files must be unedited copies; acquire "
                            "them again (`make data`)")
