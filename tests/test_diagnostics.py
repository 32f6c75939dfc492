"""regrowth.diagnostics against R plm, transcriptions of Stata's formulas, and printed
Stata output.

References (tests never call R):

* tests/fixtures/diagnostics/r_reference.json, from make_diagnostics_fixtures.R
  (versions.txt): plm's ``phtest`` (Stata ``hausman``), ``plmtest`` bp/honda
  (``xttest0``) and ``pcdtest`` cd (``xtcsd, pesaran``) -- tolerance 1e-8 relative --
  and R transcriptions of sigmamore/sigmaless, ``xttest3`` and ``xtserial`` -- 1e-6.
* tests/fixtures/diagnostics/stata_traffic.py: Stata's printed xtserial, xttest0 and
  hausman output on traffic.dta (= AER::Fatalities), compared at the printed digits.

Data: Greene's 5 firms, plm's 10-firm Grunfeld, an unbalanced Grunfeld, Fatalities, and
the real growth panel of Table 2 (growth_panel.csv, 16 provinces 2002-2017) with and
without year effects.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from regrowth import diagnostics as D
from regrowth.analyses import diagnostics as AD
from regrowth.errors import SpecificationError
from regrowth.models.linear import fit_panel

FIX = Path(__file__).resolve().parent / "fixtures"
REF = json.loads((FIX / "diagnostics" / "r_reference.json").read_text())
R_TOL = 1e-8      # plm computes Stata's statistic
T_TOL = 1e-6      # transcriptions


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


STATA = _load("diag_stata_traffic", FIX / "diagnostics" / "stata_traffic.py")


def _frame(df, id_, t, y, xs):
    out = pd.DataFrame({"id": df[id_], "t": df[t], "y": df[y]})
    for i, x in enumerate(xs, 1):
        out[f"x{i}"] = df[x].to_numpy()
    return out.set_index(["id", "t"])


def _datasets():
    g = _load("diag_greene", FIX / "fgls" / "grunfeld_greene.py").load(index=False)
    gr = pd.read_csv(FIX / "pcse" / "grunfeld_plm.csv")
    fat = pd.read_csv(FIX / "diagnostics" / "fatalities.csv")
    growth = pd.read_csv(FIX / "diagnostics" / "growth_panel.csv")
    grunfeld = _frame(gr, "firm", "year", "invest", ["mvalue", "kstock"])
    ids = grunfeld.index.get_level_values("id")
    t = grunfeld.index.get_level_values("t")
    drop = ((ids == 3) & (t < 1938)) | ((ids == 7) & (t > 1951)) | ((ids == 10) & (t < 1936))
    growth_x = ["fiscal_self_reliance_l1", "ln_patents_pm_macro_l1", "ln_grdp_pc_real_l1",
                "population_growth"]
    gf = _frame(growth, "region", "year", "grdp_pc_real_growth", growth_x)
    return {
        "greene": (_frame(g, "company", "year", "invest", ["market", "stock"]), 2, False),
        "grunfeld": (grunfeld, 2, False),
        "unbalanced": (grunfeld[~drop], 2, False),
        "fatalities": (_frame(fat, "state", "year", "fatal",
                              ["beertax", "spircons", "unrate", "perinck"]), 4, False),
        "growth": (gf, 4, False),
        "growth_year": (gf, 4, True),
    }


DATA = _datasets()


@pytest.fixture(scope="module", params=list(DATA))
def case(request):
    name = request.param
    frame, k, year_effects = DATA[name]
    xs = [f"x{i}" for i in range(1, k + 1)]
    return name, D.run_diagnostics("y", xs, frame, year_effects=year_effects), REF[name]


UNBALANCED_RE = ("linearmodels' RandomEffects estimates sigma_u^2 differently from plm's "
                 "Swamy-Arora formula on unbalanced panels (6607.7 vs 6346.7 "
                 "here), so the RE side of the Hausman test is not comparable; the growth "
                 "panel is balanced")


def test_hausman_equals_plm_phtest(case):
    name, res, ref = case
    if name == "unbalanced":
        pytest.skip(UNBALANCED_RE)
    h = res["hausman"]
    # plm's phtest reports |H|; Stata (and regrowth) keep the sign of an indefinite
    # V_FE - V_RE, with a warning and no p-value
    assert abs(h.statistic) == pytest.approx(ref["hausman"]["statistic"], rel=R_TOL)
    assert h.df == ref["hausman"]["df"]
    if h.statistic >= 0:
        assert h.pvalue == pytest.approx(ref["hausman"]["p"], rel=R_TOL)
    else:
        assert np.isnan(h.pvalue) and not h.extra["positive_definite"]


def test_hausman_sigmamore_and_sigmaless_equal_the_transcription(case):
    name, res, ref = case
    if name == "unbalanced":
        pytest.skip(UNBALANCED_RE)
    frame, k, year_effects = DATA[name]
    more = res["hausman_sigmamore"]
    assert more.statistic == pytest.approx(ref["hausman_sigmamore"]["statistic"], rel=T_TOL)
    assert more.df == ref["hausman_sigmamore"]["df"]
    assert more.pvalue == pytest.approx(ref["hausman_sigmamore"]["p"], rel=T_TOL)
    if not year_effects:
        formula = "y ~ 1 + " + " + ".join(f"x{i}" for i in range(1, k + 1))
        less = D.hausman(fit_panel("fe", formula, frame), fit_panel("re", formula, frame),
                         sigmaless=True)
        assert less.statistic == pytest.approx(ref["hausman_sigmaless"]["statistic"],
                                               rel=T_TOL)
        assert less.stata == "hausman fe re, sigmaless"


def test_breusch_pagan_equals_plmtest_bp_and_honda(case):
    _name, res, ref = case
    bp = res["breusch_pagan_re"]
    assert bp.extra["lm"] == pytest.approx(ref["bp"]["lm"], rel=R_TOL)
    assert bp.extra["lm"] == pytest.approx(ref["bp"]["transcribed"]["lm"], rel=T_TOL)
    assert bp.extra["honda_z"] == pytest.approx(ref["bp"]["honda_z"], rel=R_TOL)
    assert bp.distribution == "chibar2(01)"
    if ref["bp"]["honda_z"] > 0:
        assert bp.statistic == pytest.approx(ref["bp"]["lm"], rel=R_TOL)
        assert bp.pvalue == pytest.approx(ref["bp"]["honda_p"], rel=R_TOL)
    else:  # one-sided: a negative score is no evidence of Var(u) > 0
        assert bp.statistic == 0.0 and bp.pvalue == 1.0


def test_modified_wald_equals_the_xttest3_transcription(case):
    _name, res, ref = case
    w = res["groupwise_heteroskedasticity"]
    assert w.statistic == pytest.approx(ref["xttest3"]["statistic"], rel=T_TOL)
    assert w.df == ref["xttest3"]["df"]


def test_wooldridge_equals_the_xtserial_transcription(case):
    _name, res, ref = case
    w = res["wooldridge_ar1"]
    assert w.statistic == pytest.approx(ref["xtserial"]["statistic"], rel=T_TOL)
    assert w.df == (1, ref["xtserial"]["df2"])
    assert w.pvalue == pytest.approx(ref["xtserial"]["p"], rel=T_TOL)
    assert w.extra["coef"] == pytest.approx(ref["xtserial"]["coef"], rel=T_TOL)


def test_pesaran_cd_equals_plm_pcdtest(case):
    _name, res, ref = case
    cd = res["pesaran_cd"]
    assert cd.statistic == pytest.approx(ref["pesaran_cd"]["statistic"], rel=R_TOL)
    assert cd.pvalue == pytest.approx(ref["pesaran_cd"]["p"], rel=R_TOL)


# ------------------------------------------------------------ Stata's printed output

def _agrees_with_printed(got: float, printed: str) -> bool:
    """``got`` is within one unit of the last printed digit of ``printed``.

    One unit, not half: two of the 14 numbers compared here differ from a double-precision
    computation on the AER data by one unit in the 7th significant digit, presumably
    because traffic.dta holds its variables in single precision (not checked).
    """
    decimals = len(printed.split(".")[1]) if "." in printed else 0
    return abs(got - float(printed)) <= 10.0 ** -decimals * (1 + 1e-9)


def test_stata_xtserial_output_on_traffic():
    frame = DATA["fatalities"][0]
    w = D.wooldridge_ar1("y ~ x1 + x2 + x3 + x4", frame)
    ref = STATA.XTSERIAL
    assert round(w.statistic, 3) == float(ref["F"])
    assert round(w.pvalue, 4) == float(ref["p"])
    assert w.df == ref["df"] and w.extra["nobs_fd"] == ref["nobs_fd"]
    names = dict(zip(["x1", "x2", "x3", "x4"], ref["fd_coef"]))
    for x, stata_name in names.items():
        assert _agrees_with_printed(w.extra["fd_params"][x], ref["fd_coef"][stata_name])


def test_stata_xttest0_output_on_traffic():
    frame = DATA["fatalities"][0]
    pooled = fit_panel("pooled", "y ~ 1 + x1 + x2 + x3 + x4", frame)
    bp = D.breusch_pagan_re(pooled)
    assert round(bp.statistic, 2) == float(STATA.XTTEST0["chibar2"])
    assert bp.stata == "xttest0"
    re = fit_panel("re", "y ~ 1 + x1 + x2 + x3 + x4", frame)
    vd = re.variance_decomposition
    assert _agrees_with_printed(vd["Residual"], STATA.XTTEST0["var_e"])
    assert _agrees_with_printed(vd["Effects"], STATA.XTTEST0["var_u"])


def test_stata_hausman_constant_sigmamore_output_on_traffic():
    frame = DATA["fatalities"][0]
    formula = "y ~ 1 + x1 + x2 + x3 + x4"
    h = D.hausman(fit_panel("fe", formula, frame), fit_panel("re", formula, frame),
                  sigmamore=True, constant=True)
    ref = STATA.HAUSMAN_CONSTANT_SIGMAMORE
    assert round(h.statistic, 2) == float(ref["chi2"])
    assert h.df == ref["df"]
    assert h.extra["positive_definite"] == ref["positive_definite"]
    order = {"Intercept": "_cons", "x1": "beertax", "x2": "spircons", "x3": "unrate",
             "x4": "perinck"}
    for term, diff, se in zip(h.extra["terms"], h.extra["difference"],
                              h.extra["se_difference"]):
        for got, printed in ((diff, ref["difference"][order[term]]),
                             (se, ref["se"][order[term]])):
            assert _agrees_with_printed(got, printed), (term, got, printed)


# ------------------------------------------------------------- behaviour and table

def test_results_name_the_stata_command_null_and_what_a_rejection_argues_for():
    res = D.run_diagnostics("y", ["x1", "x2", "x3", "x4"], DATA["growth"][0])
    assert [r.stata for r in res.values()] == [t[2] for t in D.TESTS]
    h = res["hausman"]
    assert h.rejects(0.05) and "fixed effects" in h.argues_for
    assert "xtcsd" in str(res["pesaran_cd"])


def test_hausman_refuses_clustered_covariances_and_wrong_models():
    frame = DATA["grunfeld"][0]
    f = "y ~ 1 + x1 + x2"
    fe_cl = fit_panel("fe", f, frame, cov_type="clustered")
    re = fit_panel("re", f, frame)
    with pytest.raises(SpecificationError, match="force=True"):
        D.hausman(fe_cl, re)
    D.hausman(fe_cl, re, force=True)
    with pytest.raises(SpecificationError, match="fixed-effects"):
        D.hausman(re, re)
    with pytest.raises(SpecificationError, match="pooled OLS"):
        D.breusch_pagan_re(re)


def test_diagnostics_table_has_one_row_per_test_and_renders(tmp_path):
    frame = DATA["growth"][0]
    xs = ["x1", "x2", "x3", "x4"]
    table = D.diagnostics_table({
        "no year effects": D.run_diagnostics("y", xs, frame),
        "year effects": D.run_diagnostics("y", xs, frame, year_effects=True)})
    assert list(table["stata"]) == [t[2] for t in D.TESTS]
    assert {"test", "stata", "null", "argues_for", "no year effects",
            "year effects p"} <= set(table.columns)
    cd = table.set_index("stata").loc["xtcsd, pesaran"]
    assert cd["no year effects"] == pytest.approx(REF["growth"]["pesaran_cd"]["statistic"],
                                                  rel=R_TOL)
    rendered = D.render_diagnostics(table, title="Diagnostics")
    md = rendered.to_markdown()
    assert "hausman fe re" in md and "chi2(4)" in md and "Rejection argues for" in md
    paths = rendered.write(tmp_path / "diag")
    assert {".md", ".tex", ".html", ".csv"} <= {p.suffix for p in paths.values()}


def _as_in_fixture(specs):
    """The real specs with the Sejong-break treatment taken out (the ``sejong_break``
    regressor and ``drop_if``), i.e. the models the stored R references were computed for
    on growth_panel.csv."""
    import dataclasses

    def strip(col):
        return dataclasses.replace(
            col, regressors=tuple(r for r in col.regressors if r != "sejong_break"),
            sample=dataclasses.replace(col.sample, drop_if=tuple(
                f for f in col.sample.drop_if if f != "sejong_break")))

    in_fixture = set(pd.read_csv(FIX / "diagnostics" / "growth_panel.csv", nrows=1).columns)
    tables = tuple(dataclasses.replace(t, columns=tuple(
        strip(c) for c in t.columns
        if all(v in in_fixture | {"region", "year"} for v in strip(c).variables())))
        for t in specs.tables)
    return dataclasses.replace(specs, tables=tables)


def test_write_diagnostics_covers_table2_growth_with_and_without_year_effects(tmp_path):
    """The replication's call: Table 2's columns of the real specs, grouped by the
    choices the tests depend on, on the real growth sample (growth_panel.csv)."""
    from regrowth import specs as specs_mod

    specs = _as_in_fixture(specs_mod.load(Path(__file__).resolve().parents[1] / "specs"
                                          / "models.toml"))
    panel = pd.read_csv(FIX / "diagnostics" / "growth_panel.csv").set_index(["region", "year"])
    computed = AD.linear_diagnostics(specs, panel, ["table2_growth"])
    year_cols = [c.label for t in specs.tables if t.id == "table2_growth"
                 for c in t.columns if c.year_effects]
    assert any(lab.endswith(", year effects") for lab in computed)
    assert any(lab.endswith(", no year effects") for lab in computed)
    assert len(year_cols) >= 1
    no_year = next(v for k, v in computed.items() if k.endswith("no year effects"))
    year = next(v for k, v in computed.items() if k.endswith(", year effects"))
    assert no_year["hausman"].statistic == pytest.approx(REF["growth"]["hausman"]["statistic"],
                                                         rel=R_TOL)
    assert year["pesaran_cd"].statistic == pytest.approx(
        REF["growth_year"]["pesaran_cd"]["statistic"], rel=R_TOL)
    paths = AD.write_diagnostics(specs, panel, tmp_path, ["table2_growth"], "diagnostics_growth")
    md = (tmp_path / "tables" / "diagnostics_growth.md").read_text()
    assert len(paths) >= 4 and "xtcsd, pesaran" in md
    # the year-effects Hausman has an indefinite V_FE - V_RE: flagged (Stata warns too);
    # the sigmamore one is only singular (rank 4 of 19: the year terms agree), not flagged
    assert md.count("†") == 2 and "indefinite" in md
    assert year["hausman"].extra["indefinite"] and not year["hausman_sigmamore"].extra[
        "indefinite"] and year["hausman_sigmamore"].df == 4


def test_nickell_note_sizes_the_bias_of_the_fe_convergence_coefficient():
    # growth in percent = 100 * d ln y, so beta = -22.57 means rho = 0.7743; T = 16 years
    assert D.nickell_bias(0.8, 16) == pytest.approx(-1.8 / 15)
    note = D.nickell_note(-22.57, 16)
    rho = 1 - 0.2257
    bias = -(1 + rho) / 15
    assert f"rho = 1 + beta/100 = {rho:.3f}" in note
    assert f"{bias:.3f} in rho" in note and f"about {100 * bias:.1f} in the coefficient" in note
    assert "T = 16" in note and "overstates the speed of convergence" in note
    with pytest.raises(ValueError):
        D.nickell_bias(0.5, 1)


def test_diagnostics_table_accepts_column_specs_and_the_panel():
    from regrowth import specs as specs_mod

    specs = _as_in_fixture(specs_mod.load(Path(__file__).resolve().parents[1] / "specs"
                                          / "models.toml"))
    panel = pd.read_csv(FIX / "diagnostics" / "growth_panel.csv").set_index(["region", "year"])
    cols = [c for t in specs.tables if t.id == "table2_growth" for c in t.columns
            if c.id in ("fe_main", "fgls_no_year")]
    table = D.diagnostics_table(AD.column_diagnostics(cols, panel))
    assert {"fe_main", "fgls_no_year"} <= set(table.columns)
    hausman = table.set_index("stata").loc["hausman fe re"]
    assert hausman["fgls_no_year"] == pytest.approx(REF["growth"]["hausman"]["statistic"],
                                                    rel=R_TOL)
    with pytest.raises(SpecificationError, match="column_diagnostics"):
        D.diagnostics_table(cols)


# ------------------------------------------------------- validity with a lagged dependent variable
#
# The growth outcome is 100 * (ln y_t - ln y_t-1) and x3 of the growth data is
# ln_grdp_pc_real_l1, so x3 is the lagged dependent variable of ln y_t.

NOT_VALID_WITH_LDV = {"hausman", "hausman_sigmamore", "wooldridge_ar1"}


def test_hausman_and_xtserial_are_not_valid_with_a_lagged_dependent_variable():
    """Hausman (both rows): RE is inconsistent with a lagged dependent variable; xtserial:
    Wooldridge's test needs strictly exogenous regressors. Each record says valid=False with
    the reason; the statistic is still the same number; the other tests stay valid."""
    frame = DATA["growth"][0]
    xs = ["x1", "x2", "x3", "x4"]
    plain = D.run_diagnostics("y", xs, frame)
    marked = D.run_diagnostics("y", xs, frame, lagged_dependent=["x3"])
    for key, res in marked.items():
        assert res.statistic == plain[key].statistic and res.pvalue == plain[key].pvalue
        if key in NOT_VALID_WITH_LDV:
            assert res.valid is False and res.extra["valid"] is False
            assert "lagged dependent variable (x3)" in res.extra["reason"]
        else:
            assert res.valid and "valid" not in res.extra
    assert "inconsistent" in marked["hausman"].extra["reason"]
    assert marked["hausman_sigmamore"].extra["reason"] == marked["hausman"].extra["reason"]
    assert "strictly exogenous" in marked["wooldridge_ar1"].extra["reason"]
    # a declared lag that is not a regressor of this specification changes nothing
    other = D.run_diagnostics("y", ["x1", "x2", "x4"], frame, lagged_dependent=["x3"])
    assert all(r.valid for r in other.values())
    assert all(r.valid for r in plain.values())


def test_the_table_marks_not_valid_cells_and_its_note_says_why():
    frame = DATA["growth"][0]
    xs = ["x1", "x2", "x3", "x4"]
    table = D.diagnostics_table({
        "dynamic": D.run_diagnostics("y", xs, frame, lagged_dependent=["x3"]),
        "static": D.run_diagnostics("y", ["x1", "x2", "x4"], frame, lagged_dependent=["x3"])})
    by_test = table.set_index("stata")
    invalid = set(by_test.index[~by_test["dynamic valid"].astype(bool)])
    assert invalid == {"hausman fe re", "hausman fe re, sigmamore", "xtserial"}
    assert by_test["static valid"].all() and (by_test["static reason"] == "").all()
    rendered = D.render_diagnostics(table)
    md = rendered.to_markdown()
    assert md.count("n/v") == 3 + 2  # three cells, and the two notes
    cells = {r.label: r.cells for r in rendered.rows if r.label}
    assert all(c[0].endswith("n/v") for name, c in cells.items()
               if name.startswith(("Hausman", "Wooldridge")))
    assert not any("n/v" in c[1] for c in cells.values())
    notes = " ".join(rendered.notes)
    assert "Hausman FE vs RE and Hausman FE vs RE, sigmamore in dynamic" in notes
    assert "Wooldridge serial correlation in dynamic" in notes
    assert "inconsistent" in notes and "strictly exogenous" in notes


def test_table2_declares_its_lagged_dependent_variable_in_the_spec(tmp_path):
    """The package knows the convergence term is a lagged dependent variable only because
    Table 2's diagnostics settings say so (lagged_dependent = ["ln_grdp_pc_real_l1"]):
    every Table 2 diagnostics column is marked; without the declaration, none is."""
    import dataclasses

    from regrowth import specs as specs_mod

    specs = _as_in_fixture(specs_mod.load(Path(__file__).resolve().parents[1] / "specs"
                                          / "models.toml"))
    table = next(t for t in specs.tables if t.id == "table2_growth")
    assert AD.declared_lagged_dependent(table) == ("ln_grdp_pc_real_l1",)
    panel = pd.read_csv(FIX / "diagnostics" / "growth_panel.csv").set_index(["region", "year"])
    computed = AD.linear_diagnostics(specs, panel, ["table2_growth"])
    for tests in computed.values():
        assert {k for k, r in tests.items() if not r.valid} == NOT_VALID_WITH_LDV
    AD.write_diagnostics(specs, panel, tmp_path, ["table2_growth"], "diag")
    md = (tmp_path / "tables" / "diag.md").read_text()
    import re

    assert len(re.findall(r"n/v\s*\|", md)) == 3 * len(computed)  # the marked cells
    assert "ln\\_grdp\\_pc\\_real\\_l1" in md and "strictly exogenous" in md
    # the same table without the declaration: nothing is marked
    bare = dataclasses.replace(table, analyses={**table.analyses,
                                                "diagnostics": {"output": "diag"}})
    specs2 = dataclasses.replace(specs, tables=tuple(bare if t.id == table.id else t
                                                      for t in specs.tables))
    assert all(r.valid for tests in AD.linear_diagnostics(specs2, panel, ["table2_growth"])
               .values() for r in tests.values())


@pytest.mark.parametrize("value, message", [
    ({"lagged_dependent": ["ln_grdp_pc_real_l2"]}, "not a regressor.*ln_grdp_pc_real_l1"),
    ({"lagged_dependent": "ln_grdp_pc_real_l1"}, "must be a list"),
    ({"lagged": ["ln_grdp_pc_real_l1"]}, "unknown key"),
])
def test_the_lagged_dependent_declaration_is_checked_before_fitting(value, message):
    import dataclasses

    from regrowth import analyses
    from regrowth import specs as specs_mod

    specs = specs_mod.load(Path(__file__).resolve().parents[1] / "specs" / "models.toml")
    analyses.check(specs)  # the shipped declaration is valid
    tables = tuple(dataclasses.replace(t, analyses={**t.analyses, "diagnostics": value})
                   if t.id == "table2_growth" else t for t in specs.tables)
    with pytest.raises(SpecificationError, match=message):
        analyses.check(dataclasses.replace(specs, tables=tables))


# ------------------------------------------------- when the tests cannot run (issue 20, item 4)

def _short_panel(years, seed=7):
    rng = np.random.default_rng(seed)
    idx = pd.MultiIndex.from_product([[f"p{i}" for i in range(6)], years], names=["region", "year"])
    n = len(idx)
    x = rng.normal(size=n)
    return pd.DataFrame({"x": x, "flag": 0.0, "y": x + rng.normal(size=n)}, index=idx)


def test_too_few_years_is_refused_in_the_packages_words():
    with pytest.raises(D.DiagnosticsUnavailable, match=r"2 year\(s\); xtserial needs at least 3"):
        D.run_diagnostics("y", ["x"], _short_panel([2010, 2011]))


def test_an_all_zero_regressor_is_named_instead_of_a_rank_message():
    with pytest.raises(D.DiagnosticsUnavailable, match="'flag' is all zero in the sample") as err:
        D.run_diagnostics("y", ["x", "flag"], _short_panel(range(2010, 2016)))
    assert "full column rank" not in str(err.value)


def test_a_regressor_without_within_province_variation_is_named():
    data = _short_panel(range(2010, 2016))
    data["level"] = data.groupby(level=0)["x"].transform("first")
    with pytest.raises(D.DiagnosticsUnavailable, match="'level' does not vary within any province"):
        D.run_diagnostics("y", ["x", "level"], data)


def test_column_diagnostics_names_the_column_and_the_shrunk_sample():
    from regrowth.specs import ColumnSpec, Sample
    data = _short_panel(range(2010, 2018))
    data.loc[data.index.get_level_values("year") < 2016, "x"] = np.nan  # 8 years -> 2
    spec = ColumnSpec(table="t", id="c", label="(1)", title="T", estimator="fe", outcome="y",
                      regressors=("x",), sample=Sample(2010, 2017), se_type="conventional",
                      rationale="test")
    with pytest.raises(D.DiagnosticsUnavailable) as err:
        AD.column_diagnostics([spec], data)
    text = str(err.value)
    assert text.startswith("t/c: the specification tests cannot run")
    assert "shrank from 48 to 12 rows: 'x' missing in 36" in text
