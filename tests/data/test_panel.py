"""The panel builder: derivations, validation, and writing all-or-nothing.

Synthetic tidy rows stand in for the sources here, so each rule is tested in isolation;
tests/data/test_panel_real.py checks the panel built from the real files.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from regrowth import panel, sources
from regrowth.errors import DataError

REGIONS = ["seoul", "busan", "chungnam", "sejong"]


def tidy_rows(**series) -> pd.DataFrame:
    """Tidy rows from {variable: {(region, year): value}}; source 'src/<variable>.csv'."""
    rows = [(r, y, var, v, f"src/{var}.csv") for var, vals in series.items() for (r, y), v in vals.items()]
    return pd.DataFrame(rows, columns=["region", "year", "variable", "value", "source"])


def base_tidy() -> pd.DataFrame:
    years = range(2010, 2015)
    pop = {(r, y): round(1e6 * (i + 1) * (1.01 ** (y - 2010))) for i, r in enumerate(REGIONS) for y in years}
    pop.pop(("sejong", 2010)), pop.pop(("sejong", 2011))
    fsr = {(r, y): 50.0 + i + (y - 2010) for i, r in enumerate(REGIONS) for y in years if (r, y) != ("busan", 2012)}
    pats = {(r, y): float(3 * i + y - 2010) for i, r in enumerate(REGIONS) for y in years}
    return tidy_rows(population=pop, fiscal_self_reliance=fsr, patents_fintech=pats)


@pytest.fixture
def fake_sources(monkeypatch):
    state = {"tidy": base_tidy()}
    monkeypatch.setattr(sources, "load_all", lambda raw_dir, **kw: (state["tidy"].copy(), {}),
                        raising=False)
    return state


def test_lags_are_by_calendar_year_not_by_row(fake_sources):
    p = panel.assemble(fake_sources["tidy"])
    # Busan 2012 is missing: its 2013 lag must be missing, not the 2011 value
    assert np.isnan(p.loc[("busan", 2013), "fiscal_self_reliance_l1"])
    assert p.loc[("busan", 2012), "fiscal_self_reliance_l1"] == 52.0
    assert np.isnan(p.loc[("seoul", 2010), "fiscal_self_reliance_l1"])


def test_growth_rates_are_percent_changes_between_consecutive_years(fake_sources):
    p = panel.assemble(fake_sources["tidy"])
    assert p.loc[("seoul", 2011), "population_growth"] == pytest.approx(1.0, rel=1e-12)
    assert np.isnan(p.loc[("sejong", 2012), "population_growth"])  # first year of Sejong
    assert p.loc[("busan", 2014), "ln_population"] == pytest.approx(np.log(2e6 * 1.01 ** 4))


def test_per_capita_ratio_and_identity_columns(fake_sources):
    p = panel.assemble(fake_sources["tidy"])
    row = p.loc[("busan", 2011)]
    assert row["patents_fintech_pm"] == pytest.approx(4 / (2e6 * 1.01) * 1e6)
    assert row["capital_region"] == 0 and p.loc[("seoul", 2011), "capital_region"] == 1
    assert p.loc[("chungnam", 2012), "sejong_break"] == 1 and p.loc[("chungnam", 2014), "sejong_break"] == 0
    assert p.loc[("seoul", 2011), "code"] == "11"
    assert str(p["patents_fintech"].dtype) == "Int64"


def test_panel_is_the_full_grid_of_17_provinces(fake_sources):
    p = panel.assemble(fake_sources["tidy"])
    assert p.index.get_level_values("region").nunique() == 17
    assert len(p) == 17 * 5 and p.index.is_unique


def test_fintech_years_after_publication_lag_are_dropped(fake_sources):
    extra = tidy_rows(patents_fintech={("seoul", 2022): 5.0, ("seoul", 2021): 7.0},
                      fiscal_self_reliance={("seoul", 2022): 60.0})
    p = panel.assemble(pd.concat([fake_sources["tidy"], extra]))
    assert p.loc[("seoul", 2021), "patents_fintech"] == 7
    assert pd.isna(p.loc[("seoul", 2022), "patents_fintech"])


def test_duplicated_region_year_from_two_files_names_both(fake_sources):
    dup = tidy_rows(population={("seoul", 2011): 5.0})
    dup["source"] = "other/pop.csv"
    with pytest.raises(DataError, match="duplicated .*population for seoul 2011") as err:
        panel.assemble(pd.concat([fake_sources["tidy"], dup]))
    assert "other/pop.csv" in err.value.file and "src/population.csv" in err.value.file
    assert err.value.column == "population"


@pytest.mark.parametrize("value, word", [(-1.0, "greater_than_or_equal_to"), (2.5, "whole numbers")])
def test_negative_or_fractional_count_that_bypassed_the_parsers_fails_the_schema(
        fake_sources, tmp_path, value, word):
    # parsers refuse such cells with their row (tests/data/test_bad_input_sources.py); the
    # schema generated from the variable specifications catches them in the panel too
    bad = fake_sources["tidy"].copy()
    bad.loc[(bad.variable == "patents_fintech") & (bad.region == "busan") & (bad.year == 2011), "value"] = value
    fake_sources["tidy"] = bad
    with pytest.raises(DataError, match="panel fails its schema") as err:
        panel.build(tmp_path, tmp_path / "out")
    assert err.value.column == "patents_fintech" and word in str(err.value)
    assert not (tmp_path / "out").exists()


def test_schema_is_generated_from_the_variable_specifications():
    from regrowth.sources.registry import VARIABLES
    cols = panel.schema().columns
    assert set(VARIABLES) <= set(cols)
    assert str(cols["patents_fintech"].dtype) == "Int64"
    assert str(cols["population"].dtype) == "float64"   # a count stored as float
    checks = {c: [str(k) for k in cols[c].checks] for c in ("fiscal_self_reliance", "higher_ed_rate")}
    assert "in_range(0.0, 100.0)" in checks["fiscal_self_reliance"][0]
    assert "in_range(0.0, 1.0)" in checks["higher_ed_rate"][0]


def test_log_of_zero_is_refused_with_the_province_and_year(fake_sources):
    bad = fake_sources["tidy"].copy()
    bad.loc[(bad.variable == "population") & (bad.region == "seoul") & (bad.year == 2013), "value"] = 0.0
    with pytest.raises(DataError, match="log of population = 0 for seoul 2013"):
        panel.assemble(bad)


def test_out_of_range_value_fails_schema_with_row_and_column(fake_sources, tmp_path):
    bad = fake_sources["tidy"].copy()
    bad.loc[(bad.variable == "fiscal_self_reliance") & (bad.region == "busan") & (bad.year == 2011), "value"] = 120.0
    fake_sources["tidy"] = bad
    out = tmp_path / "processed"
    with pytest.raises(DataError, match="panel fails its schema") as err:
        panel.build(tmp_path, out)
    assert err.value.column == "fiscal_self_reliance"
    # provinces in key order: busan first, so rows 2..6 are busan 2010-14 and 2011 is row 3
    assert err.value.row == 3
    assert not out.exists() or not any(out.iterdir())


def test_failed_build_leaves_previous_outputs_intact(fake_sources, tmp_path):
    out = tmp_path / "processed"
    panel.build(tmp_path, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    bad = fake_sources["tidy"].copy()
    bad.loc[bad.variable == "fiscal_self_reliance", "value"] = -5.0
    fake_sources["tidy"] = bad
    with pytest.raises(DataError):
        panel.build(tmp_path, out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_interrupted_write_leaves_previous_outputs_intact(fake_sources, tmp_path, monkeypatch):
    out = tmp_path / "processed"
    panel.build(tmp_path, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    fake_sources["tidy"] = fake_sources["tidy"].assign(
        value=lambda d: d.value.where(d.variable.isin(["patents_fintech", "population"]),
                                      d.value * 1.0001))

    def crash(df, path):
        raise KeyboardInterrupt

    monkeypatch.setattr(panel, "_write_csv", crash)
    with pytest.raises(KeyboardInterrupt):
        panel.build(tmp_path, out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_build_twice_gives_byte_identical_files(fake_sources, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    panel.build(tmp_path, a)
    panel.build(tmp_path, b)
    for name in ("panel.csv", "codebook.csv", "panel.parquet"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_codebook_has_a_row_for_every_column(fake_sources, tmp_path):
    res = panel.build(tmp_path, tmp_path / "out")
    book = res.codebook.set_index("name")
    assert list(book.index) == ["region", "year"] + list(res.panel.columns)
    assert book.loc["fiscal_self_reliance_l1", "source"] == "src/fiscal_self_reliance.csv"
    assert "t-1" in book.loc["fiscal_self_reliance_l1", "transformation"]
    assert book.loc["patents_fintech_pm", "source"] == "src/patents_fintech.csv; src/population.csv"
    assert book.loc["sejong_break", "transformation"]
    assert (book["label"].str.len() > 0).all()


def test_damaged_panel_file_is_refused_naming_it(tmp_path):
    (tmp_path / "panel.parquet").write_bytes(b"PAR1 not a parquet file")
    with pytest.raises(DataError, match="the panel file cannot be read") as err:
        panel.load(tmp_path)
    assert err.value.file == str(tmp_path / "panel.parquet")
    assert "regrowth panel" in err.value.hint


def test_read_only_output_folder_is_refused_before_any_source_is_read(tmp_path, monkeypatch):
    from regrowth import files
    from regrowth.files import OutputError

    out = tmp_path / "processed"
    out.mkdir()
    real_access = os.access
    monkeypatch.setattr(files.os, "access", lambda p, mode: False if Path(p) == out
                        else real_access(p, mode))

    def must_not_run(*a, **k):
        raise AssertionError("sources were read before the output folder was checked")

    monkeypatch.setattr(sources, "load_all", must_not_run, raising=False)
    with pytest.raises(OutputError, match=rf"{out}/ is not writable.*\(--out-dir\)"):
        panel.build(tmp_path / "raw", out)
