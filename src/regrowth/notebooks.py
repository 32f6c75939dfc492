"""Notebooks: readable ``py:percent`` sources -> executed ``.ipynb`` files.

Each notebook is written as a jupytext ``py:percent`` file, ``notebooks/0N_name.py``: Markdown
cells are ``# %% [markdown]`` blocks of comments, code cells are ``# %%`` blocks of plain
Python, so the sources are reviewed, diffed and linted (``ruff``) like the package's code.
The ``.ipynb`` beside each source is generated from it and executed, so the committed
notebooks carry their outputs for readers on the web:

* :func:`build` reads a source with jupytext and returns the notebook with fixed metadata
  (kernel ``python3``, the jupytext pairing ``ipynb,py:percent``) and stable cell ids
  (``01-00``, ``01-01``, …), so a rebuild changes nothing that the source did not change;
* :func:`execute` runs it with nbclient on a kernel talking over local IPC sockets in a
  temporary folder (no TCP ports, hence no "running over TCP without encryption" warnings);
* :func:`run` does both for every source of a folder and writes each ``.ipynb`` atomically
  (``make notebooks``, ``regrowth notebooks``, and the last step of ``make replicate``),
  executing :data:`WORKERS` notebooks at once, each in its own kernel;
* :func:`drifted` lists the ``.ipynb`` files whose cells differ from their source (the test
  suite fails on any);
* :func:`reads` gives the tables a notebook declares it reads, in the jupytext header of its
  source (``regrowth: reads: [table1_innovation, ...]``, spec table ids; ``[]`` for one that
  reads no table, such as the curves notebook), so ``regrowth replicate --only TABLE``
  rebuilds only the notebooks that read TABLE (``run(..., tables=...)``). The header is
  metadata, not a cell: declaring it changes no ``.ipynb``.
* :func:`stale` lists the ``.ipynb`` files built from other results than the ones now in
  ``results/``: :func:`run` records in each notebook's metadata (``regrowth.results``) the
  ids (:func:`regrowth.report.reader.results_id`, a hash of the files, no time) of
  ``results/estimates.json`` and, for a notebook that reads them, ``results/curve/*.json``,
  so a run killed between the models and the notebooks (new results, old notebooks) is
  reported by ``regrowth notebooks --check`` instead of passing unnoticed.

Before executing, :func:`run` completes a commit of ``results/`` that a killed run left
half-done (:func:`regrowth.files.recover_for_reading`), so no notebook reads a mixed set.

Executed from the notebook folder, the notebooks find the project through
:func:`regrowth.report.reader.project_root`.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat

from regrowth.files import recover_for_reading, write_text
from regrowth.report import reader
import jupytext
from nbclient import NotebookClient
from traitlets.config import Config

__all__ = ["SOURCE_PATTERN", "WORKERS", "KERNEL_ENV", "sources", "build", "cells", "drifted",
           "stale", "results_ids", "execute", "reads", "run"]

#: Notebook sources: ``notebooks/<two digits>_<name>.py``.
SOURCE_PATTERN = "[0-9][0-9]_*.py"

#: Notebooks executed at once by :func:`run`, each in its own kernel. Three on the reference
#: machine's 2 cores: a kernel spends much of its time starting up and in round trips with
#: this process, when it uses no CPU, so two kernels left the cores idle about a third of
#: the time (`regrowth notebooks` on the six notebooks: 5.8-5.9 s wall with two, 5.0 s with
#: three, 5.4-5.5 s with four or six).
WORKERS = 3

#: Environment a notebook's kernel gets on top of this process's: one OpenBLAS thread.
#: :data:`WORKERS` kernels run at once, more than the reference machine's 2 cores, so more
#: threads per kernel would only wait for each other; and the numbers a notebook prints (its
#: own refits) then do not depend on the machine's thread count (:mod:`regrowth.threads`).
KERNEL_ENV = {"OPENBLAS_NUM_THREADS": "1"}

_METADATA = {
    "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
    "jupytext": {"formats": "ipynb,py:percent"},
}


def sources(folder: str | Path = "notebooks") -> list[Path]:
    """The ``py:percent`` notebook sources of ``folder``, in name order."""
    return sorted(Path(folder).glob(SOURCE_PATTERN))


def reads(source: str | Path) -> tuple[str, ...] | None:
    """The table ids the notebook source declares it reads (``regrowth: reads: [...]`` in its
    jupytext header), or None when it declares nothing (it is then built on every run)."""
    meta = jupytext.read(Path(source), fmt="py:percent").metadata.get("regrowth") or {}
    if "reads" not in meta:
        return None
    tables = meta["reads"] or []
    if isinstance(tables, str) or not all(isinstance(t, str) for t in tables):
        raise ValueError(f"{source}: the header's regrowth.reads must be a list of table ids, "
                         f"not {tables!r}")
    return tuple(tables)


def build(source: str | Path) -> nbformat.NotebookNode:
    """The notebook of a ``py:percent`` source, without outputs, with fixed metadata and
    stable cell ids ``<NN>-<index>``."""
    source = Path(source)
    nb = jupytext.read(source, fmt="py:percent")
    nb.metadata = nbformat.from_dict(_METADATA)
    prefix = source.name.split("_", 1)[0]
    for i, cell in enumerate(nb.cells):
        cell.id = f"{prefix}-{i:02d}"
        cell.metadata = nbformat.from_dict(
            {k: v for k, v in cell.metadata.items() if k == "tags"})
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    nbformat.validate(nb)
    return nb


def cells(nb: nbformat.NotebookNode) -> list[tuple[str, str]]:
    """``(cell type, source)`` of every cell: what must agree between source and notebook."""
    return [(c.cell_type, c.source) for c in nb.cells]


def drifted(folder: str | Path = "notebooks") -> list[str]:
    """Names of the ``.ipynb`` files that are missing or whose cells differ from their
    ``.py`` source, and of ``.ipynb`` files without a source."""
    folder = Path(folder)
    out = []
    srcs = sources(folder)
    for src in srcs:
        target = src.with_suffix(".ipynb")
        if not target.is_file() or cells(nbformat.read(target, as_version=4)) != cells(build(src)):
            out.append(target.name)
    stems = {s.stem for s in srcs}
    out += [p.name for p in sorted(folder.glob("*.ipynb")) if p.stem not in stems]
    return out


#: text in a notebook source that marks it as a reader of the specification curves
_READS_CURVES = ("load_curve", "results/curve", '"curve"')


def _results_dir(folder: Path) -> Path | None:
    try:
        return reader.project_root(folder) / "results"
    except FileNotFoundError:
        return None


def results_ids(results: str | Path, source: str | Path | None = None) -> dict[str, str]:
    """The ids of the results a notebook reads: ``{"estimates": …}`` and, if its ``source``
    reads the specification curves (or no source is given), ``"curves"``; each
    :func:`regrowth.report.reader.results_id` of those files (``""`` when absent)."""
    out = {"estimates": reader.results_id(results=results, patterns=("estimates.json",))}
    text = Path(source).read_text(encoding="utf-8") if source is not None else '"curve"'
    if any(mark in text for mark in _READS_CURVES):
        out["curves"] = reader.results_id(results=results, patterns=("curve/*.json",))
    return out


def stale(folder: str | Path = "notebooks", results: str | Path | None = None) -> list[str]:
    """One line for each ``.ipynb`` of ``folder`` built from other results than those now in
    ``results`` (default: the project's ``results/``): a run wrote new results after the
    notebook was built (or was killed before rebuilding it). Empty when all agree."""
    folder = Path(folder)
    results = Path(results) if results is not None else _results_dir(folder)
    if results is None:
        return []
    out = []
    for src in sources(folder):
        target = src.with_suffix(".ipynb")
        if not target.is_file():
            continue
        recorded = nbformat.read(target, as_version=4).metadata.get("regrowth", {}).get(
            "results", {})
        if not recorded:
            out.append(f"notebooks/{target.name} records no id of the results it was built "
                       "from (built by an older version); rebuild it with `regrowth notebooks` "
                       "(or `make notebooks`)")
            continue
        for what, now in results_ids(results, src).items():
            then = recorded.get(what)
            files = ("results/estimates.json" if what == "estimates"
                     else "results/curve/*.json")
            if then is None:
                out.append(f"notebooks/{target.name} records no id of the {files} it was built "
                           f"from (built by an older version); rebuild it with `regrowth "
                           f"notebooks` (or `make notebooks`)")
            elif then != now:
                out.append(f"notebooks/{target.name} was built from other results: {files} "
                           f"was {then or 'absent'} then, is {now or 'absent'} now (a later run "
                           "wrote new results, or a run was stopped before its notebooks); "
                           "rebuild it with `regrowth notebooks` (or `make notebooks`)")
    return out


def execute(nb: nbformat.NotebookNode, cwd: str | Path, timeout: int = 300) -> None:
    """Run every cell of ``nb`` in place, in a fresh ``python3`` kernel started in ``cwd``;
    raises nbclient's ``CellExecutionError`` naming the failing cell."""
    with tempfile.TemporaryDirectory(prefix="regrowth-kernel-") as tmp:
        config = Config()
        config.KernelManager.transport = "ipc"            # local sockets, not TCP ports
        config.KernelManager.ip = str(Path(tmp) / "ipc")
        config.KernelManager.connection_file = str(Path(tmp) / "kernel.json")
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3", config=config,
                                resources={"metadata": {"path": str(cwd)}},
                                record_timing=False,
                                # one stdout block per cell, however the kernel chunked it
                                coalesce_streams=True,
                                # every output is in hand once the last cell has run; a
                                # graceful shutdown sometimes found the kernel not exiting
                                # and waited jupyter_client's 2.5 s before its SIGTERM (one
                                # kernel in about 12 here, 4.0 s instead of 0.6 s for an
                                # empty notebook), so the kernel is stopped at once
                                shutdown_kernel="immediate")
        # starts the kernel, runs every cell, shuts the kernel down; the kernel gets one
        # OpenBLAS thread (:data:`KERNEL_ENV`)
        client.execute(env={**os.environ, **KERNEL_ENV})
    nb.metadata.pop("widgets", None)
    nb.metadata.pop("papermill", None)


def run(folder: str | Path = "notebooks", timeout: int = 300, *,
        quiet: bool = False, tables: Sequence[str] | None = None,
        workers: int = WORKERS) -> dict[str, str]:
    """Build every source of ``folder`` into its ``.ipynb``, execute it and write it
    (atomically); return ``{notebook name: error}`` for the ones that failed (their previous
    ``.ipynb`` is left in place). Prints one line per notebook, in name order.

    ``tables``: build only the notebooks that declare reading one of these table ids (and
    those that declare nothing, :func:`reads`); None builds every notebook.

    ``workers``: notebooks executed at once (default :data:`WORKERS`), each in its own kernel
    process; a notebook's cells still run one after another in its kernel, and every notebook
    reads ``results/`` and writes only its own ``.ipynb``, so its outputs are the same bytes
    whatever the number. The lines and the files are written in name order once all ran."""
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a positive integer, not {workers!r}")
    folder = Path(folder)
    failures: dict[str, str] = {}
    results = _results_dir(folder)
    if results is not None:  # never run a notebook on a half-published set
        recover_for_reading(results)
        recover_for_reading(results / "curve", command="regrowth curve")
    todo = []
    for src in sources(folder):
        target = src.with_suffix(".ipynb")
        declared = reads(src) if tables is not None else None
        if declared is not None and not set(declared) & set(tables):
            if not quiet:
                print(f"  notebooks/{target.name}: not rebuilt (reads "
                      f"{', '.join(declared) or 'no table'}; asked for {', '.join(tables)})")
            continue
        todo.append((src, target, build(src)))

    def one(job):
        src, target, nb = job
        t0 = time.perf_counter()
        try:
            execute(nb, folder, timeout)
        except Exception as exc:  # report, keep going with the other notebooks
            return exc, time.perf_counter() - t0
        return None, time.perf_counter() - t0

    if workers == 1 or len(todo) < 2:
        outcomes = [one(job) for job in todo]
    else:
        with ThreadPoolExecutor(max_workers=min(workers, len(todo)),
                                thread_name_prefix="regrowth-notebook") as pool:
            outcomes = list(pool.map(one, todo))
    for (src, target, nb), (exc, seconds) in zip(todo, outcomes):
        if exc is not None:
            text = str(exc).strip().splitlines()
            failures[target.name] = f"{type(exc).__name__}: {text[-1] if text else ''}"
            if not quiet:
                print(f"  notebooks/{target.name}: FAILED ({failures[target.name]})",
                      file=sys.stderr)
            continue
        ids = results_ids(results, src) if results is not None else None
        if ids is not None:  # the results it read (no time: a rebuild changes nothing)
            nb.metadata["regrowth"] = {"results": ids}
        write_text(target, nbformat.writes(nb) + "\n")
        if not quiet:
            print(f"  notebooks/{target.name}: built from {src.name} and executed "
                  f"[{seconds:.1f}s]")
    return failures
