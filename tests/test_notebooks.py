"""The notebooks are jupytext ``py:percent`` sources; each committed ``.ipynb`` is generated
from its source (``make notebooks``) and must not drift from it."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest

from regrowth import notebooks

ROOT = Path(__file__).resolve().parents[1]
FOLDER = ROOT / "notebooks"
NAMES = ["01_panel", "02_innovation", "03_growth", "04_robustness", "05_multiverse", "06_reform"]


def test_every_notebook_has_a_py_percent_source_and_a_generated_ipynb():
    assert [p.stem for p in notebooks.sources(FOLDER)] == NAMES
    assert sorted(p.stem for p in FOLDER.glob("*.ipynb")) == NAMES
    for name in NAMES:
        text = (FOLDER / f"{name}.py").read_text(encoding="utf-8")
        assert "formats: ipynb,py:percent" in text and "\n# %% [markdown]\n" in text


@pytest.mark.parametrize("name", NAMES)
def test_committed_ipynb_has_the_cells_of_its_source(name):
    """Fails when a .py source was edited without `make notebooks` (or the .ipynb by hand)."""
    committed = nbformat.read(FOLDER / f"{name}.ipynb", as_version=4)
    built = notebooks.build(FOLDER / f"{name}.py")
    assert notebooks.cells(committed) == notebooks.cells(built), (
        f"notebooks/{name}.ipynb has drifted from notebooks/{name}.py: run `make notebooks`")
    assert [c.id for c in committed.cells] == [c.id for c in built.cells]
    assert committed.metadata["kernelspec"]["name"] == "python3"


def test_committed_notebooks_carry_outputs_and_no_errors():
    for name in NAMES:
        nb = nbformat.read(FOLDER / f"{name}.ipynb", as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert all(c.execution_count is not None for c in code), f"{name} was not executed"
        errors = [o for c in code for o in c.outputs if o.output_type == "error"]
        stderr = [o.text for c in code for o in c.outputs
                  if o.output_type == "stream" and o.name == "stderr"]
        assert errors == [] and stderr == [], f"{name}: {errors or stderr}"


def test_drift_is_detected(tmp_path):
    folder = tmp_path / "notebooks"
    shutil.copytree(FOLDER, folder)
    assert notebooks.drifted(folder) == []
    src = folder / "02_innovation.py"
    src.write_text(src.read_text(encoding="utf-8").replace("# ## The estimation sample",
                                                           "# ## The sample", 1), encoding="utf-8")
    (folder / "99_orphan.ipynb").write_text((folder / "01_panel.ipynb").read_text())
    assert notebooks.drifted(folder) == ["02_innovation.ipynb", "99_orphan.ipynb"]


def test_build_is_deterministic_with_stable_ids():
    a, b = notebooks.build(FOLDER / "01_panel.py"), notebooks.build(FOLDER / "01_panel.py")
    assert nbformat.writes(a) == nbformat.writes(b)
    assert [c.id for c in a.cells][:3] == ["01-00", "01-01", "01-02"]
    assert all(c.outputs == [] for c in a.cells if c.cell_type == "code")


def test_the_model_notebooks_fit_a_model_from_the_spec_before_reading_stored_results():
    """Notebooks 2 and 3 show a fit built from specs/models.toml, then compare it with Table 1/2."""
    for name, call in (("02_innovation", "GeneralizedNegativeBinomial.from_formula("),
                       ("03_growth", 'fit_panel("fgls", formula')):
        text = (FOLDER / f"{name}.py").read_text(encoding="utf-8")
        assert "specs.load(" in text and call in text
        assert text.index(call) < text.index("reader.coefficients(")


# ------------------------------------------------- which notebooks read which tables (issue 20)

def test_every_notebook_declares_the_spec_tables_it_names():
    """Each source's header declares the tables it reads (`regrowth: reads: [...]`); every
    declared id is a table of specs/models.toml, and every table id the source names is
    declared."""
    from regrowth import specs
    table_ids = specs.load(ROOT / "specs" / "models.toml").table_ids()
    for name in NAMES:
        src = FOLDER / f"{name}.py"
        declared = notebooks.reads(src)
        assert declared is not None, f"{name}.py declares no `regrowth: reads:` in its header"
        assert set(declared) <= set(table_ids), name
        text = src.read_text(encoding="utf-8")
        named = {t for t in table_ids if t in text}
        assert named <= set(declared), (name, named - set(declared))
    assert notebooks.reads(FOLDER / "05_multiverse.py") == ()      # reads the curves only


def test_run_with_tables_builds_only_the_notebooks_that_read_them(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "notebooks"
    shutil.copytree(FOLDER, folder)
    ran = []
    monkeypatch.setattr(notebooks, "execute", lambda nb, cwd, timeout=300: ran.append(nb.cells[0].id))
    assert notebooks.run(folder, tables=["table6_reform"]) == {}
    assert ran == ["06-00"]
    out = capsys.readouterr().out
    assert "notebooks/03_growth.ipynb: not rebuilt (reads table2_growth; asked for table6_reform)" in out
    ran.clear()
    notebooks.run(folder, tables=["table2_growth"], quiet=True)
    assert sorted(ran) == ["01-00", "03-00", "04-00", "06-00"]   # run 2 at a time
    ran.clear()
    notebooks.run(folder, quiet=True)                                  # no --only: every one
    assert len(ran) == len(NAMES)


def test_a_notebook_without_a_declaration_is_always_built(tmp_path, monkeypatch):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    (folder / "01_x.py").write_text("# %% [markdown]\n# hi\n\n# %%\n1\n", encoding="utf-8")
    ran = []
    monkeypatch.setattr(notebooks, "execute", lambda nb, cwd, timeout=300: ran.append(1))
    assert notebooks.reads(folder / "01_x.py") is None
    notebooks.run(folder, tables=["table1_innovation"], quiet=True)
    assert ran == [1]


# ------------------------------------------------------------------ results the notebooks read

def _project(tmp_path: Path, estimates: str) -> Path:
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "models.toml").write_text("")
    (tmp_path / "results" / "curve").mkdir(parents=True)
    (tmp_path / "results" / "estimates.json").write_text(estimates)
    (tmp_path / "results" / "curve" / "growth.json").write_text("{}\n")
    folder = tmp_path / "notebooks"
    folder.mkdir()
    return folder


SOURCE = '# %% [markdown]\n# A notebook\n\n# %%\nprint(1 + 1)\n'


def test_run_records_the_results_it_read_and_check_says_when_they_changed(tmp_path, capsys):
    """A notebook records the id of results/estimates.json it was built from (no time: a
    rebuild changes nothing); a later run that changes the results without rebuilding the
    notebooks (make replicate killed between models and notebooks) makes --check fail."""
    from regrowth import cli
    from regrowth.report import reader
    folder = _project(tmp_path, '{"tables": {}}\n')
    (folder / "01_one.py").write_text(SOURCE)
    (folder / "02_curves.py").write_text(SOURCE.replace("1 + 1", "'results/curve'"))
    assert notebooks.run(folder, quiet=True) == {}
    first = (folder / "01_one.ipynb").read_bytes()
    meta = nbformat.read(folder / "01_one.ipynb", as_version=4).metadata["regrowth"]["results"]
    results = tmp_path / "results"
    assert meta == {"estimates": reader.results_id(results=results, patterns=("estimates.json",))}
    assert set(nbformat.read(folder / "02_curves.ipynb", as_version=4)
               .metadata["regrowth"]["results"]) == {"estimates", "curves"}
    assert notebooks.stale(folder) == []
    assert cli.main(["notebooks", "--check", "--folder", str(folder)]) == 0
    # a curve run changes only what 02 reads
    (results / "curve" / "growth.json").write_text('{"new": 1}\n')
    assert [line.split(" ", 1)[0] for line in notebooks.stale(folder)] == [
        "notebooks/02_curves.ipynb"]
    # a replicate run changes the estimates: both are older than the results
    (results / "estimates.json").write_text('{"tables": {"t": {}}}\n')
    older = notebooks.stale(folder)
    assert len(older) == 3 and "results/estimates.json was " in older[0]
    assert "rebuild it with `regrowth notebooks`" in older[0]
    assert cli.main(["notebooks", "--check", "--folder", str(folder)]) == 1
    assert "notebooks/01_one.ipynb was built from other results" in capsys.readouterr().err
    # rebuilding brings them in line; with unchanged results a rebuild is byte-identical
    (results / "curve" / "growth.json").write_text("{}\n")
    (results / "estimates.json").write_text('{"tables": {}}\n')
    assert notebooks.run(folder, quiet=True) == {}
    assert (folder / "01_one.ipynb").read_bytes() == first and notebooks.stale(folder) == []


def test_check_names_a_notebook_built_without_a_results_id(tmp_path):
    folder = _project(tmp_path, "{}\n")
    (folder / "01_one.py").write_text(SOURCE)
    nbformat.write(notebooks.build(folder / "01_one.py"), folder / "01_one.ipynb")
    assert notebooks.stale(folder) == [
        "notebooks/01_one.ipynb records no id of the results it was built from (built by an "
        "older version); rebuild it with `regrowth notebooks` (or `make notebooks`)"]


def test_parallel_run_writes_the_same_notebooks_and_lines_in_name_order(tmp_path, monkeypatch,
                                                                        capsys):
    """Two notebooks at once (the default) write the same .ipynb bytes as one at a time and
    print their lines in name order, whichever finishes first; a failing one is reported and
    leaves the others written."""
    import threading

    folder = tmp_path / "notebooks"
    folder.mkdir()
    for name in ("01_a", "02_b", "03_c"):
        (folder / f"{name}.py").write_text(f"# %% [markdown]\n# {name}\n\n# %%\n1\n",
                                            encoding="utf-8")
    first_done = threading.Event()

    def fake_execute(nb, cwd, timeout=300):
        prefix = nb.cells[0].id[:2]
        if prefix == "01":        # the first notebook waits for another one to finish
            first_done.wait(5)
        if prefix == "03":
            first_done.set()
            raise RuntimeError("cell 1\nboom")
        if prefix == "02":
            first_done.set()
        nb.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout",
                                                      text=f"ran {prefix}\n")]

    monkeypatch.setattr(notebooks, "execute", fake_execute)
    failures = notebooks.run(folder, workers=2)
    out = capsys.readouterr()
    lines = [line.split(":")[0].strip() for line in (out.out + out.err).splitlines()]
    assert lines == ["notebooks/01_a.ipynb", "notebooks/02_b.ipynb"] + ["notebooks/03_c.ipynb"]
    assert out.out.index("01_a") < out.out.index("02_b")
    assert failures == {"03_c.ipynb": "RuntimeError: boom"}
    parallel = {p.name: p.read_bytes() for p in folder.glob("*.ipynb")}
    assert sorted(parallel) == ["01_a.ipynb", "02_b.ipynb"]
    for p in folder.glob("*.ipynb"):
        p.unlink()
    first_done.set()
    assert notebooks.run(folder, workers=1, quiet=True) == failures
    assert {p.name: p.read_bytes() for p in folder.glob("*.ipynb")} == parallel


def test_run_refuses_a_worker_count_that_is_not_a_positive_integer(tmp_path):
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="workers must be a positive integer"):
            notebooks.run(tmp_path, workers=bad)


def test_a_kernel_runs_with_one_blas_thread_whatever_the_callers_setting(tmp_path,
                                                                        monkeypatch):
    """Two notebooks run at once, each kernel with one OpenBLAS thread (so the numbers a
    notebook prints from its own fits do not depend on the machine's thread count)."""
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "4")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import os\nprint(os.environ['OPENBLAS_NUM_THREADS'])")])
    notebooks.execute(nb, tmp_path)
    assert nb.cells[0].outputs[0]["text"] == "1\n"
