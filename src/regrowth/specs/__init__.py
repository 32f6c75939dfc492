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
  allowed with ``bootstrap``), ``bootstrap = {reps, weights, seed, impose_null}``,
  ``tests = {<term> = {groups, bootstrap}}`` (a coefficient's own clusters: its term must be
  a regressor of the column);
- table ``focus`` terms must be regressors of some column of the table, and not only
  dispersion terms of a column with ``se.bootstrap`` (the bootstrap tests mean-equation
  coefficients);
- top-level ``[[curve]]`` entries are validated by ``regrowth.curve.validate(raw,
  panel_columns)`` (the multiverse module) in :func:`check_against`.

``check_against(specs, panel)`` then checks what needs the panel: every variable exists
(naming the KOSIS table that would supply a missing one), ``drop_if`` variables are 0/1 flags,
cluster ``groups`` are panel columns. :func:`check` raises on any of these.

:func:`schema_comment` renders the key list that heads ``specs/models.toml`` from the
registry (a test checks the file carries it verbatim; ``python -m regrowth.specs`` prints it).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace

import pandas as pd

from regrowth import regions
from regrowth.errors import SpecificationError, UnknownRegionError
from regrowth.inference.weights import MAX_REPS
from regrowth.models import registry
from regrowth.models.registry import did_you_mean
from regrowth.sources import registry as registry_sources
from regrowth.sources.registry import FULL_EDITION, supplier_hint
from regrowth.specs.column import COLUMN_KEYS, SE_KEYS, ColumnSpec, parse_column, resolve_columns
from regrowth.specs.parse import (
    BOOTSTRAP_KEYS,
    ID_PATTERN,
    SAMPLE_KEYS,
    Bootstrap,
    Problems,
    Sample,
    strings,
    table_of,
    type_name,
    unknown,
    valid_id,
)
from pathlib import Path

__all__ = ["Sample", "Bootstrap", "ColumnSpec", "TableSpec", "FigureSpec", "Specs", "load",
           "check", "check_against", "full_edition_gaps", "schema_comment", "read_document",
           "edition_allow_partial",
           "ID_PATTERN", "SAMPLE_KEYS", "SE_KEYS", "BOOTSTRAP_KEYS", "COLUMN_KEYS"]

TOP_KEYS = ("edition", "lists", "table", "labels", "figure", "curve")
EDITION_KEYS = ("name", "summary", "allow_partial")
TABLE_KEYS = ("id", "title", "notes", "focus", "nuisance", "column", "analyses", "unit")
#: What a table's rows are (``unit``): provinces (the panel, the default) or the seven
#: macro-regions (권역; the macro-region panel, ``data/processed/macro_panel.parquet``).
UNITS = {"region": "provinces", "macro_region": "macro-regions"}
FIGURE_KEYS = ("variable", "label", "kind", "highlight", "source", "year", "years", "change",
               "log")
FIGURE_KINDS = ("lines", "log", "macro", "map")

# one-line docs of the keys, rendered into the file's header by schema_comment()
_KEY_DOCS = (
    ("outcome", "dependent variable"),
    ("regressors", "mean-equation regressors (a constant is always added); \"@name\" inserts"),
    ("", "the list `name` of [lists]"),
    ("dispersion", "ln(alpha) regressors (a constant is always added): {dispersion}"),
    ("exposure", "exposure variable, enters the mean as log offset: {exposure}"),
    ("year_effects", "true/false: year dummies (first sample year the base); fe: two-way FE"),
    ("province_effects", "true/false: province dummies (LSDV); implied by fe; refused by re"),
    ("sample", "years = [first, last]; exclude = [region names, any alias];"),
    ("", "drop_if = [0/1 flags whose 1-rows are dropped]"),
    ("se", "type = {se_types};"),
    ("", "groups = panel column to cluster on (region, macro_region, ...);"),
    ("", "bootstrap = {{ reps = int (1..{max_reps}), weights = rademacher|webb|mammen|normal,"),
    ("", "              seed = int, impose_null = bool }} (wild cluster bootstrap);"),
    ("", "stars = bootstrap|analytic: p-values behind the stars (default: the"),
    ("", "bootstrap's where the column declares one);"),
    ("", "tests = {{ term = {{ groups = column, bootstrap = {{...}} }} }}: that"),
    ("", "coefficient's bootstrap clusters on its own groups (where it varies);"),
    ("", "reference = model|normal|t(G-1): distribution of the analytic p-values"),
    ("", "and intervals (model: as the estimator reports; t(G-1) when clustered)"),
    ("slx", "[variables] or {{ variables, weights = contiguity|knn|distance, k }}: adds"),
    ("", "w_<var>, the neighbours' mean of each in the same year (SLX)"),
    ("extends", "\"column\" or \"table/column\": inherit every key but id, label, title,"),
    ("", "rationale; a key given here replaces the inherited value whole"),
    ("options", "estimator options:"),
)


@dataclass(frozen=True)
class TableSpec:
    """One results table: its columns, the focus coefficients of its inference, and the
    analyses it carries (``analyses = { loo = "gnb_main", diagnostics = true, ... }``: names of
    :mod:`regrowth.analyses`, each with its own settings, checked by that module)."""

    id: str
    title: str
    notes: tuple[str, ...]
    columns: tuple[ColumnSpec, ...]
    focus: tuple[str, ...] = ()
    analyses: dict = field(default_factory=dict, hash=False, compare=False)
    #: terms left out of the table's coefficient plot besides the year and province dummies
    #: (e.g. a one-off intercept shift)
    nuisance: tuple[str, ...] = ()
    #: "region" (rows are provinces) or "macro_region" (rows are the 7 권역): see :data:`UNITS`
    unit: str = "region"

    def column(self, column_id: str) -> ColumnSpec | None:
        """The column called ``column_id`` (or None)."""
        return next((c for c in self.columns if c.id == column_id), None)


@dataclass(frozen=True)
class FigureSpec:
    """A ``[[figure]]`` of a panel variable across provinces: ``kind`` "lines" (one line per
    province, ``highlight`` ones in colour), "log" (the same on a log scale) or "macro" (one
    line per macro-region); ``source`` is the line printed under it."""

    variable: str
    label: str
    kind: str
    source: str
    highlight: tuple[str, ...] = ()
    #: maps only: the year mapped, or the mean over ``years`` (first, last), or the change
    #: over ``change`` (first, last); ``log`` a logarithmic colour scale
    year: int | None = None
    years: tuple[int, int] | None = None
    change: tuple[int, int] | None = None
    log: bool = False

    @property
    def stem(self) -> str:
        """The file name (without extension) under ``results/figures/``."""
        if self.kind != "map":
            return f"province_{self.variable}"
        when = (f"_{self.year}" if self.year is not None else
                f"_{self.years[0]}_{self.years[1]}_mean" if self.years else
                f"_{self.change[0]}_{self.change[1]}_change" if self.change else "")
        return f"map_{self.variable}{when}"


@dataclass(frozen=True)
class Specs:
    edition: str
    summary: str
    tables: tuple[TableSpec, ...]
    path: str
    labels: dict = field(default_factory=dict, hash=False, compare=False)
    curve: tuple = field(default=(), hash=False, compare=False)
    figures: tuple[FigureSpec, ...] = field(default=(), hash=False, compare=False)
    lists: dict = field(default_factory=dict, hash=False, compare=False)
    #: full-edition KOSIS table ids whose downloads may cover fewer than the 17 provinces
    #: ([edition] allow_partial; read by `regrowth panel` with its --allow-partial)
    allow_partial: tuple = field(default=(), hash=False, compare=False)

    def columns(self) -> list[ColumnSpec]:
        return [c for t in self.tables for c in t.columns]

    def table_ids(self) -> list[str]:
        return [t.id for t in self.tables]

    def table(self, table_id: str) -> TableSpec:
        """The table called ``table_id``; ``KeyError`` if there is none."""
        for t in self.tables:
            if t.id == table_id:
                return t
        raise KeyError(table_id)


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


def _edition(doc: dict, problems: Problems) -> dict:
    edition = table_of(doc.get("edition"), problems, "[edition]", "edition")
    unknown(edition, EDITION_KEYS, problems, "[edition]", "edition.")
    _check_allow_partial(edition, problems)
    for key in ("name", "summary"):
        if key in edition and not isinstance(edition[key], str):
            problems.add("[edition]", f"edition.{key}", f"must be a string, not "
                                                        f"{type_name(edition[key])}")
    return edition


def _labels(doc: dict, problems: Problems) -> dict:
    labels = table_of(doc.get("labels"), problems, "[labels]", "labels")
    for key, value in labels.items():
        if not isinstance(value, str):
            problems.add("[labels]", f"labels.{key}", f"must be a string, not {type_name(value)}")
    return labels


def _lists(doc: dict, problems: Problems) -> dict[str, tuple[str, ...]]:
    """``[lists]``: name = [variables], referred to as ``"@name"`` in a column's lists."""
    raw = table_of(doc.get("lists"), problems, "[lists]", "lists")
    out = {}
    for name in raw:
        if not ID_PATTERN.match(str(name)):
            problems.add("[lists]", f"lists.{name}", "list names match [a-z0-9_]+")
            continue
        out[name] = strings(raw, name, problems, "[lists]", "lists.")
    return out


def _figures(doc: dict, problems: Problems) -> tuple[FigureSpec, ...]:
    raw = doc.get("figure", [])
    if not isinstance(raw, list):
        problems.add("top level", "figure", "must be an array of tables: write [[figure]]")
        return ()
    out = []
    for i, f in enumerate(raw):
        where = f"figure #{i + 1}"
        if not isinstance(f, dict):
            problems.add(where, None, "must be a [[figure]] table")
            continue
        unknown(f, FIGURE_KEYS, problems, where)
        values = {k: f.get(k) for k in ("variable", "label", "source")}
        for k, v in values.items():
            if not isinstance(v, str) or not v.strip():
                problems.add(where, k, f"is required: a non-empty string, not {type_name(v)}")
        kind = f.get("kind", "lines")
        if kind not in FIGURE_KINDS:
            problems.add(where, "kind", f"{kind!r} is not one of {list(FIGURE_KINDS)}"
                         + did_you_mean(str(kind), FIGURE_KINDS))
        highlight = []
        for name in strings(f, "highlight", problems, where, what="province names"):
            try:
                highlight.append(regions.lookup(name).key)
            except UnknownRegionError as exc:
                problems.add(where, "highlight", exc.message)
        when = _map_years(f, kind, problems, where)
        if all(isinstance(v, str) and v.strip() for v in values.values()) and kind in FIGURE_KINDS:
            out.append(FigureSpec(values["variable"], values["label"], kind, values["source"],
                                  tuple(highlight), **when))
    return tuple(out)


def _map_years(f: dict, kind: str, problems: Problems, where: str) -> dict:
    """A map's ``year``, ``years`` (mean) or ``change``, and ``log``; refused on other kinds."""
    given = [k for k in ("year", "years", "change", "log") if k in f]
    if kind != "map":
        for k in given:
            problems.add(where, k, "applies to kind = \"map\" only")
        return {}
    if sum(k in f for k in ("year", "years", "change")) > 1:
        problems.add(where, "year", "give one of year, years (a mean) or change")
    out: dict = {}
    if "year" in f:
        if isinstance(f["year"], bool) or not isinstance(f["year"], int):
            problems.add(where, "year", f"must be an integer year, not {type_name(f['year'])}")
        else:
            out["year"] = f["year"]
    for k in ("years", "change"):
        if k in f:
            v = f[k]
            if not (isinstance(v, list) and len(v) == 2 and all(isinstance(y, int) for y in v)
                    and v[0] < v[1]):
                problems.add(where, k, f"must be [first, last] (integer years, first < last), "
                                       f"not {type_name(v)}")
            else:
                out[k] = (v[0], v[1])
    if "log" in f:
        if not isinstance(f["log"], bool):
            problems.add(where, "log", f"must be true or false, not {type_name(f['log'])}")
        else:
            out["log"] = f["log"]
    return out


def _table(raw_table, i: int, resolved: dict, problems: Problems, table_ids: set):
    tid = raw_table.get("id") if isinstance(raw_table, dict) else None
    where = f"table {tid!r}" if tid is not None else f"table #{i + 1}"
    if not isinstance(raw_table, dict):
        problems.add(where, None, "must be a [[table]]")
        return None
    unknown(raw_table, TABLE_KEYS, problems, where)
    if not valid_id(tid, problems, where, "table"):
        tid = None
    elif tid in table_ids:
        problems.add(where, "id", f"table id {tid!r} is used twice")
    elif tid.startswith("descriptives_"):
        problems.add(where, "id", "table ids may not start with 'descriptives_' (those "
                                  "names are the descriptive tables' files)")
    table_ids.add(tid)
    title = raw_table.get("title", tid)
    if not isinstance(title, str):
        problems.add(where, "title", f"must be a string, not {type_name(title)}")
    notes = strings(raw_table, "notes", problems, where, what="notes")
    focus = strings(raw_table, "focus", problems, where, what="coefficient names")
    nuisance = strings(raw_table, "nuisance", problems, where, what="coefficient names")
    analyses = table_of(raw_table.get("analyses"), problems, where, "analyses")
    unit = raw_table.get("unit", "region")
    if unit not in UNITS:
        problems.add(where, "unit", f"must be one of {', '.join(map(repr, UNITS))}, not {unit!r}"
                     + did_you_mean(str(unit), list(UNITS)))
        unit = "region"
    raw_cols = raw_table.get("column", [])
    if not isinstance(raw_cols, list) or (not raw_cols and not analyses):
        problems.add(where, "column", "has no [[table.column]] (a table without columns must "
                                      "carry an analysis that writes it)")
        raw_cols = []
    columns, col_ids = [], set()
    for j, raw_col in enumerate(raw_cols):
        col = parse_column(resolved.get((str(raw_table.get("id")), j), raw_col), str(tid),
                           problems, j)
        cid = raw_col.get("id") if isinstance(raw_col, dict) else None
        if isinstance(cid, str):
            if cid in col_ids:
                problems.add(f"{where}, column {cid!r}", "id",
                             f"column id {cid!r} is used twice in the table")
            col_ids.add(cid)
        if col is not None and unit != "region":
            if col.sample.exclude:
                problems.add(f"{where}, column {col.id!r}", "sample.exclude",
                             "names provinces, but the rows of this table are macro-regions "
                             f"(unit = {unit!r}); remove it")
            col = replace(col, unit=unit)
        if col is not None:
            columns.append(col)
    terms = {t for c in columns for t in (*c.regressors, *c.dispersion)}
    for term in focus:
        if columns and len(columns) == len(raw_cols) and term not in terms:
            problems.add(where, "focus", f"{term!r} is not a regressor of any column of "
                         "the table" + did_you_mean(term, sorted(terms)))
    for col in columns:   # a bootstrap tests mean-equation terms: a dispersion-only term would
        if col.bootstrap is None:   # silently get no bootstrap line
            continue
        for term in focus:
            if term in col.dispersion and term not in col.regressors:
                problems.add(where, "focus",
                             f"{term!r} is in the dispersion (ln alpha) equation of column "
                             f"{col.id!r} only, and its se.bootstrap tests mean-equation "
                             "coefficients: the term would get no bootstrap line. Remove it "
                             "from focus, add it to the column's regressors, or drop the "
                             "column's se.bootstrap")
    if tid is None:
        return None
    return TableSpec(tid, title if isinstance(title, str) else tid, notes, tuple(columns),
                     focus, dict(analyses), nuisance, unit)


def load(path: str | Path = "specs/models.toml") -> Specs:
    """Parse and check the specification file.

    Returns :class:`Specs`; raises :class:`~regrowth.errors.SpecificationError` listing every
    problem (file, table/column, key, what is wrong) before anything is fitted or written.
    The settings of each table's ``analyses`` and the ``[[curve]]`` blocks are checked by
    their own modules (:func:`regrowth.analyses.check`, :func:`regrowth.curve.validate`).
    """
    path = Path(path)
    doc = read_document(path)
    problems = Problems(path)
    unknown(doc, TOP_KEYS, problems, "top level")
    edition = _edition(doc, problems)
    labels = _labels(doc, problems)
    lists = _lists(doc, problems)
    figures = _figures(doc, problems)
    raw_tables = doc.get("table", [])
    if not isinstance(raw_tables, list):
        problems.add("top level", "table", "must be an array of tables: write [[table]]")
        raw_tables = []
    resolved = resolve_columns(raw_tables, lists, problems)
    tables, table_ids = [], set()
    for i, raw_table in enumerate(raw_tables):
        table = _table(raw_table, i, resolved, problems, table_ids)
        if table is not None:
            tables.append(table)
    curve = doc.get("curve", [])
    if curve and (not isinstance(curve, list) or not all(isinstance(c, dict) for c in curve)):
        problems.add("top level", "curve", "must be an array of tables: write [[curve]]")
    if not raw_tables and not problems.lines:
        problems.add("", None, "no [[table]] is specified")
    problems.raise_if_any()
    return Specs(edition.get("name", "public"), edition.get("summary", ""), tuple(tables),
                 str(path), labels=dict(labels), curve=tuple(curve or ()), figures=figures,
                 lists=lists, allow_partial=tuple(edition.get("allow_partial", ())))


def _check_allow_partial(edition: dict, problems) -> None:
    """``[edition] allow_partial``: a list of full-edition KOSIS table ids."""
    if "allow_partial" not in edition:
        return
    value = edition["allow_partial"]
    known = [s.table_id for s in FULL_EDITION]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problems.add("[edition]", "edition.allow_partial", "must be a list of KOSIS table ids "
                     f"(strings), not {type_name(value)}; e.g. allow_partial = [\"DT_1YL20891\"]")
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
    problems = Problems(path)
    edition = table_of(doc.get("edition"), problems, "[edition]", "edition")
    _check_allow_partial(edition, problems)
    problems.raise_if_any()
    return tuple(edition.get("allow_partial", ()))


def check_against(specs: Specs, panel, macro=None) -> dict[str, SpecificationError]:
    """Return, for each column spec the panel cannot serve, the error to report.

    ``panel``: the panel DataFrame (then ``drop_if`` flags are checked to be 0/1) or just its
    column names (index names included). Checks: every variable exists (the message names
    the variable, the spec and the KOSIS table that would supply it), ``drop_if`` variables
    are 0/1 flags, ``se.groups`` is a panel column, every ``[[figure]]`` variable exists (key
    ``"figure:<variable>"``). The columns of a macro-region table (``unit = "macro_region"``)
    are checked against ``macro``, the macro-region panel (or its column names; None: absent).
    An empty dict means every spec can run.
    """
    frame = panel if isinstance(panel, pd.DataFrame) else None
    available = set(panel) if frame is None else set(frame.columns) | set(frame.index.names)
    macro_available = None
    if macro is not None:
        macro_available = (set(macro.columns) | set(macro.index.names)
                           if isinstance(macro, pd.DataFrame) else set(macro))
        macro_available |= {"region", "macro_region", "capital_region"}
    problems = {}
    for col in specs.columns():
        where = f"{specs.path}: table {col.table!r}, column {col.id!r}"
        lines = []
        if col.unit == "macro_region":
            if macro_available is None:
                problems[col.name] = SpecificationError(
                    f"{where}: the table's rows are macro-regions (unit = 'macro_region') but "
                    "the macro-region panel data/processed/macro_panel.parquet is missing; "
                    "rebuild the panel with `make panel`")
                continue
            missing = [v for v in col.variables() if v not in macro_available]
            if missing:
                problems[col.name] = SpecificationError(
                    f"{where} ({col.name}) uses {', '.join(map(repr, missing))}, which the "
                    "macro-region panel does not have (its columns: data/processed/"
                    "macro_codebook.csv)" + did_you_mean(missing[0], sorted(macro_available)))
            continue
        missing = [v for v in col.variables() if v not in available]
        if col.se_groups in missing:
            lines.append(f"{where}: key 'se.groups': {col.se_groups!r} is not a panel column"
                         + did_you_mean(col.se_groups, sorted(available)))
            missing.remove(col.se_groups)
        own = {col.outcome, *col.regressors, *col.dispersion}
        for var in col.slx:
            if var in missing:
                lines.append(f"{where}: key 'slx': {var!r} is not a panel column, so its spatial "
                             "lag cannot be built" + did_you_mean(var, sorted(available)))
                if var not in own:
                    missing.remove(var)
        for test in col.tests:
            if test.groups in missing:
                lines.append(f"{where}: key 'se.tests.{test.term}.groups': {test.groups!r} is "
                             "not a panel column" + did_you_mean(test.groups, sorted(available)))
                missing.remove(test.groups)
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
                                 "takes indicator columns (0 or 1 in every row)")
        if lines:
            problems[col.name] = SpecificationError("\n".join(lines))
    for fig in specs.figures:
        if fig.variable not in available:
            problems[f"figure:{fig.variable}"] = SpecificationError(
                f"{specs.path}: [[figure]] variable {fig.variable!r} is not a panel column"
                + did_you_mean(fig.variable, sorted(available)) + "\n  "
                + supplier_hint(fig.variable))
    return problems


def full_edition_gaps(specs: Specs, panel) -> dict[str, tuple[str, ...]]:
    """Columns marked ``edition = "full"`` that cannot run on this panel only because
    full-edition KOSIS tables are absent: column name -> the table ids that would supply the
    missing variables. A column also missing something no KOSIS table supplies is not a gap
    but an error (:func:`check_against` reports it)."""
    available = (set(panel) if not isinstance(panel, pd.DataFrame)
                 else set(panel.columns) | set(panel.index.names))
    gaps = {}
    for col in specs.columns():
        if col.edition != "full":
            continue
        missing = [v for v in col.variables() if v not in available]
        tables = [registry_sources.full_edition_table(v) for v in missing]
        if missing and None not in tables:
            gaps[col.name] = tuple(sorted(set(tables)))
    return gaps


def check(specs: Specs, panel, macro=None, skip=()) -> None:
    """Raise one :class:`SpecificationError` listing every problem :func:`check_against` finds
    (columns named in ``skip``, e.g. the :func:`full_edition_gaps`, are not checked)."""
    problems = {k: v for k, v in check_against(specs, panel, macro).items() if k not in skip}
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
           "se_types": " | ".join(registry.se_types()), "max_reps": MAX_REPS}
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
    lines.append("# Keys of a table: id, title, notes, focus (terms for bootstrap inference), nuisance")
    lines.append("#   (terms left out of its coefficient plot besides year/province dummies), column,")
    lines.append("#   analyses = { name = settings } (see regrowth.analyses: what each analysis takes),")
    lines.append("#   unit = region|macro_region (rows: provinces, or the 7 macro-regions of the")
    lines.append("#   macro-region panel; default region)")
    lines.append("# Top level: [edition] (name, summary, allow_partial), [lists] (name = [variables]),")
    lines.append("#   [[table]], [labels], [[figure]] (variable, label, kind = lines|log|macro, highlight,")
    lines.append("#   source), [[curve]]")
    out = []
    for line in lines:  # keep the comment readable: wrap long lines at "; " or ", "
        while len(line) > 96 and ("; " in line[:96] or ", " in line[:96]):
            cut = max(line[:96].rfind("; "), line[:96].rfind(", ")) + 1
            out.append(line[:cut])
            line = "#       " + line[cut + 1:]
        out.append(line)
    return "\n".join(out) + "\n"

