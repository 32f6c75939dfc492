"""``make replicate``: panel -> every specification -> tables, figures, estimates, notebooks.

Steps, in order (progress is printed for each):

1. load ``data/processed/panel.parquet`` (``make panel`` builds it);
2. load ``specs/models.toml`` (strictly: :mod:`regrowth.specs`, and every table's analyses
   settings: :func:`regrowth.analyses.check`) and check every column
   against the panel *before fitting or writing anything*: any problem (a variable the
   panel lacks, with the KOSIS table that would supply it; a non-0/1 ``drop_if``; an
   unknown ``--only`` table; an empty sample; a bootstrap with fewer than 2 clusters)
   refuses the whole run with a ``SpecificationError``;
3. fit each column with :func:`regrowth.fit.fit_column` (a failure is reported with the
   column's name and the run goes on with the others), then run the analyses each table
   declares (:mod:`regrowth.analyses`: bootstrap lines first, then their own outputs; a
   failed bootstrap is named in the log and the table notes, and the run exits 1);
4. write ``results/tables/<table>.{md,tex,html,csv,docx}``, ``results/figures/*.png``,
   ``results/estimates.json`` (every number of every table at full precision) and the
   descriptive tables (:mod:`regrowth.outputs`) and the analyses' outputs as one transaction
   (:class:`regrowth.files.Transaction`: staged,
   then published all at once; a kill -9 leaves the old or the new set; files the package
   did not write are never deleted; a table with a failed column keeps its last good
   outputs; a second run waits for the first);
5. build each notebook ``notebooks/0N_name.ipynb`` from its jupytext source
   ``notebooks/0N_name.py`` and execute it (nbclient), so the committed notebooks carry the
   outputs of the last run.

Exit status 0 if every spec was fitted and every notebook ran, 1 otherwise.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np

from regrowth import analyses, curve, files, names
from regrowth import notebooks as notebook_runner
from regrowth import panel as panel_mod
from regrowth import specs as specs_mod
from regrowth.analyses.bootstrap import check_clusters
from regrowth.errors import RegrowthError, SpecificationError
from regrowth.files import jsonable, write_text
from regrowth.fit import (Fitted, estimation_sample, fit_column, macro_fit_panel, panel_for,
                          with_region_attributes)
from regrowth.outputs import (
    estimates_record,
    figure_jobs,
    panel_figure_jobs,
    table_files,
    write_descriptives,
    write_tables,
)
from regrowth.report.notes import full_edition_coverage
from regrowth.specs import Specs
from regrowth.background import Jobs, background
from regrowth.threads import one_blas_thread

__all__ = ["run", "RESULTS"]

RESULTS = Path("results")

#: what the analyses may fail with without stopping the run (reported, and the run exits 1)
_ANALYSIS_ERRORS = (RegrowthError, ValueError, np.linalg.LinAlgError, RuntimeError)


def _check_only(spec: Specs, only: list[str] | None) -> list[str] | None:
    """The table ids ``only`` names, by the rule of :mod:`regrowth.names` (an id or a unique
    prefix: ``table2`` -> ``table2_growth``); an unknown or ambiguous name refuses the run."""
    if not only:
        return None
    return names.resolve_all(only, spec.table_ids(), what="table", option="--only",
                             where=str(spec.path), error=SpecificationError)


def _fit_all(todo, panel, failed: dict, macro=None) -> dict[str, Fitted]:
    fitted: dict[str, Fitted] = {}
    print(f"replicate: fitting {len(todo)} specifications")
    for i, col in enumerate(todo, 1):
        t = time.perf_counter()
        try:
            fitted[col.name] = fit_column(col, panel_for(col, panel, macro))
        except (RegrowthError, ValueError, np.linalg.LinAlgError, RuntimeError) as exc:
            failed[col.name] = f"{type(exc).__name__}: {exc}"
            print(f"  [{i}/{len(todo)}] {col.name}: FAILED: {exc}", file=sys.stderr)
            if not isinstance(exc, RegrowthError):  # an unexpected failure: show where
                traceback.print_exc(limit=3, file=sys.stderr)
            continue
        f = fitted[col.name]
        note = f" ({len(f.warnings)} warning(s))" if f.warnings else ""
        llf = f.stats.get("llf")  # absent or NaN where the estimator has no likelihood (FGLS)
        llf = f", llf={llf:.3f}" if isinstance(llf, (int, float)) and math.isfinite(llf) else ""
        print(f"  [{i}/{len(todo)}] {col.name}: N={f.stats['nobs']}{llf}{note} "
              f"[{time.perf_counter() - t:.2f}s]")
        for w in f.warnings:
            print(f"      {w}")
    return fitted


def _kept_tables(spec: Specs, failed: dict, only, out: Path, previous: dict) -> set[str]:
    """Tables whose last good outputs stay: not asked for (``only``), or with a failed column
    and outputs from an earlier run."""
    keep = set()
    for table in spec.tables:
        if only and table.id not in only:
            keep.add(table.id)
        elif any(c.name in failed for c in table.columns) and \
                (out / "tables" / f"{table.id}.md").is_file() and table.id in previous:
            keep.add(table.id)
            print(f"  {table.id}: a column failed; keeping the table's last good outputs",
                  file=sys.stderr)
    return keep


def _merge(record: dict, entries: dict) -> None:
    for key, value in entries.items():
        if isinstance(value, dict) and isinstance(record.get(key), dict):
            record[key].update(value)
        else:
            record[key] = value


def _analysis_result(ctx: analyses.Context, table, analysis, settings) -> tuple[str, Any]:
    """``("ok", record)`` or ``("failed", (reason, message))`` of one analysis (picklable:
    outputs-stage analyses may run in the background, :func:`_outputs_jobs`)."""
    try:
        return "ok", analysis.run(ctx, table, settings).record
    except _ANALYSIS_ERRORS as exc:
        return "failed", (f"{type(exc).__name__}: {exc}", str(exc))


def _declared_live(ctx: analyses.Context, stage: str, keep: set) -> list[tuple]:
    """(table, analysis, settings) of every declared analysis of ``stage`` of the tables not
    in ``keep``, in table order."""
    return [(table, analysis, settings) for table in ctx.specs.tables if table.id not in keep
            for analysis, settings in analyses.declared(ctx.specs, table, stage)]


def _live_analyses(ctx: analyses.Context, stage: str, keep: set) -> list[tuple[str, Any]]:
    """Run every declared analysis of ``stage`` of the tables not in ``keep``, in table
    order; returns one :func:`_analysis_result` per analysis."""
    return [_analysis_result(ctx, *todo) for todo in _declared_live(ctx, stage, keep)]


def _run_analyses(ctx: analyses.Context, stage: str, keep: set, tx, previous_all: dict,
                  failed: dict, done: list | None = None) -> dict:
    """Run every declared analysis of ``stage`` (or take their results from ``done``, what
    :func:`_live_analyses` returned); a kept table keeps its analyses' files and
    ``estimates.json`` entries from the last run. Returns the entries to add, merged in
    table order."""
    results = iter(done if done is not None else _live_analyses(ctx, stage, keep))
    entries: dict = {}
    for table in ctx.specs.tables:
        for analysis, settings in analyses.declared(ctx.specs, table, stage):
            if table.id in keep:
                for rel in analysis.files(table, settings):
                    if (tx.root / rel).is_file():
                        tx.keep(rel)
                for key in analysis.record_keys:
                    old = previous_all.get(key)
                    if isinstance(old, dict) and table.id in old:
                        _merge(entries, {key: {table.id: old[table.id]}})
                    elif old is not None:
                        _merge(entries, {key: old})
                continue
            status, value = next(results)
            if status == "ok":
                _merge(entries, value)
            else:
                name = f"{table.id}:{analysis.name}"
                failed[name] = value[0]
                print(f"  {name}: FAILED: {value[1]}", file=sys.stderr)
    return entries


def _previous(out: Path) -> dict:
    path = out / "estimates.json"
    if path.is_file():
        with contextlib.suppress(ValueError):
            return json.loads(path.read_text(encoding="utf-8"))
    return {}


@dataclasses.dataclass
class _Plan:
    """What a run publishes: the tables kept from the last run and the live specs."""
    keep: set
    live: Specs
    previous_all: dict


def _plan_outputs(tx, spec, failed: dict, only) -> _Plan:
    """A table with a failed column keeps its last good outputs (files and estimates.json
    entry) when it has any; a partial run (``only``) leaves the other tables alone. Decided
    once the columns are fitted (an analysis's failure does not keep a table)."""
    previous_all = _previous(tx.root)
    keep = _kept_tables(spec, failed, only, tx.root, previous_all.get("tables", {}))
    for tid in keep:
        for rel in table_files(tid):
            tx.keep(rel)
    live = dataclasses.replace(spec, tables=tuple(t for t in spec.tables if t.id not in keep))
    return _Plan(keep, live, previous_all)


def _outputs_jobs(plan: _Plan, ctx: analyses.Context):
    """The outputs-stage analyses and the coefficient plots as independent jobs, analyses
    first: ``(todo, figs)``, :func:`_declared_live` and :func:`regrowth.outputs.figure_jobs`
    (the panel figures are :class:`_Early`'s). Job i is analysis i for i < len(todo), else
    figure i - len(todo)."""
    return (_declared_live(ctx, "outputs", plan.keep),
            figure_jobs(plan.live, ctx.fitted, ctx.panel, ctx.out, ctx.labels,
                        panel_figures=False))


class _Early:
    """The panel figures (:func:`regrowth.outputs.panel_figure_jobs`: they read the panel
    alone) as jobs a first background process starts on while this one fits the columns;
    whichever process is free later takes what is left (:meth:`drain`)."""

    def __init__(self, spec, panel, out: Path):
        self.figs = panel_figure_jobs(spec, panel, out)
        self.jobs = Jobs(len(self.figs))

    def drain(self) -> None:
        for i in self.jobs:
            self.figs[i]()


def _do_jobs(jobs: Jobs, todo: list, figs: list, ctx: analyses.Context,
             early: _Early | None = None) -> dict:
    """Do the jobs ``jobs`` hands this process, then the panel figures ``early`` has left;
    returns ``{i: result}`` of the analyses among them (:func:`_analysis_result`)."""
    done = {}
    for i in jobs:
        if i < len(todo):
            done[i] = _analysis_result(ctx, *todo[i])
        else:
            figs[i - len(todo)]()
    if early is not None:
        early.drain()
    return done


def _outputs_context(ctx: analyses.Context) -> analyses.Context:
    """``ctx`` with each fitted column's ``extra`` and ``warnings`` copied: the outputs-stage
    analyses read the columns as they were fitted, in whichever process they run, however
    far the columns-stage analyses (which add to those two) have got in this one."""
    fitted = {k: dataclasses.replace(f, extra=dict(f.extra), warnings=list(f.warnings))
              for k, f in ctx.fitted.items()}
    return dataclasses.replace(ctx, fitted=fitted)


def _stage_outputs(tx, ctx: analyses.Context, failed: dict, only, skipped=None,
                   early: _Early | None = None) -> None:
    """Write every output of the run into the transaction's staging folder, in two
    processes: a forked child (:func:`regrowth.background.background`) starts on the jobs of
    the outputs stage (the outputs-stage analyses and the figures: neither reads what the
    columns-stage analyses add to the fitted columns), while this process runs the
    columns-stage analyses (bootstrap lines, randomization inference: they add to the fitted
    columns, which the tables and ``estimates.json`` read), the tables and the descriptive
    tables, then takes its share of the jobs left (:class:`regrowth.background.Jobs`: each
    job once, by whichever process is free first); both also take the panel figures
    ``early`` (:class:`_Early`) has left.

    A table with a failed column keeps its last good outputs (files and estimates.json
    entry) when it has any; a partial run (``only``) leaves the other tables alone.
    """
    spec = ctx.specs
    plan = _plan_outputs(tx, spec, failed, only)
    octx = _outputs_context(ctx)
    todo, figs = _outputs_jobs(plan, octx)
    jobs = Jobs(len(todo) + len(figs))
    with background(_do_jobs, jobs, todo, figs, octx, early) as job:
        _run_analyses(ctx, "columns", set(), tx, {}, failed)
        write_tables(plan.live, ctx.fitted, tx.dir, ctx.labels,
                     ctx.panel.attrs.get("full_edition"), skipped=skipped)
        write_descriptives(ctx.panel, spec, tx.dir, ctx.labels)
        here = _do_jobs(jobs, todo, figs, octx, early)
    done = {**job.result, **here}
    top = _run_analyses(ctx, "outputs", plan.keep, tx, plan.previous_all, failed,
                        done=[done[i] for i in range(len(todo))])
    previous = plan.previous_all.get("tables", {})
    record = estimates_record(spec, ctx.fitted, failed, skipped)
    record["tables"] = {t: (previous[t] if t in plan.keep and t in previous else entry)
                        for t, entry in record["tables"].items()}
    record.update(jsonable(top))
    write_text(tx.dir / "estimates.json", json.dumps(record, indent=1, ensure_ascii=False) + "\n")


def _load_checked(specs, processed_dir, only):
    """Specs, panel and labels, every check done before anything is fitted or written."""
    spec = specs_mod.load(specs)
    analyses.check(spec)
    only = _check_only(spec, only)
    files.recover(processed_dir)  # complete an interrupted `regrowth panel` before reading
    panel = with_region_attributes(panel_mod.load(processed_dir))
    panel.attrs["full_edition"] = full_edition_coverage(processed_dir)  # for the table notes
    # the macro-region (권역) panel, read only when a table's rows are macro-regions
    macro = None
    if any(t.unit == "macro_region" for t in spec.tables):
        macro_path = Path(processed_dir) / "macro_panel.parquet"
        macro = macro_fit_panel(panel_mod.load_macro(processed_dir)) if macro_path.is_file() else None
    # full-edition columns without their KOSIS tables are skipped with the command that
    # fetches them; every other problem stops the run before anything is fitted
    gaps = specs_mod.full_edition_gaps(spec, panel)
    specs_mod.check(spec, panel, macro, skip=gaps)
    analyses.check_panel(spec, list(panel.columns) + list(panel.index.names), only)
    curve.validate(list(spec.curve), list(panel.columns) + list(panel.index.names))
    todo = [c for c in spec.columns() if (not only or c.table in only) and c.name not in gaps]
    skipped = {name: full_edition_message(tables) for name, tables in gaps.items()
               if not only or name.split("/")[0] in only}
    for name, message in skipped.items():
        print(f"replicate: {name} not run: {message}", file=sys.stderr)
    empty = [c for c in todo if estimation_sample(c, panel_for(c, panel, macro))[0].empty]
    if empty:
        raise SpecificationError("\n".join(
            f"{spec.path}: table {c.table!r}, column {c.id!r}: key 'sample': no observations "
            f"in {c.sample.describe()} with {', '.join(c.variables())} all observed; nothing "
            "was fitted or written" for c in empty))
    few = check_clusters(todo, panel, spec.path, macro)   # a bootstrap needs >= 2 clusters
    if few:
        raise SpecificationError("\n".join(few))
    return spec, panel, macro, todo, skipped, only


def full_edition_message(tables) -> str:
    """What a full-edition column without its KOSIS tables says (tables, the command)."""
    ids = " ".join(f"--table {t}" for t in tables)
    return (f"needs the full edition (KOSIS {', '.join(tables)}): set KOSIS_API_KEY and run "
            f"`regrowth data kosis {ids}` (or `make data EDITION=full`), then `make replicate`")


def run(specs: str | Path = "specs/models.toml", processed_dir: str | Path = "data/processed",
        results_dir: str | Path = RESULTS, notebooks: bool = True, only: list[str] | None = None,
        chain_reps: int | None = None, backend: str | None = None, workers: int | None = None,
        scheduler: str | None = None) -> int:
    """Fit every specification and write every output; return the exit status.

    ``chain_reps``: bootstrap draws of the two-stage chain (default: the spec's; fewer only for
    quick tests). ``backend`` (serial, processes, dask; default ``$REGROWTH_BACKEND``, else
    serial), ``workers`` and ``scheduler``: where the analyses that split their draws run
    them (the randomization tests), as ``regrowth curve --backend``; the outputs are the same
    on every backend."""
    backend = backend or os.environ.get("REGROWTH_BACKEND") or "serial"
    if backend not in curve.BACKENDS:
        raise SpecificationError(f"backend {backend!r} ($REGROWTH_BACKEND or --backend): "
                                 f"choose one of {', '.join(curve.BACKENDS)}")
    t0 = time.perf_counter()
    out = Path(results_dir)
    spec, panel, macro, todo, skipped, only = _load_checked(specs, processed_dir, only)
    failed: dict[str, str] = {}
    # lock, recover, clean leftovers and check that out/ is writable -- before fitting
    # one BLAS thread per process (the forked ones inherit it): the two processes of a run
    # already use both cores of the reference machine, and OpenBLAS's own threads then only
    # wait for each other (warm run: 47 s of CPU with two threads, 43 s with one)
    with files.Transaction(out, prune=only is None) as tx, one_blas_thread():
        early = _Early(spec, panel, tx.dir)  # the panel figures, drawn while the columns fit
        with background(early.drain):
            fitted = _fit_all(todo, panel, failed, macro)
            ctx = analyses.Context(spec, panel, fitted, dict(spec.labels), tx.dir,
                                   {"chain": chain_reps} if chain_reps is not None else {},
                                   macro=macro, backend={"backend": backend, "workers": workers,
                                                         "scheduler": scheduler})
            _stage_outputs(tx, ctx, failed, only, skipped, early)
    print(f"replicate: {len(tx.installed)} file(s) changed, {len(tx.deleted)} stale file(s) "
          f"removed under {out}/")
    for rel in tx.deleted:
        print(f"  removed stale {out / rel}")
    nb_failures = {}
    if notebooks and Path("notebooks").is_dir():
        nb_failures = execute_notebooks(Path("notebooks"), tables=only)
        for name, err in nb_failures.items():
            print(f"regrowth: notebook {name} failed: {err}", file=sys.stderr)
    n_failed = sum(1 for k in failed if ":" not in k)
    print(f"replicate: done in {time.perf_counter() - t0:.1f}s; {len(fitted)} fitted, "
          f"{n_failed} failed, {len(nb_failures)} notebook failure(s)")
    if failed:
        print("failed: " + ", ".join(sorted(failed)), file=sys.stderr)
    return 1 if failed or nb_failures else 0


def execute_notebooks(folder: Path, timeout: int = 300,
                      tables: list[str] | None = None) -> dict[str, str]:
    """Build every notebook of ``folder`` from its ``py:percent`` source (only those reading
    one of ``tables``, if given), execute it and write the ``.ipynb``
    (:func:`regrowth.notebooks.run`); return {name: error} for failures."""
    return notebook_runner.run(folder, timeout, tables=tables)
