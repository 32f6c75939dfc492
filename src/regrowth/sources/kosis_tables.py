"""Parsers for the individual KOSIS-derived files of the public edition.

Each ``parse_*`` takes the file's path (and the raw directory, to name the
``source`` relative to it) and returns ``(tidy frame, report dict)``. They are
thin: the layout work is done by :mod:`regrowth.sources.kosis`; here we say
which rows are provinces, which item is which variable, and what unit to expect.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd

from regrowth import regions
from regrowth.errors import DataError
from regrowth.sources._common import finish
from regrowth.sources.kosis import KosisTable, read_kosis, to_tidy  # noqa: F401

FISCAL_ITEMS = ("재정자립도(세입과목개편전)", "재정자립도(세입과목개편후)")


def _report(table: KosisTable, frame: pd.DataFrame, **extra) -> dict:
    cells = table.cells
    rep = {
        "file": table.file, "layout": table.layout, "encoding": table.encoding,
        "sheet": table.sheet, "table_id": table.table_id, "unit": table.unit,
        "header_rows": table.header_rows, "cells": int(len(cells)),
        "missing_cells": int(cells["value"].isna().sum()), "values": int(len(frame)),
        "years": (int(frame["year"].min()), int(frame["year"].max())) if len(frame) else None,
    }
    rep.update(extra)
    return rep


def parse_fiscal(path, *, raw_dir=None):
    """재정자립도 (DT_1YL20921): ``fiscal_self_reliance`` (세입과목개편전, 2001–2025) and
    ``fiscal_self_reliance_rev`` (세입과목개편후, 2014–2025), %, provincial 소계 rows.

    From 2014 each year has two columns, old classification first. A file without
    the item row is read by that order; any other repeated year is an error.
    """
    table = read_kosis(path, raw_dir=raw_dir, repeat_items=FISCAL_ITEMS)
    where = {1: "소계"} if len(table.label_names) > 1 else None
    frame = to_tidy(table, {FISCAL_ITEMS[0]: "fiscal_self_reliance",
                            FISCAL_ITEMS[1]: "fiscal_self_reliance_rev"},
                    where=where, expect_units=("%",))
    return frame, _report(table, frame, note="Sejong from 2013; old classification unbroken "
                                             "2001-2025, revised from 2014")


def parse_population(path, *, raw_dir=None):
    """Resident-registration population, English KOSIS export: ``population`` (persons).

    ``(Ulsan-si)`` and ``(Ulsan-gun)`` are sub-rows (Ulsan city and county before
    Ulsan became a metropolitan city in 1997), not provinces; they are skipped.
    Gyeongsangnam-do drops from 4.01 to 3.04 million in 1997 when Ulsan leaves it.
    """
    table = read_kosis(path, raw_dir=raw_dir)
    ignore = ("(Ulsan-si)", "(Ulsan-gun)")
    frame = to_tidy(table, "population", ignore=ignore, expect_units=("명", "persons", "person"))
    skipped = sorted(set(table.cells["label_0"]) & set(ignore))
    return frame, _report(table, frame, skipped_rows=skipped)


def parse_grdp_2020base(path, *, raw_dir=None):
    """``yinbianliang_GRDP2014-2023.csv``: ``grdp_pc_2020base``, thousand won.

    Per-capita GRDP at current prices of the 2020-base regional accounts: equal to
    DT_1C86 for 2014–2021, extended to 2023 (2023 values are rounded to tens).
    Old names 강원도 / 전라북도 are used.
    """
    table = read_kosis(path, raw_dir=raw_dir)
    frame = to_tidy(table, "grdp_pc_2020base", expect_units=("천원", "Thousand won"))
    return frame, _report(table, frame)


def parse_rnd(path, *, raw_dir=None):
    """R&D expenditure (DT_KBA0019), ``rnd``, million won.

    The sheet is 3 rows x 181 columns: row 1 holds the years (merged over 18
    columns each), row 2 for each year '연구개발비' (the national total) then the
    17 provinces (서울 … 제주), row 3 the values for 연구수행주체 '총계' (all
    performers). Regions are therefore read from the item row. The report
    compares the national total with the sum of the provinces.
    """
    table = read_kosis(path, raw_dir=raw_dir)
    where = {0: "총계"} if "총계" in set(table.cells["label_0"]) else None
    frame = to_tidy(table, "rnd", region_from="item", where=where,
                    expect_units=("백만원", "million won"))
    cells = table.cells if where is None else table.cells[table.cells["label_0"] == "총계"]
    totals = cells[cells["item"] == "연구개발비"].set_index("year")["value"]
    sums = frame.groupby("year")["value"].sum()
    gap = {int(y): float(totals.get(y, np.nan) - sums.get(y, np.nan)) for y in sums.index}
    return frame, _report(table, frame, national_minus_sum=gap)


def parse_exports(path, *, raw_dir=None):
    """Exports by 시도 (DT_1YL6901): ``exports``, million USD ('행정구역별(단위: 100만달러)')."""
    table = read_kosis(path, raw_dir=raw_dir)
    frame = to_tidy(table, "exports", expect_units=("100만달러", "백만달러", "million US$",
                                                    "million USD", "Million dollars"))
    return frame, _report(table, frame)


def parse_households(path, *, raw_dir=None):
    """Registered households (DT_1B040B3): ``households``, year end, 2013–2024."""
    table = read_kosis(path, raw_dir=raw_dir)
    frame = to_tidy(table, "households", expect_units=("세대", "households", "household"))
    return frame, _report(table, frame)


def parse_local_gov(path, *, raw_dir=None):
    """``kongzhi6_GOV2014-2023.xlsx``: ``local_gov_amount``, thousand won.

    Rows '서울계' … '제주계' (province plus its 시군구) and '전국계'; amounts with
    thousands separators as text. The KOSIS table is not recorded in the file
    (no meta sheet) -- probably local-government expenditure; unverified.
    """
    table = read_kosis(path, raw_dir=raw_dir)
    frame = to_tidy(table, "local_gov_amount", expect_units=("천원", "thousand won"))
    return frame, _report(table, frame, note="table unverified (no meta sheet)")


def parse_higher_ed(path, *, raw_dir=None):
    """``kongzhi1_HUM2014-2023.xlsx`` (long: 연도, 시도, 학제, 졸업자, 진학자, 진학률).

    Yields ``hs_graduates`` and ``higher_ed_entrants`` (persons) and
    ``higher_ed_rate`` = 진학자 / 졸업자 as a **share (0–1)**: the file prints the
    rate as the formula ``=E2/D2``, not as a percentage. The rate is recomputed
    from the counts and must agree with the cached formula value when present.
    Only 학제 '고등학교' rows are used.
    """
    table = read_kosis(path, raw_dir=raw_dir)
    file = table.file
    cells = table.cells
    if "학제" in table.label_names:
        k = table.label_names.index("학제")
        other = sorted(set(cells[f"label_{k}"]) - {"고등학교"})
        cells = cells[cells[f"label_{k}"] == "고등학교"]
    else:
        other = []
    table_hs = dataclasses.replace(table, cells=cells)
    counts = to_tidy(table_hs, {"졸업자": "hs_graduates", "진학자": "higher_ed_entrants"},
                     other_items="ignore", drop_missing=False)
    wide = counts.pivot(index=["region", "year"], columns="variable", values="value")
    computed = wide["higher_ed_entrants"] / wide["hs_graduates"]

    def located(item: str) -> pd.DataFrame:
        part = cells[cells["item"] == item]
        keys = {x: regions.lookup(x).key for x in dict.fromkeys(part["label_0"])}
        return pd.DataFrame({"region": part["label_0"].map(keys).to_numpy(),
                             "year": part["year"].to_numpy(), "value": part["value"].to_numpy(),
                             "row": part["row"].to_numpy(), "column": part["column"].to_numpy()}
                            ).drop_duplicates(["region", "year"]).set_index(["region", "year"])

    printed = located("진학률").reindex(computed.index)
    bad = printed["value"].notna() & ((printed["value"] - computed).abs() > 1e-6)
    if bad.any():
        key = computed.index[bad.to_numpy()][0]
        raise DataError(f"진학률 {printed.loc[key, 'value']:.6g} for {key[0]} {key[1]} is not "
                        f"진학자/졸업자 = {computed.loc[key]:.6g} (the file prints the rate as a "
                        "share 0-1)", file=file, row=int(printed.loc[key, "row"]),
                        column=printed.loc[key, "column"],
                        hint="check the counts and the rate column; acquire a clean copy (`make data`)")
    rates = located("진학자").reindex(computed.index)
    rates["value"] = computed.where(computed.notna(), printed["value"])
    rates = rates.reset_index()
    rates["variable"] = "higher_ed_rate"
    rate_frame = finish(rates[rates["value"].notna()], file=file, source=table.file)
    frame = pd.concat([counts[counts["value"].notna()], rate_frame], ignore_index=True)
    frame = frame.sort_values(["variable", "region", "year"], kind="stable").reset_index(drop=True)
    return frame, _report(table, frame, other_levels_skipped=other,
                          rate_unit="share 0-1 (진학자/졸업자)")


# ------------------------------------------------- region-insight exports (kosis_region_insight/)

#: the 1992-2020 population file whose years the 2000-2024 export must agree with
POPULATION_1992 = ("kosis_grdp_population/Resident_Population_by_City__County__and_District_"
                   "1992-2020.csv")


def parse_grdp_nominal(path, *, raw_dir=None):
    """DT_1C86 (English, long layout, sheet Data): ``grdp_pc_nominal`` and ``consumption_pc``
    (per-capita private consumption, nominal), thousand won.

    The table's other two items (GRI and individual income per capita) are not used. Early
    cells are '-'; regions appear when they were created (Gwangju 1987, Daejeon 1989, Ulsan
    1998, Sejong 2013).
    """
    table = read_kosis(path, raw_dir=raw_dir, sheet=None)
    used = {"Regional GDP per Capita": "grdp_pc_nominal",
            "Private Consumption per Capita": "consumption_pc"}
    frame = to_tidy(table, used, other_items="ignore", expect_units=("Thousand won", "천원"))
    return frame, _report(table, frame, items_unused=[i for i in table.items if i not in used])


def parse_universities(path, *, raw_dir=None):
    """대학 개황 (KEDI, DT_1963003_013): ``universities`` (학교수) and
    ``university_students`` (재적학생수), 설립주체 '계' (all founders), by 시도.

    The file's notes: branch campuses are counted in 학교수 from 2018; students deferring
    graduation are counted from 2021 (the file's notes). Sejong is '-' before it existed.
    """
    table = read_kosis(path, raw_dir=raw_dir)
    frame = to_tidy(table, {"학교수": "universities", "재적학생수": "university_students"},
                    where={1: "계"}, other_items="ignore")
    _note(frame, "universities", "branch campuses (분교) counted in 학교수 from 2018 (file note)")
    _note(frame, "university_students", "students deferring graduation counted from 2021 "
                                        "(file note)")
    return frame, _report(table, frame, founder="계 (all founders)")


def parse_graduate_schools(path, *, raw_dir=None):
    """대학원 개황 (KEDI, DT_1963003_014): ``grad_schools`` (학교수) and ``grad_students``
    (재적학생수), 설립주체 '계', by 시도."""
    table = read_kosis(path, raw_dir=raw_dir)
    frame = to_tidy(table, {"학교수": "grad_schools", "재적학생수": "grad_students"},
                    where={1: "계"}, other_items="ignore")
    return frame, _report(table, frame, founder="계 (all founders)")


def parse_employment(path, *, raw_dir=None):
    """경제활동인구 by 시도 (DT_1DA7004S): ``employment`` (취업자, thousand persons) and
    ``employment_rate`` (고용률, % of the population aged 15+). Sejong from 2015."""
    table = read_kosis(path, raw_dir=raw_dir)
    units = table.item_units
    for item, unit in (("취업자", "천명"), ("고용률", "%")):
        if units.get(item, unit) != unit:
            raise DataError(f"item {item!r} is stated in {units[item]!r}, expected {unit!r}",
                            file=table.file, row=table.header_rows, hint="download the table "
                            "again with KOSIS's default units")
    frame = to_tidy(table, {"취업자": "employment", "고용률": "employment_rate"},
                    other_items="ignore")
    first = int(frame["year"].min())
    late = frame.groupby("region")["year"].min()
    for variable in ("employment", "employment_rate"):
        for region, year in late[late > first].items():
            _note(frame, variable, f"{region} from {int(year)} ('-' before in the export)")
    return frame, _report(table, frame)


def parse_population_2024(path, *, raw_dir=None):
    """행정구역(시군구)별 성별 인구수 (MOIS, DT_1B040A3), 2000-2024: ``population`` (총인구수).

    It continues the 1992-2020 file (:data:`POPULATION_1992`), which must be beside it in
    ``raw_dir``: every year both files hold must agree cell for cell, else the build is
    refused naming the cell and both values. Only the years the older file lacks (2021-2024)
    are returned, so ``population`` runs 1992-2024 from two files with one definition.
    """
    table = read_kosis(path, raw_dir=raw_dir)
    if table.items != [""] and "총인구수" not in table.items:
        raise DataError(f"no item 총인구수 in the table (found {table.items})", file=table.file,
                        row=table.header_rows, hint="this should be KOSIS DT_1B040A3")
    frame = to_tidy(table, {"총인구수": "population"}, other_items="ignore",
                    expect_units=("명", "persons"))
    older_path = (Path(raw_dir) if raw_dir is not None else Path(path).parents[1]) / POPULATION_1992
    older, _ = parse_population(older_path, raw_dir=raw_dir)
    old = older.set_index(["region", "year"])["value"]
    cells = table.cells[table.cells["item"] == "총인구수"]
    located = {(regions.lookup(n).key if not regions.is_nation(n) else None): n
               for n in dict.fromkeys(cells["label_0"])}
    for r in frame.itertuples(index=False):
        key = (r.region, int(r.year))
        if key in old.index and old[key] != r.value:
            cell = cells[(cells["label_0"] == located[r.region]) & (cells["year"] == r.year)].iloc[0]
            raise DataError(f"population of {r.region} {r.year} is {r.value:,.0f} here but "
                            f"{old[key]:,.0f} in {POPULATION_1992}: the two resident-"
                            "registration files disagree", file=table.file,
                            row=int(cell["row"]), column=cell["column"],
                            hint="both files must be unedited KOSIS exports; acquire clean "
                                 "copies (`make data`)")
    overlap = frame.set_index(["region", "year"]).index.isin(old.index)
    checked = int(overlap.sum())
    frame = frame[~overlap].reset_index(drop=True)
    frame.attrs["notes"] = {"population": [
        f"{int(frame['year'].min())}-{int(frame['year'].max())} from {table.file} (DT_1B040A3); "
        f"equal to {POPULATION_1992} in all {checked} province-years both files hold",
        "from 2010 includes residents registered as 거주불명 (file note)"]}
    return frame, _report(table, frame, overlap_checked=checked)


def _note(frame: pd.DataFrame, variable: str, text: str) -> None:
    frame.attrs.setdefault("notes", {}).setdefault(variable, []).append(text)
