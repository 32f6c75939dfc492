"""Provinces that did not yet exist: no panel cell is 0 for a province before the year it
became a 시도 (the dates are owned by regrowth.regions); KOSIS's zeros and dashes for those
years become missing, and the codebook says so."""

from __future__ import annotations

import pandas as pd
import pytest

from regrowth import regions
from regrowth.panel import ID_COLUMNS
from regrowth.sources import kosis

CREATED = {"gwangju": 1986, "daejeon": 1989, "ulsan": 1997, "sejong": 2012}


def test_the_regions_module_owns_the_dates():
    assert {k: regions.get(k).first_year for k in CREATED} == CREATED


def test_no_zero_before_a_province_existed_in_any_panel_column(public_build):
    p = public_build.panel
    values = p.drop(columns=[c for c in ID_COLUMNS if c in p.columns])
    for region, first in CREATED.items():
        before = values.loc[region].loc[lambda f: f.index < first]
        zeros = before.apply(lambda col: col.astype("float64").eq(0.0)).any()
        assert not zeros.any(), f"{region}: 0 before {first} in {list(zeros[zeros].index)}"
    # and the provinces that did exist keep their observed values
    assert p.loc[("seoul", 1992), "population"] > 0


@pytest.mark.parametrize("new_province, year", [("세종특별자치시", 2010), ("울산광역시", 1996),
                                                ("대전광역시", 1988), ("광주광역시", 1985)])
def test_a_kosis_zero_before_creation_becomes_missing_with_a_note(make_xlsx, new_province, year):
    rows = [["행정구역별", str(year), "2020"], ["서울특별시", 0, 5], [new_province, 0, 7]]
    table = kosis.read_kosis(make_xlsx(rows, sheet="데이터"))
    frame = kosis.to_tidy(table, "x")
    got = {(r.region, r.year): r.value for r in frame.itertuples()}
    key = regions.normalize(new_province)
    assert (key, year) not in got and got[(key, 2020)] == 7.0
    assert got[("seoul", year)] == 0.0                      # Seoul existed: a real 0
    note = frame.attrs["notes"]["x"][0]
    assert note == (f"x: {key} {year}-{year} printed as 0 before the province existed "
                    f"({CREATED[key]}); read as missing")


def test_sejong_dashes_in_the_university_export_are_missing(public_build):
    p = public_build.panel
    assert p.loc[("sejong", 2011), ["universities", "grad_schools"]].isna().all()
    assert pd.notna(p.loc[("sejong", 2013), "universities"])
