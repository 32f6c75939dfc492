"""재정자주도 (fiscal autonomy), public edition: the swapped columns, the fractions, the 2014
basis flag, the old-basis splice, and the refusal when the file's 재정자립도 disagrees with
the DT_1YL20921 excerpt. The raw files are parsed here with the csv module, independently."""

from __future__ import annotations

import csv
import math

import pytest

from regrowth import regions
from regrowth.errors import DataError
from regrowth.sources import load_source

from raw_reading import copy_raw

FILE = "kosis_fiscal_autonomy/kosis_fiscal_autonomy_data.csv"
EXCERPT = "kosis_fiscal_self_reliance/fiscal_autonomy_DT_1YL20921_sido_rows_excerpt.csv"


def raw_rows(path):
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def raw_autonomy(shared_data) -> dict:
    """(region, year) -> (재정자주도 %, 재정자립도 %) from the raw file; the column named
    fiscal_independence_ratio is 재정자주도 (README section 2)."""
    out = {}
    for r in raw_rows(shared_data / FILE):
        if r["region"] == "전국":
            continue
        out[(regions.normalize(r["region"]), int(r["year"]))] = (
            100 * float(r["fiscal_independence_ratio"]), 100 * float(r["fiscal_autonomy_ratio"]))
    return out


def raw_excerpt(shared_data) -> dict:
    """(region, year, 'old'|'rev') -> 재정자립도 % from the excerpt (old column first)."""
    with open(shared_data / EXCERPT, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    years, items = rows[0][2:], rows[1][2:]
    out = {}
    for row in rows[2:]:
        if row[0] == "전국":
            continue
        key = regions.normalize(row[0])
        for y, item, v in zip(years, items, row[2:]):
            if v.strip() in ("", "-"):
                continue
            out[(key, int(y), "rev" if "개편후" in item else "old")] = float(v)
    return out


def test_fiscal_autonomy_is_the_swapped_column_in_percent(public_build, shared_data):
    p = public_build.panel
    raw = raw_autonomy(shared_data)
    assert len(raw) == 16 * 25 + 13                       # Sejong from 2013
    for (region, year), (autonomy, _) in raw.items():
        assert p.loc[(region, year), "fiscal_autonomy"] == pytest.approx(autonomy, abs=1e-9)
    got = p["fiscal_autonomy"].dropna()
    assert len(got) == len(raw)                           # nothing else
    # press reports of 2012: the swap and the scale are read right
    assert p.loc[("jeonnam", 2012), "fiscal_autonomy"] == pytest.approx(66.8)


def test_basis_flag_marks_the_revised_classification_from_2014(public_build):
    p = public_build.panel
    has = p["fiscal_autonomy"].notna()
    flag = p.loc[has, "fiscal_basis_2014"]
    years = flag.index.get_level_values("year")
    assert (flag[years >= 2014] == 1).all() and (flag[years < 2014] == 0).all()
    assert p.loc[~has, "fiscal_basis_2014"].isna().all()


def test_old_basis_series_follows_the_identity(public_build, shared_data):
    """자주도(old) = 자주도(new) + (자립도(old) - 자립도(new)) from 2014; as published before."""
    p = public_build.panel
    auto, fsr = raw_autonomy(shared_data), raw_excerpt(shared_data)
    checked = 0
    for (region, year), (autonomy, _) in auto.items():
        expected = autonomy if year < 2014 else (
            autonomy + fsr[(region, year, "old")] - fsr[(region, year, "rev")])
        assert p.loc[(region, year), "fiscal_autonomy_old"] == pytest.approx(expected, abs=1e-9)
        checked += 1
    assert checked == 413
    assert p.loc[("seoul", 2015), "fiscal_autonomy_old_l1"] == p.loc[("seoul", 2014),
                                                                     "fiscal_autonomy_old"]
    book = public_build.codebook.set_index("name")
    assert "fiscal_self_reliance - fiscal_self_reliance_rev" in book.loc["fiscal_autonomy_old",
                                                                         "transformation"]
    assert EXCERPT in book.loc["fiscal_autonomy_old", "source"]


def test_identity_reproduces_the_press_national_values(shared_data):
    """Published figures: the old-basis national 재정자주도 was 73.4 in 2022 and 74.1 in 2023."""
    nation = {int(r["year"]): 100 * float(r["fiscal_independence_ratio"])
              for r in raw_rows(shared_data / FILE) if r["region"] == "전국"}
    with open(shared_data / EXCERPT, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    row = next(r for r in rows if r[0] == "전국")
    cols = {(int(y), "rev" if "개편후" in i else "old"): float(v)
            for y, i, v in zip(rows[0][2:], rows[1][2:], row[2:])}
    for year, press in ((2022, 73.4), (2023, 74.1)):
        old = nation[year] + cols[(year, "old")] - cols[(year, "rev")]
        assert round(old, 1) == press


def tamper(shared_data, tmp_path, edit) -> tuple:
    raw = copy_raw(shared_data, tmp_path / "raw", FILE, EXCERPT)
    path = raw / FILE
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    lines = edit(lines)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return raw, lines


def test_a_self_reliance_value_differing_from_the_excerpt_refuses_the_build(shared_data,
                                                                          tmp_path):
    def edit(lines):
        i = next(k for k, line in enumerate(lines) if line.startswith("2016,부산광역시,"))
        cells = lines[i].split(",")
        cells[2] = str(float(cells[2]) + 0.001)            # 재정자립도 +0.1 point
        lines[i] = ",".join(cells)
        edit.row = i + 1
        return lines
    raw, _ = tamper(shared_data, tmp_path, edit)
    with pytest.raises(DataError) as err:
        load_source(FILE, raw)
    e = err.value
    assert e.file == FILE and e.row == edit.row and e.column == "C"
    assert "busan 2016" in e.message and EXCERPT in e.message and "revised basis" in e.message
    # both values are named: the tampered one and the excerpt's
    ref = raw_excerpt(shared_data)[("busan", 2016, "rev")]
    assert f"{ref:g}" in e.message


def test_unswapping_the_column_names_is_caught_by_the_cross_check(shared_data, tmp_path):
    """If someone 'fixes' the header, 재정자주도 would be read as 재정자립도: refused."""
    def edit(lines):
        lines[0] = "year,region,fiscal_independence_ratio,fiscal_autonomy_ratio,source"
        return lines
    raw, _ = tamper(shared_data, tmp_path, edit)
    with pytest.raises(DataError, match="the two KOSIS extracts disagree") as err:
        load_source(FILE, raw)
    assert err.value.column == "D"


def test_percent_instead_of_fractions_is_refused(shared_data, tmp_path):
    def edit(lines):
        cells = lines[1].split(",")
        cells[3] = "90.2"
        lines[1] = ",".join(cells)
        return lines
    raw, _ = tamper(shared_data, tmp_path, edit)
    with pytest.raises(DataError, match=r"is not a fraction in \[0, 1\]") as err:
        load_source(FILE, raw)
    assert (err.value.row, err.value.column) == (2, "D")


def test_a_zero_before_sejong_existed_is_missing_not_zero(shared_data, tmp_path):
    def edit(lines):
        lines.append("2010,세종특별자치시,0,0,KOSIS")      # an API row for a unit not yet there
        return lines
    raw, _ = tamper(shared_data, tmp_path, edit)
    frame, _ = load_source(FILE, raw)
    sejong = frame[frame["region"] == "sejong"]
    assert sejong["year"].min() == 2013                   # no 2010 value, and no 0 anywhere
    assert (frame.loc[frame["variable"] == "fiscal_autonomy", "value"] > 0).all()
    assert ("fiscal_autonomy: sejong 2010-2010 printed as 0 before the province existed (2012); "
            "read as missing") in frame.attrs["notes"]["fiscal_autonomy"]


def test_flag_and_series_cover_the_same_province_years(public_build):
    p = public_build.panel
    assert (p["fiscal_autonomy"].notna() == p["fiscal_basis_2014"].notna()).all()
    assert not any(math.isclose(v, 0.0) for v in p["fiscal_autonomy"].dropna())
