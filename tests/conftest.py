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
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]

#: the session fixtures of the end-to-end run on the real data (below); the tests that take one
#: of them live in tests/test_end_to_end.py, so that under ``make test``'s pytest-xdist
#: (``--dist loadfile``: a module's tests go to one worker) the run is made once
END_TO_END = ("built_project", "replicated")


#: The modules that take 10 s or more on the reference machine, longest first
#: (`pytest --durations=0`, summed per module): after the end-to-end module they are handed
#: out first, so that a worker is not left running a long module alone at the end.
LONG_MODULES = ("tests/test_curve.py", "tests/data/test_full_edition.py",
                "tests/analyses/test_chain.py", "tests/data/test_kosis_api.py",
                "tests/reporting/test_maps.py", "tests/analyses/test_loo.py",
                "tests/test_replicate.py")


def pytest_collection_modifyitems(config, items):
    """The tests of the end-to-end run (they take ``built_project`` or ``replicated``) are
    collected first, so that with ``make test``'s ``pytest -n 2 --dist loadfile
    --no-loadscope-reorder`` their long run starts at once on one worker while the other
    worker takes the rest, the :data:`LONG_MODULES` first; serially only the order changes
    (no test depends on it). They must all be in one module, else each worker would make the
    run again."""
    e2e = [item for item in items if any(name in item.fixturenames for name in END_TO_END)]
    modules = sorted({item.nodeid.split("::")[0] for item in e2e})
    if len(modules) > 1:
        raise pytest.UsageError(
            f"tests taking {' or '.join(END_TO_END)} are in {', '.join(modules)}: move them into "
            "tests/test_end_to_end.py (one pytest-xdist worker runs that module, so the "
            "end-to-end run is made once)")
    first = {id(item) for item in e2e}
    long_rank = {module: rank for rank, module in enumerate(LONG_MODULES)}

    def order(item):
        module = item.nodeid.split("::")[0]
        return (id(item) not in first, long_rank.get(module, len(LONG_MODULES)))

    items.sort(key=order)  # stable: the order is kept otherwise


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
def built_project(tmp_path_factory, data_mirror):
    """``(work folder, PanelBuild)``: a scratch copy of the project (specs, notebook sources,
    the committed curves and benchmark results) with the raw files acquired from the mirror
    and the panel built into ``data/processed``; shared by the session (``replicated`` runs
    the pipeline in it)."""
    from regrowth import acquire, panel

    work = tmp_path_factory.mktemp("project")
    for folder in ("specs", "notebooks"):
        shutil.copytree(PROJECT / folder, work / folder,
                        ignore=shutil.ignore_patterns("*.ipynb", ".ipynb_checkpoints"))
    # notebook 05 reads the committed `make curve` outputs and the committed size of the count
    # null curve's tests (benchmarks/results/montecarlo_count_null.json)
    for folder in (Path("results") / "curve", Path("benchmarks") / "results"):
        if (PROJECT / folder).is_dir():
            shutil.copytree(PROJECT / folder, work / folder)
    (work / "data" / "raw").mkdir(parents=True)
    shutil.copy(PROJECT / "data" / "raw" / "MANIFEST.toml", work / "data" / "raw" / "MANIFEST.toml")
    cwd = Path.cwd()
    os.chdir(work)
    try:
        acquire.fetch(mirror=data_mirror, allow_download=False)
        built = panel.build("data/raw", "data/processed")
    finally:
        os.chdir(cwd)
    return work, built


@pytest.fixture(scope="session")
def replicated(built_project):
    """``(work folder, PanelBuild, exit status)`` of the whole pipeline run once in
    ``built_project``: every specification fitted with the spec file's draws,
    tables/figures/estimates written, notebooks built from their sources and run. Tests only
    read its outputs; a test that needs another run makes its own (``few_draws_specs``).

    The run uses ONE BLAS thread. The committed results are written by ``make replicate`` on
    the 2-core reference machine, where OpenBLAS runs two, so the tests that compare this run
    with them (``tests/test_end_to_end.py``) also check, with the spec's full draws, that no
    number depends on the BLAS thread count."""
    from threadpoolctl import threadpool_limits

    from regrowth import replicate

    work, built = built_project
    cwd = Path.cwd()
    os.chdir(work)
    try:
        with threadpool_limits(limits=1, user_api="blas"):
            status = replicate.run(notebooks=True)
    finally:
        os.chdir(cwd)
    return work, built, status


#: every draw count of a spec file: ``reps = N`` / ``ri_reps = N`` (bootstrap lines, the chain,
#: the reform, estimator options such as fe_spj's and lsdvc's, the curves), ``permutations = N``
#: (randomization inference, Moran's I) and ``draws = N`` / ``null_draws = N`` (simulated
#: effects' SEs, the curves' null draws)
_DRAWS = re.compile(r"\b((?:(?:ri_)?reps|permutations|(?:null_)?draws)\s*=\s*)(\d+)")


@pytest.fixture
def few_draws_specs(tmp_path) -> Callable[[int], Path]:
    """``make(cap)``: a copy of ``specs/models.toml`` in ``tmp_path`` whose every draw count
    (``reps``, ``ri_reps``, ``permutations``, ``draws``, ``null_draws``) is at most ``cap``,
    everything else unchanged; for tests that run `replicate` to check what does not depend on
    the number of draws (thread counts, what a run writes where) without paying for the spec's
    9,999 bootstrap draws and 999 randomization refits."""

    def make(cap: int) -> Path:
        text = (PROJECT / "specs" / "models.toml").read_text(encoding="utf-8")
        capped, n = _DRAWS.subn(lambda m: m.group(1) + str(min(int(m.group(2)), cap)), text)
        assert n >= 5, f"specs/models.toml: expected the draw counts of its bootstraps, found {n}"
        path = tmp_path / f"models_reps{cap}.toml"
        path.write_text(capped, encoding="utf-8")
        return path

    return make
