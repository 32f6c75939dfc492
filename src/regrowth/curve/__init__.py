"""The multiverse: a specification curve over every declared choice (``regrowth curve``).

A ``[[curve]]`` block of ``specs/models.toml`` names an outcome, the *focal* coefficients whose
robustness is in question, and the **dimensions** of choice; the curve is the Cartesian product
of the dimensions' options, minus the combinations a dimension does not apply to (a dispersion
equation for Poisson, say) and minus the combinations the block *declares* excluded
(``[[curve.exclude]]``, each with a reason). Every remaining specification is fitted and its
focal estimates, standard errors, p-values, a bootstrap p-value, N, convergence flag and
warnings are written to ``results/curve/<id>.{json,csv}`` with the figure of Simonsohn,
Simmons & Nelson (2020, *Nature Human Behaviour* 4, 1208-1214), in the style of R's ``specr``:
estimates sorted with their 95% intervals on top, an indicator panel of the choices below.

Dimensions (all optional except ``estimator``, ``sample`` and one focal role)
-------------------------------------------------------------------------------
=================  ==========================================================================
``decentralization``  list of panel variables (the level, e.g. ``fiscal_self_reliance``); the
                   regressor is its lag ``<var>_l<lag>``. Focal role ``decentralization``.
``innovation``     same, for the innovation measure of the growth equation (focal role
                   ``innovation``).
``lag``            list of ints: the lag (years) of the focal regressors. ``<var>_l1`` is
                   taken from the panel; a longer lag the panel lacks is derived here from the
                   panel's own rule (value of the same province in calendar year t-k, missing
                   if that year is missing), not added to the panel.
``controls``       table ``name = [variables]``: the other regressors.
``dispersion``     table ``name = [variables]``: ln(alpha) regressors; gnb only (collapsed to
                   ``-`` for every other estimator).
``outcome_form``   ``"count"`` and/or ``"exposure"`` (the curve's ``exposure`` variable enters
                   the mean as a log offset); count estimators only.
``estimator``      list of estimator names of the registry (``regrowth.models.registry``), or
                   table ``name = {estimator = ..., options = {...}, province_effects = bool}``
                   (options checked against the registry entry). Count: ``gnb`` (Stata
                   gnbreg), ``nb2`` (nbreg), ``poisson``; ``{estimator = "poisson",
                   province_effects = true}`` is Poisson with province dummies, which equals
                   conditional fixed-effects Poisson for the slopes. Linear: ``fgls`` (xtgls),
                   ``pcse`` (xtpcse), ``fe`` (xtreg, fe), ``re`` (xtreg, re), ``pooled``.
``year_effects``   list of booleans: year dummies (first sample year the base).
``sample``         table ``name = {years = [a, b], exclude = [regions], drop_if = [flags]}``.
``inference``      ``model`` (OIM / conventional), ``robust``, ``cluster`` (by ``cluster``,
                   Stata's scaling), ``cr2`` (Bell-McCaffrey, linear), ``kernel``
                   (Driscoll-Kraay, linear), ``bootstrap`` (p-value of record is the
                   bootstrap p-value: wild cluster restricted after linear models, score
                   bootstrap after ML, as Stata's ``boottest``).
=================  ==========================================================================

Every fitted model (one per combination of everything but ``inference``) also carries a
bootstrap p-value for each focal coefficient, ``bootstrap = {reps, weights}`` draws, so the
bootstrap and the analytic p-values can be compared on every specification.

Seeds and identical output on every backend
-------------------------------------------
A specification's id is its option names joined by ``.`` in the fixed dimension order above
(``fiscal_self_reliance.l1.ris.capital_size.count.gnb.ye.p16.cluster``); the model id drops the
inference part. The bootstrap seed of a model is drawn from ``numpy.random.SeedSequence``
with entropy (curve seed, sha256 of the model id), so it depends on neither the order of
execution nor the batch nor the worker. The null draws of the inferential curve use
(curve seed, sha256 of ``"null"``, draw). Results are gathered and written in enumeration
order, so ``results/curve/<id>.json`` is byte-identical for ``serial``, ``processes``
(joblib/loky) and ``dask`` (``distributed``) and for every worker count.

Batches
-------
Work is sent as batches of many models (``batch_size`` models per task, default 16): a Dask
task costs about 0.2-1 ms of scheduler time and a joblib task a pickle round trip, both
negligible against ~16 fits. A worker keeps nothing between batches (no caches), so its memory
does not grow with the number of specifications run; ``benchmarks/bench_curve.py`` measures it.

Inferential specification curve (linear curves, ``null_draws > 0``)
-------------------------------------------------------------------
Simonsohn et al. (2020), section "Inference": for each focal role and each specification s
with an analytic p-value, the outcome is replaced by y - b_s x_s (the null b = 0 imposed on the
data, everything else as estimated); each draw resamples provinces with replacement
(duplicates become distinct panels) and refits every such specification on its own null data.
The draws give the distribution, under the null, of the median estimate and of the share of
specifications with p < 0.05; the p-value of the observed curve is the share of draws at least
as extreme (|median| >=, share significant >=).

Adapters to code owned elsewhere
--------------------------------
Three functions are the only places that call other modules' fitting or inference code:
``_fit_one`` (every estimator, through ``regrowth.replicate.fit_column`` and the estimator
registry ``regrowth.models.registry``; year and province effects as the registry implements
them), ``_bootstrap_p`` (``regrowth.inference.boottest``, ``ci=False``) and ``_cr2``
(``regrowth.inference.cr2``). An estimator or an inference choice that is not available for a
specification (no such covariance for that estimator; a results class ``boottest`` does not
support) raises there and the specification is listed under ``failures`` with the reason;
nothing is silently dropped.

Determinism
-----------
Every backend fits with one BLAS thread per process (:func:`one_blas_thread`): sums in
multi-threaded BLAS can depend on the thread count, and the serial backend runs in the calling
process, whose BLAS would otherwise use every core.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import json
import math
import os
import re
import time
import warnings
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from regrowth.errors import RegrowthError, SpecificationError
from regrowth.io import jsonable

__all__ = [
    "Curve",
    "Unavailable",
    "enumerate_specs",
    "load",
    "run",
    "run_curve",
    "spec_seed",
    "validate",
    "write_outputs",
]

RESULTS = Path("results") / "curve"
ID_RE = re.compile(r"^[a-z0-9_]+$")

# Dimension order fixes the spec id and the rows of the indicator panel.
DIMENSIONS = ("decentralization", "innovation", "lag", "controls", "dispersion", "outcome_form",
              "estimator", "year_effects", "sample", "inference")
FOCAL_ROLES = ("decentralization", "innovation")
MODEL_SE = {"fgls": "unadjusted", "pcse": "pcse"}   # the only covariance these report
INFERENCE = ("model", "robust", "cluster", "cr2", "kernel", "bootstrap")
INFERENCE_FOR = {"count": ("model", "robust", "cluster", "bootstrap"),
                 "linear": ("model", "robust", "cluster", "cr2", "kernel", "bootstrap")}
WEIGHTS = ("rademacher", "webb", "mammen", "normal")
CURVE_KEYS = {"id", "title", "outcome", "focal", "seed", "bootstrap", "exposure", "cluster",
              "null_draws", "batch_size", "rationale", "dimensions", "exclude"}
BOOTSTRAP_KEYS = {"reps", "weights"}
SAMPLE_KEYS = {"years", "exclude", "drop_if"}
ESTIMATOR_KEYS = {"estimator", "options", "province_effects"}
EXCLUDE_KEYS = {"when", "reason"}
NA = "-"  # the option of a dimension that does not apply to a specification


class Unavailable(RegrowthError):
    """An estimator or inference choice this installation cannot compute (reason in the text)."""


# ============================================================================ specification

@dataclass(frozen=True)
class Option:
    """One option of a dimension: its name (in ids and figures) and its value."""

    name: str
    value: Any


@dataclass(frozen=True)
class Curve:
    """A validated ``[[curve]]`` block."""

    id: str
    title: str
    outcome: str
    focal: tuple[str, ...]
    seed: int
    family: str                      # "count" or "linear"
    dimensions: dict                 # name -> tuple[Option, ...], in DIMENSIONS order
    exclude: tuple                   # ((when: dict[dim, tuple], reason: str), ...)
    rationale: str = ""
    reps: int = 999
    weights: str = "webb"
    exposure: str | None = None
    cluster: str = "region"
    null_draws: int = 0
    batch_size: int = 16


@dataclass(frozen=True)
class Spec:
    """One specification: a choice of one option per dimension."""

    curve: str
    id: str
    model_id: str
    choices: tuple[tuple[str, str], ...]     # (dimension, option name), DIMENSIONS order
    estimator: str
    options: dict = field(hash=False, compare=False)
    province_effects: bool = False
    outcome: str = ""
    focal_terms: tuple[tuple[str, str], ...] = ()   # (role, regressor)
    regressors: tuple[str, ...] = ()
    dispersion: tuple[str, ...] = ()
    exposure: str | None = None
    year_effects: bool = False
    sample: dict = field(default_factory=dict, hash=False, compare=False)
    inference: str = "cluster"
    cluster: str = "region"

    def choice(self, dim: str) -> str:
        return dict(self.choices).get(dim, NA)


def _err(where: str, message: str) -> SpecificationError:
    return SpecificationError(f"{where}: {message}")


def _did_you_mean(key: str, allowed) -> str:
    close = difflib.get_close_matches(str(key), sorted(allowed), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _check_keys(raw: dict, allowed: set, where: str) -> None:
    if not isinstance(raw, dict):
        raise _err(where, f"must be a table, not {type(raw).__name__}")
    for key in raw:
        if key not in allowed:
            raise _err(f"{where}.{key}", f"unknown key {key!r}{_did_you_mean(key, allowed)} "
                                         f"(allowed: {', '.join(sorted(allowed))})")


def _id(value, where: str) -> str:
    if not isinstance(value, str) or not ID_RE.match(value):
        raise _err(where, f"{value!r} is not an id: use lower-case letters, digits and _ only")
    return value


def _int(value, where: str, minimum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _err(where, f"must be an integer, not {value!r}")
    if minimum is not None and value < minimum:
        raise _err(where, f"must be >= {minimum}, not {value}")
    return value


def _text(value, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _err(where, "must be a non-empty string")
    return value.strip()


def _variable(name, columns: set, where: str) -> str:
    if not isinstance(name, str) or not name:
        raise _err(where, f"must name a panel variable, not {name!r}")
    if name not in columns:
        raise _err(where, f"{name!r} is not a panel column{_did_you_mean(name, columns)}")
    return name


def _variables(value, columns: set, where: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise _err(where, "must be a list of panel variables")
    names = tuple(_variable(v, columns, f"{where}[{i}]") for i, v in enumerate(value))
    if len(set(names)) != len(names):
        raise _err(where, "lists a variable twice")
    return names


def _lagged_available(var: str, lag: int, columns: set) -> bool:
    return f"{var}_l{lag}" in columns or var in columns


def _sample(raw, where: str, columns: set) -> dict:
    from regrowth import regions

    _check_keys(raw, SAMPLE_KEYS, where)
    years = raw.get("years")
    if (not isinstance(years, list) or len(years) != 2
            or not all(isinstance(y, int) and not isinstance(y, bool) for y in years)
            or years[0] > years[1]):
        raise _err(f"{where}.years", "must be [first, last] (integers, first <= last)")
    exclude = raw.get("exclude", [])
    if not isinstance(exclude, list):
        raise _err(f"{where}.exclude", "must be a list of province names")
    keys = []
    for i, name in enumerate(exclude):
        try:
            keys.append(regions.normalize(name))
        except RegrowthError as exc:
            raise _err(f"{where}.exclude[{i}]", str(exc).splitlines()[0]) from None
    drop_if = _variables(raw.get("drop_if", []), columns, f"{where}.drop_if")
    return {"years": (years[0], years[1]), "exclude": tuple(keys), "drop_if": drop_if}


def _named_lists(raw, where: str, columns: set) -> tuple[Option, ...]:
    if not isinstance(raw, dict) or not raw:
        raise _err(where, "must be a table of name = [variables]")
    return tuple(Option(_id(k, f"{where}.{k}"), _variables(v, columns, f"{where}.{k}"))
                 for k, v in raw.items())


def _estimators(raw, where: str) -> tuple[Option, ...]:
    from regrowth.models import registry

    known = registry.names()
    out = []
    if isinstance(raw, list):
        items = [(e, {"estimator": e}) for e in raw]
    elif isinstance(raw, dict):
        items = list(raw.items())
    else:
        raise _err(where, "must be a list of estimators or a table name = {estimator, options}")
    if not items:
        raise _err(where, "lists no estimator")
    for name, entry in items:
        w = f"{where}.{name}" if isinstance(raw, dict) else where
        if isinstance(raw, list) and not isinstance(name, str):
            raise _err(where, f"{name!r} is not an estimator name")
        _id(name, w)
        _check_keys(entry, ESTIMATOR_KEYS, w)
        est = entry.get("estimator")
        if est not in known:
            raise _err(f"{w}.estimator" if isinstance(raw, dict) else w,
                       f"unknown estimator {est!r}{_did_you_mean(est, known)} "
                       f"(known: {', '.join(known)})")
        reg = registry.get(est)
        opts = entry.get("options", {})
        _check_keys(opts, set(reg.option_names()), f"{w}.options")
        checked = {}
        for k, v in opts.items():
            try:
                checked[k] = reg.option(k).check(v)
            except ValueError as exc:
                raise _err(f"{w}.options.{k}", str(exc)) from None
        prov = entry.get("province_effects", False)
        if not isinstance(prov, bool):
            raise _err(f"{w}.province_effects", f"must be true or false, not {prov!r}")
        if prov and reg.province_effects != "dummies":
            raise _err(f"{w}.province_effects", f"{est} cannot add province dummies"
                       + (f" ({reg.province_effects_note})" if reg.province_effects_note else ""))
        out.append(Option(name, {"estimator": reg.name, "options": checked,
                                 "province_effects": prov, "family": reg.family}))
    if len({o.name for o in out}) != len(out):
        raise _err(where, "names an estimator twice")
    return tuple(out)


def _one_curve(raw: dict, i: int, columns: set, seen: set) -> Curve:
    where = f"curve[{i}]"
    if not isinstance(raw, dict):
        raise _err(where, "each [[curve]] must be a table")
    if "id" in raw:
        where = f"curve {raw['id']!r}"
    _check_keys(raw, CURVE_KEYS, where)
    cid = _id(raw.get("id"), f"{where}.id")
    if cid in seen:
        raise _err(f"{where}.id", f"curve id {cid!r} is used twice")
    title = _text(raw.get("title"), f"{where}.title")
    rationale = _text(raw.get("rationale"), f"{where}.rationale")
    outcome = _variable(raw.get("outcome"), columns, f"{where}.outcome")
    seed = _int(raw.get("seed"), f"{where}.seed", 0)
    boot = raw.get("bootstrap", {"reps": 999, "weights": "webb"})
    _check_keys(boot, BOOTSTRAP_KEYS, f"{where}.bootstrap")
    reps = _int(boot.get("reps", 999), f"{where}.bootstrap.reps", 0)
    weights = boot.get("weights", "webb")
    if weights not in WEIGHTS:
        raise _err(f"{where}.bootstrap.weights",
                   f"{weights!r} is not one of {WEIGHTS}{_did_you_mean(weights, WEIGHTS)}")
    cluster = _variable(raw.get("cluster", "region"), columns, f"{where}.cluster")
    exposure = raw.get("exposure")
    if exposure is not None:
        exposure = _variable(exposure, columns, f"{where}.exposure")
    null_draws = _int(raw.get("null_draws", 0), f"{where}.null_draws", 0)
    batch_size = _int(raw.get("batch_size", 16), f"{where}.batch_size", 1)

    dims_raw = raw.get("dimensions")
    if not isinstance(dims_raw, dict):
        raise _err(f"{where}.dimensions", "is required: a table of the choices to vary")
    _check_keys(dims_raw, set(DIMENSIONS), f"{where}.dimensions")
    dims: dict[str, tuple[Option, ...]] = {}
    dw = f"{where}.dimensions"
    lags = (1,)
    if "lag" in dims_raw:
        lv = dims_raw["lag"]
        if not isinstance(lv, list) or not lv:
            raise _err(f"{dw}.lag", "must be a non-empty list of lags in years, e.g. [1, 2]")
        lags = tuple(_int(v, f"{dw}.lag[{j}]", 1) for j, v in enumerate(lv))
        if len(set(lags)) != len(lags):
            raise _err(f"{dw}.lag", "lists a lag twice")
        dims["lag"] = tuple(Option(f"l{k}", k) for k in lags)
    for role in FOCAL_ROLES:
        if role in dims_raw:
            vals = dims_raw[role]
            if not isinstance(vals, list) or not vals:
                raise _err(f"{dw}.{role}", "must be a non-empty list of panel variables")
            opts = []
            for j, v in enumerate(vals):
                w = f"{dw}.{role}[{j}]"
                _id(v, w)
                for k in lags:
                    if not _lagged_available(v, k, columns):
                        raise _err(w, f"neither {v!r} nor {v + '_l' + str(k)!r} is a panel column"
                                      f"{_did_you_mean(v, columns)}")
                opts.append(Option(v, v))
            if len({o.name for o in opts}) != len(opts):
                raise _err(f"{dw}.{role}", "lists a variable twice")
            dims[role] = tuple(opts)
    for name in ("controls", "dispersion"):
        if name in dims_raw:
            dims[name] = _named_lists(dims_raw[name], f"{dw}.{name}", columns)
    if "outcome_form" in dims_raw:
        vals = dims_raw["outcome_form"]
        if not isinstance(vals, list) or not vals or any(v not in ("count", "exposure") for v in vals):
            raise _err(f"{dw}.outcome_form", "must be a list of 'count' and/or 'exposure'")
        if "exposure" in vals and exposure is None:
            raise _err(f"{where}.exposure", "outcome_form 'exposure' needs the curve's exposure "
                                            "variable (e.g. exposure = \"population\")")
        dims["outcome_form"] = tuple(Option(v, v) for v in dict.fromkeys(vals))
    if "estimator" not in dims_raw:
        raise _err(f"{dw}.estimator", "is required")
    dims["estimator"] = _estimators(dims_raw["estimator"], f"{dw}.estimator")
    kinds = {o.value["family"] for o in dims["estimator"]}
    if len(kinds) > 1:
        raise _err(f"{dw}.estimator", "mixes count and linear estimators; make two curves")
    family = kinds.pop()
    if family == "linear":
        for name in ("dispersion", "outcome_form"):
            if name in dims:
                raise _err(f"{dw}.{name}", "applies to count estimators only")
    if "year_effects" in dims_raw:
        vals = dims_raw["year_effects"]
        if not isinstance(vals, list) or not vals or not all(isinstance(v, bool) for v in vals):
            raise _err(f"{dw}.year_effects", "must be a list of true/false")
        dims["year_effects"] = tuple(Option("ye" if v else "noye", v) for v in dict.fromkeys(vals))
    if "sample" not in dims_raw:
        raise _err(f"{dw}.sample", "is required: a table name = {years = [a, b], ...}")
    sraw = dims_raw["sample"]
    if not isinstance(sraw, dict) or not sraw:
        raise _err(f"{dw}.sample", "must be a table name = {years = [a, b], exclude = [...]}")
    dims["sample"] = tuple(Option(_id(k, f"{dw}.sample.{k}"), _sample(v, f"{dw}.sample.{k}", columns))
                           for k, v in sraw.items())
    if "inference" in dims_raw:
        vals = dims_raw["inference"]
        if not isinstance(vals, list) or not vals:
            raise _err(f"{dw}.inference", f"must be a list from {INFERENCE_FOR[family]}")
        for j, v in enumerate(vals):
            if v not in INFERENCE_FOR[family]:
                raise _err(f"{dw}.inference[{j}]", f"{v!r} is not available for {family} models"
                           f"{_did_you_mean(v, INFERENCE_FOR[family])} "
                           f"(choose from {', '.join(INFERENCE_FOR[family])})")
        dims["inference"] = tuple(Option(v, v) for v in dict.fromkeys(vals))

    focal = raw.get("focal")
    if isinstance(focal, str):
        focal = [focal]
    if not isinstance(focal, list) or not focal:
        raise _err(f"{where}.focal", f"must list the focal role(s): {FOCAL_ROLES}")
    for j, role in enumerate(focal):
        if role not in FOCAL_ROLES:
            raise _err(f"{where}.focal[{j}]", f"{role!r} is not a focal role "
                       f"{FOCAL_ROLES}{_did_you_mean(role, FOCAL_ROLES)}")
        if role not in dims:
            raise _err(f"{where}.focal[{j}]", f"needs dimensions.{role} (the variable(s) it names)")
    if null_draws and family != "linear":
        raise _err(f"{where}.null_draws", "the inferential (null) curve is for linear curves only")

    excl = []
    for j, ex in enumerate(raw.get("exclude", []) or []):
        w = f"{where}.exclude[{j}]"
        _check_keys(ex, EXCLUDE_KEYS, w)
        when = ex.get("when")
        if not isinstance(when, dict) or not when:
            raise _err(f"{w}.when", "must be a table dimension = [options]")
        cond = {}
        for dim, vals in when.items():
            if dim not in dims:
                raise _err(f"{w}.when.{dim}", f"{dim!r} is not a declared dimension"
                           f"{_did_you_mean(dim, dims)} (declared: {', '.join(dims)})")
            if not isinstance(vals, list) or not vals:
                raise _err(f"{w}.when.{dim}", "must be a non-empty list of option names")
            names = {o.name: o for o in dims[dim]}
            values = {repr(o.value): o.name for o in dims[dim] if dim in ("lag", "year_effects")}
            picked = []
            for v in vals:
                if isinstance(v, str) and v in names:
                    picked.append(v)
                elif repr(v) in values:
                    picked.append(values[repr(v)])
                else:
                    raise _err(f"{w}.when.{dim}", f"{v!r} is not an option of {dim}"
                               f"{_did_you_mean(str(v), names)} (options: {', '.join(names)})")
            cond[dim] = tuple(picked)
        excl.append((cond, _text(ex.get("reason"), f"{w}.reason")))
    return Curve(id=cid, title=title, outcome=outcome, focal=tuple(dict.fromkeys(focal)), seed=seed,
                 family=family, dimensions={d: dims[d] for d in DIMENSIONS if d in dims},
                 exclude=tuple(excl), rationale=rationale, reps=reps, weights=weights,
                 exposure=exposure, cluster=cluster, null_draws=null_draws, batch_size=batch_size)


def validate(raw_curve_list, panel_columns) -> tuple[Curve, ...]:
    """Check the ``[[curve]]`` blocks of the specification file; return them as :class:`Curve`.

    ``raw_curve_list`` is the TOML array (a list of tables); ``panel_columns`` the panel's
    column names (index names may be included). Unknown keys (with a did-you-mean), wrong
    types, variables the panel lacks, ids outside ``[a-z0-9_]+`` and unknown options in
    ``exclude`` raise :class:`~regrowth.errors.SpecificationError` naming the key, e.g.
    ``curve 'innovation'.dimensions.controls.ris[1]: 'ln_rd_l1' is not a panel column;
    did you mean 'ln_rnd_l1'?``.
    """
    if raw_curve_list is None:
        return ()
    if not isinstance(raw_curve_list, list):
        raise _err("curve", "must be an array of tables ([[curve]])")
    columns = set(panel_columns) | {"region", "year"}
    seen: set[str] = set()
    out = []
    for i, raw in enumerate(raw_curve_list):
        c = _one_curve(raw, i, columns, seen)
        seen.add(c.id)
        out.append(c)
    return tuple(out)


def load(specs_path: str | Path, panel_columns) -> tuple[Curve, ...]:
    """The validated curves of a specification file (``[[curve]]`` blocks; none is fine)."""
    from regrowth.specs import read_document

    path = Path(specs_path)
    doc = read_document(path)
    try:
        return validate(doc.get("curve", []), panel_columns)
    except SpecificationError as exc:
        raise SpecificationError(f"{path}: {exc}") from None


# ============================================================================ enumeration

def _options(curve: Curve, dim: str) -> tuple[Option, ...]:
    if dim in curve.dimensions:
        return curve.dimensions[dim]
    default = {"lag": Option("l1", 1), "controls": Option("none", ()),
               "dispersion": Option("constant", ()), "outcome_form": Option("count", "count"),
               "year_effects": Option("noye", False),
               "inference": Option("cluster", "cluster")}.get(dim)
    return (default,) if default is not None else (Option(NA, None),)


def _applies(dim: str, est: dict) -> bool:
    from regrowth.models import registry

    if dim == "dispersion":
        return registry.get(est["estimator"]).dispersion
    if dim == "outcome_form":
        return registry.get(est["estimator"]).exposure
    return True


def _regressor(var: str, lag: int) -> str:
    return f"{var}_l{lag}"


def enumerate_specs(curve: Curve) -> tuple[list[Spec], list[dict]]:
    """All specifications of ``curve`` in a fixed order, and the excluded ones with reasons.

    The product runs over the dimensions in ``DIMENSIONS`` order (inference innermost, so the
    specifications of one model are adjacent). A dimension that does not apply to an
    estimator takes the option ``-`` and duplicates are removed; then the declared exclusions
    are applied. Returns ``(specs, excluded)``; ``excluded`` rows are ``{id, reason}``.
    """
    dims = [d for d in DIMENSIONS if d in curve.dimensions or d in
            ("lag", "controls", "dispersion", "outcome_form", "year_effects", "inference")]
    opts = {d: _options(curve, d) for d in dims}
    shown = [d for d in dims if d in curve.dimensions]   # dims that appear in ids
    specs, excluded, seen = [], [], set()
    for combo in product(*(opts[d] for d in dims)):
        pick = dict(zip(dims, combo))
        est = pick["estimator"].value
        for d in dims:
            if not _applies(d, est):
                pick[d] = Option(NA, None)
        key = tuple(pick[d].name for d in dims)
        if key in seen:
            continue
        seen.add(key)
        choices = tuple((d, pick[d].name) for d in shown)
        sid = ".".join(n for _, n in choices)
        model_id = ".".join(n for d, n in choices if d != "inference")
        reason = next((r for cond, r in curve.exclude
                       if all(dict(choices).get(d) in names for d, names in cond.items())), None)
        if reason is not None:
            excluded.append({"id": sid, "reason": reason})
            continue
        lag = pick["lag"].value
        focal = tuple((role, _regressor(pick[role].value, lag)) for role in FOCAL_ROLES
                      if role in curve.dimensions)
        regs = list(dict.fromkeys([t for _, t in focal] + list(pick["controls"].value)))
        exposure = curve.exposure if pick["outcome_form"].value == "exposure" else None
        specs.append(Spec(
            curve=curve.id, id=sid, model_id=model_id, choices=choices,
            estimator=est["estimator"], province_effects=est["province_effects"],
            options=dict(est["options"]), outcome=curve.outcome,
            focal_terms=tuple((r, t) for r, t in focal if r in curve.focal),
            regressors=tuple(regs), dispersion=tuple(pick["dispersion"].value or ()),
            exposure=exposure, year_effects=bool(pick["year_effects"].value),
            sample=pick["sample"].value, inference=pick["inference"].value, cluster=curve.cluster))
    return specs, excluded


def spec_seed(curve_seed: int, key: str) -> int:
    """The 32-bit seed of one model (or null draw): SeedSequence(curve seed, sha256(key))."""
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    words = [int.from_bytes(digest[i:i + 4], "little") for i in range(0, 16, 4)]
    return int(np.random.SeedSequence([int(curve_seed), *words]).generate_state(1)[0])


# ============================================================================ data

def prepare_panel(panel: pd.DataFrame, curves) -> pd.DataFrame:
    """The panel plus the lags the curves need and the panel does not store.

    Adds ``<var>_l<k>`` for lags the panel lacks: the value of the same province in calendar
    year t-k, missing if that year is missing (the panel's own lag rule). Nothing is written
    back to ``data/processed``.
    """
    out = panel.copy()
    years = out.index.get_level_values("year")
    regions = out.index.get_level_values("region")
    for curve in curves:
        lags = [o.value for o in _options(curve, "lag")]
        for role in FOCAL_ROLES:
            for o in curve.dimensions.get(role, ()):
                for k in lags:
                    name = _regressor(o.value, k)
                    if name in out:
                        continue
                    src = out[o.value].astype(float)
                    shifted = pd.Series(src.to_numpy(), index=pd.MultiIndex.from_arrays(
                        [regions, years + k], names=["region", "year"]))
                    out[name] = shifted.reindex(out.index).to_numpy()
    return out


# ============================================================================ adapters

def _column_spec(spec: Spec, se_type: str, se_groups):
    from regrowth.specs import ColumnSpec, Sample

    s = spec.sample
    return ColumnSpec(
        table=spec.curve, id=spec.id, label=spec.id, title=spec.id, estimator=spec.estimator,
        outcome=spec.outcome, regressors=tuple(spec.regressors), dispersion=spec.dispersion,
        exposure=spec.exposure, year_effects=spec.year_effects,
        province_effects=spec.province_effects,
        sample=Sample(s["years"][0], s["years"][1], tuple(s["exclude"]), tuple(s["drop_if"])),
        se_type=se_type, se_groups=se_groups, options=dict(spec.options), rationale="curve")


def _se_type(spec: Spec) -> str:
    """The analytic covariance a specification's inference choice needs (``se.type``)."""
    from regrowth.models import registry

    entry = registry.get(spec.estimator)
    inf = spec.inference
    if spec.estimator in MODEL_SE:
        if inf not in ("model", "bootstrap"):
            raise Unavailable(f"inference {inf!r}: {entry.stata} reports only its own "
                              f"({MODEL_SE[spec.estimator]}) covariance")
        return MODEL_SE[spec.estimator]
    wanted = {"model": entry.default_se, "robust": "robust", "cluster": "cluster",
              "bootstrap": "cluster", "kernel": "kernel", "cr2": "cluster"}[inf]
    if wanted not in entry.se_types:
        raise Unavailable(f"inference {inf!r}: se.type {wanted!r} is not available for "
                          f"{spec.estimator} (available: {', '.join(entry.se_types)})")
    return wanted


def _fit_one(spec: Spec, panel: pd.DataFrame):
    """Fit one specification; return ``(fitted, clusters)`` or raise.

    ADAPTER (the only call into the estimators): ``regrowth.replicate.fit_column`` with a
    ``ColumnSpec`` built from the choices, so every estimator of the registry
    (``regrowth.models.registry``: gnb, nb2, poisson, fgls, pcse, fe, re, pooled; year and
    province effects as the registry implements them) is reachable by name. ``fitted`` offers
    ``.coefs`` (term, estimate, std_error, p_value, ci_low, ci_high), ``.stats`` (nobs,
    converged), ``.warnings`` and ``.result``; ``clusters`` is the cluster id of each
    estimation-sample row (for the bootstrap and CR2).
    """
    from regrowth import replicate

    se_type = _se_type(spec)
    col = _column_spec(spec, se_type, spec.cluster if se_type == "cluster" else None)
    data, _ = replicate.estimation_sample(col, panel)
    if data.empty:
        raise SpecificationError("no observations in the sample with every variable observed")
    fitted = replicate.fit_column(col, panel)
    return fitted, _clusters(data, spec.cluster)


def _clusters(data: pd.DataFrame, groups: str) -> np.ndarray:
    if groups in data.index.names:
        return data.index.get_level_values(groups).to_numpy()
    return data[groups].to_numpy()


def _bootstrap_p(fitted, term: str, clusters, reps: int, weights: str, seed: int) -> dict:
    """Bootstrap p-value of ``term`` = 0: ``{"p": float, "method": str, "reps": int}``.

    ADAPTER (the only call into the bootstrap): ``regrowth.inference.boottest(results, param,
    clusters=..., reps=..., weights=..., seed=..., ci=False)`` (issue 9): wild cluster
    restricted bootstrap after linear models (on the GLS-transformed model after FGLS/RE),
    score bootstrap after ML. No confidence set (``ci=False``): only the p-value is kept.
    Raises :class:`Unavailable` when that function is not installed.
    """
    try:
        from regrowth.inference import boottest
    except ImportError:
        raise Unavailable("bootstrap p-value: regrowth.inference.boottest is not on this branch "
                          "(wild/score bootstrap, issue 9)") from None
    res = boottest(fitted.result, term, clusters=clusters, reps=reps, weights=weights, seed=seed,
                   ci=False)
    return {"p": float(res.pvalue), "method": str(getattr(res, "method", "")),
            "reps": int(getattr(res, "reps", reps))}


def _cr2(fitted, term: str, clusters) -> dict:
    """CR2 (Bell-McCaffrey) SE, Satterthwaite-t p-value and 95% interval of ``term``.

    ADAPTER (the only call into CR2): ``regrowth.inference.cr2(results, clusters=...,
    terms=[term])`` (issue 9), linear models (pooled OLS, FE, RE) only.
    """
    try:
        from regrowth.inference import cr2
    except ImportError:
        raise Unavailable("inference 'cr2': regrowth.inference.cr2 is not on this branch "
                          "(issue 9)") from None
    res = cr2(fitted.result, clusters=clusters, terms=[term])
    ci = res.conf_int().loc[term]
    return {"std_error": _finite(res.std_errors[term]), "p_value": _finite(res.pvalues[term]),
            "ci_low": _finite(ci["lower"]), "ci_high": _finite(ci["upper"])}


# ============================================================================ fitting

def _finite(x) -> float | None:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _term_row(fitted, term: str) -> dict:
    c = fitted.coefs
    rows = c[c["term"] == term]
    if "equation" in c:
        mean = rows[rows["equation"].isin(["mean", "main", None])]
        rows = mean if len(mean) else rows.iloc[:1]
    if rows.empty:
        raise RegrowthError(f"term {term!r} is not in the fitted model (dropped as collinear?)")
    r = rows.iloc[0]
    return {"estimate": _finite(r["estimate"]), "std_error": _finite(r["std_error"]),
            "p_value": _finite(r["p_value"]), "ci_low": _finite(r["ci_low"]),
            "ci_high": _finite(r["ci_high"])}


class _Recorded(RegrowthError):
    """A reason already formatted by :func:`_short` (re-raised as it is)."""


def _short(exc: BaseException) -> str:
    if isinstance(exc, _Recorded):
        return str(exc)
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}"[:400]


def fit_model_group(curve: Curve, specs: list[Spec], panel: pd.DataFrame) -> list[dict]:
    """Fit the specifications of one model (same model id, each inference choice).

    One fit per distinct analytic covariance (the ``bootstrap`` choice reuses the cluster
    fit), one bootstrap p-value per focal term for the model. Returns one record per spec.
    """
    cache: dict[tuple, tuple] = {}
    boot: dict[str, dict] = {}
    boot_done = False
    records = []
    for spec in specs:
        rec = {"id": spec.id, "model": spec.model_id, "choices": dict(spec.choices),
               "estimator": spec.estimator, "inference": spec.inference, "nobs": None,
               "n_clusters": None, "converged": None, "warnings": [], "error": None,
               "terms": {}}
        key = ("cluster" if spec.inference in ("bootstrap", "cr2") else spec.inference,)
        try:
            if key not in cache:
                try:
                    cache[key] = (_fit_one(spec, panel), None)
                except (RegrowthError, ValueError, ArithmeticError, np.linalg.LinAlgError,
                        RuntimeError, KeyError, IndexError, TypeError) as exc:
                    cache[key] = (None, exc)
            out, exc = cache[key]
            if exc is not None:
                raise exc
            fitted, clusters = out
            rec["nobs"] = int(fitted.stats.get("nobs", len(clusters)))
            rec["n_clusters"] = len(set(clusters))
            conv = fitted.stats.get("converged", True)
            rec["converged"] = bool(conv) if conv is not None else True
            rec["warnings"] = list(fitted.warnings)
            if not boot_done:
                boot_done = True
                for role, term in spec.focal_terms:
                    if curve.reps == 0:
                        boot[role] = {"p": None, "error": "bootstrap switched off (reps = 0)"}
                        continue
                    try:
                        seed = spec_seed(curve.seed, f"{spec.model_id}|{role}")
                        boot[role] = _bootstrap_p(fitted, term, clusters, curve.reps,
                                                  curve.weights, seed)
                        boot[role]["seed"] = seed
                    except Exception as bexc:  # noqa: BLE001 - listed as a failure, never silent
                        boot[role] = {"p": None, "error": _short(bexc)}
            for role, term in spec.focal_terms:
                row = {"term": term, **_term_row(fitted, term)}
                if spec.inference == "cr2":
                    row.update(_cr2(fitted, term, clusters))
                b = boot.get(role, {})
                row["boot_p"] = b.get("p")
                if b.get("error"):
                    row["boot_error"] = b["error"]
                if spec.inference == "bootstrap":
                    if b.get("p") is None:   # no p-value of record: the spec failed
                        raise _Recorded(b.get("error") or "bootstrap p-value missing")
                    row["p_value"] = b.get("p")
                rec["terms"][role] = row
        except Exception as exc:  # noqa: BLE001 - a failed spec is recorded with its reason
            rec["error"] = _short(exc)
            rec["terms"] = {role: {"term": term} for role, term in spec.focal_terms}
        records.append(rec)
    return records


def _rss_mb() -> float:
    """Resident set size of this process now, in MB (Linux /proc; 0 elsewhere)."""
    try:
        with open("/proc/self/statm") as fh:
            pages = int(fh.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 1e6
    except (OSError, ValueError, IndexError):
        return 0.0


_BLAS_SYMBOLS = (("scipy_openblas_get_num_threads64_", "scipy_openblas_set_num_threads64_"),
                 ("scipy_openblas_get_num_threads", "scipy_openblas_set_num_threads"),
                 ("openblas_get_num_threads64_", "openblas_set_num_threads64_"),
                 ("openblas_get_num_threads", "openblas_set_num_threads"))


@contextlib.contextmanager
def one_blas_thread():
    """Run the block with every loaded OpenBLAS on one thread, then restore its setting.

    Floating-point sums in multi-threaded BLAS can depend on the thread count (CR2 works on
    n x n matrices, large enough for OpenBLAS to split), so every backend fits with one
    BLAS thread per process: joblib and Dask workers already do (they set
    ``OMP_NUM_THREADS`` and friends at start), the serial backend runs in this process and
    needs it set here. This is what ``threadpoolctl.threadpool_limits(1, "blas")`` does;
    that package is not among the pinned libraries, so the OpenBLAS calls are made directly
    through ctypes on the libraries this process has loaded (Linux ``/proc/self/maps``;
    elsewhere the block runs unchanged).
    """
    import ctypes

    saved = []
    try:
        with open("/proc/self/maps", encoding="utf-8") as fh:
            paths = sorted({line.split()[-1] for line in fh
                            if "openblas" in line.lower() and ".so" in line})
    except OSError:
        paths = []
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for get, put in _BLAS_SYMBOLS:
            if hasattr(lib, get) and hasattr(lib, put):
                getter, setter = getattr(lib, get), getattr(lib, put)
                getter.restype = ctypes.c_int
                saved.append((setter, int(getter())))
                setter(ctypes.c_int(1))
                break
    try:
        yield
    finally:
        for setter, n in saved:
            setter(ctypes.c_int(n))


def run_batch(curve: Curve, groups: list[list[Spec]], panel: pd.DataFrame) -> dict:
    """Fit a batch of model groups. Returns ``{"records": [...], "meta": {...}}``.

    ``meta`` (pid, seconds, RSS in MB after the batch) is for benchmarks and the log only;
    it never enters the JSON output.
    """
    t0 = time.perf_counter()
    records = []
    with warnings.catch_warnings(), one_blas_thread():
        warnings.simplefilter("ignore")
        for g in groups:
            records += fit_model_group(curve, g, panel)
    return {"records": records, "meta": {"pid": os.getpid(), "seconds": time.perf_counter() - t0,
                                         "rss_mb": _rss_mb(), "n_fits": sum(len(g) for g in groups)}}


def _batches(items: list, size: int) -> list[list]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def group_specs(specs: list[Spec]) -> list[list[Spec]]:
    """Consecutive specifications of the same model, as lists (enumeration order kept)."""
    groups: list[list[Spec]] = []
    for s in specs:
        if groups and groups[-1][0].model_id == s.model_id:
            groups[-1].append(s)
        else:
            groups.append([s])
    return groups


# ============================================================================ backends

BACKENDS = ("serial", "processes", "dask")


class Executor:
    """Runs ``fn(*args, item)`` over items on a backend and returns results in item order.

    ``serial`` runs in this process; ``processes`` uses joblib (loky) with ``workers``
    processes; ``dask`` connects to ``scheduler`` (or ``$REGROWTH_DASK_SCHEDULER``), or else
    starts a ``LocalCluster(n_workers=workers, threads_per_worker=1, processes=True)`` and
    closes it on exit. ``shared`` objects (the panel, the curve) are sent to each worker
    once (``scatter(broadcast=True)``) on Dask, and with each task on joblib.
    """

    def __init__(self, backend: str = "serial", workers: int | None = None,
                 scheduler: str | None = None):
        if backend not in BACKENDS:
            raise SpecificationError(f"--backend {backend!r}: choose one of {', '.join(BACKENDS)}")
        self.backend = backend
        self.workers = int(workers or os.cpu_count() or 1)
        self.scheduler = scheduler or os.environ.get("REGROWTH_DASK_SCHEDULER") or None
        self._client = None
        self._cluster = None

    def __enter__(self):
        if self.backend == "dask":
            from distributed import Client, LocalCluster

            if self.scheduler:
                self._client = Client(self.scheduler)
            else:
                self._cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1,
                                             processes=True, dashboard_address=None,
                                             host="127.0.0.1", silence_logs=40)
                self._client = Client(self._cluster)
        return self

    def __exit__(self, *exc):
        if self._client is not None:
            self._client.close()
        if self._cluster is not None:
            self._cluster.close()
        self._client = self._cluster = None

    def map(self, fn, items: list, *shared) -> list:
        if self.backend == "serial" or not items:
            return [fn(*shared, it) for it in items]
        if self.backend == "processes":
            from joblib import Parallel, delayed

            return Parallel(n_jobs=self.workers, backend="loky")(
                delayed(fn)(*shared, it) for it in items)
        client = self._client
        # one future per shared object (a list would be scattered element-wise); unique keys
        # (hash=False) so a second map's scatter never aliases data a first one released
        scattered = [client.scatter([obj], broadcast=True, hash=False)[0] for obj in shared]
        futures = [client.submit(fn, *scattered, it, pure=False) for it in items]
        try:
            return client.gather(futures)
        finally:
            del futures, scattered


def _batch_task(curve: Curve, panel: pd.DataFrame, groups: list[list[Spec]]) -> dict:
    return run_batch(curve, groups, panel)


# ============================================================================ the curve

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
    already went through :func:`prepare_panel`.
    """
    data = panel if prepared else prepare_panel(panel, [curve])
    specs, excluded = enumerate_specs(curve)
    groups = group_specs(specs)
    batches = _batches(groups, curve.batch_size)
    outs = executor.map(_batch_task, batches, curve, data)
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


# ============================================================================ null curve

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
    from dataclasses import replace

    return replace(spec, sample={**spec.sample, "exclude": ()})


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
    outs = executor.map(_null_task, _batches(draws, per_task), curve, jobs, data)
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
            "p_median": (float(np.mean(np.abs(m) >= abs(obs_med))) if m.size and obs_med is not None
                         else None),
            "p_share_p05": (float(np.mean(s >= obs_sig)) if s.size and obs_sig is not None
                            else None),
        }
    return result


# ============================================================================ output

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
    from regrowth.io import write_text

    out = Path(out_dir)
    cid = record["curve"]
    written = [write_text(out / f"{cid}.json", to_json(record))]
    frame = to_frame(record)
    written.append(write_text(out / f"{cid}.csv", frame.to_csv(index=False, lineterminator="\n",
                                                               float_format="%.10g")))
    from regrowth.curve import figure as curve_figure

    for role in record["focal"]:
        written.append(curve_figure.specification_curve(record, role, out / f"{cid}_{role}.png"))
    if record.get("null"):
        written.append(curve_figure.null_distribution(record, out / f"{cid}_null.png"))
    return written


def run(specs: str | Path = "specs/models.toml", processed_dir: str | Path = "data/processed",
        results_dir: str | Path = RESULTS, ids: list[str] | None = None, backend: str = "serial",
        workers: int | None = None, scheduler: str | None = None, quiet: bool = False) -> int:
    """``regrowth curve``: fit and write every requested curve; return the exit status.

    Exit status 0 if every curve was written (failed specifications are listed in the output
    and do not change the status), 2 for a specification error.
    """
    from regrowth import panel as panel_mod

    panel = panel_mod.load(processed_dir)
    curves = load(specs, list(panel.columns))
    if not curves:
        raise SpecificationError(f"{specs}: no [[curve]] block is specified")
    known = [c.id for c in curves]
    if ids:
        bad = [i for i in ids if i not in known]
        if bad:
            raise SpecificationError(f"--id {bad[0]!r} is not a curve in {specs}"
                                     f"{_did_you_mean(bad[0], known)} (curves: {', '.join(known)})")
        curves = tuple(c for c in curves if c.id in ids)
    data = prepare_panel(panel, curves)
    from regrowth import io

    out = Path(results_dir)
    with Executor(backend, workers, scheduler) as ex:
        for c in curves:
            t0 = time.perf_counter()
            rec = run_curve(c, data, ex, prepared=True)
            # staged and published as one transaction (regrowth.io): a killed run leaves the
            # curve's previous JSON/CSV/figures or the new ones, never a mix; runs serialise
            with io.Transaction(out, prune=False) as tx:
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
