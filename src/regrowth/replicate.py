"""``make replicate``: panel -> every specification -> tables, figures, estimates, notebooks.

Steps, in order (progress is printed for each):

1. load ``data/processed/panel.parquet`` (``make panel`` builds it);
2. load ``specs/models.toml`` (strictly: :mod:`regrowth.specs`) and check every column
   against the panel *before fitting or writing anything*: any problem (a variable the
   panel lacks, with the KOSIS table that would supply it; a non-0/1 ``drop_if``; an
   unknown ``--only`` table) refuses the whole run with a ``SpecificationError``;
3. fit each column through its estimator's registry entry
   (:mod:`regrowth.models.registry`; a failure is reported with the column's name and the
   run goes on with the others). "Year effects"/"Province effects" rows and the
   ``effects`` record of ``estimates.json`` are read from the fitted model's terms;
4. write ``results/tables/<table>.{md,tex,html,csv}``, ``results/figures/*.png``,
   ``results/estimates.json`` (every number of every table at full precision) and
   ``results/descriptives.*`` as one transaction (:class:`regrowth.io.Transaction`: staged,
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
import re
import sys
import time
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from regrowth import io
from regrowth import panel as panel_mod
from regrowth import specs as specs_mod
from regrowth.errors import RegrowthError, SpecificationError
from regrowth.io import jsonable, write_text
from regrowth.models import registry
from regrowth.models.design import fitted_effects, year_dummies  # noqa: F401 (re-export)
from regrowth.specs import ColumnSpec, Specs

RESULTS = Path("results")


@dataclass
class Fitted:
    """One fitted column: its spec, the estimator's result, tidy rows and statistics."""

    spec: ColumnSpec
    result: object
    coefs: pd.DataFrame
    stats: dict
    warnings: list[str] = field(default_factory=list)
    extra: dict = field(default_factory=dict)


# ----------------------------------------------------------------------------- data

def estimation_sample(spec: ColumnSpec, panel: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Rows of ``panel`` in the spec's years and provinces with every variable observed.

    Returns the sample (same (region, year) index) and how many rows of the year/province
    window were dropped for missing values (listwise, across all the model's variables).
    """
    s = spec.sample
    years = panel.index.get_level_values("year")
    regions = panel.index.get_level_values("region")
    keep = (years >= s.first_year) & (years <= s.last_year) & ~regions.isin(list(s.exclude))
    for flag in s.drop_if:
        keep &= panel[flag].to_numpy() != 1
    window = panel.loc[keep]
    cols = [v for v in spec.variables() if v not in panel_mod.INDEX]
    complete = window[cols].notna().all(axis=1)
    return window.loc[complete].copy(), int((~complete).sum())


def with_region_attributes(panel: pd.DataFrame) -> pd.DataFrame:
    """``panel`` with ``macro_region`` (and ``capital_region``) from :mod:`regrowth.regions`
    when it lacks them, so ``se.groups = "macro_region"`` always has its column."""
    from regrowth import regions

    missing = [c for c in ("macro_region", "capital_region") if c not in panel.columns]
    if not missing:
        return panel
    keys = panel.index.get_level_values("region")
    panel = panel.copy()
    if "macro_region" in missing:
        panel["macro_region"] = [regions.get(k).macro_region for k in keys]
    if "capital_region" in missing:
        panel["capital_region"] = [int(regions.get(k).capital_region) for k in keys]
    return panel


# ----------------------------------------------------------------------------- fitting

def fit_column(spec: ColumnSpec, panel: pd.DataFrame) -> Fitted:
    """Fit one specification on its estimation sample; return tidy output and statistics."""
    from regrowth.tidy import glance, tidy

    data, dropped = estimation_sample(spec, panel)
    if data.empty:
        raise SpecificationError(f"{spec.name}: no observations in {spec.sample.describe()} "
                                 f"with {', '.join(spec.variables())} all observed")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = registry.get(spec.estimator).fit(spec, data)
    messages = sorted({f"{w.category.__name__}: {w.message}" for w in caught
                       if not issubclass(w.category, (DeprecationWarning, FutureWarning))})
    coefs = tidy(result)
    stats = glance(result)
    effects = fitted_effects(result, coefs["term"])
    years = data.index.get_level_values("year")
    regions = data.index.get_level_values("region")
    stats.update({
        "nobs": int(len(data)),
        "n_entities": int(regions.nunique()),
        "sample": f"{int(years.min())}–{int(years.max())}",
        "estimator": registry.get(spec.estimator).label,
        "se": spec.se_label(),
        "inference": _inference_label(result, spec, regions),
        "dropped_missing": dropped,
        # read from the fitted model's terms, never from the spec
        "year_effects": "yes" if effects["year"] else "no",
        "province_effects": "yes" if effects["province"] else "no",
    })
    extra = {"effects": effects}
    if spec.estimator == "gnb":
        extra.update(_gnb_extras(result))
        stats.update({k: v for k, v in extra.items() if k.startswith("lr_")})
    if spec.estimator in ("fgls", "pcse"):
        rho = getattr(result, "rho", None)
        if rho is not None:
            rho = np.atleast_1d(np.asarray(rho, dtype=float))
            stats["rho"] = float(rho[0]) if rho.size == 1 else None
            extra["rho"] = [float(r) for r in rho]
    return Fitted(spec, result, coefs, stats, messages, extra)


def _inference_label(result, spec: ColumnSpec, regions) -> str:
    from regrowth.inference.reporting import inference_label

    clustered = spec.se_type == "cluster"
    G = int(regions.nunique()) if clustered and spec.se_groups == "region" else None
    return inference_label(result, G)


def _gnb_extras(result) -> dict:
    out = {}
    for name, fn in (("nb2", "lr_test_nb2"), ("poisson", "lr_test_poisson")):
        try:
            t = getattr(result, fn)()
        except Exception as exc:  # a failed auxiliary fit must not sink the main one
            out[f"lr_{name}_error"] = str(exc)
            continue
        out[f"lr_{name}_stat"] = float(t.statistic)
        out[f"lr_{name}_df"] = int(t.df)
        out[f"lr_{name}_p"] = float(t.pvalue)
    return out


# ----------------------------------------------------------------------------- output

def estimates_record(specs: Specs, fitted: dict[str, Fitted], failed: dict[str, str]) -> dict:
    """Everything the tables show, at full precision, keyed table -> column."""
    tables = {}
    for table in specs.tables:
        cols = {}
        for col in table.columns:
            if col.name in fitted:
                f = fitted[col.name]
                cols[col.id] = {
                    "label": col.label, "title": col.title, "estimator": col.estimator,
                    "outcome": col.outcome, "regressors": list(col.regressors),
                    "dispersion": list(col.dispersion), "exposure": col.exposure,
                    "year_effects": col.year_effects,
                    "province_effects": col.province_effects,
                    "effects": f.extra.get("effects"), "sample": col.sample.describe(),
                    "se_type": col.se_type, "se_groups": col.se_groups, "options": col.options,
                    "rationale": col.rationale,
                    "coefficients": f.coefs.to_dict(orient="records"),
                    "stats": f.stats,
                    "extra": {k: v for k, v in f.extra.items() if k != "effects"},
                    "warnings": f.warnings,
                }
            else:
                cols[col.id] = {"label": col.label, "title": col.title,
                                "error": failed.get(col.name, "not run")}
        tables[table.id] = {"title": table.title, "notes": list(table.notes), "columns": cols}
    return jsonable({"edition": specs.edition, "edition_summary": specs.summary,
                      "specs": specs.path, "tables": tables})


def full_edition_coverage(processed_dir: str | Path) -> dict[str, str]:
    """``{variable: note}`` for the panel variables read from a full-edition KOSIS download,
    from the codebook's ``notes`` column (``full edition: kosis/<file>, <n> provinces,
    <first>-<last> ...``); empty when the codebook is absent or names none."""
    path = Path(processed_dir) / "codebook.csv"
    if not path.is_file():
        return {}
    try:
        book = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (ValueError, OSError):
        return {}
    if not {"name", "notes"} <= set(book.columns):
        return {}
    out = {}
    for name, notes in zip(book["name"], book["notes"]):
        found = [n.strip() for n in str(notes).split(";") if "full edition" in n]
        if found:
            out[name] = found[0][0].upper() + found[0][1:]
    return out


def coverage_notes(table, coverage: dict[str, str]) -> list[str]:
    """One note per full-edition variable a table's columns use: what was read (file,
    provinces, years), so the table says its coverage."""
    notes = []
    for name in dict.fromkeys(v for c in table.columns for v in c.variables()):
        if name in coverage and coverage[name] not in notes:
            notes.append(f"{name}: {coverage[name]}.")
    return notes


def warning_notes(table, fitted: dict) -> list[str]:
    """One note per warning a column's fit raised (no finite maximum, no convergence, ...),
    so a table never shows such estimates as if they were clean; each names the column."""
    notes = []
    for c in table.columns:
        for w in getattr(fitted.get(c.name), "warnings", None) or ():
            first = re.split(r"(?<=[.;])\s", str(w), maxsplit=1)[0]
            notes.append(f"Column {c.label} ({c.id}): {first}")
    return notes


def write_tables(specs: Specs, fitted: dict[str, Fitted], out: Path, labels: dict,
                 coverage: dict[str, str] | None = None) -> list[Path]:
    from regrowth.inference.reporting import table_note, term_lines
    from regrowth.tables import TableColumn, regression_table

    written = []
    for table in specs.tables:
        columns = [TableColumn(c.label, c.title, fitted[c.name].coefs, fitted[c.name].stats,
                               term_lines(fitted[c.name].extra))
                   for c in table.columns if c.name in fitted]
        if not columns:
            continue
        notes = list(table.notes) + [specs.summary]
        boot_note = table_note([fitted[c.name].extra for c in table.columns if c.name in fitted])
        if boot_note:
            notes.append(boot_note)
        notes += coverage_notes(table, coverage or {})
        notes += warning_notes(table, fitted)
        missing = [c.label for c in table.columns if c.name not in fitted]
        if missing:
            notes.append(f"Column(s) {', '.join(missing)} failed to fit in this run; see the log.")
        stat_rows = [("nobs", "N"), ("n_entities", "Provinces"), ("sample", "Sample years"),
                     ("year_effects", "Year effects"), ("province_effects", "Province effects"),
                     ("llf", "Log likelihood"), ("aic", "AIC"),
                     ("rho", "AR(1) rho"), ("lr_nb2_stat", "LR test vs NB2 (chi2)"),
                     ("lr_nb2_p", "  p-value"), ("estimator", "Estimator"), ("se", "Standard errors"),
                     ("inference", "Reference distribution")]
        tab = regression_table(columns, title=table.title, notes=notes, var_labels=labels,
                               stat_rows=stat_rows, drop=("year_*", "province_*"))
        paths = tab.write(out / "tables" / table.id)
        written += list(paths.values())
    return written


def write_figures(specs: Specs, fitted: dict[str, Fitted], panel: pd.DataFrame, out: Path,
                  labels: dict) -> list[Path]:
    from regrowth import figures

    written = []
    for table in specs.tables:
        frames = {f"{c.label} {c.title}": fitted[c.name].coefs
                  for c in table.columns if c.name in fitted}
        if frames:
            terms = list(dict.fromkeys(t for c in table.columns if c.name in fitted
                                       for t in c.regressors))
            path = out / "figures" / f"{table.id}_coefficients.png"
            figures.coefficient_plot(frames, terms, path=path, var_labels=labels,
                                     title=table.title, source=FIGURE_SOURCES["coefficients"])
            written.append(path)
    for var, label, kind in (
            ("patents_fintech", "Fintech patent applications (count, log scale)", "log"),
            ("fiscal_self_reliance", "Fiscal self-reliance ratio (%)", "lines"),
            ("grdp_pc_real_growth", "Real per-capita GRDP growth (%)", "lines"),
            ("patents_pm_macro", "All-field patents per million residents", "macro")):
        if var in panel:
            path = out / "figures" / f"province_{var}.png"
            if kind == "macro":
                figures.macro_region_lines(panel, var, path, label=label,
                                           source=FIGURE_SOURCES[var])
            else:
                figures.province_lines(panel, var, path, label=label, log=kind == "log",
                                       highlight=("seoul", "gyeonggi", "daejeon", "busan", "jeju"),
                                       source=FIGURE_SOURCES[var])
            written.append(path)
    from regrowth.loo import write_loo_figures  # leave-one-province-out, headline columns

    written += write_loo_figures(specs, panel, out, labels, fitted=fitted)
    return written


#: Source lines printed under each figure (see regrowth.figures.source_note).
FIGURE_SOURCES = {
    "coefficients": "Source: regrowth estimates of specs/models.toml on the public-edition panel; "
                    "95% intervals from each column's standard errors (see the table notes).",
    "patents_fintech": "Source: KIPRIS fintech (G06Q) application records, by first applicant's "
                       "province and application year. Applications are published about 18 "
                       "months after filing: 2022-23 are incomplete and dropped, and 2021 is "
                       "probably undercounted.",
    "fiscal_self_reliance": "Source: Ministry of the Interior and Safety via KOSIS (DT_1YL20921), "
                            "old revenue classification.",
    "grdp_pc_real_growth": "Source: real per-capita GRDP (2009 won), GCAM-Korea from KOSIS; "
                           "16 provinces (no Sejong). The 1998 fall is the Asian financial crisis.",
    "patents_pm_macro": "Source: Statistics Korea regional indicator 2-2-1 (KIPO, KOSIS "
                        "DT_1YL202109E), published for the 7 macro-regions only; each province "
                        "is given its macro-region's value.",
}


def write_descriptives(panel: pd.DataFrame, specs: Specs, out: Path, labels: dict) -> list[Path]:
    from regrowth.tables import descriptive_table

    written, seen = [], set()
    for table in specs.tables:
        col = table.columns[0]
        data, _ = estimation_sample(col, panel)
        variables = [v for v in col.variables() if v in data and v not in panel_mod.INDEX
                     and pd.api.types.is_numeric_dtype(data[v])]  # not text cluster ids
        key = (col.sample, tuple(variables))
        if key in seen:  # the same sample and variables as an earlier table: one table is enough
            continue
        seen.add(key)
        tab = descriptive_table(data, variables, labels,
                                title=f"Descriptive statistics: sample of {table.id}, column {col.label}",
                                notes=[f"Sample: {col.sample.describe()}, {len(data)} observations.",
                                       specs.summary])
        written += list(tab.write(out / "tables" / f"descriptives_{table.id}").values())
    return written


def execute_notebooks(folder: Path, timeout: int = 300) -> dict[str, str]:
    """Build every notebook of ``folder`` from its ``py:percent`` source, execute it and
    write the ``.ipynb`` (:func:`regrowth.notebooks.run`); return {name: error} for failures."""
    from regrowth import notebooks

    return notebooks.run(folder, timeout)


def _table_files(table_id: str) -> list[str]:
    return [f"tables/{table_id}.{ext}" for ext in ("md", "tex", "html", "csv", "docx")] + \
        [f"figures/{table_id}_coefficients.png"]


def _stage_diagnostics(tx, spec: Specs, failed: dict, panel: pd.DataFrame, keep: set) -> None:
    """Specification tests of Table 2's growth models (regrowth.diagnostics, issue 10):
    ``tables/diagnostics_growth.*``, kept from the last run when Table 2 is."""
    from regrowth.diagnostics import write_diagnostics

    files = [f"tables/diagnostics_growth.{ext}" for ext in ("md", "tex", "html", "csv", "docx")]
    if "table2_growth" not in spec.table_ids():
        return
    if "table2_growth" in keep:
        for rel in files:
            if (tx.root / rel).is_file():
                tx.keep(rel)
        return
    try:
        write_diagnostics(spec, panel, tx.dir)
    except (RegrowthError, ValueError, np.linalg.LinAlgError) as exc:
        failed["diagnostics_growth"] = f"{type(exc).__name__}: {exc}"
        print(f"  diagnostics_growth: FAILED: {exc}", file=sys.stderr)


def _stage_chain(tx, spec: Specs, failed: dict, panel: pd.DataFrame, labels: dict, keep: set,
                 previous: dict, reps: int | None) -> dict:
    """The two-stage chain (regrowth.chain.fit_chain, ``reps`` draws, seed
    ``regrowth.chain.CHAIN_SEED``) as ``tables/chain_two_stage.*``, and the between/within sd
    of Table 5's regressors (Stata xtsum) as ``tables/table5_variation.*``. Returns the
    top-level ``estimates.json`` entries ``chain`` and ``variation`` (the last run's when the
    table they rest on is kept)."""
    from regrowth import chain as chain_mod
    from regrowth.models.count_panel import variation_table

    entries = {}
    exts = ("md", "tex", "html", "csv", "docx")
    for key, table_id, stem in (("chain", "table1_innovation", "chain_two_stage"),
                                ("variation", "table5_innovation_within", "table5_variation")):
        if table_id not in spec.table_ids():
            continue
        if table_id in keep:
            for rel in (f"tables/{stem}.{ext}" for ext in exts):
                if (tx.root / rel).is_file():
                    tx.keep(rel)
            if key in previous:
                entries[key] = previous[key]
            continue
        try:
            if key == "chain":
                res = chain_mod.fit_chain(panel, reps=chain_mod.CHAIN_REPS if reps is None else reps,
                                          seed=chain_mod.CHAIN_SEED, specs_path=str(spec.path))
                chain_mod.chain_regression_table(res, labels).write(tx.dir / "tables" / stem)
                entries[key] = chain_mod.chain_record(res)
                print(f"  chain: {res.reps} draws, {len(res.draws)} used (seed {res.seed})")
            else:
                table = next(t for t in spec.tables if t.id == table_id)
                col = table.columns[0]
                data, _ = estimation_sample(col, panel)
                tab, rec = variation_table(
                    data, list(col.regressors), labels,
                    title="Table 5a. Between- and within-province variation of the innovation "
                          "model's regressors",
                    notes=[f"Sample of {table_id}, column {col.label}: {col.sample.describe()}."])
                tab.write(tx.dir / "tables" / stem)
                entries[key] = {table_id: rec}
        except (RegrowthError, ValueError, np.linalg.LinAlgError, RuntimeError) as exc:
            failed[stem] = f"{type(exc).__name__}: {exc}"
            print(f"  {stem}: FAILED: {exc}", file=sys.stderr)
    return entries


def _stage_outputs(tx, spec: Specs, fitted: dict, failed: dict, panel: pd.DataFrame,
                   labels: dict, only: list[str] | None, chain_reps: int | None = None) -> None:
    """Write every output of the run into the transaction's staging folder.

    A table with a failed column keeps its last good outputs (files and estimates.json
    entry) when it has any; a partial run (``only``) leaves the other tables alone.
    """
    out = tx.root
    previous_path = out / "estimates.json"
    previous, previous_all = {}, {}
    if previous_path.is_file():
        with contextlib.suppress(ValueError):
            previous_all = json.loads(previous_path.read_text(encoding="utf-8"))
            previous = previous_all.get("tables", {})
    keep = set()
    for table in spec.tables:
        if only and table.id not in only:
            keep.add(table.id)
        elif any(c.name in failed for c in table.columns) and \
                (out / "tables" / f"{table.id}.md").is_file() and table.id in previous:
            keep.add(table.id)
            print(f"  {table.id}: a column failed; keeping the table's last good outputs",
                  file=sys.stderr)
    for tid in keep:
        for rel in _table_files(tid):
            tx.keep(rel)
    live = dataclasses.replace(spec, tables=tuple(t for t in spec.tables if t.id not in keep))
    write_tables(live, fitted, tx.dir, labels, panel.attrs.get("full_edition"))
    write_descriptives(panel, spec, tx.dir, labels)
    write_figures(live, fitted, panel, tx.dir, labels)
    _stage_diagnostics(tx, spec, failed, panel, keep)
    top = _stage_chain(tx, spec, failed, panel, labels, keep, previous_all, chain_reps)
    record = estimates_record(spec, fitted, failed)
    record["tables"] = {t: (previous[t] if t in keep and t in previous else entry)
                        for t, entry in record["tables"].items()}
    record.update(jsonable(top))
    write_text(tx.dir / "estimates.json",
               json.dumps(record, indent=1, ensure_ascii=False) + "\n")


def run(specs: str | Path = "specs/models.toml", processed_dir: str | Path = "data/processed",
        results_dir: str | Path = RESULTS, notebooks: bool = True, only: list[str] | None = None,
        chain_reps: int | None = None) -> int:
    """Fit every specification and write every output; return the exit status.

    ``chain_reps``: bootstrap draws of the two-stage chain (default
    ``regrowth.chain.CHAIN_REPS``; fewer only for quick tests)."""
    t0 = time.perf_counter()
    out = Path(results_dir)
    # everything is checked before anything is fitted or written
    spec = specs_mod.load(specs)
    if only:
        unknown = [t for t in only if t not in spec.table_ids()]
        if unknown:
            raise SpecificationError(
                f"--only {', '.join(map(repr, unknown))}: no such table in {spec.path}"
                + registry.did_you_mean(unknown[0], spec.table_ids())
                + f"; valid table ids: {', '.join(spec.table_ids())}")
    io.recover(processed_dir)  # complete an interrupted `regrowth panel` before reading
    panel = with_region_attributes(panel_mod.load(processed_dir))
    panel.attrs["full_edition"] = full_edition_coverage(processed_dir)  # for the table notes
    specs_mod.check(spec, panel)
    labels = dict(spec.labels)
    failed: dict[str, str] = {}
    todo = [c for c in spec.columns() if not only or c.table in only]
    empty = [c for c in todo if estimation_sample(c, panel)[0].empty]
    if empty:
        raise SpecificationError("\n".join(
            f"{spec.path}: table {c.table!r}, column {c.id!r}: key 'sample': no observations "
            f"in {c.sample.describe()} with {', '.join(c.variables())} all observed; nothing "
            "was fitted or written" for c in empty))
    fitted: dict[str, Fitted] = {}
    # lock, recover, clean leftovers and check that out/ is writable -- before fitting
    with io.Transaction(out, prune=only is None) as tx:
        print(f"replicate: fitting {len(todo)} specifications")
        for i, col in enumerate(todo, 1):
            t = time.perf_counter()
            try:
                fitted[col.name] = fit_column(col, panel)
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
        from regrowth.inference.reporting import add_bootstraps

        add_bootstraps(spec, fitted, panel)  # se.bootstrap x table focus (issue 9)
        _stage_outputs(tx, spec, fitted, failed, panel, labels, only, chain_reps)
    print(f"replicate: {len(tx.installed)} file(s) changed, {len(tx.deleted)} stale file(s) "
          f"removed under {out}/")
    for rel in tx.deleted:
        print(f"  removed stale {out / rel}")
    nb_failures = {}
    if notebooks and Path("notebooks").is_dir():
        nb_failures = execute_notebooks(Path("notebooks"))
        for name, err in nb_failures.items():
            print(f"regrowth: notebook {name} failed: {err}", file=sys.stderr)
    print(f"replicate: done in {time.perf_counter() - t0:.1f}s; {len(fitted)} fitted, "
          f"{len(failed)} failed, {len(nb_failures)} notebook failure(s)")
    if failed:
        print("failed specifications: " + ", ".join(sorted(failed)), file=sys.stderr)
    return 1 if failed or nb_failures else 0
