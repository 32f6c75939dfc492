"""Known values read from the real public files (skipped when ../shared/data is absent),
and the shape of the tidy tables every parser returns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from regrowth import regions, sources
from regrowth.sources import TIDY_COLUMNS, VARIABLES


def value(tidy, variable, region, year):
    hit = tidy[(tidy.variable == variable) & (tidy.region == region) & (tidy.year == year)]
    assert len(hit) <= 1
    return hit["value"].iloc[0] if len(hit) else None


def years(tidy, variable, region):
    return sorted(tidy[(tidy.variable == variable) & (tidy.region == region)]["year"])


@pytest.fixture(scope="module")
def tidy(all_sources):
    return all_sources[0]


@pytest.mark.parametrize("variable, region, year, expected", [
    ("population", "seoul", 2020, 9668465),
    ("population", "sejong", 2012, 113117),
    ("population", "ulsan", 1997, 1009652),
    ("population", "gyeongnam", 1996, 4009419),
    ("fiscal_self_reliance", "busan", 2001, 74.4),
    ("fiscal_self_reliance", "seoul", 2014, 84.2),
    ("fiscal_self_reliance_rev", "seoul", 2014, 80.0),
    ("fiscal_self_reliance", "daejeon", 2006, 72.8),
    ("fiscal_self_reliance", "sejong", 2013, 38.8),
    ("fiscal_self_reliance_rev", "jeju", 2025, 33.1),
    ("grdp_pc_nominal", "seoul", 1985, 2377),
    ("grdp_pc_nominal", "ulsan", 2021, 69392),
    ("grdp_pc_2020base", "seoul", 2023, 58250),
    ("grdp_pc_real", "seoul", 1997, 17121),
    ("grdp_pc_real", "ulsan", 1998, 32275),
    ("grdp_pc_real", "jeju", 2017, 24772),
    ("rnd", "seoul", 2014, 9635558),
    ("rnd", "jeju", 2023, 247691),
    ("exports", "ulsan", 2014, 92400),
    ("households", "seoul", 2013, 4182351),
    ("households", "jeju", 2024, 314862),
    ("local_gov_amount", "seoul", 2014, 26697048134),
    ("hs_graduates", "seoul", 2014, 113396),
    ("higher_ed_entrants", "seoul", 2014, 64159),
    ("higher_ed_rate", "seoul", 2014, 64159 / 113396),
    ("patents_pm_macro", "seoul", 2001, 2496),
    ("patents_pm_macro", "gyeonggi", 2001, 2496),
    ("patents_pm_macro", "chungnam", 2001, 1126),
])
def test_known_values(tidy, variable, region, year, expected):
    assert value(tidy, variable, region, year) == pytest.approx(expected, rel=1e-12)


def test_coverage_and_documented_gaps(tidy):
    assert years(tidy, "fiscal_self_reliance", "seoul") == list(range(2001, 2026))
    assert years(tidy, "fiscal_self_reliance_rev", "seoul") == list(range(2014, 2026))
    assert years(tidy, "fiscal_self_reliance", "sejong")[0] == 2013
    assert years(tidy, "population", "ulsan")[0] == 1997
    assert years(tidy, "population", "sejong")[0] == 2012
    assert years(tidy, "grdp_pc_nominal", "gwangju")[0] == 1987
    assert years(tidy, "grdp_pc_nominal", "daejeon")[0] == 1989
    assert years(tidy, "grdp_pc_nominal", "ulsan")[0] == 1998
    assert years(tidy, "grdp_pc_nominal", "sejong")[0] == 2013
    # the real GRDP file has no Sejong, and Ulsan 1997 (recorded as 0) is missing, not zero
    assert "sejong" not in set(tidy[tidy.variable == "grdp_pc_real"].region)
    assert value(tidy, "grdp_pc_real", "ulsan", 1997) is None
    assert (tidy[tidy.variable == "grdp_pc_real"]["value"] > 0).all()
    # the 권역 value reaches Sejong only from 2012
    assert years(tidy, "patents_pm_macro", "sejong") == list(range(2012, 2023))
    assert years(tidy, "patents_pm_macro", "seoul") == list(range(2001, 2023))


def test_the_2020_base_file_repeats_dt_1c86_where_they_overlap(tidy):
    w = tidy.pivot_table(index=["region", "year"], columns="variable", values="value")
    both = w[["grdp_pc_nominal", "grdp_pc_2020base"]].dropna()
    assert len(both) == 8 * 17     # 2014-2021
    assert (both["grdp_pc_nominal"] == both["grdp_pc_2020base"]).all()


def test_rnd_provinces_add_up_to_the_national_total(all_sources):
    report = all_sources[1]["kipris_fintech_and_kosis_2014_2023/kongzhi3_TECyanfafei2014-2023.xlsx"]
    assert report["table_id"] == "DT_KBA0019" and report["unit"] == "백만원"
    assert max(abs(v) for v in report["national_minus_sum"].values()) <= 2   # rounding only


def test_tidy_shape_dtypes_order_and_sources(all_sources, shared_data):
    tidy, reports = all_sources
    assert list(tidy.columns) == TIDY_COLUMNS
    assert tidy["year"].dtype == np.int64 and tidy["value"].dtype == np.float64
    for col in ("region", "variable", "source"):
        assert pd.api.types.is_string_dtype(tidy[col])
    assert set(tidy.region) == {r.key for r in regions.REGIONS}
    assert not tidy.duplicated(["region", "year", "variable"]).any()
    assert tidy["value"].notna().all()
    assert tidy.equals(tidy.sort_values(["variable", "region", "year"]).reset_index(drop=True))
    registered = {v for s in sources.REGISTRY for v in s.variable_names}
    assert set(tidy.variable) == registered <= set(VARIABLES)
    for src in set(tidy.source):
        assert "\\" not in src and not src.startswith("/")
        assert (shared_data / src).is_file()
    assert set(reports) == {s.path for s in sources.REGISTRY} | {"full_edition", "notes"}
    assert reports["real_grdp_per_capita/GRDP_09WON_state.csv"]["zeros_as_missing"] == \
        ["ulsan 1997 (row 14, column C)"]


def test_registry_is_ordered_and_complete():
    paths = [s.path for s in sources.REGISTRY]
    assert len(paths) == len(set(paths))
    assert paths[0].endswith("zibianliang1_FintechPatent_2012-2023.xlsx")
    catalogue = sources.variable_catalogue()
    assert list(catalogue.columns[:4]) == ["variable", "label", "unit", "source"]
    units = dict(zip(catalogue.variable, catalogue.unit))
    assert units["rnd"] == "million won" and units["grdp_pc_nominal"] == "thousand won"
    assert units["higher_ed_rate"] == "share (0-1)" and units["exports"] == "million USD"
    assert sources.source_of("fiscal_self_reliance_rev").table_id == "DT_1YL20921"
    for spec in sources.REGISTRY:
        for v in spec.specs:
            assert v.label and v.unit


def test_each_parser_returns_a_sorted_tidy_frame(shared_data):
    spec = sources.REGISTRY[1]
    frame, report = sources.load_source(spec, shared_data)
    assert list(frame.columns) == TIDY_COLUMNS
    assert set(frame.variable) == set(spec.variable_names)
    assert report["header_rows"] == 2
    assert frame.source.unique().tolist() == [spec.path]


def test_kosis_parser_reads_the_sigungu_file_it_is_not_registered_for(shared_data):
    """The general parser also reads a KOSIS 시군구 table with two items per year."""
    from regrowth.sources import kosis
    path = shared_data / "kosis_sigungu_grdp" / "grdp_sigungu_2010_2020.csv"
    table = kosis.read_kosis(path, raw_dir=shared_data)
    assert table.items == ["당해년가격", "2015년 기준년가격"]
    frame = kosis.to_tidy(table, {"당해년가격": "grdp_nominal", "2015년 기준년가격": "grdp_real2015"},
                          where={1: "소계"})
    assert value(frame, "grdp_nominal", "seoul", 2010) == 313281033
    assert value(frame, "grdp_real2015", "seoul", 2015) == 370167867
    assert years(frame, "grdp_nominal", "seoul") == list(range(2010, 2020))   # 2020 is '-'


def test_notes_for_the_codebook_come_from_the_parsers(all_sources):
    _, reports = all_sources
    assert reports["notes"]["grdp_pc_real"] == ["recorded as 0, read as missing: ulsan 1997"]
    assert reports["full_edition"].unmatched == []
