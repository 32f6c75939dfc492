"""The command line: help text and a default for every option, --version, `show`, `fetch`."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import pytest

from regrowth import __version__, cli

ROOT = Path(__file__).resolve().parents[1]


def _parsers(parser: argparse.ArgumentParser, path=("regrowth",)):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, (*path, name))


def test_every_option_of_every_command_has_help_text_and_shows_its_default():
    commands = dict(_parsers(cli.build_parser()))
    assert {" ".join(p) for p in commands} >= {
        "regrowth", "regrowth data", "regrowth data fetch", "regrowth data verify",
        "regrowth panel", "regrowth replicate", "regrowth notebooks", "regrowth show"}
    missing, no_default = [], []
    for path, parser in commands.items():
        text = parser.format_help()
        for action in parser._actions:
            if action.help in (None, "") and not isinstance(action, argparse._SubParsersAction):
                missing.append((" ".join(path), action.dest))
            if (action.option_strings and action.default is not argparse.SUPPRESS
                    and action.dest not in ("help", "version")):
                shown = parser._get_formatter()._get_help_string(action)
                if "default" not in shown:
                    no_default.append((" ".join(path), action.dest))
        assert "(default:" in text or path in (("regrowth", "data"),)
    assert missing == [] and no_default == []


def test_version(capsys):
    with pytest.raises(SystemExit) as done:
        cli.main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"regrowth {__version__}"


@pytest.fixture
def results_dir(tmp_path):
    tables = tmp_path / "results" / "tables"
    tables.mkdir(parents=True)
    (tables / "table1_innovation.md").write_text("**Table 1**\n\n| a |\n", encoding="utf-8")
    (tables / "table1_innovation.csv").write_text("Table 1\n", encoding="utf-8")
    (tables / "table2_growth.md").write_text("**Table 2**\n", encoding="utf-8")
    (tables / "table2_growth.docx").write_bytes(b"PK")       # not printable: never shown
    return tmp_path / "results"


def test_show_prints_a_stored_table_by_id_or_unique_prefix(results_dir, capsys):
    assert cli.main(["show", "table1_innovation", "--results-dir", str(results_dir)]) == 0
    assert capsys.readouterr().out == "**Table 1**\n\n| a |\n"
    assert cli.main(["show", "table2", "--results-dir", str(results_dir)]) == 0
    assert capsys.readouterr().out == "**Table 2**\n"
    assert cli.main(["show", "table1", "--format", "csv", "--results-dir", str(results_dir)]) == 0
    assert capsys.readouterr().out == "Table 1\n"


def test_show_without_a_table_lists_them(results_dir, capsys):
    assert cli.main(["show", "--results-dir", str(results_dir)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1:] == ["  table1_innovation", "  table2_growth"]


@pytest.mark.parametrize("args, message", [
    (["show", "table"], "'table' is ambiguous: it starts 2 stored table ids in "),
    (["show", "table9"], "'table9': no such stored table in "),
    (["show", "tabel2"], "(did you mean 'table2_growth'?); valid stored table ids: "
                         "table1_innovation, table2_growth"),
    (["show", "table2", "--format", "csv"], "table2_growth was not written as .csv (formats present: md)"),
])
def test_show_errors_name_what_exists(results_dir, capsys, args, message):
    assert cli.main([*args, "--results-dir", str(results_dir)]) == 2
    assert message in capsys.readouterr().err


def test_show_before_any_run_says_what_to_run(tmp_path, capsys):
    assert cli.main(["show", "--results-dir", str(tmp_path / "none")]) == 2
    assert "run `make replicate`" in capsys.readouterr().err


def test_show_on_the_committed_results_prints_table_1():
    """`regrowth show table1` from the project folder prints the committed Markdown table."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "regrowth", "show", "table1"], cwd=ROOT,
                          capture_output=True, text=True, env={"PYTHONPATH": str(ROOT / "src"),
                                                                "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    assert done.stdout == (ROOT / "results" / "tables" / "table1_innovation.md").read_text(encoding="utf-8")


def test_python_m_regrowth_keeps_the_exit_code_and_runs_the_exit_handlers(tmp_path):
    """`python -m regrowth` leaves without the interpreter's teardown once a command has
    returned, but after its exit handlers (here one registered at start-up through
    sitecustomize) and with the command's exit code and every line it printed."""
    import subprocess
    import sys

    (tmp_path / "sitecustomize.py").write_text(
        "import atexit, pathlib\n"
        f"atexit.register(pathlib.Path({str(tmp_path / 'ran')!r}).write_text, 'yes')\n")
    env = {"PYTHONPATH": f"{tmp_path}:{ROOT / 'src'}", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-m", "regrowth", "show", "--results-dir",
                           str(tmp_path / "none")], cwd=ROOT, capture_output=True, text=True,
                          env=env)
    assert done.returncode == 2
    assert done.stderr.startswith("regrowth: error: no tables under ")
    assert (tmp_path / "ran").read_text() == "yes"


def test_fetch_prints_one_summary_line_and_no_stuck_progress_bar(tmp_path, data_mirror, capfd):
    manifest = ROOT / "data" / "raw" / "MANIFEST.toml"
    raw = tmp_path / "raw"
    assert cli.main(["--raw-dir", str(raw), "data", "fetch", "--manifest", str(manifest),
                     "--mirror", str(data_mirror), "--no-download"]) == 0
    out, err = capfd.readouterr()
    n = sum(1 for p in raw.rglob("*") if p.is_file())
    assert out == f"data/raw: 0 already present and verified, {n} copied from the mirror, 0 downloaded\n"
    assert err == ""                       # no progress bar on a non-terminal, no "0file"
    assert cli.main(["--raw-dir", str(raw), "data", "verify", "--manifest", str(manifest)]) == 0
    assert capfd.readouterr().out == f"data/raw: {n} files match the manifest\n"
    shutil.rmtree(raw)


def test_a_data_error_exits_2_with_the_message(tmp_path, capsys):
    code = cli.main(["--raw-dir", str(tmp_path / "raw"), "data", "verify",
                     "--manifest", str(ROOT / "data" / "raw" / "MANIFEST.toml")])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("regrowth: error: ") and "has not been acquired" in err and "make data" in err


# ------------------------------------------------- one rule for names, shared defaults (issue 20)

def test_replicate_only_takes_the_same_names_as_show(capsys):
    """`replicate --only` refuses an ambiguous prefix and a typo before reading the panel,
    with the words `show` uses (regrowth.names)."""
    specs = str(ROOT / "specs" / "models.toml")
    assert cli.main(["replicate", "--only", "table", "--specs", specs, "--no-notebooks"]) == 2
    from regrowth import specs as specs_mod

    n = len(specs_mod.load(specs).table_ids())
    assert f"--only 'table' is ambiguous: it starts {n} table ids" in capsys.readouterr().err
    assert cli.main(["replicate", "--only", "tabel2", "--specs", specs, "--no-notebooks"]) == 2
    assert "(did you mean 'table2_growth'?)" in capsys.readouterr().err


def test_curve_and_make_curve_share_one_default_backend(monkeypatch):
    from regrowth import curve
    import inspect
    assert inspect.signature(curve.run).parameters["backend"].default == curve.DEFAULT_BACKEND
    seen = {}
    monkeypatch.setattr(curve, "run", lambda **kw: seen.update(kw) or 0)
    assert cli.main(["curve"]) == 0        # no --backend: the curve package's default
    assert seen["backend"] == curve.DEFAULT_BACKEND
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "CURVE_BACKEND ?=\n" in makefile                  # no second default in make
    assert "$(if $(CURVE_BACKEND),--backend $(CURVE_BACKEND))" in makefile


def test_notebooks_check_says_what_it_checked(tmp_path, capsys):
    folder = tmp_path / "notebooks"
    shutil.copytree(ROOT / "notebooks", folder)
    assert cli.main(["notebooks", "--check", "--folder", str(folder)]) == 0
    out = capsys.readouterr().out
    n = len(list(folder.glob("[0-9][0-9]_*.py")))
    assert f"{n} of {n} notebooks have the cells of their .py source" in out
    assert "01_panel.ipynb" in out
    (folder / "01_panel.ipynb").unlink()
    assert cli.main(["notebooks", "--check", "--folder", str(folder)]) == 1
    captured = capsys.readouterr()
    assert f"{n - 1} of {n} notebooks" in captured.out and "01_panel.ipynb differs" in captured.err


def test_the_repository_names_no_document_outside_itself():
    """No file of the package cites a document that is not in the repository (the data
    mirror and test-data folders beside it are paths the code reads, not documents)."""
    import re
    files = [ROOT / "README.md", ROOT / "Makefile", ROOT / "data" / "raw" / "MANIFEST.toml",
             *(ROOT / "specs").glob("*.toml"), *(ROOT / "notebooks").glob("*.py"),
             *(ROOT / "src").rglob("*.py"), *(ROOT / "tools").glob("*.py"),
             *(ROOT / "tests").rglob("*.py")]
    outside = re.compile(r"\.\./shared/[^\s`'\")]*\.md|\b(DESIGN|SOURCES|STYLE)\.md\b")
    found = [f"{p.relative_to(ROOT)}: {m.group(0)}" for p in files
             for m in outside.finditer(p.read_text(encoding="utf-8"))]
    assert found == []


def test_backend_choices_are_the_backends_and_parsing_imports_no_estimator():
    import subprocess
    import sys

    from regrowth import curve

    assert cli.BACKENDS == curve.BACKENDS   # replicate checks its --backend against curve's
    # `regrowth --help` parses the command line without importing the commands' modules
    code = ("import sys; from regrowth import cli; cli.build_parser().format_help(); "
            "print(sorted(m for m in sys.modules if m.startswith(('regrowth.models', "
            "'regrowth.curve', 'regrowth.replicate', 'matplotlib'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
