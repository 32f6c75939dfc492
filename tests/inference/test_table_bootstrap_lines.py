"""Bootstrap lines in regression tables (TableColumn.term_lines) and their note."""

from __future__ import annotations

import pandas as pd

from regrowth.fit import inference_label
import numpy as np

from regrowth.report.notes import grouping_notes, star_pvalues, table_note, term_lines
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
    assert "clustered by macro-region" in table_note([{"bootstrap": {"x": rec}}],
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


# ----------------------------------------------------------------------------- se.tests

def test_a_coefficient_tested_by_macro_region_is_noted_with_its_grouping():
    # own_test: the column's se.tests gives this coefficient its own grouping
    macro = dict(RECORD, groups="macro_region", n_clusters=7, enumerated=True, reps=128,
                 weights="rademacher", own_test=True)
    prov = dict(RECORD, groups="region", n_clusters=16)
    extras = [{"bootstrap": {"x": macro, "z": prov}}, {"bootstrap": {"x": macro}}]
    (note,) = grouping_notes([("(1)", extras[0]), ("(2)", extras[1])], {"x": "Innovation"})
    assert note.startswith("Innovation: the bracketed test in columns (1), (2) clusters and "
                           "wild-bootstraps by macro-region (7 clusters; all 128 Rademacher "
                           "sign vectors)")
    assert "stars follow that test" in note
    # the general note still says province, and points to the exception
    assert "clustered by province unless a note below says otherwise (" in table_note(extras)
    assert grouping_notes([("(1)", {"bootstrap": {"z": prov}})]) == []


def _macro_panel():
    """A synthetic panel (not real data): 14 provinces in 7 macro-regions, 10 years; x varies
    by macro-region and year only."""
    rng = np.random.default_rng(7)
    provinces = [f"p{i:02d}" for i in range(14)]
    idx = pd.MultiIndex.from_product([provinces, range(2001, 2011)], names=["region", "year"])
    macro = np.repeat([f"m{i // 2}" for i in range(14)], 10)
    xm = {(m, t): rng.normal() for m in set(macro) for t in range(2001, 2011)}
    x = np.array([xm[(m, t)] for m, t in zip(macro, idx.get_level_values("year"))])
    z = rng.normal(size=len(idx))
    y = 0.3 * x + 0.5 * z + np.repeat(rng.normal(size=14), 10) + rng.normal(size=len(idx))
    return pd.DataFrame({"y": y, "x": x, "z": z, "macro_region": macro}, index=idx)


def test_the_bootstrap_of_a_declared_term_clusters_where_it_varies(tmp_path):
    from regrowth import specs
    from regrowth.analyses.bootstrap import bootstrap_column
    from regrowth.fit import estimation_sample, fit_column
    from regrowth.inference import boottest

    path = tmp_path / "models.toml"
    path.write_text('[edition]\nname = "t"\nsummary = "synthetic"\n\n[[table]]\nid = "t1"\n'
                    'title = "T1"\nfocus = ["z"]\n\n[[table.column]]\nid = "c1"\nlabel = "(1)"\n'
                    'title = "FE"\nestimator = "fe"\noutcome = "y"\nregressors = ["x", "z"]\n'
                    'sample = { years = [2001, 2010] }\nse = { type = "cluster", groups = '
                    '"region", bootstrap = { reps = 999, weights = "webb", seed = 1 }, tests = '
                    '{ x = { groups = "macro_region", bootstrap = { weights = "rademacher" } } } }'
                    '\nrationale = "test"\n', encoding="utf-8")
    spec = specs.load(path).tables[0].columns[0]
    panel = _macro_panel()
    fitted = fit_column(spec, panel)
    data, _ = estimation_sample(spec, panel)
    recs = bootstrap_column(spec, fitted.result, ("z",), data)
    assert set(recs) == {"z", "x"}                      # the declared term joins the focus
    x, z = recs["x"], recs["z"]
    assert (x["groups"], x["n_clusters"], x["enumerated"], x["reps"]) \
        == ("macro_region", 7, True, 2 ** 7)
    assert (z["groups"], z["n_clusters"], z["weights"], z["reps"]) == ("region", 14, "webb", 999)
    ref = boottest(fitted.result, "x", clusters=data["macro_region"].to_numpy(), reps=9999,
                   weights="rademacher")
    assert abs(x["pvalue"] - ref.pvalue) < 1e-12 and abs(x["statistic"] - ref.statistic) < 1e-12


def test_gstar_and_top2_rows_appear_in_every_format_with_their_note():
    from regrowth.report.notes import cluster_rows, cluster_stats, clusters_note

    extra = {"clusters": {"x": {"gstar": 5.7512, "top2_share": 0.6012, "groups": "region"},
                          "z": {"error": "not covered", "groups": "region"}}}
    stats = cluster_stats(extra)
    assert stats == {"gstar:x": 5.7512, "top2:x": 0.6012}
    cols = [TableColumn("(1)", "GNB", _coefs(["x", "z"]), stats),
            TableColumn("(2)", "OLS", _coefs(["x", "z"]), {})]
    tab = regression_table(cols, title="T", stat_rows=cluster_rows(["x", "z"], {"x": "Ex"}),
                           notes=[clusters_note([extra, {}])])
    rows = {r.label: r.cells for r in tab.rows if r.kind == "stat"}
    assert rows == {"Effective clusters G*, Ex": ("5.8", ""),
                    "Top-2 cluster share, Ex": ("0.60", "")}   # z: no number, no row
    for text in (tab.to_markdown(), tab.to_latex(), tab.to_csv()):
        assert "Effective clusters G" in text and "5.8" in text and "0.60" in text
    assert "Carter, Schnepel & Steigerwald" in tab.to_markdown()
    assert clusters_note([{}]) is None
    from docx import Document
    import io

    doc = Document(io.BytesIO(tab.to_docx()))
    cells = [c.text for t in doc.tables for r in t.rows for c in r.cells]
    assert "Top-2 cluster share, Ex" in cells and "0.60" in cells


def _spec(tmp_path, estimator, outcome, reference, extra=""):
    from regrowth import specs

    path = tmp_path / "models.toml"
    path.write_text('[edition]\nname = "t"\nsummary = "synthetic"\n\n[[table]]\nid = "t1"\n'
                    f'title = "T1"\n\n[[table.column]]\nid = "c1"\nlabel = "(1)"\ntitle = "M"\n'
                    f'estimator = "{estimator}"\noutcome = "{outcome}"\nregressors = ["x", "z"]\n'
                    f'sample = {{ years = [2001, 2010] }}\n{extra}se = {{ type = "cluster", groups = '
                    f'"macro_region", reference = "{reference}" }}\nrationale = "test"\n',
                    encoding="utf-8")
    return specs.load(path).tables[0].columns[0]


def test_a_clustered_ml_model_takes_t_g_minus_1_from_its_spec(tmp_path):
    from scipy import stats

    from regrowth.fit import fit_column

    panel = _macro_panel()
    panel["n"] = np.random.default_rng(4).poisson(np.exp(1 + 0.3 * panel["x"]))
    model = fit_column(_spec(tmp_path, "poisson", "n", "model"), panel)
    tdist = fit_column(_spec(tmp_path, "poisson", "n", "t(G-1)"), panel)
    assert model.stats["inference"].startswith("normal")
    assert tdist.stats["inference"] == "t(6), 7 clusters"
    a, b = model.coefs, tdist.coefs
    assert np.array_equal(a["estimate"], b["estimate"]) and np.array_equal(a["std_error"], b["std_error"])
    z = (b["estimate"] / b["std_error"]).abs()
    assert np.allclose(b["p_value"], 2 * stats.t.sf(z, 6), rtol=1e-12, atol=0)
    assert np.allclose(b["ci_high"] - b["estimate"], stats.t.ppf(0.975, 6) * b["std_error"],
                       rtol=1e-12)
    assert (b["p_value"] > a["p_value"]).all()        # t(6) has fatter tails than the normal


def test_t_g_minus_1_from_the_spec_reproduces_a_clustered_linear_model_s_own(tmp_path):
    from regrowth.fit import fit_column

    panel = _macro_panel()
    own = fit_column(_spec(tmp_path, "fe", "y", "model"), panel)      # Stata: t(G-1)
    spec = fit_column(_spec(tmp_path, "fe", "y", "t(G-1)"), panel)
    for key in ("p_value", "ci_low", "ci_high"):
        assert np.allclose(own.coefs[key], spec.coefs[key], rtol=1e-10, atol=1e-14)


def test_the_grouping_note_says_the_stars_follow_the_ri_p_where_a_column_has_one():
    macro = dict(RECORD, groups="macro_region", n_clusters=7, enumerated=True, reps=128,
                 weights="rademacher", own_test=True)
    ri = {"x": {"pvalue": 0.009, "permutations": 999, "enumerated": False, "seed": 1,
                "n_units": 7, "unit": "macro_region", "param": "x"}}
    both = [("(1)", {"bootstrap": {"x": macro}, "randomization": ri}),
            ("(2)", {"bootstrap": {"x": macro}, "randomization": ri})]
    (note,) = grouping_notes(both)
    assert note.endswith("its stars follow its RI p-value.") and "that test" not in note
    assert star_pvalues(both[0][1])["x"] == 0.009  # what the stars use, as the note says
    (note,) = grouping_notes([both[0], ("(3)", {"bootstrap": {"x": macro}})])
    assert note.endswith("its stars follow its RI p-value where the bracket shows one, else "
                         "that test.")
