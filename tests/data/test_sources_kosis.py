"""The general KOSIS export parser on small synthetic files: encodings, header forms,
multi-row headers, merged year cells, units, missing markers, the long layout."""

from __future__ import annotations

import math

import pytest

from regrowth.errors import DataError
from regrowth.sources import kosis, kosis_tables

FISCAL = (
    '"행정구역별(1)",행정구역별(2),2013,2014,2014,2015,2015\n'
    '"행정구역별(1)",행정구역별(2),재정자립도(세입과목개편전),재정자립도(세입과목개편전),'
    '재정자립도(세입과목개편후),재정자립도(세입과목개편전),재정자립도(세입과목개편후)\n'
    '"전국",소계,51.1,50.3,44.8,50.6,45.1\n'
    '"서울특별시",소계,88.8,84.2,80.0,84.3,80.3\n'
    '"세종특별자치시",소계,38.8,50.6,47.6,-,…\n'
    '"강원도",소계,26.6,26.6,22.2,,21.5\n')


def as_dict(frame):
    return {(r.variable, r.region, r.year): r.value for r in frame.itertuples()}


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp949"])
def test_encodings_give_the_same_table(make_csv, encoding):
    path = make_csv(FISCAL, encoding=encoding)
    frame, report = kosis_tables.parse_fiscal(path, raw_dir=path.parent)
    assert report["encoding"] == encoding
    d = as_dict(frame)
    assert d[("fiscal_self_reliance", "seoul", 2014)] == 84.2
    assert d[("fiscal_self_reliance_rev", "seoul", 2014)] == 80.0
    assert d[("fiscal_self_reliance_rev", "gangwon", 2015)] == 21.5
    # '-', '…' and blanks are missing: not in the tidy table
    assert ("fiscal_self_reliance", "sejong", 2015) not in d
    assert ("fiscal_self_reliance_rev", "sejong", 2015) not in d
    assert ("fiscal_self_reliance", "gangwon", 2015) not in d
    assert ("fiscal_self_reliance_rev", "seoul", 2013) not in d     # no revised series before 2014
    assert set(frame.region) == {"seoul", "sejong", "gangwon"}      # 전국 is not a province
    assert list(frame.source.unique()) == ["t.csv"]


def test_fiscal_without_item_row_follows_the_documented_2014_pattern(make_csv):
    # pandas writes a repeated header as 2014, 2014.1: the old classification comes first
    text = ('행정구역별(1),행정구역별(2),2013,2014,2014.1,2015,2015.1\n'
            '서울특별시,소계,88.8,84.2,80.0,84.3,80.3\n')
    frame, _ = kosis_tables.parse_fiscal(make_csv(text), raw_dir=None)
    d = as_dict(frame)
    assert d[("fiscal_self_reliance", "seoul", 2013)] == 88.8
    assert d[("fiscal_self_reliance", "seoul", 2015)] == 84.3
    assert d[("fiscal_self_reliance_rev", "seoul", 2015)] == 80.3


@pytest.mark.parametrize("header", ["2019,2020", "2019년,2020년", "2019 ,2020 p)", "2019.0,2020.0"])
def test_year_header_forms(make_csv, header):
    frame, _ = kosis_tables.parse_population(make_csv(f"By Administrative District,{header}\nSeoul,10,11\n"))
    assert as_dict(frame) == {("population", "seoul", 2019): 10.0, ("population", "seoul", 2020): 11.0}


def test_thousands_separators_and_fullwidth_unit_hint(make_xlsx):
    rows = [["자치단체（단위:천원）", "2014년", "2015년", None],
            ["전국계", "189,298,046,718", "207,187,794,244", None],
            ["서울계", "26,697,048,134", "29,026,230,303", None],
            ["세종계", "630,027,380", "…", None]]
    frame, report = kosis_tables.parse_local_gov(make_xlsx(rows))
    assert report["unit"] == "천원"
    d = as_dict(frame)
    assert d[("local_gov_amount", "seoul", 2014)] == 26697048134.0
    assert d[("local_gov_amount", "sejong", 2014)] == 630027380.0
    assert ("local_gov_amount", "sejong", 2015) not in d


def test_unit_hint_in_the_region_header_and_meta_sheet(make_xlsx):
    rows = [["행정구역별(단위: 100만달러)", "2014", "2015"], ["전국", 3, 4], ["서울특별시", 1, 2]]
    path = make_xlsx(rows, meta={"통계표ID": "DT_1YL6901", "단위": "100만달러"})
    table = kosis.read_kosis(path)
    assert (table.table_id, table.unit, table.label_names) == ("DT_1YL6901", "100만달러", ["행정구역별"])
    frame, _ = kosis_tables.parse_exports(path)
    assert as_dict(frame) == {("exports", "seoul", 2014): 1.0, ("exports", "seoul", 2015): 2.0}


def test_merged_year_cells_with_regions_in_the_item_row(make_xlsx):
    rows = [["연구수행주체별(1)", "2014", None, None, "2015", None, None],
            [None, "연구개발비", "서울", "세종", "연구개발비", "서울", "세종"],
            ["총계", 10, 7, 3, 12, 8, 4],
            ["공공연구기관", 1, 1, 0, 1, 1, 0]]
    path = make_xlsx(rows, merged=["B1:D1", "E1:G1", "A1:A2"],
                     meta={"통계표ID": "DT_KBA0019", "단위": "백만원"})
    frame, report = kosis_tables.parse_rnd(path)
    assert as_dict(frame) == {("rnd", "seoul", 2014): 7.0, ("rnd", "seoul", 2015): 8.0,
                              ("rnd", "sejong", 2014): 3.0, ("rnd", "sejong", 2015): 4.0}
    assert report["national_minus_sum"] == {2014: 0.0, 2015: 0.0}
    assert report["header_rows"] == 2


def test_long_layout_with_period_forward_filled(make_xlsx):
    rows = [["Period", "By province", "Regional GDP per Capita", "Private Consumption per Capita"],
            ["2012", "Whole country", 100, "-"], ["", "Seoul", 120, "-"], ["", "Sejong", "-", "-"],
            ["2013", "Whole country", 105, 50], ["", "Seoul", 125, 60], ["", "Sejong", 90, 40]]
    path = make_xlsx(rows, sheet="Data", meta={"Table ID": "DT_1C86", "Unit": "Thousand won"})
    table = kosis.read_kosis(path)
    assert table.layout == "long" and table.table_id == "DT_1C86" and table.unit == "Thousand won"
    frame, report = kosis_tables.parse_grdp_nominal(path)
    assert as_dict(frame) == {("grdp_pc_nominal", "seoul", 2012): 120.0,
                              ("grdp_pc_nominal", "seoul", 2013): 125.0,
                              ("grdp_pc_nominal", "sejong", 2013): 90.0,
                              ("consumption_pc", "seoul", 2013): 60.0,
                              ("consumption_pc", "sejong", 2013): 40.0}
    assert report["items_unused"] == []


def test_ignore_list_for_sub_rows_and_the_nation_row(make_csv):
    text = ("By Administrative District,1995,1997\nWhole country,10,12\nUlsan,-,5\n"
            "(Ulsan-si),3,-\n(Ulsan-gun),1,-\nGyeongsangnam-do,9,4\n")
    frame, report = kosis_tables.parse_population(make_csv(text))
    assert report["skipped_rows"] == ["(Ulsan-gun)", "(Ulsan-si)"]
    assert as_dict(frame) == {("population", "ulsan", 1997): 5.0,
                              ("population", "gyeongnam", 1995): 9.0,
                              ("population", "gyeongnam", 1997): 4.0}


def test_sub_rows_are_errors_unless_ignored(make_csv):
    path = make_csv("By Administrative District,1995\n(Ulsan-si),3\n")
    with pytest.raises(DataError, match=r"\(Ulsan-si\)"):
        kosis.parse_kosis(path, "population")


def test_several_items_need_a_mapping(make_csv):
    path = make_csv(FISCAL)
    with pytest.raises(DataError, match="several items"):
        kosis.parse_kosis(path, "fiscal_self_reliance")
    with pytest.raises(DataError, match="unexpected item"):
        kosis.parse_kosis(path, {"재정자립도(세입과목개편전)": "fiscal_self_reliance"})
    frame = kosis.parse_kosis(path, {"재정자립도(세입과목개편전)": "fiscal_self_reliance"},
                              other_items="ignore")
    assert set(frame.variable) == {"fiscal_self_reliance"}


def test_parse_year():
    assert kosis.parse_year("2014") == 2014
    assert kosis.parse_year("2014.1") == 2014
    assert kosis.parse_year("2014년") == 2014
    assert kosis.parse_year("2023 p)") == 2023
    assert kosis.parse_year(2014.0) == 2014
    assert kosis.parse_year("행정구역별") is None
    assert kosis.parse_year(12345) is None
    assert kosis.parse_year(float("nan")) is None


def test_full_edition_download_is_read_from_raw_kosis_or_named_when_missing(tmp_path, make_xlsx):
    from regrowth import sources
    from regrowth.errors import MissingInputError
    with pytest.raises(MissingInputError, match="KOSIS table DT_1YL202109E has not been downloaded") as info:
        sources.load_kosis_download(tmp_path, "DT_1YL202109E", "patents_all")
    assert "data/raw/kosis/DT_1YL202109E.csv" in str(info.value)
    (tmp_path / "kosis").mkdir()
    # synthetic numbers: two provinces only, so partial coverage must be allowed explicitly
    make_xlsx([["시도별", "2019", "2020"], ["전국", 30, 40], ["서울특별시", 10, 12], ["경기도", 8, 9]],
              name="kosis/DT_1YL202109E_20250101.xlsx",
              meta={"통계표ID": "DT_1YL202109E", "단위": "건"})   # the meta sheet states its unit
    with pytest.raises(DataError, match="covers 2 of the 17 provinces"):
        sources.load_kosis_download(tmp_path, "DT_1YL202109E", "patents_all")
    frame = sources.load_kosis_download(tmp_path, "DT_1YL202109E", "patents_all", allow_partial=True)
    assert as_dict(frame) == {("patents_all", "seoul", 2019): 10.0, ("patents_all", "seoul", 2020): 12.0,
                              ("patents_all", "gyeonggi", 2019): 8.0, ("patents_all", "gyeonggi", 2020): 9.0}
    assert frame.source.unique().tolist() == ["kosis/DT_1YL202109E_20250101.xlsx"]
    assert frame.attrs["report"].missing_provinces[:2] == ["busan", "daegu"]


def test_items_listed_as_a_row_label(make_csv):
    text = ("행정구역별,항목,단위,2019,2020\n전국,특허출원,건,30,40\n서울특별시,특허출원,건,10,12\n"
            "서울특별시,실용신안,건,1,2\n")
    frame = kosis.parse_kosis(make_csv(text), {"특허출원": "patents_all"}, item_label=1,
                              other_items="ignore")
    assert as_dict(frame) == {("patents_all", "seoul", 2019): 10.0, ("patents_all", "seoul", 2020): 12.0}


# ------------------------------------------------- hints name the fix that works (issue 20)

TWO_ITEMS = ("행정구역별,2019,2019\n,재정자립도(세입과목개편전),재정자립도(세입과목개편후)\n"
             "서울특별시,80,70\n")


def test_several_items_hint_names_a_call_that_reads_the_file(make_csv):
    path = make_csv(TWO_ITEMS)
    with pytest.raises(DataError, match="several items") as err:
        kosis.parse_kosis(path, "fiscal_self_reliance")
    assert "other_items='ignore'" in err.value.hint
    # the call the hint names, with the variable filled in, reads the one item
    frame = kosis.parse_kosis(path, {"재정자립도(세입과목개편전)": "fiscal_self_reliance"},
                              other_items="ignore")
    assert frame[["region", "year", "value"]].values.tolist() == [["seoul", 2019, 80.0]]


def test_an_unexpected_item_hint_offers_the_mapping_or_other_items_ignore(make_csv):
    path = make_csv(TWO_ITEMS)
    with pytest.raises(DataError, match="unexpected item") as err:
        kosis.parse_kosis(path, {"재정자립도(세입과목개편전)": "fiscal_self_reliance"})
    assert "add the item to the mapping" in err.value.hint
    assert "other_items='ignore'" in err.value.hint
    both = kosis.parse_kosis(path, {"재정자립도(세입과목개편전)": "old",
                                    "재정자립도(세입과목개편후)": "new"})
    assert sorted(both["variable"]) == ["new", "old"]


def test_a_misspelt_item_is_matched_to_the_closest_printed_item(make_csv):
    with pytest.raises(DataError, match=r"'재정자립도 세입과목 개편 전' is close to "
                                        r"'재정자립도\(세입과목개편전\)'") as err:
        kosis.parse_kosis(make_csv(TWO_ITEMS), {"재정자립도 세입과목 개편 전": "x"},
                          other_items="ignore")
    assert "spell each key" in err.value.hint


def test_a_second_category_hint_names_the_where_that_keeps_one(make_csv):
    path = make_csv("행정구역별,성별,2019\n서울특별시,남자,10\n서울특별시,여자,11\n")
    with pytest.raises(DataError, match="holds several values") as err:
        kosis.parse_kosis(path, "population")
    assert "where={1: '남자'}" in err.value.hint
    frame = kosis.parse_kosis(path, "population", where={1: "남자"})
    assert frame["value"].tolist() == [10.0]


def test_a_district_table_is_called_one_instead_of_suggesting_an_alias(make_csv):
    with pytest.raises(DataError, match="a 시군구 name: this is not a 시도 table") as err:
        kosis.parse_kosis(make_csv("시군구별,2019\n종로구,80.5\n"), "x")
    assert "시도 level" in err.value.hint and "aliases" not in err.value.hint


def test_a_unit_mismatch_hint_names_the_unit_to_download(make_csv):
    with pytest.raises(DataError, match="unit is '천원'") as err:
        kosis.parse_kosis(make_csv("행정구역별(단위: 천원),2019\n서울특별시,80.5\n"), "x",
                          expect_units=("백만원",))
    assert "'백만원'" in err.value.hint
