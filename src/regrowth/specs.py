"""Read and check ``specs/models.toml``, the single source of truth for what is fitted.

``load(path)`` returns the tables and their columns as frozen dataclasses;
``check_against(specs, columns)`` refuses, before anything is fitted, a specification that
names a variable the panel lacks (naming the variable, the column that asks for it, and
the KOSIS table that would supply it).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from regrowth.editions import supplier_hint
from regrowth.errors import SpecificationError

ESTIMATORS = ("gnb", "nb2", "poisson", "fgls", "re", "fe", "pooled")
COUNT_ESTIMATORS = ("gnb", "nb2", "poisson")
SE_TYPES = {
    "gnb": ("oim", "robust", "cluster"), "nb2": ("oim", "robust", "cluster"),
    "poisson": ("oim", "robust", "cluster"),
    "fgls": ("unadjusted",),
    "re": ("unadjusted", "robust", "cluster", "kernel"),
    "fe": ("unadjusted", "robust", "cluster", "kernel"),
    "pooled": ("unadjusted", "robust", "cluster", "kernel"),
}
OPTIONS = {"fgls": {"panels", "corr", "rhotype", "igls", "nmk", "force", "tol", "maxiter"},
           "re": {"bandwidth"}, "fe": {"bandwidth"}, "pooled": {"bandwidth"}}
COLUMN_KEYS = {"id", "label", "title", "estimator", "outcome", "regressors", "dispersion",
               "exposure", "year_effects", "sample", "se", "options", "rationale"}


@dataclass(frozen=True)
class Sample:
    """Years (inclusive), provinces excluded, and 0/1 flags whose 1-rows are dropped."""

    first_year: int
    last_year: int
    exclude: tuple[str, ...] = ()
    drop_if: tuple[str, ...] = ()

    def describe(self) -> str:
        text = f"{self.first_year}-{self.last_year}"
        if self.exclude:
            text += ", excluding " + ", ".join(self.exclude)
        return text


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

    @property
    def name(self) -> str:
        return f"{self.table}/{self.id}"

    def variables(self) -> list[str]:
        """Every panel column the model reads, in a stable order, without repeats."""
        names = [self.outcome, *self.regressors, *self.dispersion]
        names += [v for v in (self.exposure, self.se_groups) if v]
        names += list(self.sample.drop_if)
        return list(dict.fromkeys(names))

    def se_label(self) -> str:
        if self.se_type == "cluster":
            return "clustered by province" if self.se_groups == "region" else f"clustered by {self.se_groups}"
        return {"oim": "observed information (OIM)", "robust": "robust (sandwich)",
                "unadjusted": "conventional (model-based)",
                "kernel": "Driscoll-Kraay"}.get(self.se_type, self.se_type)


@dataclass(frozen=True)
class TableSpec:
    id: str
    title: str
    notes: tuple[str, ...]
    columns: tuple[ColumnSpec, ...]


@dataclass(frozen=True)
class Specs:
    edition: str
    summary: str
    tables: tuple[TableSpec, ...]
    path: str

    def columns(self) -> list[ColumnSpec]:
        return [c for t in self.tables for c in t.columns]


def _fail(path: Path, where: str, message: str) -> SpecificationError:
    return SpecificationError(f"{path}: {where}: {message}")


def _strings(value, path: Path, where: str, key: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise _fail(path, where, f"{key!r} must be a list of variable names")
    if len(set(value)) != len(value):
        raise _fail(path, where, f"{key!r} lists a variable twice")
    return tuple(value)


def _column(raw: dict, table_id: str, path: Path) -> ColumnSpec:
    where = f"table {table_id!r}, column {raw.get('id', '?')!r}"
    unknown = set(raw) - COLUMN_KEYS
    if unknown:
        raise _fail(path, where, f"unknown key(s) {sorted(unknown)}; allowed: {sorted(COLUMN_KEYS)}")
    for key in ("id", "label", "title", "estimator", "outcome", "rationale"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise _fail(path, where, f"needs a non-empty {key!r}")
    est = raw["estimator"]
    if est not in ESTIMATORS:
        raise _fail(path, where, f"estimator {est!r} is not one of {ESTIMATORS}")
    regressors = _strings(raw.get("regressors"), path, where, "regressors")
    dispersion = _strings(raw.get("dispersion"), path, where, "dispersion")
    if dispersion and est != "gnb":
        raise _fail(path, where, "'dispersion' regressors need estimator = 'gnb'")
    if raw.get("exposure") and est not in COUNT_ESTIMATORS:
        raise _fail(path, where, f"'exposure' applies to count models {COUNT_ESTIMATORS}")
    sample = raw.get("sample") or {}
    years = sample.get("years")
    if (not isinstance(years, list) or len(years) != 2 or not all(isinstance(y, int) for y in years)
            or years[0] > years[1]):
        raise _fail(path, where, "sample.years must be [first, last] with first <= last")
    se = raw.get("se") or {}
    se_type = se.get("type", "oim" if est in COUNT_ESTIMATORS else "unadjusted")
    if se_type not in SE_TYPES[est]:
        raise _fail(path, where, f"se.type {se_type!r} is not available for {est}; use one of {SE_TYPES[est]}")
    if (se_type == "cluster") != bool(se.get("groups")):
        raise _fail(path, where, "se.groups names the cluster variable, and only with se.type = 'cluster'")
    options = dict(raw.get("options") or {})
    bad = set(options) - OPTIONS.get(est, set())
    if bad:
        raise _fail(path, where, f"option(s) {sorted(bad)} do not apply to {est}; "
                                 f"allowed: {sorted(OPTIONS.get(est, set()))}")
    return ColumnSpec(
        table=table_id, id=raw["id"], label=raw["label"], title=raw["title"], estimator=est,
        outcome=raw["outcome"], regressors=regressors, dispersion=dispersion,
        exposure=raw.get("exposure") or None, year_effects=bool(raw.get("year_effects", False)),
        sample=Sample(years[0], years[1], _strings(sample.get("exclude"), path, where, "sample.exclude"),
                      _strings(sample.get("drop_if"), path, where, "sample.drop_if")),
        se_type=se_type, se_groups=se.get("groups"), options=options,
        rationale=raw["rationale"].strip())


def load(path: str | Path = "specs/models.toml") -> Specs:
    """Parse and check the specification file; raise ``SpecificationError`` naming the place."""
    path = Path(path)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise SpecificationError(f"{path}: the specification file is missing") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SpecificationError(f"{path}: not valid TOML ({exc})") from exc
    tables, seen = [], set()
    for raw_table in doc.get("table", []):
        tid = raw_table.get("id")
        if not isinstance(tid, str) or not tid:
            raise _fail(path, "a [[table]]", "needs an 'id'")
        columns = tuple(_column(c, tid, path) for c in raw_table.get("column", []))
        if not columns:
            raise _fail(path, f"table {tid!r}", "has no [[table.column]]")
        for c in columns:
            if c.name in seen:
                raise _fail(path, f"table {tid!r}", f"column id {c.id!r} is used twice")
            seen.add(c.name)
        tables.append(TableSpec(tid, raw_table.get("title", tid), tuple(raw_table.get("notes", [])), columns))
    if not tables:
        raise SpecificationError(f"{path}: no [[table]] is specified")
    edition = doc.get("edition", {})
    return Specs(edition.get("name", "public"), edition.get("summary", ""), tuple(tables), str(path))


def check_against(specs: Specs, columns) -> dict[str, SpecificationError]:
    """Return, for each column spec naming a variable the panel lacks, the error to report.

    The message names the variable, the spec that asks for it and the KOSIS table that
    would supply it (see ``regrowth.editions``). An empty dict means every spec can run.
    """
    available = set(columns)
    problems = {}
    for col in specs.columns():
        missing = [v for v in col.variables() if v not in available]
        if missing:
            hints = "\n  ".join(supplier_hint(v) for v in missing)
            problems[col.name] = SpecificationError(
                f"{specs.path}: {col.name} uses {', '.join(map(repr, missing))}, which the panel "
                f"does not have.\n  {hints}")
    return problems
