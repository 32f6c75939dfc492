"""``regrowth curve``: fit every specification of a curve, summarise, write the outputs."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from regrowth import files
from regrowth import progress as progress_mod
from regrowth import panel as panel_mod
from regrowth.curve.backends import DEFAULT_BACKEND, Executor
from regrowth.curve.enumeration import Spec, enumerate_specs, prepare_panel
from regrowth.curve.fitting import batches, group_specs, run_batch
from regrowth.curve.null import null_curve
from regrowth import names
from regrowth.curve.schema import DIMENSIONS, NA, RESULTS, Curve, load
from regrowth.errors import SpecificationError
from regrowth.files import jsonable, write_text
from regrowth.report import curve_figure

__all__ = ["run", "run_curve", "summarize", "to_json", "to_frame", "write_outputs"]


def _batch_task(curve: Curve, panel: pd.DataFrame, groups: list[list[Spec]]) -> dict:
    return run_batch(curve, groups, panel)


def summarize(records: list[dict], roles) -> dict:
    """Per focal role: counts, median estimate, share with the median's sign, share p < 0.05.

    Shares are over the specifications with an estimate (``n_estimated``); ``share_p05`` over
    those with a p-value of record. The bootstrap p-values are summarised separately.
    """
    out = {}
    for role in roles:
        est = np.array([r["terms"][role]["estimate"] for r in records
                        if r["terms"].get(role, {}).get("estimate") is not None], dtype=float)
        pv = np.array([r["terms"][role]["p_value"] for r in records
                       if r["terms"].get(role, {}).get("p_value") is not None], dtype=float)
        bp = np.array([r["terms"][role]["boot_p"] for r in records
                       if r["terms"].get(role, {}).get("boot_p") is not None], dtype=float)
        sig = [(r["terms"][role]["estimate"], r["terms"][role]["p_value"]) for r in records
               if r["terms"].get(role, {}).get("estimate") is not None
               and r["terms"][role].get("p_value") is not None]
        med = float(np.median(est)) if est.size else None
        sign = (1.0 if med is not None and med >= 0 else -1.0)
        out[role] = {
            "terms": sorted({r["terms"][role]["term"] for r in records if role in r["terms"]}),
            "n_specifications": len(records),
            "n_estimated": int(est.size),
            "median_estimate": med,
            "share_positive": float(np.mean(est > 0)) if est.size else None,
            "share_same_sign": float(np.mean(np.sign(est) == sign)) if est.size else None,
            "share_p05": float(np.mean(pv < 0.05)) if pv.size else None,
            "share_p05_same_sign": (float(np.mean([(np.sign(e) == sign) and p < 0.05
                                                   for e, p in sig])) if sig else None),
            "n_boot_p": int(bp.size),
            "share_boot_p05": float(np.mean(bp < 0.05)) if bp.size else None,
        }
    return out


def run_curve(curve: Curve, panel: pd.DataFrame, executor: Executor, *, prepared: bool = False,
              progress=None) -> dict:
    """Fit every specification of ``curve``; return the JSON-ready record (no timings).

    ``panel`` is the processed panel (``regrowth.panel.load``); pass ``prepared=True`` if it
    already went through :func:`prepare_panel`. ``progress``: True or None shows the
    specifications and null draws done, their rate and the time left on stderr
    (:mod:`regrowth.progress`: a bar on a terminal, a line every few seconds otherwise);
    False runs silently.
    """
    with progress_mod.silenced(progress is False):
        return _run_curve(curve, panel, executor, prepared=prepared)


def _run_curve(curve: Curve, panel: pd.DataFrame, executor: Executor, *, prepared: bool) -> dict:
    data = panel if prepared else prepare_panel(panel, [curve])
    specs, excluded = enumerate_specs(curve)
    groups = group_specs(specs)
    tasks = batches(groups, curve.batch_size)
    outs = []
    with progress_mod.Progress(len(specs), f"curve {curve.id}", "specifications",
                               where=progress_mod.backend_label(executor)) as bar:
        for o in executor.imap(_batch_task, tasks, curve, data):
            outs.append(o)
            bar.update(len(o["records"]))
    records = [r for o in outs for r in o["records"]]
    meta = [o["meta"] for o in outs]
    failures = []
    for r in records:
        if r["error"]:
            failures.append({"id": r["id"], "stage": "fit", "reason": r["error"]})
            continue
        if not r["converged"]:
            failures.append({"id": r["id"], "stage": "convergence",
                             "reason": "the estimator did not report convergence"})
    boot_errors = sorted({t["boot_error"] for r in records for t in r["terms"].values()
                          if t.get("boot_error")})
    record = {
        "curve": curve.id, "title": curve.title, "rationale": curve.rationale,
        "family": curve.family, "outcome": curve.outcome, "focal": list(curve.focal),
        "seed": curve.seed, "bootstrap": {"reps": curve.reps, "weights": curve.weights,
                                          "unavailable": boot_errors},
        "dimensions": {d: [o.name for o in opts] for d, opts in curve.dimensions.items()},
        "exclusions": [{"when": {d: list(v) for d, v in cond.items()}, "reason": reason}
                       for cond, reason in curve.exclude],
        "n_combinations": len(specs) + len(excluded),
        "n_specifications": len(specs),
        "n_fitted": sum(1 for r in records if not r["error"]),
        "n_failed": sum(1 for r in records if r["error"]),
        "n_not_converged": sum(1 for r in records if not r["error"] and not r["converged"]),
        "summary": summarize([r for r in records if not r["error"]], curve.focal),
        "failures": failures,
        "excluded": excluded,
        "specifications": records,
    }
    if curve.null_draws and curve.family == "linear":
        record["null"] = null_curve(curve, specs, records, data, executor)
    record["_meta"] = meta      # popped before writing
    return record


def to_json(record: dict) -> str:
    """The curve's JSON text (sorted keys, 1-space indent, no timings): byte-stable."""
    clean = {k: v for k, v in record.items() if not k.startswith("_")}
    return json.dumps(jsonable(clean), indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def to_frame(record: dict) -> pd.DataFrame:
    """One row per specification and focal role (the CSV)."""
    rows = []
    dims = [d for d in DIMENSIONS if d in record["dimensions"]]   # JSON keys come sorted
    for r in record["specifications"]:
        for role, t in (r["terms"] or {}).items():
            rows.append({"id": r["id"], "model": r["model"], "role": role, "term": t.get("term"),
                         **{d: r["choices"].get(d, NA) for d in dims},
                         "estimate": t.get("estimate"), "std_error": t.get("std_error"),
                         "p_value": t.get("p_value"), "ci_low": t.get("ci_low"),
                         "ci_high": t.get("ci_high"), "boot_p": t.get("boot_p"),
                         "nobs": r["nobs"], "n_clusters": r["n_clusters"],
                         "converged": r["converged"], "error": r["error"] or "",
                         "warnings": " | ".join(r["warnings"])})
    return pd.DataFrame(rows)


def write_outputs(record: dict, out_dir: str | Path = RESULTS) -> list[Path]:
    """Write ``<id>.json``, ``<id>.csv``, ``<id>_<role>.png`` (and ``<id>_null.png``)."""
    out = Path(out_dir)
    cid = record["curve"]
    written = [write_text(out / f"{cid}.json", to_json(record))]
    frame = to_frame(record)
    written.append(write_text(out / f"{cid}.csv", frame.to_csv(index=False, lineterminator="\n",
                                                               float_format="%.10g")))
    for role in record["focal"]:
        written.append(curve_figure.specification_curve(record, role, out / f"{cid}_{role}.png", DIMENSIONS))
    if record.get("null"):
        written.append(curve_figure.null_distribution(record, out / f"{cid}_null.png"))
    return written


def run(specs: str | Path = "specs/models.toml", processed_dir: str | Path = "data/processed",
        results_dir: str | Path = RESULTS, ids: list[str] | None = None, backend: str = DEFAULT_BACKEND,
        workers: int | None = None, scheduler: str | None = None, quiet: bool = False) -> int:
    """``regrowth curve``: fit and write every requested curve; return the exit status.

    Exit status 0 if every curve was written (failed specifications are listed in the output
    and do not change the status), 2 for a specification error.
    """
    panel = panel_mod.load(processed_dir)
    curves = load(specs, list(panel.columns))
    if not curves:
        raise SpecificationError(f"{specs}: no [[curve]] block is specified")
    known = [c.id for c in curves]
    if ids:  # an id or a unique prefix, as for tables (regrowth.names)
        ids = names.resolve_all(ids, known, what="curve", option="--id", where=str(specs),
                                error=SpecificationError)
        curves = tuple(c for c in curves if c.id in ids)
    data = prepare_panel(panel, curves)
    out = Path(results_dir)
    with Executor(backend, workers, scheduler) as ex:
        for c in curves:
            t0 = time.perf_counter()
            rec = run_curve(c, data, ex, prepared=True, progress=not quiet)
            # staged and published as one transaction (regrowth.files): a killed run leaves the
            # curve's previous JSON/CSV/figures or the new ones, never a mix; runs serialise
            with files.Transaction(out, prune=False) as tx:
                staged = write_outputs(rec, tx.dir)
            paths = [out / Path(p).relative_to(tx.dir) for p in staged]
            dt = time.perf_counter() - t0
            if not quiet:
                print(f"curve {c.id}: {rec['n_specifications']} specifications "
                      f"({rec['n_fitted']} fitted, {rec['n_failed']} failed, "
                      f"{rec['n_not_converged']} not converged, {len(rec['excluded'])} excluded) "
                      f"on {backend} x{ex.workers if backend != 'serial' else 1} in {dt:.1f}s")
                for role, s in rec["summary"].items():
                    if s["median_estimate"] is None:
                        continue
                    print(f"  {role}: median {s['median_estimate']:.4g}, same sign "
                          f"{s['share_same_sign']:.0%}, p<0.05 "
                          + (f"{s['share_p05']:.0%}" if s["share_p05"] is not None else "n/a"))
                for p in paths:
                    print(f"  wrote {p}")
    return 0

