"""All-field patent applications by macro-region (권역), 2001-2022, derived in the panel as
rate x mid-year population, with the rounding half-width; the seven 권역 sum to the national
count within 0.1% or the build is refused naming the year. Rebuilt here from the raw files
(indicator CSV with csv, the two population files with csv and openpyxl)."""

from __future__ import annotations

import csv

import pytest
from raw_reading import copy_raw, num, xlsx_sheet

from regrowth import panel, regions, sources
from regrowth.errors import DataError

IND = "kostat_regional_indicators/indicator_2-2-1.csv"
POP_OLD = "kosis_grdp_population/Resident_Population_by_City__County__and_District_1992-2020.csv"
POP_NEW = "kosis_region_insight/행정구역_시군구_별__성별_인구수_20250626192009.xlsx"


def raw_population(shared_data) -> dict:
    """(region, year) -> year-end population: the 1992-2020 CSV, then 2021-2024 from the xlsx."""
    out = {}
    with open(shared_data / POP_OLD, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    for row in rows[1:]:
        if row[0].startswith("(") or regions.is_nation(row[0]):
            continue
        for y, v in zip(rows[0][1:], row[1:]):
            if v.strip() not in ("", "-", "0"):
                out[(regions.normalize(row[0]), int(y))] = float(v)
    sheet = xlsx_sheet(shared_data / POP_NEW, "데이터")
    for row in sheet[2:]:
        if regions.is_nation(row[0]):
            continue
        for y, item, v in zip(sheet[0][1:], sheet[1][1:], row[1:]):
            if item.startswith("총인구수") and int(y) > 2020 and num(v) is not None:
                out[(regions.normalize(row[0]), int(y))] = num(v)
    return out


def rebuild(shared_data) -> tuple[dict, dict, dict]:
    """(counts, half-widths, national counts) rebuilt from the raw files."""
    pop = raw_population(shared_data)
    with open(shared_data / IND, encoding="utf-8-sig", newline="") as fh:
        rates = [(int(r["Year"]), r["지역"].split(".", 1)[1], float(r["Value"]))
                 for r in csv.DictReader(fh)]

    def dec(members, year):
        return sum(v for (r, y), v in pop.items() if r in members and y == year)

    counts, hws, national = {}, {}, {}
    for year, area, rate in rates:
        if area == "전국":
            members = {r.key for r in regions.REGIONS}
        else:
            members = set(regions.lookup_macro(area).members)
        mid = (dec(members, year - 1) + dec(members, year)) / 2
        if area == "전국":
            national[year] = rate * mid / 1e6
        else:
            key = regions.lookup_macro(area).key
            counts[(key, year)] = rate * mid / 1e6
            hws[(key, year)] = 0.5 * mid / 1e6
    return counts, hws, national


def test_counts_and_half_widths_equal_an_independent_rebuild(public_build, shared_data):
    counts, hws, _ = rebuild(shared_data)
    assert len(counts) == 7 * 22
    p = public_build.panel
    for (macro, year), count in counts.items():
        for r in regions.MACRO_REGIONS[macro].members:
            if (regions.get(r).first_year or 0) > year:
                assert p.loc[(r, year), "patents_all_macro"] != p.loc[(r, year), "patents_all_macro"]
                continue
            assert p.loc[(r, year), "patents_all_macro"] == pytest.approx(count, rel=1e-12)
            assert p.loc[(r, year), "patents_all_macro_hw"] == pytest.approx(hws[(macro, year)],
                                                                            rel=1e-12)
    m = public_build.macro
    for (macro, year), count in counts.items():
        assert m.loc[(macro, year), "patents_all_macro"] == pytest.approx(count, rel=1e-12)


def test_one_province_macro_regions_give_province_counts(public_build):
    p = public_build.panel
    for r in ("gangwon", "jeju"):
        for year in (2001, 2012, 2022):
            mid = (p.loc[(r, year - 1), "population"] + p.loc[(r, year), "population"]) / 2
            assert p.loc[(r, year), "patents_all_macro"] == pytest.approx(
                p.loc[(r, year), "patents_pm_macro"] * mid / 1e6)


def test_seven_macro_regions_sum_to_the_national_count_within_a_tenth_of_a_percent(
        public_build, shared_data):
    counts, _, national = rebuild(shared_data)
    gaps = {y: sum(c for (_, yy), c in counts.items() if yy == y) / national[y] - 1
            for y in national}
    table = public_build.reports["macro_patents"]
    for year, gap in gaps.items():
        assert table.loc[year, "rel_gap"] == pytest.approx(gap, abs=1e-12)
        assert abs(gap) < 1e-3
    worst = max(gaps, key=lambda y: abs(gaps[y]))
    assert worst == 2019 and abs(gaps[worst]) < 7e-4       # measured: +0.063%


def test_a_national_rate_inconsistent_with_the_macro_regions_refuses_the_build_naming_the_year(
        shared_data, tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    for child in shared_data.iterdir():
        if child.is_dir() and child.name != "kostat_regional_indicators":
            (raw / child.name).symlink_to(child)
    copy_raw(shared_data, raw, IND)
    path = raw / IND
    text = path.read_text(encoding="utf-8-sig")
    line = next(x for x in text.splitlines() if x.startswith("2015,0.전국,"))
    rate = int(line.rsplit(",", 1)[1])
    path.write_text(text.replace(line, f"2015,0.전국,{rate + 5}"), encoding="utf-8")  # +0.15%
    tidy, _ = sources.load_all(raw)
    with pytest.raises(DataError, match=r"derived all-field patent counts, 2015: the seven "
                                        r"macro-regions sum to") as err:
        panel.assemble(tidy)
    assert err.value.column == "2015" and err.value.file == IND


def test_derived_counts_are_labelled_derived_in_both_codebooks(public_build):
    book = public_build.codebook.set_index("name")
    mbook = public_build.macro_codebook.set_index("name")
    for name in ("patents_all_macro", "patents_all_macro_hw"):
        assert book.loc[name, "label"].startswith("DERIVED")
        assert book.loc[name, "transformation"].startswith("DERIVED")
        assert "derived" in book.loc[name, "unit"]
        assert "DERIVED" in mbook.loc[name, "transformation"]
    assert "gangwon and jeju" in book.loc["patents_all_macro", "transformation"]


def test_the_build_log_reports_the_worst_year_of_the_check(public_build):
    text = public_build.describe()
    assert ("derived all-field patent counts 2001-2022: the 7 macro-regions sum to the national "
            "count within 0.063% (worst 2019; limit 0.1%)") in text
    assert "macro-region panel: " in text and "7 macro-regions" in text
