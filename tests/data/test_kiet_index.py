"""KIET's regional development index (README section 2): three sheets, 16 provinces, 1995-2019;
the 권역 rows and the empty nation row are not read. Parsed here with openpyxl."""

from __future__ import annotations

import pytest
from raw_reading import num, xlsx_sheet

from regrowth import regions
from regrowth.sources.kiet import SHEETS

FILE = "kiet_regional_development_index/1_2. 시계열자료(사이트게재)_지역발전지수_2021년.xlsx"


@pytest.mark.parametrize("sheet, variable", list(SHEETS.items()))
def test_every_province_cell_of_each_sheet_is_in_the_panel(public_build, shared_data, sheet,
                                                           variable):
    p = public_build.panel
    rows = xlsx_sheet(shared_data / FILE, sheet)
    years = [int(y) for y in rows[0][1:]]
    assert (years[0], years[-1]) == (1995, 2019)
    n = 0
    for row in rows[1:]:
        name = row[0]
        if regions.is_nation(name) or regions.is_macro(name):
            continue
        for year, v in zip(years, row[1:]):
            value = num(v)
            if value is None:
                assert p.loc[(regions.normalize(name), year), variable] != p.loc[
                    (regions.normalize(name), year), variable]          # missing, not 0
                continue
            assert p.loc[(regions.normalize(name), year), variable] == pytest.approx(value)
            n += 1
    assert n == p[variable].notna().sum() == 16 * 25 - 3                 # Ulsan from 1998
    assert p.loc["sejong", variable].isna().all()


def test_codebook_says_what_the_index_is(public_build):
    book = public_build.codebook.set_index("name")
    assert book.loc["kiet_rdi", "unit"] == "index" and book.loc["kiet_rdi", "n_provinces"] == 16
    assert "no Sejong" in book.loc["kiet_rdi", "notes"]
    assert FILE in book.loc["kiet_rdi_vitality", "source"]
