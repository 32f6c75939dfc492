"""End to end on the real files: the committed results are what the code produces.

Builds the panel from the data mirror (``data_mirror`` in tests/conftest.py), runs every
specification and executes the notebooks in a scratch copy of the project, then compares
with the committed results/ and notebooks/: tables byte for byte, estimates.json to 1e-9,
notebook text outputs exactly. A difference means the committed outputs are stale (rerun
`make replicate` and commit them).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest

from regrowth import panel
from regrowth import specs as specs_mod
from regrowth.fit import refit
from regrowth.report import reader

ROOT = Path(__file__).resolve().parents[1]

# ``replicated`` (tests/conftest.py): a scratch copy of the project, acquired from the data
# mirror, with the panel built and `replicate.run(notebooks=True)` done, shared by the session.


def test_every_specification_fits_and_every_notebook_runs(replicated):
    _, _, status = replicated
    assert status == 0


def test_known_values_come_through_exactly(replicated):
    _, built, _ = replicated
    p = built.panel
    assert p.loc[("seoul", 2020), "population"] == 9668465       # KOSIS resident population
    assert p.loc[("busan", 2001), "fiscal_self_reliance"] == 74.4  # 재정자립도 as printed
    assert p.loc[("seoul", 2014), "fiscal_self_reliance"] == 84.2
    assert p.loc[("seoul", 2014), "fiscal_self_reliance_rev"] == 80.0
    assert p.loc[("seoul", 1985), "grdp_pc_nominal"] == 2377
    assert p["patents_fintech"].dropna().index.get_level_values("year").max() == 2021


def test_a_macro_region_table_is_fitted_on_the_seven_units_with_randomization_inference(replicated):
    """Tables whose spec says ``unit = "macro_region"`` run on the 권역 panel: 7 units, SEs and
    bootstrap by macro-region (all 2^7 sign vectors), and an RI p-value that sets the stars."""
    work, _, _ = replicated
    est = json.loads((work / "results" / "estimates.json").read_text(encoding="utf-8"))
    spec = specs_mod.load(work / "specs" / "models.toml")
    macro_tables = [t for t in spec.tables if t.unit == "macro_region"]
    assert macro_tables, "the replication has a macro-region table"
    for table in macro_tables:
        for col in table.columns:
            rec = est["tables"][table.id]["columns"][col.id]
            assert rec["stats"]["n_macro_regions"] == 7 and "n_entities" not in rec["stats"]
            for term, ri in rec["extra"].get("randomization", {}).items():
                assert ri["n_units"] == 7 and 0 < ri["pvalue"] <= 1, term
                assert ri["permutations"] + ri["failed"] >= 1
            for term, boot in rec["extra"].get("bootstrap", {}).items():
                assert boot["groups"] == "macro_region" and boot["n_clusters"] == 7, term
        assert any(rec["extra"].get("randomization")
                   for rec in est["tables"][table.id]["columns"].values())
        md = (work / "results" / "tables" / f"{table.id}.md").read_text(encoding="utf-8")
        assert "| Macro-regions" in md and "RI " in md and "| Provinces" not in md


def _files(folder: Path, pattern: str = "*") -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob(pattern)) if p.is_file()}


def _close(a, b, path="") -> list[str]:
    """Paths where two JSON documents differ beyond 1e-9 relative (numbers) or at all (rest)."""
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return [f"{path}: keys {sorted(set(a) ^ set(b))}"]
        return [d for k in a for d in _close(a[k], b[k], f"{path}/{k}")]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: length {len(a)} vs {len(b)}"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in _close(x, y, f"{path}/{i}")]
    if isinstance(a, float) and isinstance(b, float):
        return [] if math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12) else [f"{path}: {a!r} vs {b!r}"]
    return [] if a == b else [f"{path}: {a!r} vs {b!r}"]


def test_committed_tables_are_reproduced_byte_for_byte(replicated):
    """Formatted tables must match exactly; stale ones mean `make replicate` was not rerun."""
    work, _, _ = replicated
    ours, committed = _files(work / "results" / "tables"), _files(ROOT / "results" / "tables")
    assert sorted(ours) == sorted(committed)
    stale = [name for name in ours if ours[name] != committed[name]]
    assert stale == [], f"stale committed tables (rerun make replicate and commit): {stale}"


def test_committed_estimates_are_reproduced_to_1e_9(replicated):
    """Full-precision numbers: equal to 1e-9 relative (the last bits may differ across CPUs'
    BLAS kernels; on one machine two runs are byte-identical, see tests/test_replicate.py).
    This run has one BLAS thread and the committed one two, so this is also the check that
    no number depends on the thread count."""
    work, _, _ = replicated
    ours = json.loads((work / "results" / "estimates.json").read_text(encoding="utf-8"))
    committed = json.loads((ROOT / "results" / "estimates.json").read_text(encoding="utf-8"))
    assert _close(ours, committed) == []


def test_committed_figures_are_reproduced_byte_for_byte(replicated):
    work, _, _ = replicated
    ours, committed = _files(work / "results" / "figures"), _files(ROOT / "results" / "figures")
    assert sorted(ours) == sorted(committed)
    stale = [name for name in ours if ours[name] != committed[name]]
    assert stale == [], f"stale committed figures (rerun make replicate and commit): {stale}"


def _text_outputs(nb_path: Path) -> list:
    nb = nbformat.read(nb_path, as_version=4)
    return [[o.get("text") or {k: v for k, v in o.get("data", {}).items() if not k.startswith("image/")}
             for o in c.get("outputs", [])] for c in nb.cells if c.cell_type == "code"]


def test_committed_notebooks_carry_the_outputs_of_the_last_run(replicated):
    work, _, _ = replicated
    names = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
    # one executed notebook per jupytext source, none missing, none orphaned
    assert names and names == sorted(p.stem + ".ipynb" for p in (ROOT / "notebooks").glob("*.py"))
    stale = [n for n in names
             if _text_outputs(work / "notebooks" / n) != _text_outputs(ROOT / "notebooks" / n)]
    assert stale == [], f"notebooks whose committed outputs are stale: {stale}"


def test_estimates_hold_the_leave_one_out_refits_at_full_precision(replicated):
    """estimates.json["loo"][table] (what notebook 04 reads) is leave_one_out's frame of the
    table's loo column, every number as computed."""
    from regrowth.analyses import loo
    from regrowth.fit import with_region_attributes

    work, _, _ = replicated
    sp, terms = next((sp, t) for sp, t in loo.loo_columns(specs_mod.load(work / "specs" / "models.toml"))
                     if sp.table == "table2_growth")
    p = with_region_attributes(panel.load(work / "data" / "processed"))
    expected = loo.leave_one_out(sp, p, terms)
    stored = reader.load_estimates(work)["loo"]["table2_growth"]
    assert stored["column"] == sp.id
    written = pd.DataFrame(stored["rows"])
    pd.testing.assert_frame_equal(written, expected, check_exact=True, check_dtype=False)


def test_panel_csv_is_byte_identical_to_a_second_build(replicated, tmp_path):
    work, _, _ = replicated
    panel.build(work / "data" / "raw", tmp_path)
    assert (tmp_path / "panel.csv").read_bytes() == (work / "data" / "processed" / "panel.csv").read_bytes()


def test_panel_log_names_no_applicant(replicated):
    """The build log gives counts per source and never an applicant's name or address: the
    first applicants the KIPRIS parser keeps as examples appear nowhere in it, and it holds no
    Hangul at all (names and addresses in the records are in Korean)."""
    _, built, _ = replicated
    log = built.describe()
    kipris = next(r for r in built.reports.values() if hasattr(r, "examples"))
    examples = [text for rows in kipris.examples.values() for _, text in rows]
    assert examples, "the real records have foreign applicants, kept as examples"
    assert [t for t in examples if t in log] == []
    assert [t for t in examples if t in kipris.summary() or t in repr(kipris)] == []
    assert not any("\uac00" <= ch <= "\ud7a3" for ch in log)
    assert "KIPRIS records: 24,104" in log
    per_source = [line for line in log.splitlines() if " rows  " in line]
    assert len(per_source) == len(built.sources) >= 12      # one line per source file
    assert all("{" not in line for line in log.splitlines())  # no dict dumps


# The results reader (regrowth.report.reader) on the run's outputs (moved here from
# tests/test_results.py: every test of the end-to-end run is in this module, see conftest.py).

def test_refit_reproduces_the_stored_estimates(replicated):
    """regrowth.fit.refit runs the replicate code path: the numbers of estimates.json."""
    work, _, _ = replicated
    est = reader.load_estimates(work)
    for table, column in (("table1_innovation", "gnb_main"), ("table2_growth", "fgls_main")):
        stored = reader.coefficients(est, table, column)
        res = refit(table, column, work)
        np.testing.assert_allclose(np.asarray(res.params, dtype=float),
                                   stored["estimate"].to_numpy(), rtol=1e-9)
        assert isinstance(reader.table_markdown(table, work), str)


def test_stored_tables_list_every_format(replicated):
    work, _, _ = replicated
    from regrowth.cli import stored_tables

    tables = stored_tables(work / "results")
    assert tables["table1_innovation"] == ["csv", "html", "md", "tex"]   # .docx is not printable
    assert set(tables) == {p.stem for p in (work / "results" / "tables").glob("*.md")}
    assert isinstance(pd.read_csv(work / "results" / "tables" / "table1_innovation.csv",
                                  header=None, skiprows=1).iloc[0, 1], str)


@pytest.mark.slow  # make test checks it with the full draws: the end-to-end run uses one
# BLAS thread and is compared with the committed results, written with two (`replicated`)
def test_estimates_do_not_depend_on_the_blas_thread_count(built_project, few_draws_specs, tmp_path,
                                                          monkeypatch):
    """Every number of estimates.json is the same, to 1e-9 relative, whether BLAS runs on one
    thread or on two (as CI with OPENBLAS_NUM_THREADS=1 and the 2-core reference machine do),
    so another machine or thread count reproduces them. The two runs are made in this process
    under ``threadpoolctl`` limits, from the same spec with every draw count capped at 19
    (the seeded draws exercise the same code as the spec's 9,999; the full-draw numbers are
    compared with the committed ones above) and without rendering figures, which do not
    enter estimates.json; both runs are complete otherwise: every column, bootstrap line,
    chain draw, leave-one-out refit, diagnostic, spatial and reform estimate."""
    from threadpoolctl import threadpool_info, threadpool_limits

    from regrowth import replicate
    from regrowth.report import figures

    work, _ = built_project
    specs = few_draws_specs(19)
    monkeypatch.chdir(work)
    monkeypatch.setattr(replicate, "figure_jobs", lambda *args, **kwargs: [])
    monkeypatch.setattr(replicate, "panel_figure_jobs", lambda *args, **kwargs: [])
    monkeypatch.setattr(figures, "figure_bytes", lambda *args, **kwargs: b"")  # analyses' figures
    runs = {}
    for threads in (1, 2):
        with threadpool_limits(limits=threads, user_api="blas"):
            assert {i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"} == {threads}
            out = tmp_path / f"results_{threads}_thread"
            assert replicate.run(specs=specs, processed_dir=work / "data" / "processed",
                                 results_dir=out, notebooks=False) == 0
        runs[threads] = json.loads((out / "estimates.json").read_text(encoding="utf-8"))
    assert runs[1]["chain"]["reps"] == 19 and runs[1]["chain"]["terms"]  # the capped spec ran
    assert _close(runs[1], runs[2]) == []
