"""The reform design's standard set of estimates, as JSON-ready records for ``estimates.json``.

:func:`run` takes the panel (with ``consumption_pc`` and ``population``), computes the dose
(:mod:`regrowth.reform.dose`) and fits, on the main sample (16 provinces, Sejong excluded,
unless ``include_sejong``):

* first stage: event studies of the fiscal measures present in the panel
  (``fiscal_self_reliance`` 재정자립도, ``fiscal_autonomy`` 재정자주도) on ``phase1_dose`` x year,
  2014-2023, 2018 omitted, with the pre-trend test and wild-bootstrap p-values;
* reduced forms: PPML event study of ``patents_fintech`` (2014-2021) and a linear event study
  of ``grdp_pc_nominal_growth`` (2014 to its last year);
* dose-response DiD of each outcome and fiscal measure, with the wild-bootstrap and
  randomization-inference p-values;
* 2SLS of each outcome in ``iv_outcomes`` (growth; log(1 + fintech applications per
  million)) on the endogenous fiscal measure (``endog``, default ``fiscal_autonomy``)
  instrumented by dose x post — all years, without 2020 (COVID), and the 2019-only first
  stage (2014-2019) — with the KP / effective F and the Anderson-Rubin sets (95 %, 90 %);
  ``out["iv"][outcome][variant]``.

재정자주도 changes revenue classification in 2014 (``fiscal_basis_2014`` = 1 from 2014): every
window here starts in 2014, so each series is on one basis; a longer window needs
``fiscal_autonomy_old`` (the continuous old basis) instead.

Every number is a plain float (infinite AR ends as the strings "inf"/"-inf"); the seeds and
draw counts are recorded. Columns missing from the panel are reported under ``skipped``
with the reason, never silently dropped.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from regrowth.errors import EstimationError, SpecificationError
from regrowth.models import iv, iv_randomization
import regrowth.reform.dose as dose_mod
import regrowth.reform.statute as statute
from regrowth.inference import boottest

__all__ = ["run"]



def _boot(res, term, reps, seed) -> dict:
    bt = boottest(res, term, reps=reps, seed=seed)
    lo, hi = bt.conf_int
    return {"pvalue": float(bt.pvalue), "ci_low": float(lo), "ci_high": float(hi),
            "reps": int(bt.reps), "enumerated": bool(bt.enumerated), "seed": seed,
            "method": bt.method}


def _last_year(panel: pd.DataFrame, column: str) -> int:
    s = panel[column].dropna()
    return int(s.index.get_level_values(1).max())


def run(panel: pd.DataFrame, *, fiscal: tuple[str, ...], endog: str, growth: str,
        count_outcome: str | None, iv_outcomes: tuple[str, ...], exclude: tuple[str, ...] = (),
        reps: int = 9999, ri_reps: int = 999, seed: int = 20190101, bootstrap: bool = True,
        dose_kwargs: dict | None = None) -> dict[str, Any]:
    """Fit the reform design's estimates; returns a JSON-ready dict (see module docstring).

    The panel variables come from the caller (the spec's ``[table.analyses.reform]``):
    ``fiscal`` the fiscal measures of the first stages, ``endog`` the one instrumented in the
    2SLS, ``growth`` the growth outcome of the linear reduced form, ``count_outcome`` the count
    of the PPML event study (None: none), ``iv_outcomes`` the outcomes of the 2SLS, ``exclude``
    provinces left out of every sample; ``dose_kwargs`` go to
    :func:`regrowth.reform.dose.dose_panel` (the consumption and population columns). The
    pre-trend test of each first stage also gets a randomization p-value (doses permuted, F
    recomputed)."""
    data = dose_mod.dose_panel(panel, **(dose_kwargs or {}))
    regions = sorted(set(data.index.get_level_values(0)) - set(exclude))
    out: dict[str, Any] = {
        "sample": {"regions": regions, "n_regions": len(regions),
                   "dose": "phase1_dose: thousand won per resident per 1 trillion won of VAT "
                           "(rate 11% -> 21%, 2017-18 weighted consumption shares)"},
        "dose": {r: float(v) for r, v in data["phase1_dose"].groupby(level=0).first().items()
                 if r in regions},
        "statute_notes": statute.notes(),
        "first_stage": {}, "reduced_form": {}, "did": {}, "iv": {}, "skipped": {}}
    kw = {"regions": regions}

    for col in fiscal:
        if col not in data.columns:
            out["skipped"][col] = "not in the panel"
            continue
        es = iv.event_study(data, col, "phase1_dose", **kw)
        rec = es.to_record()
        if bootstrap:
            rec["wild_bootstrap"] = {t: _boot(es, t, reps, seed) for t in es.params.index}
        ri = iv_randomization.randomization_test(iv.event_study, data, "phase1_dose", None, reps=ri_reps,
                                   seed=seed, statistic="pretrend", outcome=col, **kw)
        rec["pretrend"]["randomization_pvalue"] = ri["pvalue"]
        rec["pretrend"]["randomization_reps"] = ri["reps"]
        out["first_stage"][col] = rec

    if count_outcome and count_outcome in data.columns:
        pp = iv.ppml_event_study(data, count_outcome, "phase1_dose", **kw)
        out["reduced_form"][count_outcome] = pp.to_record()
    elif count_outcome:
        out["skipped"][count_outcome] = "not in the panel"
    if growth in data.columns:
        last = min(_last_year(data, growth), 2023)
        es = iv.event_study(data, growth, "phase1_dose", years=range(2014, last + 1), **kw)
        rec = es.to_record()
        if bootstrap:
            rec["wild_bootstrap"] = {t: _boot(es, t, reps, seed) for t in es.params.index}
        out["reduced_form"][growth] = rec
    else:
        out["skipped"][growth] = "not in the panel"

    for col in (*fiscal, growth):
        if col not in data.columns:
            continue
        d = iv.did(data, col, "phase1_dose", **kw)
        rec = d.to_record()
        term = d.params.index[0]
        if bootstrap:
            rec["wild_bootstrap"] = _boot(d, term, reps, seed)
        ri = iv_randomization.randomization_test(iv.did, data, "phase1_dose", term, reps=ri_reps, seed=seed,
                                   outcome=col, **kw)
        rec["randomization"] = {k: v for k, v in ri.items() if k != "draws"}
        out["did"][col] = rec

    if endog not in data.columns:
        out["skipped"]["iv"] = f"{endog!r} not in the panel"
        return out
    variants = {"all_years": {}, "without_2020": {"exclude_years": (2020,)},
                "first_stage_2019_only": {"years": range(2014, 2020)}}
    for outcome in iv_outcomes:
        if outcome not in data.columns:
            out["skipped"][f"iv:{outcome}"] = "not in the panel"
            continue
        block = out["iv"].setdefault(outcome, {})
        for name, opts in variants.items():
            try:
                r = iv.iv2sls(data, outcome, endog, "phase1_dose", **kw, **opts)
            except (EstimationError, SpecificationError) as exc:
                block[name] = {"error": str(exc)}
                continue
            rec = r.to_record()
            rec["anderson_rubin_90"] = [[_end(a), _end(b)] for a, b in r.ar_set(0.90)]
            rec["reduced_form"] = r.reduced_form
            block[name] = rec
    return out


def _end(v: float):
    return float(v) if np.isfinite(v) else ("inf" if v > 0 else "-inf")
