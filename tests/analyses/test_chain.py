"""The two-stage chain (regrowth.analyses.chain.fit_chain) on the real panel.

Skipped when data/processed/panel.parquet has not been built (`regrowth panel`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from regrowth.errors import SpecificationError

ROOT = Path(__file__).resolve().parents[2]
PANEL = ROOT / "data" / "processed" / "panel.parquet"
SPECS = str(ROOT / "specs" / "models.toml")

pytestmark = pytest.mark.skipif(not PANEL.is_file(), reason="the real panel is not built")


@pytest.fixture(scope="module")
def panel():
    from regrowth import panel as panel_mod

    return panel_mod.load(PANEL.parent)


def _chain(panel, **kw):
    from regrowth.analyses.chain import chain_from_specs

    return chain_from_specs(panel, SPECS, **kw)


def test_stage1_is_the_standalone_gnb_main_fit(panel):
    from regrowth import specs
    from regrowth.fit import fit_column

    spec = next(c for c in specs.load(SPECS).columns() if c.id == "gnb_main")
    alone = fit_column(spec, panel).result
    res = _chain(panel, reps=0)
    np.testing.assert_allclose(np.asarray(res.stage1.params), np.asarray(alone.params), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(res.stage1.bse), np.asarray(alone.bse), rtol=1e-12)
    s1 = res.table[res.table["stage"] == "innovation"].set_index("term")
    assert s1.loc["fiscal_self_reliance_l1", "estimate"] == pytest.approx(
        float(alone.params["fiscal_self_reliance_l1"]), rel=1e-12)


def test_bootstrap_is_deterministic_given_seed_and_reps(panel):
    a = _chain(panel, reps=1, seed=7)
    b = _chain(panel, reps=1, seed=7)
    pd.testing.assert_frame_equal(a.draws, b.draws)
    assert len(a.draws) == 1 and a.reps_failed == 0
    c = _chain(panel, reps=1, seed=8)
    assert not np.allclose(a.draws.to_numpy(), c.draws.to_numpy())


def test_sample_and_indirect_effect(panel):
    res = _chain(panel, reps=3, seed=1)
    assert res.sample["nobs"] == 96 and res.sample["n_provinces"] == 16   # 2016-2021 x 16
    t = res.table.set_index(["stage", "term"])
    assert t.loc[("chain", "indirect_fsr"), "estimate"] == pytest.approx(
        t.loc[("innovation", "fiscal_self_reliance_l1"), "estimate"]
        * t.loc[("growth", "innovation_hat_l1"), "estimate"], rel=1e-12)
    # the percentile interval brackets the bootstrap draws' middle
    assert (t["ci_low"] <= t["ci_high"]).all()
    assert np.isfinite(t["std_error"]).all()


def test_stage2_naive_se_is_statsmodels_ols_clustered(panel):
    """The naive stage-2 SEs are OLS with year dummies and CR1 province clusters (statsmodels'
    cluster correction G/(G-1)(N-1)/(N-K) is Stata's regress, vce(cluster))."""
    import statsmodels.api as sm

    res = _chain(panel, reps=0, innovation="observed")
    d = panel.loc[(panel.index.get_level_values("year") >= 2016)
                  & (panel.index.get_level_values("year") <= 2021)
                  & (panel.index.get_level_values("region") != "sejong")].copy()
    lag = panel["ln1p_patents_fintech_pm"].groupby(level="region").shift(1)
    d["innovation_hat_l1"] = lag.reindex(d.index)
    cols = ["fiscal_self_reliance_l1", "innovation_hat_l1", "ln_grdp_pc_nominal_l1", "population_growth"]
    d = d.dropna(subset=["grdp_pc_nominal_growth", *cols])
    X = sm.add_constant(pd.concat([d[cols], pd.get_dummies(d.index.get_level_values("year"), prefix="year",
                                                           drop_first=True, dtype=float).set_index(d.index)], axis=1))
    ols = sm.OLS(d["grdp_pc_nominal_growth"], X).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(d.index.get_level_values("region"))[0]})
    t = res.table.set_index("term")
    for c in cols:
        assert t.loc[c, "estimate"] == pytest.approx(ols.params[c], rel=1e-10)
        assert t.loc[c, "std_error_naive"] == pytest.approx(ols.bse[c], rel=1e-10)


def test_bad_options_are_refused(panel):
    with pytest.raises(SpecificationError, match="innovation"):
        _chain(panel, innovation="patents", reps=0)
    with pytest.raises(SpecificationError, match="reps must be >= 0"):
        _chain(panel, reps=-1)
    with pytest.raises(SpecificationError, match="no column"):
        _chain(panel, stage1_column="table1_innovation/none", reps=0)


def test_replicate_writes_the_chain_that_fit_chain_gives_with_the_recorded_seed(panel, tmp_path,
                                                                              few_draws_specs,
                                                                              monkeypatch):
    """`make replicate` writes results/tables/chain_two_stage.* and estimates.json["chain"]:
    the numbers are fit_chain's with the seed the spec declares (here with 5 draws), and a
    later partial run that leaves Table 1 alone keeps them. The runs use the spec file with
    every other draw count capped at 19 (the columns' bootstrap lines) and render no figure:
    neither enters what is checked here."""
    import json

    from regrowth import replicate, specs
    from regrowth.analyses.chain import chain_settings
    from regrowth.models.count_panel import within_between_sd
    from regrowth.report import figures

    CHAIN_SEED = chain_settings(specs.load(SPECS)).seed
    quick = few_draws_specs(19)
    monkeypatch.setattr(replicate, "figure_jobs", lambda *args, **kwargs: [])
    monkeypatch.setattr(replicate, "panel_figure_jobs", lambda *args, **kwargs: [])
    monkeypatch.setattr(figures, "figure_bytes", lambda *args, **kwargs: b"")

    out = tmp_path / "results"
    status = replicate.run(specs=quick, processed_dir=PANEL.parent, results_dir=out,
                           notebooks=False, only=["table1_innovation", "table5_innovation_within"],
                           chain_reps=5)
    assert status == 0
    for ext in ("md", "tex", "html", "csv", "docx"):
        assert (out / "tables" / f"chain_two_stage.{ext}").is_file()
        assert (out / "tables" / f"table5_variation.{ext}").is_file()
    est = json.loads((out / "estimates.json").read_text(encoding="utf-8"))
    chain = est["chain"]
    assert (chain["reps"], chain["seed"], chain["innovation"]) == (5, CHAIN_SEED, "ln_counts_pm")
    expected = _chain(panel, reps=5, seed=CHAIN_SEED).table
    got = pd.DataFrame(chain["terms"])
    assert list(got["term"]) == list(expected["term"])
    for col in ("estimate", "std_error", "ci_low", "ci_high", "std_error_naive"):
        np.testing.assert_allclose(got[col].astype(float), expected[col], rtol=1e-9,
                                   equal_nan=True, err_msg=col)
    md = (out / "tables" / "chain_two_stage.md").read_text(encoding="utf-8")
    indirect = expected.set_index("term").loc["indirect_fsr"]
    assert f"{indirect['estimate']:.3f}" in md and "seed 20181121" in md

    # Table 5a: Stata xtsum of 재정자립도 on Table 5's sample, between >> within
    var = est["variation"]["table5_innovation_within"]["fiscal_self_reliance_l1"]
    sample = panel.loc[(panel.index.get_level_values("year") >= 2015)
                       & (panel.index.get_level_values("year") <= 2021)
                       & (panel.index.get_level_values("region") != "sejong")]
    assert var == pytest.approx(within_between_sd(sample["fiscal_self_reliance_l1"],
                                                  sample.index.get_level_values("region")))
    assert var["within_sd"] < 0.2 * var["between_sd"]

    # a partial run of another table keeps the chain's files and record
    before = (out / "tables" / "chain_two_stage.md").read_bytes()
    assert replicate.run(specs=quick, processed_dir=PANEL.parent, results_dir=out,
                         notebooks=False, only=["table3_innovation_robustness"], chain_reps=2) == 0
    assert (out / "tables" / "chain_two_stage.md").read_bytes() == before
    assert json.loads((out / "estimates.json").read_text(encoding="utf-8"))["chain"] == chain


# ----------------------------------------------------------------------------- speed

def _printed_equal(a: float, b: float, tol: float) -> bool:
    """The 3-decimal strings agree, unless ``a`` lies within ``tol`` of a rounding boundary
    (then either string is right: no floating-point tie is compared)."""
    from regrowth.report.tables import format_number

    frac = abs(a) * 1000 - np.floor(abs(a) * 1000)
    if abs(frac - 0.5) * 1e-3 < tol:
        return True
    return format_number(a, 3) == format_number(b, 3)


@pytest.mark.parametrize("overrides", [{}, {"province_effects": True}, {"innovation": "observed"}],
                         ids=["main", "province_effects", "observed"])
def test_batched_bootstrap_is_the_draw_by_draw_refit(panel, overrides):
    """method="batch" fits every draw at once; method="refit" refits each draw's stacked rows
    from scratch. Same draws to 1e-7 (both stop at a Newton decrement below 1e-12), the same
    boundary and failure counts, and the same printed SE and interval (3 decimals). 40 draws
    of the replication's seed include Poisson-boundary draws (checked)."""
    from dataclasses import replace

    from regrowth.analyses.chain import chain_settings, fit_chain
    from regrowth import specs

    s = replace(chain_settings(specs.load(SPECS)), reps=40, **overrides)
    batch = fit_chain(panel, s, method="batch")
    refit = fit_chain(panel, s, method="refit")
    if not overrides:
        assert batch.sample["reps_boundary"] > 0
    assert (batch.reps_failed, batch.sample["reps_boundary"]) == (
        refit.reps_failed, refit.sample["reps_boundary"])
    assert batch.sample["reps_refit"] == 0 and refit.sample["reps_refit"] == 40
    np.testing.assert_allclose(batch.draws.to_numpy(), refit.draws.to_numpy(), rtol=0, atol=1e-7)
    for col in ("std_error", "ci_low", "ci_high"):
        for a, b in zip(batch.table[col], refit.table[col]):
            assert abs(a - b) < 1e-7
            assert _printed_equal(a, b, 1e-7), (col, a, b)


def test_batched_bootstrap_is_the_same_bytes_on_every_backend(panel, monkeypatch):
    """Chunks of 8 draws (3 chunks for 20 draws) on joblib processes give the bytes of the
    serial run."""
    from dataclasses import replace

    from regrowth import specs
    from regrowth.analyses import chain, chain_estimation
    from regrowth.curve.backends import Executor

    monkeypatch.setattr(chain_estimation, "CHUNK", 8)
    s = replace(chain.chain_settings(specs.load(SPECS)), reps=20)
    serial = chain.fit_chain(panel, s)
    with Executor("processes", workers=2) as ex:
        spread = chain.fit_chain(panel, s, executor=ex)
    assert serial.draws.to_numpy().tobytes() == spread.draws.to_numpy().tobytes()
    pd.testing.assert_frame_equal(serial.table, spread.table, check_exact=True)


def test_a_bootstrap_that_cannot_vary_is_refused_naming_the_key(panel):
    """Issue 20: on 2 provinces the chain reported 999 draws used, SE 0.000 and zero-width
    intervals. Stratified by capital_region, each of Seoul and Busan is a stratum of its own
    (every draw is the sample); unstratified, only the draws of both provinces have a stage-2
    design of full rank, and they are the sample again."""
    from regrowth.errors import EstimationError

    two = panel[panel.index.get_level_values("region").isin(["seoul", "busan"])]
    with pytest.raises(SpecificationError, match=r"analyses\.chain\.reps = 50: the province "
                                                 r"bootstrap cannot vary: strata = 'capital_region'"):
        _chain(two, reps=50, innovation="observed")
    with pytest.raises(EstimationError, match=r"analyses\.chain\.reps = 50: the \d+ usable "
                                              r"draws all give the same estimates"):
        _chain(two, reps=50, innovation="observed", strata=None)
    res = _chain(two, reps=0, innovation="observed")  # point estimates alone are fine
    assert res.draws.empty
