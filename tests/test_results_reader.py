"""regrowth.results: reading what `make replicate` wrote (results/estimates.json, tables).

The reading tests use the committed results/ of this checkout (real estimates); the error
cases use a scratch project folder in tmp_path.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from regrowth.report import reader as results
from regrowth.errors import DataError, MissingInputError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def est():
    return results.load_estimates(ROOT)


def test_project_root_is_found_from_a_subfolder(tmp_path):
    assert results.project_root(ROOT / "src" / "regrowth") == ROOT
    with pytest.raises(FileNotFoundError, match="no specs/models.toml in .*run from the project"):
        results.project_root(tmp_path)


def test_coefficients_are_the_stored_rows(est):
    co = results.coefficients(est, "table2_growth", "fgls_main")
    assert list(co.columns) == ["term", "equation", "estimate", "std_error", "statistic",
                                "p_value", "ci_low", "ci_high"]
    stored = est["tables"]["table2_growth"]["columns"]["fgls_main"]["coefficients"]
    assert co["estimate"].tolist() == [r["estimate"] for r in stored]
    assert (co["equation"] == "main").all()
    # a GNB column has a dispersion equation
    gnb = results.coefficients(est, "table1_innovation", "gnb_main")
    assert {"mean", "lnalpha"} == set(gnb["equation"])


def test_statistics(est):
    from regrowth.report.tidy import CONSTANT_NAMES

    st = results.statistics(est, "table2_growth", "fgls_main")
    assert st["nobs"] == 256 and st["estimator"] == "xtgls (FGLS)"
    co = results.coefficients(est, "table2_growth", "fgls_main")
    assert st["wald_df"] == int((~co["term"].isin(CONSTANT_NAMES)).sum())  # slopes
    assert 0 <= st["wald_p"] <= 1
    assert st is not results.statistics(est, "table2_growth", "fgls_main")  # a copy


def test_compare_side_by_side(est):
    terms = ["fiscal_self_reliance_l1", "ln_grdp_pc_real_l1", "not_a_term"]
    out = results.compare(est, "table2_growth", ["fgls_main", "fe_main"], terms)
    assert list(out.index) == terms
    fg = results.coefficients(est, "table2_growth", "fgls_main").set_index("term")
    title = est["tables"]["table2_growth"]["columns"]["fgls_main"]["title"]
    assert out.loc["ln_grdp_pc_real_l1", (title, "estimate")] == fg.loc["ln_grdp_pc_real_l1",
                                                                        "estimate"]
    assert math.isnan(out.loc["not_a_term", (title, "std. error")])
    # a term in both GNB equations needs equation=
    with pytest.raises(ValueError, match=r"\['ln_population'\] appear in several equations"):
        results.compare(est, "table1_innovation", ["gnb_main"], ["ln_population"])
    mean = results.compare(est, "table1_innovation", ["gnb_main"], ["ln_population"],
                           equation="mean")
    assert mean.shape == (1, 2)


def test_unknown_ids_name_the_valid_ones(est):
    with pytest.raises(KeyError, match=r"no table 'table2_grwth'.*did you mean 'table2_growth'"):
        results.coefficients(est, "table2_grwth", "fgls_main")
    with pytest.raises(KeyError, match=r"no column 'fgls' in table 'table2_growth'.*columns: \["):
        results.coefficients(est, "table2_growth", "fgls")


def _project(tmp_path: Path) -> Path:
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "models.toml").write_text("# scratch project\n", encoding="utf-8")
    (tmp_path / "results").mkdir()
    return tmp_path


def test_missing_or_broken_estimates_file(tmp_path):
    root = _project(tmp_path)
    with pytest.raises(MissingInputError, match=r"(?s)estimates.json: the estimates have not been written.*run `make replicate`"):
        results.load_estimates(root)
    (root / "results" / "estimates.json").write_text('{"tables": {\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"estimates.json, row 2: not valid JSON"):
        results.load_estimates(root)


def test_failed_column_is_reported(tmp_path):
    root = _project(tmp_path)
    record = {"tables": {"t": {"title": "T", "notes": [], "columns": {
        "c": {"label": "(1)", "title": "C", "error": "EstimationError: rank deficient"}}}}}
    (root / "results" / "estimates.json").write_text(json.dumps(record), encoding="utf-8")
    est = results.load_estimates(root)
    with pytest.raises(KeyError, match="t/c failed in the last run: EstimationError: rank"):
        results.coefficients(est, "t", "c")
