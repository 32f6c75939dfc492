"""Provisional years (``2024 p)``) in a new KOSIS export are read and flagged in the notes that
reach the codebook. A tampered copy of the employment export is written to tmp_path."""

from __future__ import annotations

import openpyxl
from raw_reading import copy_raw

from regrowth import panel
from regrowth.sources import load_source, variable_notes

EMP = "kosis_region_insight/행정구역_시도_별_경제활동인구_20250626195127.xlsx"


def test_a_provisional_year_is_noted_for_each_variable_and_in_the_codebook(shared_data,
                                                                         tmp_path):
    raw = copy_raw(shared_data, tmp_path / "raw", EMP)
    wb = openpyxl.load_workbook(raw / EMP)
    ws = wb["데이터"]
    for c in range(2, ws.max_column + 1):
        if str(ws.cell(1, c).value) == "2024":
            ws.cell(1, c).value = "2024 p)"
    wb.save(raw / EMP)
    frame, _ = load_source(EMP, raw)
    assert frame["year"].max() == 2024                    # the year is read, not dropped
    notes = variable_notes(frame)
    for variable in ("employment", "employment_rate"):
        assert "provisional (p) in the source: 2024" in notes[variable]
    p = panel.assemble(frame)
    book = panel.codebook(p, frame, notes).set_index("name")
    assert "provisional (p) in the source: 2024" in book.loc["employment_rate", "notes"]
    assert "provisional (p) in the source: 2024" in book.loc["employment_rate_l1", "notes"]
