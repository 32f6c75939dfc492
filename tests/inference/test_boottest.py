"""regrowth.inference.boottest: the wild cluster bootstrap (WCR/WCU) after linear models.

Checked against the independent Python implementation ``wildboottest`` (full enumeration:
the p-values must agree exactly, 2^16 = 65,536 draws), against brute force (every sign
vector of a G = 4 and a G = 5 design, re-estimating the model from y* for each), and
for the properties a test inversion must have.
"""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from regrowth.errors import SpecificationError
from regrowth.inference import boottest, draw_weights
from regrowth.models.linear import fit_panel

X_NAMES = ["lpcap", "lpc", "lemp", "unemp"]


@pytest.fixture(scope="module")
def ols(produc16):
    X = sm.add_constant(produc16[X_NAMES])
    model = sm.OLS(produc16["lgsp"], X)
    res = model.fit(cov_type="cluster", cov_kwds={"groups": pd.factorize(produc16.state)[0]})
    return model, res


@pytest.mark.parametrize(("param", "impose_null"), [("lpcap", True), ("unemp", False)])
def test_enumerated_p_value_and_t_equal_wildboottest(ols, produc16, param, impose_null):
    from wildboottest.wildboottest import wildboottest

    model, res = ols
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = wildboottest(model, B=99999, cluster=pd.factorize(produc16.state)[0],
                           param=param, impose_null=impose_null, show=False)
    out = boottest(res, param, clusters=produc16.state.to_numpy(), reps=99999,
                   impose_null=impose_null)
    assert out.enumerated and out.reps == 2 ** 16
    assert out.statistic == pytest.approx(float(ref["statistic"].iloc[0]), rel=1e-10)
    # The two agree on the method; they differ only in how a draw with |t*| = |t| counts.
    # The identity sign vector and its mirror give t* = +-t in exact arithmetic: which side
    # of |t| their computed value falls on is decided by the last bit of a float, and differs
    # between machines. So count the tied draws and compare up to them: boottest's p counts
    # only draws beyond |t| (ties excluded, as Stata's boottest >= 2.0.6); any other way of
    # breaking the ties lies between that and that plus the ties.
    ties = _tied_draws(model, produc16, param, impose_null, out.statistic)
    assert ties >= (2 if impose_null else 0)
    B = 2 ** 16
    p_ref = float(ref["p-value"].iloc[0])
    assert out.pvalue - 0.5 / B <= p_ref <= out.pvalue + (ties + 0.5) / B


def _tied_draws(model, produc16, param, impose_null, t, rtol=1e-9):
    """Sign vectors whose |t*| equals |t| to ``rtol`` (recomputed with the package's kernel on
    all 2^16 vectors): the draws whose side of |t| rounding decides."""
    from regrowth.inference._engine import LinearWild
    from regrowth.models.covariance import cluster_codes, stata_linear_factor

    X = np.asarray(model.exog, dtype=float)
    y = np.asarray(model.endog, dtype=float)
    codes, G = cluster_codes(produc16.state.to_numpy())
    j = list(model.exog_names).index(param)
    core = LinearWild.build(X, y, codes, G, j, stata_linear_factor(G, len(y), X.shape[1]),
                            impose_null)
    V, _ = draw_weights("rademacher", G, 2 ** 16, None)
    tstar = core.prepare(V).tstar(0.0)
    return int(np.sum(np.abs(np.abs(tstar) - abs(t)) <= rtol * abs(t)))


def _crve_t(X, y, cl, j, r):
    """Cluster-robust t with Stata's factor, computed from scratch (no shared code)."""
    n, k = X.shape
    b = np.linalg.lstsq(X, y, rcond=None)[0]
    u = y - X @ b
    A = np.linalg.inv(X.T @ X)
    G = len(np.unique(cl))
    meat = sum(np.outer(X[cl == g].T @ u[cl == g], X[cl == g].T @ u[cl == g])
               for g in np.unique(cl))
    V = G / (G - 1) * (n - 1) / (n - k) * A @ meat @ A
    return (b[j] - r) / np.sqrt(V[j, j])


def test_hand_checkable_g4_enumeration():
    # 4 clusters of 2 observations: y on a constant and x. Every one of the 2^4 = 16 sign
    # vectors is applied to the restricted residuals, the model re-estimated and its t
    # compared with the original: the p-value is (number of |t*| > |t|) / 16.
    x = np.array([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0])
    y = np.array([2.0, 0.5, 2.5, 1.5, 1.0, 3.0, 2.5, 2.0])
    cl = np.array(["a", "a", "b", "b", "c", "c", "d", "d"])
    X = np.column_stack([np.ones(8), x])
    res = sm.OLS(y, X).fit()
    t = _crve_t(X, y, cl, 1, 0.0)
    b_r = np.array([y.mean(), 0.0])               # restricted: slope = 0
    u_r = y - X @ b_r
    codes = pd.factorize(cl, sort=True)[0]
    tstar = []
    for signs in itertools.product([1.0, -1.0], repeat=4):
        ystar = X @ b_r + u_r * np.array(signs)[codes]
        tstar.append(_crve_t(X, ystar, cl, 1, 0.0))
    tstar = np.array(tstar)
    expected = np.mean(np.abs(tstar) > abs(t) * (1 + 1e-12))
    assert expected * 16 == round(expected * 16)
    out = boottest(res, "x1", clusters=cl, reps=999)
    assert out.enumerated and out.reps == 16
    assert out.statistic == pytest.approx(t, rel=1e-12)
    assert out.pvalue == expected
    eq = boottest(res, "x1", clusters=cl, reps=999, ptype="equaltail")
    lo, hi = np.mean(tstar < t * (1 - 1e-12)), np.mean(tstar > t * (1 + 1e-12))
    assert eq.pvalue == pytest.approx(2 * min(lo, hi))
    assert out.pvalue == 4 / 16  # t = 2.37; 4 of the 16 draws have |t*| > |t|


def _small_panel(G=4, T=6, seed=3):
    rng = np.random.default_rng(seed)
    ent = np.repeat([f"p{i}" for i in range(G)], T)
    year = np.tile(np.arange(2000, 2000 + T), G)
    a = np.repeat(rng.normal(size=G), T)
    x1 = rng.normal(size=G * T) + 0.5 * a
    x2 = rng.normal(size=G * T)
    y = 1.0 + 0.3 * x1 - 0.2 * x2 + a + rng.normal(size=G * T) + 0.1 * (year - 2000)
    return pd.DataFrame({"region": ent, "year": year, "y": y, "x1": x1, "x2": x2}
                        ).set_index(["region", "year"])


@pytest.mark.parametrize("effects", ["", " + TimeEffects"])
def test_fixed_effects_wcr_equals_refitting_linearmodels_for_every_sign_vector(effects):
    # Brute force: for each of the 2^4 sign vectors build y* = X b~ + u~ v from the
    # restricted FE fit, refit PanelOLS with linearmodels and take its Stata-scaled t.
    df = _small_panel()
    form = "y ~ 1 + x1 + x2" + effects
    res = fit_panel("fe", form, df, cov_type="clustered")
    # restricted fit (x1 coefficient = 0): FE regression of y on x2 alone
    res0 = fit_panel("fe", "y ~ 1 + x2" + effects, df, cov_type="clustered")
    fitted0 = df["y"] - res0.resids.reindex(df.index)
    u0 = res0.resids.reindex(df.index).to_numpy()
    codes = pd.factorize(df.index.get_level_values(0), sort=True)[0]
    t = float(res.tstats["x1"])
    tstar = []
    for signs in itertools.product([1.0, -1.0], repeat=4):
        dfb = df.copy()
        dfb["y"] = fitted0.to_numpy() + u0 * np.array(signs)[codes]
        rb = fit_panel("fe", form, dfb, cov_type="clustered")
        tstar.append(float(rb.tstats["x1"]))
    tstar = np.array(tstar)
    out = boottest(res, "x1", reps=999)
    assert out.enumerated and out.reps == 16
    assert out.statistic == pytest.approx(t, rel=1e-10)
    assert out.pvalue == np.mean(np.abs(tstar) > abs(t) * (1 + 1e-12))


def test_statistic_is_the_stata_clustered_t_of_fit_panel_for_fe_re_pooled(produc16):
    df = produc16.set_index(["state", "year"])
    for kind in ("fe", "re", "pooled"):
        res = fit_panel(kind, "lgsp ~ 1 + lpcap + lpc + lemp + unemp", df,
                        cov_type="clustered")
        out = boottest(res, "lpc", reps=999, weights="webb", seed=1, ci=False)
        assert out.statistic == pytest.approx(float(res.tstats["lpc"]), rel=1e-9), kind
        assert out.n_clusters == 16


def test_confidence_set_bounds_are_where_the_p_value_crosses_alpha(produc16):
    df = produc16.set_index(["state", "year"])
    res = fit_panel("fe", "lgsp ~ 1 + lpcap + lpc + lemp + unemp", df, cov_type="clustered")
    out = boottest(res, "lpc", reps=99999)            # enumerated: deterministic
    lo, hi = out.conf_int
    assert lo < out.estimate < hi
    width = hi - lo
    for bound, step in ((lo, -1), (hi, 1)):
        inside = boottest(res, "lpc", reps=99999, null=bound - step * 1e-4 * width, ci=False)
        outside = boottest(res, "lpc", reps=99999, null=bound + step * 1e-4 * width, ci=False)
        assert inside.pvalue >= 0.05 > outside.pvalue


def test_wcu_interval_is_estimate_plus_minus_bootstrap_quantile_times_se(ols, produc16):
    _, res = ols
    out = boottest(res, "lpc", clusters=produc16.state, reps=99999, impose_null=False)
    lo, hi = out.conf_int
    assert out.estimate - lo == pytest.approx(hi - out.estimate, rel=1e-5)


def test_clusters_as_strings_categoricals_and_integers_agree(ols, produc16):
    _, res = ols
    kw = {"reps": 999, "weights": "webb", "seed": 7}
    a = boottest(res, "lpc", clusters=produc16.state.to_numpy(), **kw)
    b = boottest(res, "lpc", clusters=pd.Categorical(produc16.state), **kw)
    c = boottest(res, "lpc", clusters=pd.factorize(produc16.state, sort=True)[0] * 10, **kw)
    assert a.pvalue == b.pvalue == c.pvalue
    assert a.conf_int == b.conf_int == c.conf_int


def test_seed_makes_draws_reproducible_and_enumeration_ignores_it(ols, produc16):
    _, res = ols
    kw = {"clusters": produc16.state, "reps": 1999, "weights": "webb", "ci": False}
    assert boottest(res, "lpc", seed=1, **kw).pvalue == boottest(res, "lpc", seed=1, **kw).pvalue
    e1 = boottest(res, "lpc", clusters=produc16.state, reps=70000, seed=1, ci=False)
    e2 = boottest(res, "lpc", clusters=produc16.state, reps=70000, seed=2, ci=False)
    assert e1.enumerated and e1.pvalue == e2.pvalue
    # fewer draws than 2^G: Rademacher is drawn, not enumerated
    assert not boottest(res, "lpc", clusters=produc16.state, reps=999, seed=1,
                        ci=False).enumerated


def test_bad_input_gives_clear_errors(ols, produc16):
    _, res = ols
    with pytest.raises(SpecificationError, match="not in the"):
        boottest(res, "no_such_variable", clusters=produc16.state)
    with pytest.raises(SpecificationError, match="at least 2 clusters"):
        boottest(res, "lpc", clusters=np.repeat("one", len(produc16)))
    with pytest.raises(SpecificationError, match="weights"):
        boottest(res, "lpc", clusters=produc16.state, weights="gamma")
    with pytest.raises(SpecificationError, match="observations"):
        boottest(res, "lpc", clusters=produc16.state.to_numpy()[:-1])
    plain = sm.OLS(res.model.endog, res.model.exog).fit()
    with pytest.raises(SpecificationError, match="clusters="):
        boottest(plain, "x1")


@pytest.mark.parametrize("kind", ["rademacher", "webb", "mammen", "normal"])
def test_weight_distributions_have_mean_zero_and_variance_one(kind):
    v, enumerated = draw_weights(kind, 40, 50000, np.random.default_rng(0))
    assert not enumerated and v.shape == (40, 50000)
    assert abs(v.mean()) < 0.01 and abs(v.var() - 1.0) < 0.01
    if kind == "webb":
        assert np.allclose(np.unique(np.round(v ** 2, 12)), [0.5, 1.0, 1.5])


def test_result_reports_its_settings(ols, produc16):
    _, res = ols
    out = boottest(res, "lpc", clusters=produc16.state, reps=999, weights="webb", seed=5)
    rec = out.to_dict()
    for key in ("statistic", "pvalue", "ci_low", "ci_high", "reps", "enumerated", "weights",
                "seed"):
        assert key in rec
    assert rec["weights"] == "webb" and rec["seed"] == 5 and rec["reps"] == 999
    text = out.summary()
    assert "WCR" in text and "webb" in text and "p-value" in text
    assert "pvalue=" in repr(out)


# ------------------------------------- a confidence set the test at the null disagrees with

def _result(pvalue, conf, null=0.0, estimate=0.27):
    from regrowth.inference.boottest import BoottestResult

    return BoottestResult(param="x", estimate=estimate, null=null, statistic=1.0, pvalue=pvalue,
                          conf_int=conf, reps=9999, enumerated=False, method="score bootstrap",
                          weights="webb", seed=1, level=0.95, ptype="symmetric", n_clusters=16,
                          cluster_factor=1.0, impose_null=True)


def test_a_set_that_excludes_a_null_the_test_does_not_reject_is_not_printed_as_an_interval():
    """Table 1's R&D term once printed [0.132; 0.127, 1.841]: p = 0.132 at b = 0 but 0 outside
    the interval the inversion found around the estimate (the score bootstrap's p-value
    function was not monotone). Such a set is reported as not an interval, with the reason."""
    res = _result(0.1319, (0.1272, 1.8409))
    assert math.isnan(res.conf_int[0]) and math.isnan(res.conf_int[1])
    assert res.ci_note.startswith("not an interval: H0 x = 0 has bootstrap p = 0.132")
    assert res.to_dict()["ci_note"] == res.ci_note
    # rejected yet well inside the interval: the same contradiction the other way round
    assert "not an interval" in _result(0.01, (-0.5, 1.0)).ci_note


def test_a_set_that_agrees_with_the_test_at_the_null_is_kept():
    assert _result(0.0008, (0.003, 0.020)).conf_int == (0.003, 0.020)      # rejected, outside
    assert _result(0.31, (-0.099, 0.015)).conf_int == (-0.099, 0.015)      # not rejected, inside
    # within the margins rounding could decide: left as the inversion found it
    assert _result(0.052, (0.001, 0.5)).conf_int == (0.001, 0.5)
    assert _result(0.2, (1e-9, 0.5)).conf_int == (1e-9, 0.5)
