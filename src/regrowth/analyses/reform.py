"""The 2019-20 fiscal decentralization reform as a design (``[table.analyses.reform]``).

A table carries the reform's estimates with::

    [table.analyses.reform]
    fiscal = ["<fiscal measure>", ...]   # first stages: event studies and DiDs on dose x year
    endog = "<fiscal measure>"           # instrumented by dose x post in the 2SLS
    growth = "<growth outcome>"          # linear reduced form (event study and DiD)
    count_outcome = "<count>"            # PPML event study of a count (optional)
    iv_outcomes = ["<outcome>", ...]     # 2SLS outcomes
    exclude = ["sejong"]                 # provinces left out of every sample
    consumption = "<column>"             # the dose's consumption and population columns
    population = "<column>"
    reps = 9999, ri_reps = 999, seed = 20190101
    figure = "<fiscal measure>"          # whose first-stage event study is drawn
    output = "table6_reform", title = "..."

It runs :func:`regrowth.reform.estimates.run` (the dose from the statute registry and the
pre-reform consumption shares; event studies, dose-response DiDs with wild-bootstrap and
randomization p-values, 2SLS with KP / effective F and Anderson-Rubin sets, all years,
without 2020 and with a 2019-only first stage) and writes ``results/tables/<output>.*``,
``results/figures/<output>_event_study.png`` (with 95% wild-bootstrap sets),
``results/figures/<output>_dose_map.png`` (the dose per resident of each province in the
estimates, :func:`regrowth.reform.figure.dose_map`) and ``estimates.json["reform"]``. The
statute parameters that no stored source confirms are listed in the table's notes.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from regrowth.report import figures
from regrowth.analyses import Analysis, Context, Output, register
from regrowth.models import iv
from regrowth.reform import dose as dose_mod
from regrowth.reform import estimates as reform_estimates
from regrowth.reform.figure import dose_map, event_study_figure
from regrowth.report.tables import table_paths, RegressionTable, Row, format_number
from regrowth.specs.parse import parse_exclude, unknown

__all__ = ["reform_table"]

_KEYS = ("fiscal", "endog", "growth", "count_outcome", "iv_outcomes", "exclude", "consumption",
         "population", "reps", "ri_reps", "seed", "figure", "output", "title")
_VARIANTS = (("all_years", "all years"), ("without_2020", "without 2020"),
             ("first_stage_2019_only", "first stage 2019 only"))
EXTS = ("md", "tex", "html", "csv", "docx")


def _parse(value, table, problems, where) -> dict | None:
    before = len(problems.lines)
    if not isinstance(value, dict):
        problems.add(where, "analyses.reform", "must be a table: [table.analyses.reform]")
        return None
    unknown(value, _KEYS, problems, where, "analyses.reform.")
    for k in ("endog", "growth", "consumption", "population"):
        if not isinstance(value.get(k), str):
            problems.add(where, f"analyses.reform.{k}", "is required: a panel variable name")
    for k in ("fiscal", "iv_outcomes"):
        v = value.get(k)
        if not (isinstance(v, list) and v and all(isinstance(x, str) for x in v)):
            problems.add(where, f"analyses.reform.{k}", "is required: a list of panel variables")
    exclude = parse_exclude(value, problems, where, "analyses.reform.")
    for k in ("reps", "ri_reps", "seed"):
        v = value.get(k, 0)
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            problems.add(where, f"analyses.reform.{k}", f"must be an integer >= 0, not {v!r}")
    if len(problems.lines) > before:
        return None
    out = dict(value)
    out["exclude"] = exclude
    out.setdefault("output", f"{table.id}")
    out.setdefault("figure", value["endog"])
    return out


def _files(table, settings) -> list[str]:
    stem = settings["output"]
    return (table_paths(f"tables/{stem}")
            + [str(p) for p in figures.figure_paths(f"figures/{stem}_event_study").values()]
            + [str(p) for p in figures.figure_paths(f"figures/{stem}_dose_map").values()])


def _p(x) -> str:
    return format_number(x, 3) if x is not None else ""


def _interval(ends) -> str:
    parts = []
    for lo, hi in ends:
        fmt = [("-inf" if v == "-inf" else "inf" if v == "inf" else format_number(v, 3))
               for v in (lo, hi)]
        parts.append(f"[{fmt[0]}, {fmt[1]}]")
    return " U ".join(parts)


#: Korean terms of the statute notes, in the words the tables use (tables are also LaTeX:
#: Latin script only; the Korean is in the registry and the notebooks)
_TERMS = {"특별자치시": "special self-governing city", "광역시": "metropolitan city",
          "특별자치도": "special self-governing province", "시·군·구": "cities, counties and districts",
          "도": "province"}


def _latin(text: str) -> str:
    for ko, en in _TERMS.items():
        text = text.replace(ko, en)
    return re.sub(r"[\uac00-\ud7a3]+", "", text)


def reform_table(rec: dict, settings: dict, labels: dict, title: str) -> RegressionTable:
    """The reform's DiDs (first stages and reduced form) and 2SLS as one table: a column per
    model, the coefficient, its cluster-robust SE, bootstrap and randomization p-values, the
    first-stage F statistics, the Anderson-Rubin set and the pre-trend test."""
    heads, cells = [], []
    for col, d in rec["did"].items():
        c = d["coefficients"][0]
        fs = rec["first_stage"].get(col, {}).get("pretrend", {})
        heads.append(f"DiD: {labels.get(col, col)}")
        cells.append({"coef": format_number(c["estimate"], 3), "se": f"({format_number(c['std_error'], 3)})",
                      "p": _p(c["p_value"]), "boot": _p(d.get("wild_bootstrap", {}).get("pvalue")),
                      "ri": _p(d.get("randomization", {}).get("pvalue")),
                      "pretrend": (f"{format_number(fs['F'], 2)} ({_p(fs['pvalue'])})" if fs else ""),
                      "n": str(d["nobs"]), "g": str(d["n_clusters"])})
    for outcome, block in rec["iv"].items():
        for key, name in _VARIANTS:
            r = block.get(key)
            if not r or "error" in r:
                continue
            c = r["coefficients"][0]
            heads.append(f"2SLS: {labels.get(outcome, outcome)}, {name}")
            cells.append({"coef": format_number(c["estimate"], 3),
                          "se": f"({format_number(c['std_error'], 3)})", "p": _p(c["p_value"]),
                          "kp": format_number(r["first_stage"]["kp_rk_wald_f"], 1),
                          "eff": format_number(r["first_stage"]["effective_f"], 1),
                          "ar": _interval(r["anderson_rubin_95"]),
                          "n": str(r["nobs"]), "g": str(r["n_clusters"])})
    spec = [("coef", "Dose x post (DiD) / fiscal measure (2SLS)"), ("se", ""),
            ("p", "  p-value, t(G-1)"), ("boot", "  wild bootstrap p"), ("ri", "  randomization p"),
            ("kp", "First-stage F (Kleibergen-Paap)"), ("eff", "Effective F (Montiel Olea-Pflueger)"),
            ("ar", "Anderson-Rubin 95% set"), ("pretrend", "Pre-trend F (p), leads 2014-2017"),
            ("n", "N"), ("g", "Provinces")]
    rows = []
    for key, label in spec:
        values = tuple(c.get(key, "") for c in cells)
        if any(values):
            kind = "coef" if key == "coef" else "se" if key == "se" else "stat"
            rows.append(Row(kind, label, values))
    notes = (
        f"Dose: {rec['sample']['dose']}; {rec['sample']['n_regions']} provinces "
        f"({', '.join(settings['exclude']) or 'none'} excluded). Province and year effects in every "
        "model; SEs clustered by province (Stata's G/(G-1)(N-1)/(N-K)), p-values from t(G-1).",
        "DiD: the outcome on dose x post (2019 on). 2SLS: the outcome on "
        f"{labels.get(settings['endog'], settings['endog'])} instrumented by dose x post; the "
        "Anderson-Rubin set stays valid with a weak instrument; 2020 is the COVID year (column "
        "without 2020) and the 2019-only first stage uses 2014-2019.",
        f"Wild cluster bootstrap: Rademacher, {settings.get('reps', 9999)} draws (all 2^G sign "
        f"vectors when fewer), seed {settings.get('seed', 20190101)}; randomization inference: "
        f"doses permuted across provinces, {settings.get('ri_reps', 999)} permutations.",
        *[f"Statute: {_latin(n)}" for n in rec.get("statute_notes", [])],
        *[f"Not estimated: {k} ({v})." for k, v in rec.get("skipped", {}).items()],
    )
    return RegressionTable(title=title, columns=tuple(f"({i})" for i in range(1, len(cells) + 1)),
                           titles=tuple(heads), rows=tuple(rows), notes=notes, stars=())


def _run(ctx: Context, table, settings) -> Output:
    s = settings
    reps = ctx.reps.get("reform", s.get("reps", 9999))
    dose_kwargs = {"consumption": s["consumption"], "population": s["population"]}
    rec = reform_estimates.run(
        ctx.panel, fiscal=tuple(s["fiscal"]), endog=s["endog"], growth=s["growth"],
        count_outcome=s.get("count_outcome"), iv_outcomes=tuple(s["iv_outcomes"]),
        exclude=s["exclude"], reps=reps, ri_reps=ctx.reps.get("reform_ri", s.get("ri_reps", 999)),
        seed=s.get("seed", 20190101), dose_kwargs=dose_kwargs)
    stem = s["output"]
    tab = reform_table(rec, s, ctx.labels, s.get("title", table.title))
    files = list(tab.write(Path(ctx.out) / "tables" / stem).values())
    measure = s["figure"]
    if measure in ctx.panel.columns:
        data = dose_mod.dose_panel(ctx.panel, **dose_kwargs)
        es = iv.event_study(data, measure, "phase1_dose", regions=rec["sample"]["regions"])
        path = Path(ctx.out) / "figures" / f"{stem}_event_study.png"
        event_study_figure(es, path, bootstrap=True, reps=min(reps, 9999), seed=s.get("seed", 20190101),
                           title=f"First stage: {ctx.labels.get(measure, measure)} on the reform's "
                                 "dose x year (2018 = 0)")
        files.append(path)
    rec["dose"] = {k: float(v) for k, v in rec["dose"].items() if np.isfinite(v)}
    path = Path(ctx.out) / "figures" / f"{stem}_dose_map.png"
    dose_map(rec["dose"], path,
             source=("Dose: the local consumption tax's statutory increase from 11% to 21% "
                     "of VAT (Local Tax Act; regrowth.reform.statute) times the province's "
                     "2017-18 share of private consumption weighted 1/2/3 (capital region / "
                     "other metropolitan cities / provinces; Statistics Korea, KOSIS DT_1C86), "
                     "per resident (resident registration, Ministry of the Interior and "
                     "Safety)."))
    files += list(figures.figure_paths(path).values())
    return Output(files=files, record={"reform": {table.id: rec}})


register(Analysis(name="reform", stage="outputs", run=_run, parse=_parse, files=_files,
                  record_keys=("reform",),
                  doc="the 2019-20 local consumption tax reform: dose, event studies, DiD, 2SLS"))
