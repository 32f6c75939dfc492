"""Analyses are declared per table in the spec and checked before anything is fitted."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from regrowth import analyses
from regrowth.errors import SpecificationError

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from test_specs import BASE, load  # noqa: E402


def test_every_analysis_is_registered_once_with_a_stage():
    names = analyses.names()
    assert {"bootstrap", "chain", "diagnostics", "loo", "reform", "variation"} <= set(names)
    for name in names:
        assert analyses.get(name).stage in ("columns", "outputs")


def test_an_unknown_analysis_is_refused_with_a_did_you_mean(tmp_path):
    s = load(tmp_path, BASE + '[table.analyses]\nlooo = "c1"\n')
    with pytest.raises(SpecificationError) as err:
        analyses.check(s)
    msg = str(err.value)
    assert "table 't1'" in msg and "key 'analyses.looo'" in msg and "did you mean 'loo'" in msg


def test_settings_are_checked_by_the_analysis_itself(tmp_path):
    s = load(tmp_path, BASE + '[table.analyses]\nloo = { column = "c9" }\n'
                              'diagnostics = { outptu = "x" }\n')
    with pytest.raises(SpecificationError) as err:
        analyses.check(s)
    msg = str(err.value)
    assert "key 'analyses.loo.column'" in msg and "'c9' is not a column" in msg
    assert "key 'analyses.diagnostics.outptu'" in msg and "did you mean 'output'" in msg


def test_declared_gives_the_parsed_settings_in_a_stable_order(tmp_path):
    s = load(tmp_path, BASE.replace('title = "T1"', 'title = "T1"\nfocus = ["x1"]')
             + '[table.analyses]\nloo = "c1"\ndiagnostics = true\n')
    table = s.tables[0]
    outputs = [(a.name, settings) for a, settings in analyses.declared(s, table, "outputs")]
    assert outputs == [("loo", {"column": "c1", "terms": ["x1"]}),
                       ("diagnostics", {"output": "diagnostics_t1", "lagged_dependent": ()})]
    assert [a.name for a, _ in analyses.declared(s, table, "columns")] == ["bootstrap", "clusters"]


def test_the_files_an_analysis_writes_are_known_before_it_runs(tmp_path):
    s = load(tmp_path, BASE + '[table.analyses]\ndiagnostics = { output = "tests_t1" }\n')
    (a, settings), = analyses.declared(s, s.tables[0], "outputs")
    assert a.files(s.tables[0], settings) == [f"tables/tests_t1.{e}"
                                              for e in ("md", "tex", "html", "csv", "docx")] \
        + ["tables/tests_t1_tabular.tex"]
