"""The macro-region (권역) panel: 7 units x years, indexed (macro_region, year), written beside
the province panel; sums for counts and levels, population-weighted means for ratios, the
rule of every column in macro_codebook.csv; ``regrowth.panel.load_macro`` reads it back."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from regrowth import panel, regions
from regrowth.errors import DataError
from regrowth.sources.variables import MACRO_RULES


def members_existing(macro: str, year: int) -> list[str]:
    return [r for r in regions.MACRO_REGIONS[macro].members
            if (regions.get(r).first_year or 0) <= year]


def test_seven_units_by_year_written_and_read_back(public_build):
    m = public_build.macro
    assert list(m.index.names) == ["macro_region", "year"] and m.index.is_unique
    assert sorted(set(m.index.get_level_values("macro_region"))) == sorted(regions.MACRO_REGIONS)
    out = public_build.written[0].parent
    for name in ("macro_panel.parquet", "macro_panel.csv", "macro_codebook.csv"):
        assert (out / name).is_file()
    back = panel.load_macro(out)
    pd.testing.assert_frame_equal(back, m, check_freq=False)
    assert m.loc[("chungcheong", 2011), "n_provinces"] == 3
    assert m.loc[("chungcheong", 2012), "n_provinces"] == 4


@pytest.mark.parametrize("variable", ["population", "rnd", "universities", "employment",
                                      "patents_fintech"])
def test_counts_and_levels_are_sums_of_the_provinces_that_existed(public_build, variable):
    p, m = public_build.panel, public_build.macro
    for macro in regions.MACRO_REGIONS:
        for year in (2010, 2012, 2016, 2020):
            vals = [p.loc[(r, year), variable] for r in members_existing(macro, year)]
            got = m.loc[(macro, year), variable]
            if any(pd.isna(v) for v in vals):
                assert pd.isna(got)
            else:
                assert got == pytest.approx(float(sum(vals)))


@pytest.mark.parametrize("variable", ["fiscal_autonomy", "fiscal_self_reliance",
                                      "grdp_pc_nominal", "employment_rate", "kiet_rdi"])
def test_ratios_are_population_weighted_means(public_build, variable):
    p, m = public_build.panel, public_build.macro
    for macro in regions.MACRO_REGIONS:
        for year in (2005, 2013, 2018):
            rs = members_existing(macro, year)
            x = [p.loc[(r, year), variable] for r in rs]
            w = [p.loc[(r, year), "population"] for r in rs]
            got = m.loc[(macro, year), variable]
            if any(pd.isna(v) for v in x):
                assert pd.isna(got)          # e.g. KIET has no Sejong: no Chungcheong value
            else:
                assert got == pytest.approx(sum(a * b for a, b in zip(x, w)) / sum(w))


def test_derived_columns_are_recomputed_on_the_aggregates(public_build):
    m = public_build.macro
    row = m.loc[("honam", 2020)]
    assert row["universities_p10k"] == pytest.approx(1e4 * row["universities"] / row["population"])
    assert row["ln_population"] == pytest.approx(math.log(row["population"]))
    assert m.loc[("honam", 2020), "fiscal_autonomy_l1"] == m.loc[("honam", 2019), "fiscal_autonomy"]
    assert m.loc[("honam", 2020), "population_mid"] == pytest.approx(
        (m.loc[("honam", 2019), "population"] + m.loc[("honam", 2020), "population"]) / 2)
    assert row["higher_ed_pct"] == pytest.approx(
        100 * row["higher_ed_entrants"] / row["hs_graduates"])


def test_codebook_names_the_rule_of_every_column(public_build):
    book = public_build.macro_codebook.set_index("name")
    assert list(book.index) == ["macro_region", "year", *public_build.macro.columns]
    for name, rule in MACRO_RULES.items():
        if name in book.index:
            assert book.loc[name, "rule"] == rule and book.loc[name, "rule_text"]
    assert book.loc["ln_population", "rule"] == "derived"
    assert set(book["rule"]) <= {"identity", "sum", "pop_mean", "macro", "common", "derived"}


def test_load_macro_without_a_build_says_what_to_run(tmp_path):
    with pytest.raises(DataError, match="macro-region panel has not been built") as err:
        panel.load_macro(tmp_path)
    assert "make panel" in err.value.hint
