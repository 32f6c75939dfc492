"""One column of a results table: :class:`ColumnSpec`, parsed and checked from its TOML.

A column may inherit from another (``extends = "column"`` in the same table, or
``extends = "table/column"``): it takes every key of that column except ``id``, ``label``,
``title`` and ``rationale`` (each column states its own), and a key it gives replaces the
inherited value whole (``se = { type = "oim" }`` drops an inherited bootstrap). Lists of
variables may name a shared list of the file's ``[lists]`` table as ``"@name"``
(``regressors = ["@ris", "sejong_break"]``), so a regressor list is written once.

The vocabulary of estimators, their options and SE types comes from
:mod:`regrowth.models.registry` and :mod:`regrowth.models.covariance`, nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from regrowth import regions
from regrowth.errors import SpecificationError
from regrowth.models import covariance, registry
from regrowth.models.registry import did_you_mean
from regrowth.specs.parse import (
    Bootstrap,
    Problems,
    TEST_KEYS,
    Sample,
    TermTest,
    boolean,
    parse_bootstrap,
    parse_sample,
    strings,
    table_of,
    text,
    type_name,
    unknown,
    valid_id,
)

__all__ = ["ColumnSpec", "COLUMN_KEYS", "SE_KEYS", "SLX_KEYS", "SLX_PREFIX", "OWN_KEYS",
           "parse_column", "resolve_columns"]

COLUMN_KEYS = ("id", "label", "title", "estimator", "outcome", "regressors", "dispersion",
               "exposure", "year_effects", "province_effects", "sample", "se", "options",
               "rationale", "extends", "edition", "slx")
#: ``edition``: "public" (default) or "full" -- a full-edition column reads variables that only
#: a KOSIS download supplies; without them ``make replicate`` says which table and carries on
EDITIONS = ("public", "full")
#: keys of a column's ``slx = { variables, weights, k }`` (or ``slx = [variables]``)
SLX_KEYS = ("variables", "weights", "k")
SLX_WEIGHTS = ("contiguity", "knn", "distance")
#: the name of the spatial lag of ``v`` among a column's regressors
SLX_PREFIX = "w_"
SE_KEYS = ("type", "groups", "bootstrap", "stars", "tests", "reference")
#: the reference distribution of a column's analytic p-values and intervals (``se.reference``):
#: as the estimator reports it (Stata: z after ML, t(G-1) after clustered linear models), the
#: normal, or t(G-1) with G the number of se.groups clusters
REFERENCES = ("model", "normal", "t(G-1)")
#: what drives a column's significance stars: its bootstrap p-values, or the analytic ones
STAR_SOURCES = ("bootstrap", "analytic")
#: keys a column never inherits through ``extends``
OWN_KEYS = ("id", "label", "title", "rationale", "extends")
LIST_KEYS = ("regressors", "dispersion")


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
    stars: str = "analytic"
    #: what the rows are: "region" (provinces) or "macro_region" (set from the table's ``unit``)
    unit: str = "region"
    #: "public" or "full" (see :data:`EDITIONS`)
    edition: str = "public"
    #: coefficients tested with their own clusters (``se.tests``), e.g. a regressor that
    #: varies by macro-region clustered and bootstrapped by macro-region
    tests: tuple[TermTest, ...] = ()
    #: ``se.reference``: one of :data:`REFERENCES`
    reference: str = "model"
    #: ``slx``: panel variables whose spatial lags ``w_<var>`` (the neighbours' mean, each
    #: year: :func:`regrowth.spatial.slx_lags`) are regressors, appended to ``regressors``;
    #: built by :func:`regrowth.fit.estimation_sample` with ``slx_weights`` (and ``slx_k``)
    slx: tuple[str, ...] = ()
    slx_weights: str = "contiguity"
    slx_k: int = 1

    @property
    def name(self) -> str:
        return f"{self.table}/{self.id}"

    @property
    def entry(self) -> registry.Estimator:
        """The estimator's registry entry."""
        return registry.get(self.estimator)

    def slx_terms(self) -> dict[str, str]:
        """``{w_<var>: var}``: the spatially lagged regressors and their panel variables."""
        return {f"{SLX_PREFIX}{v}": v for v in self.slx}

    def variables(self) -> list[str]:
        """Every panel column the model reads, in a stable order, without repeats (for a
        spatially lagged regressor ``w_<var>``, the variable ``var`` it is built from)."""
        lags = self.slx_terms()
        names = [self.outcome, *(lags.get(r, r) for r in self.regressors), *self.dispersion]
        names += [v for v in (self.exposure, self.se_groups) if v]
        names += [t.groups for t in self.tests]
        names += list(self.sample.drop_if)
        return list(dict.fromkeys(names))

    def test_of(self, term: str) -> tuple[str | None, Bootstrap | None]:
        """The clusters and bootstrap settings of ``term``'s test: its ``se.tests`` entry,
        else the column's ``se.groups`` and ``se.bootstrap``."""
        for t in self.tests:
            if t.term == term:
                return t.groups, t.bootstrap
        return self.se_groups, self.bootstrap

    def se_label(self) -> str:
        """The tables' "Standard errors" row, e.g. "clustered by province"."""
        if self.se_type in covariance.se_types() and covariance.se_type(self.se_type).needs_groups:
            return f"clustered by {regions.group_label(self.se_groups)}"
        if self.se_type == "conley":  # the kernel's reach is part of what the SE is
            entry = self.entry
            opt = {o.name: self.options.get(o.name, o.default) for o in entry.options}
            lags = opt.get("lag_cutoff", 0)
            return (f"{registry.se_description(self.se_type)}, {opt.get('cutoff_km'):g} km"
                    + (f", {lags} year{'s' if lags != 1 else ''} serial" if lags else ""))
        return registry.se_description(self.se_type)


# ----------------------------------------------------------------------------- extends, lists

def _expand_lists(raw: dict, lists: dict, problems: Problems, where: str) -> dict:
    out = dict(raw)
    for key in LIST_KEYS:
        value = raw.get(key)
        if not isinstance(value, list):
            continue
        items = []
        for v in value:
            if isinstance(v, str) and v.startswith("@"):
                name = v[1:]
                if name not in lists:
                    problems.add(where, key, f"{v!r} names no list of [lists]"
                                 + did_you_mean(name, lists)
                                 + (f"; lists: {', '.join(lists)}" if lists else ""))
                    continue
                items.extend(lists[name])
            else:
                items.append(v)
        out[key] = items
    return out


def resolve_columns(raw_tables: list, lists: dict, problems: Problems) -> dict:
    """``{(table_id, index): raw column}`` with ``extends`` applied and ``@lists`` expanded.

    A column extends another of the same table (``"gnb_main"``) or of any table
    (``"table1_innovation/gnb_main"``); chains are followed, a cycle or an unknown target is a
    problem naming the column.
    """
    by_name: dict[str, dict] = {}
    slots: list[tuple[str, int, dict]] = []
    for t in raw_tables:
        if not isinstance(t, dict) or not isinstance(t.get("column"), list):
            continue
        tid = str(t.get("id"))
        for j, c in enumerate(t["column"]):
            if isinstance(c, dict):
                slots.append((tid, j, c))
                if isinstance(c.get("id"), str):
                    by_name.setdefault(f"{tid}/{c['id']}", c)
    resolved: dict[str, dict] = {}

    def resolve(tid: str, raw: dict, chain: tuple[str, ...]) -> dict:
        target = raw.get("extends")
        if target is None:
            return raw
        where = f"table {tid!r}, column {raw.get('id')!r}"
        if not isinstance(target, str) or not target:
            problems.add(where, "extends", f"must name a column ('column' or 'table/column'), "
                                           f"not {type_name(target)}")
            return {k: v for k, v in raw.items() if k != "extends"}
        full = target if "/" in target else f"{tid}/{target}"
        if full in chain:
            problems.add(where, "extends", f"{target!r} leads back to this column "
                                           f"({' -> '.join(chain + (full,))})")
            return {k: v for k, v in raw.items() if k != "extends"}
        if full not in by_name:
            problems.add(where, "extends", f"{target!r} is not a column of the file"
                         + did_you_mean(full, by_name))
            return {k: v for k, v in raw.items() if k != "extends"}
        if full not in resolved:
            base_tid = full.split("/", 1)[0]
            resolved[full] = resolve(base_tid, by_name[full], chain + (full,))
        base = {k: v for k, v in resolved[full].items() if k not in OWN_KEYS}
        return {**base, **{k: v for k, v in raw.items() if k != "extends"}}

    out = {}
    for tid, j, raw in slots:
        where = f"table {tid!r}, column {raw.get('id', f'#{j + 1}')!r}"
        merged = resolve(tid, raw, (f"{tid}/{raw.get('id')}",))
        out[(tid, j)] = _expand_lists(merged, lists, problems, where)
    return out


# ----------------------------------------------------------------------------- one column

def _check_capabilities(entry, where: str, problems: Problems, dispersion, exposure, year,
                        province) -> bool | None:
    """Effects and equations the estimator can have; returns the province-effects flag."""
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
    return True if entry.province_effects == "implied" else province


def _check_options(entry, options: dict, se_type: str | None, where: str,
                   problems: Problems) -> dict:
    name = entry.name
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
    return checked


def _check_se(se_type: str | None, groups, boot, where: str, problems: Problems) -> None:
    needs = se_type in covariance.se_types() and covariance.se_type(se_type).needs_groups
    if needs and groups is None:
        problems.add(where, "se.groups", f"se.type = {se_type!r} needs groups = the panel column "
                                         "to cluster on (e.g. \"region\")")
    if groups is not None and not needs and boot is None:
        problems.add(where, "se.groups", "names the clusters, and only with se.type = 'cluster' "
                                         "or an se.bootstrap")
    if boot is not None and groups is None:
        problems.add(where, "se.bootstrap", "needs se.groups, the clusters the wild bootstrap "
                                            "draws weights for")


def _parse_stars(se: dict, boot, where: str, problems: Problems) -> str:
    """``se.stars``: the p-values behind the column's stars. Default: the bootstrap's where the
    column declares one (the recommended inference drives the stars), else the analytic ones."""
    stars = se.get("stars", "bootstrap" if boot is not None else "analytic")
    if stars not in STAR_SOURCES:
        problems.add(where, "se.stars", f"must be one of {list(STAR_SOURCES)}, not {stars!r}"
                     + did_you_mean(str(stars), STAR_SOURCES))
        return "analytic"
    if stars == "bootstrap" and boot is None:
        problems.add(where, "se.stars", "'bootstrap' needs an se.bootstrap whose p-values drive "
                                        "the stars; declare one or use stars = 'analytic'")
    return stars


def _parse_tests(se: dict, boot, regressors, where: str, problems: Problems
                 ) -> tuple[TermTest, ...]:
    """``se.tests = { <term> = { groups = "...", bootstrap = {...} } }``: coefficients whose
    test clusters on other groups than the column's (the level at which the regressor varies).
    ``groups`` is required; ``bootstrap`` defaults to the column's ``se.bootstrap``."""
    raw = table_of(se.get("tests"), problems, where, "se.tests")
    out = []
    for term, entry in raw.items():
        key = f"se.tests.{term}"
        if regressors and term not in regressors:
            problems.add(where, key, f"{term!r} is not a regressor of the column"
                         + did_you_mean(term, regressors))
            continue
        entry = table_of(entry, problems, where, key)
        unknown(entry, TEST_KEYS, problems, where, key + ".")
        groups = entry.get("groups")
        if not isinstance(groups, str) or not groups.strip():
            problems.add(where, f"{key}.groups", "is required: the panel column the test "
                         f"clusters on (e.g. \"macro_region\"), not {type_name(groups)}")
            continue
        if "bootstrap" in entry:
            own = parse_bootstrap(entry["bootstrap"], problems, where, f"{key}.bootstrap")
        elif boot is not None:
            own = boot
        else:
            problems.add(where, key, "needs a bootstrap: give se.tests.<term>.bootstrap or "
                                     "the column's se.bootstrap")
            continue
        out.append(TermTest(term, groups, own))
    return tuple(out)


def _parse_reference(se: dict, se_type, groups, where: str, problems: Problems) -> str:
    """``se.reference``: "model" (default), "normal" or "t(G-1)" (clustered columns only)."""
    ref = se.get("reference", "model")
    if ref not in REFERENCES:
        problems.add(where, "se.reference", f"must be one of {list(REFERENCES)}, not {ref!r}"
                     + did_you_mean(str(ref), REFERENCES))
        return "model"
    clustered = se_type in covariance.se_types() and covariance.se_type(se_type).needs_groups
    if ref == "t(G-1)" and not (clustered and groups is not None):
        problems.add(where, "se.reference", "'t(G-1)' needs clustered standard errors (se.type = "
                                            "'cluster' with se.groups), whose G it counts")
    return ref


def _parse_slx(raw, regressors, where: str, problems: Problems) -> tuple[tuple, str, int]:
    """``slx = ["v", ...]`` (contiguity weights) or ``slx = { variables = [...], weights =
    "contiguity" | "knn" | "distance", k = 1 }``: (variables, weights kind, k)."""
    value = raw.get("slx")
    if value is None:
        return (), "contiguity", 1
    if isinstance(value, list):
        value = {"variables": value}
    if not isinstance(value, dict):
        problems.add(where, "slx", f"must be a list of panel variables or a table "
                                   f"{{ variables, weights, k }}, not {type_name(value)}")
        return (), "contiguity", 1
    unknown(value, SLX_KEYS, problems, where, "slx.")
    variables = strings(value, "variables", problems, where, "slx.")
    if not variables:
        problems.add(where, "slx.variables", "names no variable: list the panel variables whose "
                                             "neighbours' mean enters as a regressor")
    kind = value.get("weights", "contiguity")
    if kind not in SLX_WEIGHTS:
        problems.add(where, "slx.weights", f"{kind!r} is not one of {list(SLX_WEIGHTS)}"
                     + did_you_mean(str(kind), SLX_WEIGHTS))
    k = value.get("k", 1)
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        problems.add(where, "slx.k", f"must be an integer >= 1, not {type_name(k)}")
    clash = [f"{SLX_PREFIX}{v}" for v in variables if f"{SLX_PREFIX}{v}" in regressors]
    if clash:
        problems.add(where, "slx", f"{clash} are already regressors: the slx key adds them")
    return tuple(variables), str(kind), k if isinstance(k, int) else 1


def parse_column(raw, table_id: str, problems: Problems, index: int) -> ColumnSpec | None:
    """The :class:`ColumnSpec` of one ``[[table.column]]`` (``extends`` and ``@lists`` already
    resolved), or None with every problem added to ``problems``."""
    if not isinstance(raw, dict):
        problems.add(f"table {table_id!r}", f"column[{index}]", "must be a [[table.column]] table")
        return None
    where = f"table {table_id!r}, column {raw.get('id', f'#{index + 1}')!r}"
    before = len(problems.lines)
    unknown(raw, COLUMN_KEYS, problems, where)
    valid_id(raw.get("id"), problems, where, "column")
    texts = {k: text(raw, k, problems, where) for k in
             ("label", "title", "estimator", "outcome", "rationale")}
    exposure = text(raw, "exposure", problems, where, required=False)
    regressors = strings(raw, "regressors", problems, where)
    dispersion = strings(raw, "dispersion", problems, where)
    year = boolean(raw, "year_effects", problems, where)
    province = boolean(raw, "province_effects", problems, where)
    sample = parse_sample(raw.get("sample"), problems, where)
    se = table_of(raw.get("se"), problems, where, "se")
    unknown(se, SE_KEYS, problems, where, "se.")
    options = table_of(raw.get("options"), problems, where, "options")
    groups = se.get("groups")
    if groups is not None and (not isinstance(groups, str) or not groups.strip()):
        problems.add(where, "se.groups", f"must be a panel column name, not {type_name(groups)}")
        groups = None
    boot = parse_bootstrap(se["bootstrap"], problems, where) if "bootstrap" in se else None
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
        province = _check_capabilities(entry, where, problems, dispersion, exposure, year,
                                       province)
        if se_type is None:
            se_type = entry.default_se
        elif se_type not in entry.se_types:
            problems.add(where, "se.type", f"{se_type!r} is not available for {entry.name}; use "
                         f"one of {list(entry.se_types)}" + did_you_mean(se_type, entry.se_types))
            se_type = None
        options = _check_options(entry, options, se_type, where, problems)
    _check_se(se_type, groups, boot, where, problems)
    stars = _parse_stars(se, boot, where, problems)
    slx, slx_weights, slx_k = _parse_slx(raw, regressors, where, problems)
    lagged = tuple(f"{SLX_PREFIX}{v}" for v in slx)
    tests = _parse_tests(se, boot, (*regressors, *lagged), where, problems)
    reference = _parse_reference(se, se_type, groups, where, problems)
    edition = raw.get("edition", "public")
    if edition not in EDITIONS:
        problems.add(where, "edition", f"must be 'public' or 'full', not {edition!r}")
    if len(problems.lines) > before:
        return None
    return ColumnSpec(
        table=table_id, id=raw["id"], label=texts["label"], title=texts["title"],
        estimator=entry.name, outcome=texts["outcome"],
        regressors=(*regressors, *lagged),
        dispersion=dispersion, exposure=exposure, year_effects=bool(year),
        province_effects=bool(province), sample=sample, se_type=se_type, se_groups=groups,
        options=options, bootstrap=boot, stars=stars, tests=tests,
        reference=reference, rationale=texts["rationale"].strip(), edition=edition, slx=slx,
        slx_weights=slx_weights, slx_k=slx_k)
