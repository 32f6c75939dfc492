"""KIPRIS fintech records -> applications by first applicant's province and year.

The central check is an independent count: a deliberately different and simple
implementation (openpyxl instead of the package's XML reader; "the first '(' that is
followed by a place name" instead of "the last top-level group, earliest place name")
must reproduce the parser's counts exactly.
"""

from __future__ import annotations

import re
from collections import Counter

import pandas as pd
import pytest

from regrowth.sources import kipris

REL = "kipris_fintech_and_kosis_2014_2023/zibianliang1_FintechPatent_2012-2023.xlsx"

# the test's own province prefixes (not the package's alias table)
PREFIXES = [("서울", "seoul"), ("부산", "busan"), ("대구", "daegu"), ("인천", "incheon"),
            ("광주", "gwangju"), ("대전", "daejeon"), ("울산", "ulsan"), ("세종", "sejong"),
            ("경기", "gyeonggi"), ("강원", "gangwon"), ("충청북", "chungbuk"), ("충북", "chungbuk"),
            ("충청남", "chungnam"), ("충남", "chungnam"), ("전라북", "jeonbuk"), ("전북", "jeonbuk"),
            ("전라남", "jeonnam"), ("전남", "jeonnam"), ("경상북", "gyeongbuk"), ("경북", "gyeongbuk"),
            ("경상남", "gyeongnam"), ("경남", "gyeongnam"), ("제주", "jeju")]
JUNK = re.compile(r"^(?:[\s*()\-]|주소|본|대한민국)+")


def independent_province(applicants: str) -> str | None:
    first = applicants.split("|")[0]
    for m in re.finditer(r"\(", first):
        rest = JUNK.sub("", first[m.end():])
        for prefix, key in PREFIXES:
            if rest.startswith(prefix):
                return key
    return None


@pytest.fixture(scope="module")
def raw_rows(shared_data):
    """The sheet's rows as openpyxl reads them (not the package's reader)."""
    import openpyxl
    wb = openpyxl.load_workbook(shared_data / REL, read_only=True)
    ws = wb.worksheets[0]
    ws.reset_dimensions()
    rows = list(ws.iter_rows(values_only=True))
    wb.close()
    return rows


def independent_counts(rows) -> tuple[Counter, int]:
    counts: Counter = Counter()
    n = 0
    for i, row in enumerate(rows):
        if i == 0:
            assert row[3] == "출원일자" and row[4] == "출원인"
            continue
        n += 1
        year = int(re.match(r"(\d{4})\.\d\d\.\d\d$", row[3]).group(1))
        key = independent_province(row[4])
        if key is not None:
            counts[(key, year)] += 1
    return counts, n


def test_independent_count_equals_the_parser_exactly(raw_rows, kipris_result):
    frame, report = kipris_result
    expected, n_records = independent_counts(raw_rows)
    got = {(r.region, r.year): int(r.value) for r in frame.itertuples() if r.value > 0}
    assert got == dict(expected)
    assert n_records == report.records == 24104
    assert sum(expected.values()) == report.assigned


def test_report_numbers(kipris_result):
    frame, report = kipris_result
    assert report.records == 24104
    assert report.assigned == 22478
    assert report.foreign == 1626
    assert report.unparseable == 0
    assert report.duplicates == 0
    assert report.assigned + report.foreign + report.unparseable == report.records
    assert report.years == (2012, 2023)
    assert report.records_by_year == {2012: 1470, 2013: 1423, 2014: 1438, 2015: 1987, 2016: 2227,
                                      2017: 2174, 2018: 2548, 2019: 2718, 2020: 3088, 2021: 2584,
                                      2022: 1869, 2023: 578}
    assert report.assigned_by_year == {2012: 1315, 2013: 1254, 2014: 1206, 2015: 1779, 2016: 2049,
                                       2017: 1942, 2018: 2301, 2019: 2601, 2020: 3040, 2021: 2553,
                                       2022: 1862, 2023: 576}
    assert report.foreign_by_country["미국"] + report.foreign_by_country["미합중국"] == 852
    assert report.by_reason == {"foreign": 1626}
    assert report.examples["foreign"][0][0] == 5          # spreadsheet row of the first one
    assert report.hidden_rows == 24103                    # a stale autofilter: all rows are read
    assert "24104 records, 22478 assigned" in report.summary()


def test_counts_form_the_full_province_year_grid_with_zeros(kipris_result):
    frame, _ = kipris_result
    assert list(frame.columns) == ["region", "year", "variable", "value", "source"]
    assert set(frame.variable) == {"patents_fintech"}
    assert len(frame) == 17 * 12
    assert frame.groupby("region").size().eq(12).all()
    assert (frame.value >= 0).all() and (frame.value == frame.value.round()).all()
    assert frame.source.unique().tolist() == [REL]
    by_region = frame.groupby("region").value.sum()
    assert by_region["seoul"] == 11882 and by_region["gyeonggi"] == 5776 and by_region["ulsan"] == 150
    assert frame.set_index(["region", "year"]).loc[("sejong", 2012), "value"] == 5


@pytest.mark.parametrize("cell, expected", [
    ("주식회사 네모컴퍼니(서울특별시 강남구...)|이미경(경기도 광진구...)", "seoul"),
    ("(주)인터비젼(대구광역시 수성구...)", "daegu"),
    ("(주)인텔소닉(경상북도 경산시 하양읍 하양로 - ,층호(대구...)", "gyeongbuk"),   # cut-off group
    ("세종대학교산학협력단(서울특별시 광진구 능동로 * (군...)", "seoul"),
    ("주식회사 르호사(서울 강남구...)", "seoul"),
    ("윤명철(서울시 도봉구...)", "seoul"),
    ("주식회사 아이써치마케팅(주소서울특별시 강동구...)", "seoul"),
    ("장성훈(대한민국 서울특별시 송파구...)", "seoul"),
    ("현재봉((-) 경기도 고양시 ...)", "gyeonggi"),
    ("정진엽(* 서울특별시 강서구 공항대로...)", "seoul"),
    ("신혜원(강원특별자치도 춘천시...)", "gangwon"),
    ("정희석(강원도 원주시...)", "gangwon"),
    ("김병열(전북특별자치도 전주시 완산구 평화길 ...)", "jeonbuk"),
    ("박노창(전라북도 전주시 덕진구...)", "jeonbuk"),
    ("유제승(제주시...)", "jeju"),
    ("피앤더블유시티 주식회사(대구광...)", "daegu"),
    ("인천광역시(인천...)", "incheon"),
    ("민우배(광주 서구...)", "gwangju"),
    ("윤수정(세종특별자치시...)", "sejong"),
])
def test_first_applicants_province(cell, expected):
    applicant = kipris.first_applicant(pd.Series([cell]))
    out = kipris.classify(kipris.applicant_address(applicant))
    assert out.loc[0, "region"] == expected and out.loc[0, "reason"] == "assigned"


@pytest.mark.parametrize("cell, country", [
    ("구글 엘엘씨(미국 캘리포니아 마운틴 뷰 엠피시어터 파크웨이 **** (우:*****))", "미국"),
    ("레노보 (싱가포르) 피티이. 엘티디.(싱가포르 ****** 뉴 테크 파크)", "싱가포르"),
    ("알리바바 그룹 홀딩 리미티드(케이만군도, 그랜드 케이만, 조지 타운)", "케이만군도"),
    ("오시마 마코토((***-****) 일본국 효고켄 고베시 주오구)", "일본국"),
    ("바이두 (베이징) 캄파니 리미티드(중국 베이징 하이뎬 디스트릭트)|김(서울 ...)", "중국"),
])
def test_foreign_first_applicants_are_foreign_even_if_a_later_one_is_korean(cell, country):
    out = kipris.classify(kipris.applicant_address(kipris.first_applicant(pd.Series([cell]))))
    assert out.loc[0, "reason"] == "foreign" and out.loc[0, "country"] == country
    assert pd.isna(out.loc[0, "region"])


def test_unparseable_addresses_are_reported_not_dropped(make_xlsx):
    header = ["순번", "IPC분류", "출원번호", "출원일자", "출원인"]
    rows = [header,
            [1, "G06Q", "1020200000001", "2020.01.02", "가(서울특별시 강남구...)"],
            [2, "G06Q", "1020200000002", "2020.03.04", "나 주식회사"],                  # no address
            [3, "G06Q", "1020200000003", "2021.05.06", "다(캘리포니아 샌프란시스코)"],   # no place known
            [4, "G06Q", "1020200000001", "2020.01.02", "가(서울특별시 강남구...)"],      # duplicate number
            [5, "G06Q", "1020200000005", "2021.07.08", "라(미국 뉴욕)|마(부산 ...)"],
            [6, "G06Q", "1020200000006", "2021.07.09", None]]
    frame, report = kipris.parse_kipris(make_xlsx(rows, sheet="Sheet1"))
    assert report.records == 6 and report.duplicates == 1
    assert report.duplicate_examples == [(5, "1020200000001")]
    assert report.assigned == 1 and report.foreign == 1 and report.unparseable == 3
    assert report.by_reason == {"empty_applicant": 1, "foreign": 1, "no_address": 1,
                                "no_province_in_address": 1}
    assert report.examples["no_address"] == [(3, "나 주식회사")]
    assert report.examples["no_province_in_address"] == [(4, "다(캘리포니아 샌프란시스코)")]
    counts = frame.set_index(["region", "year"])["value"]
    assert counts[("seoul", 2020)] == 1 and counts[("seoul", 2021)] == 0
    assert counts[("busan", 2021)] == 0           # the second applicant does not count
    assert len(frame) == 17 * 2                   # explicit zeros over 2020-2021


def test_last_group_helper():
    f = kipris._last_group
    assert f("a(b)c(d)") == "d"
    assert f("(주)x(서울 (y))") == "서울 (y)"
    assert f("x(서울 강남구 (군...") == "서울 강남구 (군..."
    assert f("no parentheses") is None


def test_classification_of_all_records_at_once(raw_rows):
    """The classifier takes the whole column at once (its speed is measured in benchmarks,
    never timed in a test)."""
    applicants = pd.Series([r[4] for r in raw_rows[1:]], dtype="str")
    out = kipris.classify(kipris.applicant_address(kipris.first_applicant(applicants)))
    assert len(out) == len(applicants)
    assert (out.reason == "assigned").sum() == 22478


def test_counts_before_a_province_existed_are_kept_and_noted(make_xlsx):
    rows = [["순번", "IPC분류", "출원번호", "출원일자", "출원인"],
            [1, "G06Q", "1", "2011.05.02", "가(세종특별자치시 ...)"],
            [2, "G06Q", "2", "2012.08.02", "나(세종특별자치시 ...)"]]
    frame, report = kipris.parse_kipris(make_xlsx(rows))
    counts = frame.set_index(["region", "year"])["value"]
    assert counts[("sejong", 2011)] == 1 and counts[("sejong", 2012)] == 1
    assert counts[("chungnam", 2011)] == 0
    assert report.notes == ["counts before the province existed (kept): sejong 2011: 1"]


@pytest.mark.parametrize("address, region", [
    ("경기도 광주시 오포읍 신현로 ***", "gyeonggi"),
    ("광주시 오포읍 신현리 ***", "gyeonggi"),           # a bare 광주시 is Gyeonggi's city
    ("대한민국 광주시 초월읍 ***", "gyeonggi"),
    ("광주광역시 북구 첨단과기로 ***", "gwangju"),
    ("광주 서구 ...", "gwangju"),
    ("광주시 광산구 하남산단 ***", "gwangju"),          # a district of Gwangju follows
])
def test_gwangju_city_of_gyeonggi_is_not_gwangju_metropolitan_city(address, region):
    from regrowth.sources import kipris
    import pandas as pd
    assert kipris.classify(pd.Series([address]))["region"].iloc[0] == region


def test_real_records_with_gwangju_si_are_counted_for_gyeonggi(raw_rows):
    """The 58 real records whose first applicant's address holds 광주시 all say 경기도 광주시
    (so the 광주시 rule moves none of the real records)."""
    j = [str(c).strip() for c in raw_rows[0]].index("출원인")
    cells = pd.Series(["" if r[j] is None else str(r[j]) for r in raw_rows[1:]])
    applicant = kipris.first_applicant(cells.str.normalize("NFKC"))
    address = kipris.applicant_address(applicant)
    cls = kipris.classify(address)
    with_si = address.fillna("").str.contains("광주시")
    assert int(with_si.sum()) == 58 and set(cls.loc[with_si, "region"]) == {"gyeonggi"}
