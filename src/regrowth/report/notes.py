"""The notes under a table: what inference its brackets show, which data it rests on, what
went wrong in a column. Text only; the numbers come from the fitted columns' records."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd

from regrowth.report.tables import format_number

__all__ = ["term_lines", "star_pvalues", "stars_note", "table_note", "resampling",
           "full_edition_coverage",
           "coverage_notes", "warning_notes"]


def term_lines(extra: dict, digits: int = 3) -> dict[str, str]:
    """``{term: "[p; low, high]"}`` for a column's bootstrap records."""
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
    """``{term: bootstrap p-value}`` of a column's bootstrap records (those without an error):
    the p-values that set the stars of a column whose spec says ``se.stars = "bootstrap"``."""
    return {term: float(rec["pvalue"]) for term, rec in (extra.get("bootstrap") or {}).items()
            if "error" not in rec and rec.get("pvalue") is not None}


def stars_note(any_bootstrap_stars: bool) -> str | None:
    """The sentence saying which p-values the stars follow, when some follow a bootstrap."""
    if not any_bootstrap_stars:
        return None
    return ("Stars on a coefficient with a bracketed bootstrap line follow its bootstrap "
            "p-value (the inference this package recommends with few clusters); on the other "
            "coefficients they follow the p-value of the standard errors shown.")


def resampling(groups: str | None, n_clusters: int | None, nobs: int | None) -> str:
    """What a bootstrap's draws resampled, in words: ``"clustered by province"`` (se.groups
    ``region``), ``"clustered by <groups>"``, or, when every cluster holds one observation
    (``n_clusters >= nobs``), ``"resampling observations (each cluster has one observation)"``
    -- a wild bootstrap robust to heteroskedasticity only, whatever the clusters are called."""
    if n_clusters and nobs and n_clusters >= nobs:
        return "resampling observations (each cluster has one observation)"
    return f"clustered by {'province' if groups in (None, 'region') else groups}"


def table_note(extras: list[dict], clusters: list[tuple] | None = None) -> str | None:
    """One sentence naming the bootstrap(s) behind the bracketed lines, or None.

    ``clusters``: per extra, ``(se.groups, nobs)`` of its column, for what the draws
    resampled (:func:`resampling`); without it the clusters are described as provinces."""
    kinds, settings, how, no_ci = [], [], [], []
    for extra, (groups, nobs) in zip(extras, clusters or [(None, None)] * len(extras)):
        for rec in (extra.get("bootstrap") or {}).values():
            if "error" in rec:
                continue
            text = resampling(groups, rec.get("n_clusters"), nobs)
            if text not in how:
                how.append(text)
            if rec.get("ci_note") and rec["ci_note"] not in no_ci:
                no_ci.append(rec["ci_note"])
            method = rec["method"].split(" after ")[0]
            if method not in kinds:
                kinds.append(method)
            draws = (f"all {rec['reps']:,} Rademacher sign vectors" if rec["enumerated"]
                     else f"{rec['reps']:,} draws, {rec['weights']} weights, seed {rec['seed']}")
            if draws not in settings:
                settings.append(draws)
    if not kinds:
        return None
    level = 95
    return (f"In brackets under the focus coefficients: bootstrap p-value of H0: coefficient "
            f"= 0 and {level}% confidence set by test inversion, {'; '.join(how)} "
            f"({'; '.join(kinds)}; {'; '.join(settings)}; Roodman et al. 2019, Stata "
            "boottest). Score bootstrap after GNB/NB2/Poisson; after FGLS and random effects "
            "the GLS transformation is held at its estimate."
            + "".join(f" A bracket without a confidence set: {n}." for n in no_ci))


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
