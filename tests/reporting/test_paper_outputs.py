"""Tables and figures drop into a paper: what an author who \\input's a table, opens a PDF
figure or prints a Word table expects (issue 20, item 3).

The LaTeX conventions follow Stata's ``esttab ..., booktabs alignment(S)`` and R's
``modelsummary(..., align = "d")``: booktabs rules, numbers aligned on the decimal point in
siunitx ``S`` columns, text cells braced, stars as ``\\sym{**}``, a float (``<stem>.tex``)
and the tabular alone (``<stem>_tabular.tex``) for the author's own float.
"""

from __future__ import annotations

import io
import pathlib
import re
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

from regrowth.report.tables import (
    LatexTextError, RegressionTable, Row, TableColumn, descriptive_table, latex_caption,
    regression_table,
)

PDFLATEX = shutil.which("pdflatex")


def _tex_has(*files: str) -> bool:
    kpsewhich = shutil.which("kpsewhich")
    if kpsewhich is None:
        return False
    found = subprocess.run([kpsewhich, *files], capture_output=True, text=True, timeout=60)
    return len(found.stdout.split()) == len(files)


needs_pdflatex = pytest.mark.skipif(
    PDFLATEX is None or not _tex_has("booktabs.sty", "siunitx.sty", "threeparttable.sty"),
    reason="pdflatex with booktabs, siunitx and threeparttable is not installed (Debian: "
    "texlive-latex-base, texlive-latex-recommended, texlive-latex-extra, texlive-science); "
    "CI may not have it")


def _coefs(rows):
    df = pd.DataFrame(rows, columns=["term", "equation", "estimate", "std_error", "p_value"])
    df["statistic"] = df["estimate"] / df["std_error"]
    df["ci_low"] = df["estimate"] - 1.96 * df["std_error"]
    df["ci_high"] = df["estimate"] + 1.96 * df["std_error"]
    return df


def growth_table() -> RegressionTable:
    """Shaped like Table 2: a numbered title, negative coefficients, bootstrap lines, text
    statistics, a digit range and an arrow."""
    a = _coefs([("const", "main", 4.281, 5.245, 0.4), ("fsr", "main", -0.024, 0.009, 0.005),
                ("big", "main", -1230.5, 45.9, 0.001)])
    b = _coefs([("const", "main", 230.416, 45.963, 0.0001), ("fsr", "main", 0.001, 0.009, 0.9)])
    cols = [TableColumn("(1)", "FGLS, hetero AR(1)", a,
                        {"nobs": 256, "llf": -594.568, "sample": "2002-2017", "se": "model"},
                        {"fsr": "[0.002; -0.041, -0.010]"}),
            TableColumn("(2)", "2SLS: Nominal per-capita GRDP growth (%), all years", b,
                        {"nobs": 254, "se": "clustered by province"},
                        {"fsr": "[0.507; -0.142, 0.067]"})]
    return regression_table(
        cols, title="Table 2. Innovation, decentralization and regional growth: panel GLS",
        notes=["Fiscal self-reliance -> innovation -> growth; years 2002-2017; rho = -0.3."],
        var_labels={"fsr": "Fiscal self-reliance (%), t-1",
                    "big": "Fiscal self-reliance -> innovation -> growth (b_fsr x gamma)"})


def chain_table() -> RegressionTable:
    """Shaped like the chain table: a text column of intervals, an arrow in the title."""
    return RegressionTable(
        title="The two-stage chain: fiscal self-reliance -> innovation -> growth",
        columns=("Estimate", "Bootstrap SE", "95% interval"), titles=None,
        rows=(Row("panel", "Stage 1", ()),
              Row("coef", "Fiscal self-reliance (%), t-1", ("-0.101", "0.048", "[-0.150, 0.021]")),
              Row("coef", "Fiscal -> innovation -> growth", ("0.015", "0.027", "[-0.056, 0.043]"))),
        notes=("Bootstrap: 999 draws.",))


def descriptives() -> RegressionTable:
    idx = pd.MultiIndex.from_product([["seoul", "busan", "daegu"], [2019, 2020]],
                                     names=["region", "year"])
    df = pd.DataFrame({"patents": [1590.0, 5, 30, 44, 7, 12],
                       "rate": [-0.5, 0.25, 1.0, 0.0, 2.5, -1.25]}, index=idx)
    return descriptive_table(df, ["patents", "rate"], {"patents": "Fintech patent applications",
                                                       "rate": "Growth rate (%)"},
                             title="Descriptive statistics for Table 1")


ALL = (growth_table, chain_table, descriptives)


# --------------------------------------------------------------------------- LaTeX

@needs_pdflatex
def test_a_tabular_fragment_and_a_float_compile_when_input_into_a_minimal_document(tmp_path):
    body = []
    for i, make in enumerate(ALL):
        paths = make().write(tmp_path / f"t{i}")
        body += [r"\begin{table}\centering\caption{Own float}",
                 rf"\input{{{paths['tabular'].name}}}", r"\end{table}",
                 rf"\input{{{paths['tex'].name}}}", r"\clearpage"]
    doc = "\n".join([r"\documentclass{article}", r"\usepackage{booktabs}",
                     r"\usepackage{siunitx}", r"\usepackage{threeparttable}",
                     r"\usepackage[margin=15mm]{geometry}",
                     r"\begin{document}", *body, r"\end{document}", ""])
    (tmp_path / "paper.tex").write_text(doc, encoding="utf-8")
    run = subprocess.run([PDFLATEX, "-interaction=nonstopmode", "-halt-on-error",
                          "-no-shell-escape", "paper.tex"], cwd=tmp_path, capture_output=True,
                         text=True, timeout=120)
    log = (tmp_path / "paper.log").read_text(encoding="latin-1")
    assert run.returncode == 0, log[-3000:]
    assert (tmp_path / "paper.pdf").stat().st_size > 1000
    assert "! " not in log
    # every numeric column is sized to its numbers: siunitx never overflows a cell
    assert "Overfull" not in log, [x for x in log.splitlines() if "Overfull" in x]


def test_the_tabular_fragment_is_only_a_tabular_and_the_float_wraps_the_same_tabular():
    table = growth_table()
    frag = table.to_latex_tabular()
    lines = [x for x in frag.splitlines() if not x.startswith("%")]
    assert lines[0].startswith("{") and lines[-1] == r"\end{tabular}}"  # one group
    assert r"\begin{tabular}" in frag and "table}" not in frag.replace("tabular}", "")
    assert r"\caption" not in frag and r"\label" not in frag
    float_ = table.to_latex(label="tab:table2_growth")
    assert frag.split("\n", 1)[1] in float_
    assert float_.startswith("% Requires \\usepackage{booktabs}, \\usepackage{siunitx} (v3) "
                             "and \\usepackage{threeparttable}.")
    assert r"\item[] Fiscal self-reliance $\rightarrow$ innovation" in float_


def test_numbers_sit_in_siunitx_columns_sized_to_them_with_booktabs_rules():
    frag = growth_table().to_latex_tabular()
    spec = re.search(r"\\begin\{tabular\}\{(.*)\}\n", frag).group(1)
    assert spec.startswith("l S[table-format=-4.3, ")
    assert spec.count("S[") == 2
    assert frag.count(r"\toprule") == 1 and frag.count(r"\bottomrule") == 1
    assert r"\hline" not in frag
    assert "-1230.500\\sym{***}" in frag          # siunitx groups it: 1,230.500
    # a long column title or statistic is set on several lines of its cell, not one wide line
    assert ("& {FGLS, hetero AR(1)} & {\\begin{tabular}[b]{@{}c@{}}2SLS: Nominal \\\\ "
            "per-capita GRDP \\\\ growth (\\%), all \\\\ years\\end{tabular}} \\\\") in frag
    assert "{\\begin{tabular}[t]{@{}c@{}}clustered by \\\\ province\\end{tabular}}" in frag


def test_one_minus_sign_convention_everywhere():
    """Numbers in S columns are written plain (siunitx typesets the minus); every minus
    in text (bracketed bootstrap lines, intervals, notes) is the math minus ``$-$``; no
    text hyphen ever stands for a minus and no ``$-$`` hides inside an S-column number."""
    text_minus = re.compile(r"(?<![\w)\].$-])-(?=\.?\d)")    # a hyphen used as a minus
    s_number = re.compile(r"^\(?-?[\d.]+\)?(\\sym\{\**\})?$")
    for make in ALL:
        tex = make().to_latex(label="tab:x")
        for line in tex.splitlines():
            if line.startswith(("%", "\\begin{tabular}", "\\sisetup")):
                continue
            for cell in line.removesuffix(" \\\\").split(" & "):
                if s_number.match(cell.strip()):
                    assert "$" not in cell
                else:
                    assert not text_minus.search(cell), (line, cell)
    growth = growth_table().to_latex()
    assert "{[0.002; $-$0.041, $-$0.010]}" in growth
    assert "rho = $-$0.3" in growth
    assert "& -0.024\\sym{***}" in growth
    chain = chain_table().to_latex()
    assert "[$-$0.150, 0.021]" in chain and "& -0.101 &" in chain


def test_captions_do_not_repeat_the_table_number_and_carry_a_label(tmp_path):
    assert latex_caption("Table 2. Innovation") == "Innovation"
    assert latex_caption("Table 5a. Between- and within-province") == "Between- and within-province"
    assert latex_caption("Table 3: Robustness") == "Robustness"
    assert latex_caption("Specification tests of the growth models (Table 2)") == \
        "Specification tests of the growth models (Table 2)"
    tex = growth_table().write(tmp_path / "table2_growth")["tex"].read_text()
    caption = re.search(r"\\caption\{(.*)\}", tex).group(1)
    assert not re.match(r"\s*Table\s+\d", caption), caption
    assert caption.startswith("Innovation, decentralization and regional growth")
    assert r"\label{tab:table2_growth}" in tex
    # the other formats keep the title as given (nothing numbers them)
    assert "**Table 2. Innovation" in growth_table().to_markdown()


def test_arrows_are_arrows_never_escaped_greater_than_signs():
    for make in ALL:
        table = make()
        for tex in (table.to_latex(), table.to_latex_tabular()):
            assert "textgreater" not in tex
    assert r"fiscal self-reliance $\rightarrow$ innovation $\rightarrow$ growth" in \
        chain_table().to_latex()
    assert r"(b\_fsr x gamma)" in growth_table().to_latex()


def test_year_ranges_get_an_en_dash():
    assert "{2002--2017}" in growth_table().to_latex()
    assert "years 2002--2017" in growth_table().to_latex()


def test_korean_text_is_refused_with_a_message_that_says_what_to_do():
    table = regression_table(
        [TableColumn("(1)", "GNB", _coefs([("seoul", "main", 1.0, 0.5, 0.1)]), {})],
        title="Innovation", var_labels={"seoul": "서울 dummy"})
    with pytest.raises(LatexTextError) as info:
        table.to_latex()
    msg = str(info.value)
    assert "'서울 dummy'" in msg and "U+C11C" in msg and "HANGUL" in msg
    assert "row 'seoul'" not in msg and "'Innovation'" in msg
    assert "English" in msg and "[labels]" in msg
    assert "서울" in table.to_markdown() and "서울" in table.to_html()  # those formats are fine
    # accented Latin letters and Greek symbols are typeset
    ok = regression_table(
        [TableColumn("(1)", "GNB", _coefs([("x", "main", 1.0, 0.5, 0.1)]), {})],
        title="Régions, ρ and χ²", var_labels={"x": "Zürich"})
    tex = ok.to_latex()
    assert r"Régions, $\rho$ and $\chi$$^{2}$" in tex and "Zürich" in tex


# --------------------------------------------------------------------------- descriptives

def test_descriptive_counts_print_as_integers():
    frame = descriptives().to_frame()
    sd = format(np.std([1590.0, 5, 30, 44, 7, 12], ddof=1), ",.3f")
    assert list(frame.loc["Fintech patent applications"]) == ["6", "281.333", sd, "5", "1,590"]
    assert list(frame.loc["Growth rate (%)"])[3:] == ["-1.250", "2.500"]
    tex = descriptives().to_latex()
    assert "1590.000" not in tex and "3.000" not in tex
    assert f"& 6 & 281.333 & {sd} & 5 & 1590 \\\\" in tex   # siunitx prints 1,590


def test_descriptive_rows_use_the_labels_and_say_when_one_is_missing():
    idx = pd.MultiIndex.from_product([["seoul", "busan"], [2019, 2020]], names=["region", "year"])
    df = pd.DataFrame({"patents_fintech": [1.0, 2, 3, 4], "x": [0.5, 1, 2, 3]}, index=idx)
    with pytest.warns(UserWarning, match="patents_fintech"):
        t = descriptive_table(df, ["patents_fintech", "x"], {"x": "Fiscal self-reliance"})
    assert list(t.to_frame().index) == ["patents_fintech", "Fiscal self-reliance"]
    assert any("no label" in n and "patents_fintech" in n for n in t.notes)


# --------------------------------------------------------------------------- Word

def _page_mm(data: bytes) -> tuple[float, float]:
    import docx

    section = docx.Document(io.BytesIO(data)).sections[0]
    return round(section.page_width.mm, 1), round(section.page_height.mm, 1)


def test_word_tables_are_on_a4_by_default_and_on_letter_when_asked(tmp_path):
    table = growth_table()
    assert _page_mm(table.to_docx()) == (210.0, 297.0)
    assert _page_mm(table.to_docx(paper="letter")) == (215.9, 279.4)
    path = table.write(tmp_path / "t")["docx"]
    assert _page_mm(path.read_bytes()) == (210.0, 297.0)
    assert table.write(tmp_path / "u", paper="letter")["docx"].read_bytes() == \
        table.to_docx(paper="letter")
    assert table.to_docx() == growth_table().to_docx()      # still byte-deterministic
    with pytest.raises(ValueError, match="a4"):
        table.to_docx(paper="A5")


def test_no_escaped_greater_than_in_any_latex_the_tests_build():
    """A last sweep over every table shape built here, float and fragment."""
    for make in ALL:
        t = make()
        assert "-\\textgreater" not in t.to_latex() + t.to_latex_tabular()


# --------------------------------------------------------------------------- figures

def _figure_inputs():
    idx = pd.MultiIndex.from_product([["seoul", "busan", "daejeon", "gyeonggi"],
                                      range(2012, 2021)], names=["region", "year"])
    rng = np.random.default_rng(3)
    panel = pd.DataFrame({"patents": rng.poisson(20, size=len(idx)).astype(float)}, index=idx)
    coefs = _coefs([("fsr", "mean", -0.02, 0.01, 0.04), ("rnd", "mean", 0.3, 0.1, 0.01)])
    return panel, {"(1) GNB": coefs}


def test_every_figure_is_written_as_png_pdf_and_svg_byte_identical_across_renders(tmp_path):
    from regrowth.report import figures

    panel, frames = _figure_inputs()
    runs = []
    for run in ("a", "b"):
        figures.province_lines(panel, "patents", tmp_path / run / "province.png", source="S.")
        figures.coefficient_plot(frames, path=tmp_path / run / "coefs.png", title="T")
        runs.append({p.name: p.read_bytes() for p in sorted((tmp_path / run).iterdir())})
    assert sorted(runs[0]) == ["coefs.pdf", "coefs.png", "coefs.svg", "province.pdf",
                               "province.png", "province.svg"]
    assert runs[0] == runs[1]
    pdf, svg = runs[0]["province.pdf"], runs[0]["province.svg"].decode()
    assert pdf.startswith(b"%PDF") and b"CreationDate" not in pdf and b"Matplotlib" not in pdf
    assert svg.lstrip().startswith("<?xml") and "<dc:date>" not in svg
    assert "Matplotlib" not in svg
    assert figures.figure_paths("x/loo_t.png") == {
        f: pathlib.Path(f"x/loo_t.{f}") for f in ("png", "pdf", "svg")}


@pytest.mark.parametrize("estimate", [-0.5, -0.09, 0.0, 0.09, 0.5])
def test_not_in_model_labels_never_cross_the_zero_line(estimate):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from regrowth.report import figures

    frames = {"(1) with": _coefs([("a", "mean", estimate, 0.05, 0.1),
                                  ("b", "mean", 1.0, 0.1, 0.1), ("c", "mean", 1.0, 0.1, 0.1)]),
              "(2) without": _coefs([("b", "mean", 1.0, 0.1, 0.1), ("c", "mean", 1, 0.1, 0.1)]),
              "(3) without either": _coefs([("c", "mean", 1.0, 0.1, 0.1)])}
    fig = figures.coefficient_plot(frames)
    renderer = FigureCanvasAgg(fig).get_renderer()
    labels = 0
    for ax in fig.axes:
        zero_x = ax.transData.transform((0.0, 0.0))[0]
        for text in ax.texts:
            if text.get_text() == "not in model":
                labels += 1
                box = text.get_window_extent(renderer)
                assert not box.x0 <= zero_x <= box.x1, (estimate, box, zero_x)
                assert ax.bbox.x0 <= box.x0 and box.x1 <= ax.bbox.x1
    assert labels == 3


def test_nuisance_terms_stay_out_of_coefficient_plots_unless_asked():
    from regrowth.report import figures

    frames = {"(1)": _coefs([("fsr", "mean", 0.1, 0.05, 0.1), ("year_2016", "mean", 1, 1, 1),
                             ("province_busan", "mean", 1, 1, 1),
                             ("sejong_break", "mean", -1.8, 1.9, 0.3)])}
    titles = lambda fig: [ax.get_title(loc="left") for ax in fig.axes if ax.get_visible()]  # noqa: E731
    assert titles(figures.coefficient_plot(frames)) == ["fsr", "sejong_break"]
    assert titles(figures.coefficient_plot(
        frames, drop=figures.NUISANCE_TERMS + ("sejong_break",))) == ["fsr"]
    # asked for by name (and not dropped): shown
    assert titles(figures.coefficient_plot(
        frames, ["fsr", "year_2016", "sejong_break"], drop=("sejong_break",))) == [
        "fsr", "year_2016"]
    assert len(titles(figures.coefficient_plot(frames, drop=()))) == 4
    with pytest.raises(ValueError, match="drop=()"):
        figures.coefficient_plot(frames, ["year_2016"])


def test_the_benchmark_figure_names_methods_in_words_in_the_house_style(tmp_path):
    import importlib.util

    root = pathlib.Path(__file__).resolve().parents[2]
    spec = importlib.util.spec_from_file_location(
        "montecarlo_inference", root / "benchmarks" / "montecarlo_inference.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    table = pd.read_csv(root / "benchmarks" / "results" / "montecarlo_inference.csv")
    png = bench.figure(table, tmp_path / "a" / "mc.png")
    again = bench.figure(table, tmp_path / "b" / "mc.png")
    for fmt in ("png", "pdf", "svg"):
        assert png.with_suffix(f".{fmt}").read_bytes() == again.with_suffix(f".{fmt}").read_bytes()
    svg = png.with_suffix(".svg").read_text()
    for code in set(table["method"]):
        assert code in bench.METHOD_LABELS
        assert f"<!-- {code} -->" not in svg           # no raw method code as a tick label
    assert "<!-- Bootstrap, Webb weights -->" in svg
