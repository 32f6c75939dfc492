"""The notes under a table: what inference its brackets show, which data it rests on, what
went wrong in a column. Text only; the numbers come from the fitted columns' records."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd

from regrowth import regions
from regrowth.report.tables import format_number

__all__ = ["term_lines", "star_pvalues", "stars_note", "table_note", "resampling",
           "randomization_note", "grouping_notes", "cluster_stats",
           "cluster_rows", "clusters_note", "full_edition_coverage", "coverage_notes",
           "warning_notes"]


def term_lines(extra: dict, digits: int = 3) -> dict[str, str]:
    """``{term: "[p; low, high]"}`` for a column's bootstrap records, with ``; RI p`` (the
    randomization p-value of the t-statistic) appended where the column has one."""
    out = _bootstrap_lines(extra, digits)
    for term, rec in (extra.get("randomization") or {}).items():
        if "error" in rec:
            continue
        ri = f"RI {format_number(rec['pvalue'], 3)}"
        out[term] = out[term][:-1] + f"; {ri}]" if term in out else f"[{ri}]"
    return out


def _bootstrap_lines(extra: dict, digits: int) -> dict[str, str]:
    out = {}
    for term, rec in (extra.get("bootstrap") or {}).items():
        if "error" in rec:
            continue
        lo, hi = rec["ci_low"], rec["ci_high"]
        ends = []
        for v in (lo, hi):
            if v is None or (isinstance(v, float) and math.isnan(v)):
                ends.append("")
            elif math.isinf(v):
                ends.append("-inf" if v < 0 else "inf")
            else:
                ends.append(format_number(v, digits))
        text = f"[{format_number(rec['pvalue'], 3)}"
        if any(ends):
            text += f"; {ends[0]}, {ends[1]}"
        out[term] = text + "]"
    return out


def star_pvalues(extra: dict) -> dict[str, float]:
    """``{term: p-value}`` that set the stars of a column whose spec says ``se.stars =
    "bootstrap"``: the randomization p (RI, exact under the sharp null whatever the number of
    units) where the column has one for the term, else the bootstrap p (records with an
    error are skipped)."""
    out = {term: float(rec["pvalue"]) for term, rec in (extra.get("bootstrap") or {}).items()
           if "error" not in rec and rec.get("pvalue") is not None}
    out.update({term: float(rec["pvalue"])
                for term, rec in (extra.get("randomization") or {}).items()
                if "error" not in rec and rec.get("pvalue") is not None})
    return out


def stars_note(any_bootstrap_stars: bool) -> str | None:
    """The sentence saying which p-values the stars follow, when some follow a bootstrap."""
    if not any_bootstrap_stars:
        return None
    return ("Stars on a coefficient with a bracketed bootstrap line follow its bootstrap "
            "p-value, or its RI p-value where the line has one (the inference this package "
            "recommends with few clusters); on the other coefficients they follow the p-value "
            "of the standard errors shown.")


def _draws(rec: dict) -> str:
    return (f"all {rec['reps']:,} Rademacher sign vectors" if rec["enumerated"]
            else f"{rec['reps']:,} draws, {rec['weights']} weights, seed {rec['seed']}")


def resampling(groups: str | None, n_clusters: int | None, nobs: int | None) -> str:
    """What a bootstrap's draws resampled, in words: ``"clustered by province"`` (se.groups
    ``region``), ``"clustered by <groups>"``, or, when every cluster holds one observation
    (``n_clusters >= nobs``), ``"resampling observations (each cluster has one observation)"``
    -- a wild bootstrap robust to heteroskedasticity only, whatever the clusters are called."""
    if n_clusters and nobs and n_clusters >= nobs:
        return "resampling observations (each cluster has one observation)"
    return f"clustered by {regions.group_label(groups)}"


def table_note(extras: list[dict], clusters: list[tuple] | None = None) -> str | None:
    """One sentence naming the bootstrap(s) behind the bracketed lines, or None.

    ``clusters``: per extra, ``(se.groups, nobs)`` of its column, for what the draws
    resampled (:func:`resampling`); without it the clusters are described as provinces.
    Tests that cluster on other groups than the province (``se.tests``, macro-region tables)
    are left to :func:`grouping_notes`."""
    kinds, settings, how, no_ci = [], [], [], []
    others = False
    for extra, (groups, nobs) in zip(extras, clusters or [(None, None)] * len(extras)):
        for rec in (extra.get("bootstrap") or {}).values():
            if "error" in rec:
                continue
            if rec.get("own_test"):
                others = True
                continue
            text = resampling(rec.get("groups", groups), rec.get("n_clusters"), nobs)
            if text not in how:
                how.append(text)
            if rec.get("ci_note") and rec["ci_note"] not in no_ci:
                no_ci.append(rec["ci_note"])
            method = rec["method"].split(" after ")[0]
            if method not in kinds:
                kinds.append(method)
            draws = _draws(rec)
            if draws not in settings:
                settings.append(draws)
    if not kinds:
        return None
    level = 95
    return (f"In brackets under the focus coefficients: bootstrap p-value of H0: coefficient "
            f"= 0 and {level}% confidence set by test inversion, {'; '.join(how)}"
            f"{' unless a note below says otherwise' if others else ''} "
            f"({'; '.join(kinds)}; {'; '.join(settings)}; Roodman et al. 2019, Stata "
            "boottest). Score bootstrap after GNB/NB2/Poisson; after FGLS and random effects "
            "the GLS transformation is held at its estimate."
            + "".join(f" A bracket without a confidence set: {n}." for n in no_ci))


def randomization_note(extras: list[dict]) -> str | None:
    """The sentence explaining "RI" in the bracketed lines, or None without such records."""
    recs = [r for e in extras for r in (e.get("randomization") or {}).values() if "error" not in r]
    if not recs:
        return None
    draws = sorted({("all " if r["enumerated"] else "") + f"{r['permutations']:,}" for r in recs})
    seeds = sorted({r["seed"] for r in recs if r["seed"] is not None})
    # "region" is the table's own rows (provinces, or the macro-regions of a macro table)
    units = sorted({f"{r['n_units']} units" if r.get("unit", "region") == "region"
                    else f"{r['n_units']} {r['unit'].replace('_', '-')}s for {r['param']}"
                    for r in recs})
    return ("RI: randomization p-value of the t-statistic (Young 2019): the focus regressor's "
            f"whole series dealt out at random across the {' / '.join(units)} and "
            f"the column refitted each draw ({' / '.join(draws)} permutations"
            + (f", seed {', '.join(map(str, seeds))}" if seeds else "")
            + "); p = (1 + #{|t*| >= |t|}) / (1 + draws).")


def grouping_notes(columns: list[tuple[str, dict]], labels: dict | None = None) -> list[str]:
    """One sentence per coefficient whose bootstrap has its own grouping (``se.tests`` in the
    spec): the term, the columns, the groups and their number, the draws, and which p-value
    its stars follow (the RI p where the column has one, as :func:`star_pvalues`); ``columns``
    is ``[(column label, extra), ...]``."""
    found: dict[tuple[str, str, int, str], list[str]] = {}
    with_ri: set[tuple[str, str]] = set()
    for label, extra in columns:
        for term, rec in (extra.get("bootstrap") or {}).items():
            groups = rec.get("groups", "region")
            if not rec.get("own_test") or "error" in rec:
                continue
            key = (term, groups, int(rec["n_clusters"]), _draws(rec))
            found.setdefault(key, []).append(label)
            ri = (extra.get("randomization") or {}).get(term)
            if ri is not None and "error" not in ri:
                with_ri.add((term, label))
    notes = []
    for (term, groups, G, draws), cols in found.items():
        name = (labels or {}).get(term, term)
        which = "column" if len(cols) == 1 else "columns"
        n_ri = sum((term, c) in with_ri for c in cols)
        stars = ("its stars follow that test" if n_ri == 0
                 else "its stars follow its RI p-value"
                 if n_ri == len(cols)
                 else "its stars follow its RI p-value where the bracket shows one, else that "
                      "test")
        notes.append(f"{name}: the bracketed test in {which} {', '.join(cols)} clusters and "
                     f"wild-bootstraps by {regions.group_label(groups)} ({G} clusters; "
                     f"{draws}), the level at which the regressor varies; {stars}.")
    return notes


def cluster_stats(extra: dict) -> dict[str, float]:
    """``{"gstar:<term>": G*, "top2:<term>": share}`` from a column's cluster records
    (:mod:`regrowth.analyses.clusters`), for the rows of :func:`cluster_rows`."""
    out = {}
    for term, rec in (extra.get("clusters") or {}).items():
        if "error" in rec:
            continue
        out[f"gstar:{term}"] = float(rec["gstar"])
        out[f"top2:{term}"] = float(rec["top2_share"])
    return out


def cluster_rows(focus, labels: dict | None = None) -> list[tuple[str, str, str]]:
    """The tables' rows "Effective clusters G*" and "Top-2 cluster share" of each focus term:
    (stats key, row label, format) as :func:`regrowth.report.tables.regression_table` takes
    them (G* to one decimal, the share to two)."""
    rows = []
    for term in focus:
        name = (labels or {}).get(term, term)
        rows.append((f"gstar:{term}", f"Effective clusters G*, {name}", ".1f"))
        rows.append((f"top2:{term}", f"Top-2 cluster share, {name}", ".2f"))
    return rows


def clusters_note(extras: list[dict]) -> str | None:
    """The sentence defining the G* and top-2 rows, when some column has them."""
    if not any(cluster_stats(e) for e in extras):
        return None
    return ("Effective clusters G*: Carter, Schnepel & Steigerwald's (2017) G*(0) of the "
            "coefficient's test, from the regressors' cluster structure (G when all clusters "
            "weigh the same; fewer when a few dominate), on the clusters of that test. Top-2 "
            "cluster share: the share of the coefficient's cluster score variance "
            "(sum over clusters of s_g^2, s_g = e_k'H^-1 times the cluster's score sum) "
            "carried by its two largest clusters.")


def full_edition_coverage(processed_dir: str | Path) -> dict[str, str]:
    """``{variable: note}`` for the panel variables read from a full-edition KOSIS download,
    from the codebook's ``notes`` column (``full edition: kosis/<file>, <n> provinces,
    <first>-<last> ...``); empty when the codebook is absent or names none."""
    path = Path(processed_dir) / "codebook.csv"
    if not path.is_file():
        return {}
    try:
        book = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (ValueError, OSError):
        return {}
    if not {"name", "notes"} <= set(book.columns):
        return {}
    out = {}
    for name, notes in zip(book["name"], book["notes"]):
        found = [n.strip() for n in str(notes).split(";") if "full edition" in n]
        if found:
            out[name] = found[0][0].upper() + found[0][1:]
    return out


def coverage_notes(table, coverage: dict[str, str]) -> list[str]:
    """One note per full-edition variable a table's columns use: what was read (file,
    provinces, years), so the table says its coverage."""
    notes = []
    for name in dict.fromkeys(v for c in table.columns for v in c.variables()):
        if name in coverage and coverage[name] not in notes:
            notes.append(f"{name}: {coverage[name]}.")
    return notes


def warning_notes(table, fitted: dict) -> list[str]:
    """One note per warning a column's fit raised (no finite maximum, no convergence, ...),
    so a table never shows such estimates as if they were clean; each names the column."""
    notes = []
    for c in table.columns:
        for w in getattr(fitted.get(c.name), "warnings", None) or ():
            first = re.split(r"(?<=[.;])\s", str(w), maxsplit=1)[0]
            notes.append(f"Column {c.label} ({c.id}): {first}")
    return notes
