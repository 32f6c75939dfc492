"""Per-capita private consumption (nominal, thousand won) from the DT_1C86 workbook already in
the mirror (sheet ``Data``): the input of the 2019-20 reform's dose. Parsed here with openpyxl."""

from __future__ import annotations

import math

import pytest
from raw_reading import num, xlsx_sheet

from regrowth import regions

FILE = ("kosis_grdp_population/Regional_GDP__Gross_regional_income_and_Individual_income_"
        "20231118124541.xlsx")


def test_consumption_per_capita_equals_the_data_sheet(public_build, shared_data):
    p = public_build.panel
    rows = xlsx_sheet(shared_data / FILE, "Data")
    header = rows[0]
    j = header.index("Private Consumption per Capita")
    year, n = None, 0
    for row in rows[1:]:
        if row[0] not in (None, ""):
            year = int(str(row[0]).split()[0])
        name = row[1]
        if name is None or regions.is_nation(name):
            continue
        value = num(row[j])
        key = (regions.normalize(name), year)
        if value is None:
            assert p.loc[key, "consumption_pc"] != p.loc[key, "consumption_pc"]
            continue
        assert p.loc[key, "consumption_pc"] == value
        n += 1
    assert n == p["consumption_pc"].notna().sum() > 400
    assert p.loc[("sejong", 2019), "consumption_pc"] > 0
    book = public_build.codebook.set_index("name")
    assert book.loc["consumption_pc", "unit"] == "thousand won"
    assert book.loc["consumption_pc", "last_year"] == 2021


def test_consumption_growth_and_log_are_derived_once(public_build):
    p = public_build.panel
    a, b = p.loc[("busan", 2020), "consumption_pc"], p.loc[("busan", 2019), "consumption_pc"]
    assert p.loc[("busan", 2020), "consumption_pc_growth"] == pytest.approx(100 * (a / b - 1))
    assert p.loc[("busan", 2020), "ln_consumption_pc_l1"] == pytest.approx(math.log(b))
