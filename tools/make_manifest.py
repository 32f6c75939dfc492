"""Write data/raw/MANIFEST.toml from a mirror's SHA256SUMS plus the provenance below.

Run once when the raw inputs change (``python tools/make_manifest.py ../shared/data``).
Checksums and sizes are read from the mirror's files (the SHA256SUMS line is re-verified),
never typed in. For a file the panel reads, producer, KOSIS table id and description come
from the source registry (``regrowth.sources.registry``); for the other files of the mirror
from ``DETAILS`` below. Origins (repository pinned to a commit) and licences are transcribed
from the source notes that come with the mirror; each entry's ``origin``
and ``licence`` keep what they say, so the manifest needs no outside document.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path
from urllib.parse import quote

RAW = "https://raw.githubusercontent.com"

# folder -> (repository, commit, path prefix in the repository, licence note)
ORIGINS = {
    "kosis_grdp_population": ("guyabel/migest", "690b0f7b11428e65b4be884dda76a37cd28f749d",
                              "data-raw/", "KOSIS data; KOSIS terms of use permit reuse with attribution"),
    "kosis_fiscal_self_reliance": ("hyuntaechoi634/policy-evaluation-ch07-code",
                                   "b5bf0bd5b95a3a9ce023b5a3e66d70b6154f50b6", "data/",
                                   "KOSIS data; KOSIS terms of use permit reuse with attribution"),
    "kostat_regional_indicators": ("kostat-gi/data", "fb8a7cebcf1fbfef615779e1fff4bdd30e077d72",
                                   "", "MIT (LICENSE kept beside the files)"),
    "real_grdp_per_capita": ("rohmin9122/gcam-korea-release", "a3d63ffcca01140578952b3f19676fabc4c7e113",
                             "inst/extdata/gcam-korea/", "MIT"),
    "kipris_fintech_and_kosis_2014_2023": ("joyeonghye316/fintech-data-analysis",
                                           "56654f35b4fba80f5fd3dcf1f6ceff9315b7e802",
                                           "fintech-urban-growth/data/raw/",
                                           "no licence file; shared 'for academic and learning purposes'"),
    "kosis_sigungu_grdp": ("daryh0910/real-estate-analysis", "c920b2f5c4c32970a1c0a8a00d5fefd0704fabdc",
                           "data/", "KOSIS data; KOSIS terms of use permit reuse with attribution"),
    "kosis_fiscal_autonomy": ("good5229/NAVIS_contest", "9cb1d5d9da595fee36cc1aecf00c71fc4959490c",
                              "data/fiscal_autonomy/",
                              "MIT (repository); KOSIS data, KOSIS terms of use permit reuse with attribution"),
    "kosis_region_insight": ("yun0612/region-insight", "fc6ec668786430e9c87bec204d80b11b075c3563",
                             "data_raw/", "no licence stated in the repository; KOSIS data, KOSIS "
                             "terms of use permit reuse with attribution"),
    "kiet_regional_development_index": ("good5229/NAVIS_contest",
                                        "9cb1d5d9da595fee36cc1aecf00c71fc4959490c", "data/navis/",
                                        "MIT (repository); KIET NAVIS release, cite KIET"),
    "kostat_boundaries": ("southkorea/southkorea-maps", "fe65e05e549d04083e52f380a7e9166a8ea0a01e",
                          "kostat/2018/json/",
                          "Korea Open Government Licence Type 1 (공공누리 제1유형), attribution "
                          "'통계청 통계지리정보서비스(SGIS)'"),
}

# file name -> (producer, KOSIS table id or "", note)
DETAILS = {
    "Regional_GDP__Gross_regional_income_and_Individual_income_20231118124541.xlsx":
        ("Statistics Korea, Regional Income", "DT_1C86", "per-capita GRDP (nominal), thousand won, 1985-2021"),
    "Resident_Population_by_City__County__and_District_1992-2020.csv":
        ("Ministry of the Interior and Safety", "", "resident-registration population, persons, 1992-2020"),
    "fiscal_autonomy_DT_1YL20921_sido_rows_excerpt.csv":
        ("Ministry of the Interior and Safety, 통합재정개요", "DT_1YL20921",
         "EXCERPT of data/fiscal_autonomy.csv (header rows, 전국 and 17 시도 소계 rows, re-encoded "
         "CP949 -> UTF-8, values unchanged): the origin URL serves the full CP949 file, whose "
         "checksum differs, so this file can only be acquired from a mirror"),
    "zibianliang1_FintechPatent_2012-2023.xlsx":
        ("KIPRIS (Korean Intellectual Property Rights Information Service)", "",
         "24,104 fintech (G06Q) patent application records"),
    "kongzhi3_TECyanfafei2014-2023.xlsx":
        ("Ministry of Science and ICT, 연구개발활동조사", "DT_KBA0019", "R&D expenditure by region, million won"),
    "kongzhi6_GOV2014-2023.xlsx":
        ("unverified", "", "local-government amounts per 시도, thousand won; table not recorded"),
    "kongzhi4_OPE2014-2023.xlsx": ("Korea Customs Service", "DT_1YL6901", "exports, million USD"),
    "kongzhi5_MAR2013-2024.xlsx":
        ("Ministry of the Interior and Safety", "DT_1B040B3", "registered households"),
    "kongzhi1_HUM2014-2023.xlsx":
        ("education statistics", "", "high-school graduates, entrants to higher education, entry rate"),
    "yinbianliang_GRDP2014-2023.csv":
        ("Statistics Korea, Regional Income", "", "per-capita GRDP (2020 base), thousand won"),
    "grdp_sigungu_2010_2020.csv":
        ("Statistics Korea", "", "시군구 GRDP nominal and real (2015 prices), million won"),
    "GRDP_09WON_state.csv": ("GCAM-Korea (from KOSIS and ECOS)", "", "real GRDP per capita, 2009 thousand won"),
    "GRDP_97WON_state.csv": ("GCAM-Korea (from KOSIS and ECOS)", "", "real GRDP per capita, 1997 won"),
    "Census_pop_hist.csv": ("GCAM-Korea (from KOSIS)", "DT_1BPB002", "census population by 시도 1970-2010"),
    "states_subregions.csv": ("GCAM-Korea", "", "code mapping of the GCAM-Korea files"),
    "GDP_Growth.csv": ("GCAM-Korea", "", "national GDP growth"),
    "PRIMA_pop.csv": ("GCAM-Korea", "", "population projections"),
    "kosis_fiscal_autonomy_data.csv":
        ("Ministry of the Interior and Safety (e-지방지표 via the KOSIS OpenAPI)", "DT_1YL20891",
         "재정자주도 and 재정자립도 by 시도, fractions, 2001-2025 (English column names swapped)"),
    "대학_개황_20250626194556.xlsx":
        ("Korean Educational Development Institute, 교육기본통계", "DT_1963003_013",
         "universities by 시도 x 설립주체: schools, departments, enrolled students, entrants, 2000-2024"),
    "대학원_개황_20250626194645.xlsx":
        ("Korean Educational Development Institute, 교육기본통계", "DT_1963003_014",
         "graduate schools by 시도: schools, enrolled students, entrants, 2000-2024"),
    "행정구역_시군구_별__성별_인구수_20250626192009.xlsx":
        ("Ministry of the Interior and Safety", "DT_1B040A3",
         "resident-registration population by 시도, year end, persons, 2000-2024"),
    "행정구역_시도_별_경제활동인구_20250626195127.xlsx":
        ("Statistics Korea, Economically Active Population Survey", "DT_1DA7004S",
         "economically active population by 시도: employed (thousand), employment rate (%), 2000-2024"),
    "1_2. 시계열자료(사이트게재)_지역발전지수_2021년.xlsx":
        ("Korea Institute for Industrial Economics and Trade (KIET), NAVIS", "",
         "지역발전지수 (regional development index): total, economic strength, residents' vitality; "
         "16 시도 and 7 권역, 1995-2019"),
    "전출지_전입지_시도_별_이동자수_20250626193401.xlsx":
        ("Statistics Korea", "DT_1B26003_A01",
         "internal migrants and net migrants, origin x destination 시도, persons, 2000-2024 "
         "(acquired, not used by the panel)"),
    "skorea-provinces-2018-topo-simple.json":
        ("Statistics Korea, SGIS", "", "province (시도) boundaries of the 2018 census, TopoJSON, "
         "WGS84 lon/lat; join by the 2-digit code"),
    "LICENSE-kostat-2018.md":
        ("southkorea/southkorea-maps", "", "upstream licence note of the KOSTAT 2018 boundary "
         "files (KOGL Type 1); LICENSE.md in the origin folder"),
}


def origin_path(folder: str, name: str) -> str:
    repo, commit, prefix, _ = ORIGINS[folder]
    if folder == "kosis_fiscal_self_reliance":
        return "data/fiscal_autonomy.csv"
    if folder == "kostat_boundaries" and name == "LICENSE-kostat-2018.md":
        return prefix + "LICENSE.md"
    if folder == "kostat_regional_indicators":
        if name.startswith("indicator_"):
            return f"data/{name}"
        if name.startswith("meta_"):
            return f"meta/{name[len('meta_'):]}"
        return name
    return prefix + name


def _registry() -> dict:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from regrowth.sources.registry import PUBLIC
    return {s.path: s for s in PUBLIC}


def main(mirror: str) -> None:
    mirror_dir = Path(mirror)
    registered = _registry()
    out = ["# Raw inputs of the public edition: one [[file]] per file, acquired by `make data`.",
           "# Generated by tools/make_manifest.py from the mirror's SHA256SUMS; each entry's origin",
           "# and licence say where it comes from. Files are copied from REGROWTH_DATA_MIRROR or downloaded",
           "# from `url`, and refused unless their sha256 matches.", ""]
    for line in (mirror_dir / "SHA256SUMS").read_text(encoding="utf-8").splitlines():
        digest, rel = line.split(maxsplit=1)
        data = (mirror_dir / rel).read_bytes()
        actual = hashlib.sha256(data).hexdigest()
        if actual != digest:
            sys.exit(f"{rel}: SHA256SUMS says {digest}, file has {actual}")
        folder, name = rel.split("/", 1)
        repo, commit, _, licence = ORIGINS[folder]
        opath = origin_path(folder, name)
        if name.startswith(("indicator_", "meta_")):
            producer, table, note = ("Statistics Korea, regional indicator platform", "",
                                     "KOSTAT regional indicator " + name.split("_", 1)[1].rsplit(".", 1)[0])
        elif name == "LICENSE":
            producer, table, note = ("kostat-gi", "", "licence of the kostat-gi/data repository")
        elif rel in registered:
            src = registered[rel]
            producer, table, note = src.producer, src.table_id or "", src.description
        else:
            producer, table, note = DETAILS[name]
        excerpt = folder == "kosis_fiscal_self_reliance"
        if excerpt:  # the manifest says how the excerpt was made (acquire quotes it)
            note = DETAILS[name][2]
        out += ["[[file]]",
                f'path = "{rel}"',
                f'sha256 = "{digest}"',
                f"size = {len(data)}",
                f'origin = "{repo}@{commit}:{opath}"',
                f'url = "{RAW}/{repo}/{commit}/{quote(opath)}"',  # spaces, Hangul
                f'downloadable = {"false" if excerpt else "true"}',
                f'producer = "{producer}"',
                f'kosis_table = "{table}"',
                f'licence = "{licence}"',
                f'note = "{note}"',
                ""]
    Path("data/raw/MANIFEST.toml").write_text("\n".join(out), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/data")
