"""reform.estimates.run: the design's records for estimates.json, on the real panel."""

import json

import pytest

from regrowth.models import iv
from regrowth.reform import dose, estimates


@pytest.fixture(scope="module")
def records(real_panel):
    return estimates.run(real_panel, fiscal=("fiscal_self_reliance", "fiscal_autonomy"),
                         endog="fiscal_self_reliance", growth="grdp_pc_nominal_growth",
                         count_outcome="patents_fintech",
                         iv_outcomes=("grdp_pc_nominal_growth", "ln1p_patents_fintech_pm"),
                         exclude=("sejong",), reps=99, ri_reps=49, seed=1)


def test_records_are_json_and_cover_the_design(records, real_panel):
    back = json.loads(json.dumps(records, allow_nan=False))
    assert back["sample"]["n_regions"] == 16 and "sejong" not in back["dose"]
    assert set(back["iv"]) == {"grdp_pc_nominal_growth", "ln1p_patents_fintech_pm"}
    for block in back["iv"].values():
        assert set(block) == {"all_years", "without_2020", "first_stage_2019_only"}
    pt = back["first_stage"]["fiscal_self_reliance"]["pretrend"]
    assert pt["randomization_reps"] == 49 and 0 < pt["randomization_pvalue"] <= 1
    assert "fiscal_self_reliance" in back["first_stage"]
    assert "patents_fintech" in back["reduced_form"]
    if "fiscal_autonomy" not in real_panel.columns:
        assert back["skipped"]["fiscal_autonomy"] == "not in the panel"
    assert back["statute_notes"]


def test_records_equal_the_estimators(records, real_panel):
    p = dose.dose_panel(real_panel)
    regions = records["sample"]["regions"]
    r = iv.iv2sls(p, "grdp_pc_nominal_growth", "fiscal_self_reliance", "phase1_dose",
                  regions=regions, exclude_years=(2020,))
    rec = records["iv"]["grdp_pc_nominal_growth"]["without_2020"]
    assert rec["first_stage"]["kp_rk_wald_f"] == pytest.approx(r.first_stage.kp_f, rel=1e-12)
    assert rec["coefficients"][0]["estimate"] == pytest.approx(r.params.iloc[0], rel=1e-12)
    assert rec["anderson_rubin_95"][0][0] == pytest.approx(r.ar_set()[0][0], rel=1e-12)
    d = records["did"]["fiscal_self_reliance"]
    assert d["randomization"]["reps"] == 49 and 0 < d["randomization"]["pvalue"] <= 1
    assert d["wild_bootstrap"]["reps"] == 99
