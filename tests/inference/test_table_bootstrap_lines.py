"""Bootstrap lines in regression tables (TableColumn.term_lines) and their note."""

from __future__ import annotations

import pandas as pd

from regrowth.fit import inference_label
from regrowth.report.notes import table_note, term_lines
from regrowth.report.tables import TableColumn, regression_table


def _coefs(terms):
    return pd.DataFrame({"term": terms, "equation": "main", "estimate": 0.5,
                         "std_error": 0.1, "p_value": 0.01})


RECORD = {"param": "x", "statistic": 2.1, "pvalue": 0.0412, "ci_low": -0.0123,
          "ci_high": 0.9876, "reps": 9999, "enumerated": False, "weights": "webb",
          "seed": 20181207, "method": "wild cluster bootstrap (WCR, null imposed) after "
          "fixed effects"}


def test_bracketed_line_appears_under_the_focus_coefficient_only():
    lines = term_lines({"bootstrap": {"x": RECORD}})
    assert lines == {"x": "[0.041; -0.012, 0.988]"}
    cols = [TableColumn("(1)", "FE", _coefs(["x", "z"]), {}, lines),
            TableColumn("(2)", "OLS", _coefs(["x", "z"]), {})]
    tab = regression_table(cols, title="T")
    kinds = [(r.kind, r.cells) for r in tab.rows]
    assert kinds[2] == ("extra", ("[0.041; -0.012, 0.988]", ""))
    assert [k for k, _ in kinds].count("extra") == 1         # not under z
    md = tab.to_markdown()
    assert "[0.041; -0.012, 0.988]" in md
    assert "[0.041; $-$0.012" in tab.to_latex() or "[0.041; -0.012" in tab.to_latex()
    assert "[0.041; -0.012, 0.988]" in tab.to_csv()


def test_note_names_method_draws_weights_and_seed():
    note = table_note([{"bootstrap": {"x": RECORD}}, {}])
    assert "WCR" in note and "9,999 draws" in note and "webb" in note and "20181207" in note
    assert table_note([{}]) is None
    enum = dict(RECORD, enumerated=True, reps=65536, weights="rademacher")
    assert "all 65,536 Rademacher sign vectors" in table_note([{"bootstrap": {"x": enum}}])


def test_note_says_what_the_draws_resampled():
    rec = dict(RECORD, n_clusters=16)
    assert "clustered by province" in table_note([{"bootstrap": {"x": rec}}], [("region", 144)])
    assert "clustered by macro_region" in table_note([{"bootstrap": {"x": rec}}],
                                                     [("macro_region", 144)])
    # one observation per cluster: the draws flip single residuals, whatever the name says
    one = dict(RECORD, n_clusters=144)
    note = table_note([{"bootstrap": {"x": one}}], [("region", 144)])
    assert "resampling observations (each cluster has one observation)" in note
    assert "clustered by" not in note


def test_note_says_why_a_bracket_has_no_confidence_set():
    rec = dict(RECORD, ci_low=float("nan"), ci_high=float("nan"), ci_note="not computed (why)")
    assert term_lines({"bootstrap": {"x": rec}}) == {"x": "[0.041]"}
    assert "A bracket without a confidence set: not computed (why)." in table_note(
        [{"bootstrap": {"x": rec}}])


def test_failed_bootstrap_is_left_out_of_the_table():
    assert term_lines({"bootstrap": {"x": {"error": "boom"}}}) == {}


def test_reference_distribution_label():
    class Stata:
        df_ref, n_clusters = 15, 16

    class ML:
        use_t = False

    assert inference_label(Stata()) == "t(15), 16 clusters"
    assert inference_label(ML(), 16) == "normal, 16 clusters"
    assert inference_label(ML()) == "normal"
