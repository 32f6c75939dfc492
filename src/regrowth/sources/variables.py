"""Catalogue of the variables the source parsers yield: label, unit, checks.

The panel builder reads labels and units from here (through the registry in
:mod:`regrowth.sources`) for its codebook; the parsers read ``count`` and
``bounds`` to reject impossible values with the file, row and column.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class VariableSpec:
    name: str
    label: str
    unit: str
    count: bool = False                              # whole, non-negative numbers
    bounds: tuple[float | None, float | None] = (0.0, None)   # inclusive valid range
    note: str = ""


_SPECS = (
    VariableSpec("patents_fintech", "Fintech (G06Q) patent applications by first applicant's "
                 "province and application year (KIPRIS records)", "applications", count=True,
                 note="2022-2023 incomplete (18-month publication lag)"),
    VariableSpec("fiscal_self_reliance", "재정자립도, fiscal self-reliance ratio of the provincial "
                 "government, old revenue classification (세입과목개편전), original budget",
                 "%", bounds=(0.0, 100.0)),
    VariableSpec("fiscal_self_reliance_rev", "재정자립도, revised revenue classification "
                 "(세입과목개편후), original budget", "%", bounds=(0.0, 100.0)),
    VariableSpec("rnd", "R&D expenditure by region (연구수행주체별 연구개발비, all performers)",
                 "million won"),
    VariableSpec("grdp_pc_nominal", "Per-capita GRDP, current prices (KOSIS DT_1C86)",
                 "thousand won"),
    VariableSpec("grdp_pc_2020base", "Per-capita GRDP, current prices, 2020-base regional "
                 "accounts (same series as DT_1C86 to 2021, extended to 2023)", "thousand won",
                 note="2023 values are rounded to tens"),
    VariableSpec("grdp_pc_real", "Per-capita GRDP, constant 2009 prices (gcam-korea)",
                 "2009 thousand won", note="no Sejong; Ulsan 1997 recorded as 0 -> missing"),
    VariableSpec("population", "Resident-registration population (주민등록인구), year end",
                 "persons", count=True),
    VariableSpec("higher_ed_rate", "Share of high-school graduates entering higher education "
                 "(진학자 / 졸업자)", "share (0-1)", bounds=(0.0, 1.0),
                 note="printed in the file as the formula =진학자/졸업자, i.e. a share, not %"),
    VariableSpec("hs_graduates", "High-school graduates (졸업자)", "persons", count=True),
    VariableSpec("higher_ed_entrants", "High-school graduates entering higher education (진학자)",
                 "persons", count=True),
    VariableSpec("exports", "Exports (수출액, KOSIS DT_1YL6901)", "million USD"),
    VariableSpec("households", "Registered households (주민등록세대수, KOSIS DT_1B040B3), year end",
                 "households", count=True),
    VariableSpec("local_gov_amount", "Local-government amount, province + its 시군구 (…계); "
                 "table not recorded, probably expenditure (unverified)", "thousand won"),
    VariableSpec("fiscal_autonomy", "재정자주도, fiscal autonomy ratio (full edition: KOSIS "
                 "DT_1YL20891 download)", "%", bounds=(0.0, 100.0)),
    VariableSpec("patents_all", "All-field patent applications by the first applicant's 시도 "
                 "(full edition: KOSIS DT_1YL202109E download)", "applications", count=True),
    VariableSpec("patents_pm_macro", "All-field patent applications per million residents of the "
                 "province's macro-region (권역), KOSTAT indicator 2-2-1", "per million residents"),
)

VARIABLES: dict[str, VariableSpec] = {s.name: s for s in _SPECS}
