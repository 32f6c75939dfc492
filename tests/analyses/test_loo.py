"""Leave-one-province-out (regrowth.loo) and the Sejong break.

The mechanics are tested on a seeded synthetic panel (it says so); the Sejong flag and its
consequences on the real panel (skipped when data/processed/panel.parquet is not built).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from regrowth import regions
from regrowth.analyses import loo
from regrowth.fit import fit_column
from regrowth.specs import ColumnSpec, Sample

ROOT = Path(__file__).resolve().parents[2]
PANEL = ROOT / "data" / "processed" / "panel.parquet"
SEED = 20181121
HEADLINE = ("fiscal_self_reliance_l1", "ln_patents_pm_macro_l1")


@pytest.fixture(scope="module")
def synthetic():
    """Synthetic (seeded) 8-province panel with a growth outcome and two headline regressors."""
    rng = np.random.default_rng(SEED)
    keys = [r.key for r in regions.REGIONS][:8]
    idx = pd.MultiIndex.from_product([keys, range(2010, 2018)], names=["region", "year"])
    n = len(idx)
    fsr = rng.normal(40, 10, n)
    inn = rng.normal(size=n)
    return pd.DataFrame({"fiscal_self_reliance_l1": fsr, "ln_patents_pm_macro_l1": inn,
                         "z": rng.normal(size=n),
                         "growth": 1 + 0.02 * fsr + 0.5 * inn + rng.normal(size=n),
                         "sejong_break": 0}, index=idx)


def _spec(estimator="pooled", **kw):
    base = {"table": "t", "id": "c", "label": "(1)", "title": "T", "estimator": estimator,
            "outcome": "growth",
            "regressors": ("fiscal_self_reliance_l1", "ln_patents_pm_macro_l1", "z"),
            "sample": Sample(2010, 2017), "se_type": "cluster", "se_groups": "region",
            "rationale": "test"}
    base.update(kw)
    return ColumnSpec(**base)


def test_leave_one_out_refits_without_each_province(synthetic):
    spec = _spec()
    frame = loo.leave_one_out(spec, synthetic, HEADLINE)
    provinces = sorted(set(synthetic.index.get_level_values("region")))
    assert list(dict.fromkeys(frame["dropped"])) == [loo.FULL, *provinces]
    assert set(frame["term"]) == {"fiscal_self_reliance_l1", "ln_patents_pm_macro_l1"}  # not z
    full = fit_column(spec, synthetic).coefs.set_index("term")
    row = frame[(frame["dropped"] == loo.FULL) & (frame["term"] == "ln_patents_pm_macro_l1")].iloc[0]
    assert row["estimate"] == pytest.approx(full.loc["ln_patents_pm_macro_l1", "estimate"], rel=1e-12)
    # dropping a province == fitting on the data without it
    p = provinces[3]
    alone = fit_column(spec, synthetic.drop(index=p, level="region")).coefs.set_index("term")
    row = frame[(frame["dropped"] == p) & (frame["term"] == "fiscal_self_reliance_l1")].iloc[0]
    assert row["estimate"] == pytest.approx(alone.loc["fiscal_self_reliance_l1", "estimate"], rel=1e-12)
    assert row["std_error"] == pytest.approx(alone.loc["fiscal_self_reliance_l1", "std_error"], rel=1e-12)
    assert row["nobs"] == 56 and row["n_provinces"] == 7 and row["error"] == ""


def test_a_failing_refit_is_recorded_not_raised(synthetic):
    data = synthetic.copy()
    # z varies only within the first province: without it, z is a constant the province
    # effects absorb
    first = min(set(data.index.get_level_values("region")))
    data["z"] = 5.0
    data.loc[first, "z"] = np.arange(8.0)
    frame = loo.leave_one_out(_spec("fe", se_groups="region"), data, HEADLINE)
    bad = frame[frame["dropped"] == first]
    good = frame[frame["dropped"] != first]
    assert (bad["error"] != "").all() and bad["estimate"].isna().all()
    assert (good["error"] == "").all()


def test_no_headline_term_is_an_error(synthetic):
    with pytest.raises(ValueError, match="none of"):
        loo.leave_one_out(_spec(regressors=("z",)), synthetic, HEADLINE)


def test_loo_figure_is_deterministic(synthetic, tmp_path):
    from regrowth.report import figures

    frame = loo.leave_one_out(_spec(), synthetic, HEADLINE)
    a = loo.loo_figure(frame, tmp_path / "a.png", title="synthetic")
    b = loo.loo_figure(frame, tmp_path / "b.png", title="synthetic")
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()
    assert figures.png_bytes(a) == figures.png_bytes(b)
    assert len(a.axes) == 2  # one panel per headline term


@pytest.mark.skipif(not PANEL.is_file(), reason="the real panel is not built")
def test_sejong_flag_marks_chungnam_2012_2013_and_only_those():
    from regrowth import panel as panel_mod

    p = panel_mod.load(PANEL.parent)
    flagged = sorted(p.index[p["sejong_break"] == 1])
    assert flagged == [("chungnam", 2012), ("chungnam", 2013)]
    # the carve-out is visible in the data: Chungnam loses about 3.5% of its residents in 2012
    assert p.loc[("chungnam", 2012), "population_growth"] < -3
    # Sejong's own first growth rates are not flagged; no 16-province sample contains them
    assert p.loc[("sejong", 2014), "population_growth"] > 20


@pytest.mark.skipif(not PANEL.is_file(), reason="the real panel is not built")
def test_break_flag_report_on_the_growth_columns():
    from regrowth import panel as panel_mod
    from regrowth import specs

    p = panel_mod.load(PANEL.parent)
    s = specs.load(ROOT / "specs" / "models.toml")
    rep = loo.break_flag_report(s, p, "sejong_break", HEADLINE).set_index(["column", "term"])
    main = rep.loc[("fgls_main", "ln_patents_pm_macro_l1")]
    assert main["flagged_rows"] == 2
    # xtgls's AR(1) refuses the gap that dropping Chungnam 2012-13 would leave ...
    assert "regularly spaced" in main["drop_error"]
    # ... a dummy keeps the series whole
    assert np.isfinite(main["estimate_dummy"])
    fe = rep.loc[("fe_main", "fiscal_self_reliance_l1")]
    assert fe["nobs_drop"] == fe["nobs"] - 2 and fe["drop_error"] == ""
