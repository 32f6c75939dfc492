"""Korea's 17 provinces (시도): the one place that knows their names.

Every parser resolves the region names it meets in raw files through
:func:`lookup`; an unknown name is an error (with the closest known name as a
suggestion), never a row silently dropped. Parsers that must skip rows that are
not provinces (the nation, 시군구 sub-rows such as ``(Ulsan-si)``) pass an
explicit ignore-list and use :func:`is_nation`.

Codes
-----
``code`` is the 2-digit 시도 code of Statistics Korea's administrative-district
classification (통계청 행정구역분류) that KOSIS tables use: 11 Seoul, 21 Busan,
22 Daegu, 23 Incheon, 24 Gwangju, 25 Daejeon, 26 Ulsan, 29 Sejong, 31 Gyeonggi,
32 Gangwon, 33 Chungbuk, 34 Chungnam, 35 Jeonbuk, 36 Jeonnam, 37 Gyeongbuk,
38 Gyeongnam, 39 Jeju. These are *not* the Ministry of the Interior's
legal-district codes (법정동코드: 26 Busan, 29 Gwangju, 36 Sejong, 41 Gyeonggi, …),
so bare numbers are deliberately not accepted as aliases; use :func:`by_code`.

Macro-regions (권역)
-------------------
The seven 권역 of Statistics Korea's regional-indicator platform, numbered as
in its indicator files (``1.수도권`` … ``7.제주권``): 수도권 (capital: Seoul,
Incheon, Gyeonggi), 충청권 (Daejeon, Sejong, Chungbuk, Chungnam), 호남권
(Gwangju, Jeonbuk, Jeonnam), 대경권 (Daegu, Gyeongbuk), 동남권 (Busan, Ulsan,
Gyeongnam), 강원권 (Gangwon), 제주권 (Jeju). The indicator ``meta_*.yml`` files
state only "computation_coverage: 권역" and do not list members; the grouping
above is the platform's standard one.

Territorial changes inside the data's years
-------------------------------------------
``first_year`` is the first calendar year in which the province existed as a
시도 (part of the year for those created mid-year); ``first_full_year`` the first
whole year. The splits that matter for the panels: Gwangju from Jeonnam (Nov
1986), Daejeon from Chungnam (Jan 1989), Ulsan from Gyeongnam (15 Jul 1997:
Gyeongnam's population drops by ~1 million in 1997), Sejong from Chungnam's
Yeongi-gun plus parts of Gongju and Chungbuk's Cheongwon-gun (1 Jul 2012).

**Sejong** is treated as its own unit from its first full year, 2013, in
sources that report it then (GRDP, 재정자립도); the resident-population series and
the KIPRIS counts have it from 2012 (year-end population; applications by
address). Before it existed its territory is in Chungnam (and a little of
Chungbuk), so Chungnam has a small break in 2012. Parsers keep every value the
files give; the panel decides the sample (the main samples exclude Sejong).
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass, field

import pandas as pd

from regrowth.errors import UnknownRegionError

__all__ = [
    "Region", "MacroRegion", "REGIONS", "MACRO_REGIONS", "NATION_ALIASES",
    "lookup", "lookup_macro", "normalize", "is_nation", "is_macro", "by_code",
    "members", "to_frame", "keys", "group_label",
]


@dataclass(frozen=True)
class MacroRegion:
    """A 권역 of the KOSTAT regional-indicator platform."""

    key: str
    number: int          # the number KOSTAT's indicator files prefix it with
    name_ko: str
    name_en: str
    members: tuple[str, ...]
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Region:
    """One of the 17 provinces (시도)."""

    key: str                     # stable English key, e.g. "seoul"
    code: str                    # 2-digit KOSTAT/KOSIS code, e.g. "11"
    name_ko: str                 # current official Korean name
    name_en: str                 # English name
    macro_region: str            # key into MACRO_REGIONS
    capital_region: bool         # 수도권 (Seoul, Incheon, Gyeonggi)
    first_year: int | None = None        # first year it existed as a 시도 (None: before 1980)
    first_full_year: int | None = None   # first whole year as a 시도
    carved_from: tuple[str, ...] = ()    # provinces it was split off from
    aliases: tuple[str, ...] = field(default=(), repr=False)  # every spelling met in raw files

    @property
    def macro(self) -> MacroRegion:
        return MACRO_REGIONS[self.macro_region]


def _r(key, code, ko, en, macro, aliases, first=None, full=None, carved=()):
    return Region(key=key, code=code, name_ko=ko, name_en=en, macro_region=macro,
                  capital_region=(macro == "capital"), first_year=first,
                  first_full_year=full, carved_from=tuple(carved), aliases=tuple(aliases))


#: The 17 provinces ordered by code. Aliases list every spelling met in the
#: public raw files (see the report in tests/data/test_regions.py), plus the
#: obvious official variants.
REGIONS: tuple[Region, ...] = (
    _r("seoul", "11", "서울특별시", "Seoul", "capital",
       ["서울특별시", "서울시", "서울", "서울계", "Seoul", "Seoul Special City",
        "Seoul-si", "SU"]),
    _r("busan", "21", "부산광역시", "Busan", "dongnam",
       ["부산광역시", "부산시", "부산", "부산계", "Busan", "Busan Metropolitan City",
        "Busan-si", "Pusan", "BS"], first=1963, full=1963, carved=("gyeongnam",)),
    _r("daegu", "22", "대구광역시", "Daegu", "daegyeong",
       ["대구광역시", "대구시", "대구", "대구계", "Daegu", "Daegu Metropolitan City",
        "Daegu-si", "Taegu", "DG"], first=1981, full=1981, carved=("gyeongbuk",)),
    _r("incheon", "23", "인천광역시", "Incheon", "capital",
       ["인천광역시", "인천시", "인천", "인천계", "Incheon", "Incheon Metropolitan City",
        "Incheon-si", "IC"], first=1981, full=1981, carved=("gyeonggi",)),
    # "광주시" is deliberately absent: it is also a city in Gyeonggi-do.
    _r("gwangju", "24", "광주광역시", "Gwangju", "honam",
       ["광주광역시", "광주", "광주계", "Gwangju", "Gwangju Metropolitan City",
        "Kwangju", "GJ"], first=1986, full=1987, carved=("jeonnam",)),
    _r("daejeon", "25", "대전광역시", "Daejeon", "chungcheong",
       ["대전광역시", "대전시", "대전", "대전계", "Daejeon", "Daejeon Metropolitan City",
        "Daejeon-si", "Taejon", "DJ"], first=1989, full=1989, carved=("chungnam",)),
    _r("ulsan", "26", "울산광역시", "Ulsan", "dongnam",
       ["울산광역시", "울산시", "울산", "울산계", "Ulsan", "Ulsan Metropolitan City",
        "US"], first=1997, full=1998, carved=("gyeongnam",)),
    _r("sejong", "29", "세종특별자치시", "Sejong", "chungcheong",
       ["세종특별자치시", "세종시", "세종", "세종계", "Sejong", "Sejong_si", "Sejong-si",
        "Sejong Special Self-Governing City", "Sejong City"],
       first=2012, full=2013, carved=("chungnam", "chungbuk")),
    _r("gyeonggi", "31", "경기도", "Gyeonggi", "capital",
       ["경기도", "경기", "경기계", "Gyeonggi", "Gyeonggi-do", "Gyeonggi Province",
        "Kyonggi-do", "GG"]),
    # 강원도 became 강원특별자치도 on 11 June 2023.
    _r("gangwon", "32", "강원특별자치도", "Gangwon", "gangwon",
       ["강원특별자치도", "강원도", "강원", "강원계", "Gangwon", "Gangwon-do",
        "Gangwon State", "Gangwon Special Self-Governing Province", "Kangwon-do", "GW"]),
    _r("chungbuk", "33", "충청북도", "Chungbuk", "chungcheong",
       ["충청북도", "충북", "충북계", "Chungbuk", "Chungcheongbuk-do",
        "North Chungcheong", "Chungcheongbuk", "CB"]),
    _r("chungnam", "34", "충청남도", "Chungnam", "chungcheong",
       ["충청남도", "충남", "충남계", "Chungnam", "Chungcheongnam-do",
        "South Chungcheong", "Chungcheongnam", "CN"]),
    # 전라북도 became 전북특별자치도 on 18 January 2024.
    _r("jeonbuk", "35", "전북특별자치도", "Jeonbuk", "honam",
       ["전북특별자치도", "전라북도", "전북", "전북계", "Jeonbuk", "Jeollabuk-do",
        "Jeonbuk State", "Jeonbuk Special Self-Governing Province", "North Jeolla",
        "Jeollabuk", "JB"]),
    _r("jeonnam", "36", "전라남도", "Jeonnam", "honam",
       ["전라남도", "전남", "전남계", "Jeonnam", "Jeollanam-do", "South Jeolla",
        "Jeollanam", "JN"]),
    _r("gyeongbuk", "37", "경상북도", "Gyeongbuk", "daegyeong",
       ["경상북도", "경북", "경북계", "Gyeongbuk", "Gyeongsangbuk-do",
        "North Gyeongsang", "Gyeongsangbuk", "GB"]),
    _r("gyeongnam", "38", "경상남도", "Gyeongnam", "dongnam",
       ["경상남도", "경남", "경남계", "Gyeongnam", "Gyeongsangnam-do",
        "South Gyeongsang", "Gyeongsangnam", "GN"]),
    # 제주도 became 제주특별자치도 on 1 July 2006.
    _r("jeju", "39", "제주특별자치도", "Jeju", "jeju",
       ["제주특별자치도", "제주도", "제주", "제주계", "Jeju", "Jeju-do",
        "Jeju Special Self-Governing Province", "Cheju-do", "JJ"]),
)

#: The seven 권역, in KOSTAT's numbering.
MACRO_REGIONS: dict[str, MacroRegion] = {m.key: m for m in (
    MacroRegion("capital", 1, "수도권", "Capital Region", ("seoul", "incheon", "gyeonggi"),
                ("수도권", "Capital", "Capital Region", "Sudogwon")),
    MacroRegion("chungcheong", 2, "충청권", "Chungcheong", ("daejeon", "sejong", "chungbuk", "chungnam"),
                ("충청권", "Chungcheong", "Chungcheong Region")),
    MacroRegion("honam", 3, "호남권", "Honam", ("gwangju", "jeonbuk", "jeonnam"),
                ("호남권", "Honam", "Honam Region")),
    MacroRegion("daegyeong", 4, "대경권", "Daegu-Gyeongbuk", ("daegu", "gyeongbuk"),
                ("대경권", "Daegyeong", "Daegu-Gyeongbuk", "Daegyeong Region")),
    MacroRegion("dongnam", 5, "동남권", "Southeast (Dongnam)", ("busan", "ulsan", "gyeongnam"),
                ("동남권", "Dongnam", "Southeast", "Dongnam Region")),
    MacroRegion("gangwon", 6, "강원권", "Gangwon", ("gangwon",),
                ("강원권", "Gangwon Region")),
    MacroRegion("jeju", 7, "제주권", "Jeju", ("jeju",),
                ("제주권", "Jeju Region")),
)}

#: Names of the whole country (not a province).
NATION_ALIASES: tuple[str, ...] = (
    "전국", "전국계", "전국합계", "전국 소계", "Whole country", "Nationwide", "National",
    "Korea", "South Korea", "Total", "계", "합계", "총계",
)

_BY_KEY: dict[str, Region] = {r.key: r for r in REGIONS}
_BY_CODE: dict[str, Region] = {r.code: r for r in REGIONS}

_NUMBERING = re.compile(r"^\s*\d{1,2}\s*[.)]\s*")      # KOSTAT "0.전국", "2.서울특별시"
_DROP = re.compile(r"[\s\-_.·・'’]+")


def _norm(name: object) -> str:
    """Comparison form of a name: NFKC, no numbering prefix, no spaces/hyphens, casefolded."""
    text = unicodedata.normalize("NFKC", str(name)).strip()
    text = _NUMBERING.sub("", text)
    return _DROP.sub("", text).casefold()


def _build_index() -> tuple[dict[str, Region], dict[str, str]]:
    index: dict[str, Region] = {}
    display: dict[str, str] = {}
    for region in REGIONS:
        for alias in (region.name_ko, region.name_en, *region.aliases, region.key):
            k = _norm(alias)
            if k in index and index[k] is not region:
                raise AssertionError(f"alias {alias!r} is ambiguous")
            index[k] = region
            display.setdefault(k, alias)
    return index, display


_INDEX, _DISPLAY = _build_index()
_NATION = {_norm(a) for a in NATION_ALIASES}
_MACRO_INDEX: dict[str, MacroRegion] = {}
for _m in MACRO_REGIONS.values():
    for _a in (_m.key, _m.name_ko, _m.name_en, *_m.aliases):
        _MACRO_INDEX[_norm(_a)] = _m
assert not (_NATION & set(_INDEX)), "a nation alias is also a province alias"


def keys() -> tuple[str, ...]:
    """The 17 province keys in code order."""
    return tuple(r.key for r in REGIONS)


def is_nation(name: object) -> bool:
    """True if ``name`` denotes the whole country (전국, Whole country, 0.전국, 전국계 …)."""
    return _norm(name) in _NATION


def is_macro(name: object) -> bool:
    """True if ``name`` is one of the seven 권역 (수도권, 1.수도권 …)."""
    return _norm(name) in _MACRO_INDEX


def suggest(name: object) -> str | None:
    """The known province alias closest to ``name`` (difflib), or None."""
    candidates = difflib.get_close_matches(_norm(name), list(_INDEX), n=1, cutoff=0.5)
    if not candidates:
        return None
    best = candidates[0]
    return f"{_DISPLAY[best]!r} ({_INDEX[best].key})"


def lookup(name: object, *, file=None, row: int | None = None,
           column: str | None = None) -> Region:
    """The :class:`Region` a name (any alias, key or English name) denotes.

    Raises :class:`~regrowth.errors.UnknownRegionError` for anything else,
    including the nation and the 권역, with the closest known name as a
    suggestion; ``file``/``row``/``column`` are passed to the error.
    """
    k = _norm(name)
    region = _INDEX.get(k)
    if region is not None:
        return region
    if k in _NATION:
        why = f"{name!r} is the whole country, not a province"
        hint = "drop the nation row (parsers skip it with regions.is_nation)"
    elif k in ("", "none", "nan"):
        why = "empty region name"
        hint = "fill in the province name of this row, or remove the row"
    elif k in _MACRO_INDEX:
        why = f"{name!r} is a macro-region (권역), not a province"
        hint = "use regions.lookup_macro / sources.kostat for 권역 series"
    else:
        guess = suggest(name)
        why = f"unknown region name {name!r}" + (f"; did you mean {guess}?" if guess else "")
        hint = ("fix the name in the file, or, if it is a real new spelling of one of the "
                "17 provinces, add it to that Region's aliases in regrowth/regions.py")
    raise UnknownRegionError(why, file=file, row=row, column=column, hint=hint)


def normalize(name: object, **where) -> str:
    """The stable English key (``"seoul"`` …) of a province name; errors as :func:`lookup`."""
    return lookup(name, **where).key


def by_code(code: object) -> Region:
    """The region with a 2-digit KOSTAT/KOSIS code (``"11"``, 11, ``"39"``)."""
    text = str(code).strip()
    if text.isdigit() and len(text) == 1:
        text = "0" + text
    try:
        return _BY_CODE[text]
    except KeyError:
        raise UnknownRegionError(f"unknown KOSIS province code {code!r}",
                                 hint=f"known codes: {', '.join(_BY_CODE)}") from None


def get(key: str) -> Region:
    """The region with a stable key; KeyError-compatible UnknownRegionError otherwise."""
    try:
        return _BY_KEY[key]
    except KeyError:
        return lookup(key)


def lookup_macro(name: object, *, file=None, row: int | None = None,
                 column: str | None = None) -> MacroRegion:
    """The :class:`MacroRegion` a name denotes (``1.수도권``, ``수도권``, ``capital`` …)."""
    macro = _MACRO_INDEX.get(_norm(name))
    if macro is not None:
        return macro
    guess = difflib.get_close_matches(_norm(name), list(_MACRO_INDEX), n=1, cutoff=0.5)
    extra = f"; did you mean {_MACRO_INDEX[guess[0]].name_ko}?" if guess else ""
    raise UnknownRegionError(f"unknown macro-region (권역) name {name!r}{extra}",
                             file=file, row=row, column=column,
                             hint="the 권역 are " + ", ".join(m.name_ko for m in MACRO_REGIONS.values()))


def members(macro: str) -> tuple[Region, ...]:
    """The provinces of a 권역 (by key or any 권역 name)."""
    m = MACRO_REGIONS.get(macro) or lookup_macro(macro)
    return tuple(_BY_KEY[k] for k in m.members)


# How tables and notes name the panel columns that identify provinces and 권역 when they are
# cluster or bootstrap groups; any other column is named as the panel spells it, so a reader
# can find it.
GROUP_LABELS = {"region": "province", "macro_region": "macro-region"}


def group_label(groups: str | None) -> str:
    """How the tables' "Standard errors" row and the notes name a cluster variable: "province"
    for ``region`` (also for ``None``, the default grouping), "macro-region" for
    ``macro_region``, any other panel column as it is spelled."""
    groups = groups or "region"
    return GROUP_LABELS.get(groups, groups)


def to_frame() -> pd.DataFrame:
    """One row per province, in code order, for the panel and its codebook.

    Columns: region (key), code, region_ko, region_en, macro_region (key),
    macro_region_ko, capital_region (0/1), first_year, first_full_year.
    """
    rows = [{
        "region": r.key, "code": r.code, "region_ko": r.name_ko, "region_en": r.name_en,
        "macro_region": r.macro_region, "macro_region_ko": r.macro.name_ko,
        "capital_region": int(r.capital_region),
        "first_year": r.first_year, "first_full_year": r.first_full_year,
    } for r in REGIONS]
    frame = pd.DataFrame(rows)
    frame["capital_region"] = frame["capital_region"].astype("int64")
    for col in ("first_year", "first_full_year"):
        frame[col] = frame[col].astype("Int64")
    return frame
