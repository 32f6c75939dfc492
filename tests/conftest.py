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
