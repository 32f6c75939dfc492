"""End to end on the real files: the committed results are what the code produces.

Builds the panel from ../shared/data (the mirror CI has beside the clone), runs every
specification and executes the notebooks in a scratch copy of the project, then compares
byte for byte with the committed results/ and notebooks/. A difference means the committed
outputs are stale (rerun `make replicate` and commit) or the build is not deterministic.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from regrowth import acquire, panel, replicate

ROOT = Path(__file__).resolve().parents[1]
MIRROR = Path(os.environ.get("REGROWTH_DATA_MIRROR") or ROOT.parent / "shared" / "data")

pytestmark = pytest.mark.skipif(not (MIRROR / "SHA256SUMS").is_file(),
                                reason="the public data mirror (../shared/data) is not available")


@pytest.fixture(scope="module")
def replicated(tmp_path_factory):
    work = tmp_path_factory.mktemp("project")
    for folder in ("specs", "notebooks"):
        shutil.copytree(ROOT / folder, work / folder)
    (work / "data" / "raw").mkdir(parents=True)
    shutil.copy(ROOT / "data" / "raw" / "MANIFEST.toml", work / "data" / "raw" / "MANIFEST.toml")
    cwd = Path.cwd()
    os.chdir(work)
    try:
        acquire.fetch(mirror=MIRROR, allow_download=False)
        built = panel.build("data/raw", "data/processed")
        status = replicate.run(notebooks=True)
    finally:
        os.chdir(cwd)
    return work, built, status


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


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_committed_results_are_reproduced_byte_for_byte(replicated):
    work, _, _ = replicated
    ours, committed = _files(work / "results"), _files(ROOT / "results")
    assert sorted(ours) == sorted(committed)
    stale = [name for name in ours if ours[name] != committed[name]]
    assert stale == [], f"stale committed outputs (rerun make replicate and commit): {stale}"


def test_committed_notebooks_carry_the_outputs_of_the_last_run(replicated):
    work, _, _ = replicated
    ours, committed = _files(work / "notebooks"), _files(ROOT / "notebooks")
    stale = [name for name in committed if ours.get(name) != committed[name]]
    assert stale == []


def test_panel_csv_is_byte_identical_to_a_second_build(replicated, tmp_path):
    work, _, _ = replicated
    panel.build(work / "data" / "raw", tmp_path)
    assert (tmp_path / "panel.csv").read_bytes() == (work / "data" / "processed" / "panel.csv").read_bytes()
