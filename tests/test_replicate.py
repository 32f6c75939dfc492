"""The replication driver on a synthetic panel: spec checks, failures, determinism.

Synthetic data (seeded) stand in for the real panel so the driver's rules are tested in
isolation; the real run is `make replicate`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from regrowth import regions, replicate, specs
from regrowth.errors import SpecificationError

SEED = 20181121


def synthetic_panel(folder: Path) -> Path:
    rng = np.random.default_rng(SEED)
    keys = [r.key for r in regions.REGIONS if r.key != "sejong"]
    idx = pd.MultiIndex.from_product([keys, range(2010, 2020)], names=["region", "year"])
    n = len(idx)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    cap = np.array([regions.get(k).capital_region for k, _ in idx], dtype=int)
    mu = np.exp(1.0 + 0.5 * x1 - 0.3 * x2)
    alpha = np.exp(-0.5 + 0.8 * cap)
    y = rng.negative_binomial(1 / alpha, 1 / (1 + alpha * mu))
    df = pd.DataFrame({"y": y.astype("int64"), "x1": x1, "x2": x2, "x1_copy": 2 * x1,
                       "capital_region": cap,
                       "growth": 2 + 0.4 * x1 + rng.normal(size=n)}, index=idx)
    folder.mkdir(parents=True, exist_ok=True)
    df.reset_index().to_parquet(folder / "panel.parquet", index=False)
    return folder


SPEC = """
[edition]
name = "test"
summary = "synthetic test data"

[[table]]
id = "t1"
title = "Table T1"
notes = ["a note"]

[[table.column]]
id = "gnb"
label = "(1)"
title = "GNB"
estimator = "gnb"
outcome = "y"
regressors = ["x1", "x2"]
dispersion = ["capital_region"]
sample = { years = [2011, 2019] }
se = { type = "cluster", groups = "region" }
rationale = "test"

[[table.column]]
id = "fgls"
label = "(2)"
title = "FGLS"
estimator = "fgls"
outcome = "growth"
regressors = ["x1"]
sample = { years = [2010, 2019] }
options = { panels = "hetero", corr = "ar1" }
rationale = "test"
"""

MISSING = """
[[table.column]]
id = "needs_kosis"
label = "(3)"
title = "Needs KOSIS"
estimator = "gnb"
outcome = "y"
regressors = ["fiscal_autonomy_l1"]
sample = { years = [2011, 2019] }
rationale = "test"
"""

COLLINEAR = """
[[table.column]]
id = "collinear"
label = "(3)"
title = "Collinear"
estimator = "nb2"
outcome = "y"
regressors = ["x1", "x1_copy"]
sample = { years = [2011, 2019] }
rationale = "test"
"""


@pytest.fixture
def project(tmp_path, monkeypatch):
    synthetic_panel(tmp_path / "processed")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")

    def run(spec_text: str) -> int:
        (tmp_path / "models.toml").write_text(spec_text, encoding="utf-8")
        return replicate.run(specs=tmp_path / "models.toml", processed_dir=tmp_path / "processed",
                             results_dir=tmp_path / "results", notebooks=False)
    return tmp_path, run


def test_full_run_writes_tables_figures_and_estimates(project):
    root, run = project
    assert run(SPEC) == 0
    for ext in ("md", "tex", "html", "csv", "docx"):
        assert (root / "results" / "tables" / f"t1.{ext}").is_file()
    assert (root / "results" / "figures" / "t1_coefficients.png").read_bytes().startswith(b"\x89PNG")
    est = json.loads((root / "results" / "estimates.json").read_text())
    gnb = est["tables"]["t1"]["columns"]["gnb"]
    assert gnb["stats"]["nobs"] == 16 * 9 and gnb["stats"]["n_entities"] == 16
    assert {r["term"] for r in gnb["coefficients"]} >= {"x1", "x2", "Intercept", "capital_region"}
    md = (root / "results" / "tables" / "t1.md").read_text()
    assert "synthetic test data" in md and "2011–2019" in md
    x1 = next(r for r in gnb["coefficients"] if r["term"] == "x1" and r["equation"] == "mean")
    assert f"{x1['estimate']:.3f}" in md and f"({x1['std_error']:.3f})" in md   # the fitted numbers


def test_log_gives_one_line_per_fit_without_nan_likelihoods(project, capsys):
    root, run = project
    assert run(SPEC) == 0
    lines = capsys.readouterr().out.splitlines()
    fits = [line for line in lines if line.lstrip().startswith("[")]
    assert len(fits) == len(specs.load(root / "models.toml").columns())
    assert all(": N=" in line for line in fits)
    assert not any("nan" in line or "{" in line for line in lines)   # no NaN llf, no dict dumps


def test_spec_naming_a_missing_variable_is_refused_before_anything_is_fitted_or_written(
        project, monkeypatch):
    """The README's example: a column needing 재정자주도 (KOSIS DT_1YL20891) on the public panel."""
    root, run = project
    fitted = []
    monkeypatch.setattr(replicate, "fit_column", lambda *a: fitted.append(a))
    with pytest.raises(SpecificationError) as err:
        run(SPEC + MISSING)
    msg = str(err.value)
    assert "models.toml" in msg and "column 'needs_kosis'" in msg
    assert "'fiscal_autonomy_l1'" in msg and "DT_1YL20891" in msg
    assert fitted == [] and not (root / "results").exists()


FULL_EDITION = MISSING.replace('id = "needs_kosis"', 'id = "needs_kosis"\nedition = "full"').replace(
    '"fiscal_autonomy_l1"', '"fiscal_autonomy_kosis_l1"')


def test_a_full_edition_column_without_its_kosis_table_is_skipped_with_the_command(project, capsys):
    """``edition = "full"``: the run carries on, says which table and command, and the table
    note (not a "failed to fit") names them; estimates.json records why."""
    root, run = project
    assert run(SPEC + FULL_EDITION) == 0
    err = capsys.readouterr().err
    assert "t1/needs_kosis not run" in err and "regrowth data kosis --table DT_1YL20891" in err
    md = (root / "results" / "tables" / "t1.md").read_text()
    assert "Column (3) (Needs KOSIS) is not shown" in md and "DT\\_1YL20891" in md
    assert "failed to fit" not in md
    est = json.loads((root / "results" / "estimates.json").read_text())
    assert "DT_1YL20891" in est["tables"]["t1"]["columns"]["needs_kosis"]["skipped"]
    assert "coefficients" in est["tables"]["t1"]["columns"]["gnb"]


def test_a_full_edition_column_runs_when_its_variable_is_in_the_panel(project):
    root, run = project
    frame = pd.read_parquet(root / "processed" / "panel.parquet")
    frame["fiscal_autonomy_kosis_l1"] = frame["x1"]  # SYNTHETIC stand-in for the download
    frame.to_parquet(root / "processed" / "panel.parquet", index=False)
    assert run(SPEC + FULL_EDITION) == 0
    est = json.loads((root / "results" / "estimates.json").read_text())
    assert "coefficients" in est["tables"]["t1"]["columns"]["needs_kosis"]


def test_a_full_edition_column_missing_a_non_kosis_variable_is_still_refused(project):
    root, run = project
    with pytest.raises(SpecificationError, match="'not_a_variable'"):
        run(SPEC + FULL_EDITION.replace('["fiscal_autonomy_kosis_l1"]',
                                        '["fiscal_autonomy_kosis_l1", "not_a_variable"]'))
    assert not (root / "results").exists()


def test_cli_exits_non_zero_and_writes_nothing_for_a_refused_spec(project, capsys):
    from regrowth import cli

    root, _ = project
    (root / "models.toml").write_text(SPEC + MISSING, encoding="utf-8")
    status = cli.main(["replicate", "--specs", str(root / "models.toml"), "--processed-dir",
                       str(root / "processed"), "--results-dir", str(root / "results"),
                       "--no-notebooks"])
    assert status != 0 and "DT_1YL20891" in capsys.readouterr().err
    assert not (root / "results").exists()


def test_only_with_an_unknown_table_lists_the_valid_ids_and_writes_nothing(project):
    root, _ = project
    (root / "models.toml").write_text(SPEC, encoding="utf-8")
    with pytest.raises(SpecificationError, match=r"--only 'table_1'.*valid table ids: t1") as err:
        replicate.run(specs=root / "models.toml", processed_dir=root / "processed",
                      results_dir=root / "results", notebooks=False, only=["table_1"])
    assert "did you mean" not in str(err.value) or "'t1'" in str(err.value)
    assert not (root / "results").exists()


def test_a_failing_fit_is_named_and_the_run_continues(project, capsys):
    root, run = project
    assert run(SPEC + COLLINEAR) == 1
    err = capsys.readouterr().err
    assert "t1/collinear: FAILED" in err and "x1_copy" in err
    md = (root / "results" / "tables" / "t1.md").read_text()
    assert "(3)" not in md.split("\n")[2] and "failed to fit" in md


PCSE_ONE_YEAR = """
[[table.column]]
id = "pcse_one_year"
label = "(3)"
title = "PCSE, one year"
estimator = "pcse"
outcome = "growth"
regressors = ["x1"]
sample = { years = [2015, 2015] }
rationale = "test"
"""


def test_a_one_period_pcse_column_fails_with_the_reason_instead_of_zero_errors(project, capsys):
    root, run = project
    assert run(SPEC + PCSE_ONE_YEAR) == 1
    err = capsys.readouterr().err
    assert "t1/pcse_one_year: FAILED" in err and "PCSE needs T >= 2 periods" in err
    md = (root / "results" / "tables" / "t1.md").read_text()
    assert "(3)" not in md.split("\n")[2] and "Column(s) (3) failed to fit" in md
    est = json.loads((root / "results" / "estimates.json").read_text())
    assert "T >= 2" in est["tables"]["t1"]["columns"]["pcse_one_year"]["error"]


def test_two_runs_give_byte_identical_outputs(project):
    root, run = project
    run(SPEC)
    first = {p.relative_to(root): p.read_bytes() for p in sorted((root / "results").rglob("*")) if p.is_file()}
    run(SPEC)
    second = {p.relative_to(root): p.read_bytes() for p in sorted((root / "results").rglob("*")) if p.is_file()}
    assert first.keys() == second.keys() and len(first) >= 7
    assert [k for k in first if first[k] != second[k]] == []


def test_project_specs_reference_only_panel_variables_or_documented_ones():
    """Every variable the committed spec file uses is one the panel builder produces."""
    from regrowth import panel

    root = Path(__file__).resolve().parents[1]
    s = specs.load(root / "specs" / "models.toml")
    produced = set(panel.ID_COLUMNS) | {d.name for d in panel.DERIVED}
    base = {"patents_fintech", "fiscal_self_reliance", "fiscal_self_reliance_rev", "rnd",
            "grdp_pc_nominal", "grdp_pc_real", "population", "higher_ed_entrants", "hs_graduates", "patents_pm_macro"}
    unknown = {v for c in s.columns() for v in c.variables()} - produced - base
    # full-edition columns may also read what a declared KOSIS slot supplies
    from regrowth.sources.registry import FULL_EDITION
    full = {v for src in FULL_EDITION for v in src.variable_names}
    assert {v for v in unknown if v not in full} == set()
    assert all(c.edition == "full" for c in s.columns() if set(c.variables()) & (unknown & full))


def test_outputs_of_a_table_removed_from_the_specs_are_removed(project):
    root, run = project
    second = SPEC.replace('id = "t1"', 'id = "t2"').split("[[table]]", 1)[1]
    run(SPEC + "\n[[table]]" + second)
    assert (root / "results" / "tables" / "t2.md").is_file()
    run(SPEC)
    assert not (root / "results" / "tables" / "t2.md").exists()
    assert not (root / "results" / "figures" / "t2_coefficients.png").exists()
    assert (root / "results" / "tables" / "t1.md").is_file()


def test_partial_run_keeps_the_other_tables_numbers(project):
    root, run = project
    two = SPEC + "\n[[table]]" + SPEC.replace('id = "t1"', 'id = "t2"').split("[[table]]", 1)[1]
    run(two)
    before = json.loads((root / "results" / "estimates.json").read_text())
    replicate.run(specs=root / "models.toml", processed_dir=root / "processed",
                  results_dir=root / "results", notebooks=False, only=["t2"])
    after = json.loads((root / "results" / "estimates.json").read_text())
    assert after["tables"]["t1"] == before["tables"]["t1"]
    assert "coefficients" in after["tables"]["t2"]["columns"]["gnb"]


def test_committed_tables_report_effects_from_the_fitted_terms():
    """Every column's "Year effects"/"Province effects" agree with the terms in estimates.json."""
    root = Path(__file__).resolve().parents[1]
    est = json.loads((root / "results" / "estimates.json").read_text(encoding="utf-8"))
    for tid, table in est["tables"].items():
        if not table["columns"]:  # a table an analysis writes (no regression columns)
            continue
        md = (root / "results" / "tables" / f"{tid}.md").read_text(encoding="utf-8")
        rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]]
                for line in md.splitlines() if line.startswith("| ")}
        fitted = [c for c in table["columns"].values() if "coefficients" in c]
        for kind, row in (("year", "Year effects"), ("province", "Province effects")):
            expected = []
            for col in fitted:
                terms = {r["term"] for r in col["coefficients"]}
                eff = col["effects"]
                assert set(eff[f"{kind}_terms"]) <= terms
                has = bool(eff[f"{kind}_terms"]) or \
                    ("TimeEffects" if kind == "year" else "EntityEffects") in eff["absorbed"]
                assert eff[kind] is has
                expected.append("yes" if has else "no")
            assert rows[row] == expected, (tid, row)


def test_an_empty_sample_is_refused_before_anything_is_fitted_or_written(project):
    root, run = project
    with pytest.raises(SpecificationError, match=r"column 'fgls': key 'sample': no observations"):
        run(SPEC.replace("years = [2010, 2019]", "years = [1990, 1995]"))
    assert not (root / "results").exists()


def test_a_fit_that_warns_says_so_in_the_table_notes(project):
    """A column whose estimator warns (here: iterated GLS stopped after one iteration) is
    not shown as if clean: the table's notes name the column and the warning (issue 8)."""
    tmp, run = project
    warned = SPEC.replace('options = { panels = "hetero", corr = "ar1" }',
                          'options = { panels = "hetero", corr = "independent", igls = true, '
                          'maxiter = 1 }')
    assert run(warned) == 0
    md = (tmp / "results" / "tables" / "t1.md").read_text()
    assert "Column (2) (fgls): ConvergenceWarning: iterated GLS did not converge" in md
    assert "Column (1) (gnb)" not in md


def test_clustering_on_a_text_column_fits_and_describes_only_numbers(project):
    """se.groups = "macro_region" (text labels such as 'dongnam'), as the spec header allows:
    the run fits and the descriptives leave the cluster column out (issue 8: it crashed in
    the descriptive table after fitting)."""
    tmp, run = project
    assert run(SPEC.replace('groups = "region"', 'groups = "macro_region"')) == 0
    desc = (tmp / "results" / "tables" / "descriptives_t1.csv").read_text()
    assert "x1" in desc and "macro_region" not in desc
    est = json.loads((tmp / "results" / "estimates.json").read_text())
    assert "macro_region" in json.dumps(est["tables"]["t1"])


def test_only_takes_a_unique_prefix_and_rebuilds_only_the_notebooks_reading_it(project,
                                                                                monkeypatch):
    """`--only t` is table t1 (regrowth.names, as `regrowth show`), and the notebooks are
    asked to rebuild only those that read t1."""
    from regrowth import notebooks as nb
    root, _ = project
    (root / "models.toml").write_text(SPEC, encoding="utf-8")
    (root / "notebooks").mkdir()
    asked = []
    monkeypatch.setattr(nb, "run", lambda folder, timeout=300, *, quiet=False, tables=None:
                        asked.append(tables) or {})
    assert replicate.run(specs=root / "models.toml", processed_dir=root / "processed",
                         results_dir=root / "results", only=["t"]) == 0
    assert asked == [["t1"]]
    assert (root / "results" / "tables" / "t1.md").is_file()


def test_only_with_an_ambiguous_prefix_names_the_tables_and_writes_nothing(project):
    root, _ = project
    two = SPEC + "\n[[table]]" + SPEC.replace('id = "t1"', 'id = "t2"').split("[[table]]", 1)[1]
    (root / "models.toml").write_text(two, encoding="utf-8")
    with pytest.raises(SpecificationError, match=r"--only 't' is ambiguous: it starts 2 table "
                                                 r"ids in .*models.toml \(t1, t2\)"):
        replicate.run(specs=root / "models.toml", processed_dir=root / "processed",
                      results_dir=root / "results", notebooks=False, only=["t"])
    assert not (root / "results").exists()
