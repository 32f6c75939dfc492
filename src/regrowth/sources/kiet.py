"""KIET's regional development index (지역발전지수), NAVIS release 2021 (README section 2).

One workbook, three data sheets after a table of contents (``목차``): the total index
(``I지역발전지수(총합)``), economic strength (``…(경제력)``, 경제력지수) and residents' vitality
(``…(주민생활력)``, 주민활력지수). Each is a wide table: one row per area, one column per year
1995-2019 (the first years are text, the later ones numbers). Rows are the nation (empty),
16 시도 (no Sejong; Ulsan from 1998) and the 7 권역; the 권역 rows are KIET's own aggregates
and are not read (the macro-region panel aggregates the provinces by its declared rule).
The index has no unit.
"""

from __future__ import annotations

from regrowth import regions
from regrowth.sources._common import concat_tidy
from regrowth.sources.kosis import read_kosis, to_tidy

__all__ = ["parse_kiet_index", "SHEETS"]

#: sheet -> variable
SHEETS = {"I지역발전지수(총합)": "kiet_rdi", "I지역발전지수(경제력)": "kiet_rdi_economic",
          "I지역발전지수(주민생활력)": "kiet_rdi_vitality"}

_MACRO_NAMES = tuple(m.name_ko for m in regions.MACRO_REGIONS.values())


def parse_kiet_index(path, *, raw_dir=None):
    """``kiet_rdi``, ``kiet_rdi_economic``, ``kiet_rdi_vitality`` by province and year."""
    frames, notes, report = [], {}, {}
    for sheet, variable in SHEETS.items():
        table = read_kosis(path, raw_dir=raw_dir, sheet=sheet)  # a missing sheet is refused
        frame = to_tidy(table, variable, ignore=_MACRO_NAMES)
        notes.update(frame.attrs.get("notes", {}))
        frames.append(frame)
        report[variable] = {"sheet": sheet, "values": len(frame),
                            "years": (int(frame["year"].min()), int(frame["year"].max())),
                            "provinces": int(frame["region"].nunique())}
    out = concat_tidy(frames)
    for v in SHEETS.values():
        notes.setdefault(v, []).append("KIET NAVIS release 2021; 16 provinces (no Sejong), "
                                       "Ulsan from 1998; not cross-checked against KIET's "
                                       "own publication")
    out.attrs["notes"] = notes
    return out, report
