"""The estimator registry: one entry per estimator kind, read by everything that names one.

Every place that needs to know about an estimator -- the specification reader
(:mod:`regrowth.specs`), the replication driver (:mod:`regrowth.replicate`), the growth-model
entry point :func:`regrowth.models.linear.fit_panel` and the table labels -- reads it from here.
Nothing else keeps a list of estimators, SE types or options.

An entry (:class:`Estimator`) declares

- ``name`` (the spec's ``estimator = "..."``), ``aliases``, ``label`` (the "Estimator" row of
  the tables), ``stata`` (the Stata command it mirrors), ``family`` ("count" | "linear");
- ``options``: :class:`Option` s (type, default, allowed values, one-line doc) accepted in the
  spec's ``options = {...}``; checked strictly (``igls = "false"`` is an error; a bool is not
  an int; an int is accepted where a float is asked);
- ``se_types`` and ``default_se``: the spec's ``se.type`` vocabulary for this estimator;
- capabilities: ``dispersion`` (a ln(alpha) equation), ``exposure``, ``year_effects``
  (``"dummies"`` | ``"time_effects"`` | ``""`` = refused), ``province_effects``
  (``"dummies"`` (LSDV) | ``"implied"`` (FE) | ``""`` = refused, with ``province_effects_note``);
- ``fit(spec, data)``: fits a :class:`regrowth.specs.ColumnSpec` on its estimation sample
  (a DataFrame on the (region, year) index) and returns the results object;
- ``reports``: extra statistics :func:`regrowth.fit.fit_column` records for the tables
  (``"lr_tests"``, ``"ar1_rho"``, ``"spatial_effects"``);
- optionally ``fit_panel(dependent_or_formula, data, *, cov_type, model_options, **cov_kwds)``:
  the estimator reachable through :func:`regrowth.models.linear.fit_panel`.

Adding an estimator
-------------------
Write one self-contained registration block at the bottom of the module that implements it,
anywhere in ``regrowth/models/`` (the registry imports every module of the package on first
use, so no list needs editing)::

    from regrowth.models.registry import Estimator, Option, register, register_se_type

    register_se_type("pcse", "panel-corrected (Beck-Katz)")   # only for a new se.type
    register(Estimator(
        name="pcse", label="xtpcse (PCSE)", stata="xtpcse", family="linear",
        doc="OLS or Prais-Winsten coefficients with Beck-Katz panel-corrected SEs",
        options=(Option("correlation", "str", "independent", "xtpcse correlation()",
                        choices=("independent", "ar1", "psar1")),
                 Option("hetonly", "bool", False, "xtpcse hetonly: no cross-panel correlation")),
        se_types=("pcse",), default_se="pcse",
        year_effects="dummies", province_effects="dummies",
        fit=fit_pcse_spec,            # (ColumnSpec, DataFrame) -> results
        fit_panel=fit_pcse_formula,   # optional: fit_panel("pcse", formula, data, ...)
    ))

``fit(spec, data)`` receives the :class:`regrowth.specs.ColumnSpec` (``outcome``,
``regressors``, ``year_effects``, ``province_effects``, ``se_type``, ``se_groups``,
``options`` -- already type-checked against the entry's ``Option`` s, defaults not filled in
-- ``bootstrap``) and the estimation sample; :func:`regrowth.models.design.effect_dummies`
builds the ``year_<t>``/``province_<key>`` dummies the tables recognise. ``fit_panel`` has
the signature ``(formula_or_dependent, data, *, cov_type, model_options, **cov_kwds)``.
SE types not yet known to the registry are declared with :func:`register_se_type`; their
description is what the tables print in the "Standard errors" row. After adding an entry,
regenerate the key list at the top of ``specs/models.toml`` (``python -m regrowth.specs``;
a test compares them).
"""

from __future__ import annotations

import difflib
import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from regrowth.errors import SpecificationError
from regrowth.models import covariance

__all__ = ["Option", "Estimator", "register", "register_se_type", "get", "names", "entries",
           "se_types", "se_description", "did_you_mean", "FAMILIES"]

FAMILIES = ("count", "linear")


_TYPES = {"bool": (bool,), "int": (int,), "float": (int, float), "str": (str,)}


def did_you_mean(word: str, candidates) -> str:
    """`` (did you mean 'x'?)`` for the closest candidate (difflib), or ``""``."""
    candidates = [str(c) for c in candidates]
    lower = {c.lower(): c for c in candidates}
    close = difflib.get_close_matches(str(word).lower(), list(lower), n=1, cutoff=0.6)
    return f" (did you mean {lower[close[0]]!r}?)" if close else ""


@dataclass(frozen=True)
class Option:
    """One estimator option of the spec's ``options = {...}``.

    ``type`` is "bool", "int", "float" or "str"; ``choices`` restricts the allowed values;
    ``minimum`` bounds numbers from below; ``se_types`` (if given) are the SE types the
    option belongs to (e.g. ``bandwidth`` only with ``se.type = "kernel"``).
    """

    name: str
    type: str
    default: Any
    doc: str
    choices: tuple = ()
    minimum: float | None = None
    se_types: tuple[str, ...] = ()

    def __post_init__(self):
        if self.type not in _TYPES:
            raise ValueError(f"option {self.name!r}: type must be one of {sorted(_TYPES)}")

    def check(self, value: Any) -> Any:
        """Return ``value`` (an int given for a float becomes a float); raise ``ValueError``
        with a message saying what is wrong and what is allowed."""
        ok = isinstance(value, _TYPES[self.type]) and not (
            self.type != "bool" and isinstance(value, bool))
        if not ok:
            raise ValueError(f"must be {_article(self.type)} {self.type}, not "
                             f"{type(value).__name__} {value!r}"
                             + (" (write true/false without quotes)" if self.type == "bool"
                                and isinstance(value, str) else "")
                             + (" (write the number without quotes)"
                                if self.type in ("int", "float") and isinstance(value, str)
                                else ""))
        if self.choices and value not in self.choices:
            raise ValueError(f"{value!r} is not one of {list(self.choices)}"
                             + did_you_mean(value, self.choices))
        if self.minimum is not None and value < self.minimum:
            raise ValueError(f"must be >= {self.minimum}, got {value!r}")
        return float(value) if self.type == "float" else value


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


@dataclass(frozen=True)
class Estimator:
    """One estimator kind (see the module docstring for the fields)."""

    name: str
    label: str
    stata: str
    family: str
    fit: Callable[[Any, Any], Any]
    se_types: tuple[str, ...]
    default_se: str
    doc: str = ""
    options: tuple[Option, ...] = ()
    dispersion: bool = False
    exposure: bool = False
    year_effects: str = "dummies"
    province_effects: str = "dummies"
    province_effects_note: str = ""
    aliases: tuple[str, ...] = ()
    fit_panel: Callable[..., Any] | None = None
    #: extra statistics the fit reports for the tables: "lr_tests" (LR tests against NB2 and
    #: Poisson), "ar1_rho" (the AR(1) coefficient(s) of the errors), "spatial_effects" (the
    #: direct, indirect and total effects of a spatial-lag model, as equations of the table)
    reports: tuple[str, ...] = ()
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self):
        if self.family not in FAMILIES:
            raise ValueError(f"estimator {self.name!r}: family must be one of {FAMILIES}")
        if self.default_se not in self.se_types:
            raise ValueError(f"estimator {self.name!r}: default_se {self.default_se!r} is not "
                             f"in se_types {self.se_types}")
        if self.year_effects not in ("dummies", "time_effects", ""):
            raise ValueError(f"estimator {self.name!r}: year_effects must be 'dummies', "
                             "'time_effects' or ''")
        if self.province_effects not in ("dummies", "implied", ""):
            raise ValueError(f"estimator {self.name!r}: province_effects must be 'dummies', "
                             "'implied' or ''")
        names = [o.name for o in self.options]
        if len(set(names)) != len(names):
            raise ValueError(f"estimator {self.name!r}: an option is declared twice")

    def option(self, name: str) -> Option:
        for o in self.options:
            if o.name == name:
                return o
        raise KeyError(name)

    def option_names(self) -> tuple[str, ...]:
        return tuple(o.name for o in self.options)


_REGISTRY: dict[str, Estimator] = {}
_ALIASES: dict[str, str] = {}
_LOADED = False


def register(entry: Estimator, *, replace: bool = False) -> Estimator:
    """Add ``entry`` to the registry (and its aliases); return it.

    A second registration under the same name or alias is an error unless ``replace=True``.
    Every SE type the entry names must be known (see :func:`register_se_type`).
    """
    unknown = [s for s in entry.se_types if s not in covariance.se_types()]
    if unknown:
        raise ValueError(f"estimator {entry.name!r}: unknown SE type(s) {unknown}; declare them "
                         "with registry.register_se_type(name, description)")
    for key in (entry.name, *entry.aliases):
        owner = _ALIASES.get(key.lower())
        if owner is not None and owner != entry.name and not replace:
            raise ValueError(f"estimator name {key!r} is already taken by {owner!r}")
    if entry.name in _REGISTRY and not replace and _REGISTRY[entry.name] is not entry:
        raise ValueError(f"estimator {entry.name!r} is already registered")
    _REGISTRY[entry.name] = entry
    for key in (entry.name, *entry.aliases):
        _ALIASES[key.lower()] = entry.name
    return entry


def register_se_type(name: str, description: str, **kwargs) -> None:
    """Declare an SE type (``se.type`` value) and the description the tables print
    (:func:`regrowth.models.covariance.register_se_type`, which also takes ``needs_groups``
    and ``reference``)."""
    covariance.register_se_type(name, description, **kwargs)


def _load() -> None:
    """Import every module of ``regrowth.models`` once, so their registration blocks run."""
    global _LOADED
    if _LOADED:
        return
    _LOADED = True
    package = importlib.import_module(__package__)   # regrowth.models, by name: no cycle
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if not info.name.startswith("_") and info.name not in ("registry", "covariance"):
            importlib.import_module(f"regrowth.models.{info.name}")


def entries() -> tuple[Estimator, ...]:
    """Every registered estimator, the built-in ones first, in a stable order."""
    _load()
    order = ("gnb", "nb2", "poisson", "fgls", "re", "fe", "pooled")
    return tuple(sorted(_REGISTRY.values(),
                        key=lambda e: (order.index(e.name) if e.name in order else len(order),
                                       e.name)))


def names() -> tuple[str, ...]:
    """Names of every registered estimator (the spec's ``estimator`` vocabulary)."""
    return tuple(e.name for e in entries())


def get(name: str, *, what: str = "estimator") -> Estimator:
    """The entry for ``name`` (or an alias, case-insensitive).

    Raises :class:`~regrowth.errors.SpecificationError` naming the registered estimators and
    the closest one.
    """
    _load()
    key = _ALIASES.get(str(name).lower())
    if key is None:
        raise SpecificationError(f"unknown {what} {name!r}{did_you_mean(name, list(_ALIASES))}; "
                                 f"choose one of {list(names())}")
    return _REGISTRY[key]


def se_types() -> tuple[str, ...]:
    """Every SE type some estimator may use."""
    _load()
    return covariance.se_types()


def se_description(se_type: str) -> str:
    """The description the tables print for ``se_type`` (the name itself if unknown)."""
    _load()
    try:
        return covariance.se_type(se_type).description
    except KeyError:
        return se_type
