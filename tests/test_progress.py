"""regrowth.progress: a bar on a terminal, a log line every few seconds elsewhere, nothing when
silenced; and the long runs that use it (the curve, its null draws) report through it.

Time is a fake clock the tests move by hand: no test sleeps or reads the wall clock.
"""

from __future__ import annotations

import io
import types

import pytest

from regrowth import progress
from regrowth.progress import Progress, backend_label, silenced


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


class Tty(io.StringIO):
    def isatty(self):
        return True


def _lines(stream):
    return [ln for ln in stream.getvalue().splitlines() if ln]


def test_log_mode_writes_a_line_every_interval_with_rate_and_time_left():
    out, clock = io.StringIO(), Clock()
    with Progress(100, "curve growth", "specifications", where="processes x2", mode="log",
                  every=5, file=out, clock=clock) as bar:
        clock.now += 2
        bar.update(10)              # 2 s after the start: too early for a line
        assert _lines(out) == []
        clock.now += 3
        bar.update(15)              # 5 s: 25 done, 5 per second, 75 left = 15 s
        clock.now += 1
        bar.update(5)               # 1 s after the last line: none
    assert _lines(out) == [
        "curve growth (processes x2): 25/100 specifications (25%), 5/s, 5 s elapsed, "
        "~15 s left",
        "curve growth (processes x2): 30/100 specifications done in 6 s",
    ]


def test_a_run_that_raises_says_where_it_stopped():
    out, clock = io.StringIO(), Clock()
    with pytest.raises(RuntimeError):
        with Progress(10, "chain bootstrap", "draws", mode="log", file=out, clock=clock) as bar:
            bar.update(3)
            clock.now += 61
            raise RuntimeError
    assert _lines(out) == ["chain bootstrap: 3/10 draws stopped after 1 min 01 s"]


def test_to_sets_the_count_and_may_correct_the_total():
    out, clock = io.StringIO(), Clock()
    bar = Progress(999, "randomization gnb x", "draws", mode="log", every=1, file=out,
                   clock=clock)
    clock.now += 1
    bar.to(24, total=24)           # an enumerated test: 24 assignments, not 999 draws
    bar.close()
    assert bar.total == 24
    assert _lines(out)[-1] == "randomization gnb x: 24/24 draws done in 1 s"


def test_auto_is_a_tqdm_bar_on_a_terminal_and_lines_elsewhere(monkeypatch):
    monkeypatch.delenv("REGROWTH_PROGRESS", raising=False)
    assert Progress(3, "x", file=io.StringIO()).mode == "log"
    tty = Tty()
    with Progress(3, "kosis download", "tables", file=tty) as bar:
        assert bar.mode == "bar"
        bar.update(3)
    assert "kosis download" in tty.getvalue()  # tqdm drew it


@pytest.mark.parametrize("setting", ["off", "log", "bar"])
def test_the_environment_chooses_the_form(monkeypatch, setting):
    monkeypatch.setenv("REGROWTH_PROGRESS", setting)
    assert Progress(3, "x", file=io.StringIO()).mode == setting


def test_a_bad_setting_is_refused_naming_the_variable(monkeypatch):
    monkeypatch.setenv("REGROWTH_PROGRESS", "verbose")
    with pytest.raises(ValueError, match="REGROWTH_PROGRESS='verbose'.*auto, bar, log, off"):
        Progress(3, "x")
    monkeypatch.setenv("REGROWTH_PROGRESS", "log")
    monkeypatch.setenv("REGROWTH_PROGRESS_SECONDS", "soon")
    with pytest.raises(ValueError, match="REGROWTH_PROGRESS_SECONDS='soon'"):
        Progress(3, "x")


def test_silenced_block_writes_nothing():
    out, clock = io.StringIO(), Clock()
    with silenced():
        with Progress(5, "x", mode="log", every=0, file=out, clock=clock) as bar:
            clock.now += 10
            bar.update(5)
            bar.note("a message")
    assert out.getvalue() == ""
    with silenced(False):
        assert Progress(5, "x", mode="log", file=out).mode == "log"


def test_backend_label_names_the_remote_scheduler():
    ns = types.SimpleNamespace
    assert backend_label(None) == "serial"
    assert backend_label(ns(backend="serial", workers=1, scheduler=None)) == "serial"
    assert backend_label(ns(backend="processes", workers=2, scheduler=None)) == "processes x2"
    assert backend_label(ns(backend="dask", workers=4, scheduler="tcp://10.0.0.5:8786")) == \
        "dask x4 @ tcp://10.0.0.5:8786"
    assert backend_label(ns(backend="dask", workers=2, scheduler=None)) == \
        "dask x2 (local cluster)"


# ----------------------------------------------------------------------------- the long runs

def test_run_curve_reports_specifications_and_null_draws_unless_told_not_to(monkeypatch,
                                                                            capsys):
    from test_curve import LINEAR, _raw, synthetic_panel

    from regrowth import curve

    monkeypatch.setenv("REGROWTH_PROGRESS", "log")
    panel = synthetic_panel()
    (c,) = curve.validate(_raw(LINEAR), panel.columns)
    with curve.Executor("serial") as ex:
        rec = curve.run_curve(c, panel, ex)
    err = capsys.readouterr().err.splitlines()
    n = rec["n_models"]   # one record per model (its inference choices share the estimate)
    assert f"curve linear_small (serial): {n}/{n} models done in" in "\n".join(err)
    assert any(ln.startswith("null curve linear_small (linear maps, 2 draws) (serial): ")
               for ln in err)
    with curve.Executor("serial") as ex:
        quiet = curve.run_curve(c, panel, ex, progress=False)
    assert capsys.readouterr().err == ""
    assert curve.to_json(quiet) == curve.to_json(rec)


def test_progress_module_imports_nothing_of_the_package():
    """A floor below everything that reports progress (sources, curve, analyses)."""
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(progress))
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not any(str(m).startswith("regrowth") for m in imported)
