"""KIPRIS patent-application records -> fintech applications by province and year.

Input: ``zibianliang1_FintechPatent_2012-2023.xlsx`` (one sheet; columns 순번,
IPC분류, 출원번호, 출원일자 ``YYYY.MM.DD``, 출원인). The applicant cell lists
applicants separated by ``|``, each as ``name(address)``, e.g.
``주식회사 네모컴퍼니(서울특별시 강남구...)|이미경(서울특별시 광진구...)``.

Rules
-----
* The **first applicant** is the text before the first ``|``.
* Its **address** is the content of the *last top-level* parenthesised group:
  names may contain parentheses (``(주)인터비젼(대구광역시 수성구...)``,
  ``레노보 (싱가포르) 피티이. 엘티디.(싱가포르 …)``) and addresses may hold
  nested ones (``(미국 … (우:*****))``). A group cut off by the export (no
  closing parenthesis) still counts as the last group.
* The **province** is the earliest province name in the address, in any of its
  spellings (서울특별시/서울시/서울, 강원도/강원특별자치도, 전라북도/전북특별자치도,
  제주특별자치도/제주도/제주시 …), so junk in front (``*``, ``(-)``, ``주소``,
  ``대한민국``) does not matter. A country name found earlier marks the record
  foreign (미국, 미합중국, 일본국, 케이만 군도, 중국 …).
* **광주**: ``광주광역시`` and a bare ``광주`` are Gwangju (the metropolitan city); a bare
  ``광주시`` is the city of Gyeonggi-do (``경기도 광주시``, ``광주시 오포읍``), unless one of
  Gwangju's districts follows (``광주시 광산구`` -> Gwangju).
* The **year** is the year of 출원일자 (application date).
* Foreign applicants and addresses that name no province are **counted and
  reported**, with examples, in :class:`KiprisReport`; never silently dropped.
  The report's printed forms (``summary()``, ``repr``, ``as_dict()``) name
  spreadsheet rows, never an applicant's name or address (personal data).
  A repeated application number is counted once and reported.

Output: ``patents_fintech`` counts by (region, year) with explicit zeros for
province-years without applications, over the years the records cover
(from the province's first year: Sejong from 2012).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from regrowth import regions
from regrowth.errors import DataError
from regrowth.sources._xlsx import read_sheet
from regrowth.sources._common import (
    clean_text, empty_tidy, finish, require_file, source_name,
)

__all__ = ["KiprisReport", "parse_kipris", "read_records", "classify", "first_applicant",
           "applicant_address", "COUNTRIES"]

REQUIRED = {"number": "출원번호", "date": "출원일자", "applicant": "출원인"}

#: Korean spellings of province names as they start applicant addresses.
_PROVINCE_TOKENS: dict[str, str] = {}
for _reg in regions.REGIONS:
    for _alias in (_reg.name_ko, *_reg.aliases):
        if re.fullmatch(r"[가-힣]+", _alias) and not _alias.endswith("계"):
            _PROVINCE_TOKENS[_alias] = _reg.key
# truncated / informal forms seen in the records
_PROVINCE_TOKENS.update({"충청북": "chungbuk", "충청남": "chungnam", "전라북": "jeonbuk",
                         "전라남": "jeonnam", "경상북": "gyeongbuk", "경상남": "gyeongnam"})
# a bare 광주시 is Gyeonggi-do's city (Gwangju metropolitan city is 광주광역시) ...
_PROVINCE_TOKENS["광주시"] = "gyeonggi"
# ... unless a district of the metropolitan city follows it
_GWANGJU_DISTRICT = re.compile(r"광주시(?=\s*(?:동|서|남|북|광산)구)")

#: Country names (Korean) that start foreign applicants' addresses.
COUNTRIES: tuple[str, ...] = (
    "미국", "미합중국", "일본", "일본국", "중국", "중화인민공화국", "케이만", "케이맨", "케이만군도",
    "영국", "영국령", "버진", "버뮤다", "스위스", "프랑스", "프랑스공화국", "독일", "싱가포르",
    "캐나다", "대만", "타이완", "인도", "스웨덴", "뉴질랜드", "오스트리아", "오스트레일리아", "호주",
    "이스라엘", "홍콩", "핀란드", "핀랜드", "스페인", "노르웨이", "네덜란드", "폴란드", "슬로바키아",
    "룩셈부르크", "사우디", "태국", "아일랜드", "우루과이", "지브랄타", "지브롤터", "이탈리아",
    "벨기에", "덴마크", "러시아", "브라질", "멕시코", "말레이시아", "인도네시아", "베트남", "필리핀",
    "아랍에미리트", "아랍", "터키", "튀르키예", "남아프리카", "키프로스", "몰타", "리히텐슈타인",
    "모나코", "체코", "헝가리", "그리스", "포르투갈", "에스토니아", "라트비아", "리투아니아",
    "아르헨티나", "칠레", "콜롬비아", "바하마", "건지", "저지", "맨섬", "세이셸", "모리셔스",
    "파나마", "카타르", "쿠웨이트", "바레인", "이집트", "나이지리아", "케냐", "우크라이나",
    "카자흐스탄", "몽골", "마카오", "파키스탄", "방글라데시", "스리랑카", "캄보디아", "아이슬란드",
    "불가리아", "루마니아", "세르비아", "크로아티아", "슬로베니아", "퀴라소", "마셜", "사이프러스",
)

_TOKENS = {**{c: "foreign:" + c for c in COUNTRIES}, **_PROVINCE_TOKENS}
_TOKEN_RE = "(" + "|".join(re.escape(t) for t in sorted(_TOKENS, key=len, reverse=True)) + ")"
_SIMPLE_GROUP = r"\(([^()]*)\)\s*$"
_DATE = r"^\s*(\d{4})[.\-/](\d{1,2})[.\-/](\d{1,2})\.?\s*$"


@dataclass
class KiprisReport:
    """What happened to every record.

    ``records`` counts the non-empty rows; a repeated application number is
    counted once, so ``assigned + foreign + unparseable == records - duplicates``.
    ``unparseable`` is the sum of the non-foreign reasons in ``by_reason``
    (``no_address``, ``no_province_in_address``, ``empty_applicant``).
    """

    file: str
    records: int = 0
    assigned: int = 0
    foreign: int = 0
    unparseable: int = 0
    duplicates: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)
    foreign_by_country: dict[str, int] = field(default_factory=dict)
    # (row, first applicant) pairs: applicants' names and addresses are personal data, so
    # they are kept out of repr() and summary(), which name spreadsheet rows only
    examples: dict[str, list[tuple[int, str]]] = field(default_factory=dict, repr=False)
    duplicate_examples: list[tuple[int, str]] = field(default_factory=list)
    records_by_year: dict[int, int] = field(default_factory=dict)
    assigned_by_year: dict[int, int] = field(default_factory=dict)
    years: tuple[int, int] | None = None
    hidden_rows: int = 0              # rows hidden by a filter in the workbook (all are read)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = [f"{self.file}: {self.records} records, {self.assigned} assigned to provinces, "
                 f"{self.foreign} foreign, {self.unparseable} without a province, "
                 f"{self.duplicates} duplicated application numbers"]
        for reason, n in sorted(self.by_reason.items()):
            rows = ", ".join(str(r) for r, _ in self.examples.get(reason, [])[:3])
            lines.append(f"  {reason}: {n}" + (f" (e.g. spreadsheet rows {rows})" if rows else ""))
        lines += [f"  note: {note}" for note in self.notes]
        return "\n".join(lines)

    def as_dict(self) -> dict:
        """Every field but the examples' applicant text (personal data): rows only."""
        out = dict(self.__dict__)
        out["examples"] = {k: [r for r, _ in v] for k, v in self.examples.items()}
        return out


def first_applicant(cells: pd.Series) -> pd.Series:
    """Text before the first ``|`` (stripped)."""
    return cells.fillna("").astype(str).str.split("|", n=1).str[0].str.strip()


def _last_group(text: str) -> str | None:
    """Content of the last top-level parenthesised group (an unclosed one counts)."""
    depth, start, last = 0, None, None
    for i, ch in enumerate(text):
        if ch in "(（":
            if depth == 0:
                start = i
            depth += 1
        elif ch in ")）" and depth > 0:
            depth -= 1
            if depth == 0:
                last = text[start + 1:i]
    if depth > 0 and start is not None:
        return text[start + 1:]          # cut off by the export
    return last


def applicant_address(applicant: pd.Series) -> pd.Series:
    """The address of each applicant (NaN when there are no parentheses)."""
    fast = applicant.str.extract(_SIMPLE_GROUP, expand=False)
    # a final group without inner parentheses is the last top-level one exactly
    # when the parentheses of the whole text balance; scan the others
    balanced = applicant.str.count(r"[(（]") == applicant.str.count(r"[)）]")
    need = fast.isna() | ~balanced
    slow = applicant[need].map(_last_group)
    out = fast.astype(object)
    out[need] = slow
    return out


def classify(address: pd.Series) -> pd.DataFrame:
    """Columns ``region`` (province key or NaN), ``country`` (NaN unless foreign), ``reason``."""
    text = address.fillna("").str.replace(_GWANGJU_DISTRICT, "광주광역시", regex=True)
    token = text.str.extract(_TOKEN_RE, expand=False)
    kind = token.map(_TOKENS)
    is_foreign = kind.str.startswith("foreign:", na=False)
    region = kind.where(~is_foreign)
    country = token.where(is_foreign)
    reason = pd.Series("assigned", index=address.index, dtype=object)
    reason[is_foreign] = "foreign"
    reason[kind.isna() & address.notna()] = "no_province_in_address"
    reason[address.isna()] = "no_address"
    return pd.DataFrame({"region": region, "country": country, "reason": reason})


def read_records(path, *, raw_dir=None) -> tuple[pd.DataFrame, str]:
    """The records as a frame (number, date, applicant; ``row`` 1-based) and the file name.

    ``frame.attrs["letters"]`` maps number/date/applicant to their column letters.
    """
    path = require_file(path)
    file = source_name(path, raw_dir)

    def header_letters(first_rows: dict) -> dict[str, str]:
        header = {clean_text(v): k for k, v in first_rows.get(1, {}).items()}
        letters = {}
        for key, name in REQUIRED.items():
            if name not in header:
                later = next((r for r in sorted(first_rows) if r > 1 and name in
                              {clean_text(v) for v in first_rows[r].values()}), None)
                if later:
                    raise DataError(f"the header (순번, IPC분류, 출원번호, 출원일자, 출원인) is on row "
                                    f"{later}, not row 1: {later - 1} extra row(s) above it",
                                    file=file, row=1, column="A",
                                    hint=f"delete rows 1-{later - 1}, or export the KIPRIS search "
                                         "result again")
                raise DataError(f"column {name!r} not found in the header row "
                                f"{[clean_text(v) for v in first_rows.get(1, {}).values()]}",
                                file=file, row=1,
                                hint="export the KIPRIS search result again with the columns "
                                     "출원번호, 출원일자, 출원인")
            letters[key] = header[name]
        return letters

    found: dict[str, dict[str, str]] = {}

    def select(first_rows):
        found["letters"] = header_letters(first_rows)
        return set(found["letters"].values())

    hidden: list[int] = []
    sheet = read_sheet(path, file_label=file, select=select, hidden_rows=hidden)
    if not sheet or not any(clean_text(v) for v in sheet.get(min(sheet), {}).values()):
        raise DataError("the file is empty", file=file, hint="acquire it again (`make data`)")
    letters = found.get("letters") or header_letters(sheet)
    rows = sorted(r for r in sheet if r > 1)
    frame = pd.DataFrame({key: pd.Series([sheet[r].get(letter) for r in rows], dtype=object)
                          for key, letter in letters.items()})
    frame["row"] = np.array(rows, dtype="int64")
    if frame.empty:
        raise DataError("no records below the header", file=file, row=2,
                        hint="export the KIPRIS search result again")
    frame.attrs["letters"] = letters
    frame.attrs["hidden_rows"] = len(hidden)
    return frame, file


def parse_kipris(path, *, raw_dir=None, variable: str = "patents_fintech"
                 ) -> tuple[pd.DataFrame, KiprisReport]:
    """Count applications by first applicant's province and application year.

    Returns the tidy frame (``patents_fintech``, explicit zeros) and a
    :class:`KiprisReport`. Unparseable application dates and a date column that
    is not a date are errors with row and column.
    """
    records, file = read_records(path, raw_dir=raw_dir)
    header_cols = dict(records.attrs["letters"])
    report = KiprisReport(file=file, hidden_rows=int(records.attrs.get("hidden_rows", 0)))
    # drop fully empty rows inside the sheet
    blank = [records[c].isna() | records[c].astype(str).str.strip().eq("")
             for c in ("number", "date", "applicant")]
    records = records[~(blank[0] & blank[1] & blank[2])]
    report.records = int(len(records))
    # dates
    raw_date = records["date"]
    as_text = raw_date.map(lambda v: "" if v is None else str(v)).str.strip()
    parts = as_text.str.extract(_DATE)
    dates = pd.to_datetime(parts[0] + "-" + parts[1].str.zfill(2) + "-" + parts[2].str.zfill(2),
                           format="%Y-%m-%d", errors="coerce")
    bad = dates.isna()
    if bad.any():
        i = bad.to_numpy().nonzero()[0][0]
        raise DataError(f"unparseable application date {as_text.iloc[i]!r} (expected YYYY.MM.DD)",
                        file=file, row=int(records["row"].iloc[i]), column=header_cols["date"],
                        hint="correct the date or export the KIPRIS search result again")
    records = records.assign(year=dates.dt.year.astype("int64"))
    # duplicated application numbers
    number = records["number"].map(lambda v: "" if v is None else str(v)).str.strip()
    dup = number.duplicated(keep="first") & number.ne("")
    report.duplicates = int(dup.sum())
    report.duplicate_examples = [(int(r), n) for r, n in zip(records["row"][dup][:5], number[dup][:5])]
    records = records[~dup]
    # applicants
    applicant = first_applicant(records["applicant"].map(lambda v: "" if v is None else str(v))
                                .str.normalize("NFKC"))
    address = applicant_address(applicant)
    cls = classify(address)
    cls.loc[applicant.eq("").to_numpy(), "reason"] = "empty_applicant"
    records = pd.concat([records.reset_index(drop=True), cls.reset_index(drop=True)], axis=1)
    records["first_applicant"] = applicant.to_numpy()
    counts = Counter(records["reason"])
    report.by_reason = {k: int(v) for k, v in sorted(counts.items()) if k != "assigned"}
    report.assigned = int(counts.get("assigned", 0))
    report.foreign = int(counts.get("foreign", 0))
    report.unparseable = int(len(records) - report.assigned - report.foreign)
    report.foreign_by_country = {k: int(v) for k, v in
                                 records["country"].dropna().value_counts().items()}
    for reason in report.by_reason:
        part = records[records["reason"] == reason].head(5)
        report.examples[reason] = [(int(r), t) for r, t in zip(part["row"], part["first_applicant"])]
    report.records_by_year = {int(y): int(n) for y, n in
                              records.groupby("year").size().items()}
    assigned = records[records["reason"] == "assigned"]
    report.assigned_by_year = {int(y): int(n) for y, n in assigned.groupby("year").size().items()}
    if records.empty:
        return empty_tidy(), report
    y0, y1 = int(records["year"].min()), int(records["year"].max())
    report.years = (y0, y1)
    grid = pd.MultiIndex.from_tuples(
        [(r.key, y) for r in regions.REGIONS for y in range(y0, y1 + 1)
         if r.first_year is None or y >= r.first_year], names=["region", "year"])
    n = assigned.groupby(["region", "year"]).size()
    outside = n.index.difference(grid)
    if len(outside):
        # KIPRIS may show an applicant's later address: keep such counts, say so
        report.notes.append("counts before the province existed (kept): " + ", ".join(
            f"{reg} {yr}: {int(n[(reg, yr)])}" for reg, yr in outside))
        grid = grid.append(outside)
    n = n.reindex(grid, fill_value=0)
    tidy = n.rename("value").reset_index()
    tidy["value"] = tidy["value"].astype("float64")
    tidy["variable"] = variable
    tidy["row"] = None
    tidy["column"] = header_cols["applicant"]
    return finish(tidy, file=file, source=file), report
