"""The inferential specification curve under the null (Simonsohn, Simmons & Nelson 2020;
see :mod:`regrowth.curve`): provinces resampled from data with b = 0 imposed per
specification, every eligible specification refitted per draw.

For each focal role the observed curve's median estimate and share of specifications with
p < 0.05 are compared with the B null draws; the p-values are the Monte Carlo ones,

    p = (1 + #{b : |median_b| >= |median_obs|}) / (1 + B)
    p = (1 + #{b : share_b >= share_obs}) / (1 + B),

never 0: with 10 draws the smallest reportable p is 1/11.
"""

from __future__ import annotations

import math
import os
import time
import warnings
from dataclasses import replace

import numpy as np
import pandas as pd

from regrowth.curve.backends import Executor
from regrowth.curve.enumeration import Spec, _se_type, spec_seed
from regrowth.curve.fitting import _cr2, _fit_one, _rss_mb, _term_row, batches, one_blas_thread
from regrowth.curve.schema import Curve

__all__ = ["null_curve"]


def _null_eligible(specs: list[Spec], records: list[dict]) -> list[tuple[Spec, dict]]:
    return [(s, r) for s, r in zip(specs, records)
            if not r["error"] and s.inference != "bootstrap"]


def _resample(panel: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Provinces drawn with replacement; each draw is a distinct panel ``<key>__<k>``.

    ``_orig`` keeps the province key for the samples' exclusions; cluster ids are the new
    labels, so a province drawn twice counts as two clusters, as in a cluster bootstrap.
    """
    regions = sorted(set(panel.index.get_level_values("region")))
    rng = np.random.default_rng(seed)
    draw = rng.integers(0, len(regions), size=len(regions))
    parts = []
    for k, j in enumerate(draw):
        part = panel.xs(regions[j], level="region", drop_level=False).copy()
        part["_orig"] = regions[j]
        label = f"{regions[j]}__{k:02d}"
        part.index = pd.MultiIndex.from_arrays(
            [[label] * len(part), part.index.get_level_values("year")], names=["region", "year"])
        parts.append(part)
    return pd.concat(parts)


def _null_task(curve: Curve, jobs: list, panel: pd.DataFrame, draws: list[int]) -> dict:
    """Refit every eligible specification on null data for each draw in ``draws``."""
    t0 = time.perf_counter()
    out = []
    with warnings.catch_warnings(), one_blas_thread():
        warnings.simplefilter("ignore")
        for d in draws:
            boot = _resample(panel, spec_seed(curve.seed, f"null|{d}"))
            est: dict[str, list] = {role: [] for role in curve.focal}
            pvals: dict[str, list] = {role: [] for role in curve.focal}
            cache: dict = {}   # one null data set per (model, role), one fit per covariance
            for spec, role, term, b in jobs:
                key = (spec.model_id, role)
                if cache.get("key") != key:
                    data = boot[~boot["_orig"].isin(spec.sample["exclude"])].copy()
                    data[spec.outcome] = (data[spec.outcome].astype(float)
                                          - b * data[term].astype(float))
                    cache = {"key": key, "data": data}
                s = _with_sample(spec)
                try:
                    se = _se_type(s)
                    if se not in cache:
                        cache[se] = _fit_one(s, cache["data"])
                    fitted, clusters = cache[se]
                    row = _term_row(fitted, term)
                    if s.inference == "cr2":
                        row.update(_cr2(fitted, term, clusters))
                    est[role].append(row["estimate"])
                    pvals[role].append(row["p_value"])
                except Exception:  # noqa: BLE001 - a failed null refit is counted, not fatal
                    est[role].append(None)
                    pvals[role].append(None)
            out.append({"draw": d, "estimates": est, "p_values": pvals})
    return {"records": out, "meta": {"pid": os.getpid(), "seconds": time.perf_counter() - t0,
                                     "rss_mb": _rss_mb()}}


def _with_sample(spec: Spec) -> Spec:
    return replace(spec, sample={**spec.sample, "exclude": ()})


def _mc_p(as_extreme: np.ndarray) -> float:
    """Monte Carlo p-value of B null draws, ``(1 + #{draws as extreme}) / (1 + B)``: the observed
    curve counts as one draw of the null (Davison & Hinkley 1997, eq. 4.11), so the p-value is
    never 0 and its floor ``1/(1 + B)`` says how many draws were made."""
    return float((1 + np.count_nonzero(as_extreme)) / (1 + as_extreme.size))


def null_curve(curve: Curve, specs: list[Spec], records: list[dict], data: pd.DataFrame,
               executor: Executor) -> dict:
    """The inferential specification curve under the null (see the module docstring)."""
    jobs = []
    for spec, rec in _null_eligible(specs, records):
        for role, term in spec.focal_terms:
            b = rec["terms"][role].get("estimate")
            if b is not None:
                jobs.append((spec, role, term, b))
    order = {r: i for i, r in enumerate(curve.focal)}
    jobs.sort(key=lambda j: (j[0].model_id, order[j[1]]))   # stable: inference order kept
    first = min(s.sample["years"][0] for s, *_ in jobs) if jobs else 0
    last = max(s.sample["years"][1] for s, *_ in jobs) if jobs else 0
    years = data.index.get_level_values("year")
    data = data.loc[(years >= first) & (years <= last)]   # lags are already columns
    draws = list(range(curve.null_draws))
    per_task = max(1, min(8, math.ceil(len(draws) / max(1, 4 * executor.workers))))
    outs = executor.map(_null_task, batches(draws, per_task), curve, jobs, data)
    rows = [r for o in outs for r in o["records"]]
    result = {"draws": curve.null_draws, "n_specifications": len({s.id for s, *_ in jobs}),
              "method": "provinces resampled with replacement from data with b = 0 imposed "
                        "per specification (Simonsohn, Simmons & Nelson 2020)",
              "roles": {}}
    for role in curve.focal:
        obs = [rec["terms"][role] for s, rec in _null_eligible(specs, records)
               if rec["terms"].get(role, {}).get("estimate") is not None
               and rec["terms"][role].get("p_value") is not None]
        obs_med = float(np.median([o["estimate"] for o in obs])) if obs else None
        obs_sig = float(np.mean([o["p_value"] < 0.05 for o in obs])) if obs else None
        meds, sigs, failed = [], [], 0
        for r in rows:
            e = [v for v in r["estimates"][role] if v is not None]
            p = [v for v in r["p_values"][role] if v is not None]
            failed += sum(v is None for v in r["estimates"][role])
            meds.append(float(np.median(e)) if e else None)
            sigs.append(float(np.mean(np.array(p) < 0.05)) if p else None)
        m = np.array([v for v in meds if v is not None])
        s = np.array([v for v in sigs if v is not None])
        result["roles"][role] = {
            "observed_median": obs_med, "observed_share_p05": obs_sig,
            "null_median": meds, "null_share_p05": sigs, "failed_refits": failed,
            "p_median": (_mc_p(np.abs(m) >= abs(obs_med)) if m.size and obs_med is not None
                         else None),
            "p_share_p05": (_mc_p(s >= obs_sig) if s.size and obs_sig is not None else None),
        }
    return result

