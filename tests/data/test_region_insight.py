"""The KOSIS exports of kosis_region_insight/ in the panel: universities and graduate schools (총계 of
설립주체) per 10,000 residents, population 2000-2024 continuing the 1992-2020 file (refused
where the two disagree), employment and the employment rate. The workbooks are read here with
openpyxl, independently of regrowth's KOSIS reader."""

from __future__ import annotations

import csv
import math

import openpyxl
import pytest
from raw_reading import copy_raw, num, xlsx_sheet

from regrowth import regions
from regrowth.errors import DataError
from regrowth.sources import load_source

D = "kosis_region_insight/"
UNIV = D + "대학_개황_20250626194556.xlsx"
GRAD = D + "대학원_개황_20250626194645.xlsx"
POP = D + "행정구역_시군구_별__성별_인구수_20250626192009.xlsx"
EMP = D + "행정구역_시도_별_경제활동인구_20250626195127.xlsx"
POP_1992 = "kosis_grdp_population/Resident_Population_by_City__County__and_District_1992-2020.csv"


def wide_items(path, *, founder: bool) -> dict:
    """(region, year, item) -> value from a KOSIS xlsx with a year row and an item row; with
    ``founder`` only the rows whose 설립주체 is '계' (the province's own name on that row)."""
    rows = xlsx_sheet(path, "데이터")
    years, items = rows[0], rows[1]
    start = 2 if founder else 1
    out, region = {}, None
    for row in rows[2:]:
        if row[0] not in (None, ""):
            region = row[0]
        if founder and row[1] != "계":
            continue
        if regions.is_nation(region):
            continue
        key = regions.normalize(region)
        for y, item, v in zip(years[start:], items[start:], row[start:]):
            value = num(v)
            if value is not None:
                out[(key, int(y), item.split(" (")[0])] = value
    return out


@pytest.mark.parametrize("rel, items", [
    (UNIV, {"학교수": "universities", "재적학생수": "university_students"}),
    (GRAD, {"학교수": "grad_schools", "재적학생수": "grad_students"}),
])
def test_school_counts_are_the_all_founders_rows(public_build, shared_data, rel, items):
    p = public_build.panel
    raw = wide_items(shared_data / rel, founder=True)
    seen = 0
    for (region, year, item), value in raw.items():
        if item in items:
            assert p.loc[(region, year), items[item]] == value
            seen += 1
    for var in items.values():
        assert p[var].notna().sum() == sum(1 for k in raw if k[2] in items and items[k[2]] == var)
    assert seen == 2 * (16 * 25 + 12)                     # Sejong from 2013
    assert p.loc[("sejong", 2012), "universities"] != p.loc[("sejong", 2012), "universities"]


def test_per_10000_residents_divide_by_the_panel_population(public_build, shared_data):
    p = public_build.panel
    raw = wide_items(shared_data / UNIV, founder=True)
    for region, year in (("seoul", 2000), ("jeju", 2024), ("sejong", 2020), ("gangwon", 2023)):
        pop = p.loc[(region, year), "population"]
        assert p.loc[(region, year), "universities_p10k"] == pytest.approx(
            1e4 * raw[(region, year, "학교수")] / pop)
        assert p.loc[(region, year), "university_students_p10k"] == pytest.approx(
            1e4 * raw[(region, year, "재적학생수")] / pop)
    assert p.loc[("seoul", 2021), "ln_universities_p10k_l1"] == pytest.approx(
        math.log(p.loc[("seoul", 2020), "universities_p10k"]))
    notes = public_build.codebook.set_index("name").loc["universities", "notes"]
    assert "branch campuses" in notes and "2018" in notes


def test_population_runs_1992_to_2024_from_two_files_that_agree(public_build, shared_data):
    p = public_build.panel
    new = {k[:2]: v for k, v in wide_items(shared_data / POP, founder=False).items()
           if k[2] == "총인구수"}
    with open(shared_data / POP_1992, encoding="utf-8-sig", newline="") as fh:
        old_rows = list(csv.reader(fh))
    assert min(y for _, y in new) == 2000 and max(y for _, y in new) == 2024
    header = old_rows[0]
    for row in old_rows[1:]:
        if row[0].startswith("(") or regions.is_nation(row[0]):
            continue                                       # Ulsan's sub-rows, the nation
        for y, v in zip(header[1:], row[1:]):
            if int(y) < 2000 and v.strip() not in ("", "-", "0"):
                assert p.loc[(regions.normalize(row[0]), int(y)), "population"] == float(v)
    for (region, year), value in new.items():
        assert p.loc[(region, year), "population"] == value      # 2000-2020 equal to the old file
    years = p["population"].dropna().index.get_level_values("year")
    assert (years.min(), years.max()) == (1992, 2024)
    book = public_build.codebook.set_index("name")
    assert POP in book.loc["population", "source"] and POP_1992 in book.loc["population", "source"]
    assert "equal to" in book.loc["population", "notes"]


def test_population_disagreeing_with_the_1992_file_is_refused_naming_the_cell(shared_data,
                                                                             tmp_path):
    raw = copy_raw(shared_data, tmp_path / "raw", POP, POP_1992)
    wb = openpyxl.load_workbook(raw / POP)
    ws = wb["데이터"]
    row = next(r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value == "대구광역시")
    col = next(c for c in range(2, ws.max_column + 1)
               if str(ws.cell(1, c).value) == "2015" and str(ws.cell(2, c).value).startswith("총인구수"))
    original = ws.cell(row, col).value
    ws.cell(row, col).value = original + 1
    wb.save(raw / POP)
    with pytest.raises(DataError) as err:
        load_source(POP, raw)
    e = err.value
    assert e.file == POP and e.row == row and e.column == openpyxl.utils.get_column_letter(col)
    assert "daegu 2015" in e.message and f"{original + 1:,.0f}" in e.message
    assert f"{original:,.0f}" in e.message and POP_1992 in e.message


def test_employment_and_employment_rate(public_build, shared_data):
    p = public_build.panel
    raw = wide_items(shared_data / EMP, founder=False)
    n = 0
    for (region, year, item), value in raw.items():
        if item == "취업자":
            assert p.loc[(region, year), "employment"] == value
            n += 1
        elif item == "고용률":
            assert p.loc[(region, year), "employment_rate"] == value
    assert n == p["employment"].notna().sum() == 16 * 25 + 8        # Sejong from 2017
    # published: 취업자 2000 = 21,173 thousand nationally
    assert p.xs(2000, level="year")["employment"].sum() == pytest.approx(21173, abs=17)
    book = public_build.codebook.set_index("name")
    assert book.loc["employment", "unit"] == "thousand persons"
    assert "sejong from 2017" in book.loc["employment", "notes"]


def test_the_build_log_names_korean_file_names_by_folder_and_table_id(public_build):
    """The log stays ASCII (it is checked to hold no applicant's name, which would be Hangul)."""
    log = public_build.describe()
    assert not any("\uac00" <= ch <= "\ud7a3" for ch in log)
    for table in ("DT_1963003_013", "DT_1963003_014", "DT_1B040A3", "DT_1DA7004S"):
        assert f"kosis_region_insight: {table}.xlsx" in log
    assert "kiet_regional_development_index: workbook.xlsx" in log
