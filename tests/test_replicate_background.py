"""``regrowth replicate`` in two processes: the figures and the outputs-stage analyses run in
a forked background process (``regrowth.background``); what they record comes back, their
failures are named as before, and one process writes the same bytes."""

from __future__ import annotations

import ctypes
import json
from pathlib import Path

import pytest

from regrowth import analyses, background, replicate, threads
from regrowth.errors import EstimationError
from test_replicate import SPEC, synthetic_panel


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.name.startswith(".regrowth")}


def _run(tmp_path: Path, out: str) -> int:
    return replicate.run(specs=tmp_path / "models.toml", processed_dir=tmp_path / "processed",
                         results_dir=tmp_path / out, notebooks=False)


@pytest.fixture
def project(tmp_path, monkeypatch):
    synthetic_panel(tmp_path / "processed")
    (tmp_path / "models.toml").write_text(SPEC, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    return tmp_path


def _outputs_analysis(monkeypatch, name, run):
    analyses.names()  # load the registry before adding to it
    monkeypatch.setitem(analyses._REGISTRY, name, analyses.Analysis(
        name=name, stage="outputs", run=run, parse=lambda *args: None, implicit=True,
        record_keys=(name,)))


@pytest.mark.skipif(not background.enabled(), reason="no fork on this platform")
def test_two_processes_and_one_write_the_same_bytes(project, monkeypatch):
    assert _run(project, "two") == 0
    monkeypatch.setenv("REGROWTH_BACKGROUND", "off")
    assert _run(project, "one") == 0
    two, one = _files(project / "two"), _files(project / "one")
    assert any(k.startswith("figures/") for k in two) and two == one


@pytest.mark.skipif(not background.enabled(), reason="no fork on this platform")
def test_a_background_analysis_record_reaches_estimates_json(project, monkeypatch):
    def record(ctx, table, settings):
        return analyses.Output(record={"bg_probe": {table.id: {"tables": len(ctx.specs.tables)}}})
    _outputs_analysis(monkeypatch, "bg_probe", record)
    assert _run(project, "results") == 0
    est = json.loads((project / "results" / "estimates.json").read_text())
    assert est["bg_probe"] == {"t1": {"tables": 1}}


@pytest.mark.skipif(not threads.blas_threads(), reason="no OpenBLAS found in this process")
@pytest.mark.parametrize("mode", ["on", "off"])
def test_every_analysis_runs_on_one_blas_thread_in_either_process(project, monkeypatch, mode):
    """Two processes of a run already use two cores: the analyses, in this process and in
    the forked one, run with one OpenBLAS thread whatever the process had before, and the
    process gets its own setting back after the run."""
    monkeypatch.setenv("REGROWTH_BACKGROUND", mode)
    _outputs_analysis(monkeypatch, "blas_probe", lambda ctx, table, settings: analyses.Output(
        record={"blas_probe": {table.id: threads.blas_threads()}}))
    libs = threads._openblas()
    before = [int(get()) for get, _ in libs]
    for _, put in libs:
        put(ctypes.c_int(2))
    try:
        assert _run(project, "results") == 0
        assert threads.blas_threads() == [2] * len(libs)
    finally:
        for (_, put), n in zip(libs, before):
            put(ctypes.c_int(n))
    est = json.loads((project / "results" / "estimates.json").read_text())
    assert est["blas_probe"] == {"t1": [1] * len(libs)}


@pytest.mark.parametrize("mode", ["on", "off"])
def test_a_failing_background_analysis_is_named_and_the_run_exits_1(project, monkeypatch,
                                                                     capsys, mode):
    monkeypatch.setenv("REGROWTH_BACKGROUND", mode)

    def boom(ctx, table, settings):
        raise EstimationError("synthetic failure of an outputs analysis")
    _outputs_analysis(monkeypatch, "bg_boom", boom)
    assert _run(project, "results") == 1
    err = capsys.readouterr().err
    assert "t1:bg_boom: FAILED: synthetic failure of an outputs analysis" in err
    assert (project / "results" / "figures" / "t1_coefficients.png").is_file()
    assert (project / "results" / "tables" / "t1.md").is_file()


@pytest.mark.skipif(not background.enabled(), reason="no fork on this platform")
def test_an_unexpected_error_in_the_background_stops_the_run_and_publishes_nothing(
        project, monkeypatch):
    def crash(ctx, table, settings):
        raise KeyError("not an analysis error")
    _outputs_analysis(monkeypatch, "bg_crash", crash)
    with pytest.raises(KeyError, match="not an analysis error"):
        _run(project, "results")
    assert not (project / "results" / "estimates.json").exists()


def test_the_outputs_jobs_read_the_columns_as_fitted_wherever_they_run():
    """The outputs-stage jobs get the fitted columns with their own ``extra`` and
    ``warnings``: what the columns-stage analyses add in this process meanwhile (bootstrap
    lines, randomization inference) is not seen, so a job gives the same bytes in the child
    and here."""
    from regrowth.fit import Fitted

    f = Fitted(spec=None, result=None, coefs=None, stats={}, warnings=["w"], extra={"a": 1})
    ctx = analyses.Context(specs=None, panel=None, fitted={"t/c": f}, labels={}, out=Path("."))
    octx = replicate._outputs_context(ctx)
    f.extra["randomization"] = {"p": 0.5}
    f.warnings.append("the bootstrap failed")
    assert octx.fitted["t/c"].extra == {"a": 1} and octx.fitted["t/c"].warnings == ["w"]
