"""Full edition: a KOSIS download dropped into data/raw/kosis/ joins the panel.

The download here is a small synthetic file in the layout of a KOSIS 시도 export (CP949,
Korean labels, years as columns); its numbers are invented for the test, not data.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from regrowth import panel, regions, specs
from regrowth.errors import MissingInputError
from regrowth.sources import load_kosis_download


def kosis_export(path: Path) -> None:
    lines = ["행정구역별(단위: %),2018,2019,2020"]                # states its unit
    for i, r in enumerate(regions.REGIONS):
        lines.append(f"{r.name_ko},{40 + i},{41 + i},{42 + i}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp949"))


def _raw_with_download(folder: Path, mirror: Path) -> Path:
    raw = folder / "raw"
    raw.mkdir()
    for child in mirror.iterdir():
        if child.is_dir():
            (raw / child.name).symlink_to(child)
    kosis_export(raw / "kosis" / "DT_1YL20891.csv")
    return raw


@pytest.fixture
def raw_with_download(tmp_path, data_mirror):
    """The public raw files (links to the mirror) with a KOSIS download of DT_1YL20891 beside
    them, in this test's folder (the test may change them)."""
    return _raw_with_download(tmp_path, data_mirror)


@pytest.fixture(scope="module")
def built_with_download(tmp_path_factory, data_mirror):
    """``(PanelBuild, out folder)`` of one panel build from ``raw_with_download``'s files,
    shared by the tests that only read it."""
    folder = tmp_path_factory.mktemp("full_edition")
    raw = _raw_with_download(folder, data_mirror)
    return panel.build(raw, folder / "out"), folder / "out"


def test_download_is_read_into_the_panel_with_its_lag(built_with_download):
    built, _ = built_with_download
    p = built.panel
    assert p.loc[("busan", 2019), "fiscal_autonomy_kosis"] == 42.0  # busan is the 2nd province by code
    assert p.loc[("busan", 2020), "fiscal_autonomy_kosis_l1"] == 42.0
    slot = built.reports["full_edition"]["DT_1YL20891"]
    assert slot.status == "read" and slot.years == (2018, 2020) and len(slot.provinces) == 17
    assert slot.unit == "%" and slot.table_id_stated is None   # a CSV states no table id
    assert "DT_1YL20891 -> fiscal_autonomy_kosis: read kosis/DT_1YL20891.csv" in built.describe()
    assert "17 provinces, 2018-2020 (3 years)" in built.describe()
    book = built.codebook.set_index("name")
    assert book.loc["fiscal_autonomy_kosis", "source"] == "kosis/DT_1YL20891.csv"
    assert "17 provinces, 2018-2020" in book.loc["fiscal_autonomy_kosis", "notes"]
    assert "17 provinces, 2018-2020" in book.loc["fiscal_autonomy_kosis_l1", "notes"]


def test_spec_needing_the_download_runs_once_it_is_there(built_with_download):
    built, _ = built_with_download
    s = specs.load(Path(__file__).resolve().parents[2] / "specs" / "models.toml")
    assert "fiscal_autonomy_kosis_l1" in built.panel.columns
    columns = list(built.panel.columns) + ["region", "year"]
    problems = specs.check_against(s, columns, macro=list(built.macro.columns) + ["year"])
    # only full-edition columns of the tables not downloaded here are left (make replicate
    # skips those with the command that fetches them); the DT_1YL20891 column can run
    assert set(problems) == set(specs.full_edition_gaps(s, columns))
    assert "table3_innovation_robustness/gnb_fiscal_autonomy_kosis" not in problems
    assert all("DT_1YL20891" not in tables for tables in specs.full_edition_gaps(s, columns).values())


def test_download_fills_its_own_column_and_leaves_the_public_series_alone(built_with_download):
    """The KOSIS download of DT_1YL20891 never overwrites the public 재정자주도."""
    built, _ = built_with_download
    p = built.panel
    assert p.loc[("busan", 2019), "fiscal_autonomy_kosis"] == 42.0
    assert p.loc[("busan", 2019), "fiscal_autonomy"] != 42.0          # the public file's value
    book = built.codebook.set_index("name")
    assert book.loc["fiscal_autonomy", "source"].endswith("kosis_fiscal_autonomy_data.csv")
    assert "never merged into the public fiscal_autonomy" in book.loc["fiscal_autonomy_kosis",
                                                                      "transformation"]
    # the download (itmId T10: old basis) is compared with the public old-basis series
    gap = (p["fiscal_autonomy_kosis"] - p["fiscal_autonomy_old"]).abs().dropna()
    region, year = gap.idxmax()
    assert (f"compared with the public fiscal_autonomy_old in {len(gap)} province-years: max "
            f"|difference| {gap.max():.2f} points ({region} {year})") in book.loc[
                "fiscal_autonomy_kosis", "notes"]
    assert len(gap) == 51


def test_missing_download_names_table_and_place(tmp_path):
    with pytest.raises(MissingInputError, match="DT_1YL20891") as err:
        load_kosis_download(tmp_path, "DT_1YL20891", "fiscal_autonomy_kosis")
    assert "data/raw/kosis/DT_1YL20891.csv" in str(err.value)


# --------------------------------------------------------------------------------------
# Verification of what is dropped into a slot. The files are synthetic, in the layouts of
# KOSIS 시도 exports; their numbers are invented for the tests.

from regrowth.errors import DataError
from regrowth.sources import full_edition, registry

PROVINCES = [r.name_ko for r in regions.REGIONS]


def slot(tmp_path, name, rows=None, *, meta=None, unit_header="", values=(40.0, 41.0),
         provinces=PROVINCES) -> Path:
    """Write data/raw/kosis/<name> (csv or xlsx) with one row per province."""
    import openpyxl
    path = tmp_path / "kosis" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    header = [f"행정구역별{unit_header}", "2019", "2020"]
    rows = rows or [header] + [[p, values[0] + i, values[1] + i] for i, p in enumerate(provinces)]
    if path.suffix == ".xlsx":
        wb = openpyxl.Workbook()
        ws = wb.active
        ws.title = "데이터"
        for r in rows:
            ws.append(r)
        if meta:
            ms = wb.create_sheet("메타정보")
            for k, v in meta.items():
                ms.append([f"○ {k}", v])
        wb.save(path)
    else:
        path.write_bytes("\r\n".join(",".join(map(str, r)) for r in rows).encode("cp949") + b"\r\n")
    return path


FISCAL = registry.by_table("DT_1YL20891")
PATENTS = registry.by_table("DT_1YL202109E")


def test_file_stating_another_table_id_is_refused_naming_both(tmp_path):
    slot(tmp_path, "DT_1YL20891.xlsx", meta={"통계표ID": "DT_1YL20921", "단위": "%"})
    with pytest.raises(DataError, match=r"states KOSIS table DT_1YL20921 \(in sheet '메타정보'\) but "
                                        r"was saved in the slot of table DT_1YL20891") as err:
        full_edition.read_slot(tmp_path, FISCAL)
    assert err.value.file == "kosis/DT_1YL20891.xlsx"


def test_table_id_in_a_csv_note_is_checked_too(tmp_path):
    rows = [["행정구역별", "2019"]] + [[p, 40] for p in PROVINCES] + [[""], ["통계표ID : DT_1YL20921"]]
    slot(tmp_path, "DT_1YL20891.csv", rows)
    with pytest.raises(DataError, match=r"states KOSIS table DT_1YL20921 \(in a note in the file\)"):
        full_edition.read_slot(tmp_path, FISCAL)


def test_wrong_unit_is_refused_naming_the_unit_and_the_accepted_ones(tmp_path):
    slot(tmp_path, "DT_1YL20891.csv", unit_header="(단위: 천원)")
    with pytest.raises(DataError, match=r"states the unit '천원' \(in the header\); the slot of table "
                                        r"DT_1YL20891 \(fiscal_autonomy_kosis, %\) accepts") as err:
        full_edition.read_slot(tmp_path, FISCAL)
    assert err.value.file == "kosis/DT_1YL20891.csv" and "make data" not in str(err.value)


def test_thousand_cases_are_converted_to_applications(tmp_path):
    slot(tmp_path, "DT_1YL202109E.xlsx", meta={"통계표ID": "DT_1YL202109E", "단위": "천건"},
         values=(1.5, 2.25))
    frame, rep = full_edition.read_slot(tmp_path, PATENTS)
    d = {(r.region, r.year): r.value for r in frame.itertuples()}
    assert d[("seoul", 2019)] == 1500.0 and d[("busan", 2020)] == 3250.0
    assert (rep.unit, rep.factor, rep.table_id_stated) == ("천건", 1000.0, "DT_1YL202109E")
    assert "converted from '천건' (x1000) to applications" in frame.attrs["notes"]["patents_all"]


def test_a_ratio_is_converted_to_percent(tmp_path):
    rows = [["행정구역별(단위: 비율)", "2019", "2020"]] + [[p, 0.40, 0.41] for p in PROVINCES]
    slot(tmp_path, "DT_1YL20891.csv", rows)
    frame, rep = full_edition.read_slot(tmp_path, FISCAL)
    d = {(r.region, r.year): r.value for r in frame.itertuples()}
    assert d[("seoul", 2019)] == pytest.approx(40.0) and rep.factor == 100.0


def test_two_files_in_one_slot_are_refused_naming_both(tmp_path):
    slot(tmp_path, "DT_1YL20891.csv")
    slot(tmp_path, "DT_1YL20891 (1).csv")
    with pytest.raises(DataError, match=r"2 files fill the slot of KOSIS table DT_1YL20891: "
                                        r"kosis/DT_1YL20891 \(1\).csv, kosis/DT_1YL20891.csv") as err:
        full_edition.scan(tmp_path)
    assert err.value.file == "kosis/DT_1YL20891.csv" and "move the others" in err.value.hint


def test_a_longer_table_id_does_not_fill_the_slot(tmp_path):
    slot(tmp_path, "DT_1YL208910.csv")
    slot(tmp_path, "~$DT_1YL20891.xlsx", rows=[["x"]])      # Excel's lock file: ignored
    report = full_edition.scan(tmp_path)
    assert report["DT_1YL20891"].status == "absent"
    assert report.unmatched == ["kosis/DT_1YL208910.csv"]
    assert "not read: kosis/DT_1YL208910.csv (its name starts with no full-edition table id" in report.summary()


def test_partial_coverage_is_refused_unless_allowed(tmp_path):
    slot(tmp_path, "DT_1YL20891.csv", provinces=PROVINCES[:15],      # no Gyeongnam, Jeju
         unit_header="(단위: %)")
    with pytest.raises(DataError, match=r"covers 15 of the 17 provinces \(2019-2020\); missing: "
                                        r"gyeongnam, jeju") as err:
        full_edition.scan(tmp_path)
    assert "--allow-partial DT_1YL20891" in err.value.hint and err.value.file == "kosis/DT_1YL20891.csv"
    report = full_edition.scan(tmp_path, allow_partial=["DT_1YL20891"])
    rep = report["DT_1YL20891"]
    assert rep.missing_provinces == ["gyeongnam", "jeju"]
    assert rep.coverage == "15 provinces (missing: gyeongnam, jeju), 2019-2020 (2 years)"
    assert any("15 provinces (missing: gyeongnam, jeju)" in n
               for n in report.frames[0].attrs["notes"]["fiscal_autonomy_kosis"])
    with pytest.raises(DataError, match="not full-edition tables"):
        full_edition.scan(tmp_path, allow_partial=["DT_NOPE"])


def test_the_log_line_says_what_was_read(tmp_path):
    slot(tmp_path, "DT_1YL20891.xlsx", meta={"통계표ID": "DT_1YL20891", "단위": "%"})
    text = full_edition.scan(tmp_path).summary()
    assert ("DT_1YL20891 -> fiscal_autonomy_kosis: read kosis/DT_1YL20891.xlsx; table id DT_1YL20891 "
            "verified (sheet '메타정보'); unit '%' stated in sheet '메타정보'; 17 provinces, "
            "2019-2020 (2 years); 34 values") in text
    assert "DT_1YL202109E: no download in data/raw/kosis/ (not used)" in text
    assert "True" not in text


@pytest.mark.parametrize("content, message", [
    (b"", "the file is empty"),
    ("행정구역별,2019\n서울특별시,사십\n".encode("cp949"), "non-numeric cell '사십'"),
])
def test_errors_about_downloads_point_to_kosis_not_to_make_data(tmp_path, content, message):
    (tmp_path / "kosis").mkdir()
    (tmp_path / "kosis" / "DT_1YL20891.csv").write_bytes(content)
    with pytest.raises(DataError, match=message) as err:
        full_edition.scan(tmp_path)
    assert "make data" not in str(err.value) and "clean copy" not in str(err.value)
    assert "orgId=101&tblId=DT_1YL20891" in err.value.hint
    assert err.value.file == "kosis/DT_1YL20891.csv"


def test_old_excel_format_is_refused(tmp_path):
    (tmp_path / "kosis").mkdir()
    (tmp_path / "kosis" / "DT_1YL20891.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(DataError, match=r"old-style Excel file \(.xls\)"):
        full_edition.scan(tmp_path)


def test_code_included_english_download_fills_its_slot(tmp_path):
    rows = [["A By province", "Y2019 2019", "Y2020 2020"],
            ["A By province", "T1 Patent applications (14STD0001 Case)",
             "T1 Patent applications (14STD0001 Case)"],
            ["00 Whole country", 300, 310]] + [[f"{r.code} {r.name_en}", 10 + i, 11 + i]
                                              for i, r in enumerate(regions.REGIONS)]
    slot(tmp_path, "DT_1YL202109E_en.xlsx", rows)
    frame, rep = full_edition.read_slot(tmp_path, PATENTS)
    assert rep.unit == "Case" and rep.unit_source == "the item header" and len(rep.provinces) == 17
    assert {(r.region, r.year): r.value for r in frame.itertuples()}[("jeju", 2020)] == 27.0


def test_supplier_hint_comes_from_the_registry():
    from regrowth.editions import supplier_hint
    assert "DT_1YL20891" in supplier_hint("fiscal_autonomy_kosis_l1")
    assert "data/raw/kosis/DT_1YL20891.csv" in supplier_hint("fiscal_autonomy_kosis_l1")
    # the public 재정자주도 names its file and the KOSIS table it comes from
    hint = supplier_hint("fiscal_autonomy_old_l1")
    assert "kosis_fiscal_autonomy/kosis_fiscal_autonomy_data.csv" in hint and "DT_1YL20891" in hint
    assert "data/raw/kosis/DT_1YL202109E.csv" in supplier_hint("ln_patents_all_pm_l1")
    assert "does not read it yet from KOSIS table DT_1C81" in supplier_hint("grdp_real")
    assert "neither a column of the panel" in supplier_hint("fiscal_autonomi")


def test_sido_sigungu_export_reads_the_province_subtotals(tmp_path):
    """A KOSIS 시도/시군구 download: item row '재정자주도 (%)', 소계 rows per province."""
    rows = [["행정구역별(1)", "행정구역별(2)", "2019", "2020"],
            ["행정구역별(1)", "행정구역별(2)", "재정자주도 (%)", "재정자주도 (%)"],
            ["전국", "소계", 74.2, 73.9]]
    for i, p in enumerate(PROVINCES):
        rows += [[p, "소계", 60 + i, 61 + i], [p, f"가{i}구", 30, 31]]
    slot(tmp_path, "DT_1YL20891.csv", rows)
    frame, rep = full_edition.read_slot(tmp_path, FISCAL)
    d = {(r.region, r.year): r.value for r in frame.itertuples()}
    assert d[("busan", 2019)] == 61.0 and len(d) == 34
    assert (rep.unit, rep.unit_source) == ("%", "the item header")
    assert any("province rows taken from the '소계' rows of column B" in n for n in rep.notes)


def test_a_download_saved_in_data_raw_instead_of_kosis_is_named(tmp_path):
    (tmp_path / "DT_1YL20891.csv").write_text("행정구역별,2019\n서울특별시,80\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"DT_1YL20891.csv is in data/raw/, not in data/raw/kosis/") as err:
        full_edition.scan(tmp_path)
    assert err.value.hint == "move it to data/raw/kosis/DT_1YL20891.csv"


def test_rows_that_are_not_provinces_are_skipped_and_said_so(tmp_path):
    rows = ([["시도별(단위: 건)", "2019", "2020"], ["전국", 300, 310]]
            + [[p, 10 + i, 11 + i] for i, p in enumerate(PROVINCES)] + [["국외", 5, 6], ["미상", 1, 0]])
    slot(tmp_path, "DT_1YL202109E.csv", rows)
    frame, rep = full_edition.read_slot(tmp_path, PATENTS)
    assert len(frame) == 34 and len(rep.provinces) == 17
    assert "rows that are not provinces skipped: 국외, 미상" in rep.notes


def test_a_file_of_another_item_is_refused_naming_the_item(tmp_path):
    rows = ([["행정구역별", "항목", "2019"]] + [[p, "총인구수", 1000 + i] for i, p in enumerate(PROVINCES)])
    slot(tmp_path, "DT_1YL202109E.csv", rows)
    with pytest.raises(DataError, match=r"the file's item '총인구수' is not patent applications by 시도") as err:
        full_edition.read_slot(tmp_path, PATENTS)
    assert err.value.file == "kosis/DT_1YL202109E.csv"


def test_meta_sheet_without_the_bullet_still_states_the_table_id(tmp_path):
    """A meta sheet saved again by a spreadsheet (keys without KOSIS's '○') is still read, so
    a file of another table is refused instead of being read as 'not verified' (issue 8)."""
    import openpyxl
    path = slot(tmp_path, "DT_1YL20891.xlsx")
    wb = openpyxl.load_workbook(path)
    ms = wb.create_sheet("메타정보")
    ms.append(["통계표ID", "DT_1YL20921"])
    ms.append(["단위", "%"])
    wb.save(path)
    with pytest.raises(DataError, match=r"states KOSIS table DT_1YL20921 \(in sheet '메타정보'\) but "
                                        r"was saved in the slot of table DT_1YL20891") as err:
        full_edition.read_slot(tmp_path, FISCAL)
    assert err.value.file == "kosis/DT_1YL20891.xlsx"


def test_a_unit_row_above_the_header_is_not_advised_away(tmp_path):
    """Deleting a '(단위: 천건)' row as told would read thousands as applications: the hint
    says to keep the unit in the header cell (issue 8)."""
    rows = [["(단위: 천건)"], ["행정구역별", "2019", "2020"]] + [[p, 1.5, 2.0] for p in PROVINCES]
    slot(tmp_path, "DT_1YL202109E.csv", rows)
    with pytest.raises(DataError, match=r"header row with the years is row 2.*states the unit "
                                        r"'천건'") as err:
        full_edition.read_slot(tmp_path, PATENTS)
    assert err.value.row == 1 and err.value.column == "A"
    assert "행정구역별(단위: 천건)" in err.value.hint and "make data" not in str(err.value)


def test_spec_edition_allow_partial_is_checked_and_read(tmp_path):
    spec = tmp_path / "models.toml"
    spec.write_text('[edition]\nname = "full"\nallow_partial = ["DT_1YL20891"]\n')
    assert specs.edition_allow_partial(spec) == ("DT_1YL20891",)
    spec.write_text('[edition]\nallow_partial = ["DT_1YL2089"]\n')
    from regrowth.errors import SpecificationError
    with pytest.raises(SpecificationError, match=r"\[edition\]: key 'edition.allow_partial': "
                                                 r"'DT_1YL2089' is not a full-edition table "
                                                 r"\(did you mean 'DT_1YL20891'\?\)"):
        specs.edition_allow_partial(spec)
    spec.write_text('[edition]\nallow_partial = "DT_1YL20891"\n')
    with pytest.raises(SpecificationError, match="edition.allow_partial': must be a list"):
        specs.edition_allow_partial(spec)


def test_spec_allow_partial_lets_regrowth_panel_read_a_partial_download(raw_with_download,
                                                                         tmp_path, capsys,
                                                                         monkeypatch):
    from regrowth import acquire, cli

    class Fetched:  # the raw files are symlinks to the mirror here: skip acquisition
        def summary(self):
            return "not fetched (test)"
    monkeypatch.setattr(acquire, "fetch", lambda *a, **k: Fetched())
    kosis_path = raw_with_download / "kosis" / "DT_1YL20891.csv"
    lines = kosis_path.read_bytes().decode("cp949").splitlines()[:11]  # 10 provinces
    kosis_path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp949"))
    spec = tmp_path / "models.toml"
    spec.write_text('[edition]\nallow_partial = ["DT_1YL20891"]\n')
    argv = ["--raw-dir", str(raw_with_download), "panel", "--out-dir", str(tmp_path / "out"),
            "--manifest", str(Path(__file__).resolve().parents[2] / "data/raw/MANIFEST.toml")]
    assert cli.main([*argv, "--specs", str(tmp_path / "none.toml")]) != 0
    assert "covers 10 of the 17 provinces" in capsys.readouterr().err
    assert cli.main([*argv, "--specs", str(spec)]) == 0
    out = capsys.readouterr().out
    assert "[edition] allow_partial: DT_1YL20891" in out and "10 provinces" in out


def test_table_notes_state_the_coverage_of_a_full_edition_variable(built_with_download):
    from regrowth.report import notes as notes_mod

    _, out = built_with_download
    coverage = notes_mod.full_edition_coverage(out)
    assert coverage["fiscal_autonomy_kosis_l1"].startswith("Full edition: kosis/DT_1YL20891.csv, "
                                                     "17 provinces, 2018-2020")
    s = specs.load(Path(__file__).resolve().parents[2] / "specs" / "models.toml")
    col = dataclasses.replace(s.tables[2].columns[0], regressors=("fiscal_autonomy_kosis_l1",))
    table = dataclasses.replace(s.tables[2], columns=(col,))
    notes = notes_mod.coverage_notes(table, coverage)
    assert notes == [f"fiscal_autonomy_kosis_l1: {coverage['fiscal_autonomy_kosis_l1']}."]
    assert notes_mod.coverage_notes(s.table("table1_innovation"), coverage) == []  # no DT_1YL20891


def test_a_city_level_table_in_a_province_slot_says_it_is_another_table(tmp_path):
    """A 시군구 file (here rows like '(Ulsan-si)', as in the public population file) saved in a
    시도 slot: the error names the row and says the slot holds one row per province."""
    rows = [["행정구역별", "2019", "2020"], ["서울특별시", 40, 41], ["(Ulsan-si)", 1, 2]]
    slot(tmp_path, "DT_1YL20891.csv", rows)
    with pytest.raises(DataError, match=r"unknown region name '\(Ulsan-si\)'.*the slot of table "
                                        r"DT_1YL20891 holds .* one row per province") as err:
        full_edition.read_slot(tmp_path, FISCAL)
    assert err.value.file == "kosis/DT_1YL20891.csv" and err.value.row == 3
    assert "make data" not in str(err.value)


# ------------------------------------------ a file that states nothing (issue 20, item 4)

def test_a_csv_stating_neither_item_nor_unit_is_refused_unless_accepted(tmp_path):
    slot(tmp_path, "DT_1YL202109E.csv")                          # region names and numbers only
    with pytest.raises(DataError, match=r"states neither its item nor its unit") as err:
        full_edition.scan(tmp_path)
    assert err.value.file == "kosis/DT_1YL202109E.csv"
    assert "--accept-unverified DT_1YL202109E" in err.value.hint
    assert "'행정구역별(단위: 건)'" in err.value.hint
    report = full_edition.scan(tmp_path, accept_unverified=["DT_1YL202109E"])
    rep = report["DT_1YL202109E"]
    assert rep.status == "read" and rep.unverified
    assert "accepted unverified (--accept-unverified)" in report.summary()
    assert any("accepted unverified" in n for n in rep.notes)
    with pytest.raises(DataError, match=r"--accept-unverified names \['DT_NOPE'\]"):
        full_edition.scan(tmp_path, accept_unverified=["DT_NOPE"])


def test_a_csv_stating_its_unit_or_its_item_is_read_without_the_flag(tmp_path):
    slot(tmp_path, "DT_1YL202109E.csv", unit_header="(단위: 건)")
    assert not full_edition.scan(tmp_path)["DT_1YL202109E"].unverified
    rows = [["행정구역별", "항목", "2019"]] + [[p, "특허출원건수", 10 + i]
                                              for i, p in enumerate(PROVINCES)]
    slot(tmp_path, "DT_1YL202109E.csv", rows)
    rep = full_edition.scan(tmp_path)["DT_1YL202109E"]
    assert rep.item_stated == "특허출원건수" and not rep.unverified


def test_regrowth_panel_accept_unverified_reads_the_bare_csv(raw_with_download, tmp_path,
                                                             capsys, monkeypatch):
    from regrowth import acquire, cli

    class Fetched:  # the raw files are symlinks to the mirror here: skip acquisition
        def summary(self):
            return "not fetched (test)"
    monkeypatch.setattr(acquire, "fetch", lambda *a, **k: Fetched())
    kosis_path = raw_with_download / "kosis" / "DT_1YL20891.csv"
    text = kosis_path.read_bytes().decode("cp949").replace("행정구역별(단위: %)", "행정구역별")
    kosis_path.write_bytes(text.encode("cp949"))
    argv = ["--raw-dir", str(raw_with_download), "panel", "--out-dir", str(tmp_path / "out"),
            "--manifest", str(Path(__file__).resolve().parents[2] / "data/raw/MANIFEST.toml"),
            "--specs", str(tmp_path / "none.toml")]
    assert cli.main(argv) == 2
    assert "states neither its item nor its unit" in capsys.readouterr().err
    assert not (tmp_path / "out" / "panel.parquet").exists()          # nothing half-written
    assert cli.main([*argv, "--accept-unverified", "DT_1YL20891"]) == 0
    assert "accepted unverified (--accept-unverified)" in capsys.readouterr().out


def test_a_slot_without_a_parser_is_logged_once_as_not_read(tmp_path):
    slot(tmp_path, "DT_KBA0019.csv", unit_header="(단위: 명)")
    text = full_edition.scan(tmp_path).summary()
    assert ("DT_KBA0019: kosis/DT_KBA0019.csv present but not read (this version has no parser "
            "for the table yet)") in text
    assert "not read (not read" not in text


def test_the_readme_names_the_slots_the_code_reads_and_those_it_does_not():
    import re
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    read = {s.table_id for s in registry.FULL_EDITION if s.variables}
    unread = {s.table_id for s in registry.FULL_EDITION if not s.variables}
    in_table = set(re.findall(r"^\| `data/raw/kosis/(DT_\w+)\.csv` \|", readme, re.MULTILINE))
    assert in_table == read
    listed = re.search(r"A file in the slot of any other full-edition table \(([^)]*)\)", readme)
    assert set(re.findall(r"DT_\w+", listed.group(1))) == unread


# --------------------------------------------------------------------------------------
# Units and scales (issue 20, item 6): a unit is read wherever a KOSIS export puts it, compared
# with the slot's unit (registry FULL_EDITION), converted only by the registry's factor, and
# the values checked for the scale they must have. Files synthetic, numbers invented.

import pandas as pd  # noqa: E402

def items_slot(tmp_path, name, item, values, *, header="행정구역별", unit_column=None):
    """A slot file with an 항목 column (or a 단위 column) beside the province names."""
    second = "단위" if unit_column else "항목"
    rows = [[header, second, "2019", "2020"]]
    rows += [[p, unit_column or item, values[0] + i * values[2], values[1] + i * values[2]]
             for i, p in enumerate(PROVINCES)]
    return slot(tmp_path, name, rows)


@pytest.mark.parametrize("text, unit", [
    ("재정자주도(천원)", "천원"), ("재정자주도(비율)", "비율"), ("특허출원건수(천건)", "천건"),
    ("행정구역별(단위:천건)", "천건"), ("행정구역별[천건]", "천건"), ("행정구역별(천건)", "천건"),
    ("특허출원건수 (단위: 천건)", "천건"), ("행정구역별（단위：천건）", "천건"),
    ("T10 재정자주도 (14STD06156 %)", "%"),
    ("재정자주도(세입과목개편전)", None), ("행정구역별", None), ("시도별(1)", None)])
def test_unit_in_reads_the_unit_at_the_end_of_a_header_or_item(text, unit):
    assert full_edition.unit_in(text) == unit


def test_a_unit_in_the_item_name_that_is_not_the_slots_is_refused_naming_the_cell(tmp_path):
    items_slot(tmp_path, "DT_1YL20891.csv", "재정자주도(천원)", (40.0, 41.0, 1.0))
    with pytest.raises(DataError) as err:
        full_edition.read_slot(tmp_path, registry.by_table("DT_1YL20891"))
    text = str(err.value)
    assert "kosis/DT_1YL20891.csv" in text
    assert "states the unit '천원' (in the item '재정자주도(천원)' (cell B2))" in text
    assert "(fiscal_autonomy_kosis, %) accepts" in text


def test_a_ratio_named_in_the_item_is_converted_to_percent_and_said(tmp_path):
    items_slot(tmp_path, "DT_1YL20891.csv", "재정자주도(비율)", (0.40, 0.41, 0.01))
    frame, rep = full_edition.read_slot(tmp_path, registry.by_table("DT_1YL20891"))
    assert (rep.unit, rep.factor) == ("비율", 100.0)
    assert rep.unit_source == "the item '재정자주도(비율)' (cell B2)"
    assert frame.set_index(["region", "year"]).loc[("seoul", 2019), "value"] == 40.0
    assert any("converted from '비율' (x100) to %" in n for n in rep.notes)
    assert "unit '비율' stated in the item '재정자주도(비율)' (cell B2), converted x100" in rep.summary()


@pytest.mark.parametrize("header, item", [
    ("행정구역별", "특허출원건수(천건)"), ("행정구역별(천건)", "특허출원건수"),
    ("행정구역별[천건]", "특허출원건수"), ("행정구역별(단위:천건)", "특허출원건수")])
def test_thousand_cases_anywhere_in_the_headers_become_applications(tmp_path, header, item):
    items_slot(tmp_path, "DT_1YL202109E.csv", item, (4.0, 5.0, 1.0), header=header)
    frame, rep = full_edition.read_slot(tmp_path, registry.by_table("DT_1YL202109E"))
    assert (rep.unit, rep.factor) == ("천건", 1000.0)
    assert frame.set_index(["region", "year"]).loc[("seoul", 2019), "value"] == 4000.0


@pytest.mark.parametrize("unit_column", ["%", None])
def test_ratios_read_as_percent_are_refused_naming_the_cell(tmp_path, unit_column):
    """0.40 under a '%' unit column (or with no unit at all) would enter as 0.4 %."""
    if unit_column:
        items_slot(tmp_path, "DT_1YL20891.csv", None, (0.40, 0.41, 0.01), unit_column="%")
    else:
        items_slot(tmp_path, "DT_1YL20891.csv", "재정자주도", (0.40, 0.41, 0.01))
    with pytest.raises(DataError) as err:
        full_edition.read_slot(tmp_path, registry.by_table("DT_1YL20891"))
    text = str(err.value)
    assert "kosis/DT_1YL20891.csv" in text and "every value is between -1 and 1" in text
    assert "the largest, 0.57, in cell D18" in text and "look like ratios (0.40)" in text
    assert ("stated in the '단위' column" in text) == bool(unit_column)
    assert "'행정구역별(단위: 비율)'" in text    # how to say the file holds ratios


def test_percentages_stated_as_a_ratio_are_refused(tmp_path):
    slot(tmp_path, "DT_1YL20891.csv", unit_header="(단위: 비율)", values=(40.0, 41.0))
    with pytest.raises(DataError, match=r"unit '비율' stated in the header, converted x100, but the "
                                        r"largest, 57 in cell C18, would become 5700 %, above 100"):
        full_edition.read_slot(tmp_path, registry.by_table("DT_1YL20891"))


def test_two_units_that_disagree_are_refused_naming_both_places(tmp_path):
    slot(tmp_path, "DT_1YL202109E.xlsx", unit_header="(천건)", values=(4.0, 5.0),
         meta={"통계표ID": "DT_1YL202109E", "단위": "건"})
    with pytest.raises(DataError) as err:
        full_edition.read_slot(tmp_path, registry.by_table("DT_1YL202109E"))
    text = str(err.value)
    assert "two units that do not agree" in text and "kosis/DT_1YL202109E.xlsx" in text
    assert "'건' (in sheet '메타정보')" in text
    assert "'천건' (in the header '행정구역별(천건)' of column A)" in text


def test_scale_against_the_public_series_refuses_a_factor_of_100():
    idx = pd.MultiIndex.from_product([["seoul", "busan"], [2019, 2020]], names=["region", "year"])
    public = pd.Series([50.0, 51.0, 40.0, 41.0], index=idx)
    # another basis (a few points off) passes and returns the median ratio
    assert full_edition.check_scale_against_public(
        public * 1.1, public, table_id="DT_1YL20891", file="kosis/DT_1YL20891.csv",
        download_name="fiscal_autonomy_kosis", public_name="fiscal_autonomy_old") == \
        pytest.approx(1.1, rel=1e-12)
    with pytest.raises(DataError) as err:
        full_edition.check_scale_against_public(
            public / 100, public, table_id="DT_1YL20891", file="kosis/DT_1YL20891.csv",
            download_name="fiscal_autonomy_kosis", public_name="fiscal_autonomy_old")
    text = str(err.value)
    assert "kosis/DT_1YL20891.csv" in text and "median ratio over 4 observations" in text
    assert "0.01 (about 1/100" in text and "fiscal_autonomy_old" in text


def test_panel_refuses_a_download_100_times_smaller_than_the_public_series(tmp_path,
                                                                        data_mirror):
    """Ratios stated as 비율 but divided by 100 once more pass the slot's checks (0.4 %) and
    are caught against the public 재정자주도 (fiscal_autonomy_old); nothing is written."""
    raw = tmp_path / "raw"
    raw.mkdir()
    for child in data_mirror.iterdir():
        if child.is_dir():
            (raw / child.name).symlink_to(child)
    rows = [["행정구역별(단위: 비율)", "2019", "2020"]]
    rows += [[p, 0.004 + i / 10_000, 0.0041 + i / 10_000] for i, p in enumerate(PROVINCES)]
    slot(raw, "DT_1YL20891.csv", rows)
    with pytest.raises(DataError) as err:
        panel.build(raw, tmp_path / "out")
    text = str(err.value)
    assert "kosis/DT_1YL20891.csv" in text and "another scale than the public fiscal_autonomy_old" in text
    assert "about 1/100" in text
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_panel_refuses_patent_counts_in_thousands_without_a_stated_unit(tmp_path, data_mirror):
    """A DT_1YL202109E download in 천건 that does not say so enters 1,000x too small: its
    권역 sums are checked against the public derived all-field counts (patents_all_macro)."""
    raw = tmp_path / "raw"
    raw.mkdir()
    for child in data_mirror.iterdir():
        if child.is_dir():
            (raw / child.name).symlink_to(child)
    slot(raw, "DT_1YL202109E.csv", values=(4.0, 5.0))     # thousands, unit not stated
    with pytest.raises(DataError, match="states neither its item nor its unit"):
        panel.build(raw, tmp_path / "out")                # refused as unverified first
    with pytest.raises(DataError) as err:                 # accepted unverified: the scale check
        panel.build(raw, tmp_path / "out", accept_unverified=["DT_1YL202109E"])
    text = str(err.value)
    assert "kosis/DT_1YL202109E.csv" in text and "public patents_all_macro" in text
    assert "about 1/1000" in text and "outside [1/10, 10]" in text
