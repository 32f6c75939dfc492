"""Specification curves (``regrowth curve``) on a synthetic panel.

Synthetic data (seeded, 16 real province keys x 10 years) stand in for the real panel so the
rules are tested in isolation and without the raw files; the real run is ``make curve``.
The backend test starts a local joblib pool and a Dask LocalCluster on loopback only.
"""

from __future__ import annotations

import json
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from regrowth import curve, regions
from regrowth.curve.backends import DaskError
from regrowth.errors import SpecificationError

SEED = 20181122


def synthetic_panel(folder: Path | None = None) -> pd.DataFrame:
    """16 provinces x 2008-2019: a count y (NB), a growth rate g, a decentralization level d."""
    rng = np.random.default_rng(SEED)
    keys = [r.key for r in regions.REGIONS if r.key != "sejong"]
    idx = pd.MultiIndex.from_product([keys, range(2008, 2020)], names=["region", "year"])
    n = len(idx)
    d = rng.normal(40, 10, size=n)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    cap = np.array([regions.get(k).capital_region for k, _ in idx], dtype=int)
    pop = rng.uniform(1e5, 1e7, size=n)
    mu = np.exp(-11 + 0.02 * d + 0.5 * x1) * pop
    y = rng.negative_binomial(2.0, 2.0 / (2.0 + mu))
    df = pd.DataFrame({"y": y.astype("int64"), "d": d, "x1": x1, "x2": x2, "capital_region": cap,
                       "population": pop, "ln_population": np.log(pop),
                       "innov": rng.normal(size=n),
                       "g": 2 + 0.3 * x1 + rng.normal(size=n)}, index=idx)
    # the panel stores one-year lags; the curve derives longer ones
    for v in ("d", "innov"):
        df[f"{v}_l1"] = df.groupby(level="region")[v].shift(1)
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        df.reset_index().to_parquet(folder / "panel.parquet", index=False)
    return df


COUNT = """
[[curve]]
id = "count_small"
title = "Synthetic count curve"
outcome = "y"
focal = ["decentralization"]
seed = 7
bootstrap = { reps = 99, weights = "webb" }
exposure = "population"
batch_size = 2
rationale = "test"

[curve.dimensions]
decentralization = ["d"]
lag = [1, 2]
outcome_form = ["count", "exposure"]
inference = ["cluster", "bootstrap"]

[curve.dimensions.controls]
full = ["x1", "x2", "ln_population"]
per_capita = ["x1", "x2"]

[curve.dimensions.dispersion]
capital = ["capital_region"]

[curve.dimensions.estimator]
gnb = { estimator = "gnb" }
poisson = { estimator = "poisson" }

[curve.dimensions.sample]
all = { years = [2010, 2019] }
late = { years = [2014, 2019], exclude = ["Seoul"] }

[[curve.exclude]]
when = { outcome_form = ["exposure"], controls = ["full"] }
reason = "population is the exposure"
"""

LINEAR = """
[[curve]]
id = "linear_small"
title = "Synthetic growth curve"
outcome = "g"
focal = ["innovation", "decentralization"]
seed = 11
bootstrap = { reps = 99 }
null_draws = 2
batch_size = 3
rationale = "test"

[curve.dimensions]
decentralization = ["d"]
innovation = ["innov"]
year_effects = [true, false]
inference = ["model", "cluster"]

[curve.dimensions.controls]
c = ["x1"]

[curve.dimensions.estimator]
fgls = { estimator = "fgls", options = { panels = "hetero" } }
pcse = { estimator = "pcse" }
fe = { estimator = "fe" }

[curve.dimensions.sample]
all = { years = [2010, 2019] }
"""


def _raw(text: str) -> list:
    import tomllib
    return tomllib.loads(text)["curve"]


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    return synthetic_panel()


# ----------------------------------------------------------------------------- validation

def test_validate_returns_the_curves_with_their_declared_dimensions(panel):
    (c,) = curve.validate(_raw(COUNT), panel.columns)
    assert c.id == "count_small" and c.family == "count" and c.focal == ("decentralization",)
    assert [o.name for o in c.dimensions["lag"]] == ["l1", "l2"]
    assert c.dimensions["sample"][1].value["exclude"] == ("seoul",)   # names go through regions
    assert c.reps == 99 and c.weights == "webb"


@pytest.mark.parametrize("edit, key, words", [
    (lambda r: r.update(seeed=1), "seeed", "did you mean 'seed'"),
    (lambda r: r["dimensions"].update(lags=[1]), "dimensions.lags", "did you mean 'lag'"),
    (lambda r: r.update(seed="7"), "seed", "must be an integer"),
    (lambda r: r.update(id="Count-Small"), "id", "lower-case letters"),
    (lambda r: r["dimensions"]["controls"].update(full=["x1", "x3"]),
     "dimensions.controls.full[1]", "'x3' is not a panel column"),
    (lambda r: r["dimensions"].update(decentralization=["dd"]), "dimensions.decentralization[0]",
     "neither 'dd' nor 'dd_l1'"),
    (lambda r: r["dimensions"].update(inference=["cluster", "kernel"]), "dimensions.inference[1]",
     "not available for count models"),
    (lambda r: r["dimensions"]["estimator"].update(fe={"estimator": "fe"}),
     "dimensions.estimator", "mixes count and linear"),
    (lambda r: r["dimensions"]["estimator"].update(gnb={"estimator": "gnbb"}),
     "dimensions.estimator.gnb.estimator", "did you mean 'gnb'"),
    (lambda r: r["dimensions"]["estimator"].update(poisson={"estimator": "poisson",
                                                            "province_effects": "yes"}),
     "dimensions.estimator.poisson.province_effects", "true or false"),
    (lambda r: r["dimensions"]["sample"].update(all={"years": [2010, 2019], "exlude": []}),
     "dimensions.sample.all.exlude", "did you mean 'exclude'"),
    (lambda r: r["dimensions"]["sample"].update(all={"years": [2010, 2019], "exclude": ["Atlantis"]}),
     "dimensions.sample.all.exclude[0]", "unknown region name"),
    (lambda r: r["exclude"][0]["when"].update(controls=["ful"]), "exclude[0].when.controls",
     "did you mean 'full'"),
    (lambda r: r.update(focal=["growth"]), "focal[0]", "not a focal role"),
    (lambda r: r.update(bootstrap={"reps": 99, "weights": "webbb"}), "bootstrap.weights",
     "did you mean 'webb'"),
    (lambda r: r["dimensions"].update(year_effects=["false"]), "dimensions.year_effects",
     "true/false"),
])


def test_validate_refuses_bad_blocks_naming_the_key(panel, edit, key, words):
    raw = _raw(COUNT)
    edit(raw[0])
    with pytest.raises(SpecificationError) as info:
        curve.validate(raw, panel.columns)
    msg = str(info.value)
    assert f"curve 'count_small'.{key}" in msg or f"curve '{raw[0]['id']}'.{key}" in msg, msg
    assert words in msg, msg


def test_validate_refuses_a_duplicate_curve_id(panel):
    with pytest.raises(SpecificationError, match="used twice"):
        curve.validate(_raw(COUNT) * 2, panel.columns)


def test_the_projects_curve_blocks_are_valid():
    root = Path(__file__).resolve().parents[1]
    from regrowth import panel
    from regrowth.sources.registry import PUBLIC

    # every column the public panel builder produces (ids, parsed variables, derived ones)
    cols = (list(panel.ID_COLUMNS) + [v for s in PUBLIC for v in s.variable_names]
            + [d.name for d in panel.DERIVED])
    curves = curve.load(root / "specs" / "models.toml", cols)
    sizes = {c.id: len(curve.enumerate_specs(c)[0]) for c in curves}
    assert sizes["innovation"] + sizes["growth"] >= 1000


def test_a_curve_too_large_is_refused_before_enumerating_with_its_sizes(panel, monkeypatch):
    raw = _raw(COUNT)
    # lag, controls, dispersion and sample 40 each, 2 forms, 2 estimators, 2 inferences
    raw[0]["dimensions"]["controls"] = {f"c{i}": ["x1"] for i in range(40)}
    raw[0]["dimensions"]["lag"] = list(range(1, 41))
    raw[0]["dimensions"]["sample"] = {f"s{i}": {"years": [2010, 2019]} for i in range(40)}
    raw[0]["dimensions"]["dispersion"] = {f"d{i}": ["capital_region"] for i in range(40)}
    raw[0]["exclude"] = []
    monkeypatch.setattr("regrowth.curve.schema._lagged_available", lambda v, k, cols: True)
    monkeypatch.setattr("regrowth.curve.enumeration.product",
                        lambda *a: pytest.fail("enumerated a curve that should be refused"))
    with pytest.raises(SpecificationError) as info:
        curve.validate(raw, panel.columns)
    msg = str(info.value)
    assert msg.startswith("curve 'count_small'.dimensions: 20,480,000 combinations of the "
                          "dimensions")
    assert "lag 40 x controls 40 x dispersion 40" in msg and "sample 40 x inference 2" in msg
    assert "limit of 100,000 specifications" in msg and "max_specifications = N" in msg


def test_max_specifications_sets_the_limit_of_a_curve(panel):
    raw = _raw(COUNT)                # 2 x 2 x 1 x 2 x 2 x 2 x 2 = 64 combinations
    raw[0]["max_specifications"] = 63
    with pytest.raises(SpecificationError, match="64 combinations .* limit of 63 specifications"):
        curve.validate(raw, panel.columns)
    raw[0]["max_specifications"] = 64
    (c,) = curve.validate(raw, panel.columns)
    assert c.max_specifications == 64 and len(curve.enumerate_specs(c)[0]) <= 64
    raw[0]["max_specifications"] = 0
    with pytest.raises(SpecificationError, match=r"max_specifications: must be >= 1, not 0"):
        curve.validate(raw, panel.columns)


def test_a_curve_bootstrap_beyond_the_reps_cap_is_refused(panel):
    raw = _raw(COUNT)
    raw[0]["bootstrap"] = {"reps": 10**9, "weights": "webb"}
    with pytest.raises(SpecificationError,
                       match=r"curve 'count_small'.bootstrap.reps: must be <= 100,000, "
                             r"not 1,000,000,000"):
        curve.validate(raw, panel.columns)


def test_the_growth_curves_predictable_failures_are_declared_exclusions():
    """PCSE x bootstrap (boottest has none) and AR(1) on the Sejong gap are excluded with a
    reason, not left to fail at run time."""
    root = Path(__file__).resolve().parents[1]
    cols = ["grdp_pc_real_growth", "fiscal_self_reliance", "fiscal_self_reliance_l1",
            "fiscal_autonomy_old", "fiscal_autonomy_old_l1", "ln_patents_pm_macro",
            "ln_patents_pm_macro_l1", "ln_grdp_pc_real_l1", "population_growth", "sejong_break",
            "patents_fintech", "fiscal_self_reliance_rev", "fiscal_autonomy", "ln_rnd_l1",
            "higher_ed_pct", "ln_universities_p10k", "ln_population", "ln_grdp_pc_nominal",
            "capital_region", "population"]
    (g,) = [c for c in curve.load(root / "specs" / "models.toml", cols) if c.id == "growth"]
    specs, excluded = curve.enumerate_specs(g)
    for s in specs:
        est, sample = s.choice("estimator"), s.choice("sample")
        assert not (est == "pcse" and s.inference == "bootstrap"), s.id
        assert not (est in ("fgls_hetero_ar1", "pcse") and sample == "p16_no_break"), s.id
    reasons = {e["reason"] for e in excluded}
    assert any("AR(1) chain" in r for r in reasons) and any("xtpcse" in r for r in reasons)


# ----------------------------------------------------------------------------- enumeration

def test_product_collapses_inapplicable_dimensions_and_lists_exclusions(panel):
    (c,) = curve.validate(_raw(COUNT), panel.columns)
    specs, excluded = curve.enumerate_specs(c)
    # lag 2 x (controls, form) 3 allowed of 4 x estimator 2 x sample 2 x inference 2
    assert len(specs) == 2 * 3 * 2 * 2 * 2
    assert len(excluded) == 2 * 1 * 2 * 2 * 2
    assert all(e["reason"] == "population is the exposure" for e in excluded)
    assert len({s.id for s in specs}) == len(specs)
    poisson = [s for s in specs if s.estimator == "poisson"]
    assert {s.choice("dispersion") for s in poisson} == {"-"} and all(not s.dispersion for s in poisson)
    s = next(s for s in specs if s.choice("lag") == "l2")
    assert s.regressors[0] == "d_l2" and s.focal_terms == (("decentralization", "d_l2"),)
    assert s.id.startswith("d.l2.") and s.model_id == s.id.rsplit(".", 1)[0]


def test_lag_two_is_the_value_two_calendar_years_earlier_in_the_same_province(panel):
    (c,) = curve.validate(_raw(COUNT), panel.columns)
    gap = panel.drop(("busan", 2012))          # a missing year stays missing two years on
    out = curve.prepare_panel(gap, [c])
    assert out.loc[("seoul", 2015), "d_l2"] == panel.loc[("seoul", 2013), "d"]
    assert np.isnan(out.loc[("busan", 2014), "d_l2"])
    assert np.isnan(out.loc[("seoul", 2009), "d_l2"])
    assert "d_l2" not in panel                  # the panel itself is not changed


def test_seeds_depend_only_on_the_curve_seed_and_the_key():
    a = curve.spec_seed(7, "d.l1.full.capital.count.gnb.all")
    assert a == curve.spec_seed(7, "d.l1.full.capital.count.gnb.all")
    assert a != curve.spec_seed(8, "d.l1.full.capital.count.gnb.all")
    assert a != curve.spec_seed(7, "d.l2.full.capital.count.gnb.all")
    assert 0 <= a < 2**32


# ----------------------------------------------------------------------------- running

@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("curve")
    synthetic_panel(root / "processed")
    (root / "models.toml").write_text(COUNT + LINEAR, encoding="utf-8")
    return root


def _run(root: Path, backend: str, out: str, ids=None, workers=2) -> int:
    return curve.run(specs=root / "models.toml", processed_dir=root / "processed",
                     results_dir=root / out, ids=ids, backend=backend, workers=workers, quiet=True)


def _narrowed(text: str, *choices: tuple[str, str]) -> str:
    for old, new in choices:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text


#: The two curves with fewer choices, for the backend comparison (count: one lag and one
#: sample, 12 specifications in batches of 2, and the score null curve's 49 draws from the
#: restricted fits the workers send back; linear: with year effects only, 6 specifications
#: of the 3 estimators, the 2 impossible ones among them, and the null curve's 2 draws): every
#: way a result is made and sent back (batches spread over 2 workers, per-specification
#: bootstrap seeds, failures, null draws) at a fraction of the cost.
COUNT_TINY = _narrowed(COUNT, ("lag = [1, 2]", "lag = [1]"),
                       ('late = { years = [2014, 2019], exclude = ["Seoul"] }\n', ""),
                       ("batch_size = 2\n", "batch_size = 2\nnull_draws = 49\n"))
LINEAR_TINY = _narrowed(LINEAR, ("year_effects = [true, false]", "year_effects = [true]"))


def test_json_is_byte_identical_on_serial_processes_and_dask(tmp_path, monkeypatch):
    """The JSON and CSV of a run are the same bytes on every backend. (The figures are drawn
    in this process from the same record whatever the backend, so they are not rendered
    here; test_outputs_rewritten_from_the_json_are_the_same_files checks them.)"""
    from distributed import LocalCluster

    from regrowth.report import figures

    monkeypatch.setattr(figures, "figure_bytes", lambda *args, **kwargs: b"")
    synthetic_panel(tmp_path / "processed")
    (tmp_path / "models.toml").write_text(COUNT_TINY + LINEAR_TINY, encoding="utf-8")
    assert _run(tmp_path, "serial", "serial") == 0
    assert _run(tmp_path, "processes", "processes") == 0
    # a scheduler named by $REGROWTH_DASK_SCHEDULER, as on a cluster (here 2 local processes)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None, silence_logs=40) as cluster:
        monkeypatch.setenv("REGROWTH_DASK_SCHEDULER", cluster.scheduler_address)
        assert _run(tmp_path, "dask", "dask") == 0
    count = json.loads((tmp_path / "serial" / "count_small.json").read_text())
    linear = json.loads((tmp_path / "serial" / "linear_small.json").read_text())
    # model x inference cells (one record per model: 6 and 3 distinct estimates)
    assert (count["n_cells"], linear["n_cells"]) == (12, 6)
    assert (count["n_models"], linear["n_models"]) == (6, 3)
    # xtgls and xtpcse have no cluster covariance: those 2 cells are listed, not fitted
    impossible = [f for f in linear["failures"] if f["stage"] == "inference"]
    assert count["n_fitted"] > 0 and len(impossible) == 2 and linear["null"]["draws"] == 2
    assert count["null"]["null_method"] == "score" and count["null"]["draws"] == 49
    assert count["null"]["n_models"] == count["n_fitted"]
    for name in ("count_small.json", "count_small.csv", "linear_small.json", "linear_small.csv"):
        ref = (tmp_path / "serial" / name).read_bytes()
        assert (tmp_path / "processes" / name).read_bytes() == ref, name
        assert (tmp_path / "dask" / name).read_bytes() == ref, name


def test_every_model_is_reported_once_and_failures_are_listed_with_reasons(project):
    if not (project / "serial" / "count_small.json").is_file():
        _run(project, "serial", "serial")
    rec = json.loads((project / "serial" / "count_small.json").read_text())
    # 48 model x inference cells, 2 inference choices each: 24 distinct estimates
    assert rec["n_cells"] == 48 and rec["n_models"] == len(rec["models"]) == 24
    assert len({m["id"] for m in rec["models"]}) == 24
    assert rec["n_fitted"] + rec["n_failed"] == rec["n_models"]
    failed = {f["id"] for f in rec["failures"] if f["stage"] == "fit"}
    for m in rec["models"]:
        assert "inference" not in m["choices"] and m["inference"] == ["cluster", "bootstrap"]
        if m["error"]:
            assert m["id"] in failed and m["error"]
        else:
            t = m["terms"]["decentralization"]
            assert t["estimate"] is not None and t["std_error"]["cluster"] > 0
            assert 0 <= t["p_value"]["cluster"] <= 1 and t["p_value"]["bootstrap"] == t["boot_p"]
            assert m["nobs"] > 0 and m["n_clusters"] in (15, 16) and m["converged"] is not None
    lin = json.loads((project / "serial" / "linear_small.json").read_text())
    # xtgls and xtpcse have no cluster covariance: that inference choice of those 4 models is
    # listed with why; the models themselves are fitted
    impossible = {m["id"] for m in lin["models"] if m["choices"]["estimator"] in ("fgls", "pcse")}
    listed = {f["id"]: f for f in lin["failures"]}
    assert len(impossible) == 4 and impossible <= set(listed)
    assert all(listed[i]["stage"] == "inference" and listed[i]["inference"] == ["cluster"]
               and "reports only its own" in listed[i]["reason"] for i in impossible)
    assert lin["n_fitted"] == lin["n_models"] == 6 and lin["n_inference_unavailable"] == 4
    for role in ("innovation", "decentralization"):
        s = lin["summary"][role]
        assert s["n_estimated"] == 6 and s["median_estimate"] is not None
    for name in ("count_small.csv", "count_small_decentralization.png",
                 "linear_small_innovation.png", "linear_small_null.png"):
        assert (project / "serial" / name).stat().st_size > 0
    csv = pd.read_csv(project / "serial" / "count_small.csv")
    assert len(csv) == 24 and set(csv["lag"]) == {"l1", "l2"} and "inference" not in csv
    assert {"p_cluster", "p_bootstrap", "se_cluster", "p_recommended", "recommended"} <= set(csv)


def test_the_inference_choices_of_a_model_share_one_estimate_and_the_figure_draws_it_once(
        project, monkeypatch):
    """704 distinct estimates were drawn as 2,112 points: now one point per model."""
    from regrowth.report import curve_figure

    if not (project / "serial" / "count_small.json").is_file():
        _run(project, "serial", "serial")
    rec = json.loads((project / "serial" / "count_small.json").read_text())
    drawn = []
    real = curve_figure._fitted

    def spy(record, role):
        rows = real(record, role)
        drawn.append(len(rows))
        return rows

    monkeypatch.setattr(curve_figure, "_fitted", spy)
    curve_figure.specification_curve(rec, "decentralization", project / "spy.png",
                                     curve.DIMENSIONS)
    assert drawn == [rec["n_fitted"]] == [24]


def test_headline_share_uses_the_bootstrap_then_cluster_never_the_model_p(panel, monkeypatch):
    import types as _t

    def boottest(results, param, *, clusters, reps, weights, seed, ci):
        if type(results).__name__ == "PanelFGLSResults":
            raise SpecificationError("boottest: no bootstrap for this model (test)")
        return _t.SimpleNamespace(pvalue=0.01, method="fake", reps=reps)

    monkeypatch.setattr("regrowth.curve.fitting.boottest", boottest)
    raw = _raw(LINEAR)
    raw[0]["null_draws"] = 0
    raw[0]["dimensions"]["inference"] = ["model", "cluster", "bootstrap"]
    (c,) = curve.validate(raw, panel.columns)
    with curve.Executor("serial") as ex:
        rec = curve.run_curve(c, panel, ex)
    seen = set()
    for m in rec["models"]:
        t = m["terms"]["innovation"]
        est = m["choices"]["estimator"]
        if est == "fe":        # bootstrap computed: it is the p of record
            assert t["recommended"] == "bootstrap" and t["p_recommended"] == 0.01
        elif est == "pcse":    # the fake bootstrap answers for xtpcse too
            assert t["recommended"] == "bootstrap"
        else:                  # xtgls: no bootstrap, no cluster -> no p of record at all,
            assert t["recommended"] is None and t["p_recommended"] is None   # never "model"
            assert t["p_value"]["model"] is not None
        seen.add(est)
    assert seen == {"fe", "fgls", "pcse"}
    s = rec["summary"]["innovation"]
    assert s["n_recommended"] == 4 and s["n_without_recommended"] == 2
    assert s["n_recommended_bootstrap"] == 4 and s["share_p05"] == 1.0
    assert "never the model-based" in s["recommended"]
    assert set(s["by_inference"]) == {"model", "cluster", "bootstrap"}


def test_cluster_p_is_the_record_where_the_bootstrap_fails(panel, monkeypatch):
    def boottest(*a, **k):
        raise SpecificationError("boottest: not supported (test)")

    monkeypatch.setattr("regrowth.curve.fitting.boottest", boottest)
    (c,) = curve.validate(_raw(COUNT), panel.columns)
    with curve.Executor("serial") as ex:
        rec = curve.run_curve(c, panel, ex)
    for m in rec["models"]:
        t = m["terms"]["decentralization"]
        assert t["recommended"] == "cluster" and t["p_recommended"] == t["p_value"]["cluster"]
        assert "bootstrap" in m["unavailable"] and "not supported" in t["boot_error"]
    assert rec["summary"]["decentralization"]["n_recommended_cluster"] == rec["n_fitted"]


def test_a_declared_bootstrap_exclusion_skips_the_models_bootstrap(panel, monkeypatch):
    calls = []

    def boottest(results, param, **kw):
        calls.append(type(results).__name__)
        return types.SimpleNamespace(pvalue=0.5, method="fake", reps=kw["reps"])

    monkeypatch.setattr("regrowth.curve.fitting.boottest", boottest)
    raw = _raw(LINEAR)
    raw[0]["null_draws"] = 0
    raw[0]["dimensions"]["inference"] = ["model", "bootstrap"]
    raw[0]["exclude"] = [{"when": {"estimator": ["pcse"], "inference": ["bootstrap"]},
                          "reason": "boottest does not support xtpcse"}]
    (c,) = curve.validate(raw, panel.columns)
    with curve.Executor("serial") as ex:
        rec = curve.run_curve(c, panel, ex)
    pcse = [m for m in rec["models"] if m["choices"]["estimator"] == "pcse"]
    assert pcse and all(m["inference"] == ["model"] and not m["unavailable"] for m in pcse)
    assert all(m["terms"]["innovation"]["boot_p"] is None for m in pcse)
    assert "PanelPCSEResults" not in calls and len(calls) == 2 * 4   # 4 other models x 2 roles
    assert {e["reason"] for e in rec["excluded"]} == {"boottest does not support xtpcse"}
    assert not rec["failures"] and rec["bootstrap"]["unavailable"] == []   # declared, not failed


@pytest.mark.parametrize("decrement, converged", [
    (1e-24, True), (5e-13, True), (5e-12, False), (1e-6, False)])


def test_a_convergence_verdict_near_the_tolerance_is_reported_as_borderline(decrement, converged):
    """The flag is the Poisson fit's own (count._judge_convergence: decrement within a factor
    100 of the tolerance); the package's Newton solver sets none, since a decrement just above
    the tolerance only means one more step there."""
    from regrowth.curve.fitting import _convergence
    from regrowth.models import _optim

    borderline = _optim.TOL / 100 < decrement < _optim.TOL * 100
    res = types.SimpleNamespace(mle_retvals={"decrement": decrement, "converged": converged,
                                             "borderline": borderline})
    fitted = types.SimpleNamespace(stats={"converged": converged}, result=res)
    assert _convergence(fitted) == (converged, borderline)
    solver = types.SimpleNamespace(mle_retvals={"decrement": decrement, "converged": converged})
    assert _convergence(types.SimpleNamespace(stats={"converged": converged}, result=solver)) \
        == (converged, False)
    no_info = types.SimpleNamespace(stats={"converged": True}, result=object())
    assert _convergence(no_info) == (True, False)


def test_cli_curve_id_takes_a_unique_prefix_like_show_and_only(project, monkeypatch):
    """`--id count` is `count_small`, as `show table2` is `table2_growth` (regrowth.names)."""
    from regrowth import cli

    monkeypatch.chdir(project)
    assert cli.main(["curve", "--id", "count", "--backend", "serial", "--specs", "models.toml",
                     "--processed-dir", "processed", "--results-dir", "cli"]) == 0
    assert (project / "cli" / "count_small.json").is_file()
    assert not (project / "cli" / "linear_small.json").exists()


@pytest.mark.parametrize("backend, workers, scheduler, words", [
    ("serial", 0, None, "--workers 0: must be a whole number from 1 to"),
    ("processes", -1, None, "--workers -1: must be a whole number from 1 to"),
    ("processes", 10**6, None, "--workers 1000000: must be a whole number from 1 to"),
    ("serial", None, "tcp://127.0.0.1:8786", "--scheduler only applies to --backend dask"),
    ("processes", 2, "tcp://127.0.0.1:8786", "--scheduler only applies to --backend dask"),
    ("dask", None, "127.0.0.1", "'127.0.0.1' is not a Dask scheduler address"),
    ("dask", None, "tcp://localhost:port", "write it as tcp://HOST:PORT"),
])


def test_bad_backend_options_are_refused_before_anything_runs(project, backend, workers,
                                                              scheduler, words):
    with pytest.raises(SpecificationError) as info:
        curve.run(specs=project / "models.toml", processed_dir=project / "processed",
                  results_dir=project / "refused", backend=backend, workers=workers,
                  scheduler=scheduler, quiet=True)
    assert words in str(info.value)
    assert not (project / "refused").exists()


def test_the_workers_cap_is_four_per_cpu(monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 3)
    assert curve.Executor("processes", 12).workers == 12
    with pytest.raises(SpecificationError, match=r"from 1 to 12 \(4 x the 3 CPUs"):
        curve.Executor("processes", 13)


def test_an_unreachable_scheduler_is_a_message_within_the_connect_timeout(project, monkeypatch,
                                                                          capsys):
    import socket
    import time

    from regrowth import cli

    with socket.socket() as s:             # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.chdir(project)
    monkeypatch.setenv("REGROWTH_DASK_CONNECT_TIMEOUT", "2")
    t0 = time.monotonic()
    code = cli.main(["curve", "--backend", "dask", "--scheduler", f"tcp://127.0.0.1:{port}",
                     "--specs", "models.toml", "--processed-dir", "processed",
                     "--results-dir", "unreachable"])
    assert code == 2 and time.monotonic() - t0 < 10
    err = capsys.readouterr().err
    assert f"the Dask scheduler tcp://127.0.0.1:{port} (from --scheduler) cannot be reached" in err
    assert "nothing was fitted or written" in err and "Traceback" not in err
    assert not (project / "unreachable").exists()


def test_a_malformed_scheduler_in_the_environment_is_named_as_such(monkeypatch):
    monkeypatch.setenv("REGROWTH_DASK_SCHEDULER", "scheduler:port")
    with pytest.raises(SpecificationError, match=r"\$REGROWTH_DASK_SCHEDULER 'scheduler:port' "
                                                 r"is not a Dask scheduler address"):
        curve.Executor("dask")


def _double(x):
    return 2 * x


def _slow(x):
    import time
    time.sleep(4)
    return x


def test_a_dask_cluster_without_workers_stops_with_a_message_not_a_hang(monkeypatch):
    import time

    from distributed import LocalCluster

    monkeypatch.setenv("REGROWTH_DASK_NO_WORKERS_TIMEOUT", "1")
    with LocalCluster(n_workers=0, processes=False, protocol="tcp", host="127.0.0.1",
                      dashboard_address=None, silence_logs=40) as cluster:
        t0 = time.monotonic()
        with pytest.raises(DaskError) as info, \
                curve.Executor("dask", scheduler=cluster.scheduler_address) as ex:
            ex.map(_double, [1, 2, 3])
    assert time.monotonic() - t0 < 15
    msg = str(info.value)
    assert "has had no worker for 1 s" in msg and "nothing was written" in msg
    assert f"dask worker {cluster.scheduler_address}" in msg


def test_a_dask_run_whose_workers_all_die_stops_with_a_message(monkeypatch):
    import threading
    import time

    from distributed import LocalCluster

    monkeypatch.setenv("REGROWTH_DASK_NO_WORKERS_TIMEOUT", "1")
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tcp",
                      host="127.0.0.1", dashboard_address=None, silence_logs=40) as cluster:
        with curve.Executor("dask", scheduler=cluster.scheduler_address) as ex:
            threading.Timer(1.0, cluster.scale, args=(0,)).start()   # the worker goes away
            t0 = time.monotonic()
            with pytest.raises(DaskError, match="has had no worker for 1 s"):
                ex.map(_slow, [1, 2])
            assert time.monotonic() - t0 < 20


class _FakeFuture:
    def __init__(self, error):
        self.error = error

    def result(self):
        raise self.error


class _FakeClient:
    """A Dask client whose results raise ``error`` (a worker killed, a scheduler gone)."""

    def __init__(self, error):
        self.error, self.cancelled = error, []

    def nthreads(self):
        return {"tcp://127.0.0.1:1": 1}

    def scatter(self, objs, broadcast, hash):
        return objs

    def submit(self, fn, *args, pure):
        return _FakeFuture(self.error)

    def gather(self, futures):
        raise self.error

    def cancel(self, futures):
        self.cancelled += futures


@pytest.mark.parametrize("error, words", [
    ("killed", "a Dask task killed its worker repeatedly"),
    ("closed", r"the Dask scheduler tcp://127.0.0.1:1 does not answer \(CommClosedError"),
])


def test_a_killed_worker_or_a_lost_scheduler_is_a_message(monkeypatch, error, words):
    from distributed import KilledWorker
    from distributed.comm.core import CommClosedError

    worker = types.SimpleNamespace(address="tcp://127.0.0.1:2")
    exc = (KilledWorker("batch-3", worker, 3) if error == "killed"
           else CommClosedError("in <TCP>: Stream is closed"))
    monkeypatch.setattr("distributed.wait", lambda futures, timeout: None)
    ex = curve.Executor("dask", scheduler="tcp://127.0.0.1:1")
    ex._client = _FakeClient(exc)
    with pytest.raises(DaskError, match=words) as info:
        ex.map(_double, [1, 2])
    assert "nothing was written" in str(info.value)
    assert len(ex._client.cancelled) == 2          # the run's tasks are cancelled


def test_a_real_poisson_fit_carries_the_borderline_flag_the_curve_reads(panel):
    from regrowth.curve.fitting import _convergence, _fit_one

    (c,) = curve.validate(_raw(COUNT), panel.columns)
    data = curve.prepare_panel(panel, [c])
    spec = next(s for s in curve.enumerate_specs(c)[0] if s.estimator == "poisson")
    fitted, _ = _fit_one(spec, data)
    assert "borderline" in fitted.result.mle_retvals
    assert _convergence(fitted) == (True, bool(fitted.result.mle_retvals["borderline"]))


def test_summary_counts_p_values_of_record_within_the_margin_of_005_as_borderline():
    from regrowth.curve.null import P05_MARGIN
    from regrowth.curve.run import summarize

    def model(p):
        return {"terms": {"decentralization": {"term": "d_l1", "estimate": 1.0, "boot_p": p,
                                               "p_value": {"bootstrap": p},
                                               "recommended": "bootstrap", "p_recommended": p}}}

    ps = [0.01, 0.05 - P05_MARGIN / 2, 0.05 + P05_MARGIN / 2, 0.05 + 10 * P05_MARGIN, 0.5]
    s = summarize([model(p) for p in ps], ["decentralization"], ["bootstrap"])["decentralization"]
    assert s["n_p05_borderline"] == 2 and s["n_recommended"] == 5
    assert s["share_p05"] == pytest.approx(2 / 5, abs=1e-15)


def test_outputs_rewritten_from_the_json_are_the_same_files(project, tmp_path):
    if not (project / "serial" / "linear_small.json").is_file():
        _run(project, "serial", "serial")
    for cid in ("count_small", "linear_small"):
        text = (project / "serial" / f"{cid}.json").read_text(encoding="utf-8")
        curve.write_outputs(json.loads(text), tmp_path)
        for ext in (".json", ".csv"):
            assert ((tmp_path / f"{cid}{ext}").read_bytes()
                    == (project / "serial" / f"{cid}{ext}").read_bytes()), cid + ext


def test_the_curves_of_one_run_are_published_together(project, monkeypatch):
    """A run stopped while fitting its second curve (as `make curve` killed during the
    growth fits) publishes nothing: the first curve's new outputs never sit beside the
    second curve's old ones. Nothing changes until every curve is fitted."""
    import importlib

    from regrowth import files
    run_mod = importlib.import_module("regrowth.curve.run")   # the module, not curve.run()

    assert _run(project, "serial", "together") == 0
    out = project / "together"
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    assert {"count_small.json", "linear_small.json"} <= set(before)
    real = run_mod.run_curve
    fitted = []

    def second_dies(c, *a, **kw):
        if fitted:
            raise KeyboardInterrupt   # killed during the second curve's fits
        rec = real(c, *a, **kw)
        rec["title"] = "a newer run"
        fitted.append(c.id)
        return rec

    monkeypatch.setattr(run_mod, "run_curve", second_dies)
    with pytest.raises(KeyboardInterrupt):
        _run(project, "serial", "together")
    assert fitted == ["count_small"]
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
    assert not list(out.glob(".staging-*")) and not (out / files.JOURNAL_NAME).exists()


CURVE_RUNNER = """
import sys
from regrowth import curve
root = sys.argv[1]
sys.exit(curve.run(specs=root + "/models.toml", processed_dir=root + "/processed",
                   results_dir=root + "/killed", backend="serial", quiet=True))
"""


@pytest.mark.slow
def test_kill_9_after_the_first_curve_leaves_every_old_curve(project, tmp_path):
    """`make curve` killed with SIGKILL once its first curve is staged (during the second
    curve's fits): the published folder is byte-for-byte the previous run's; the next run
    removes the staging folder and publishes both new curves."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from regrowth import files

    def published(folder):   # the outputs (not the lock, journal, manifest or owner record)
        return {p.name: p.read_bytes() for p in folder.iterdir()
                if p.is_file() and not p.name.startswith(".")}

    assert _run(project, "serial", "killed") == 0
    out = project / "killed"
    before = published(out)
    script = tmp_path / "run_curve.py"
    script.write_text(CURVE_RUNNER)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src"),
           "MPLBACKEND": "Agg"}
    proc = subprocess.Popen([sys.executable, str(script), str(project)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    staged = out / f".staging-{proc.pid}" / "count_small.json"
    deadline = time.monotonic() + 120
    while not staged.exists():
        assert proc.poll() is None and time.monotonic() < deadline, "the first curve never staged"
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert published(out) == before
    assert not (out / files.JOURNAL_NAME).exists()
    assert _run(project, "serial", "killed") == 0
    assert not list(out.glob(".staging-*"))
    assert published(out) == before  # same inputs


@pytest.mark.parametrize("eps, borderline, identified", [
    (1e-2, False, True), (3e-6, True, True), (1e-9, False, False)])


def test_a_null_draw_whose_identification_is_near_the_tolerance_is_flagged(eps, borderline,
                                                                          identified):
    """The linear null map decides a draw is identified when the smallest eigenvalue of the
    scaled X'X exceeds IDENTIFIED_RTOL of the largest; within a factor 100 it is flagged."""
    from regrowth.curve.linear_null import IDENTIFIED_RTOL, LinearMap, _base

    rng = np.random.default_rng(3)
    G, T = 6, 4
    z = rng.normal(size=(G, T))
    X = np.stack([np.ones((G, T)), 1.0 + eps * z], axis=2)
    m = LinearMap(X=X, y0=np.zeros((G, T)), present=np.ones((G, T), dtype=bool),
                  regions=[str(g) for g in range(G)], j=1, se="model", k_df=2, fe_df=False,
                  k_stata=2, absorb=False, bandwidth=None)
    C = np.ones((1, G))
    base = _base(m, C, None)
    # independent transcription: eigenvalues of the correlation-scaled X'X
    XtX = np.einsum("gtk,gtl->kl", X, X)
    d = np.sqrt(np.diag(XtX))
    w = np.linalg.eigvalsh(XtX / np.outer(d, d))
    ratio = w[0] / w[-1]
    assert (IDENTIFIED_RTOL / 100 < ratio < IDENTIFIED_RTOL * 100) == borderline
    assert bool(base["borderline"][0]) == borderline
    assert bool(base["ok"][0]) == identified
