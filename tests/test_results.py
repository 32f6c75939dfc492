"""regrowth.results: the reader notebooks and users take the stored numbers from."""

from __future__ import annotations

import json

import numpy as np
import pytest

from regrowth.report import reader as results

#: A hand-made estimates.json record (two columns, one failed) in the layout replicate writes.
RECORD = {
    "edition": "test",
    "tables": {"t1": {"title": "T1", "notes": [], "columns": {
        "a": {"label": "(1)", "title": "Model A", "coefficients": [
            {"term": "const", "equation": "mean", "estimate": 1.0, "std_error": 0.5},
            {"term": "x", "equation": "mean", "estimate": 0.25, "std_error": 0.1},
            {"term": "const", "equation": "lnalpha", "estimate": -1.0, "std_error": 0.3}]},
        "b": {"label": "(2)", "title": "Model B", "coefficients": [
            {"term": "x", "equation": "main", "estimate": 0.5, "std_error": 0.2}]},
        "c": {"label": "(3)", "title": "Model C", "error": "ValueError: singular matrix"},
    }}},
}


@pytest.fixture
def project(tmp_path):
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "models.toml").write_text("", encoding="utf-8")
    (tmp_path / "results" / "tables").mkdir(parents=True)
    (tmp_path / "results" / "estimates.json").write_text(json.dumps(RECORD), encoding="utf-8")
    (tmp_path / "results" / "tables" / "t1.md").write_text("**T1**\n", encoding="utf-8")
    (tmp_path / "notebooks").mkdir()
    return tmp_path


def test_project_root_is_found_from_a_subfolder(project):
    assert results.project_root(project / "notebooks") == project.resolve()
    with pytest.raises(FileNotFoundError, match="no specs/models.toml in"):
        results.project_root(project.parent)


def test_load_estimates_table_markdown_and_figure_path(project):
    assert results.load_estimates(project / "notebooks") == RECORD
    assert results.table_markdown("t1", project) == "**T1**\n"
    assert results.figure_path("f.png", project) == project.resolve() / "results" / "figures" / "f.png"


def test_coefficients_are_the_stored_rows(project):
    co = results.coefficients(RECORD, "t1", "a")
    assert list(co["term"]) == ["const", "x", "const"]
    assert list(co["equation"]) == ["mean", "mean", "lnalpha"]
    assert co.loc[1, "estimate"] == 0.25


def test_a_failed_column_raises_with_its_error():
    with pytest.raises(KeyError, match="t1/c failed in the last run: ValueError: singular matrix"):
        results.coefficients(RECORD, "t1", "c")


def test_compare_lines_up_terms_across_columns():
    out = results.compare(RECORD, "t1", ["a", "b"], ["x", "w"])
    assert list(out.columns) == [("Model A", "estimate"), ("Model A", "std. error"),
                                 ("Model B", "estimate"), ("Model B", "std. error")]
    assert out.loc["x"].tolist() == [0.25, 0.1, 0.5, 0.2]
    assert np.isnan(out.loc["w", ("Model B", "estimate")])   # a term B lacks is NaN
    # A's constant is in both equations: without equation= the reader refuses to guess
    with pytest.raises(ValueError, match="several equations"):
        results.compare(RECORD, "t1", ["a", "b"], ["x", "const"])
    # the equation filter keeps the mean-equation constant, not ln(alpha)'s
    mean_only = results.compare(RECORD, "t1", ["a"], ["const"], equation="mean")
    assert mean_only.loc["const", ("Model A", "estimate")] == 1.0
