"""The randomization analysis's settings: ``blocks`` names the permutation unit per focus
term (checked before anything is fitted)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from regrowth import analyses
from regrowth.errors import SpecificationError

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from test_specs import BASE, load  # noqa: E402

FOCUS = BASE.replace('title = "T1"\n', 'title = "T1"\nfocus = ["x1", "x2"]\n', 1)


def _settings(tmp_path, value: str) -> dict:
    s = load(tmp_path, FOCUS + f"[table.analyses]\nrandomization = {value}\n")
    table = s.tables[0]
    return next(v for a, v in analyses.declared(s, table, "columns") if a.name == "randomization")


def test_blocks_default_to_the_tables_rows_and_may_be_set_per_term(tmp_path):
    assert _settings(tmp_path, "{ permutations = 9 }")["blocks"] == {}
    got = _settings(tmp_path, '{ blocks = { x2 = "macro_region" } }')
    assert got["blocks"] == {"x2": "macro_region"}


def test_one_block_column_applies_to_every_focus_term(tmp_path):
    got = _settings(tmp_path, '{ blocks = "macro_region" }')
    assert got["blocks"] == {"x1": "macro_region", "x2": "macro_region"}


def test_blocks_of_a_term_that_is_not_a_focus_term_are_refused(tmp_path):
    s = load(tmp_path, FOCUS + '[table.analyses]\nrandomization = { blocks = { x3 = "macro_region" } }\n')
    with pytest.raises(SpecificationError) as err:
        analyses.check(s)
    msg = str(err.value)
    assert "key 'analyses.randomization.blocks'" in msg and "'x3' is not a focus term" in msg


def test_blocks_that_are_not_column_names_are_refused(tmp_path):
    s = load(tmp_path, FOCUS + '[table.analyses]\nrandomization = { blocks = 7 }\n')
    with pytest.raises(SpecificationError, match="analyses.randomization.blocks"):
        analyses.check(s)
