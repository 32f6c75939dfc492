"""Fixtures shared by the whole suite.

``data_mirror`` is the one place that locates the read-only mirror of the public raw files:
``$REGROWTH_DATA_MIRROR`` if set, else ``../shared/data`` beside the project (the layout CI
and the Makefile use). A folder counts as the mirror only if it holds ``SHA256SUMS`` (the
checksums the manifest is checked against). Tests that need the real files take this fixture
(or ``shared_data``, its alias in ``tests/data``) and are skipped, with the reason, when no
mirror is present; no test hard-codes a path.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]


def find_data_mirror() -> Path | None:
    """The data mirror folder, or None: ``$REGROWTH_DATA_MIRROR``, else ``../shared/data``."""
    env = os.environ.get("REGROWTH_DATA_MIRROR")
    candidates = [Path(env)] if env else []
    candidates.append(PROJECT.parent / "shared" / "data")
    for folder in candidates:
        if (folder / "SHA256SUMS").is_file():
            return folder.resolve()
    return None


@pytest.fixture(scope="session")
def project_root() -> Path:
    """The project folder (the one holding ``pyproject.toml``)."""
    return PROJECT


@pytest.fixture(scope="session")
def data_mirror() -> Path:
    """The mirror of the public raw files; skips the test when there is none."""
    folder = find_data_mirror()
    if folder is None:
        pytest.skip("no data mirror: set REGROWTH_DATA_MIRROR or put the public files in "
                    "../shared/data")
    return folder


@pytest.fixture(scope="session")
def replicated(tmp_path_factory, data_mirror):
    """``(work folder, PanelBuild, exit status)`` of the whole pipeline run once in a scratch
    copy of the project: raw files acquired from the mirror, panel built, every specification
    fitted, tables/figures/estimates written, notebooks built from their sources and run."""
    from regrowth import acquire, panel, replicate

    work = tmp_path_factory.mktemp("project")
    for folder in ("specs", "notebooks"):
        shutil.copytree(PROJECT / folder, work / folder,
                        ignore=shutil.ignore_patterns("*.ipynb", ".ipynb_checkpoints"))
    if (PROJECT / "results" / "curve").is_dir():  # notebook 05 reads the committed `make curve` outputs
        shutil.copytree(PROJECT / "results" / "curve", work / "results" / "curve")
    (work / "data" / "raw").mkdir(parents=True)
    shutil.copy(PROJECT / "data" / "raw" / "MANIFEST.toml", work / "data" / "raw" / "MANIFEST.toml")
    cwd = Path.cwd()
    os.chdir(work)
    try:
        acquire.fetch(mirror=data_mirror, allow_download=False)
        built = panel.build("data/raw", "data/processed")
        status = replicate.run(notebooks=True)
    finally:
        os.chdir(cwd)
    return work, built, status
