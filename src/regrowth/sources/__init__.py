"""Source parsers: raw files -> tidy long tables (region, year, variable, value, source).

One parser per source family:

* :mod:`regrowth.sources.kosis` -- general KOSIS export reader (wide/long, CSV/XLSX,
  UTF-8/CP949), used by :mod:`regrowth.sources.kosis_tables` for the public files;
* :mod:`regrowth.sources.kipris` -- KIPRIS fintech patent records;
* :mod:`regrowth.sources.kostat` -- KOSTAT regional-indicator CSVs (권역 series);
* :mod:`regrowth.sources.gcam_korea` -- the gcam-korea real per-capita GRDP file.

:data:`REGISTRY` lists, in order, every raw file the public edition reads (path
relative to the raw directory, POSIX), its parser and the variables it yields
(label and unit from :mod:`regrowth.sources.variables`); :func:`load_all`
parses them all. :data:`FULL_EDITION` names the KOSIS tables a user can add
under ``data/raw/kosis/`` for the full specification.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from regrowth.errors import DataError, MissingInputError
from regrowth.sources import gcam_korea, kipris, kosis_tables, kostat
from regrowth.sources._common import TIDY_COLUMNS, concat_tidy
from regrowth.sources.variables import VARIABLES, VariableSpec

__all__ = ["SourceSpec", "REGISTRY", "FULL_EDITION", "VARIABLES", "VariableSpec", "TIDY_COLUMNS",
           "load_all", "load_source", "load_kosis_download", "variable_catalogue", "source_of",
           "missing_input"]

Parser = Callable[..., tuple[pd.DataFrame, Any]]


@dataclass(frozen=True)
class SourceSpec:
    """One raw file, its parser and what it yields."""

    path: str                              # relative to the raw dir, POSIX
    family: str                            # kosis, kipris, kostat, gcam_korea
    parser: Parser                         # parser(path, raw_dir=...) -> (tidy, report)
    variables: tuple[str, ...]
    producer: str = ""
    table_id: str | None = None            # KOSIS table id, if any
    url: str | None = None                 # where a user can download it
    description: str = ""
    optional: bool = False                 # full-edition inputs: skipped when absent

    @property
    def specs(self) -> tuple[VariableSpec, ...]:
        return tuple(VARIABLES[v] for v in self.variables)


def _kosis_url(org: str, tbl: str) -> str:
    return f"https://kosis.kr/statHtml/statHtml.do?orgId={org}&tblId={tbl}"


_K = "kipris_fintech_and_kosis_2014_2023/"

#: Every raw file of the public edition, in load order.
REGISTRY: tuple[SourceSpec, ...] = (
    SourceSpec(_K + "zibianliang1_FintechPatent_2012-2023.xlsx", "kipris", kipris.parse_kipris,
               ("patents_fintech",), producer="KIPRIS",
               description="24,104 fintech (G06Q) application records"),
    SourceSpec("kosis_fiscal_self_reliance/fiscal_autonomy_DT_1YL20921_sido_rows_excerpt.csv",
               "kosis", kosis_tables.parse_fiscal,
               ("fiscal_self_reliance", "fiscal_self_reliance_rev"),
               producer="Ministry of the Interior and Safety", table_id="DT_1YL20921",
               url=_kosis_url("101", "DT_1YL20921"),
               description="재정자립도 (시도 소계 rows excerpt)"),
    SourceSpec(_K + "kongzhi3_TECyanfafei2014-2023.xlsx", "kosis", kosis_tables.parse_rnd,
               ("rnd",), producer="Ministry of Science and ICT", table_id="DT_KBA0019",
               url=_kosis_url("127", "DT_KBA0019"), description="연구수행주체별 연구개발비(지역)"),
    SourceSpec("kosis_grdp_population/Regional_GDP__Gross_regional_income_and_Individual_income_"
               "20231118124541.xlsx", "kosis", kosis_tables.parse_grdp_nominal,
               ("grdp_pc_nominal",), producer="Statistics Korea", table_id="DT_1C86",
               url=_kosis_url("101", "DT_1C86"), description="per-capita GRDP, current prices"),
    SourceSpec(_K + "yinbianliang_GRDP2014-2023.csv", "kosis", kosis_tables.parse_grdp_2020base,
               ("grdp_pc_2020base",), producer="Statistics Korea", table_id="DT_1C86",
               url=_kosis_url("101", "DT_1C86"), description="per-capita GRDP 2014-2023"),
    SourceSpec("real_grdp_per_capita/GRDP_09WON_state.csv", "gcam_korea",
               gcam_korea.parse_grdp_real, ("grdp_pc_real",), producer="gcam-korea (from KOSIS)",
               description="real per-capita GRDP, 2009 won, 16 provinces"),
    SourceSpec("kosis_grdp_population/Resident_Population_by_City__County__and_District_1992-2020.csv",
               "kosis", kosis_tables.parse_population, ("population",),
               producer="Ministry of the Interior and Safety",
               description="resident-registration population (KOSIS table not recorded in the "
                           "file; probably DT_1B040A3)"),
    SourceSpec(_K + "kongzhi1_HUM2014-2023.xlsx", "kosis", kosis_tables.parse_higher_ed,
               ("higher_ed_rate", "hs_graduates", "higher_ed_entrants"),
               producer="education statistics", description="high-school graduates and entrants"),
    SourceSpec(_K + "kongzhi4_OPE2014-2023.xlsx", "kosis", kosis_tables.parse_exports,
               ("exports",), producer="Korea Customs Service / KITA", table_id="DT_1YL6901",
               url=_kosis_url("101", "DT_1YL6901"), description="수출액(시도)"),
    SourceSpec(_K + "kongzhi5_MAR2013-2024.xlsx", "kosis", kosis_tables.parse_households,
               ("households",), producer="Ministry of the Interior and Safety",
               table_id="DT_1B040B3", url=_kosis_url("101", "DT_1B040B3"),
               description="주민등록세대수"),
    SourceSpec(_K + "kongzhi6_GOV2014-2023.xlsx", "kosis", kosis_tables.parse_local_gov,
               ("local_gov_amount",), producer="unverified",
               description="local-government amounts (table not recorded)"),
    SourceSpec("kostat_regional_indicators/indicator_2-2-1.csv", "kostat",
               kostat.parse_patents_pm_macro, ("patents_pm_macro",),
               producer="KIPO via KOSTAT regional indicators", table_id="DT_1YL202109E",
               description="patents per million residents by 권역, broadcast to provinces"),
)

#: KOSIS tables for the full edition (not in the public mirror). Put a KOSIS
#: export of each at the path shown; :func:`load_all` reads those present.
FULL_EDITION: tuple[dict[str, str], ...] = (
    {"path": "kosis/DT_1YL202109E.csv", "table_id": "DT_1YL202109E",
     "what": "patent applications by 시도 (all fields)", "url": _kosis_url("101", "DT_1YL202109E")},
    {"path": "kosis/DT_1YL20891.csv", "table_id": "DT_1YL20891",
     "what": "재정자주도 (fiscal autonomy ratio)", "url": _kosis_url("101", "DT_1YL20891")},
    {"path": "kosis/DT_1C81.csv", "table_id": "DT_1C81",
     "what": "GRDP levels by 시도, nominal and real", "url": _kosis_url("101", "DT_1C81")},
    {"path": "kosis/DT_1DA7004S.csv", "table_id": "DT_1DA7004S",
     "what": "employment by 시도", "url": _kosis_url("101", "DT_1DA7004S")},
)


#: Full-edition tables read into the panel when their download is present, and the
#: variable each yields (a single-item 시도 export: one row per province, years as columns).
FULL_EDITION_VARIABLES: dict[str, str] = {
    "DT_1YL20891": "fiscal_autonomy",
    "DT_1YL202109E": "patents_all",
}


def load_kosis_download(raw_dir: str | Path, table_id: str, variables, **kwargs) -> pd.DataFrame:
    """Read a full-edition KOSIS download ``raw_dir/kosis/<table_id>*.csv|xlsx`` into tidy rows.

    ``variables`` and ``kwargs`` are those of :func:`regrowth.sources.kosis.parse_kosis`.
    A missing download raises :class:`~regrowth.errors.MissingInputError` naming the
    table id, its KOSIS address and where to save it.
    """
    from regrowth.sources import kosis
    folder = Path(raw_dir) / "kosis"
    found = sorted(p for p in folder.glob(f"{table_id}*") if p.suffix.lower() in (".csv", ".xlsx"))
    if not found:
        url = next((t["url"] for t in FULL_EDITION if t["table_id"] == table_id),
                   _kosis_url("101", table_id))
        raise MissingInputError(
            f"KOSIS table {table_id} has not been downloaded (looked for {folder}/{table_id}*.csv "
            "or .xlsx)", file=folder / f"{table_id}.csv",
            hint=f"download it from {url} (CSV or Excel) and save it as data/raw/kosis/{table_id}.csv "
                 "or .xlsx; the public files themselves come from `make data`")
    return kosis.parse_kosis(found[0], variables, raw_dir=raw_dir, **kwargs)


def source_of(variable: str) -> SourceSpec:
    """The registry entry that yields ``variable``."""
    for spec in REGISTRY:
        if variable in spec.variables:
            return spec
    raise KeyError(variable)


def variable_catalogue() -> pd.DataFrame:
    """One row per variable: variable, label, unit, source file, table id, note (for the codebook)."""
    rows = []
    for spec in REGISTRY:
        for v in spec.specs:
            rows.append({"variable": v.name, "label": v.label, "unit": v.unit,
                         "source": spec.path, "table_id": spec.table_id or "",
                         "count": v.count, "note": v.note})
    return pd.DataFrame(rows)


def missing_input(spec: SourceSpec, raw_dir: str | Path) -> MissingInputError:
    """The error for a raw file that is not there, with what to do."""
    target = Path(raw_dir) / spec.path
    where = f"data/raw/{spec.path}"
    if spec.table_id and spec.url:
        hint = (f"run `make data` to acquire the public files (it copies or downloads every file "
                f"in data/raw/MANIFEST.toml); or download KOSIS table {spec.table_id} from "
                f"{spec.url} and save it as {where}")
    else:
        hint = f"run `make data` to acquire the public files into data/raw/ (expected at {where})"
    what = f"KOSIS table {spec.table_id}, " if spec.table_id else ""
    return MissingInputError(f"raw input missing: {spec.path} ({what}{spec.description})",
                             file=target, hint=hint)


def load_source(spec: SourceSpec | str, raw_dir: str | Path) -> tuple[pd.DataFrame, Any]:
    """Parse one registry entry (or its path) from ``raw_dir``."""
    if isinstance(spec, str):
        matches = [s for s in REGISTRY if s.path == spec]
        if not matches:
            raise KeyError(f"{spec!r} is not in the source registry")
        spec = matches[0]
    raw_dir = Path(raw_dir)
    path = raw_dir / spec.path
    if not path.is_file():
        raise missing_input(spec, raw_dir)
    frame, report = spec.parser(path, raw_dir=raw_dir)
    unexpected = set(frame["variable"]) - set(spec.variables)
    if unexpected:
        raise DataError(f"parser yielded unregistered variables {sorted(unexpected)}",
                        file=spec.path, hint="register them in regrowth/sources/__init__.py")
    return frame, report


def load_all(raw_dir: str | Path, *, sources: list[str] | None = None
             ) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Parse every registry entry (or those named in ``sources``) from ``raw_dir``.

    Returns the concatenated tidy frame (columns :data:`TIDY_COLUMNS`, sorted
    by variable, region, year) and ``{relative path: parser report}``. The
    first missing file raises :class:`~regrowth.errors.MissingInputError`.
    Full-edition KOSIS files present under ``raw_dir/kosis/`` are listed in
    ``reports["full_edition"]``; those in :data:`FULL_EDITION_VARIABLES` are parsed into the
    tidy frame (``fiscal_autonomy``, ``patents_all``).
    """
    raw_dir = Path(raw_dir)
    chosen = [s for s in REGISTRY if sources is None or s.path in sources]
    if sources is not None:
        unknown = set(sources) - {s.path for s in chosen}
        if unknown:
            raise KeyError(f"not in the source registry: {sorted(unknown)}")
    for spec in chosen:
        if not (raw_dir / spec.path).is_file():
            raise missing_input(spec, raw_dir)
    frames, reports = [], {}
    for spec in chosen:
        frame, report = load_source(spec, raw_dir)
        frames.append(frame)
        reports[spec.path] = report
    # Full-edition KOSIS downloads that are present join the panel; absent ones are simply
    # not there (a spec that needs one fails before fitting, naming the table).
    present = {}
    for table_id, variable in FULL_EDITION_VARIABLES.items():
        found = sorted(p for p in (raw_dir / "kosis").glob(f"{table_id}*")
                       if p.suffix.lower() in (".csv", ".xlsx"))
        present[table_id] = bool(found)
        if found:
            frames.append(load_kosis_download(raw_dir, table_id, variable))
    reports["full_edition"] = present
    tidy = concat_tidy(frames)
    dup = tidy.duplicated(["region", "year", "variable"])
    if dup.any():
        r = tidy[dup].iloc[0]
        raise DataError(f"{r['variable']} for {r['region']} {r['year']} comes from two sources",
                        file=r["source"], hint="each variable must come from one registry entry")
    return tidy, reports
