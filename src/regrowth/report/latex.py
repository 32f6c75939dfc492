"""LaTeX of the package's tables: escaping (non-Latin text refused with a clear message),
minus signs, arrows and ranges, siunitx number cells and column formats, captions without a
repeated table number. :class:`regrowth.report.tables.RegressionTable` renders through it."""

from __future__ import annotations

import re
import textwrap
import unicodedata
from collections.abc import Sequence


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

