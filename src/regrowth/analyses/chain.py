r"""The study's chain, estimated as a chain: decentralization -> innovation -> growth.

Declared on a table of ``specs/models.toml`` as ``[table.analyses.chain]`` (stage 1, the
stage-2 block, draws, seed, strata, the innovation measure, the names of the decentralization
term, the population and the observed innovation variable, labels and notes); written as
``results/tables/<output>.*`` and ``estimates.json["chain"]``.

The estimator, its formulas and its bootstrap are in :mod:`regrowth.analyses.chain_estimation`
(:func:`fit_chain`, re-exported here); this module reads the chain from the specification file
(:func:`chain_settings`, :func:`chain_from_specs`) and writes its table and record.

What the public edition can say. Very little: 16 clusters, five growth years, a stage 1 whose
재정자립도 coefficient is identified almost only between provinces (within-province sd about 2
points against 18 between, see the ``variation`` analysis, :mod:`regrowth.analyses.within`) and
whose province-FE estimates are near zero; and the innovation measure is fintech patents, a
narrow slice of innovation. The bootstrap intervals say how wide the uncertainty is; they do
not rescue identification.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd

from regrowth.analyses import Analysis, Context, Output, register
from regrowth.analyses.chain_estimation import (INNOVATION_MEASURES, ChainResult, ChainSettings,
                                                fit_chain)
from regrowth.errors import SpecificationError
from regrowth.models.registry import did_you_mean
from regrowth.report.tables import table_paths, RegressionTable, Row, format_number
from regrowth.specs import Specs
from regrowth.specs import load as load_specs
from regrowth.specs.parse import Problems, parse_exclude, unknown

__all__ = ["INNOVATION_MEASURES", "ChainSettings", "ChainResult", "chain_from_specs",
           "chain_record", "chain_regression_table", "chain_settings", "fit_chain"]

EXTS = ("md", "tex", "html", "csv", "docx")
_KEYS = ("stage1", "stage2", "reps", "seed", "strata", "innovation", "decentralization",
         "population", "observed", "indirect_term", "output", "title", "stage_titles", "notes")
_STAGE2_KEYS = ("outcome", "controls", "years", "exclude", "drop_if", "year_effects",
                "province_effects")


# ----------------------------------------------------------------------------- settings

def _parse(value, table, problems: Problems, where: str) -> ChainSettings | None:
    """``[table.analyses.chain]`` -> :class:`ChainSettings` (problems added, None if any)."""
    before = len(problems.lines)
    if not isinstance(value, dict):
        problems.add(where, "analyses.chain", "must be a table: [table.analyses.chain]")
        return None
    unknown(value, _KEYS, problems, where, "analyses.chain.")
    col = table.column(str(value.get("stage1")))
    if col is None:
        problems.add(where, "analyses.chain.stage1", f"{value.get('stage1')!r} is not a column "
                     "of the table" + did_you_mean(str(value.get("stage1")),
                                                   [c.id for c in table.columns]))
    elif col.estimator != "gnb":
        problems.add(where, "analyses.chain.stage1", f"column {col.id!r} is {col.estimator}; "
                                                     "stage 1 must be a gnb column")
    s2 = value.get("stage2")
    if not isinstance(s2, dict):
        problems.add(where, "analyses.chain.stage2", "is required: [table.analyses.chain.stage2] "
                                                     "with outcome, controls, years")
        s2 = {}
    unknown(s2, _STAGE2_KEYS, problems, where, "analyses.chain.stage2.")
    years = s2.get("years")
    if not (isinstance(years, list) and len(years) == 2 and all(isinstance(y, int) for y in years)):
        problems.add(where, "analyses.chain.stage2.years", "must be [first, last] (integers)")
    exclude = parse_exclude(s2, problems, where, "analyses.chain.stage2.")
    innovation = value.get("innovation", "ln_counts_pm")
    if innovation not in INNOVATION_MEASURES:
        problems.add(where, "analyses.chain.innovation", f"{innovation!r} is not one of "
                     f"{list(INNOVATION_MEASURES)}" + did_you_mean(str(innovation), INNOVATION_MEASURES))
    for key in ("reps", "seed"):
        v = value.get(key, 0)
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            problems.add(where, f"analyses.chain.{key}", f"must be an integer >= 0, not {v!r}")
    if len(problems.lines) > before or col is None:
        return None
    return ChainSettings(
        stage1=col, outcome=str(s2.get("outcome")), controls=tuple(s2.get("controls", ())),
        years=(years[0], years[1]), exclude=exclude, drop_if=tuple(s2.get("drop_if", ())),
        year_effects=bool(s2.get("year_effects", True)),
        province_effects=bool(s2.get("province_effects", False)),
        reps=int(value.get("reps", 999)), seed=int(value.get("seed", 20181121)),
        strata=value.get("strata"), innovation=innovation,
        decentralization=value.get("decentralization"),
        population=str(value.get("population", "population")), observed=value.get("observed"),
        indirect_term=str(value.get("indirect_term", "indirect")),
        output=str(value.get("output", "chain_two_stage")),
        title=str(value.get("title", "The two-stage chain")),
        stage_titles=dict(value.get("stage_titles", {})), notes=tuple(value.get("notes", ())))


def chain_settings(specs: Specs, table_id: str | None = None) -> ChainSettings:
    """The chain declared in ``specs`` (on ``table_id``, or the one table that declares one)."""
    tables = [t for t in specs.tables if "chain" in t.analyses
              and (table_id is None or t.id == table_id)]
    if not tables:
        raise SpecificationError(f"{specs.path}: no table declares analyses.chain"
                                 + (f" (looked at {table_id!r})" if table_id else ""))
    problems = Problems(specs.path)
    settings = _parse(tables[0].analyses["chain"], tables[0], problems, f"table {tables[0].id!r}")
    problems.raise_if_any()
    return settings


def chain_from_specs(panel: pd.DataFrame, specs_path: str | Path = "specs/models.toml", *,
                     table: str | None = None, stage1_column: str | None = None,
                     **overrides) -> ChainResult:
    """:func:`fit_chain` with the settings the specification file declares; ``overrides``
    replace settings (``reps=0``, ``seed=7``, ``innovation="observed"``...), and
    ``stage1_column`` ("table/column") another stage-1 column."""
    specs = load_specs(specs_path)
    settings = chain_settings(specs, table)
    if stage1_column is not None:
        cols = {c.name: c for c in specs.columns()}
        if stage1_column not in cols:
            raise SpecificationError(f"{specs_path}: no column {stage1_column!r}"
                                     + did_you_mean(stage1_column, cols))
        overrides["stage1"] = cols[stage1_column]
    unknown = [k for k in overrides if k not in ChainSettings.__dataclass_fields__]
    if unknown:
        raise TypeError(f"chain_from_specs: unknown settings {unknown}")
    return fit_chain(panel, replace(settings, **overrides))


# ----------------------------------------------------------------------------- output

def chain_record(res: ChainResult) -> dict:
    """``res`` as plain data for ``estimates.json["chain"]``: the tidy rows (``terms``, full
    precision; units as :class:`ChainResult`), draws used, failures, boundary draws, seed,
    innovation measure and samples."""
    return {
        "innovation": res.innovation, "reps": res.reps, "reps_failed": res.reps_failed,
        "reps_used": int(len(res.draws)), "seed": res.seed, "sample": dict(res.sample),
        "interval": "bootstrap percentile, 95%",
        "terms": res.table.to_dict(orient="records"),
    }


def _method_note(sample: dict) -> str:
    if sample.get("method") == "refit":
        return "Each draw refitted from scratch."
    return (f"All draws fitted at once (each draw's GNB from its own default start, as a "
            f"refit would be; {sample.get('reps_refit', 0)} draw(s) refitted one by one "
            "where the batch could not settle them).")


def chain_regression_table(res: ChainResult, labels: dict | None = None) -> RegressionTable:
    """``res`` as a :class:`regrowth.report.tables.RegressionTable`: one row per stage and term;
    columns estimate, bootstrap SE, 95% percentile interval, naive SE and p-value."""
    s = res.settings
    labels = dict(labels or {})
    rows, stage = [], None
    for r in res.table.itertuples(index=False):
        if r.stage != stage:
            stage = r.stage
            rows.append(Row("panel", s.stage_titles.get(stage, stage), ()))
        fmt = lambda v: format_number(v, 3)  # noqa: E731
        rows.append(Row("coef", labels.get(r.term, r.term), (
            fmt(r.estimate), fmt(r.std_error), f"[{fmt(r.ci_low)}, {fmt(r.ci_high)}]",
            fmt(r.std_error_naive), format_number(r.p_value_naive, 3))))
    sm = res.sample
    used = len(res.draws)
    notes = [
        f"Stage 1: {sm.get('stage1')}. Stage 2: {sm.get('stage2')}; {sm.get('nobs')} observations, "
        f"{sm.get('n_provinces')} provinces; innovation = {res.innovation} (log predicted "
        "applications per million residents, from the stage-1 GNB, lagged one year).",
        f"Bootstrap: provinces drawn with replacement over both stages, stratified by "
        f"{sm.get('strata') or 'nothing'}; {res.reps:,} draws (seed {res.seed}), {used:,} used, "
        f"{res.reps_failed} failed, {sm.get('reps_boundary', 0)} at the Poisson boundary of the "
        "capital-region dispersion (kept; see regrowth.analyses.chain). SE = sd of the draws; "
        "interval = 2.5th and 97.5th percentiles. " + _method_note(sm),
        "Naive SE and p: each stage's own analytic SEs (stage 1 GNB clustered by province; stage "
        "2 OLS clustered by province, CR1, t(G-1)), ignoring that stage 2's regressor is "
        "estimated.",
        *s.notes,
    ]
    return RegressionTable(
        title=s.title, columns=("Estimate", "Bootstrap SE", "95% interval", "Naive SE", "Naive p"),
        titles=None, rows=tuple(rows), notes=tuple(notes), stars=())


def _files(table, settings: ChainSettings) -> list[str]:
    return table_paths(f"tables/{settings.output}")


def _run(ctx: Context, table, settings: ChainSettings) -> Output:
    if settings.stage1.name not in ctx.fitted:
        return Output()
    reps = ctx.reps.get("chain", settings.reps)
    res = fit_chain(ctx.panel, replace(settings, reps=reps))
    paths = chain_regression_table(res, ctx.labels).write(Path(ctx.out) / "tables" / settings.output)
    print(f"  chain: {res.reps} draws, {len(res.draws)} used (seed {res.seed}; "
          f"{res.sample.get('reps_refit', 0)} refitted one by one)")
    return Output(files=list(paths.values()), record={"chain": chain_record(res)})


register(Analysis(name="chain", stage="outputs", run=_run, parse=_parse, files=_files,
                  record_keys=("chain",),
                  doc="two-stage chain decentralization -> innovation -> growth with a province "
                      "bootstrap over both stages"))
