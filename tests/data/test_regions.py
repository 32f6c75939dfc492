"""regrowth.regions: the 17 provinces, their codes, 권역 and every alias met in the raw files."""

from __future__ import annotations

import csv
import re

import pytest

from regrowth import regions
from regrowth.errors import DataError, UnknownRegionError

KOSIS_CODES = {"seoul": "11", "busan": "21", "daegu": "22", "incheon": "23", "gwangju": "24",
               "daejeon": "25", "ulsan": "26", "sejong": "29", "gyeonggi": "31", "gangwon": "32",
               "chungbuk": "33", "chungnam": "34", "jeonbuk": "35", "jeonnam": "36",
               "gyeongbuk": "37", "gyeongnam": "38", "jeju": "39"}


def test_seventeen_provinces_ordered_by_code_with_stable_keys():
    assert len(regions.REGIONS) == 17
    assert {r.key: r.code for r in regions.REGIONS} == KOSIS_CODES
    codes = [r.code for r in regions.REGIONS]
    assert codes == sorted(codes)
    assert regions.keys()[0] == "seoul" and regions.keys()[-1] == "jeju"


def test_region_is_frozen():
    with pytest.raises(Exception):
        regions.REGIONS[0].key = "x"  # type: ignore[misc]


def test_macro_regions_and_capital_flag():
    groups = {m.name_ko: set(m.members) for m in regions.MACRO_REGIONS.values()}
    assert groups == {
        "수도권": {"seoul", "incheon", "gyeonggi"},
        "충청권": {"daejeon", "sejong", "chungbuk", "chungnam"},
        "호남권": {"gwangju", "jeonbuk", "jeonnam"},
        "대경권": {"daegu", "gyeongbuk"},
        "동남권": {"busan", "ulsan", "gyeongnam"},
        "강원권": {"gangwon"},
        "제주권": {"jeju"},
    }
    # every province in exactly one 권역, and KOSTAT's numbering 1..7
    members = [k for m in regions.MACRO_REGIONS.values() for k in m.members]
    assert sorted(members) == sorted(KOSIS_CODES)
    assert [m.number for m in regions.MACRO_REGIONS.values()] == list(range(1, 8))
    assert {r.key for r in regions.REGIONS if r.capital_region} == {"seoul", "incheon", "gyeonggi"}
    assert regions.lookup_macro("1.수도권").key == "capital"
    assert [r.key for r in regions.members("5.동남권")] == ["busan", "ulsan", "gyeongnam"]


def test_sejong_start_and_carve_out_documented():
    s = regions.get("sejong")
    assert (s.first_year, s.first_full_year) == (2012, 2013)
    assert "chungnam" in s.carved_from
    assert regions.get("ulsan").first_year == 1997
    assert "Sejong" in regions.__doc__ and "Chungnam" in regions.__doc__


@pytest.mark.parametrize("alias, key", [
    ("서울특별시", "seoul"), ("서울시", "seoul"), ("서울", "seoul"), ("서울계", "seoul"),
    ("Seoul", "seoul"), ("SU", "seoul"), ("2.서울특별시", "seoul"),
    ("강원도", "gangwon"), ("강원특별자치도", "gangwon"), ("Gangwon-do", "gangwon"), ("GW", "gangwon"),
    ("전라북도", "jeonbuk"), ("전북특별자치도", "jeonbuk"), ("Jeollabuk-do", "jeonbuk"), ("전북계", "jeonbuk"),
    ("제주특별자치도", "jeju"), ("제주도", "jeju"), ("Jeju-do", "jeju"),
    ("Gyeonggi-do", "gyeonggi"), ("경기", "gyeonggi"), ("Sejong_si", "sejong"), ("세종", "sejong"),
    ("세종특별자치시", "sejong"), ("Chungcheongbuk-do", "chungbuk"), ("충북계", "chungbuk"),
    ("Gyeongsangnam-do", "gyeongnam"), ("DJ", "daejeon"), ("US", "ulsan"), ("CN", "chungnam"),
    ("  부산광역시 ", "busan"), ("gyeonggi do", "gyeonggi"), ("ＳＥＯＵＬ", "seoul"),
])
def test_aliases(alias, key):
    assert regions.normalize(alias) == key
    assert regions.lookup(alias).key == key


@pytest.mark.parametrize("name", ["전국", "0.전국", "전국계", "Whole country", "계"])
def test_nation_is_not_a_province(name):
    assert regions.is_nation(name)
    with pytest.raises(UnknownRegionError, match="whole country"):
        regions.lookup(name)


def test_unknown_name_is_an_error_with_a_suggestion_and_location():
    with pytest.raises(UnknownRegionError, match=r"did you mean '서울특별시' \(seoul\)") as info:
        regions.lookup("서울툭별시", file="x.csv", row=7, column="A")
    err = info.value
    assert isinstance(err, DataError) and isinstance(err, KeyError)
    assert (err.file, err.row, err.column) == ("x.csv", 7, "A")
    assert "What to do" in str(err)
    with pytest.raises(UnknownRegionError, match="Busan"):
        regions.lookup("Busam")
    with pytest.raises(UnknownRegionError, match="macro-region"):
        regions.lookup("수도권")
    with pytest.raises(UnknownRegionError):
        regions.lookup("광주시")   # ambiguous: also a city in Gyeonggi-do


def test_by_code_and_to_frame():
    assert regions.by_code("29").key == "sejong"
    assert regions.by_code(11).key == "seoul"
    with pytest.raises(UnknownRegionError):
        regions.by_code("41")     # a MOIS code, not a KOSIS one
    frame = regions.to_frame()
    assert list(frame["region"]) == list(KOSIS_CODES)
    assert frame["capital_region"].sum() == 3
    assert frame.set_index("region").loc["sejong", "macro_region_ko"] == "충청권"
    assert set(frame.columns) >= {"region", "code", "region_ko", "region_en", "macro_region",
                                  "capital_region"}


# ---------------------------------------------------------------- every name in the real files

def _names_in(shared_data):
    """Every region-like label in the public raw files, by file."""
    import openpyxl
    out = {}
    def csv_first_col(rel, skip=1, col=0, comment=False):
        text = (shared_data / rel).read_text(encoding="utf-8-sig")
        lines = [l for l in text.splitlines() if not (comment and l.startswith("#"))]
        rows = list(csv.reader(lines))[skip:]
        out[rel] = {r[col] for r in rows if r}
    csv_first_col("kosis_fiscal_self_reliance/fiscal_autonomy_DT_1YL20921_sido_rows_excerpt.csv", skip=2)
    csv_first_col("kosis_grdp_population/Resident_Population_by_City__County__and_District_1992-2020.csv")
    csv_first_col("kipris_fintech_and_kosis_2014_2023/yinbianliang_GRDP2014-2023.csv")
    csv_first_col("kosis_sigungu_grdp/grdp_sigungu_2010_2020.csv", skip=2)
    csv_first_col("real_grdp_per_capita/GRDP_09WON_state.csv", col=1, comment=True)
    csv_first_col("real_grdp_per_capita/states_subregions.csv", col=1, comment=True)
    csv_first_col("real_grdp_per_capita/states_subregions.csv", col=0, comment=True)
    out["states codes"] = out.pop("real_grdp_per_capita/states_subregions.csv")
    for ind in ("indicator_5-1-2.csv", "indicator_6-1-1.csv"):
        csv_first_col("kostat_regional_indicators/" + ind, col=1)
    for rel, col, skip in [("kipris_fintech_and_kosis_2014_2023/kongzhi4_OPE2014-2023.xlsx", 0, 1),
                           ("kipris_fintech_and_kosis_2014_2023/kongzhi5_MAR2013-2024.xlsx", 0, 1),
                           ("kipris_fintech_and_kosis_2014_2023/kongzhi6_GOV2014-2023.xlsx", 0, 1),
                           ("kipris_fintech_and_kosis_2014_2023/kongzhi1_HUM2014-2023.xlsx", 1, 1),
                           ("kosis_grdp_population/Regional_GDP__Gross_regional_income_and_Individual_income_20231118124541.xlsx", 1, 1)]:
        wb = openpyxl.load_workbook(shared_data / rel, read_only=True)
        ws = wb.worksheets[0]
        ws.reset_dimensions()
        out[rel] = {r[col] for r in list(ws.iter_rows(values_only=True))[skip:]
                    if len(r) > col and r[col] not in (None, "") and not str(r[col]).startswith("단위")}
    wb = openpyxl.load_workbook(shared_data / "kipris_fintech_and_kosis_2014_2023/kongzhi3_TECyanfafei2014-2023.xlsx")
    row2 = list(wb.worksheets[0].iter_rows(min_row=2, max_row=2, values_only=True))[0]
    out["kongzhi3"] = {v for v in row2[1:] if v and v != "연구개발비"}
    return out


def test_every_region_name_in_the_real_files_resolves(shared_data):
    ignore = {"(Ulsan-si)", "(Ulsan-gun)"}
    seen = set()
    for rel, names in _names_in(shared_data).items():
        for name in names:
            name = str(name).strip()
            if name in ignore or regions.is_nation(name) or regions.is_macro(name):
                continue
            regions.lookup(name)        # raises if unknown
            seen.add(name)
    # the renamed provinces appear under both names across the files
    for pair in [("강원도", "강원특별자치도"), ("전라북도", "전북특별자치도")]:
        assert set(pair) <= seen
    assert {"Gyeonggi-do", "Sejong_si", "서울계", "서울", "SU", "Chungcheongbuk-do"} <= seen


def test_empty_name_is_an_error():
    with pytest.raises(UnknownRegionError, match="empty region name"):
        regions.lookup("  ")


def test_one_rule_names_a_cluster_variable_in_the_standard_errors_row_and_in_the_notes():
    import dataclasses

    from regrowth import specs
    from regrowth.report.notes import grouping_notes, resampling

    assert [regions.group_label(g) for g in (None, "region", "macro_region", "firm_id")] == \
        ["province", "province", "macro-region", "firm_id"]
    clustered = next(c for c in specs.load().columns() if c.se_type == "cluster")
    for groups in ("region", "macro_region", "firm_id"):
        # the notes and the tables' "Standard errors" row print the same words
        words = f"clustered by {regions.group_label(groups)}"
        assert resampling(groups, 7, 49) == words
        boot = {"x": {"groups": groups, "own_test": True, "n_clusters": 7, "reps": 128,
                      "enumerated": True}}
        note, = grouping_notes([("(1)", {"bootstrap": boot})])
        assert f"wild-bootstraps by {regions.group_label(groups)} (7 clusters" in note
        assert dataclasses.replace(clustered, se_groups=groups).se_label() == words
