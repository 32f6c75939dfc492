"""Bad input at the parser level: each case stops with a DataError that names the file,
the row and the column, says what is wrong and what to do.

Rows are 1-based as a spreadsheet shows them (header = row 1); columns are letters.
Files are small synthetic ones written to tmp_path, except the truncated xlsx cases,
which cut real public files in half when they are available.
"""

from __future__ import annotations

import shutil

import pytest

from regrowth.errors import DataError, MissingInputError, UnknownRegionError
from regrowth.sources import gcam_korea, kipris, kosis, kosis_tables, kostat

POP_HEADER = "By Administrative District,2018,2019,2020\n"
FISCAL_HEADER = (
    '"행정구역별(1)",행정구역별(2),2012,2013,2014,2014\n'
    '"행정구역별(1)",행정구역별(2),재정자립도(세입과목개편전),재정자립도(세입과목개편전),'
    '재정자립도(세입과목개편전),재정자립도(세입과목개편후)\n')
KIPRIS_HEADER = ["순번", "IPC분류", "출원번호", "출원일자", "출원인"]


def kipris_rows(*records):
    return [KIPRIS_HEADER, *[[i + 1, "G06Q 20/00", *r] for i, r in enumerate(records)]]


def where(err: DataError):
    return (err.file, err.row, err.column)


# 1 -------------------------------------------------------------------- encoding
def test_latin1_csv_is_refused_naming_the_encodings_tried(make_csv):
    path = make_csv(POP_HEADER + "Seoul,1,2,3\nR\u00e9gion,4,5,6\n", encoding="latin-1")
    with pytest.raises(DataError, match=r"neither UTF-8 .* nor CP949 \(tried utf-8-sig, utf-8, cp949\)") as info:
        kosis_tables.parse_population(path, raw_dir=path.parent)
    assert where(info.value) == ("t.csv", 3, None)
    assert "save it again as CSV in UTF-8 or CP949" in str(info.value)


def test_latin1_bytes_that_happen_to_be_valid_cp949_are_still_refused(make_csv):
    # b"\xe9\xe9" decodes in CP949 (to a hanja), but a KOSIS file is Hangul, not hanja
    path = make_csv(POP_HEADER + "Seoul,1,2,3\nAr\u00e9\u00e9,4,5,6\n", encoding="latin-1")
    (path.read_bytes().decode("cp949"))          # really is decodable as CP949
    with pytest.raises(DataError, match="neither UTF-8") as info:
        kosis_tables.parse_population(path, raw_dir=path.parent)
    assert where(info.value) == ("t.csv", 3, None)


def test_utf16_csv_is_refused(make_csv):
    path = make_csv(POP_HEADER + "Seoul,1,2,3\n", encoding="utf-16")
    with pytest.raises(DataError, match="UTF-16 or binary") as info:
        kosis_tables.parse_population(path, raw_dir=path.parent)
    assert where(info.value) == ("t.csv", 1, None)
    assert "What to do" in str(info.value)


# 2 -------------------------------------------------------------- shifted header
def test_header_below_a_title_block_is_reported_with_its_row(make_csv):
    path = make_csv("재정자립도(시도) 2012-2014\n\n" + FISCAL_HEADER + '"서울특별시",소계,1,2,3,4\n')
    with pytest.raises(DataError, match=r"header row with the years is row 3, not row 1: .* 2 extra row") as info:
        kosis_tables.parse_fiscal(path, raw_dir=path.parent)
    assert where(info.value) == ("t.csv", 1, "A")
    assert "delete rows 1-2" in str(info.value)


def test_kipris_header_not_on_row_one(make_xlsx):
    path = make_xlsx([["KIPRIS 검색결과"], *kipris_rows(["1020200000001", "2020.01.02", "가(서울 강남구...)"])])
    with pytest.raises(DataError, match="is on row 2, not row 1") as info:
        kipris.parse_kipris(path, raw_dir=path.parent)
    assert where(info.value) == ("t.xlsx", 1, "A")


# 3 --------------------------------------------------------------- unknown region
def test_unknown_region_names_the_cell_and_suggests(make_csv):
    path = make_csv(POP_HEADER + "Seoul,1,2,3\nBusann,4,5,6\n")
    with pytest.raises(UnknownRegionError, match=r"unknown region name 'Busann'; did you mean 'Busan' \(busan\)") as info:
        kosis_tables.parse_population(path, raw_dir=path.parent)
    assert where(info.value) == ("t.csv", 3, "A")


def test_unknown_region_in_the_item_row_of_the_rnd_layout(make_xlsx):
    rows = [["연구수행주체별(1)", "2014", None, None], [None, "연구개발비", "서울", "부샨"],
            ["총계", 3, 1, 2]]
    path = make_xlsx(rows)
    with pytest.raises(UnknownRegionError, match="'부샨'") as info:
        kosis_tables.parse_rnd(path, raw_dir=path.parent)
    assert where(info.value) == ("t.xlsx", 2, "D")


def test_unknown_province_code_in_gcam_file(make_csv):
    path = make_csv("# File: x\n# Units: 2009 Thou. Won per capita\n# ----------\n"
                    "Fips,Area,1997,1998\n0,SU,1,2\n0,XQ,3,4\n")
    with pytest.raises(UnknownRegionError, match="'XQ'") as info:
        gcam_korea.parse_grdp_real(path, raw_dir=path.parent)
    assert where(info.value) == ("t.csv", 6, "B")


# 4 -------------------------------------------------------- duplicated region-year
def test_duplicated_region_year_names_both_rows(make_csv):
    # 서울특별시 and 서울시 are the same province
    path = make_csv(POP_HEADER + "서울특별시,1,2,3\n부산광역시,4,5,6\n서울시,7,8,9\n")
    with pytest.raises(DataError, match=r"duplicated region-year: seoul 2018 .* rows 2 and 4") as info:
        kosis_tables.parse_population(path, raw_dir=path.parent)
    assert where(info.value) == ("t.csv", 4, "A")


def test_duplicated_area_year_in_kostat_indicator(make_csv):
    path = make_csv("\ufeffYear,지역,Value\n2001,1.수도권,10\n2001,2.충청권,5\n2001,1.수도권,11\n")
    with pytest.raises(DataError, match="duplicated region-year: capital 2001 .* rows 2 and 4") as info:
        kostat.parse_patents_pm_macro(path, raw_dir=path.parent)
    assert where(info.value) == ("t.csv", 4, "B")


# 5 --------------------------------------------------------------- non-numeric cell
def test_non_numeric_cell(make_csv):
    path = make_csv(FISCAL_HEADER + '"서울특별시",소계,90.2,88.8,12.3a,80.0\n')
    with pytest.raises(DataError, match=r"non-numeric cell '12.3a'") as info:
        kosis_tables.parse_fiscal(path, raw_dir=path.parent)
    assert where(info.value) == ("t.csv", 3, "E")
    assert "'-' or '…' for missing" in str(info.value)


# 6, 7 ------------------------------------------------------- negative / fractional
def test_negative_count(make_csv):
    path = make_csv(POP_HEADER + "Seoul,1,2,3\nBusan,4,-5,6\n")
    with pytest.raises(DataError, match=r"negative count -5 for population .* busan 2019") as info:
        kosis_tables.parse_population(path, raw_dir=path.parent)
    assert where(info.value) == ("t.csv", 3, "C")


def test_fractional_count(make_xlsx):
    rows = [["행정구역(시군구)별", "2013", "2014"], ["전국", 10, 20], ["서울특별시", 4, 5.5]]
    path = make_xlsx(rows)
    with pytest.raises(DataError, match=r"fractional count 5.5 for households .* seoul 2014") as info:
        kosis_tables.parse_households(path, raw_dir=path.parent)
    assert where(info.value) == ("t.xlsx", 3, "C")
    assert "whole number" in str(info.value)


# 8 ------------------------------------------------------------------ truncated xlsx
def _cut_in_half(src, dst):
    data = src.read_bytes()
    dst.write_bytes(data[: len(data) // 2])
    return dst


def test_truncated_kosis_xlsx_is_a_clear_error_not_a_zip_traceback(shared_data, tmp_path):
    src = shared_data / "kipris_fintech_and_kosis_2014_2023" / "kongzhi4_OPE2014-2023.xlsx"
    path = _cut_in_half(src, tmp_path / "kongzhi4_OPE2014-2023.xlsx")
    with pytest.raises(DataError, match=r"not a complete \.xlsx file .* truncated") as info:
        kosis_tables.parse_exports(path, raw_dir=tmp_path)
    assert where(info.value) == ("kongzhi4_OPE2014-2023.xlsx", None, None)
    assert "make data" in str(info.value)


def test_truncated_kipris_xlsx(shared_data, tmp_path):
    src = shared_data / "kipris_fintech_and_kosis_2014_2023" / "zibianliang1_FintechPatent_2012-2023.xlsx"
    path = _cut_in_half(src, tmp_path / "k.xlsx")
    with pytest.raises(DataError, match=r"not a complete \.xlsx file") as info:
        kipris.parse_kipris(path, raw_dir=tmp_path)
    assert info.value.file == "k.xlsx"


def test_truncated_synthetic_xlsx(make_xlsx):
    path = make_xlsx([["행정구역별(단위: 100만달러)", "2014"], ["서울특별시", 1]])
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="truncated") as info:
        kosis_tables.parse_exports(path, raw_dir=path.parent)
    assert info.value.file == "t.xlsx"


# 9 ------------------------------------------------------------ CSV with a short row
def test_csv_with_a_short_last_row(make_csv):
    path = make_csv(POP_HEADER + "Seoul,1,2,3\nBusan,4,5")
    with pytest.raises(DataError, match=r"row has 3 fields but the header has 4: the row is cut short") as info:
        kosis_tables.parse_population(path, raw_dir=path.parent)
    assert where(info.value) == ("t.csv", 3, "D")


def test_kostat_indicator_with_a_short_row(make_csv):
    path = make_csv("Year,지역,Value\n2001,1.수도권,10\n2001,2.충청권\n")
    with pytest.raises(DataError, match="truncated") as info:
        kostat.parse_patents_pm_macro(path, raw_dir=path.parent)
    assert where(info.value) == ("t.csv", 3, "C")


# 10 ------------------------------------------------------------------- empty file
@pytest.mark.parametrize("name, parser", [
    ("t.csv", kosis_tables.parse_population), ("t.xlsx", kosis_tables.parse_exports),
    ("k.xlsx", kipris.parse_kipris), ("g.csv", gcam_korea.parse_grdp_real),
    ("i.csv", kostat.parse_patents_pm_macro)])
def test_empty_file(tmp_path, name, parser):
    path = tmp_path / name
    path.write_bytes(b"")
    with pytest.raises(DataError, match="the file is empty") as info:
        parser(path, raw_dir=tmp_path)
    assert info.value.file == name
    assert "make data" in str(info.value)


def test_header_only_file_has_no_data_rows(make_csv):
    path = make_csv(POP_HEADER)
    with pytest.raises(DataError, match="no data rows below the header") as info:
        kosis_tables.parse_population(path, raw_dir=path.parent)
    assert where(info.value) == ("t.csv", 2, None)


# 11 ---------------------------------------------------------- missing year columns
def test_missing_year_columns(make_csv):
    path = make_csv("By Administrative District,Population,Households\nSeoul,1,2\n")
    with pytest.raises(DataError, match="no year columns found") as info:
        kosis_tables.parse_population(path, raw_dir=path.parent)
    assert where(info.value) == ("t.csv", 1, None)
    assert "시점" in str(info.value)


def test_header_cell_that_is_not_a_year(make_csv):
    path = make_csv("By Administrative District,2018,2019,Note\nSeoul,1,2,3\n")
    with pytest.raises(DataError, match=r"header cell 'Note' is not a year") as info:
        kosis_tables.parse_population(path, raw_dir=path.parent)
    assert where(info.value) == ("t.csv", 1, "D")


# 12 ------------------------------------------------------- duplicated year column
@pytest.mark.parametrize("header", ["2018,2019,2019", "2018,2019,2019.1"])
def test_duplicated_year_column(make_csv, header):
    path = make_csv(f"By Administrative District,{header}\nSeoul,1,2,3\n")
    with pytest.raises(DataError, match=r"year 2019 appears twice \(columns C and D\)") as info:
        kosis_tables.parse_population(path, raw_dir=path.parent)
    assert where(info.value) == ("t.csv", 1, "D")


def test_year_repeated_with_the_same_item(make_csv):
    text = FISCAL_HEADER.replace("재정자립도(세입과목개편후)", "재정자립도(세입과목개편전)") + '"서울특별시",소계,1,2,3,4\n'
    path = make_csv(text)
    with pytest.raises(DataError, match=r"year 2014 appears twice .* same item") as info:
        kosis_tables.parse_fiscal(path, raw_dir=path.parent)
    assert where(info.value) == ("t.csv", 1, "F")   # the row of the years


def test_year_three_times_without_item_row(make_csv):
    path = make_csv('"행정구역별(1)",행정구역별(2),2013,2014,2014,2014\n"서울특별시",소계,1,2,3,4\n')
    with pytest.raises(DataError, match=r"year 2014 appears 3 times") as info:
        kosis_tables.parse_fiscal(path, raw_dir=path.parent)
    assert where(info.value) == ("t.csv", 1, "F")


# 13 ---------------------------------------------------- KIPRIS application date
@pytest.mark.parametrize("bad", ["2021.13.45", "2021-02-3O", "", "미상"])
def test_unparseable_kipris_date(make_xlsx, bad):
    path = make_xlsx(kipris_rows(["1020200000001", "2020.01.02", "가(서울특별시 강남구...)"],
                                 ["1020200000002", bad, "나(부산광역시 ...)"]))
    with pytest.raises(DataError, match=f"unparseable application date '{bad}'") as info:
        kipris.parse_kipris(path, raw_dir=path.parent)
    assert where(info.value) == ("t.xlsx", 3, "D")
    assert "YYYY.MM.DD" in str(info.value)


def test_kipris_missing_column(make_xlsx):
    path = make_xlsx([["순번", "IPC분류", "출원번호", "출원인"], [1, "G06Q", "1", "가(서울 ...)"]])
    with pytest.raises(DataError, match="column '출원일자' not found") as info:
        kipris.parse_kipris(path, raw_dir=path.parent)
    assert where(info.value) == ("t.xlsx", 1, None)


# 14 ------------------------------------------------------------ value out of range
@pytest.mark.parametrize("value, col", [("104.2", "E"), ("-3.0", "F")])
def test_fiscal_self_reliance_out_of_range(make_csv, value, col):
    cells = ["90.2", "88.8", "84.2", "80.0"]
    cells[{"E": 2, "F": 3}[col]] = value
    path = make_csv(FISCAL_HEADER + '"전국",소계,50,51,52,53\n"서울특별시",소계,' + ",".join(cells) + "\n")
    with pytest.raises(DataError, match=rf"value {float(value):g} of fiscal_self_reliance\S* .* outside "
                                        r"the valid range \[0, 100\]") as info:
        kosis_tables.parse_fiscal(path, raw_dir=path.parent)
    assert where(info.value) == ("t.csv", 4, col)


def test_higher_ed_rate_that_is_not_entrants_over_graduates(make_xlsx):
    rows = [["연도", "시도", "학제", "졸업자", "진학자", "진학률"],
            ["2014", "서울", "고등학교", 100, 60, 0.6], ["2015", "서울", "고등학교", 100, 70, 0.07]]
    path = make_xlsx(rows)
    with pytest.raises(DataError, match=r"진학률 0.07 for seoul 2015 is not 진학자/졸업자 = 0.7") as info:
        kosis_tables.parse_higher_ed(path, raw_dir=path.parent)
    assert where(info.value) == ("t.xlsx", 3, "F")


def test_more_entrants_than_graduates_is_out_of_range(make_xlsx):
    rows = [["연도", "시도", "학제", "졸업자", "진학자", "진학률"], ["2014", "부산", "고등학교", 100, 120, None]]
    path = make_xlsx(rows)
    with pytest.raises(DataError, match=r"higher_ed_rate .* busan 2014 is outside the valid range \[0, 1\]") as info:
        kosis_tables.parse_higher_ed(path, raw_dir=path.parent)
    assert where(info.value) == ("t.xlsx", 2, "E")


# 15 ---------------------------------------------------------------- wrong unit
def test_unit_hint_that_differs_from_the_expected_unit(make_xlsx):
    path = make_xlsx([["행정구역별(단위: 천달러)", "2014"], ["서울특별시", 1]])
    with pytest.raises(DataError, match=r"the table's unit is '천달러'") as info:
        kosis_tables.parse_exports(path, raw_dir=path.parent)
    assert where(info.value) == ("t.xlsx", 1, "A")


# 16 ----------------------------------------------------- missing file (parser level)
def test_missing_file_is_a_missing_input_error(tmp_path):
    with pytest.raises(MissingInputError, match="raw input file not found") as info:
        kosis_tables.parse_population(tmp_path / "nope.csv", raw_dir=tmp_path)
    assert "make data" in str(info.value)


def test_registry_missing_file_names_the_kosis_table_and_where_to_put_it(tmp_path):
    from regrowth import sources
    with pytest.raises(MissingInputError, match="KOSIS table DT_1YL20921") as info:
        sources.load_source("kosis_fiscal_self_reliance/fiscal_autonomy_DT_1YL20921_sido_rows_excerpt.csv",
                            tmp_path)
    msg = str(info.value)
    assert "data/raw/kosis_fiscal_self_reliance/fiscal_autonomy_DT_1YL20921_sido_rows_excerpt.csv" in msg
    assert "make data" in msg and "kosis.kr" in msg
    with pytest.raises(MissingInputError, match="zibianliang1"):
        sources.load_all(tmp_path)


def test_negative_macro_region_value_in_kostat_indicator(make_csv):
    path = make_csv("\ufeffYear,지역,Value\n2001,0.전국,10\n2001,1.수도권,-3\n")
    with pytest.raises(DataError, match=r"value -3 of patents_pm_macro .* for capital 2001 is outside "
                                        r"the valid range \[0, inf\]") as info:
        kostat.parse_patents_pm_macro(path, raw_dir=path.parent)
    assert where(info.value) == ("t.csv", 3, "C")
