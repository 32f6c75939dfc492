"""Regression and descriptive tables, rendered to Markdown, LaTeX, HTML and CSV.

A table is built from :class:`TableColumn` objects — one per model, each holding the output of
:func:`regrowth.report.tidy.tidy` and :func:`regrowth.report.tidy.glance` (plus extra rows such as the
estimator, the sample and the standard-error type) — and laid out the way economists read
them::
                        (1)          (2)
                     GNB, main   GNB, robust
    Mean equation
    Fiscal self-reliance  0.012**      0.010*
                         (0.005)      (0.006)
    ln(alpha) equation
    ...
    N                       96           96

Conventions
-----------
* Coefficients with standard errors in parentheses beneath; stars ``* p<0.10, ** p<0.05,
  *** p<0.01`` (strict inequalities; stated in the notes of every format).
* Rows: terms in order of first appearance across columns (or ``order=``), grouped into
  panels by equation ("Mean equation", "ln(alpha) equation") when any column has more than
  one; a single-equation table has no panel headings. ``"main"`` and ``"mean"`` share the
  mean-equation panel, so Poisson/NB2/GNB columns line up.
* A term a column lacks prints blank; so does a NaN estimate or standard error.
* Numbers use Python's fixed-point formatting (never the locale); ``-0.000`` prints
  ``0.000``; output has ``\\n`` line endings, no timestamps: the same inputs give the same
  bytes.
* :meth:`RegressionTable.write` renders every format first, then writes each
  atomically (:func:`regrowth.files.write_text`), so a failure never leaves a half-written file.

LaTeX, as economists' tools write it (Stata's ``esttab ..., booktabs alignment(S)``, R's
``modelsummary(..., align = "d")``; ``pyfixest.etable`` has the booktabs rules and
threeparttable notes but no decimal alignment): ``<stem>.tex`` is a ``table`` float whose
caption drops a leading "Table N." (LaTeX numbers floats itself) and whose notes are as wide
as the table (``threeparttable``); ``<stem>_tabular.tex`` is the tabular alone, to ``\\input``
into the author's own float. Numbers sit in siunitx ``S`` columns sized to them (aligned on
the decimal point; siunitx typesets the minus sign and the thousands separators), text cells
are braced, stars are ``\\sym{**}``; in text (bootstrap lines ``[p; low, high]``, intervals,
notes) every minus sign is ``$-$``, ``->`` is ``$\\rightarrow$`` and a digit range takes an
en dash. Text pdflatex cannot typeset (Hangul) is refused with :class:`LatexTextError`.
Preamble: ``\\usepackage{booktabs}``, ``\\usepackage{siunitx}`` (version 3, TeX Live 2021
or later) and, for the float, ``\\usepackage{threeparttable}``.

The Word output (:func:`write_docx`, through python-docx) is on A4 by default (US Letter as
an option) and deterministic too: fixed document properties and zip entry timestamps.
"""

from __future__ import annotations

import csv
import io
import math
import re
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
import pandas as pd

from regrowth.files import csv_row, write_bytes, write_text
from regrowth.report.tidy import CONSTANT_NAMES
from regrowth.report.latex import (
    LATEX_PACKAGES,
    LatexTextError,
    latex_escape,
    _NUMERIC_CELL,
    _SISETUP,
    _SYM,
    _WRAP_HEAD,
    _column_format,
    _latex_cell,
    _latex_lines,
    latex_caption,
    latex_text,
)
from regrowth.report.docx_tables import (
    PAPER_SIZES,
    write_docx,
)

__all__ = [
    "TableColumn",
    "StatRow",
    "Row",
    "RegressionTable",
    "DEFAULT_STARS",
    "DEFAULT_STAT_ROWS",
    "PANEL_LABELS",
    "regression_table",
    "descriptive_table",
    "format_number",
    "significance_stars",
    "latex_escape",
    "latex_text",
    "latex_caption",
    "LatexTextError",
    "LATEX_PACKAGES",
    "write_docx",
    "PAPER_SIZES",
]

#: (threshold, marker) pairs, strictest first; a p-value strictly below the threshold earns
#: the marker.
DEFAULT_STARS: tuple[tuple[float, str], ...] = ((0.01, "***"), (0.05, "**"), (0.10, "*"))

#: Headings of equation panels. Equations not listed are headed "<name> equation".
PANEL_LABELS: Mapping[str, str] = {
    "mean": "Mean equation", "lnalpha": "ln(alpha) equation",
    "direct": "Direct effects (spatial lag; LeSage-Pace)",
    "indirect": "Indirect effects: spillovers to neighbours (spatial lag)",
    "total": "Total effects (spatial lag)"}

_REQUIRED_COEF_COLUMNS = ("term", "equation", "estimate", "std_error", "p_value")
_INTEGER_STATS = frozenset({"nobs", "n_entities", "n_macro_regions", "n_periods", "wald_df"})


# --------------------------------------------------------------------------- inputs

@dataclass(frozen=True, eq=False)
class TableColumn:
    """One model column of a regression table.

    label : column number, e.g. ``"(1)"``.
    title : short model description, e.g. ``"GNB, main"``.
    coefs : output of :func:`regrowth.report.tidy.tidy`.
    stats : output of :func:`regrowth.report.tidy.glance` plus extra rows, e.g.
        ``{"estimator": "gnbreg", "sample": "2015–2020", "se": "cluster (province)"}``.
    term_lines : extra text printed on a line of its own under a coefficient's standard
        error, keyed by term (bare or qualified ``"lnalpha:z"``), e.g. a bootstrap p-value
        and confidence set ``{"x": "[0.246; -0.008, 0.016]"}`` (say what it is in a note).
    star_p : p-values that set a term's stars instead of the ``p_value`` of ``coefs``, keyed
        like ``term_lines`` (e.g. the bootstrap p-values of the recommended inference).
    """
    label: str
    title: str
    coefs: pd.DataFrame
    stats: Mapping[str, Any] = field(default_factory=dict)
    term_lines: Mapping[str, str] = field(default_factory=dict)
    star_p: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class StatRow:
    """A row of the bottom block: ``key`` into each column's ``stats`` (a tuple of keys means
    "the first one present"), the row ``label``, and an optional ``fmt`` (a format spec such as
    ``".1f"`` or a callable returning the cell text)."""
    key: str | tuple[str, ...]
    label: str
    fmt: str | Callable[[Any], str] | None = None

    def lookup(self, stats: Mapping[str, Any]) -> tuple[str | None, Any]:
        keys = (self.key,) if isinstance(self.key, str) else tuple(self.key)
        for key in keys:
            if key in stats and not _is_missing(stats[key]):
                return key, stats[key]
        return None, None


#: The bottom block used when ``stat_rows`` is not given. A row is shown only when at least
#: one column has a value for it. "Standard errors" reads ``stats["se"]`` and falls back to
#: ``glance``'s ``cov_type``.
DEFAULT_STAT_ROWS: tuple[StatRow, ...] = (
    StatRow("nobs", "N"),
    StatRow("n_entities", "Provinces"),
    StatRow("n_macro_regions", "Macro-regions"),
    StatRow("sample", "Sample years"),
    StatRow("llf", "Log likelihood"),
    StatRow("aic", "AIC"),
    StatRow("estimator", "Estimator"),
    StatRow(("se", "cov_type"), "Standard errors"),
)


@dataclass(frozen=True)
class Row:
    """A rendered row. ``kind`` is ``"panel"`` (equation heading, no cells), ``"coef"``,
    ``"se"``, ``"extra"`` (a :attr:`TableColumn.term_lines` line under the standard error)
    or ``"stat"``."""
    kind: str
    label: str
    cells: tuple[str, ...]


# --------------------------------------------------------------------------- formatting

def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, (float, np.floating)):
        return not math.isfinite(float(value))
    return False


def format_number(value: Any, digits: int = 3, *, grouping: bool = False) -> str:
    """Fixed-point text of ``value`` (locale-independent); blank for None/NaN/inf, and
    ``"0.000"`` rather than ``"-0.000"``."""
    if _is_missing(value):
        return ""
    number = float(value)
    text = f"{number:,.{digits}f}" if grouping else f"{number:.{digits}f}"
    if text.startswith("-") and float(text.replace(",", "")) == 0.0:
        text = text[1:]
    return text


def significance_stars(p_value: Any, stars: Sequence[tuple[float, str]] = DEFAULT_STARS) -> str:
    """The marker of the strictest threshold that ``p_value`` is strictly below ("" if none)."""
    if _is_missing(p_value):
        return ""
    p = float(p_value)
    for threshold, marker in sorted(stars, key=lambda s: s[0]):
        if p < threshold:
            return marker
    return ""


def _star_note(stars: Sequence[tuple[float, str]]) -> str:
    return ", ".join(f"{marker} p<{threshold:.2f}"
                     for threshold, marker in sorted(stars, key=lambda s: -s[0]))


def _format_stat(key: str | None, value: Any, row: StatRow, digits: int) -> str:
    if key is None or _is_missing(value):
        return ""
    if row.fmt is not None:
        return row.fmt(value) if callable(row.fmt) else format(value, row.fmt)
    if isinstance(value, (bool, np.bool_)):
        return "Yes" if value else "No"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        if key in _INTEGER_STATS and float(value).is_integer():
            return str(int(value))
        return format_number(value, digits)
    return str(value)






























# ``<`` only where it could open an HTML tag or autolink ("p<0.10" stays readable)
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|]|<(?=[A-Za-z/!?]))")


def _md_escape(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", str(text))


def _md_paragraph(text: str) -> str:
    out = _md_escape(text)
    out = re.sub(r"^(\s*)([#+\-=>])", r"\1\\\2", out)      # heading, list, quote, setext
    out = re.sub(r"^(\s*\d+)([.)])", r"\1\\\2", out)       # ordered list
    return out


def _md_cell(text: str, numeric: bool) -> str:
    # numbers keep their stars readable: an unmatched ``**`` in a cell is literal in GFM
    return text.replace("|", r"\|") if numeric else _md_escape(text)


# --------------------------------------------------------------------------- the table

_HTML_TEMPLATE = jinja2.Environment(
    autoescape=True, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
).from_string("""\
<table class="regrowth-table">
<caption>{{ title }}</caption>
<thead>
<tr><th></th>{% for c in columns %}<th style="text-align:center">{{ c }}</th>{% endfor %}</tr>
{% if titles %}
<tr><th></th>{% for t in titles %}<th style="text-align:center">{{ t }}</th>{% endfor %}</tr>
{% endif %}
</thead>
{% for block in blocks %}
<tbody class="{{ block.kind }}">
{% for row in block.rows %}
{% if row.kind == "panel" %}
<tr class="panel"><th colspan="{{ ncol + 1 }}" style="text-align:left"><em>{{ row.label }}</em></th></tr>
{% else %}
<tr class="{{ row.kind }}"><th style="text-align:left">{{ row.label }}</th>{% for c in row.cells %}<td style="text-align:center">{{ c }}</td>{% endfor %}</tr>
{% endif %}
{% endfor %}
</tbody>
{% endfor %}
{% if notes %}
<tfoot>
{% for note in notes %}
<tr><td colspan="{{ ncol + 1 }}" style="text-align:left"><small>{{ note }}</small></td></tr>
{% endfor %}
</tfoot>
{% endif %}
</table>
""")


#: The formats :meth:`RegressionTable.write` writes (plus ``<stem>_tabular.tex``).
TABLE_SUFFIXES = ("md", "tex", "html", "csv", "docx")


def table_paths(stem: str) -> list[str]:
    """The files :meth:`RegressionTable.write` writes for ``stem`` (a path without suffix,
    e.g. ``"tables/table1_innovation"``), in a stable order: what a run that keeps a table's
    last good outputs must keep."""
    return [f"{stem}.{s}" for s in TABLE_SUFFIXES] + [f"{stem}_tabular.tex"]


@dataclass(frozen=True)
class RegressionTable:
    """A laid-out table: formatted cells plus title and notes; render with ``to_*``.

    ``columns`` are the column labels, ``titles`` the optional second header row, ``rows`` the
    body, ``notes`` the user's notes, ``stars`` the significance levels (their legend is added
    after the notes when any coefficient row exists).
    """
    title: str
    columns: tuple[str, ...]
    titles: tuple[str, ...] | None
    rows: tuple[Row, ...]
    notes: tuple[str, ...] = ()
    stars: tuple[tuple[float, str], ...] = ()

    # -- structure helpers
    @property
    def ncol(self) -> int:
        return len(self.columns)

    def _blocks(self) -> list[tuple[str, list[Row]]]:
        """Consecutive rows split into ("body", rows) and ("stats", rows) blocks."""
        blocks: list[tuple[str, list[Row]]] = []
        for row in self.rows:
            kind = "stats" if row.kind == "stat" else "body"
            if not blocks or blocks[-1][0] != kind:
                blocks.append((kind, []))
            blocks[-1][1].append(row)
        return blocks

    def _has_stars(self) -> bool:
        return bool(self.stars) and any(r.kind == "coef" for r in self.rows)

    def all_notes(self) -> tuple[str, ...]:
        """User notes, then the star legend (plain text)."""
        extra = (_star_note(self.stars),) if self._has_stars() else ()
        return tuple(self.notes) + extra

    # -- renderers
    def to_frame(self) -> pd.DataFrame:
        """Formatted cells as a DataFrame: index = row labels (blank under a coefficient),
        columns = labels (with titles as a second level when present)."""
        if self.titles is not None:
            cols = pd.MultiIndex.from_arrays([list(self.columns), list(self.titles)])
        else:
            cols = pd.Index(list(self.columns))
        data = [list(r.cells) if r.kind != "panel" else [""] * self.ncol for r in self.rows]
        index = pd.Index([r.label for r in self.rows])
        return pd.DataFrame(data, index=index, columns=cols, dtype=object)

    def to_markdown(self) -> str:
        """GitHub-flavoured Markdown: bold title, pipe table, notes as paragraphs."""
        header = [""] + [_md_escape(c) for c in self.columns]
        body: list[list[str]] = []
        if self.titles is not None:
            body.append([""] + [_md_escape(t) for t in self.titles])
        for row in self.rows:
            if row.kind == "panel":
                body.append([f"*{_md_escape(row.label)}*"] + [""] * self.ncol)
            else:
                numeric = row.kind in ("coef", "se", "extra")
                body.append([_md_escape(row.label)]
                            + [_md_cell(c, numeric or bool(_NUMERIC_CELL.match(c)))
                               for c in row.cells])
        widths = [max(3, len(header[j]), *(len(r[j]) for r in body))
                  for j in range(len(header))]
        lines = [f"**{_md_escape(self.title)}**", ""]
        lines.append("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |")
        lines.append("|" + "|".join(
            (":" + "-" * (w + 1)) if j == 0 else (":" + "-" * w + ":")
            for j, w in enumerate(widths)) + "|")
        for r in body:
            cells = [r[0].ljust(widths[0])] + [c.center(w) for c, w in zip(r[1:], widths[1:])]
            lines.append("| " + " | ".join(cells) + " |")
        notes = [_md_paragraph(n) for n in self.notes]
        if self._has_stars():
            notes.append(_md_escape(_star_note(self.stars)))
        for note in notes:
            lines += ["", note]
        return "\n".join(lines) + "\n"

    def _latex_where(self, row: str = "") -> str:
        return f"{self.title!r}" + (f", row {row!r}" if row else "")

    def to_latex_tabular(self) -> str:
        """The ``tabular`` alone, to ``\\input`` inside your own ``table`` float.

        booktabs rules; numbers aligned on the decimal point in siunitx ``S`` columns (each
        sized to its numbers), text cells braced and centred; stars as ``\\sym{**}``. Needs
        ``\\usepackage{booktabs}`` and ``\\usepackage{siunitx}`` (version 3, TeX Live 2021
        or later); the siunitx settings and ``\\sym`` are set inside a group, so they
        change nothing else in the document.
        """
        n = self.ncol
        numeric = [_column_format([r.cells[j] for r in self.rows if r.kind != "panel"])
                   for j in range(n)]
        specs = ["l"] + [f or "c" for f in numeric]
        is_num = [f is not None for f in numeric]

        def head(cells: Sequence[str]) -> str:
            out = [""]
            for j, c in enumerate(cells):
                text = _latex_lines(c, _WRAP_HEAD, valign="b", where=self._latex_where("header"))
                out.append("{" + text + "}" if is_num[j] else text)
            return " & ".join(out) + r" \\"

        lines = [r"% Requires \usepackage{booktabs} and \usepackage{siunitx} (v3).",
                 "{" + _SYM, _SISETUP,
                 r"\begin{tabular}{" + " ".join(specs) + "}", r"\toprule", head(self.columns)]
        if self.titles is not None:
            lines.append(head(self.titles))
        lines.append(r"\midrule")
        first_panel = True
        for i, row in enumerate(self.rows):
            if row.kind == "stat" and i > 0 and self.rows[i - 1].kind != "stat":
                lines.append(r"\midrule")
            where = self._latex_where(row.label or self.rows[i - 1].label if i else row.label)
            if row.kind == "panel":
                if not first_panel:
                    lines.append(r"\addlinespace")
                first_panel = False
                lines.append(rf"\multicolumn{{{n + 1}}}{{l}}"
                             rf"{{\textit{{{latex_text(row.label, where=where)}}}}} \\")
            else:
                lines.append(" & ".join(
                    [latex_text(row.label, where=where)]
                    + [_latex_cell(c, is_num[j], where, wrap=row.kind != "extra")
                       for j, c in enumerate(row.cells)])
                    + r" \\")
        lines += [r"\bottomrule", r"\end{tabular}}"]
        return "\n".join(lines) + "\n"

    def to_latex(self, *, label: str | None = None) -> str:
        """A ``table`` float: caption (without a leading "Table N.", which LaTeX prints
        itself), ``\\label``, the :meth:`to_latex_tabular` tabular, then the notes and the
        star legend in footnote size, as wide as the table (``threeparttable``, as
        ``esttab`` and ``pyfixest.etable`` do). Needs the tabular's packages and
        ``\\usepackage{threeparttable}``."""
        where = self._latex_where("caption")
        lines = [r"% Requires \usepackage{booktabs}, \usepackage{siunitx} (v3) and "
                 r"\usepackage{threeparttable}.",
                 r"\begin{table}[htbp]", r"\centering", r"\begin{threeparttable}",
                 rf"\caption{{{latex_text(latex_caption(self.title), where=where)}}}"]
        if label is not None and re.fullmatch(r"[A-Za-z0-9_.:\-]+", label):
            lines.append(rf"\label{{{label}}}")
        lines += self.to_latex_tabular().splitlines()[1:]
        notes = [latex_text(x, where=self._latex_where("notes")) for x in self.notes]
        if self._has_stars():
            notes.append(", ".join(
                rf"$^{{{marker}}}$ $p<{threshold:.2f}$"
                for threshold, marker in sorted(self.stars, key=lambda s: -s[0])))
        if notes:
            lines += [r"\begin{tablenotes}[flushleft]", r"\footnotesize"]
            lines += [rf"\item[] {note}" for note in notes]
            lines.append(r"\end{tablenotes}")
        lines += [r"\end{threeparttable}", r"\end{table}"]
        return "\n".join(lines) + "\n"

    def to_html(self) -> str:
        """An HTML ``<table>`` (escaped; inline alignment so it renders in notebooks)."""
        blocks = [{"kind": k, "rows": rows} for k, rows in self._blocks()]
        return _HTML_TEMPLATE.render(
            title=self.title, columns=self.columns, titles=self.titles, blocks=blocks,
            ncol=self.ncol, notes=self.all_notes())

    def to_csv(self) -> str:
        """Formatted cells as CSV: title line, header line(s), body, then one line per note."""
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writerow = lambda cells: writer.writerow(csv_row(cells))  # noqa: E731 (formula-safe)
        writerow([self.title])
        writerow([""] + list(self.columns))
        if self.titles is not None:
            writerow([""] + list(self.titles))
        for row in self.rows:
            cells = [""] * self.ncol if row.kind == "panel" else list(row.cells)
            writerow([row.label] + cells)
        for note in self.all_notes():
            writerow([note])
        return buf.getvalue()

    def to_docx(self, *, paper: str = "a4") -> bytes:
        """A Word document (``.docx`` bytes) on ``paper`` ("a4" or "letter"): see
        :func:`regrowth.report.tables.write_docx`."""
        return write_docx(self, paper=paper)

    def render(self, *, latex_label: str | None = None) -> dict[str, str]:
        """Every text format, keyed ``md``, ``tex`` (the float), ``tabular`` (the tabular
        alone), ``html`` and ``csv``."""
        return {"md": self.to_markdown(), "tex": self.to_latex(label=latex_label),
                "tabular": self.to_latex_tabular(), "html": self.to_html(),
                "csv": self.to_csv()}

    def write(self, stem: str | Path, *, paper: str = "a4") -> dict[str, Path]:
        """Write ``<stem>.md``, ``.tex`` (a ``table`` float), ``<stem>_tabular.tex`` (the
        tabular alone, to ``\\input``), ``.html``, ``.csv`` and ``.docx`` (on ``paper``),
        each atomically.

        Everything is rendered before the first file is touched. The LaTeX label is
        ``tab:<stem name>``. Returns the paths keyed like :meth:`render` plus ``docx``.
        """
        stem = Path(stem)
        texts = self.render(latex_label=f"tab:{stem.name}")
        docx = self.to_docx(paper=paper)
        names = {suffix: f"{stem.name}.{suffix}" for suffix in texts}
        names["tabular"] = f"{stem.name}_tabular.tex"
        out = {suffix: write_text(stem.with_name(names[suffix]), text)
               for suffix, text in texts.items()}
        out["docx"] = write_bytes(stem.with_name(f"{stem.name}.docx"), docx)
        return out

    # -- display
    def __str__(self) -> str:
        return self.to_markdown()

    def _repr_html_(self) -> str:
        return self.to_html()

    def _repr_markdown_(self) -> str:
        return self.to_markdown()


# --------------------------------------------------------------------------- builders

def _normalise_stat_rows(stat_rows: Any) -> tuple[StatRow, ...]:
    if stat_rows is None:
        return DEFAULT_STAT_ROWS
    if isinstance(stat_rows, Mapping):
        return tuple(StatRow(k, v) for k, v in stat_rows.items())
    out = []
    for item in stat_rows:
        if isinstance(item, StatRow):
            out.append(item)
        else:
            out.append(StatRow(*item))
    return tuple(out)


def _panel_of(equation: str) -> str:
    return "mean" if equation in ("main", "mean") else equation


def _matches(patterns: Iterable[str], key: str, term: str) -> bool:
    return any(fnmatchcase(key, p) or fnmatchcase(term, p) for p in patterns)


def _collect(columns) -> tuple[dict, list, list]:
    """(panel, term) -> first-appearance rank; per column {(panel, term): row}; the panels,
    the mean equation first."""
    appearance: dict[tuple[str, str], int] = {}
    lookup: list[dict[tuple[str, str], Any]] = []
    panels: list[str] = []
    for col in columns:
        missing = [c for c in _REQUIRED_COEF_COLUMNS if c not in col.coefs.columns]
        if missing:
            raise ValueError(f"regression_table: column {col.label!r}: coefs lack {missing}; "
                             "pass the output of regrowth.report.tidy.tidy()")
        entries: dict[tuple[str, str], Any] = {}
        for rec in col.coefs.itertuples(index=False):
            panel, term = _panel_of(str(rec.equation)), str(rec.term)
            key = (panel, term)
            if key in entries:
                raise ValueError(f"regression_table: column {col.label!r} has term {term!r} "
                                 f"twice in equation {panel!r}")
            entries[key] = rec
            appearance.setdefault(key, len(appearance))
            if panel not in panels:
                panels.append(panel)
        lookup.append(entries)
    return appearance, lookup, sorted(panels, key=lambda p: (p != "mean", panels.index(p)))


def _coefficient_rows(columns, appearance, lookup, panels, *, var_labels, panel_names, drop,
                      order, digits, stars) -> list:
    """The coefficient, standard-error and extra (bracketed) rows of every panel."""
    show_panels = len(panels) > 1

    def qualified(panel: str, term: str) -> str:
        return term if panel == "mean" else f"{panel}:{term}"

    def rank(panel: str, term: str) -> tuple[int, int]:
        q = qualified(panel, term)
        for i, entry in enumerate(order):
            if entry == q or entry == term:
                return (i, 0)
        return (len(order), appearance[(panel, term)])

    def label_of(panel: str, term: str) -> str:
        q = qualified(panel, term)
        if q in var_labels:
            return var_labels[q]
        if term in var_labels:
            return var_labels[term]
        return "Constant" if term in CONSTANT_NAMES else term

    rows: list[Row] = []
    for panel in panels:
        terms = [t for (p, t) in appearance if p == panel
                 and not _matches(drop, qualified(p, t), t)]
        if not terms:
            continue
        terms.sort(key=lambda t: rank(panel, t))
        if show_panels:
            rows.append(Row("panel", panel_names.get(panel, f"{panel} equation"), ()))
        for term in terms:
            coef_cells, se_cells = [], []
            for col, entries in zip(columns, lookup):
                rec = entries.get((panel, term))
                est = format_number(rec.estimate, digits) if rec is not None else ""
                if est:
                    p = col.star_p.get(qualified(panel, term), col.star_p.get(term, rec.p_value))
                    coef_cells.append(est + significance_stars(p, stars))
                    se = format_number(rec.std_error, digits)
                    se_cells.append(f"({se})" if se else "")
                else:
                    coef_cells.append("")
                    se_cells.append("")
            rows.append(Row("coef", label_of(panel, term), tuple(coef_cells)))
            rows.append(Row("se", "", tuple(se_cells)))
            extra_cells = tuple(
                str(col.term_lines.get(qualified(panel, term), col.term_lines.get(term, "")))
                if (panel, term) in entries else ""
                for col, entries in zip(columns, lookup))
            if any(extra_cells):
                rows.append(Row("extra", "", extra_cells))
    return rows


def regression_table(
    columns: Sequence[TableColumn],
    *,
    title: str,
    notes: Iterable[str] = (),
    var_labels: Mapping[str, str] | None = None,
    stat_rows: Sequence[StatRow | tuple] | Mapping[str, str] | None = None,
    digits: int = 3,
    order: Sequence[str] | None = None,
    drop: Iterable[str] = (),
    stars: Sequence[tuple[float, str]] = DEFAULT_STARS,
    panel_labels: Mapping[str, str] | None = None,
) -> RegressionTable:
    """Lay out a regression table (see the module docstring for the conventions).

    Parameters
    ----------
    columns : one :class:`TableColumn` per model, left to right.
    title : the caption.
    notes : sentences printed under the table in every format (edition, coverage, sample,
        SE type...); the star legend is appended automatically.
    var_labels : display names. Keys are terms (``"x"``, applies in every panel) or qualified
        terms (``"lnalpha:const"``, that panel only). Constants default to "Constant".
    stat_rows : the bottom block: :class:`StatRow` objects, ``(key, label[, fmt])`` tuples or a
        ``{key: label}`` mapping, in display order; default :data:`DEFAULT_STAT_ROWS`. A row
        is shown only when some column has a value for it.
    digits : decimals of coefficients, standard errors and float statistics.
    order : terms (bare or qualified) to put first, in this order; the others follow in order
        of first appearance.
    drop : terms to leave out; ``fnmatch`` patterns on bare or qualified names
        (e.g. ``"year*"``).
    stars : (threshold, marker) pairs; ``()`` for none.
    panel_labels : headings of equation panels, overriding :data:`PANEL_LABELS`.
    """
    columns = list(columns)
    if not columns:
        raise ValueError("regression_table: no columns given")
    appearance, lookup, panels = _collect(columns)
    rows = _coefficient_rows(columns, appearance, lookup, panels, var_labels=dict(var_labels or {}),
                             panel_names={**PANEL_LABELS, **(panel_labels or {})},
                             drop=tuple(drop), order=list(order or []), digits=digits,
                             stars=stars)
    for stat in _normalise_stat_rows(stat_rows):
        found = [stat.lookup(col.stats) for col in columns]
        if all(k is None for k, _ in found):
            continue
        cells = tuple(_format_stat(k, v, stat, digits) for k, v in found)
        rows.append(Row("stat", stat.label, cells))

    return RegressionTable(
        title=str(title),
        columns=tuple(str(c.label) for c in columns),
        titles=tuple(str(c.title) for c in columns),
        rows=tuple(rows),
        notes=tuple(str(n) for n in notes),
        stars=tuple((float(t), str(m)) for t, m in stars),
    )


def descriptive_table(
    panel_df: pd.DataFrame,
    variables: Sequence[str],
    labels: Mapping[str, str] | None = None,
    *,
    title: str = "Descriptive statistics",
    notes: Iterable[str] = (),
    digits: int | Mapping[str, int] = 3,
) -> RegressionTable:
    """Summary statistics, one row per variable: N (non-missing), mean, SD (n - 1), min, max.

    Rows are labelled with ``labels`` (the caller's variable labels, e.g. the spec file's
    ``[labels]``); a variable without a label is shown by its panel name, with a
    ``UserWarning`` and a note under the table naming it, so a raw name never passes
    unnoticed. ``digits`` may be a mapping from variable to decimals (default 3); large
    values get thousands separators. A variable whose values are all whole numbers (counts,
    dummies) prints its min and max as integers ("5", "1,590", not "5.000"); its mean and
    SD keep the decimals. A note stating the definitions is appended to ``notes``.
    """
    labels = dict(labels or {})
    missing = [v for v in variables if v not in panel_df.columns]
    if missing:
        raise KeyError(f"descriptive_table: no column(s) {missing} in the panel")
    unlabelled = [v for v in variables if not labels.get(v)]
    if unlabelled:
        warnings.warn(f"descriptive_table {title!r}: no label for {', '.join(unlabelled)}; "
                      "shown by the panel name (add it to the labels, e.g. specs/models.toml "
                      "[labels])", UserWarning, stacklevel=2)
    rows = []
    for var in variables:
        d = digits.get(var, 3) if isinstance(digits, Mapping) else int(digits)
        x = pd.to_numeric(panel_df[var], errors="raise").astype("float64").to_numpy()
        x = x[np.isfinite(x)]
        n = int(x.size)
        if n:
            mean, lo, hi = float(x.mean()), float(x.min()), float(x.max())
            sd = float(x.std(ddof=1)) if n > 1 else float("nan")
        else:
            mean = sd = lo = hi = float("nan")
        whole = n > 0 and bool(np.all(x == np.round(x)))
        cells = ((str(n),) + tuple(format_number(v, d, grouping=True) for v in (mean, sd))
                 + tuple(format_number(v, 0 if whole else d, grouping=True) for v in (lo, hi)))
        rows.append(Row("coef", labels.get(var) or var, cells))
    extra = ()
    if unlabelled:
        extra = (f"Variables with no label are shown by their panel name: "
                 f"{', '.join(unlabelled)}.",)
    return RegressionTable(
        title=str(title),
        columns=("N", "Mean", "SD", "Min", "Max"),
        titles=None,
        rows=tuple(rows),
        notes=tuple(str(n) for n in notes) + extra
        + ("N counts non-missing observations; SD is the sample standard deviation (n - 1); "
           "min and max of whole-number variables (counts, indicators) are printed as "
           "integers.",),
        stars=(),
    )


# --------------------------------------------------------------------------- Word







