"""The count curve's score-bootstrap null draws (``regrowth.curve.count_null``, wired into
the curve by ``null_method = "score"``) against references. All data here are SYNTHETIC
(seeded); the real innovation curve is measured by ``benchmarks/bench_count_null.py`` and
``bench_count_null_newton.py --curve-check``.

* the one-step draws equal an independent transcription of the documented formula
  (restricted Poisson fit by statsmodels' GLM, scores s_i = x_i (y_i - mu_i), Hessian
  -sum mu_i x_i x_i', one Newton step, sandwich of the re-linearised cluster scores) on a tiny
  Poisson panel: estimates to 1e-7 relative, p-values to 1e-8;
* the refit of the score-perturbed likelihood equals scipy's maximiser of the same objective
  written out for Poisson (to 1e-6), and its gradient vanishes there;
* on synthetic NB2 data (16 provinces x 12 years) the one-step draws agree with those refits
  well enough to pass ``count_null.AGREEMENT``;
* with boottest's own weights the p-value from the parts is boottest's p-value exactly;
* the observed statistic of record (the draw with w = 1) is boottest's statistic exactly, and
  its estimate the one-step estimate sum_g a_g;
* in a curve: declaring the score null changes no model record (the bootstrap p-values from
  the kept parts are boottest's), and the null record's observed curve, draws and Monte
  Carlo p-values equal their transcription from the parts, (1 + #)/(1 + B);
* a null method of the other family is refused, naming ``curve.<id>.null_method``;
* the curve-level rule (``count_null.curve_agreement``: |p1 - p2| <= max(0.02, 2 Monte Carlo
  SE of the difference) and the same side of 0.05 and 0.10) against its written-out form.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import optimize, stats
from test_curve import synthetic_panel

from regrowth.curve import count_null as cn
from regrowth.errors import SpecificationError
from regrowth.inference import boottest
from regrowth.models import GeneralizedNegativeBinomial


def _tiny_poisson(G: int = 8, T: int = 6, seed: int = 3):
    """SYNTHETIC: G clusters x T periods, Poisson counts with a cluster-level shock."""
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(G), T)
    n = G * T
    X = pd.DataFrame({"const": 1.0, "d": rng.normal(size=n), "x1": rng.normal(size=n)})
    mu = np.exp(1.0 + 0.3 * X["x1"] + rng.normal(scale=0.3, size=G)[g])
    y = pd.Series(rng.poisson(mu), name="y").astype(float)
    labels = np.array([f"c{k:02d}" for k in g])
    return y, X, labels


def _poisson_fit(y, X, labels):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sm.Poisson(y, X).fit(disp=0, cov_type="cluster", cov_kwds={"groups": labels})


def test_one_step_draws_equal_a_transcription_of_the_formula_on_a_tiny_poisson_panel():
    y, X, labels = _tiny_poisson()
    res = _poisson_fit(y, X, labels)
    parts = cn.score_parts(res, "d", labels)
    W = cn.null_weights("webb", list(parts.labels), 7, seed=11)
    est, p = cn.score_draws(parts, W, "cluster")
    est_m, p_m = cn.score_draws(parts, W, "model")

    # transcription: restricted fit (d = 0) by GLM, then one Newton step per draw
    Xa, j = X.to_numpy(), 1
    glm = sm.GLM(y, X.drop(columns="d"), family=sm.families.Poisson()).fit(tol=1e-14)
    th0 = np.insert(np.asarray(glm.params), j, 0.0)
    mu = np.exp(Xa @ th0)
    s = Xa * (y.to_numpy() - mu)[:, None]
    codes, uniq = pd.factorize(pd.Series(labels), sort=True)
    G = len(uniq)
    Sg = np.array([s[codes == k].sum(axis=0) for k in range(G)])
    Hg = np.array([-(Xa[codes == k].T * mu[codes == k]) @ Xa[codes == k] for k in range(G)])
    H = Hg.sum(axis=0)
    Hinv = np.linalg.inv(H)
    c = G / (G - 1.0)
    for d in range(W.shape[0]):
        w = W[d]
        step = -Hinv @ (w @ Sg)
        theta = th0 + step
        Sstar = w[:, None] * Sg + np.einsum("gkl,l->gk", Hg, step)
        V = c * Hinv @ (Sstar.T @ Sstar) @ Hinv
        t = theta[j] / np.sqrt(V[j, j])
        assert est[d] == pytest.approx(theta[j], rel=1e-7, abs=1e-12)
        assert p[d] == pytest.approx(2 * stats.norm.sf(abs(t)), abs=1e-8)
        t_model = theta[j] / np.sqrt(-Hinv[j, j])
        assert p_m[d] == pytest.approx(2 * stats.norm.sf(abs(t_model)), abs=1e-8)
    assert np.array_equal(est, est_m)


def test_perturbed_refit_equals_scipys_maximiser_of_the_written_out_poisson_objective():
    y, X, labels = _tiny_poisson()
    res = _poisson_fit(y, X, labels)
    parts = cn.score_parts(res, "d", labels)
    w = cn.null_weights("rademacher", list(parts.labels), 3, seed=5)[1]
    e, p = cn.perturbed_refit(res, "d", labels, w, "cluster")

    Xa, yv, j = X.to_numpy(), y.to_numpy(), 1
    glm = sm.GLM(y, X.drop(columns="d"), family=sm.families.Poisson()).fit(tol=1e-14)
    th0 = np.insert(np.asarray(glm.params), j, 0.0)
    codes, _ = pd.factorize(pd.Series(labels), sort=True)
    s0 = Xa * (yv - np.exp(Xa @ th0))[:, None]
    Sg = np.array([s0[codes == k].sum(axis=0) for k in range(len(w))])
    shift = (w - 1.0) @ Sg

    def negobj(th):
        eta = Xa @ th
        return -(yv @ eta - np.exp(eta).sum() + shift @ th)

    def neggrad(th):
        return -(Xa.T @ (yv - np.exp(Xa @ th)) + shift)

    def neghess(th):
        return (Xa.T * np.exp(Xa @ th)) @ Xa

    ref = optimize.minimize(negobj, th0, jac=neggrad, hess=neghess, method="trust-exact",
                            options={"gtol": 1e-10})
    assert np.abs(neggrad(ref.x)).max() < 1e-6          # rounding: the scores are ~1e2
    assert e == pytest.approx(ref.x[j], rel=1e-6, abs=1e-9)
    assert 0.0 < p < 1.0


@pytest.fixture(scope="module")
def nb2():
    """SYNTHETIC NB data of tests/test_curve.py (16 provinces x 2009-2019); NB2 of y on d, x1
    and x2 (x2 has no effect) with ln population as offset, clustered by province."""
    panel = synthetic_panel().dropna()
    X = pd.DataFrame({"const": 1.0, "d": panel["d"], "x1": panel["x1"], "x2": panel["x2"]},
                     index=panel.index)
    Z = pd.DataFrame({"const": 1.0}, index=panel.index)
    labels = panel.index.get_level_values("region").to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = GeneralizedNegativeBinomial(panel["y"].astype(float), X, Z,
                                          offset=panel["ln_population"]).fit(
            cov_type="cluster", cov_kwds={"groups": labels})
    return res, labels


def test_one_step_draws_agree_with_refits_of_the_perturbed_likelihood_on_nb2_data(nb2):
    res, labels = nb2
    parts = cn.score_parts(res, "x2", labels)
    W = cn.null_weights("webb", list(parts.labels), 199, seed=20181207)
    est, p = cn.score_draws(parts, W, "cluster")
    sd = float(np.std(est))
    pairs = []
    for d in range(40):
        e, pr = cn.perturbed_refit(res, "x2", labels, W[d], "cluster")
        pairs.append({"onestep": est[d], "refit": e, "p_onestep": p[d], "p_refit": pr, "sd": sd})
    check = cn.agreement(pairs)
    assert check["refit_failed"] == 0
    assert cn.passes(check), check
    # and a disagreement that should fail does: refits replaced by unrelated numbers
    rng = np.random.default_rng(0)
    bad = [{**r, "refit": rng.normal(scale=sd)} for r in pairs]
    assert not cn.passes(cn.agreement(bad))


def test_the_parts_give_boottests_p_value_exactly_with_boottests_weights(nb2):
    res, labels = nb2
    parts = cn.score_parts(res, "x2", labels)
    for seed in (1, 2, 3):
        ref = boottest(res, "x2", clusters=labels, reps=999, weights="webb", seed=seed, ci=False)
        assert cn.boot_p(parts, "webb", 999, seed) == ref.pvalue
        assert parts.stat == pytest.approx(ref.statistic, rel=1e-12)


def test_the_null_weights_refuse_an_enumerated_rademacher_draw_naming_the_draws():
    with pytest.raises(SpecificationError, match="draws = 999 covers all 2"):
        cn.null_weights("rademacher", [f"c{k}" for k in range(8)], 999, seed=1)
    W = cn.null_weights("webb", [f"c{k}" for k in range(8)], 999, seed=1)
    assert W.shape == (999, 8)
    assert np.array_equal(W, cn.null_weights("webb", [f"c{k}" for k in range(8)], 999, seed=1))


def test_the_curve_level_rule_allows_twice_the_monte_carlo_se_of_the_difference_or_0_02():
    # written out: SE = sqrt(p1(1-p1)/B1 + p2(1-p2)/B2); tolerance max(0.02, 2 SE)
    p1, p2 = 0.301, 0.331                        # 0.30-0.33: 2 SE = 0.0414 > 0.02
    se = np.sqrt(p1 * (1 - p1) / 999 + p2 * (1 - p2) / 999)
    a = cn.curve_agreement(p1, p2, 999, 999)
    assert a["tol"] == pytest.approx(2 * se, rel=1e-12) and a["tol"] > 0.04
    assert a["passes"] and a["same_side"] == {"0.05": True, "0.1": True}
    assert cn.curve_agreement(0.011, 0.027, 999, 999)["tol"] == 0.02    # 2 SE < 0.02
    assert not cn.curve_agreement(0.301, 0.381, 999, 999)["passes"]     # 0.08 apart


def test_the_curve_level_rule_fails_p_values_on_two_sides_of_005_or_010_even_when_close():
    # 0.047 and 0.061 are 0.014 apart (within 0.02) but on two sides of 0.05
    a = cn.curve_agreement(0.047, 0.061, 999, 999)
    assert a["diff"] < a["tol"] and a["same_side"] == {"0.05": False, "0.1": True}
    assert not a["passes"]
    b = cn.curve_agreement(0.093, 0.111, 999, 999)                      # two sides of 0.10
    assert b["same_side"] == {"0.05": True, "0.1": False} and not b["passes"]
    # p = 50/1000 is "p <= 0.05" (counts compared, no floating-point tie): same side as 0.041
    assert cn.curve_agreement(50 / 1000, 0.041, 999, 999)["same_side"]["0.05"]


def test_the_observed_statistic_of_record_is_boottests_statistic_exactly(nb2):
    # w = 1: the one-step estimate sum_g a_g and the normal p of boottest's score t
    res, labels = nb2
    parts = cn.score_parts(res, "x2", labels)
    est, p = cn.observed(parts)
    ref = boottest(res, "x2", clusters=labels, reps=99, weights="webb", seed=1, ci=False)
    assert p == 2.0 * stats.norm.sf(abs(ref.statistic))          # same bytes, not approx
    assert est == pytest.approx(float(np.sum(parts.a)), rel=1e-12)
    # and the one-step estimate is theta~_j - (H^-1 sum_g S_g)_j, theta~_j = 0
    assert est != 0.0 and np.isfinite(est)


# ------------------------------------------------------------------- wired into the curve

def _count_curve(panel, null_draws, **extra):
    import tomllib

    from test_curve import COUNT, _narrowed

    from regrowth import curve
    text = _narrowed(COUNT, ("lag = [1, 2]", "lag = [1]"))
    raw = tomllib.loads(text)["curve"]
    raw[0]["null_draws"] = null_draws
    raw[0].update(extra)
    (c,) = curve.validate(raw, panel.columns)
    return c


@pytest.fixture(scope="module")
def count_runs():
    """SYNTHETIC: the count curve of tests/test_curve.py (one lag; 12 models, GNB and
    Poisson, two samples) run serially without and with a 99-draw score null, with the
    parts the fitting batches returned."""
    from regrowth import curve
    from regrowth.curve.fitting import run_batch

    panel = synthetic_panel()
    data = curve.prepare_panel(panel, [_count_curve(panel, 0)])
    out = {}
    for B in (0, 99):
        c = _count_curve(panel, B)
        with curve.Executor("serial") as ex:
            out[B] = curve.run_curve(c, data, ex, prepared=True, progress=False)
        out[f"curve{B}"] = c
    c = out["curve99"]
    specs, _ = curve.enumerate_specs(c)
    out["parts"] = run_batch(c, curve.group_specs(specs), data)["parts"]
    return out


def test_declaring_the_score_null_changes_no_model_record(count_runs):
    # the curve's bootstrap p-values come from the kept parts instead of boottest() itself:
    # same restricted fit, same weights and seed, so the same bytes
    import json
    a, b = count_runs[0], count_runs[99]
    assert json.dumps(a["models"], sort_keys=True) == json.dumps(b["models"], sort_keys=True)
    assert "null" not in a and b["null"]["null_method"] == "score"
    assert all(t["boot_p"] is not None for m in b["models"] for t in m["terms"].values())


def test_the_count_null_record_equals_its_transcription_from_the_parts(count_runs):
    from regrowth.curve.enumeration import spec_seed

    rec, c, parts = count_runs[99], count_runs["curve99"], count_runs["parts"]
    null = rec["null"]["roles"]["decentralization"]
    ids = [m["id"] for m in rec["models"] if not m["error"]]
    assert rec["null"]["n_models"] == len(ids) == len(parts) == 12
    labels = sorted({lab for mid in ids for lab in parts[mid]["decentralization"].labels})
    W = cn.null_weights("webb", labels, 99, spec_seed(c.seed, "null|score"))
    E, P, obs_e, obs_p = [], [], [], []
    for mid in ids:
        pt = parts[mid]["decentralization"]
        Wm = W[:, [labels.index(lab) for lab in pt.labels]]
        # transcription of the one-step draw: est = W a, t = est / sqrt(c sum_g (K w)_g^2)
        e = Wm @ pt.a
        t = e / np.sqrt(pt.c * ((Wm @ pt.K.T) ** 2).sum(axis=1))
        E.append(e)
        P.append(2 * stats.norm.sf(np.abs(t)))
        obs_e.append(pt.a.sum())
        obs_p.append(2 * stats.norm.sf(abs(pt.stat)))          # boottest's t at w = 1
    E, P = np.array(E), np.array(P)
    assert null["observed_median"] == pytest.approx(np.median(obs_e), rel=1e-10)
    assert null["observed_share_p05"] == np.mean(np.array(obs_p) < 0.05)
    np.testing.assert_allclose(null["null_median"], np.median(E, axis=0), rtol=1e-10)
    share = (P < 0.05).mean(axis=0)
    # compare the shares where no p-value lies within 1e-6 of 0.05 (no floating-point ties)
    clear = ~np.any(np.abs(P - 0.05) < 1e-6, axis=0)
    assert clear.sum() >= 90
    np.testing.assert_array_equal(np.array(null["null_share_p05"])[clear], share[clear])
    # p = (1 + #{draws as extreme}) / (1 + B), B = 99
    med = np.array(null["null_median"])
    assert null["p_median"] == (1 + np.sum(np.abs(med) >= abs(null["observed_median"]))) / 100
    sh = np.array(null["null_share_p05"])
    assert null["p_share_p05"] == (1 + np.sum(sh >= null["observed_share_p05"])) / 100
    assert null["failed_refits"] == 0 and rec["null"]["left_out"] == []


@pytest.mark.parametrize("family, method", [("count", "linear"), ("count", "refit"),
                                            ("linear", "score")])
def test_a_null_method_of_the_other_family_is_refused_naming_the_key(family, method):
    import tomllib

    from test_curve import COUNT, LINEAR

    from regrowth import curve
    raw = tomllib.loads(COUNT if family == "count" else LINEAR)["curve"]
    raw[0].update(null_draws=9, null_method=method)
    with pytest.raises(SpecificationError) as info:
        curve.validate(raw, synthetic_panel().columns)
    msg = str(info.value)
    assert f"curve '{raw[0]['id']}'.null_method" in msg and f"{family} curve" in msg, msg


def test_the_null_method_defaults_to_the_familys_own():
    import tomllib

    from test_curve import COUNT, LINEAR

    from regrowth import curve
    cols = synthetic_panel().columns
    (cc,) = curve.validate(tomllib.loads(COUNT)["curve"], cols)
    (lc,) = curve.validate(tomllib.loads(LINEAR)["curve"], cols)
    assert (cc.null_method, lc.null_method) == ("score", "linear")


def test_a_failed_restricted_fit_of_an_excluded_bootstrap_leaves_the_model_out_saying_why(
        monkeypatch):
    """SYNTHETIC: the Poisson models' bootstrap choice is declared excluded, so their score
    parts are computed for the null alone; where that restricted fit fails, the model is
    left out of the null with the failure as the reason (not the exclusion's), and its
    record says so too."""
    from regrowth import curve
    from regrowth.curve import fitting
    from regrowth.errors import EstimationError

    real = fitting.score_parts

    def failing_for_poisson(result, term, clusters):
        if type(result.model).__name__ == "Poisson":
            raise EstimationError("synthetic: the restricted model did not converge")
        return real(result, term, clusters)
    monkeypatch.setattr(fitting, "score_parts", failing_for_poisson)
    panel = synthetic_panel()
    c = _count_curve(panel, 19, exclude=[{"when": {"estimator": ["poisson"],
                                                   "inference": ["bootstrap"]},
                                          "reason": "test: no bootstrap after Poisson"}])
    data = curve.prepare_panel(panel, [c])
    with curve.Executor("serial") as ex:
        rec = curve.run_curve(c, data, ex, prepared=True, progress=False)
    poisson = {m["id"] for m in rec["models"] if m["estimator"] == "poisson"}
    assert poisson and not any(m["error"] for m in rec["models"])
    why = ("no restricted fit for the score null: EstimationError: synthetic: the restricted "
           "model did not converge")
    assert {d["id"]: d["reason"] for d in rec["null"]["left_out"]} == dict.fromkeys(poisson,
                                                                                   why)
    for m in rec["models"]:
        if m["id"] in poisson:
            t = m["terms"]["decentralization"]
            assert t["boot_error"] == fitting.BOOT_EXCLUDED and t["null_error"] == why
