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
import textwrap
import unicodedata
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
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
import datetime as dt
import zipfile
import docx
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.enum.section import WD_ORIENT
from docx.shared import Mm, Pt

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
PANEL_LABELS: Mapping[str, str] = {"mean": "Mean equation", "lnalpha": "ln(alpha) equation"}

_REQUIRED_COEF_COLUMNS = ("term", "equation", "estimate", "std_error", "p_value")
_INTEGER_STATS = frozenset({"nobs", "n_entities", "n_periods", "wald_df"})


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
    """
    label: str
    title: str
    coefs: pd.DataFrame
    stats: Mapping[str, Any] = field(default_factory=dict)
    term_lines: Mapping[str, str] = field(default_factory=dict)


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


_LATEX_MAP = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
    "<": r"\textless{}", ">": r"\textgreater{}", "–": "--", "—": "---",
}
_LATEX_RE = re.compile("|".join(re.escape(k) for k in _LATEX_MAP))
_NUMERIC_CELL = re.compile(r"^(\(?)(-?)([\d,]*\.?\d+)(\)?)(\**)$")

#: Text that LaTeX needs as a symbol (one convention everywhere: every minus sign in a LaTeX
#: table is the math minus ``$-$``, every arrow ``$\rightarrow$``). Tried before the
#: character escapes, longest first.
_LATEX_SYMBOLS = {
    "->": r"$\rightarrow$", "=>": r"$\Rightarrow$", "<=": r"$\leq$", ">=": r"$\geq$",
    "→": r"$\rightarrow$", "⇒": r"$\Rightarrow$", "←": r"$\leftarrow$", "≤": r"$\leq$",
    "≥": r"$\geq$", "≠": r"$\neq$", "≈": r"$\approx$", "−": r"$-$", "×": r"$\times$",
    "±": r"$\pm$", "·": r"$\cdot$", "²": r"$^{2}$", "³": r"$^{3}$", "†": r"\dag{}",
    "‡": r"\ddag{}", "…": r"\ldots{}", "‘": "`", "’": "'", "“": "``", "”": "''",
    "α": r"$\alpha$", "β": r"$\beta$", "γ": r"$\gamma$", "δ": r"$\delta$",
    "ε": r"$\varepsilon$", "θ": r"$\theta$", "λ": r"$\lambda$", "μ": r"$\mu$",
    "ρ": r"$\rho$", "σ": r"$\sigma$", "τ": r"$\tau$", "χ": r"$\chi$", "Δ": r"$\Delta$",
    "\u00a0": "~",
}
#: A hyphen that is a minus sign: before a digit, not after a word, a closing bracket or a
#: digit ("-0.041", "[-0.020", "; -1.2"; not "t-1", "2015-2020").
_MINUS = r"(?<![\w)\].])-(?=\.?\d)"
#: A hyphen between two digits is a range ("2015-2020", "2012-13"): an en dash.
_RANGE = r"(?<=\d)-(?=\d)"
_LATEX_TEXT_RE = re.compile("|".join(
    [f"(?P<minus>{_MINUS})", f"(?P<range>{_RANGE})"]
    + [re.escape(k) for k in sorted(_LATEX_SYMBOLS, key=len, reverse=True)]
    + [re.escape(k) for k in _LATEX_MAP]))


class LatexTextError(ValueError):
    """Text that pdflatex cannot typeset without extra packages (Hangul, CJK, Cyrillic...)."""


def latex_escape(text: str) -> str:
    """Escape LaTeX's special characters (``\\ & % $ # _ { } ~ ^ < >``; en/em dashes become
    ``--``/``---``). See :func:`latex_text` for table text (minus signs, arrows, non-Latin
    text)."""
    return _LATEX_RE.sub(lambda m: _LATEX_MAP[m.group(0)], str(text))


def _latex_token(m: re.Match) -> str:
    if m.lastgroup == "minus":
        return "$-$"
    if m.lastgroup == "range":
        return "--"
    tok = m.group(0)
    return _LATEX_SYMBOLS.get(tok) or _LATEX_MAP[tok]


def latex_text(text: str, *, where: str = "") -> str:
    """Text for a LaTeX table: special characters escaped, minus signs as ``$-$`` (a hyphen
    before a digit that does not follow a word: ``[0.002; -0.041, -0.010]``), digit ranges
    with an en dash (``2015--2020``), arrows and other symbols in math (``->`` becomes
    ``$\\rightarrow$``), Greek letters as math symbols.

    Latin letters with accents (U+00C0 to U+017F) pass through (LaTeX reads UTF-8). Any
    other non-ASCII character — Hangul above all — cannot be typeset by pdflatex without a
    CJK set-up and raises :class:`LatexTextError` naming the text and ``where`` it is, rather
    than writing a file that will not compile.
    """
    text = str(text)
    for ch in text:
        if ord(ch) > 127 and ch not in _LATEX_SYMBOLS and ch not in _LATEX_MAP \
                and not 0xC0 <= ord(ch) <= 0x17F:
            name = unicodedata.name(ch, "unnamed character")
            raise LatexTextError(
                f"LaTeX table{' ' + where if where else ''}: {text!r} contains {ch!r} "
                f"(U+{ord(ch):04X} {name}), which pdflatex cannot typeset without a CJK "
                "set-up; give an English (romanized) label or title, e.g. a province's "
                "Region.name_en, in specs/models.toml [labels] or the caller's var_labels")
    return _LATEX_TEXT_RE.sub(_latex_token, text)


def latex_caption(title: str) -> str:
    """A title without a leading "Table N." / "Table 5a:" (LaTeX numbers the float itself,
    so the number would print twice: "Table 2: Table 2. ...")."""
    return _TABLE_NUMBER.sub("", str(title), count=1) or str(title)


_TABLE_NUMBER = re.compile(r"^\s*Table\s+[A-Za-z]?\d+[A-Za-z]?\s*[.:]\s*", re.IGNORECASE)

#: Packages the LaTeX output needs in the preamble (threeparttable: the float only).
LATEX_PACKAGES = ("booktabs", "siunitx", "threeparttable")

#: siunitx settings of every table (inside the table's group, so they change nothing else):
#: brackets and stars are text around the number, not an uncertainty; thousands grouped
#: with a comma from 4 integer digits, as in the other formats.
_SISETUP = (r"\sisetup{input-open-uncertainty=, input-close-uncertainty=, "
            r"table-align-text-before=false, table-align-text-after=false, "
            r"group-digits=integer, group-separator={,}, group-minimum-digits=4}")

#: Significance marks in a table: ``\sym{**}`` as in Stata's esttab (the user's own
#: ``\sym`` wins).
_SYM = r"\providecommand{\sym}[1]{\ensuremath{^{#1}}}"


def _latex_number(m: re.Match) -> str:
    """A numeric cell for an S column: plain digits (siunitx prints the minus sign and the
    thousands separators), stars through ``\\sym``."""
    open_, minus, digits, close, stars = m.groups()
    out = f"{open_}{minus}{digits.replace(',', '')}{close}"
    return out + (rf"\sym{{{stars}}}" if stars else "")


#: Text longer than this (characters) is set on several lines inside its cell (a nested
#: tabular, no package needed), so a long column title or a long statistic does not make
#: the table wider than the page: column titles, text in numeric columns, text columns.
_WRAP_HEAD, _WRAP_CELL, _WRAP_TEXT_COLUMN = 18, 20, 32


def _latex_lines(text: str, width: int, *, align: str = "c", valign: str = "t",
                 where: str = "") -> str:
    """``text`` for LaTeX; over ``width`` characters, broken at spaces into a nested
    ``tabular`` (``valign`` t: first line on the row's baseline; b: last line)."""
    if len(text) <= width:
        return latex_text(text, where=where)
    lines = textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False)
    if len(lines) < 2:
        return latex_text(text, where=where)
    return (rf"\begin{{tabular}}[{valign}]{{@{{}}{align}@{{}}}}"
            + r" \\ ".join(latex_text(x, where=where) for x in lines) + r"\end{tabular}")


def _latex_cell(text: str, numeric_column: bool, where: str, *, wrap: bool = True) -> str:
    if not text:
        return ""
    m = _NUMERIC_CELL.match(text)
    if numeric_column and m:
        return _latex_number(m)
    if not wrap:
        out = latex_text(text, where=where)
    elif numeric_column:
        out = _latex_lines(text, _WRAP_CELL, where=where)
    else:
        out = _latex_lines(text, _WRAP_TEXT_COLUMN, align="l", where=where)
    return "{" + out + "}" if numeric_column else out


def _column_format(cells: Sequence[str]) -> str | None:
    """``S[table-format=...]`` sized to a column's numeric cells, or None if it has none."""
    found = [m for m in (_NUMERIC_CELL.match(c) for c in cells if c) if m]
    if not found:
        return None
    ints, decs, neg, paren, stars = 1, 0, False, False, 0
    for m in found:
        open_, minus, digits, close, star = m.groups()
        whole, _, frac = digits.replace(",", "").partition(".")
        ints, decs = max(ints, len(whole) or 1), max(decs, len(frac))
        neg, paren, stars = neg or bool(minus), paren or bool(open_), max(stars, len(star))
    fmt = f"{'-' if neg else ''}{ints}" + (f".{decs}" if decs else "")
    opts = [f"table-format={fmt}"]
    if paren:
        opts.append("table-space-text-pre={(}")
    if stars:
        opts.append(rf"table-space-text-post={{\sym{{{'*' * stars}}}}}")
    elif paren:
        opts.append("table-space-text-post={)}")
    return "S[" + ", ".join(opts) + "]"


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
            for entries in lookup:
                rec = entries.get((panel, term))
                est = format_number(rec.estimate, digits) if rec is not None else ""
                if est:
                    coef_cells.append(est + significance_stars(rec.p_value, stars))
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

#: Date written into a .docx's core properties and zip entries (no run-time timestamps).
DOCX_EPOCH = (1980, 1, 1, 0, 0, 0)


def _docx_rule(cell, edge: str, size: int) -> None:
    """A horizontal rule on one edge (``top``/``bottom``) of a table cell (size in 1/8 pt)."""
    tc_pr = cell._tc.get_or_add_tcPr()
    borders = tc_pr.find(qn("w:tcBorders"))
    if borders is None:
        borders = OxmlElement("w:tcBorders")
        tc_pr.append(borders)
    el = OxmlElement(f"w:{edge}")
    el.set(qn("w:val"), "single")
    el.set(qn("w:sz"), str(size))
    el.set(qn("w:space"), "0")
    el.set(qn("w:color"), "000000")
    borders.append(el)


#: Paper sizes of the Word output (width, height in millimetres) and the margins used.
PAPER_SIZES: Mapping[str, tuple[float, float]] = {"a4": (210.0, 297.0), "letter": (215.9, 279.4)}
_DOCX_MARGIN_MM = 25.0


def write_docx(table: RegressionTable, path: str | Path | None = None, *,
               paper: str = "a4") -> bytes:
    """Render ``table`` as a Word document; return its bytes (and write them to ``path``,
    atomically, if given).

    Layout as in a journal: title paragraph, a borderless table with rules above and below
    the header and above and below the statistics block (booktabs style), equation panels in
    italics, numbers centred, then the notes and the significance legend in small type.

    The page is A4 (210 x 297 mm) by default, US Letter with ``paper="letter"``, portrait
    with 25 mm margins (python-docx's template is Letter with 1-inch margins).

    Deterministic: python-docx's document properties (author, dates, revision) are fixed,
    and the zip archive is rewritten with every entry dated :data:`DOCX_EPOCH`, in
    python-docx's own (fixed) order, so the same table gives the same bytes on every run.
    """

    if paper not in PAPER_SIZES:
        raise ValueError(f"write_docx: paper must be one of {sorted(PAPER_SIZES)}, "
                         f"not {paper!r}")
    doc = docx.Document()
    width, height = PAPER_SIZES[paper]
    for section in doc.sections:
        section.orientation = WD_ORIENT.PORTRAIT
        section.page_width, section.page_height = Mm(width), Mm(height)
        section.left_margin = section.right_margin = Mm(_DOCX_MARGIN_MM)
        section.top_margin = section.bottom_margin = Mm(_DOCX_MARGIN_MM)
    props = doc.core_properties
    fixed = dt.datetime(*DOCX_EPOCH)
    props.author = props.last_modified_by = "regrowth"
    props.created = props.modified = props.last_printed = fixed
    props.revision = 1
    props.title = table.title
    normal = doc.styles["Normal"]
    normal.font.name = "Times New Roman"
    normal.font.size = Pt(10)

    title = doc.add_paragraph()
    title.add_run(table.title).bold = True

    header_rows = 2 if table.titles is not None else 1
    grid = doc.add_table(rows=header_rows + len(table.rows), cols=table.ncol + 1)
    grid.autofit = True
    heads = [("",) + tuple(table.columns)]
    if table.titles is not None:
        heads.append(("",) + tuple(table.titles))
    for i, head in enumerate(heads):
        for j, text in enumerate(head):
            para = grid.cell(i, j).paragraphs[0]
            para.text = str(text)
            para.alignment = WD_ALIGN_PARAGRAPH.CENTER
    first_stat = None
    for i, row in enumerate(table.rows, start=header_rows):
        cells = grid.rows[i].cells
        if row.kind == "panel":
            merged = cells[0].merge(cells[-1])
            merged.paragraphs[0].add_run(row.label).italic = True
            continue
        if row.kind == "stat" and first_stat is None:
            first_stat = i
        cells[0].paragraphs[0].text = row.label
        for j, text in enumerate(row.cells, start=1):
            para = cells[j].paragraphs[0]
            para.text = text
            para.alignment = WD_ALIGN_PARAGRAPH.CENTER
    n_rows = len(grid.rows)
    for cell in grid.rows[0].cells:
        _docx_rule(cell, "top", 8)
    for cell in grid.rows[header_rows - 1].cells:
        _docx_rule(cell, "bottom", 4)
    if first_stat is not None and first_stat > header_rows:
        for cell in grid.rows[first_stat].cells:
            _docx_rule(cell, "top", 4)
    for cell in grid.rows[n_rows - 1].cells:
        _docx_rule(cell, "bottom", 8)

    for note in table.all_notes():
        para = doc.add_paragraph()
        para.add_run(note).font.size = Pt(8)

    raw = io.BytesIO()
    doc.save(raw)
    # rewrite the archive: fixed entry dates and attributes, same entry order
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw.getvalue())) as src, \
            zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=DOCX_EPOCH)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            dst.writestr(entry, src.read(info.filename))
    data = out.getvalue()
    if path is not None:
        write_bytes(path, data)
    return data
