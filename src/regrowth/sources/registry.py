"""The source registry: every raw file family and KOSIS table, declared once.

One :class:`Source` per raw file (public edition) or per KOSIS table a user may download
(full edition). Each declaration carries what every other part of the package needs to know
about it, so that no list of tables, paths or variables exists anywhere else:

* ``path`` -- the file relative to ``data/raw/`` (public edition), or the slot
  ``kosis/<TABLEID>`` (full edition) whose files are ``data/raw/kosis/<TABLEID>.csv|xlsx``
  (a name may go on after the id only after a separator: ``DT_1YL20891_2024.csv`` fills the
  slot ``DT_1YL20891``, ``DT_1YL208910.csv`` does not);
* ``parser`` -- ``parser(path, raw_dir=...) -> (tidy frame, report)`` for public files; full
  edition tables are all read by :func:`regrowth.sources.full_edition.read_slot`;
* ``variables`` -- the :class:`VariableSpec` of each variable it yields: name, label, unit,
  ``kind`` (``count`` whole non-negative numbers, ``flag`` 0/1, ``ratio`` a percentage or
  share, ``level`` any other amount) and the inclusive ``bounds`` a value must lie in;
* ``table_id``, ``org_id`` (the KOSIS address is derived from them), ``producer``,
  ``description`` and ``edition`` (``public`` or ``full``);
* full edition only: ``units`` -- the unit texts KOSIS may state for the table and the
  factor that converts each into the variable's unit (``천건`` -> 1000 applications); any
  other stated unit is refused -- ``item_words`` (an item the export names must contain one of
  them: a population table saved in the patents slot is refused) and ``planned``, variables
  the table would supply but that this version does not yet read (they only feed :func:`supplier_hint`).
* ``extends`` -- variables declared by another source that this file continues into other
  years (the 2000-2024 population export adds 2021-2024 to the 1992-2020 file; its parser
  refuses the build unless both agree in every year they share).

The derived columns (logs, lags, ratios, the old-basis 재정자주도, the derived macro-region
patent counts) are declared in :mod:`regrowth.sources.variables`; :func:`supplier_hint`
follows them back to the table that supplies their inputs.

Consumers: :mod:`regrowth.sources` (:func:`~regrowth.sources.load_all`),
:mod:`regrowth.panel` (codebook labels and the pandera schema, generated from
:data:`VARIABLES`), ``tools/make_manifest.py`` (producer, table id and description of each
manifest entry), and :func:`supplier_hint` (used by :mod:`regrowth.specs` for a variable the
panel lacks).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import pandas as pd

import importlib
from regrowth.sources.variables import DERIVED_BY_NAME, derived_inputs

__all__ = ["VariableSpec", "Source", "SOURCES", "PUBLIC", "FULL_EDITION", "VARIABLES",
           "PLANNED", "kosis_url", "source_of", "by_path", "by_table", "supplier_hint",
           "full_edition_table",
           "KINDS"]

Parser = Callable[..., tuple[pd.DataFrame, Any]]

#: The kinds of variable: how values are checked and stored.
KINDS = ("count", "flag", "ratio", "level")


@dataclass(frozen=True)
class VariableSpec:
    """One variable a source yields: label, unit and the values it may take.

    ``kind``: ``count`` (whole numbers >= 0, stored as Int64), ``flag`` (0 or 1),
    ``ratio`` (a percentage or a share; ``bounds`` say which) or ``level`` (an amount).
    ``bounds`` is the inclusive valid range (None: unbounded on that side).
    """

    name: str
    label: str
    unit: str
    kind: str = "level"
    bounds: tuple[float | None, float | None] = (0.0, None)
    note: str = ""
    integer_column: bool = False   # store as Int64 in the panel (else float64, NaN missing)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"variable {self.name}: kind {self.kind!r} is not one of {KINDS}")
        if self.kind == "flag" and self.bounds != (0.0, 1.0):
            object.__setattr__(self, "bounds", (0.0, 1.0))

    @property
    def count(self) -> bool:
        """True for whole-number counts."""
        return self.kind == "count"

    @property
    def dtype(self) -> str:
        """The panel column's dtype: Int64 for flags and counts declared ``integer_column``
        (the patent counts), float64 otherwise (counts such as population stay float so that
        models receive plain floats; the schema still checks they are whole numbers)."""
        return "Int64" if self.kind == "flag" or self.integer_column else "float64"


def kosis_url(org: str, table: str) -> str:
    """The KOSIS page of a table (where a user downloads it)."""
    return f"https://kosis.kr/statHtml/statHtml.do?orgId={org}&tblId={table}"


@dataclass(frozen=True)
class Source:
    """One raw file (public edition) or one downloadable KOSIS table (full edition)."""

    path: str
    family: str
    #: "module:function" of ``regrowth.sources`` that parses the file (resolved when called, so
    #: the parsers may read this registry -- the variable catalogue -- without an import cycle)
    parser_name: str | None
    variables: tuple[VariableSpec, ...]
    producer: str = ""
    table_id: str | None = None
    org_id: str = "101"
    description: str = ""
    edition: str = "public"
    units: Mapping[str, float] = field(default_factory=dict)
    planned: tuple[tuple[str, str], ...] = ()
    item_words: tuple[str, ...] = ()   # full edition: a stated item must contain one of these
    #: variables declared by another source that this one continues (other years only; the
    #: parser checks the years both files hold agree): population 2021-2024
    extends: tuple[str, ...] = ()

    @property
    def parser(self) -> Parser | None:
        """The parse function, ``parser(path, raw_dir=...) -> (tidy frame, report)``."""
        if self.parser_name is None:
            return None
        module, func = self.parser_name.split(":")
        return getattr(importlib.import_module(f"regrowth.sources.{module}"), func)

    @property
    def url(self) -> str | None:
        return kosis_url(self.org_id, self.table_id) if self.table_id else None

    @property
    def variable_names(self) -> tuple[str, ...]:
        return tuple(v.name for v in self.variables)

    @property
    def yields(self) -> tuple[str, ...]:
        """Every variable the parser may return: its own and those it extends."""
        return self.variable_names + self.extends

    @property
    def specs(self) -> tuple[VariableSpec, ...]:
        return self.variables

    @property
    def optional(self) -> bool:
        return self.edition == "full"


_K = "kipris_fintech_and_kosis_2014_2023/"
V = VariableSpec
_PCT = (0.0, 100.0)

#: Unit texts of a percentage as KOSIS states them; a ratio (0-1) becomes percent.
PERCENT_UNITS = {"%": 1.0, "퍼센트": 1.0, "percent": 1.0, "백분율": 1.0,
                 "ratio": 100.0, "비율": 100.0}
#: Unit texts of a count of applications; 천건 (thousand cases) becomes cases.
CASE_UNITS = {"건": 1.0, "개": 1.0, "cases": 1.0, "case": 1.0, "number": 1.0, "천건": 1000.0,
              "thousand cases": 1000.0}

SOURCES: tuple[Source, ...] = (
    Source(_K + "zibianliang1_FintechPatent_2012-2023.xlsx", "kipris", "kipris:parse_kipris",
           (V("patents_fintech", "Fintech (G06Q) patent applications by first applicant's "
              "province and application year (KIPRIS records)", "applications", "count",
              note="2022-2023 incomplete (18-month publication lag)", integer_column=True),),
           producer="KIPRIS (Korean Intellectual Property Rights Information Service)",
           description="24,104 fintech (G06Q) patent application records"),
    Source("kosis_fiscal_self_reliance/fiscal_autonomy_DT_1YL20921_sido_rows_excerpt.csv",
           "kosis", "kosis_tables:parse_fiscal",
           (V("fiscal_self_reliance", "재정자립도, fiscal self-reliance ratio of the provincial "
              "government, old revenue classification (세입과목개편전), original budget", "%",
              "ratio", _PCT),
            V("fiscal_self_reliance_rev", "재정자립도, revised revenue classification "
              "(세입과목개편후), original budget", "%", "ratio", _PCT)),
           producer="Ministry of the Interior and Safety, 통합재정개요", table_id="DT_1YL20921",
           description="재정자립도 (시도 소계 rows excerpt)"),
    Source(_K + "kongzhi3_TECyanfafei2014-2023.xlsx", "kosis", "kosis_tables:parse_rnd",
           (V("rnd", "R&D expenditure by region (연구수행주체별 연구개발비, all performers)",
              "million won"),),
           producer="Ministry of Science and ICT, 연구개발활동조사", table_id="DT_KBA0019",
           org_id="127", description="R&D expenditure by region (연구수행주체별 연구개발비)"),
    Source("kosis_grdp_population/Regional_GDP__Gross_regional_income_and_Individual_income_"
           "20231118124541.xlsx", "kosis", "kosis_tables:parse_grdp_nominal",
           (V("grdp_pc_nominal", "Per-capita GRDP, current prices (KOSIS DT_1C86)",
              "thousand won"),
            V("consumption_pc", "Per-capita private consumption, current prices (KOSIS DT_1C86, "
              "'Private Consumption per Capita')", "thousand won")),
           producer="Statistics Korea, Regional Income", table_id="DT_1C86",
           description="per-capita GRDP and private consumption (nominal), thousand won, "
                       "1985-2021"),
    Source(_K + "yinbianliang_GRDP2014-2023.csv", "kosis", "kosis_tables:parse_grdp_2020base",
           (V("grdp_pc_2020base", "Per-capita GRDP, current prices, 2020-base regional "
              "accounts (same series as DT_1C86 to 2021, extended to 2023)", "thousand won",
              note="2023 values are rounded to tens"),),
           producer="Statistics Korea, Regional Income", table_id="DT_1C86",
           description="per-capita GRDP (2020 base), thousand won, 2014-2023"),
    Source("real_grdp_per_capita/GRDP_09WON_state.csv", "gcam_korea",
           "gcam_korea:parse_grdp_real",
           (V("grdp_pc_real", "Per-capita GRDP, constant 2009 prices (gcam-korea)",
              "2009 thousand won", note="no Sejong; Ulsan 1997 recorded as 0 -> missing"),),
           producer="GCAM-Korea (from KOSIS and ECOS)",
           description="real GRDP per capita, 2009 thousand won, 16 provinces"),
    Source("kosis_grdp_population/Resident_Population_by_City__County__and_District_1992-2020.csv",
           "kosis", "kosis_tables:parse_population",
           (V("population", "Resident-registration population (주민등록인구), year end",
              "persons", "count"),),
           producer="Ministry of the Interior and Safety",
           description="resident-registration population, persons, 1992-2020 (KOSIS table not "
                       "recorded in the file; probably DT_1B040A3)"),
    Source(_K + "kongzhi1_HUM2014-2023.xlsx", "kosis", "kosis_tables:parse_higher_ed",
           (V("higher_ed_rate", "Share of high-school graduates entering higher education "
              "(진학자 / 졸업자)", "share (0-1)", "ratio", (0.0, 1.0),
              note="printed in the file as the formula =진학자/졸업자, i.e. a share, not %"),
            V("hs_graduates", "High-school graduates (졸업자)", "persons", "count"),
            V("higher_ed_entrants", "High-school graduates entering higher education (진학자)",
              "persons", "count")),
           producer="education statistics",
           description="high-school graduates, entrants to higher education, entry rate"),
    Source(_K + "kongzhi4_OPE2014-2023.xlsx", "kosis", "kosis_tables:parse_exports",
           (V("exports", "Exports (수출액, KOSIS DT_1YL6901)", "million USD"),),
           producer="Korea Customs Service", table_id="DT_1YL6901",
           description="exports (수출액, 시도), million USD"),
    Source(_K + "kongzhi5_MAR2013-2024.xlsx", "kosis", "kosis_tables:parse_households",
           (V("households", "Registered households (주민등록세대수, KOSIS DT_1B040B3), year end",
              "households", "count"),),
           producer="Ministry of the Interior and Safety", table_id="DT_1B040B3",
           description="registered households (주민등록세대수)"),
    Source(_K + "kongzhi6_GOV2014-2023.xlsx", "kosis", "kosis_tables:parse_local_gov",
           (V("local_gov_amount", "Local-government amount, province + its 시군구 (…계); "
              "table not recorded, probably expenditure (unverified)", "thousand won"),),
           producer="unverified",
           description="local-government amounts per 시도, thousand won; table not recorded"),
    Source("kostat_regional_indicators/indicator_2-2-1.csv", "kostat",
           "kostat:parse_patents_pm_macro",
           (V("patents_pm_macro", "All-field patent applications per million residents of the "
              "province's macro-region (권역), KOSTAT indicator 2-2-1", "per million residents"),
            V("patents_pm_nation", "All-field patent applications per million residents of the "
              "whole country (KOSTAT indicator 2-2-1, row 0.전국), the same in every province",
              "per million residents")),
           producer="KIPO via KOSTAT regional indicators", table_id="DT_1YL202109E",
           description="patents per million residents by 권역, broadcast to provinces"),
    Source("kosis_fiscal_autonomy/kosis_fiscal_autonomy_data.csv", "kosis",
           "fiscal_autonomy:parse_fiscal_autonomy",
           (V("fiscal_autonomy", "재정자주도, fiscal autonomy ratio of the provincial government, "
              "as published: old revenue classification to 2013, revised from 2014", "%",
              "ratio", _PCT,
              note="the file's column fiscal_independence_ratio (English names swapped) x 100"),
            V("fiscal_basis_2014", "1 where fiscal_autonomy is on the revised revenue "
              "classification (세입과목개편후, from 2014), 0 on the old one", "0/1", "flag")),
           producer="Ministry of the Interior and Safety (e-지방지표, KOSIS OpenAPI)",
           table_id="DT_1YL20891",
           description="재정자주도 and 재정자립도 by 시도, fractions, 2001-2025 (English column names "
                       "swapped)"),
    Source("kosis_region_insight/대학_개황_20250626194556.xlsx", "kosis",
           "kosis_tables:parse_universities",
           (V("universities", "Universities (대학 학교수, all founders: 설립주체 계)", "schools",
              "count"),
            V("university_students", "Students enrolled in universities (재적학생수, all founders)",
              "persons", "count")),
           producer="Korean Educational Development Institute, 교육기본통계",
           table_id="DT_1963003_013", org_id="334",
           description="universities by 시도: schools, enrolled students, 2000-2024"),
    Source("kosis_region_insight/대학원_개황_20250626194645.xlsx", "kosis",
           "kosis_tables:parse_graduate_schools",
           (V("grad_schools", "Graduate schools (대학원 학교수, all founders)", "schools", "count"),
            V("grad_students", "Students enrolled in graduate schools (재적학생수, all founders)",
              "persons", "count")),
           producer="Korean Educational Development Institute, 교육기본통계",
           table_id="DT_1963003_014", org_id="334",
           description="graduate schools by 시도: schools, enrolled students, 2000-2024"),
    Source("kosis_region_insight/행정구역_시군구_별__성별_인구수_20250626192009.xlsx", "kosis",
           "kosis_tables:parse_population_2024", (), extends=("population",),
           producer="Ministry of the Interior and Safety", table_id="DT_1B040A3",
           description="resident-registration population by 시도, year end, 2000-2024 "
                       "(continues the 1992-2020 file; equal where both have a year)"),
    Source("kosis_region_insight/행정구역_시도_별_경제활동인구_20250626195127.xlsx", "kosis",
           "kosis_tables:parse_employment",
           (V("employment", "Employed persons (취업자), Economically Active Population Survey",
              "thousand persons"),
            V("employment_rate", "Employment rate (고용률), employed / population aged 15+", "%",
              "ratio", _PCT)),
           producer="Statistics Korea, Economically Active Population Survey",
           table_id="DT_1DA7004S",
           description="employed persons (thousand) and employment rate (%) by 시도, 2000-2024"),
    Source("kiet_regional_development_index/1_2. 시계열자료(사이트게재)_지역발전지수_2021년.xlsx",
           "kiet", "kiet:parse_kiet_index",
           (V("kiet_rdi", "KIET regional development index (지역발전지수), total", "index"),
            V("kiet_rdi_economic", "KIET regional development index: economic strength "
              "(경제력지수)", "index"),
            V("kiet_rdi_vitality", "KIET regional development index: residents' vitality "
              "(주민활력지수)", "index")),
           producer="Korea Institute for Industrial Economics and Trade (KIET), NAVIS",
           description="지역발전지수 (total, economic strength, residents' vitality), 16 시도, "
                       "1995-2019"),
    # ----------------------------------------------------------------- full edition
    Source("kosis/DT_1YL20891", "kosis", None,
           (V("fiscal_autonomy_kosis", "재정자주도, fiscal autonomy ratio as downloaded by the "
              "user (full edition: KOSIS DT_1YL20891 download); the public series is "
              "fiscal_autonomy", "%", "ratio", _PCT,
              note="a separate column: never merged into the public fiscal_autonomy (the "
                   "download's basis, old or revised, is whatever the user selected)"),),
           producer="Ministry of the Interior and Safety", table_id="DT_1YL20891",
           description="재정자주도 (fiscal autonomy ratio) by 시도", edition="full",
           units=PERCENT_UNITS, item_words=("재정자주도", "자주도", "fiscal autonomy")),
    Source("kosis/DT_1YL202109E", "kosis", None,
           (V("patents_all", "All-field patent applications by the first applicant's 시도 "
              "(full edition: KOSIS DT_1YL202109E download)", "applications", "count",
              integer_column=True),),
           producer="Korean Intellectual Property Office", table_id="DT_1YL202109E",
           description="patent applications by 시도 (all fields)", edition="full",
           units=CASE_UNITS, item_words=("특허", "출원", "patent")),
    Source("kosis/DT_1C81", "kosis", None,
           # read only from the OpenAPI response (regrowth data kosis), which holds every
           # economic activity: the share is derived from it (KOSIS_API below, `share`)
           (V("manufacturing_share", "Manufacturing (제조업) share of GRDP, current prices: "
              "manufacturing value added / GRDP x 100 (full edition: KOSIS DT_1C81 through "
              "`regrowth data kosis`)", "%", "ratio", _PCT),),
           producer="Statistics Korea, Regional Income",
           table_id="DT_1C81", description="GRDP levels by 시도 and economic activity",
           edition="full", units=PERCENT_UNITS, item_words=("제조업", "manufactur"),
           planned=(("grdp_nominal", "GRDP level, nominal, million won"),
                    ("grdp_real", "GRDP level, chained 2015 prices, million won"))),
    Source("kosis/DT_1DA7004S", "kosis", None, (), producer="Statistics Korea",
           table_id="DT_1DA7004S", description="employment by 시도 (the public edition reads "
           "employment and employment_rate 2000-2024 from an export of the same table)",
           edition="full"),
    Source("kosis/DT_1YL20921", "kosis", None, (),
           producer="Ministry of the Interior and Safety", table_id="DT_1YL20921",
           description="local finances by 시도 (full table)", edition="full",
           planned=(("local_tax_share", "local tax revenue share of the budget, %"),)),
    Source("kosis/DT_KBA0019", "kosis", None, (), producer="Ministry of Science and ICT",
           table_id="DT_KBA0019", org_id="127", description="researchers by region",
           edition="full",
           planned=(("researchers", "researchers by region (연구개발활동조사)"),)),
    Source("kosis/DT_1YL15001", "kosis", None, (), producer="Ministry of Education",
           table_id="DT_1YL15001", description="universities by 시도 (the public edition reads "
           "universities 2000-2024 from KEDI DT_1963003_013)", edition="full"),
    # orgId 101 is an assumption: DT_1YL15011E is listed as 지방세 in the e-지방지표 group of a
    # public table list (stored code index, file id 22106206545), and e-지방지표 tables
    # (DT_1YL…) are served under orgId 101; the item ids are not confirmed (itmId=ALL).
    Source("kosis/DT_1YL15011E", "kosis", None, (),
           producer="Ministry of the Interior and Safety (e-지방지표)", table_id="DT_1YL15011E",
           description="local tax (지방세) by 시도", edition="full",
           planned=(("local_tax", "local tax revenue (지방세) by 시도"),)),
)

PUBLIC: tuple[Source, ...] = tuple(s for s in SOURCES if s.edition == "public")
FULL_EDITION: tuple[Source, ...] = tuple(s for s in SOURCES if s.edition == "full")

VARIABLES: dict[str, VariableSpec] = {}
for _s in SOURCES:
    for _v in _s.variables:
        if _v.name in VARIABLES:
            raise AssertionError(f"variable {_v.name} is declared by two sources")
        VARIABLES[_v.name] = _v

#: variable -> (source, what) for variables a full-edition table would supply but that this
#: version does not read yet.
PLANNED: dict[str, tuple[Source, str]] = {name: (s, what) for s in FULL_EDITION
                                          for name, what in s.planned}


def source_of(variable: str) -> Source:
    """The registry entry that yields ``variable`` (KeyError if none)."""
    for s in SOURCES:
        if variable in s.variable_names:
            return s
    raise KeyError(variable)


def by_path(path: str) -> Source:
    """The public-edition entry of a raw file (path relative to ``data/raw/``)."""
    for s in PUBLIC:
        if s.path == path:
            return s
    raise KeyError(f"{path!r} is not in the source registry")


def by_table(table_id: str) -> Source:
    """The full-edition entry (slot) of a KOSIS table id."""
    for s in FULL_EDITION:
        if s.table_id == table_id:
            return s
    raise KeyError(f"KOSIS table {table_id!r} has no full-edition slot")


_DECORATIONS = (("ln1p_", ""), ("ln_", ""), ("", "_l1"), ("", "_growth"), ("", "_pm"),
                ("", "_pc"), ("", "_p10k"))


def _bases(variable: str) -> list[str]:
    """``variable``, then what it is computed from: the inputs of a declared derived column
    (:data:`regrowth.sources.variables.DERIVED`, nearest first), else what remains after
    removing derived-column decorations (``ln_``, ``_l1`` …) from an undeclared name."""
    out = [variable, *derived_inputs(variable)]
    frontier = [variable] if variable not in DERIVED_BY_NAME else []
    while frontier:
        name = frontier.pop()
        for pre, suf in _DECORATIONS:
            if pre and name.startswith(pre) or suf and name.endswith(suf):
                base = name[len(pre):len(name) - len(suf)] if suf else name[len(pre):]
                if base and base not in out:
                    out.append(base)
                    frontier.append(base)
    return out


def full_edition_table(variable: str) -> str | None:
    """The KOSIS table id of the full-edition slot that supplies ``variable`` (directly or
    as the input of a derived column, e.g. ``fiscal_autonomy_kosis_l1`` -> DT_1YL20891), or
    None when no full-edition table does."""
    for base in _bases(variable):
        try:
            src = source_of(base)
        except KeyError:
            continue
        return src.table_id if src.edition == "full" else None
    return None


def supplier_hint(variable: str) -> str:
    """A sentence saying which KOSIS table supplies ``variable`` and where to put it.

    Derived names are traced to their inputs through the declared derived columns
    (``ln_patents_all_pm_l1`` -> ``patents_all``, ``fiscal_autonomy_old_l1`` ->
    ``fiscal_autonomy``), undeclared ones by their decorations.
    """
    for base in _bases(variable):
        if base in PLANNED:
            src, what = PLANNED[base]
            return (f"{variable!r} ({what}) is not in the public edition, and this version does "
                    f"not read it yet from KOSIS table {src.table_id} ({src.url}); it cannot be "
                    "used until a parser for that table is added to regrowth.sources.registry")
        try:
            src = source_of(base)
        except KeyError:
            continue
        spec = VARIABLES[base]
        what = spec.label if base == variable else f"derived from {base}: {spec.label}"
        if src.edition == "full":
            return (f"{variable!r} ({what}, {spec.unit}) is not in the public edition; download "
                    f"KOSIS table {src.table_id} from {src.url} as a CSV or XLSX export of the "
                    f"17 시도 into data/raw/kosis/{src.table_id}.csv (or .xlsx) and rerun "
                    "`make replicate` (see README, 'Full edition')")
        table = f", KOSIS table {src.table_id}" if src.table_id else ""
        return (f"{variable!r} ({what}) comes from the public file data/raw/{src.path}"
                f"{table}; rebuild the panel (`make panel`)")
    return (f"{variable!r} is neither a column of the panel nor a known full-edition variable; "
            f"check the spelling against data/processed/codebook.csv")


# ----------------------------------------------------------------- KOSIS OpenAPI requests
@dataclass(frozen=True)
class KosisRequest:
    """How ``regrowth data kosis`` asks KOSIS OpenAPI for one full-edition table.

    ``itm_id`` and ``obj`` (objL1, objL2, ...) are sent as given (``ALL`` is every code);
    the client adds further ``objL`` axes as ``ALL`` when the service says one is missing
    (error 20). ``start`` is the first year asked for (the last is the current year).
    ``select`` keeps, on a classification axis (``C2``...), only the rows with that code
    (the response holds several series and the slot wants one); a tuple lists alternatives,
    each a code or a name, the first present in the response winning. ``evidence`` says how the
    ids are known; "unconfirmed" ids are marked so.
    """

    table_id: str
    itm_id: str = "ALL"
    obj: tuple[str, ...] = ("ALL",)
    start: int = 2000
    select: Mapping[str, str | tuple[str, ...]] = field(default_factory=dict)
    evidence: str = ""
    share: "ShareOf | None" = None


@dataclass(frozen=True)
class ShareOf:
    """A variable derived as 100 x numerator / denominator of two series on one axis.

    ``numerator``/``denominator``: alternatives (codes or names), the first present in the
    response winning; both series must be in the same unit, one of ``input_units``.
    """

    axis: str
    numerator: tuple[str, ...]
    denominator: tuple[str, ...]
    item: str
    input_units: tuple[str, ...] = ("백만원", "십억원", "억원", "천원", "million won",
                                    "billion won")

    @property
    def source(self) -> Source:
        return by_table(self.table_id)


#: The tables `regrowth data kosis` fetches (orgId comes from the table's Source).
KOSIS_API: tuple[KosisRequest, ...] = (
    KosisRequest("DT_1YL202109E", obj=("ALL", "ALL"), start=2000,
                 select={"C2": ("15138AG1AA", "특허", "특허출원")},
                 evidence="orgId 101, itmId ALL, objL1 ALL, objL2 ALL and C2 code 15138AG1AA "
                          "(특허출원) as used by a public script calling this table "
                          "(stored code index, file id 63248832352); the C2 code is not "
                          "confirmed by KOSIS documentation"),
    KosisRequest("DT_1YL20891", itm_id="T10", obj=("ALL",), start=2001,
                 evidence="orgId 101 and itmId T10 = 재정자주도(세입과목개편전) from public code "
                          "(stored code index, file ids 35417676210 and 55601832934); "
                          "the collector of the public kosis_fiscal_autonomy file used itmId 'T10 T20'"),
    KosisRequest("DT_1C81", itm_id="T1", obj=("ALL", "ALL"), start=2000,
                 evidence="orgId 101, itmId T1 (current prices), objL1 ALL (시도), objL2 the "
                          "economic activity, from public code (stored code index, file id "
                          "30267270675: itmId=T1, objL2=Z10); the manufacturing code is "
                          "unconfirmed, so every activity is fetched and the rows are matched "
                          "by code or name",
                 share=ShareOf("C2", numerator=("C", "제조업", "Manufacturing"),
                               denominator=("Z10", "지역내총생산(시장가격)", "지역내총생산",
                                            "Gross regional domestic product"),
                               item="제조업 비중 (제조업 / 지역내총생산 x 100)")),
    KosisRequest("DT_KBA0019", obj=("ALL",), start=2000,
                 evidence="orgId 127 from the public-edition entry of this table; itmId and "
                          "the axes are unconfirmed (ALL; error 20 adds axes)"),
    KosisRequest("DT_1YL15011E", obj=("ALL",), start=2000,
                 evidence="unconfirmed: see the DT_1YL15011E slot above (orgId 101 assumed)"),
)


def kosis_request(table_id: str) -> KosisRequest:
    """The OpenAPI request of a full-edition table (KeyError if `data kosis` does not know it)."""
    for r in KOSIS_API:
        if r.table_id.upper() == str(table_id).upper():
            return r
    raise KeyError(f"KOSIS table {table_id!r} is not one `regrowth data kosis` fetches "
                   f"(known: {', '.join(r.table_id for r in KOSIS_API)})")


# ----------------------------------------------------------------- anchors
@dataclass(frozen=True)
class Anchor:
    """Published figures a downloaded table must reproduce exactly (where it has the year).

    Published statistics, not data: each carries the publication it is printed in.
    """

    table_id: str
    variable: str
    year: int
    values: Mapping[str, float]   # province key -> published value
    printed_in: str


ANCHORS: tuple[Anchor, ...] = (
    Anchor("DT_1YL202109E", "patents_all", 2023,
           {"gyeonggi": 61623, "seoul": 54023, "daejeon": 11594, "sejong": 979},
           printed_in="KIPO 지식재산통계연보 2023 (Korean Intellectual Property Office, "
                      "Intellectual Property Statistics Yearbook 2023): patent applications "
                      "by the applicant's 시도, 2023"),
)
