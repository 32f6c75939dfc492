"""The reform dose: shift-share exposure from the statute and pre-reform consumption.

Real-data tests use the raw DT_1C86 workbook (consumption, parsed in conftest with openpyxl)
and the raw resident-population CSV (parsed here with csv): an independent code path.
"""

import csv

import numpy as np
import pandas as pd
import pytest

from regrowth.errors import DataError, SpecificationError
from regrowth.reform import dose, statute

POP_NAMES = {"Seoul": "seoul", "Busan": "busan", "Daegu": "daegu", "Incheon": "incheon",
             "Gwangju": "gwangju", "Daejeon": "daejeon", "Ulsan": "ulsan", "Sejong_si": "sejong",
             "Gyeonggi-do": "gyeonggi", "Gangwon-do": "gangwon", "Chungcheongbuk-do": "chungbuk",
             "Chungcheongnam-do": "chungnam", "Jeollabuk-do": "jeonbuk",
             "Jeollanam-do": "jeonnam", "Gyeongsangbuk-do": "gyeongbuk",
             "Gyeongsangnam-do": "gyeongnam", "Jeju-do": "jeju"}
CAPITAL = {"seoul", "incheon", "gyeonggi"}
METRO = {"busan", "daegu", "gwangju", "daejeon", "ulsan"}


def _raw_population(mirror):
    path = mirror / "kosis_grdp_population" / "Resident_Population_by_City__County__and_District_1992-2020.csv"
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    years = [int(y) for y in rows[0][1:]]
    return {(POP_NAMES[r[0]], y): float(v) for r in rows[1:] if r[0] in POP_NAMES
            for y, v in zip(years, r[1:]) if v.strip() not in ("-", "")}


def test_two_provinces_doses_recomputed_by_hand(real_panel, raw_consumption, data_mirror):
    pop = _raw_population(data_mirror)
    w = {"capital": statute.REGISTRY["weight_capital"].value,
         "metropolitan": statute.REGISTRY["weight_metropolitan"].value,
         "province": statute.REGISTRY["weight_province"].value}
    kind = {k: ("capital" if k in CAPITAL else "metropolitan" if k in METRO else "province")
            for k in POP_NAMES.values()}
    total = {k: (raw_consumption[(k, 2017)] * pop[(k, 2017)]
                 + raw_consumption[(k, 2018)] * pop[(k, 2018)]) / 2 for k in kind}
    denom = sum(w[kind[k]] * total[k] for k in kind)
    increment_2020 = statute.REGISTRY["rate_2020"].value - statute.REGISTRY["rate_2014"].value
    by_hand = {k: increment_2020 * 1e12 * w[kind[k]] * total[k] / denom
               / ((pop[(k, 2017)] + pop[(k, 2018)]) / 2) for k in ("seoul", "jeonnam")}
    got = dose.exposure(real_panel)
    for k, v in by_hand.items():
        assert got.loc[k, "phase1_dose"] == pytest.approx(v, rel=1e-12)
    # orders of magnitude: won per resident per 1 trillion won of VAT
    assert 1000 < by_hand["seoul"] < 1500 and 2500 < by_hand["jeonnam"] < 3500
    # the 2022 dose scales by the 2022 increment, the 2018 dose is zero
    path = dose.dose_frame(real_panel)
    assert path.loc[("seoul", 2018), "dose"] == 0.0
    assert path.loc[("seoul", 2022), "dose"] == pytest.approx(
        by_hand["seoul"] * (0.237 - 0.11) / 0.10, rel=1e-12)


def test_panel_consumption_equals_raw(real_panel, raw_consumption):
    """Once the merged panel carries consumption_pc, it must equal the raw cells."""
    for (k, y), v in raw_consumption.items():
        if (k, y) in real_panel.index:
            assert real_panel.at[(k, y), "consumption_pc"] == pytest.approx(v)


def _toy():
    idx = pd.MultiIndex.from_product([["seoul", "busan", "jeonnam"], [2017, 2018, 2019]],
                                     names=["region", "year"])
    return pd.DataFrame({"consumption_pc": 10.0, "population": 100.0}, index=idx)


def test_toy_shares_follow_the_weights_exactly():
    e = dose.exposure(_toy())
    # equal consumption: shares 1:2:3 over 6
    assert e["share"].to_dict() == pytest.approx({"seoul": 1 / 6, "busan": 2 / 6, "jeonnam": 3 / 6})
    assert e.loc["jeonnam", "phase1_dose"] == pytest.approx(0.10 * 1e12 * 0.5 / 100)
    out = dose.dose_panel(_toy(), scale=1.0)
    assert out.loc[("busan", 2019), "dose_t"] == pytest.approx(0.04 * 1e12 * (2 / 6) / 100)
    assert out.loc[("busan", 2018), "dose_t"] == 0.0


def test_a_base_year_without_consumption_names_province_and_year():
    p = _toy()
    p.loc[("busan", 2018), "consumption_pc"] = np.nan
    with pytest.raises(DataError, match="'busan' in 2018"):
        dose.exposure(p)
    with pytest.raises(DataError, match="no column 'consumption_pc'"):
        dose.exposure(p.drop(columns="consumption_pc"))


def test_a_province_without_region_type_is_an_error():
    with pytest.raises(SpecificationError, match="'busan' has no region type"):
        dose.exposure(_toy(), types={"seoul": "capital", "jeonnam": "province"})


def test_sejong_is_weighted_as_a_province_and_flagged_unconfirmed():
    assert statute.region_type("sejong") == "province"
    assert not statute.REGISTRY["sejong_type"].confirmed
    assert any("sejong" in line for line in statute.notes())
