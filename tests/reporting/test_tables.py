"""Regression-table layout, formatting, escaping, determinism and atomic writes."""

from __future__ import annotations

import io
import math
import pathlib

import numpy as np
import pandas as pd
import pytest

from regrowth.report import docx_tables, tables
from regrowth.report.tables import (
    RegressionTable, StatRow, TableColumn, descriptive_table, format_number, latex_escape,
    regression_table, significance_stars,
)


def _coefs(rows):
    """rows: (term, equation, estimate, std_error, p_value)."""
    df = pd.DataFrame(rows, columns=["term", "equation", "estimate", "std_error", "p_value"])
    df["statistic"] = df["estimate"] / df["std_error"]
    df["ci_low"] = df["estimate"] - 1.96 * df["std_error"]
    df["ci_high"] = df["estimate"] + 1.96 * df["std_error"]
    return df


@pytest.fixture
def gnb_table() -> RegressionTable:
    return _build_gnb_table()


def _build_gnb_table() -> RegressionTable:
    gnb = _coefs([
        ("fiscal_l1", "mean", 0.0123, 0.005, 0.0999),
        ("ln_rnd", "mean", -0.0001, 0.2, 0.1001),
        ("const", "mean", 1.5, 0.7, 0.03),
        ("capital", "lnalpha", -0.8, 0.3, 0.008),
        ("const", "lnalpha", -2.1, 0.4, 0.5),
    ])
    pois = _coefs([
        ("fiscal_l1", "main", -0.01, 0.006, 0.0499),
        ("const", "main", 1.2, 0.9, 0.01),
        ("extra_term", "main", 0.3, 0.1, 0.0101),
    ])
    cols = [
        TableColumn("(1)", "GNB, main", gnb,
                    {"nobs": 96, "llf": -234.5678, "aic": 481.1, "n_entities": 16,
                     "estimator": "gnbreg", "sample": "2015–2020", "se": "cluster (province)"}),
        TableColumn("(2)", "Poisson", pois, {"nobs": 96, "cov_type": "cluster", "llf": -300.0}),
    ]
    return regression_table(
        cols, title="Innovation & decentralization",
        notes=["Public edition; coverage 2015_2020; 100% of records.", "SE clustered."],
        var_labels={"fiscal_l1": "Fiscal self-reliance (t-1)"})


def _cells(table, label):
    frame = table.to_frame()
    return list(frame.loc[[label]].iloc[0])


def test_star_thresholds_are_strict():
    assert significance_stars(0.0999) == "*"
    assert significance_stars(0.1001) == ""
    assert significance_stars(0.10) == ""
    assert significance_stars(0.0499) == "**"
    assert significance_stars(0.05) == "*"
    assert significance_stars(0.0099) == "***"
    assert significance_stars(0.01) == "**"
    assert significance_stars(float("nan")) == ""


def test_star_p_values_override_the_coefficient_p_value_of_their_term_only():
    coefs = _coefs([("x", "mean", 0.5, 0.1, 0.001), ("z", "mean", 0.2, 0.1, 0.04)])
    analytic = regression_table([TableColumn("(1)", "m", coefs)], title="t")
    boot = regression_table([TableColumn("(1)", "m", coefs, star_p={"x": 0.31})], title="t")
    assert _cells(analytic, "x")[0].endswith("***") and _cells(boot, "x")[0] == "0.500"
    assert _cells(boot, "z") == _cells(analytic, "z") and _cells(boot, "z")[0].endswith("**")


def test_number_formatting():
    assert format_number(-0.0001) == "0.000"
    assert format_number(-0.0) == "0.000"
    assert format_number(-0.0006) == "-0.001"
    assert format_number(1234567.891, 2, grouping=True) == "1,234,567.89"
    assert format_number(-0.0001, grouping=True) == "0.000"
    assert format_number(float("nan")) == "" and format_number(None) == ""
    assert format_number(2.5, 0) == "2"  # round-half-even, as Python formats


def test_layout(gnb_table):
    frame = gnb_table.to_frame()
    labels = list(frame.index)
    assert labels[:8] == ["Mean equation", "Fiscal self-reliance (t-1)", "", "ln_rnd", "",
                          "Constant", "", "extra_term"]
    assert labels.index("ln(alpha) equation") > labels.index("extra_term")
    row = frame.iloc[1]
    assert list(row) == ["0.012*", "-0.010**"]
    assert list(frame.iloc[2]) == ["(0.005)", "(0.006)"]
    assert list(frame.iloc[3]) == ["0.000", ""]       # negative zero; term missing in (2)
    assert list(frame.iloc[4]) == ["(0.200)", ""]
    assert list(frame.iloc[7]) == ["", "0.300**"]
    assert frame.columns.tolist() == [("(1)", "GNB, main"), ("(2)", "Poisson")]
    assert _cells(gnb_table, "N") == ["96", "96"]
    assert _cells(gnb_table, "Log likelihood") == ["-234.568", "-300.000"]
    assert _cells(gnb_table, "Standard errors") == ["cluster (province)", "cluster"]
    assert _cells(gnb_table, "Sample years") == ["2015–2020", ""]
    assert "Wald" not in " ".join(labels)              # not asked for, so not shown
    assert labels[-7:] == ["N", "Provinces", "Sample years", "Log likelihood", "AIC",
                           "Estimator", "Standard errors"]


def test_single_equation_has_no_panel_heading_and_nan_se_is_blank():
    col = TableColumn("(1)", "FGLS", _coefs([("x", "main", 1.0, float("nan"), 0.2)]), {})
    t = regression_table([col], title="T")
    assert list(t.to_frame().index) == ["x", ""]
    assert list(t.to_frame().iloc[1]) == [""]


def test_order_drop_labels_and_stat_rows(gnb_table):
    cols = [TableColumn("(1)", "a", _coefs([("x", "main", 1, 1, 1), ("year_2016", "main", 1, 1, 1),
                                             ("z", "main", 1, 1, 1)]), {"nobs": 10.0, "ok": True})]
    t = regression_table(cols, title="T", order=["z"], drop=["year_*"],
                         stat_rows=[("nobs", "Observations"), ("ok", "Converged"),
                                    StatRow("absent", "Never shown")])
    assert list(t.to_frame().index) == ["z", "", "x", "", "Observations", "Converged"]
    assert _cells(t, "Observations") == ["10"]
    assert _cells(t, "Converged") == ["Yes"]
    cols = [TableColumn("(1)", "a", _coefs([("const", "mean", 1, 1, 1),
                                             ("const", "lnalpha", 2, 1, 1)]), {})]
    t = regression_table(cols, title="T", var_labels={"lnalpha:const": "ln alpha constant"})
    assert list(t.to_frame().index) == ["Mean equation", "Constant", "",
                                        "ln(alpha) equation", "ln alpha constant", ""]


def test_bad_input():
    with pytest.raises(ValueError, match="no columns"):
        regression_table([], title="T")
    with pytest.raises(ValueError, match="coefs lack"):
        regression_table([TableColumn("(1)", "a", pd.DataFrame({"term": ["x"]}), {})], title="T")
    dup = _coefs([("x", "main", 1, 1, 1), ("x", "main", 2, 1, 1)])
    with pytest.raises(ValueError, match="twice"):
        regression_table([TableColumn("(1)", "a", dup, {})], title="T")


def test_notes_and_stars_in_every_format(gnb_table):
    md, tex, html, csv = (gnb_table.to_markdown(), gnb_table.to_latex(), gnb_table.to_html(),
                          gnb_table.to_csv())
    assert "Public edition; coverage 2015\\_2020; 100% of records." in md
    assert "\\* p<0.10, \\*\\* p<0.05, \\*\\*\\* p<0.01" in md
    assert "Public edition; coverage 2015\\_2020; 100\\% of records." in tex
    assert "$^{*}$ $p<0.10$, $^{**}$ $p<0.05$, $^{***}$ $p<0.01$" in tex
    assert "Public edition; coverage 2015_2020; 100% of records." in html
    assert "* p&lt;0.10, ** p&lt;0.05, *** p&lt;0.01" in html
    assert "Public edition; coverage 2015_2020; 100% of records." in csv
    assert '"* p<0.10, ** p<0.05, *** p<0.01"' in csv
    for text in (md, tex, html, csv):
        assert "SE clustered." in text
        assert "\r" not in text and text.endswith("\n")


def test_markdown_shape(gnb_table):
    md = gnb_table.to_markdown()
    lines = md.splitlines()
    assert lines[0] == "**Innovation & decentralization**"
    table_lines = [x for x in lines if x.startswith("|")]
    assert len({len(x) for x in table_lines}) == 1           # aligned columns
    assert table_lines[1].startswith("|:---")
    assert "(0.005)" in md and "0.012*" in md
    assert "ln\\_rnd" in md


def test_latex_escaping_and_structure(gnb_table):
    assert latex_escape("a_b 5% R&D #1 $x {y} ~ ^ \\ <>") == (
        r"a\_b 5\% R\&D \#1 \$x \{y\} \textasciitilde{} \textasciicircum{} "
        r"\textbackslash{} \textless{}\textgreater{}")
    tex = gnb_table.to_latex(label="tab:t1")
    assert r"\caption{Innovation \& decentralization}" in tex
    assert r"\label{tab:t1}" in tex
    # numbers in siunitx S columns (siunitx prints the minus sign), text cells braced
    assert (r"\begin{tabular}{l S[table-format=-3.3, table-space-text-pre={(}, "
            r"table-space-text-post={\sym{***}}] S[table-format=-3.3, "
            r"table-space-text-pre={(}, table-space-text-post={\sym{**}}]}") in tex
    assert tex.count(r"\toprule") == 1 and tex.count(r"\bottomrule") == 1
    assert r"Fiscal self-reliance (t-1) & 0.012\sym{*} & -0.010\sym{**} \\" in tex
    assert r"ln\_rnd & 0.000 &  \\" in tex
    assert r"\multicolumn{3}{l}{\textit{ln(alpha) equation}} \\" in tex
    assert r"Sample years & {2015--2020} &  \\" in tex
    assert r"Standard errors & {cluster (province)} & {cluster} \\" in tex
    # no unescaped specials outside commands
    body = tex.split(r"\midrule", 1)[1]
    assert "_" not in body.replace(r"\_", "")
    assert "%" not in body.replace(r"\%", "")
    assert "&" in body and " & " in body


def test_html_is_escaped(gnb_table):
    html = gnb_table.to_html()
    assert "<caption>Innovation &amp; decentralization</caption>" in html
    assert html.count("<tr class=\"panel\">") == 2
    assert "<td style=\"text-align:center\">-0.010**</td>" in html


def test_output_is_deterministic(gnb_table):
    rebuilt = _build_gnb_table()
    assert rebuilt is not gnb_table
    assert gnb_table.render() == rebuilt.render()
    assert gnb_table.render() == gnb_table.render()


def test_byte_identical_files(gnb_table, tmp_path):
    first = {k: p.read_bytes() for k, p in gnb_table.write(tmp_path / "a" / "table1").items()}
    second = {k: p.read_bytes() for k, p in gnb_table.write(tmp_path / "b" / "table1").items()}
    assert first == second
    assert sorted(first) == ["csv", "docx", "html", "md", "tabular", "tex"]
    assert sorted(x.name for x in (tmp_path / "a").iterdir()) == [
        "table1.csv", "table1.docx", "table1.html", "table1.md", "table1.tex",
        "table1_tabular.tex"]
    assert b"\\label{tab:table1}" in first["tex"]
    assert all(b"\r\n" not in v for k, v in first.items() if k != "docx")


def test_dotted_stem_keeps_its_name(gnb_table, tmp_path):
    paths = gnb_table.write(tmp_path / "table1.robust")
    assert paths["md"].name == "table1.robust.md"


def test_failed_write_leaves_previous_files_intact(gnb_table, tmp_path, monkeypatch):
    stem = tmp_path / "table1"
    paths = gnb_table.write(stem)
    old = {k: p.read_bytes() for k, p in paths.items()}
    new_table = regression_table(
        [TableColumn("(1)", "other", _coefs([("x", "main", 9.0, 1.0, 0.5)]), {"nobs": 5})],
        title="A different table")

    real_write_text = pathlib.Path.write_text

    def write_half_then_fail(self, data, *args, **kwargs):
        real_write_text(self, data[: len(data) // 2], *args, **kwargs)
        raise OSError("disk full")

    monkeypatch.setattr(pathlib.Path, "write_text", write_half_then_fail)
    with pytest.raises(OSError, match="disk full"):
        new_table.write(stem)
    monkeypatch.undo()
    assert {k: p.read_bytes() for k, p in paths.items()} == old
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "table1.csv", "table1.docx", "table1.html", "table1.md", "table1.tex",
        "table1_tabular.tex"]  # no temporary files left


def test_render_failure_touches_no_file(gnb_table, tmp_path, monkeypatch):
    stem = tmp_path / "t"
    paths = gnb_table.write(stem)
    old = {k: p.read_bytes() for k, p in paths.items()}

    def boom(self):
        raise RuntimeError("renderer failed")

    monkeypatch.setattr(tables.RegressionTable, "to_html", boom)
    with pytest.raises(RuntimeError):
        regression_table([TableColumn("(1)", "x", _coefs([("x", "main", 1, 1, 1)]), {})],
                         title="new").write(stem)
    monkeypatch.undo()
    assert {k: p.read_bytes() for k, p in paths.items()} == old


def test_descriptive_table():
    idx = pd.MultiIndex.from_product([["seoul", "busan"], [2019, 2020]], names=["region", "year"])
    df = pd.DataFrame({"pop": [9.7e6, 9.6e6, 3.4e6, np.nan], "rate": [0.5, -0.25, 0.0, 1.0]},
                      index=idx)
    with pytest.warns(UserWarning, match="no label for rate"):
        t = descriptive_table(df, ["pop", "rate"], {"pop": "Population"}, digits={"pop": 0})
    frame = t.to_frame()
    assert list(frame.columns) == ["N", "Mean", "SD", "Min", "Max"]
    assert list(frame.loc["Population"]) == [
        "3", "7,566,667", format(np.std([9.7e6, 9.6e6, 3.4e6], ddof=1), ",.0f"),
        "3,400,000", "9,700,000"]
    assert list(frame.loc["rate"])[:2] == ["4", "0.312"]
    md = t.to_markdown()
    assert "sample standard deviation" in md and "\\*" not in md
    assert "Population" in t.to_latex() and "Population" in t.to_csv()
    with pytest.raises(KeyError, match="nope"):
        descriptive_table(df, ["nope"])
    assert not math.isnan(float(frame.loc["rate", "Max"]))


# --------------------------------------------------------------------------- Word

def _docx_cells(data: bytes) -> list[list[str]]:
    import docx

    grid = docx.Document(io.BytesIO(data)).tables[0]
    return [[c.text for c in row.cells] for row in grid.rows]


def test_docx_holds_the_same_cells_as_the_other_formats(gnb_table):
    data = gnb_table.to_docx()
    rows = _docx_cells(data)
    assert rows[0] == [""] + list(gnb_table.columns)
    body = rows[2:] if gnb_table.titles is not None else rows[1:]
    assert len(body) == len(gnb_table.rows)
    for got, row in zip(body, gnb_table.rows):
        if row.kind == "panel":  # one merged cell across the row, holding the heading
            assert set(got) == {row.label}
        else:
            assert got == [row.label, *row.cells]


def test_docx_carries_title_notes_and_star_legend(gnb_table):
    import docx

    doc = docx.Document(io.BytesIO(gnb_table.to_docx()))
    paragraphs = [p.text for p in doc.paragraphs]
    assert paragraphs[0] == gnb_table.title
    assert paragraphs[1:] == list(gnb_table.all_notes())
    assert "*** p<0.01" in paragraphs[-1]


def test_docx_bytes_do_not_depend_on_the_clock(gnb_table, monkeypatch):
    """Entry dates and document properties are fixed: a run at another time gives the
    same bytes (python-docx would otherwise stamp the current time into the zip)."""
    import time
    import zipfile

    first = gnb_table.to_docx()
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 86400 * 400)
    monkeypatch.setattr(time, "localtime", lambda t=None: time.gmtime(real() + 86400 * 400))
    assert gnb_table.to_docx() == first
    archive = zipfile.ZipFile(io.BytesIO(first))
    assert {i.date_time for i in archive.infolist()} == {docx_tables.DOCX_EPOCH}
    assert archive.namelist()[0] == "[Content_Types].xml"
    core = archive.read("docProps/core.xml").decode()
    assert "1980-01-01T00:00:00Z" in core and "<cp:revision>1</cp:revision>" in core
