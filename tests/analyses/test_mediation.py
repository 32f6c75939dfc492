"""Mediation (regrowth.analyses.mediation) against independent transcriptions.

- the three OLS models against statsmodels OLS with the same dummies (1e-10 relative);
- the decomposition total = ADE + ACME (an identity of OLS on one sample), to 1e-10;
- the rho at which the ACME is zero: the closed form rho~ = corr(e1, e2) against a root found
  by another route (the two moment equations of e1 = b e2 + e3 solved numerically for
  (b, sigma_3) at each rho, then ACME(rho) = 0 bracketed by brentq), to 1e-8;
- the province cluster bootstrap: the first draw equals a refit on the provinces that
  numpy's generator with the same seed picks, rebuilt by hand.
R's ``mediation`` package is not in Debian, so there is no R fixture.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import optimize

from regrowth import analyses
from regrowth.analyses.mediation import (MediationSettings, acme_at_rho, fit_mediation,
                                         mediation_point, mediation_table)
from regrowth.errors import SpecificationError

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from test_specs import BASE, load  # noqa: E402

RTOL = 1e-10


@pytest.fixture(scope="module")
def panel():
    rng = np.random.default_rng(7)
    units = [f"p{i:02d}" for i in range(12)]
    years = list(range(2001, 2011))
    idx = pd.MultiIndex.from_product([units, years], names=["region", "year"])
    n = len(idx)
    d = rng.normal(30, 10, n)
    x = rng.normal(0, 1, n)
    u = rng.normal(0, 1, n)                     # a confounder of mediator and outcome
    m = 0.05 * d + 0.5 * x + 0.7 * u + rng.normal(0, 1, n)
    y = -0.02 * d + 0.8 * m + 0.3 * x + 0.6 * u + rng.normal(0, 1, n)
    flag = ((idx.get_level_values("region") == "p03")
            & (idx.get_level_values("year") == 2005)).astype(float)
    return pd.DataFrame({"d": d, "m": m, "y": y, "x": x, "flag": flag}, index=idx)


def _settings(**kw):
    base = dict(treatment="d", mediator="m", outcome="y", controls=("x", "flag"),
                years=(2001, 2010), contrast=10.0, reps=0, seed=5)
    base.update(kw)
    return MediationSettings(**base)


def _sm_ols(frame, y, regressors, province=False):
    X = frame[regressors].copy()
    years = frame.index.get_level_values("year")
    for yr in sorted(set(years))[1:]:
        X[f"y{yr}"] = (years == yr).astype(float)
    if province:
        reg = frame.index.get_level_values("region")
        for p in sorted(set(reg))[1:]:
            X[f"p{p}"] = (reg == p).astype(float)
    return sm.OLS(frame[y], sm.add_constant(X)).fit()


@pytest.mark.parametrize("province", [False, True])
def test_coefficients_equal_statsmodels_ols_and_effects_decompose(panel, province):
    s = _settings(province_effects=province)
    pt = mediation_point(panel, s)
    rf = _sm_ols(panel, "y", ["d", "x", "flag"], province)
    med = _sm_ols(panel, "m", ["d", "x", "flag"], province)
    out = _sm_ols(panel, "y", ["d", "m", "x", "flag"], province)
    assert pt["c"] == pytest.approx(rf.params["d"], rel=RTOL)
    assert pt["a"] == pytest.approx(med.params["d"], rel=RTOL)
    assert pt["b"] == pytest.approx(out.params["m"], rel=RTOL)
    assert pt["ade"] == pytest.approx(10 * out.params["d"], rel=RTOL)
    assert pt["acme"] == pytest.approx(10 * med.params["d"] * out.params["m"], rel=RTOL)
    # product of coefficients = difference of total and direct effect (OLS identity)
    assert pt["acme"] == pytest.approx(pt["total"] - pt["ade"], rel=1e-9)
    assert pt["proportion"] == pytest.approx(pt["acme"] / pt["total"], rel=RTOL)


def test_rho_at_which_acme_vanishes_equals_a_root_found_from_the_moment_equations(panel):
    pt = mediation_point(panel, _settings())
    e1 = _sm_ols(panel, "y", ["d", "x", "flag"]).resid.to_numpy()
    e2 = _sm_ols(panel, "m", ["d", "x", "flag"]).resid.to_numpy()
    s2 = np.sqrt(np.mean(e2 ** 2))
    cov12, var1 = np.mean(e1 * e2), np.mean(e1 ** 2)

    def b_at(rho):
        # cov(e1, e2) = b s2^2 + rho s2 s3;  var(e1) = b^2 s2^2 + s3^2 + 2 b rho s2 s3
        def eqs(v):
            b, s3 = v
            return [b * s2 ** 2 + rho * s2 * s3 - cov12,
                    b ** 2 * s2 ** 2 + s3 ** 2 + 2 * b * rho * s2 * s3 - var1]
        sol = optimize.fsolve(eqs, [cov12 / s2 ** 2, np.sqrt(var1)], xtol=1e-13)
        assert np.max(np.abs(eqs(sol))) < 1e-12 * var1 and sol[1] > 0
        return sol[0]

    root = optimize.brentq(lambda r: pt["a"] * b_at(r), -0.9, 0.9, xtol=1e-14)
    assert pt["rho_zero"] == pytest.approx(root, abs=1e-8)
    assert pt["rho_zero"] > 0.2  # the confounder u makes the errors correlated
    for rho in (-0.4, 0.0, 0.3, 0.6):
        closed = acme_at_rho(rho, pt["a"], pt["sigma1"], pt["sigma2"], pt["rho_tilde"], 10.0)
        assert closed == pytest.approx(10 * pt["a"] * b_at(rho), rel=1e-8)
    assert acme_at_rho(0.0, pt["a"], pt["sigma1"], pt["sigma2"], pt["rho_tilde"], 10.0) == \
        pytest.approx(pt["acme"], rel=1e-10)


def test_first_bootstrap_draw_is_a_refit_on_the_provinces_drawn(panel):
    s = _settings(reps=3, seed=11)
    res = fit_mediation(panel, s)
    provinces = sorted(set(panel.index.get_level_values("region")))
    draw = np.random.default_rng(11).integers(0, len(provinces), size=len(provinces))
    parts = []
    for j, p in enumerate(draw):
        part = panel.xs(provinces[p], level="region", drop_level=False)
        parts.append(part.assign(_label=f"{provinces[p]}#{j}"))  # a repeat is a new province
    frame = pd.concat(parts)
    ref = mediation_point(frame, s, units=frame["_label"].to_numpy())
    first = res.draws.iloc[0]
    for q in ("total", "a", "b", "ade", "acme", "rho_zero"):
        assert first[q] == pytest.approx(ref[q], rel=1e-10)
    # a draw without the flagged province leaves the flag out instead of failing
    assert res.reps_failed == 0 and len(res.draws) == 3
    again = fit_mediation(panel, s)
    pd.testing.assert_frame_equal(res.draws, again.draws)


def test_a_mediator_that_is_not_a_column_is_named(panel):
    with pytest.raises(SpecificationError) as err:
        fit_mediation(panel, _settings(mediator="ln_patent"))
    msg = str(err.value)
    assert "analyses.mediation.mediator" in msg and "'ln_patent' is not a column" in msg
    with pytest.raises(SpecificationError, match="analyses.mediation.controls.*'z'"):
        fit_mediation(panel, _settings(controls=("x", "z")))
    with pytest.raises(SpecificationError, match="no rows in 1990-1991"):
        fit_mediation(panel, _settings(years=(1990, 1991)))


def test_table_shows_every_quantity_with_interval_and_sample(panel):
    res = fit_mediation(panel, _settings(reps=20))
    tab = mediation_table([res], title="Mediation")
    md = tab.to_markdown()
    for text in ("Total effect", "ADE", "ACME", "rho at which ACME = 0", "Observations",
                 "province cluster bootstrap"):
        assert text in md
    assert tab.rows[0].cells[0] == f"{res.point['total']:.3f}"


MED = """
[table.analyses.mediation]
treatment = "x1"
outcome = "y"
years = [2001, 2010]
reps = 9
output = "med_t1"
[[table.analyses.mediation.columns]]
mediator = "x2"
[[table.analyses.mediation.columns]]
id = "alt"
mediator = "x3"
contrast = 10
"""


def test_spec_block_is_parsed_with_columns_inheriting_the_shared_keys(tmp_path):
    s = load(tmp_path, BASE + MED)
    (a, settings), = [(a, v) for a, v in analyses.declared(s, s.tables[0], "outputs")
                      if a.name == "mediation"]
    assert [c.id for c in settings] == ["m1", "alt"]
    assert [c.mediator for c in settings] == ["x2", "x3"]
    assert settings[1].contrast == 10.0 and settings[0].contrast == 1.0
    assert all(c.treatment == "x1" and c.reps == 9 for c in settings)
    assert a.files(s.tables[0], settings)[0] == "tables/med_t1.md"


def test_bad_spec_keys_are_named(tmp_path):
    bad = MED.replace('treatment = "x1"', 'treatmnt = "x1"').replace("contrast = 10",
                                                                     "contrast = -1")
    s = load(tmp_path, BASE + bad)
    with pytest.raises(SpecificationError) as err:
        analyses.check(s)
    msg = str(err.value)
    assert "analyses.mediation.treatmnt" in msg and "did you mean 'treatment'" in msg
    assert "analyses.mediation.columns[1].contrast" in msg


ROOT = Path(__file__).resolve().parents[2]
PANEL = ROOT / "data" / "processed" / "panel.parquet"


@pytest.mark.skipif(not PANEL.is_file(), reason="the real panel is not built")
def test_table2_mediation_writes_its_table_and_the_record_fit_mediation_gives(tmp_path):
    """The block of specs/models.toml: results/tables/mediation_growth.* and
    estimates.json["mediation"]["table2_growth"], the numbers of fit_mediation (here 7 draws);
    on the real panel the decomposition holds column by column."""
    from regrowth import panel as panel_mod
    from regrowth import specs

    s = specs.load(ROOT / "specs" / "models.toml")
    table = s.table("table2_growth")
    (a, settings), = [(a, v) for a, v in analyses.declared(s, table, "outputs")
                      if a.name == "mediation"]
    data = panel_mod.load(PANEL.parent)
    ctx = analyses.Context(specs=s, panel=data, fitted={}, labels=dict(s.labels), out=tmp_path,
                           reps={"mediation": 7})
    out = a.run(ctx, table, settings)
    assert sorted(p.name for p in out.files) == sorted(
        Path(f).name for f in a.files(table, settings))
    record = out.record["mediation"]["table2_growth"]
    assert list(record) == [c.id for c in settings] == ["macro_l1", "macro_t", "fintech"]
    for col in settings:
        ref = fit_mediation(data, replace(col, reps=7))
        got = pd.DataFrame(record[col.id]["quantities"]).set_index("quantity")
        np.testing.assert_allclose(got["estimate"], ref.summary().set_index("quantity")["estimate"],
                                   rtol=1e-12)
        assert record[col.id]["reps_used"] + record[col.id]["reps_failed"] == 7
        assert ref.point["acme"] + ref.point["ade"] == pytest.approx(ref.point["total"], rel=1e-9)
    md = (tmp_path / "tables" / "mediation_growth.md").read_text(encoding="utf-8")
    assert "rho at which ACME = 0" in md and "seed 20181210" in md


def test_a_misspelt_mediator_is_refused_before_anything_is_fitted(tmp_path):
    analyses.check_panel(load(tmp_path, BASE + MED), ["region", "year", "y", "x1", "x2", "x3"])
    s = load(tmp_path, BASE + MED.replace('mediator = "x3"', 'mediator = "x33"'))
    with pytest.raises(SpecificationError) as err:
        analyses.check_panel(s, ["region", "year", "y", "x1", "x2", "x3"])
    msg = str(err.value)
    assert "table 't1'" in msg and "analyses.mediation (column 'alt').mediator" in msg
    assert "'x33' is not a panel column" in msg and "did you mean 'x3'" in msg
