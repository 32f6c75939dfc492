"""KOSIS exports as users actually download them: read correctly, or refused naming the
file, sheet, row and column.

Two kinds of input:

* **real** public exports stored unchanged under ``tests/data/files/real/`` (origin in the
  README there): a "code included" English xlsx of KOSIS table DT_1B26003_A01 and an
  excerpt of the same table's quarterly CSV download (CP949);
* **synthetic** files written by the tests in the layouts of KOSIS downloads; their numbers
  are invented for the test, not data.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from regrowth.errors import DataError, UnknownRegionError
from regrowth.sources import kosis

REAL = Path(__file__).resolve().parent / "files" / "real"


def as_dict(frame):
    return {(r.variable, r.region, r.year): r.value for r in frame.itertuples()}


# ------------------------------------------------------------------ real exports

def test_real_code_included_xlsx_is_read_with_its_meta_sheet():
    path = REAL / "migest_DT_1B26003_A01_annual_code_included.xlsx"
    table = kosis.read_kosis(path, raw_dir=REAL)
    # 'Y1970 1970' headers, 'T70 Migrants (14STD04553 Person)' item, sheet 'Meta Data'
    assert table.table_id == "DT_1B26003_A01" and table.table_id_source == "sheet 'Meta Data'"
    assert table.unit == "Person" and table.items == ["Migrants"]
    assert table.years[0] == 1970 and table.years[-1] == 2020 and table.header_rows == 2
    # origin 11 Seoul, destinations by name ('26 Busan': the code is the table's, not trusted)
    frame = kosis.to_tidy(table, "migrants", where={0: "11 Seoul"}, region_label=1)
    d = as_dict(frame)
    assert d[("migrants", "busan", 1970)] == 11568.0
    assert d[("migrants", "seoul", 1970)] == 1232619.0


def test_real_export_zeros_before_a_province_existed_become_missing_with_a_note():
    table = kosis.read_kosis(REAL / "migest_DT_1B26003_A01_annual_code_included.xlsx")
    frame = kosis.to_tidy(table, "migrants", where={0: "11 Seoul"}, region_label=1)
    d = as_dict(frame)
    assert ("migrants", "gwangju", 1985) not in d and d[("migrants", "gwangju", 1986)] > 0
    assert ("migrants", "ulsan", 1996) not in d and d[("migrants", "ulsan", 1997)] > 0
    notes = frame.attrs["notes"]["migrants"]
    assert "migrants: gwangju 1982-1985 printed as 0 before the province existed (1986); read as missing" in notes
    assert any(n.startswith("migrants: daejeon 1982-1988") for n in notes)


def test_real_quarterly_csv_is_refused_naming_row_and_column():
    path = REAL / "migest_DT_1B26003_A01_quarterly_excerpt.csv"
    with pytest.raises(DataError, match=r"the periods are quarterly \('1970. 1/4'\); only annual") as err:
        kosis.read_kosis(path, raw_dir=REAL)
    assert (err.value.file, err.value.row, err.value.column) == (path.name, 2, "E")
    assert "make data" not in str(err.value)


# ------------------------------------------------------------ code-included (synthetic)

def test_code_included_korean_csv(make_csv):
    text = ('"행정구역(시도)별","항목","Y2022 2022","Y2023 2023"\n'
            '"00 전국","T10 15세이상인구 (14STD06156 천명)","45000","45100"\n'
            '"11 서울특별시","T10 15세이상인구 (14STD06156 천명)","8123","8100"\n'
            '"21 부산광역시","T10 15세이상인구 (14STD06156 천명)","2900","2890"\n')
    table = kosis.read_kosis(make_csv(text, encoding="cp949"))
    assert table.years == [2022, 2023]
    frame = kosis.to_tidy(table, "pop15", item_label=1)
    assert as_dict(frame) == {("pop15", "seoul", 2022): 8123.0, ("pop15", "seoul", 2023): 8100.0,
                              ("pop15", "busan", 2022): 2900.0, ("pop15", "busan", 2023): 2890.0}


def test_code_included_english_xlsx_with_item_row_and_unit(make_xlsx):
    rows = [["A By province", "Y2022 2022", "Y2023 2023"],
            ["A By province", "T10 Population aged 15 and over (14STD06156 Thousand Persons)",
             "T10 Population aged 15 and over (14STD06156 Thousand Persons)"],
            ["00 Whole country", 45000, 45100], ["11 Seoul", 8123, 8100], ["39 Jeju", 590, 600]]
    table = kosis.read_kosis(make_xlsx(rows, sheet="Data"))
    assert table.items == ["Population aged 15 and over"] and table.unit == "Thousand Persons"
    frame = kosis.to_tidy(table, "pop15")
    assert as_dict(frame)[("pop15", "jeju", 2023)] == 600.0 and len(frame) == 4


# ------------------------------------------------------------------ item-first layout

def test_item_first_layout_is_detected(make_csv):
    text = "항목,행정구역별,2019,2020\n재정자주도,전국,60.1,61.2\n재정자주도,서울특별시,80.5,81.0\n"
    frame = kosis.parse_kosis(make_csv(text), "fiscal_autonomy")
    assert as_dict(frame) == {("fiscal_autonomy", "seoul", 2019): 80.5,
                              ("fiscal_autonomy", "seoul", 2020): 81.0}
    assert frame.attrs["notes"]["fiscal_autonomy"][0].startswith(
        "item-first layout: provinces read from column B, items from column A")


def test_item_first_layout_with_two_items_is_refused_naming_the_item_column(make_csv):
    text = ("항목,행정구역별,2019\n재정자주도,서울특별시,80.5\n재정자립도,서울특별시,75.0\n")
    with pytest.raises(DataError, match=r"several items \['재정자주도', '재정자립도'\] \(column A\)") as err:
        kosis.parse_kosis(make_csv(text), "fiscal_autonomy")
    assert err.value.column == "A" and err.value.file == "t.csv"


def test_table_without_a_province_column_is_refused_with_the_layout_hint(make_csv):
    text = "항목,시군구별,2019\n재정자주도,종로구,80.5\n재정자주도,중구,75.0\n"
    with pytest.raises(UnknownRegionError, match="no label column of this table holds only province names") as err:
        kosis.parse_kosis(make_csv(text), "fiscal_autonomy")
    assert (err.value.row, err.value.column) == (2, "A")
    assert "행정구역" in err.value.hint


def test_a_second_category_column_is_refused_not_read_as_duplicates(make_csv):
    text = "행정구역별,성별,2019\n서울특별시,남자,10\n서울특별시,여자,11\n"
    with pytest.raises(DataError, match=r"column B \('성별'\) holds several values") as err:
        kosis.parse_kosis(make_csv(text), "population")
    assert err.value.column == "B" and err.value.row == 2


# ------------------------------------------------------------------ header-row check

def test_data_values_like_2086_are_not_taken_for_years(make_csv):
    text = "시도별,인구,가구\n서울특별시,2077,2086\n부산광역시,2086,2077\n"
    with pytest.raises(DataError, match="no year columns found: row 1") as err:
        kosis.read_kosis(make_csv(text))
    assert (err.value.row, err.value.file) == (1, "t.csv")
    assert "delete" not in err.value.hint       # never advises deleting (data) rows


def test_a_title_above_the_header_is_reported_with_the_rows_to_delete(make_csv):
    text = "재정자주도 (시도)\n\n행정구역별,2019,2020\n서울특별시,80.5,81.0\n"
    with pytest.raises(DataError, match="header row with the years is row 3") as err:
        kosis.read_kosis(make_csv(text))
    assert "delete rows 1-2 (they hold no data)" in err.value.hint


# ------------------------------------------------------------ zeros, footnotes, p)

def test_zeros_printed_before_a_province_existed_become_missing(make_csv):
    text = ("행정구역별,1985,1995,2010,2013\n서울특별시,0,1,2,3\n광주광역시,0,5,6,7\n"
            "대전광역시,0,5,6,7\n울산광역시,0,0,6,7\n세종특별자치시,0,0,0,7\n")
    frame = kosis.parse_kosis(make_csv(text), "x")
    d = as_dict(frame)
    assert d[("x", "seoul", 1985)] == 0.0                                 # Seoul existed
    for key in [("x", "gwangju", 1985), ("x", "daejeon", 1985), ("x", "ulsan", 1995),
                ("x", "sejong", 2010)]:
        assert key not in d
    assert d[("x", "sejong", 2013)] == 7.0 and d[("x", "gwangju", 1995)] == 5.0
    notes = frame.attrs["notes"]["x"]
    assert "x: sejong 1985-2010 printed as 0 before the province existed (2012); read as missing" in notes
    assert "x: ulsan 1985-1995 printed as 0 before the province existed (1997); read as missing" in notes


def test_superscript_footnote_marks_are_never_read_as_digits(make_csv, make_xlsx):
    text = "행정구역별,2019,2020\n서울특별시¹⁾,45.2¹,46.0\n부산광역시,1²,2\n"
    table = kosis.read_kosis(make_csv(text))
    frame = kosis.to_tidy(table, "x")
    assert as_dict(frame) == {("x", "seoul", 2019): 45.2, ("x", "seoul", 2020): 46.0,
                              ("x", "busan", 2019): 1.0, ("x", "busan", 2020): 2.0}
    assert table.footnote_marks == 3
    xlsx = make_xlsx([["행정구역별", "2019"], ["서울특별시", "45.2¹"]])
    assert as_dict(kosis.parse_kosis(xlsx, "x")) == {("x", "seoul", 2019): 45.2}


def test_provisional_years_are_read_and_noted(make_csv):
    text = "행정구역별,2015,2016 p)\n서울특별시,10,11\n"
    table = kosis.read_kosis(make_csv(text))
    assert table.provisional == [2016]
    frame = kosis.to_tidy(table, "x")
    assert as_dict(frame)[("x", "seoul", 2016)] == 11.0
    assert frame.attrs["notes"]["x"] == ["provisional (p) in the source: 2016"]


# ------------------------------------------------------------------ refused sheets

@pytest.mark.parametrize("header, kind, cell", [
    (["행정구역별", "2023.01", "2023.02"], "monthly", "'2023.01'"),
    (["행정구역별", "2023년 01월", "2023년 02월"], "monthly", "'2023년 01월'"),
    (["행정구역별", "2023 1/4", "2023 2/4"], "quarterly", "'2023 1/4'"),
    (["행정구역별", "M202301 2023.01", "M202302 2023.02"], "monthly", "'M202301 2023.01'"),
])
def test_sub_annual_periods_are_refused_naming_sheet_row_and_column(make_xlsx, header, kind, cell):
    path = make_xlsx([header, ["서울특별시", 1, 2]], sheet="데이터")
    with pytest.raises(DataError, match=f"sheet '데이터': the periods are {kind} \\({cell}\\)") as err:
        kosis.read_kosis(path)
    assert (err.value.row, err.value.column) == (1, "B")


def test_monthly_periods_in_the_long_layout_are_refused(make_csv):
    text = "시점,행정구역별,값\n2023.01,서울특별시,1\n2023.02,서울특별시,2\n"
    with pytest.raises(DataError, match=r"the periods are monthly \('2023.01'\)") as err:
        kosis.read_kosis(make_csv(text))
    assert (err.value.row, err.value.column) == (2, "A")


def test_formula_without_a_cached_value_is_refused_naming_sheet_and_cell(make_xlsx):
    # openpyxl saves formulas without computed values, as some tools do
    path = make_xlsx([["행정구역별", "2019", "2020"], ["서울특별시", 10, "=B2*2"]], sheet="데이터")
    with pytest.raises(DataError, match=r"sheet '데이터', cell C2 holds the formula '=B2\*2' without a saved value") as err:
        kosis.read_kosis(path)
    assert (err.value.row, err.value.column) == (2, "C")
    assert "save it again" in err.value.hint


def _workbook(tmp_path, sheets: dict[str, list]) -> Path:
    import openpyxl
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for r in rows:
            ws.append(r)
    path = tmp_path / "w.xlsx"
    wb.save(path)
    return path


def test_empty_first_sheet_is_refused_naming_it(tmp_path):
    path = _workbook(tmp_path, {"Sheet1": [], "데이터": [["행정구역별", "2019"], ["서울특별시", 1]]})
    with pytest.raises(DataError, match=r"sheet 'Sheet1' is empty \(the first data sheet; the workbook's other sheets: \['데이터'\]\)") as err:
        kosis.read_kosis(path)
    assert err.value.file == "w.xlsx" and "make data" not in str(err.value)


def test_notes_only_first_sheet_is_refused_naming_it(tmp_path):
    path = _workbook(tmp_path, {"주의사항": [["이 자료는 잠정치입니다."], ["출처: 통계청"]],
                                "데이터": [["행정구역별", "2019"], ["서울특별시", 1]]})
    with pytest.raises(DataError, match=r"sheet '주의사항' holds only text \(notes such as '이 자료는 잠정치입니다.'\)"):
        kosis.read_kosis(path)


def test_parse_year_forms():
    assert kosis.parse_year("Y2023 2023") == 2023
    assert kosis.parse_year("2016 p)") == 2016 and kosis.is_provisional("2016 p)")
    assert not kosis.is_provisional("2016")
    assert kosis.parse_year("2023.01") is None and kosis.subannual("2023.01") == "monthly"
    assert kosis.parse_year("2014.1") == 2014 and kosis.subannual("2014.1") is None
    assert kosis.subannual("1970. 1/4") == "quarterly" and kosis.subannual("2020 상반기") == "half-yearly"
    assert kosis.split_item("T10 15세이상인구 (14STD06156 천명)") == ("15세이상인구", "천명")
    assert kosis.split_item("Migrants[명]") == ("Migrants", "명")
    assert kosis.strip_code("11 서울특별시") == "서울특별시"
    assert not math.isnan(kosis.parse_year(2014.0))


def test_unit_from_a_unit_column_in_wide_and_long_layouts(make_csv):
    wide = kosis.read_kosis(make_csv("행정구역별,항목,단위,2019\n서울특별시,재정자주도,%,80.5\n", name="w.csv"))
    long = kosis.read_kosis(make_csv("시점,행정구역별,항목,단위,데이터\n2019,서울특별시,재정자주도,%,80.5\n",
                                     name="l.csv"))
    assert (wide.unit, wide.unit_source) == ("%", "the '단위' column")
    assert (long.unit, long.unit_source) == ("%", "the '단위' column")
    assert as_dict(kosis.to_tidy(long, "x")) == {("x", "seoul", 2019): 80.5}


def test_long_code_included_csv_with_bracket_unit(make_csv):
    text = ('"[A]By province","By province","PERIOD","Patent applications[건]",\n'
            '"11","Seoul","2019","10",\n"21","Busan","2019","5",\n')
    table = kosis.read_kosis(make_csv(text, encoding="cp949"))
    assert table.layout == "long" and table.unit == "건" and table.items == ["Patent applications"]
    assert as_dict(kosis.to_tidy(table, "x")) == {("x", "seoul", 2019): 10.0, ("x", "busan", 2019): 5.0}


def test_title_rows_above_a_single_year_header_are_reported(make_csv):
    text = '"통계표명 : 재정자주도(시도)"\n"단위 : %"\n\n행정구역별,2019\n서울특별시,80\n'
    with pytest.raises(DataError, match="header row with the years is row 4, not row 1"):
        kosis.read_kosis(make_csv(text))
