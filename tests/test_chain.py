"""The two-stage chain (regrowth.chain.fit_chain) on the real panel.

Skipped when data/processed/panel.parquet has not been built (`regrowth panel`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from regrowth.errors import SpecificationError

ROOT = Path(__file__).resolve().parents[1]
PANEL = ROOT / "data" / "processed" / "panel.parquet"
SPECS = str(ROOT / "specs" / "models.toml")

pytestmark = pytest.mark.skipif(not PANEL.is_file(), reason="the real panel is not built")


@pytest.fixture(scope="module")
def panel():
    from regrowth import panel as panel_mod

    return panel_mod.load(PANEL.parent)


def _chain(panel, **kw):
    from regrowth.chain import fit_chain

    return fit_chain(panel, specs_path=SPECS, **kw)


def test_stage1_is_the_standalone_gnb_main_fit(panel):
    from regrowth import specs
    from regrowth.replicate import fit_column

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
    assert res.sample["nobs"] == 80 and res.sample["n_provinces"] == 16   # 2016-2020 x 16
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
                  & (panel.index.get_level_values("year") <= 2020)
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
    with pytest.raises(SpecificationError, match="no column"):
        _chain(panel, stage1_column="table1_innovation/none", reps=0)
