"""The vocabulary of the specification file, parsed once: samples, bootstraps, ids, problems.

Every reader of ``specs/models.toml`` -- the tables' columns (:mod:`regrowth.specs`), the
analyses declared on a table (:mod:`regrowth.analyses`) and the specification curves
(:mod:`regrowth.curve.schema`) -- parses a sample, a bootstrap, an id or a list of variables
through the functions here, and reports what is wrong through one :class:`Problems`
collector, so a problem reads the same wherever it is found::

    specs/models.toml: table 'table1_innovation', column 'gnb_main': key 'sample.exlude':
        unknown key (did you mean 'exclude'?); allowed: drop_if, exclude, years

The bootstrap weights and defaults are those of :mod:`regrowth.inference` (one place).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from regrowth import regions
from regrowth.errors import SpecificationError, UnknownRegionError
from regrowth.inference.weights import DEFAULT_REPS, DEFAULT_SEED, DEFAULT_WEIGHTS, MAX_REPS, WEIGHTS
from regrowth.models.registry import did_you_mean

__all__ = ["ID_PATTERN", "SAMPLE_KEYS", "BOOTSTRAP_KEYS", "TEST_KEYS", "Sample", "Bootstrap",
           "TermTest", "Problems",
           "parse_sample", "parse_bootstrap", "parse_exclude", "valid_id", "unknown", "text",
           "boolean", "strings", "table_of", "type_name"]

ID_PATTERN = re.compile(r"^[a-z0-9_]+$")
SAMPLE_KEYS = ("years", "exclude", "drop_if")
BOOTSTRAP_KEYS = ("reps", "weights", "seed", "impose_null")
#: keys of one coefficient's own test, ``se.tests.<term> = { groups, bootstrap }``
TEST_KEYS = ("groups", "bootstrap")


@dataclass(frozen=True)
class Sample:
    """Years (inclusive), provinces excluded (region keys), 0/1 flags whose 1-rows are dropped."""

    first_year: int
    last_year: int
    exclude: tuple[str, ...] = ()
    drop_if: tuple[str, ...] = ()

    def describe(self) -> str:
        text = f"{self.first_year}-{self.last_year}"
        if self.exclude:
            text += ", excluding " + ", ".join(self.exclude)
        if self.drop_if:
            text += ", dropping rows flagged " + ", ".join(self.drop_if)
        return text


@dataclass(frozen=True)
class Bootstrap:
    """Wild (cluster) bootstrap settings of a column: ``se.bootstrap`` in the spec."""

    reps: int = DEFAULT_REPS
    weights: str = DEFAULT_WEIGHTS
    seed: int = DEFAULT_SEED
    impose_null: bool = True


@dataclass(frozen=True)
class TermTest:
    """The test of one coefficient that clusters differently from its column:
    ``se.tests.<term> = { groups = "macro_region", bootstrap = {...} }`` in the spec.

    ``groups`` is the panel column its wild/score bootstrap clusters on (the level at which the
    regressor varies); ``bootstrap`` its settings (the column's ``se.bootstrap`` when the test
    gives none). The bootstrap p-value of this test sets the coefficient's stars where the
    column's stars follow the bootstrap.
    """

    term: str
    groups: str
    bootstrap: Bootstrap


# ----------------------------------------------------------------------------- helpers

class _Problems:
    """Collects every problem of a file; raises them together."""

    def __init__(self, path: Path | str, *, dotted: bool = False):
        self.path = path
        #: report keys as a dotted path after ``where`` (``curve 'x'.dimensions.sample.p16.years:
        #: ...``, the curve's style) instead of ``file: where: key 'k': ...``
        self.dotted = dotted
        self.lines: list[str] = []

    def add(self, where: str, key: str | None, message: str) -> None:
        if self.dotted:
            self.lines.append(f"{where}{'.' + key if key else ''}: {message}")
            return
        parts = [str(self.path)] + ([where] if where else []) + ([f"key {key!r}"] if key else [])
        self.lines.append(": ".join(parts) + f": {message}")

    def raise_if_any(self) -> None:
        if self.lines:
            head = (f"{len(self.lines)} problems in the specification file:\n  "
                    if len(self.lines) > 1 else "")
            err = SpecificationError(head + "\n  ".join(self.lines))
            err.problems = list(self.lines)
            raise err


def _unknown(raw: dict, allowed, problems: _Problems, where: str, prefix: str = "") -> None:
    for key in raw:
        if key not in allowed:
            problems.add(where, prefix + key, "unknown key" + did_you_mean(key, allowed)
                         + f"; allowed: {', '.join(sorted(allowed))}")


def _type_name(value) -> str:
    return f"{type(value).__name__} {value!r}"


def _text(raw: dict, key: str, problems: _Problems, where: str, required: bool = True):
    value = raw.get(key)
    if value is None:
        if required:
            problems.add(where, key, "is required (a non-empty string)")
        return None
    if not isinstance(value, str) or not value.strip():
        problems.add(where, key, f"must be a non-empty string, not {_type_name(value)}")
        return None
    return value


def _bool(raw: dict, key: str, problems: _Problems, where: str, prefix: str = ""):
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, bool):
        problems.add(where, prefix + key, f"must be true or false (no quotes), not "
                                          f"{_type_name(value)}")
        return None
    return value


def _strings(raw: dict, key: str, problems: _Problems, where: str, prefix: str = "",
             what: str = "variable names") -> tuple[str, ...]:
    value = raw.get(key)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        problems.add(where, prefix + key, f"must be a list of {what} (strings), not "
                                          f"{_type_name(value)}")
        return ()
    if len(set(value)) != len(value):
        dup = sorted({v for v in value if value.count(v) > 1})
        problems.add(where, prefix + key, f"lists {', '.join(map(repr, dup))} twice")
    return tuple(dict.fromkeys(value))


def _table_of(raw, problems: _Problems, where: str, key: str) -> dict:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.add(where, key, f"must be a table {{ ... }}, not {_type_name(raw)}")
        return {}
    return raw


def _valid_id(value, problems: _Problems, where: str, what: str) -> bool:
    if not isinstance(value, str) or not ID_PATTERN.match(value):
        problems.add(where, "id", f"{what} id {value!r} must match [a-z0-9_]+ (lower-case "
                                  "letters, digits, underscores: it names files under results/)")
        return False
    return True


# ----------------------------------------------------------------------------- columns

def _exclude(raw: dict, problems: _Problems, where: str, prefix: str = "sample.") -> tuple[str, ...]:
    keys = []
    for i, name in enumerate(_strings(raw, "exclude", problems, where, prefix, "region names")):
        try:
            keys.append(regions.lookup(name).key)
        except UnknownRegionError as exc:
            key = f"{prefix}exclude[{i}]" if problems.dotted else f"{prefix}exclude"
            problems.add(where, key, f"{exc.message}"
                         + (f"; {exc.hint}" if "did you mean" not in exc.message else ""))
    return tuple(dict.fromkeys(keys))


def _sample(raw, problems: _Problems, where: str, prefix: str = "sample.") -> Sample | None:
    """A ``sample = {years, exclude, drop_if}`` table (keys reported as ``<prefix><key>``)."""
    if raw is None:
        problems.add(where, "sample", "is required: sample = { years = [first, last] }")
        return None
    raw = _table_of(raw, problems, where, prefix.rstrip(".") or "sample")
    _unknown(raw, SAMPLE_KEYS, problems, where, prefix)
    years = raw.get("years")
    ok = (isinstance(years, list) and len(years) == 2
          and all(isinstance(y, int) and not isinstance(y, bool) for y in years))
    if not ok:
        problems.add(where, f"{prefix}years", f"must be [first, last], two integer years, not "
                                              f"{_type_name(years)}")
    elif years[0] > years[1]:
        problems.add(where, f"{prefix}years", f"{years}: needs first <= last")
    exclude = _exclude(raw, problems, where, prefix)
    drop_if = _strings(raw, "drop_if", problems, where, prefix, "0/1 flag variables")
    if not ok:
        return None
    return Sample(years[0], years[1], exclude, drop_if)


def _bootstrap(raw, problems: _Problems, where: str, key: str = "se.bootstrap"
               ) -> Bootstrap | None:
    """A ``{reps, weights, seed, impose_null}`` table (problems reported under ``key``)."""
    raw = _table_of(raw, problems, where, key)
    _unknown(raw, BOOTSTRAP_KEYS, problems, where, key + ".")
    values = {"reps": DEFAULT_REPS, "weights": DEFAULT_WEIGHTS, "seed": DEFAULT_SEED,
              "impose_null": True}
    for name in ("reps", "seed"):
        if name in raw:
            v = raw[name]
            if not isinstance(v, int) or isinstance(v, bool):
                problems.add(where, f"{key}.{name}", f"must be an integer, not {_type_name(v)}")
            elif name == "reps" and v < 1:
                problems.add(where, f"{key}.reps", f"must be >= 1, got {v}")
            elif name == "reps" and v > MAX_REPS:
                problems.add(where, f"{key}.reps",
                             f"must be <= {MAX_REPS:,} (regrowth.inference.weights.MAX_REPS: "
                             f"the draws are held in memory), got {v:,}; 9,999 draws, Stata "
                             "boottest's default, are plenty for a p-value")
            elif name == "seed" and v < 0:
                problems.add(where, f"{key}.seed", f"must be >= 0, got {v}")
            else:
                values[name] = v
    if "weights" in raw:
        w = raw["weights"]
        if w not in WEIGHTS:
            problems.add(where, f"{key}.weights", f"{w!r} is not one of "
                         f"{list(WEIGHTS)}" + did_you_mean(w, WEIGHTS))
        else:
            values["weights"] = w
    impose = _bool(raw, "impose_null", problems, where, key + ".")
    if impose is not None:
        values["impose_null"] = impose
    return Bootstrap(**values)


# public names (the helpers keep their short private names inside this package)
Problems = _Problems
parse_sample = _sample
parse_bootstrap = _bootstrap
parse_exclude = _exclude
valid_id = _valid_id
unknown = _unknown
text = _text
boolean = _bool
strings = _strings
table_of = _table_of
type_name = _type_name
