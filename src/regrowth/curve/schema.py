"""The ``[[curve]]`` blocks of the specification file: their keys, checked strictly.

A curve's samples are parsed as a column's ``sample`` is, its bootstrap weights and defaults
are those of :mod:`regrowth.inference.weights`, its estimators and their options come from the
estimator registry, ids follow the spec file's rule: one vocabulary for the whole file. See
:mod:`regrowth.curve` for what the dimensions mean.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from regrowth.errors import RegrowthError, SpecificationError
from regrowth.inference.weights import DEFAULT_REPS, DEFAULT_WEIGHTS, MAX_REPS, WEIGHTS
from regrowth.models import registry
from regrowth.models.registry import did_you_mean
from regrowth.specs import read_document
from regrowth.specs.parse import ID_PATTERN, Problems, parse_sample

__all__ = ["Curve", "Option", "Unavailable", "validate", "load", "check_size", "DIMENSIONS",
           "FOCAL_ROLES", "INFERENCE", "INFERENCE_FOR", "NA", "RESULTS", "MAX_SPECIFICATIONS",
           "NULL_METHODS", "NULL_METHODS_FOR"]

RESULTS = Path("results") / "curve"


ID_RE = ID_PATTERN


DIMENSIONS = ("decentralization", "innovation", "lag", "controls", "dispersion", "outcome_form",
              "estimator", "year_effects", "sample", "inference")


FOCAL_ROLES = ("decentralization", "innovation")




INFERENCE = ("model", "robust", "cluster", "cr2", "kernel", "bootstrap")


INFERENCE_FOR = {"count": ("model", "robust", "cluster", "bootstrap"),
                 "linear": ("model", "robust", "cluster", "cr2", "kernel", "bootstrap")}




CURVE_KEYS = {"id", "title", "outcome", "focal", "seed", "bootstrap", "exposure", "cluster",
              "null_draws", "null_method", "batch_size", "rationale", "dimensions", "exclude",
              "max_specifications"}

#: how the null draws are computed, per curve family (the first is the family's default).
#: Linear curves: "linear" (each linear specification's estimate as a linear map of the null
#: outcome, see :mod:`regrowth.curve.linear_null`) or "refit" (every specification refitted
#: per draw: the validation reference). Count curves: "score" (the score bootstrap from each
#: model's restricted fit; the statistic of record is boottest's score t after ML, see
#: :mod:`regrowth.curve.count_null`).
NULL_METHODS_FOR = {"linear": ("linear", "refit"), "count": ("score",)}

#: every null method of any family
NULL_METHODS = tuple(m for ms in NULL_METHODS_FOR.values() for m in ms)

#: The default limit on a curve's combinations (the product of its dimensions' option counts,
#: before inapplicable options collapse and exclusions apply), checked before anything is
#: enumerated; a ``[[curve]]`` block raises it with ``max_specifications = N``. 10^5
#: specifications take hours on a laptop; ten million do not fit in its memory.
MAX_SPECIFICATIONS = 100_000


BOOTSTRAP_KEYS = {"reps", "weights"}




ESTIMATOR_KEYS = {"estimator", "options", "province_effects"}


EXCLUDE_KEYS = {"when", "reason"}


NA = "-"  # the option of a dimension that does not apply to a specification


class Unavailable(RegrowthError):
    """An estimator or inference choice this installation cannot compute (reason in the text)."""


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
    reps: int = DEFAULT_REPS
    weights: str = DEFAULT_WEIGHTS
    exposure: str | None = None
    cluster: str = "region"
    null_draws: int = 0
    null_method: str = "linear"      # the family's default when not declared (NULL_METHODS_FOR)
    batch_size: int = 16
    max_specifications: int = MAX_SPECIFICATIONS


def _err(where: str, message: str) -> SpecificationError:
    return SpecificationError(f"{where}: {message}")


def _did_you_mean(key: str, allowed) -> str:
    return did_you_mean(key, sorted(allowed))


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


def _int(value, where: str, minimum: int | None = None, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _err(where, f"must be an integer, not {value!r}")
    if minimum is not None and value < minimum:
        raise _err(where, f"must be >= {minimum}, not {value}")
    if maximum is not None and value > maximum:
        raise _err(where, f"must be <= {maximum:,}, not {value:,}")
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
    """A sample option, parsed as a column's ``sample`` is (:func:`regrowth.specs.parse.parse_sample`)."""
    problems = Problems("", dotted=True)
    if not isinstance(raw, dict):
        raise _err(where, f"must be a table {{years = [a, b], ...}}, not {type(raw).__name__}")
    sample = parse_sample(raw, problems, where, prefix="")
    if problems.lines:
        raise SpecificationError(problems.lines[0])
    drop_if = _variables(list(sample.drop_if), columns, f"{where}.drop_if")
    return {"years": (sample.first_year, sample.last_year), "exclude": sample.exclude,
            "drop_if": drop_if}


def _named_lists(raw, where: str, columns: set) -> tuple[Option, ...]:
    if not isinstance(raw, dict) or not raw:
        raise _err(where, "must be a table of name = [variables]")
    return tuple(Option(_id(k, f"{where}.{k}"), _variables(v, columns, f"{where}.{k}"))
                 for k, v in raw.items())


def _estimators(raw, where: str) -> tuple[Option, ...]:
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


def _header(raw: dict, where: str, columns: set) -> dict:
    """The curve's scalar keys: title, rationale, outcome, seed, bootstrap, cluster, exposure,
    null draws and batch size."""
    boot = raw.get("bootstrap", {"reps": DEFAULT_REPS, "weights": DEFAULT_WEIGHTS})
    _check_keys(boot, BOOTSTRAP_KEYS, f"{where}.bootstrap")
    weights = boot.get("weights", DEFAULT_WEIGHTS)
    if weights not in WEIGHTS:
        raise _err(f"{where}.bootstrap.weights",
                   f"{weights!r} is not one of {WEIGHTS}{_did_you_mean(weights, WEIGHTS)}")
    exposure = raw.get("exposure")
    return {
        "title": _text(raw.get("title"), f"{where}.title"),
        "rationale": _text(raw.get("rationale"), f"{where}.rationale"),
        "outcome": _variable(raw.get("outcome"), columns, f"{where}.outcome"),
        "seed": _int(raw.get("seed"), f"{where}.seed", 0),
        "reps": _int(boot.get("reps", DEFAULT_REPS), f"{where}.bootstrap.reps", 0, MAX_REPS),
        "weights": weights,
        "cluster": _variable(raw.get("cluster", "region"), columns, f"{where}.cluster"),
        "exposure": None if exposure is None else _variable(exposure, columns, f"{where}.exposure"),
        "null_draws": _int(raw.get("null_draws", 0), f"{where}.null_draws", 0),
        "null_method": _null_method(raw.get("null_method"), f"{where}.null_method"),
        "batch_size": _int(raw.get("batch_size", 16), f"{where}.batch_size", 1),
        "max_specifications": _int(raw.get("max_specifications", MAX_SPECIFICATIONS),
                                   f"{where}.max_specifications", 1),
    }


def _null_method(value, where: str) -> str | None:
    """The declared null method (None when the key is absent: the family's default is set
    once the family is known, :func:`_family_null_method`)."""
    if value is not None and value not in NULL_METHODS:
        raise _err(where, f"{value!r} is not one of {NULL_METHODS}"
                          f"{_did_you_mean(str(value), NULL_METHODS)}")
    return value


def _family_null_method(value: str | None, family: str, where: str) -> str:
    """``value`` checked against the curve's family (:data:`NULL_METHODS_FOR`), or the
    family's default when it was not declared."""
    allowed = NULL_METHODS_FOR[family]
    if value is None:
        return allowed[0]
    if value not in allowed:
        other = next(f for f, ms in NULL_METHODS_FOR.items() if value in ms)
        raise _err(where, f"{value!r} is a null method of {other} curves; this is a {family} "
                          f"curve, whose null method is {' or '.join(map(repr, allowed))} "
                          f"(default {allowed[0]!r}; or leave null_method out)")
    return value


def _lags(dims_raw: dict, dw: str) -> tuple[int, ...]:
    if "lag" not in dims_raw:
        return (1,)
    lv = dims_raw["lag"]
    if not isinstance(lv, list) or not lv:
        raise _err(f"{dw}.lag", "must be a non-empty list of lags in years, e.g. [1, 2]")
    lags = tuple(_int(v, f"{dw}.lag[{j}]", 1) for j, v in enumerate(lv))
    if len(set(lags)) != len(lags):
        raise _err(f"{dw}.lag", "lists a lag twice")
    return lags


def _focal_dimension(vals, dw: str, role: str, lags, columns: set) -> tuple[Option, ...]:
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
    return tuple(opts)


def _dimensions(dims_raw, where: str, columns: set, exposure) -> tuple[dict, str]:
    """Every declared dimension as options, and the curve's family (count or linear)."""
    if not isinstance(dims_raw, dict):
        raise _err(f"{where}.dimensions", "is required: a table of the choices to vary")
    _check_keys(dims_raw, set(DIMENSIONS), f"{where}.dimensions")
    dw = f"{where}.dimensions"
    dims: dict[str, tuple[Option, ...]] = {}
    lags = _lags(dims_raw, dw)
    if "lag" in dims_raw:
        dims["lag"] = tuple(Option(f"l{k}", k) for k in lags)
    for role in FOCAL_ROLES:
        if role in dims_raw:
            dims[role] = _focal_dimension(dims_raw[role], dw, role, lags, columns)
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
    return dims, family


def _focal(raw: dict, where: str, dims: dict) -> tuple[str, ...]:
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
    return tuple(dict.fromkeys(focal))


def _exclusions(raw: dict, where: str, dims: dict) -> tuple:
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
    return tuple(excl)


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
    head = _header(raw, where, columns)
    dims, family = _dimensions(raw.get("dimensions"), where, columns, head["exposure"])
    focal = _focal(raw, where, dims)
    head["null_method"] = _family_null_method(head["null_method"], family,
                                              f"{where}.null_method")
    curve = Curve(id=cid, focal=focal, family=family,
                  dimensions={d: dims[d] for d in DIMENSIONS if d in dims},
                  exclude=_exclusions(raw, where, dims), **head)
    check_size(curve, f"{where}.dimensions")
    return curve


def check_size(curve: Curve, where: str | None = None) -> int:
    """The number of combinations of ``curve`` (the product of its dimensions' option counts);
    raises SpecificationError naming the sizes when it exceeds ``curve.max_specifications``.

    Computed from the counts alone, so a curve of tens of millions is refused before a
    single specification is enumerated.
    """
    sizes = {d: len(opts) for d, opts in curve.dimensions.items()}
    n = 1
    for k in sizes.values():
        n *= k
    if n > curve.max_specifications:
        shown = " x ".join(f"{d} {k}" for d, k in sizes.items())
        raise _err(where or f"curve {curve.id!r}.dimensions",
                   f"{n:,} combinations of the dimensions ({shown}) exceed the limit of "
                   f"{curve.max_specifications:,} specifications; drop options of the largest "
                   f"dimensions or split the curve, or raise the limit with "
                   f"max_specifications = N in the [[curve]] block (default "
                   f"{MAX_SPECIFICATIONS:,}) if the run is meant to be that large")
    return n


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
    path = Path(specs_path)
    doc = read_document(path)
    try:
        return validate(doc.get("curve", []), panel_columns)
    except SpecificationError as exc:
        raise SpecificationError(f"{path}: {exc}") from None

