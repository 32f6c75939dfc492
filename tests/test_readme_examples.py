"""The README's Python examples run as written, from the project root.

Every ```python block of README.md is executed in order, in one namespace, with the working
directory at a project root (blocks may use names defined by earlier ones), exactly as a reader
pastes them after `make panel`. The examples compare their fits with the committed
results/estimates.json, so a README that drifts from the code or from the stored results fails
here.

Where the panel comes from: the checkout's data/processed/panel.parquet when it has been built
(`make panel`). A fresh clone (and CI, where `make test` does not build the panel) has no
panel; then a scratch project is prepared once per session -- specs/ and results/ copied from
the checkout, the raw files copied from the public data mirror (`$REGROWTH_DATA_MIRROR`, or
../shared/data as the Makefile uses) and the panel built into its data/processed/ -- and the
examples run there. Only if neither the panel nor the mirror exists are they skipped, saying so.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
BLOCK = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)


def _mirror() -> Path | None:
    env = os.environ.get("REGROWTH_DATA_MIRROR")
    for cand in (env, ROOT.parent / "shared" / "data"):
        if cand and (Path(cand) / "SHA256SUMS").is_file():
            return Path(cand)
    return None


def python_blocks(text: str) -> list[str]:
    """The contents of the ```python fenced blocks of a Markdown text, in order."""
    return [m.group(1) for m in BLOCK.finditer(text)]


@pytest.fixture(scope="session")
def project_root(tmp_path_factory) -> Path:
    """A project root with a built panel: the checkout's, or a scratch copy built from the
    mirror (see the module docstring)."""
    if (ROOT / "data" / "processed" / "panel.parquet").is_file():
        return ROOT
    mirror = _mirror()
    if mirror is None:
        pytest.skip("README examples need the panel: data/processed/panel.parquet is absent "
                    "(run `make panel`) and no data mirror is available to build it "
                    "(set REGROWTH_DATA_MIRROR)")
    from regrowth import acquire, panel

    work = tmp_path_factory.mktemp("readme_project")
    for folder in ("specs", "results"):
        shutil.copytree(ROOT / folder, work / folder)
    (work / "data" / "raw").mkdir(parents=True)
    shutil.copy(ROOT / "data" / "raw" / "MANIFEST.toml", work / "data" / "raw" / "MANIFEST.toml")
    cwd = Path.cwd()
    os.chdir(work)
    try:
        acquire.fetch(mirror=mirror, allow_download=False)
        panel.build("data/raw", "data/processed")
    finally:
        os.chdir(cwd)
    return work


def test_python_blocks_are_found():
    """The extraction itself: the README has the Python section, and fences are matched."""
    blocks = python_blocks(README.read_text(encoding="utf-8"))
    assert blocks, "README.md has no ```python block"
    assert any('panel.load("data/processed")' in b for b in blocks)
    assert python_blocks("x\n```python\na = 1\n```\n```\nnot python\n```\n") == ["a = 1\n"]


def test_readme_python_examples_run_as_written(project_root, monkeypatch, capsys):
    monkeypatch.chdir(project_root)
    namespace: dict = {"__name__": "__readme__"}
    for i, code in enumerate(python_blocks(README.read_text(encoding="utf-8")), start=1):
        try:
            exec(compile(code, f"README.md python block {i}", "exec"), namespace)  # noqa: S102
        except Exception as exc:  # noqa: BLE001 - report which block failed, then fail
            pytest.fail(f"README.md python block {i} failed: {type(exc).__name__}: {exc}")
    out = capsys.readouterr().out
    assert "PanelFGLS Estimation Summary" in out and "Generalized Negative Binomial" in out
