"""Read and check ``specs/models.toml``, the single source of truth for what is fitted.

``load(path)`` parses the file and checks it *completely* before anything is fitted or
written, and returns the tables and their columns as frozen dataclasses. Every problem found
is reported at once, each line naming the file, the table/column and the key::

    specs/models.toml: table 'table1_innovation', column 'gnb_main': key 'sample.exlude':
        unknown key (did you mean 'exclude'?); allowed: drop_if, exclude, years

Rules (the vocabulary of estimators, their options and SE types comes from
:mod:`regrowth.models.registry`, nowhere else):

- unknown keys at every level are refused with a did-you-mean (difflib);
- values are type-checked: ``year_effects = "false"``, ``igls = "false"``, ``tol = "1e-7"``
  are errors; a bool is not an int; an int is accepted where a float is asked;
- ``sample.exclude`` names go through :mod:`regrowth.regions` (``"Sejong"``, ``"세종"``,
  ``"sejong"`` all work) and are stored as canonical region keys;
- table and column ids match ``[a-z0-9_]+`` (so they can never name a path outside
  ``results/``) and are unique; a table id may not start with ``descriptives_``;
- effects: ``year_effects``/``province_effects`` must be possible for the estimator
  (``re`` refuses province effects; ``fe`` always has them);
- ``se``: ``type`` from the estimator's SE types, ``groups`` (required with ``cluster``,
  allowed with ``bootstrap``), ``bootstrap = {reps, weights, seed, impose_null}``;
- table ``focus`` terms must be regressors of some column of the table;
- top-level ``[[curve]]`` entries are validated by ``regrowth.curve.validate(raw,
  panel_columns)`` (the multiverse module) in :func:`check_against`.

``check_against(specs, panel)`` then checks what needs the panel: every variable exists
(naming the KOSIS table that would supply a missing one), ``drop_if`` variables are 0/1 flags,
cluster ``groups`` are panel columns. :func:`check` raises on any of these.

:func:`schema_comment` renders the key list that heads ``specs/models.toml`` from the
registry (a test checks the file carries it verbatim; ``python -m regrowth.specs`` prints it).
"""

from __future__ import annotations

import importlib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from regrowth.errors import SpecificationError
from regrowth.models import registry
from regrowth.models.registry import did_you_mean

__all__ = ["Sample", "Bootstrap", "ColumnSpec", "TableSpec", "Specs", "load", "check",
           "check_against", "schema_comment", "ID_PATTERN"]

ID_PATTERN = re.compile(r"^[a-z0-9_]+$")

TOP_KEYS = ("edition", "table", "labels", "curve")
EDITION_KEYS = ("name", "summary", "allow_partial")
TABLE_KEYS = ("id", "title", "notes", "focus", "column")
COLUMN_KEYS = ("id", "label", "title", "estimator", "outcome", "regressors", "dispersion",
               "exposure", "year_effects", "province_effects", "sample", "se", "options",
               "rationale")
SAMPLE_KEYS = ("years", "exclude", "drop_if")
SE_KEYS = ("type", "groups", "bootstrap")
BOOTSTRAP_KEYS = ("reps", "weights", "seed", "impose_null")
BOOTSTRAP_WEIGHTS = ("rademacher", "webb", "mammen", "normal")
BOOTSTRAP_DEFAULTS = {"reps": 9999, "weights": "rademacher", "seed": 20181121,
                      "impose_null": True}

# one-line docs of the keys, rendered into the file's header by schema_comment()
_KEY_DOCS = (
    ("outcome", "dependent variable"),
    ("regressors", "mean-equation regressors (a constant is always added)"),
    ("dispersion", "ln(alpha) regressors (a constant is always added): {dispersion}"),
    ("exposure", "exposure variable, enters the mean as log offset: {exposure}"),
    ("year_effects", "true/false: year dummies (first sample year the base); fe: two-way FE"),
    ("province_effects", "true/false: province dummies (LSDV); implied by fe; refused by re"),
    ("sample", "years = [first, last]; exclude = [region names, any alias];"),
    ("", "drop_if = [0/1 flags whose 1-rows are dropped]"),
    ("se", "type = {se_types};"),
    ("", "groups = panel column to cluster on (region, macro_region, ...);"),
    ("", "bootstrap = {{ reps = int, weights = rademacher|webb|mammen|normal,"),
    ("", "              seed = int, impose_null = bool }} (wild cluster bootstrap)"),
    ("options", "estimator options:"),
)


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

    reps: int = BOOTSTRAP_DEFAULTS["reps"]
    weights: str = BOOTSTRAP_DEFAULTS["weights"]
    seed: int = BOOTSTRAP_DEFAULTS["seed"]
    impose_null: bool = BOOTSTRAP_DEFAULTS["impose_null"]


@dataclass(frozen=True)
class ColumnSpec:
    """One fitted model: one column of a results table."""

    table: str
    id: str
    label: str
    title: str
    estimator: str
    outcome: str
    regressors: tuple[str, ...]
    sample: Sample
    se_type: str
    rationale: str
    dispersion: tuple[str, ...] = ()
    exposure: str | None = None
    year_effects: bool = False
    se_groups: str | None = None
    options: dict = field(default_factory=dict, hash=False, compare=False)
    province_effects: bool = False
    bootstrap: Bootstrap | None = None

    @property
    def name(self) -> str:
        return f"{self.table}/{self.id}"

    @property
    def entry(self) -> registry.Estimator:
        """The estimator's registry entry."""
        return registry.get(self.estimator)

    def variables(self) -> list[str]:
        """Every panel column the model reads, in a stable order, without repeats."""
        names = [self.outcome, *self.regressors, *self.dispersion]
        names += [v for v in (self.exposure, self.se_groups) if v]
        names += list(self.sample.drop_if)
        return list(dict.fromkeys(names))

    def se_label(self) -> str:
        if self.se_type == "cluster":
            return ("clustered by province" if self.se_groups == "region"
                    else f"clustered by {self.se_groups}")
        return registry.se_description(self.se_type)


@dataclass(frozen=True)
class TableSpec:
    id: str
    title: str
    notes: tuple[str, ...]
    columns: tuple[ColumnSpec, ...]
    focus: tuple[str, ...] = ()


@dataclass(frozen=True)
class Specs:
    edition: str
    summary: str
    tables: tuple[TableSpec, ...]
    path: str
    labels: dict = field(default_factory=dict, hash=False, compare=False)
    curve: tuple = field(default=(), hash=False, compare=False)
    #: full-edition KOSIS table ids whose downloads may cover fewer than the 17 provinces
    #: ([edition] allow_partial; read by `regrowth panel` with its --allow-partial)
    allow_partial: tuple = field(default=(), hash=False, compare=False)

    def columns(self) -> list[ColumnSpec]:
        return [c for t in self.tables for c in t.columns]

    def table_ids(self) -> list[str]:
        return [t.id for t in self.tables]


# ----------------------------------------------------------------------------- helpers

class _Problems:
    """Collects every problem of a file; raises them together."""

    def __init__(self, path: Path):
        self.path = path
        self.lines: list[str] = []

    def add(self, where: str, key: str | None, message: str) -> None:
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

def _exclude(raw: dict, problems: _Problems, where: str) -> tuple[str, ...]:
    from regrowth import regions
    from regrowth.errors import UnknownRegionError

    keys = []
    for name in _strings(raw, "exclude", problems, where, "sample.", "region names"):
        try:
            keys.append(regions.lookup(name).key)
        except UnknownRegionError as exc:
            problems.add(where, "sample.exclude", f"{exc.message}"
                         + (f"; {exc.hint}" if "did you mean" not in exc.message else ""))
    return tuple(dict.fromkeys(keys))


def _sample(raw, problems: _Problems, where: str) -> Sample | None:
    if raw is None:
        problems.add(where, "sample", "is required: sample = { years = [first, last] }")
        return None
    raw = _table_of(raw, problems, where, "sample")
    _unknown(raw, SAMPLE_KEYS, problems, where, "sample.")
    years = raw.get("years")
    ok = (isinstance(years, list) and len(years) == 2
          and all(isinstance(y, int) and not isinstance(y, bool) for y in years))
    if not ok:
        problems.add(where, "sample.years", f"must be [first, last], two integer years, not "
                                            f"{_type_name(years)}")
    elif years[0] > years[1]:
        problems.add(where, "sample.years", f"{years}: needs first <= last")
    exclude = _exclude(raw, problems, where)
    drop_if = _strings(raw, "drop_if", problems, where, "sample.", "0/1 flag variables")
    if not ok:
        return None
    return Sample(years[0], years[1], exclude, drop_if)


def _bootstrap(raw, problems: _Problems, where: str) -> Bootstrap | None:
    raw = _table_of(raw, problems, where, "se.bootstrap")
    _unknown(raw, BOOTSTRAP_KEYS, problems, where, "se.bootstrap.")
    values = dict(BOOTSTRAP_DEFAULTS)
    for key in ("reps", "seed"):
        if key in raw:
            v = raw[key]
            if not isinstance(v, int) or isinstance(v, bool):
                problems.add(where, f"se.bootstrap.{key}", f"must be an integer, not {_type_name(v)}")
            elif key == "reps" and v < 1:
                problems.add(where, "se.bootstrap.reps", f"must be >= 1, got {v}")
            elif key == "seed" and v < 0:
                problems.add(where, "se.bootstrap.seed", f"must be >= 0, got {v}")
            else:
                values[key] = v
    if "weights" in raw:
        w = raw["weights"]
        if w not in BOOTSTRAP_WEIGHTS:
            problems.add(where, "se.bootstrap.weights", f"{w!r} is not one of "
                         f"{list(BOOTSTRAP_WEIGHTS)}" + did_you_mean(w, BOOTSTRAP_WEIGHTS))
        else:
            values["weights"] = w
    impose = _bool(raw, "impose_null", problems, where, "se.bootstrap.")
    if impose is not None:
        values["impose_null"] = impose
    return Bootstrap(**values)


def _column(raw, table_id: str, problems: _Problems, index: int) -> ColumnSpec | None:
    if not isinstance(raw, dict):
        problems.add(f"table {table_id!r}", f"column[{index}]",
                     "must be a [[table.column]] table")
        return None
    where = f"table {table_id!r}, column {raw.get('id', f'#{index + 1}')!r}"
    before = len(problems.lines)
    _unknown(raw, COLUMN_KEYS, problems, where)
    _valid_id(raw.get("id"), problems, where, "column")
    texts = {k: _text(raw, k, problems, where) for k in
             ("label", "title", "estimator", "outcome", "rationale")}
    exposure = _text(raw, "exposure", problems, where, required=False)
    regressors = _strings(raw, "regressors", problems, where)
    dispersion = _strings(raw, "dispersion", problems, where)
    year = _bool(raw, "year_effects", problems, where)
    province = _bool(raw, "province_effects", problems, where)
    sample = _sample(raw.get("sample"), problems, where)
    se = _table_of(raw.get("se"), problems, where, "se")
    _unknown(se, SE_KEYS, problems, where, "se.")
    options = _table_of(raw.get("options"), problems, where, "options")
    groups = se.get("groups")
    if groups is not None and (not isinstance(groups, str) or not groups.strip()):
        problems.add(where, "se.groups", f"must be a panel column name, not {_type_name(groups)}")
        groups = None
    boot = _bootstrap(se["bootstrap"], problems, where) if "bootstrap" in se else None
    outcome = texts["outcome"]
    if outcome is not None and outcome in regressors:
        problems.add(where, "regressors", f"lists the outcome {outcome!r} itself")
    if exposure is not None and exposure in regressors:
        problems.add(where, "exposure", f"{exposure!r} is also a regressor: its coefficient "
                                        "would not be identified beside the log offset")

    entry = None
    if texts["estimator"] is not None:
        try:
            entry = registry.get(texts["estimator"])
        except SpecificationError as exc:
            problems.add(where, "estimator", str(exc))
    se_type = se.get("type")
    if entry is not None:
        name = entry.name
        if dispersion and not entry.dispersion:
            ok = [e.name for e in registry.entries() if e.dispersion]
            problems.add(where, "dispersion", f"dispersion regressors need estimator = "
                                              f"{' or '.join(map(repr, ok))}, not {name!r}")
        if exposure and not entry.exposure:
            ok = [e.name for e in registry.entries() if e.exposure]
            problems.add(where, "exposure", f"exposure applies to {ok}, not {name!r}")
        if year and not entry.year_effects:
            problems.add(where, "year_effects", f"{name} cannot have year effects")
        if province and not entry.province_effects:
            problems.add(where, "province_effects",
                         f"{name} cannot have province effects: {entry.province_effects_note}")
        if province is False and entry.province_effects == "implied":
            problems.add(where, "province_effects", f"{name} always has province (entity) "
                                                    "effects; remove the key or use another estimator")
        if entry.province_effects == "implied":
            province = True
        if se_type is None:
            se_type = entry.default_se
        elif se_type not in entry.se_types:
            problems.add(where, "se.type", f"{se_type!r} is not available for {name}; use one "
                         f"of {list(entry.se_types)}" + did_you_mean(se_type, entry.se_types))
        checked = {}
        for key, value in options.items():
            if key not in entry.option_names():
                allowed = list(entry.option_names())
                problems.add(where, f"options.{key}", f"does not apply to {name}"
                             + did_you_mean(key, allowed)
                             + (f"; allowed: {', '.join(allowed)}" if allowed
                                else f"; {name} takes no options"))
                continue
            opt = entry.option(key)
            try:
                checked[key] = opt.check(value)
            except ValueError as exc:
                problems.add(where, f"options.{key}", str(exc))
                continue
            if opt.se_types and se_type not in opt.se_types:
                problems.add(where, f"options.{key}", f"applies only with se.type = "
                             f"{' or '.join(map(repr, opt.se_types))} (here {se_type!r})")
        options = checked
    if se_type == "cluster" and groups is None:
        problems.add(where, "se.groups", "se.type = 'cluster' needs groups = the panel column "
                                         "to cluster on (e.g. \"region\")")
    if groups is not None and se_type != "cluster" and boot is None:
        problems.add(where, "se.groups", "names the clusters, and only with se.type = 'cluster' "
                                         "or an se.bootstrap")
    if boot is not None and groups is None:
        problems.add(where, "se.bootstrap", "needs se.groups, the clusters the wild bootstrap "
                                            "draws weights for")
    if len(problems.lines) > before:
        return None
    return ColumnSpec(
        table=table_id, id=raw["id"], label=texts["label"], title=texts["title"],
        estimator=entry.name, outcome=texts["outcome"], regressors=regressors,
        dispersion=dispersion, exposure=exposure, year_effects=bool(year),
        province_effects=bool(province), sample=sample, se_type=se_type, se_groups=groups,
        options=options, bootstrap=boot, rationale=texts["rationale"].strip())


# ----------------------------------------------------------------------------- file

def read_document(path: str | Path) -> dict:
    """The specification file at ``path`` parsed as TOML; a missing file, text that is not
    UTF-8 or not TOML raises :class:`~regrowth.errors.SpecificationError` naming the file.
    The one place the file is read (:func:`load`, :func:`edition_allow_partial`,
    :func:`regrowth.curve.load`)."""
    path = Path(path)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise SpecificationError(f"{path}: the specification file is missing") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SpecificationError(f"{path}: not valid TOML ({exc})") from exc
    except UnicodeDecodeError as exc:
        raise SpecificationError(f"{path}: not UTF-8 text ({exc})") from exc


def load(path: str | Path = "specs/models.toml") -> Specs:
    """Parse and check the specification file.

    Returns :class:`Specs`; raises :class:`~regrowth.errors.SpecificationError` listing every
    problem (file, table/column, key, what is wrong) before anything is fitted or written.
    """
    path = Path(path)
    doc = read_document(path)
    problems = _Problems(path)
    _unknown(doc, TOP_KEYS, problems, "top level")

    edition = _table_of(doc.get("edition"), problems, "[edition]", "edition")
    _unknown(edition, EDITION_KEYS, problems, "[edition]", "edition.")
    _check_allow_partial(edition, problems)
    for key in ("name", "summary"):
        if key in edition and not isinstance(edition[key], str):
            problems.add("[edition]", f"edition.{key}", f"must be a string, not "
                                                        f"{_type_name(edition[key])}")

    labels = _table_of(doc.get("labels"), problems, "[labels]", "labels")
    for key, value in labels.items():
        if not isinstance(value, str):
            problems.add("[labels]", f"labels.{key}", f"must be a string, not {_type_name(value)}")

    raw_tables = doc.get("table", [])
    if not isinstance(raw_tables, list):
        problems.add("top level", "table", "must be an array of tables: write [[table]]")
        raw_tables = []
    tables, table_ids = [], set()
    for i, raw_table in enumerate(raw_tables):
        tid = raw_table.get("id") if isinstance(raw_table, dict) else None
        where = f"table {tid!r}" if tid is not None else f"table #{i + 1}"
        if not isinstance(raw_table, dict):
            problems.add(where, None, "must be a [[table]]")
            continue
        _unknown(raw_table, TABLE_KEYS, problems, where)
        if not _valid_id(tid, problems, where, "table"):
            tid = None
        elif tid in table_ids:
            problems.add(where, "id", f"table id {tid!r} is used twice")
        elif tid.startswith("descriptives_"):
            problems.add(where, "id", "table ids may not start with 'descriptives_' (those "
                                      "names are the descriptive tables' files)")
        table_ids.add(tid)
        title = raw_table.get("title", tid)
        if not isinstance(title, str):
            problems.add(where, "title", f"must be a string, not {_type_name(title)}")
        notes = _strings(raw_table, "notes", problems, where, what="notes")
        focus = _strings(raw_table, "focus", problems, where, what="coefficient names")
        raw_cols = raw_table.get("column", [])
        if not isinstance(raw_cols, list) or not raw_cols:
            problems.add(where, "column", "has no [[table.column]]")
            raw_cols = []
        columns, col_ids = [], set()
        for j, raw_col in enumerate(raw_cols):
            col = _column(raw_col, str(tid), problems, j)
            cid = raw_col.get("id") if isinstance(raw_col, dict) else None
            if isinstance(cid, str):
                if cid in col_ids:
                    problems.add(f"{where}, column {cid!r}", "id",
                                 f"column id {cid!r} is used twice in the table")
                col_ids.add(cid)
            if col is not None:
                columns.append(col)
        terms = {t for c in columns for t in (*c.regressors, *c.dispersion)}
        for term in focus:
            if columns and len(columns) == len(raw_cols) and term not in terms:
                problems.add(where, "focus", f"{term!r} is not a regressor of any column of "
                             "the table" + did_you_mean(term, sorted(terms)))
        if tid is not None:
            tables.append(TableSpec(tid, title if isinstance(title, str) else tid, notes,
                                    tuple(columns), focus))

    curve = doc.get("curve", [])
    if curve:
        if not isinstance(curve, list) or not all(isinstance(c, dict) for c in curve):
            problems.add("top level", "curve", "must be an array of tables: write [[curve]]")
        elif getattr(_curve_module(), "validate", None) is None:
            problems.add("top level", "curve", "[[curve]] needs the multiverse module "
                         "regrowth.curve (with validate()), which this installation does not "
                         "have; remove the [[curve]] section")
    if not raw_tables and not problems.lines:
        problems.add("", None, "no [[table]] is specified")
    problems.raise_if_any()
    return Specs(edition.get("name", "public"), edition.get("summary", ""), tuple(tables),
                 str(path), dict(labels), tuple(curve or ()),
                 tuple(edition.get("allow_partial", ())))


def _check_allow_partial(edition: dict, problems) -> None:
    """``[edition] allow_partial``: a list of full-edition KOSIS table ids."""
    if "allow_partial" not in edition:
        return
    from regrowth.sources.registry import FULL_EDITION

    value = edition["allow_partial"]
    known = [s.table_id for s in FULL_EDITION]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problems.add("[edition]", "edition.allow_partial", "must be a list of KOSIS table ids "
                     f"(strings), not {_type_name(value)}; e.g. allow_partial = [\"DT_1YL20891\"]")
        return
    for v in value:
        if v not in known:
            problems.add("[edition]", "edition.allow_partial",
                         f"{v!r} is not a full-edition table{registry.did_you_mean(v, known)}; "
                         f"known: {', '.join(known)}")


def edition_allow_partial(path: str | Path) -> tuple[str, ...]:
    """The ``[edition] allow_partial`` table ids of the specification file at ``path``
    (checked as :func:`load` checks them); ``()`` when the file or the key is absent.

    Only the ``[edition]`` table is read, so ``regrowth panel`` does not depend on the
    models being valid.
    """
    path = Path(path)
    if not path.is_file():
        return ()
    doc = read_document(path)
    problems = _Problems(path)
    edition = _table_of(doc.get("edition"), problems, "[edition]", "edition")
    _check_allow_partial(edition, problems)
    problems.raise_if_any()
    return tuple(edition.get("allow_partial", ()))


def _curve_module():
    try:
        return importlib.import_module("regrowth.curve")
    except ModuleNotFoundError as exc:
        if exc.name not in ("regrowth.curve",):
            raise
        return None


def check_against(specs: Specs, panel) -> dict[str, SpecificationError]:
    """Return, for each column spec the panel cannot serve, the error to report.

    ``panel``: the panel DataFrame (then ``drop_if`` flags are checked to be 0/1) or just its
    column names (index names included). Checks: every variable exists (the message names
    the variable, the spec and the KOSIS table that would supply it), ``drop_if`` variables
    are 0/1 flags, ``se.groups`` is a panel column. ``[[curve]]`` entries are checked by
    ``regrowth.curve.validate`` (key ``"curve"``). An empty dict means every spec can run.
    """
    import pandas as pd

    from regrowth.editions import supplier_hint

    frame = panel if isinstance(panel, pd.DataFrame) else None
    available = set(panel) if frame is None else set(frame.columns) | set(frame.index.names)
    problems = {}
    for col in specs.columns():
        where = f"{specs.path}: table {col.table!r}, column {col.id!r}"
        lines = []
        missing = [v for v in col.variables() if v not in available]
        if col.se_groups in missing:
            lines.append(f"{where}: key 'se.groups': {col.se_groups!r} is not a panel column"
                         + did_you_mean(col.se_groups, sorted(available)))
            missing.remove(col.se_groups)
        if missing:
            hints = "\n  ".join(supplier_hint(v) for v in missing)
            lines.append(f"{where} ({col.name}) uses {', '.join(map(repr, missing))}, which the "
                         f"panel does not have.\n  {hints}")
        if frame is not None:
            for flag in col.sample.drop_if:
                if flag not in frame.columns:
                    continue
                values = pd.to_numeric(frame[flag], errors="coerce")
                bad = frame[flag][values.isna() & frame[flag].notna() | ~values.isin([0, 1])
                                  & values.notna()]
                if len(bad):
                    lines.append(f"{where}: key 'sample.drop_if': {flag!r} is not a 0/1 flag "
                                 f"(values such as {sorted(map(str, set(bad)))[:3]}); drop_if "
                                 "takes indicator columns such as 'sejong_break'")
        if lines:
            problems[col.name] = SpecificationError("\n".join(lines))
    if specs.curve:
        try:  # the multiverse module owns the [[curve]] schema
            _curve_module().validate(list(specs.curve), sorted(available))
        except SpecificationError as exc:
            problems["curve"] = exc
        except (ValueError, KeyError, TypeError) as exc:
            problems["curve"] = SpecificationError(f"{specs.path}: [[curve]]: {exc}")
    return problems


def check(specs: Specs, panel) -> None:
    """Raise one :class:`SpecificationError` listing every problem :func:`check_against` finds."""
    problems = check_against(specs, panel)
    if problems:
        err = SpecificationError("the specifications cannot run on this panel (nothing was "
                                 "fitted or written):\n" + "\n".join(str(e) for e in problems.values()))
        err.problems = problems
        raise err


def schema_comment() -> str:
    """The key list of ``specs/models.toml``'s header, rendered from the registry."""
    entries = registry.entries()
    fmt = {"dispersion": " | ".join(e.name for e in entries if e.dispersion),
           "exposure": "/".join(e.name for e in entries if e.exposure),
           "se_types": " | ".join(registry.se_types())}
    lines = ["# Keys of a column (generated by regrowth.specs.schema_comment() from the",
             "# estimator registry; a test checks this block)",
             "#   id, label, title, rationale  strings (ids: [a-z0-9_]+)",
             "#   estimator   " + " | ".join(e.name for e in entries)]
    for key, doc in _KEY_DOCS:
        lines.append(f"#   {key:<11} {doc.format(**fmt)}".rstrip())
    for e in entries:
        if e.options:
            opts = ", ".join(f"{o.name} ({o.type}" + (f": {'|'.join(map(str, o.choices))}"
                                                      if o.choices else "") + ")"
                             for o in e.options)
            lines.append(f"#     {e.name}: {opts}")
    lines.append("#   se.type by estimator: " + "; ".join(
        f"{e.name} {'|'.join(e.se_types)} (default {e.default_se})" for e in entries))
    lines.append("# Keys of a table: id, title, notes, focus (terms for bootstrap inference), column")
    lines.append("# Top level: [edition] (name, summary, allow_partial), [[table]], [labels], "
                 "[[curve]]")
    out = []
    for line in lines:  # keep the comment readable: wrap long lines at "; " or ", "
        while len(line) > 96 and ("; " in line[:96] or ", " in line[:96]):
            cut = max(line[:96].rfind("; "), line[:96].rfind(", ")) + 1
            out.append(line[:cut])
            line = "#       " + line[cut + 1:]
        out.append(line)
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    print(schema_comment(), end="")
