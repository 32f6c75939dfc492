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
from regrowth.curve.fitting import BOOT_EXCLUDED, batches, group_specs, run_batch
from regrowth.models._optim import TOL
from regrowth.curve.null import P05_MARGIN, null_curve
from regrowth import names
from regrowth.curve.schema import DIMENSIONS, NA, RESULTS, Curve, load
from regrowth.errors import SpecificationError
from regrowth.files import jsonable, write_text
from regrowth.report import curve_figure

__all__ = ["run", "run_curve", "summarize", "to_json", "to_frame", "write_outputs"]


def _batch_task(curve: Curve, panel: pd.DataFrame, groups: list[list[Spec]]) -> dict:
    return run_batch(curve, groups, panel)


#: how the headline share of p < 0.05 is computed (written into the summary and captions)
RECOMMENDED_RULE = ("the bootstrap p-value where the curve computes one (wild cluster "
                    "restricted after linear models, score bootstrap after ML), else the "
                    "province-clustered p-value; never the model-based (OIM / conventional) one")


def _share(flags) -> float | None:
    return float(np.mean(flags)) if len(flags) else None


def summarize(models: list[dict], roles, inference=()) -> dict:
    """Per focal role, over distinct models (each estimate counted once): counts, median
    estimate, share with the median's sign, and the headline share with p < 0.05 by the
    **recommended** inference (:data:`RECOMMENDED_RULE`; ``share_p05``, over the models that
    have a recommended p-value, ``n_recommended``; how many of those are bootstrap and how
    many cluster p-values, and how many models have neither). ``by_inference`` gives, for
    each declared inference choice, the number of models with that p-value and the share
    below 0.05; ``share_boot_p05`` the share of the bootstrap p-values (every model carries
    one where it can be computed)."""
    out = {}
    for role in roles:
        rows = [m["terms"][role] for m in models
                if m["terms"].get(role, {}).get("estimate") is not None]
        est = np.array([t["estimate"] for t in rows], dtype=float)
        rec = [t for t in rows if t.get("p_recommended") is not None]
        bp = np.array([t["boot_p"] for t in rows if t.get("boot_p") is not None], dtype=float)
        med = float(np.median(est)) if est.size else None
        sign = (1.0 if med is not None and med >= 0 else -1.0)
        by_inf = {}
        for inf in inference:
            pv = [t["p_value"][inf] for t in rows if t.get("p_value", {}).get(inf) is not None]
            by_inf[inf] = {"n": len(pv), "share_p05": _share([p < 0.05 for p in pv])}
        out[role] = {
            "terms": sorted({m["terms"][role]["term"] for m in models if role in m["terms"]}),
            "n_models": len(models),
            "n_estimated": int(est.size),
            "median_estimate": med,
            "share_positive": float(np.mean(est > 0)) if est.size else None,
            "share_same_sign": float(np.mean(np.sign(est) == sign)) if est.size else None,
            "recommended": RECOMMENDED_RULE,
            "n_recommended": len(rec),
            "n_recommended_bootstrap": sum(t["recommended"] == "bootstrap" for t in rec),
            "n_recommended_cluster": sum(t["recommended"] == "cluster" for t in rec),
            "n_without_recommended": int(est.size) - len(rec),
            "share_p05": _share([t["p_recommended"] < 0.05 for t in rec]),
            # p-values of record whose side of 0.05 rounding could decide (see null.P05_MARGIN)
            "n_p05_borderline": sum(abs(t["p_recommended"] - 0.05) < P05_MARGIN for t in rec),
            "share_p05_same_sign": _share([(np.sign(t["estimate"]) == sign)
                                           and t["p_recommended"] < 0.05 for t in rec]),
            "by_inference": by_inf,
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
    with progress_mod.Progress(len(groups), f"curve {curve.id}", "models",
                               where=progress_mod.backend_label(executor)) as bar:
        for o in executor.imap(_batch_task, tasks, curve, data):
            outs.append(o)
            bar.update(len(o["records"]))
    models = [r for o in outs for r in o["records"]]
    meta = [o["meta"] for o in outs]
    parts = {k: v for o in outs for k, v in o.get("parts", {}).items()}   # count null only
    failures = []
    for m in models:
        if m["error"]:
            failures.append({"id": m["id"], "inference": list(m["inference"]), "stage": "fit",
                             "reason": m["error"]})
            continue
        for inf, reason in m["unavailable"].items():
            failures.append({"id": m["id"], "inference": [inf], "stage": "inference",
                             "reason": reason})
        if not m["converged"]:
            failures.append({"id": m["id"], "inference": list(m["inference"]),
                             "stage": "convergence",
                             "reason": "the estimator did not report convergence"})
    borderline = [{"id": m["id"], "decision": "convergence",
                   "reason": ("the scaled Newton decrement is within a factor 100 of the "
                              f"tolerance {TOL:g}: the convergence verdict "
                              f"({'converged' if m['converged'] else 'not converged'}) could "
                              "differ on another machine")}
                  for m in models if not m["error"] and m["convergence_borderline"]]
    boot_errors = sorted({t["boot_error"] for m in models for t in m["terms"].values()
                          if t.get("boot_error") and t["boot_error"] != BOOT_EXCLUDED})
    fitted = [m for m in models if not m["error"]]
    record = {
        "curve": curve.id, "title": curve.title, "rationale": curve.rationale,
        "family": curve.family, "outcome": curve.outcome, "focal": list(curve.focal),
        "seed": curve.seed, "bootstrap": {"reps": curve.reps, "weights": curve.weights,
                                          "unavailable": boot_errors},
        "dimensions": {d: [o.name for o in opts] for d, opts in curve.dimensions.items()},
        "exclusions": [{"when": {d: list(v) for d, v in cond.items()}, "reason": reason}
                       for cond, reason in curve.exclude],
        "n_combinations": len(specs) + len(excluded),
        "n_cells": len(specs),
        "n_models": len(models),
        "n_fitted": len(fitted),
        "n_failed": len(models) - len(fitted),
        "n_not_converged": sum(1 for m in fitted if not m["converged"]),
        "n_inference_unavailable": sum(len(m["unavailable"]) for m in fitted),
        "summary": summarize(fitted, curve.focal,
                             [o.name for o in curve.dimensions.get("inference", ())]),
        "failures": failures,
        "borderline": borderline,
        "excluded": excluded,
        "models": models,
    }
    if curve.null_draws:
        record["null"] = null_curve(curve, specs, models, data, executor, parts=parts)
    record["_meta"] = meta      # popped before writing
    return record


def to_json(record: dict) -> str:
    """The curve's JSON text (sorted keys, 1-space indent, no timings): byte-stable."""
    clean = {k: v for k, v in record.items() if not k.startswith("_")}
    return json.dumps(jsonable(clean), indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def to_frame(record: dict) -> pd.DataFrame:
    """One row per model and focal role (the CSV): the model's choices, its estimate, the
    p-value of record (``p_recommended``, from ``recommended``), one ``p_<inference>`` and
    ``se_<inference>`` column per declared inference choice, the bootstrap p, the interval
    drawn in the figure (``ci_low``, ``ci_high`` from ``ci_from``) and the fit's status."""
    rows = []
    dims = [d for d in DIMENSIONS if d in record["dimensions"] and d != "inference"]
    infs = list(record["dimensions"].get("inference", []))
    for m in record["models"]:
        for role, t in (m["terms"] or {}).items():
            pv, se = t.get("p_value") or {}, t.get("std_error") or {}
            rows.append({"model": m["id"], "role": role, "term": t.get("term"),
                         **{d: m["choices"].get(d, NA) for d in dims},
                         "estimate": t.get("estimate"),
                         "recommended": t.get("recommended") or "",
                         "p_recommended": t.get("p_recommended"),
                         **{f"p_{i}": pv.get(i) for i in infs},
                         **{f"se_{i}": se.get(i) for i in infs if i != "bootstrap"},
                         "boot_p": t.get("boot_p"), "ci_from": t.get("ci_from") or "",
                         "ci_low": t.get("ci_low"), "ci_high": t.get("ci_high"),
                         "nobs": m["nobs"], "n_clusters": m["n_clusters"],
                         "converged": m["converged"],
                         "convergence_borderline": m["convergence_borderline"],
                         "error": m["error"] or "",
                         "unavailable": " | ".join(f"{k}: {v}" for k, v in
                                                   m["unavailable"].items()),
                         "warnings": " | ".join(m["warnings"])})
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

    All the curves of the run are published together, as one transaction over
    ``results_dir`` (nothing changes there until every curve is fitted).

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
    # the curves of one run are staged and published as ONE transaction (regrowth.files): a
    # run killed while fitting any curve (the growth curve after the innovation curve was
    # fitted) leaves every previous JSON/CSV/figure, a finished run every new one, never a
    # mix of two runs; the lock is taken (and results_dir checked) before anything is fitted
    wrote: list[Path] = []
    with Executor(backend, workers, scheduler) as ex, files.Transaction(out, prune=False) as tx:
        for c in curves:
            t0 = time.perf_counter()
            rec = run_curve(c, data, ex, prepared=True, progress=not quiet)
            staged = write_outputs(rec, tx.dir)
            wrote += [out / Path(p).relative_to(tx.dir) for p in staged]
            dt = time.perf_counter() - t0
            if not quiet:
                print(f"curve {c.id}: {rec['n_models']} models ({rec['n_cells']} model x "
                      f"inference cells; {rec['n_fitted']} fitted, {rec['n_failed']} failed, "
                      f"{rec['n_not_converged']} not converged, {len(rec['borderline'])} "
                      f"borderline, {len(rec['excluded'])} cells excluded as declared) "
                      f"on {backend} x{ex.workers if backend != 'serial' else 1} in {dt:.1f}s")
                for role, s in rec["summary"].items():
                    if s["median_estimate"] is None:
                        continue
                    print(f"  {role}: median {s['median_estimate']:.4g}, same sign "
                          f"{s['share_same_sign']:.0%}, p<0.05 by the recommended inference "
                          + (f"{s['share_p05']:.0%} of {s['n_recommended']} "
                             f"({s['n_recommended_bootstrap']} bootstrap, "
                             f"{s['n_recommended_cluster']} cluster)"
                             if s["share_p05"] is not None else "n/a"))
                null = rec.get("null")
                for role, r in (null or {}).get("roles", {}).items():
                    if r["p_median"] is None:
                        continue
                    # the score null's median test over-rejects (count_null.SCORE_RECORD)
                    caveat = "; not a calibrated test" if null["null_method"] == "score" else ""
                    print(f"  null curve ({null['draws']} draws, {null['null_method']}), "
                          f"{role}: share p<0.05 {r['observed_share_p05']:.3f} (p = "
                          f"{r['p_share_p05']:.3f}), observed median {r['observed_median']:.4g} "
                          f"(p = {r['p_median']:.3f}{caveat})")
    if not quiet:
        print(f"curve: published {len(curves)} curve(s) together under {out}/ "
              f"({len(tx.installed)} file(s) changed)")
        for p in wrote:
            print(f"  wrote {p}")
    return 0

