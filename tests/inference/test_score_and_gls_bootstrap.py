"""boottest after ML count models (score bootstrap) and after GLS (RE, FGLS).

Score bootstrap: checked against a transcription of Kline & Santos (2012) written here
from scratch for Poisson (restricted fit by statsmodels GLM, analytic scores and Hessian,
every sign vector of G = 5 enumerated), and for the properties of its test inversion on
GNB and NB2. Synthetic data, generated here.
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from regrowth.errors import SpecificationError
from regrowth.inference import boottest
from regrowth.models import GeneralizedNegativeBinomial, PanelFGLS
from regrowth.models.linear import fit_panel


def _counts(G=5, per=8, seed=11):
    rng = np.random.default_rng(seed)
    cl = np.repeat([f"c{g}" for g in range(G)], per)
    re = np.repeat(rng.normal(scale=0.3, size=G), per)
    x1, x2 = rng.normal(size=G * per), rng.normal(size=G * per)
    mu = np.exp(1.0 + 0.15 * x1 + 0.3 * x2 + re)
    y = rng.negative_binomial(2.0, 2.0 / (2.0 + mu))
    X = pd.DataFrame({"const": 1.0, "x1": x1, "x2": x2})
    return y.astype(float), X, cl


def test_poisson_score_bootstrap_equals_kline_santos_by_hand():
    y, X, cl = _counts()
    res = sm.Poisson(y, X).fit(disp=0, cov_type="cluster",
                               cov_kwds={"groups": pd.factorize(cl)[0]})
    # restricted fit: x1's coefficient fixed at 0 (GLM with the other regressors)
    Xr = X[["const", "x2"]].to_numpy()
    br = sm.GLM(y, Xr, family=sm.families.Poisson()).fit(tol=1e-12).params
    theta = np.array([br[0], 0.0, br[1]])
    Xa = X.to_numpy()
    mu = np.exp(Xa @ theta)
    s = Xa * (y - mu)[:, None]
    H = -(Xa * mu[:, None]).T @ Xa
    groups = sorted(set(cl))
    Sg = np.array([s[cl == g].sum(axis=0) for g in groups])
    a = -np.linalg.solve(H, Sg.T)[1]
    c = 5 / 4
    t = a.sum() / np.sqrt(c * np.sum(a ** 2))
    tstar = np.array([(a * v).sum() / np.sqrt(c * np.sum((a * v) ** 2))
                      for v in map(np.array, itertools.product([1.0, -1.0], repeat=5))])
    out = boottest(res, "x1", clusters=cl, reps=999, ci=False, score_variance="fixed")
    assert out.enumerated and out.reps == 32
    assert out.statistic == pytest.approx(t, rel=1e-6)
    assert out.pvalue == np.mean(np.abs(tstar) > abs(t) * (1 + 1e-12))
    assert "score bootstrap" in out.method
    # "onestep": each draw's cluster scores re-linearised at its one-step estimate
    Hg = [-(Xa[cl == g] * mu[cl == g][:, None]).T @ Xa[cl == g] for g in groups]
    Hinv = np.linalg.inv(H)
    signs = list(map(np.array, itertools.product([1.0, -1.0], repeat=5)))

    def onestep_t(v):
        step = -Hinv @ (Sg.T @ v)                      # theta* - theta~
        contrib = [(Hinv @ (v[g] * Sg[g] + Hg[g] @ step))[1] for g in range(5)]
        return (a @ v) / np.sqrt(c * np.sum(np.square(contrib)))

    t1 = onestep_t(np.ones(5))
    t1star = np.array([onestep_t(v) for v in signs])
    one = boottest(res, "x1", clusters=cl, reps=999, ci=False)
    assert one.statistic == pytest.approx(t1, rel=1e-6)
    assert one.pvalue == np.mean(np.abs(t1star) > abs(t1) * (1 + 1e-12))
    assert "one-step" in one.method


def _clustered_nb(seed, G, per, sd_effect, beta, shape):
    """G clusters of ``per`` rows: x1, x2 standard normal, a normal cluster effect of sd
    ``sd_effect``, y negative binomial with mean exp(beta0 + beta1 x1 + beta2 x2 + effect)
    and ``shape``. Returns (y, X with const/x1/x2, cluster labels)."""
    rng = np.random.default_rng(seed)
    cl = np.repeat([f"c{g:02d}" for g in range(G)], per)
    x1, x2 = rng.normal(size=G * per), rng.normal(size=G * per)
    re = np.repeat(rng.normal(scale=sd_effect, size=G), per)
    mu = np.exp(beta[0] + beta[1] * x1 + beta[2] * x2 + re)
    y = rng.negative_binomial(shape, shape / (shape + mu)).astype(float)
    return y, pd.DataFrame({"const": 1.0, "x1": x1, "x2": x2}), cl


@pytest.fixture(scope="module")
def gnb_fit():
    y, X, cl = _clustered_nb(5, 16, 6, 0.3, (1.5, 0.2, 0.4), 1.5)
    Z = pd.DataFrame({"const": 1.0, "z": X["x2"]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gnb = GeneralizedNegativeBinomial(y, X, Z, groups=cl).fit(cov_type="cluster")
        nb2 = GeneralizedNegativeBinomial(y, X, groups=cl).fit(cov_type="cluster")
    return gnb, nb2


@pytest.mark.parametrize("which", [0, 1])
def test_gnb_and_nb2_score_bootstrap_inverts_to_its_own_crossings(gnb_fit, which):
    res = gnb_fit[which]
    out = boottest(res, "x1", reps=999, weights="webb", seed=3)
    lo, hi = out.conf_int
    assert lo < out.estimate < hi
    assert out.n_clusters == 16 and out.reps == 999
    eps = 0.02 * (hi - lo)
    for bound, step in ((lo, -1), (hi, 1)):
        p_in = boottest(res, "x1", reps=999, weights="webb", seed=3, ci=False,
                        null=bound - step * eps).pvalue
        p_out = boottest(res, "x1", reps=999, weights="webb", seed=3, ci=False,
                         null=bound + step * eps).pvalue
        assert p_in > 0.05 > p_out
    at_estimate = boottest(res, "x1", reps=999, weights="webb", seed=3, ci=False,
                           null=out.estimate)
    assert abs(at_estimate.statistic) < 1e-5 and at_estimate.pvalue > 0.99


def test_poisson_with_enumerated_draws_inverts_to_its_own_crossings():
    """7 clusters of 7 rows with counts in the thousands (Table 7's shape), all 2^7 sign
    vectors: the confidence set is where the reported p-value is at least 5%, bound for
    bound. Two things broke that: the critical value was the interpolated 95% quantile of
    |t*|, which between two of 128 draws is not where p (steps of 1/128) crosses 5%, and
    it counted the sign vectors v = +-1, whose |t*| is |t| itself: h was then rounding
    noise over a whole stretch of null values and the upper bound fell where the noise
    first came out positive (0.368 here, where p crosses 5% at 0.243). And IRLS (deviance
    within an absolute 1e-13) called restricted fits failed that Newton finishes in a few
    steps."""
    y, X, cl = _clustered_nb(2, 7, 7, 0.4, (7.0, 0.1, 0.3), 5.0)
    res = sm.Poisson(y, X).fit(disp=0, cov_type="cluster",
                               cov_kwds={"groups": pd.factorize(cl)[0]})
    out = boottest(res, "x1", clusters=cl, reps=999)
    lo, hi = out.conf_int
    assert out.enumerated and lo < out.estimate < hi
    assert not [n for n in out.notes if "could not be fitted" in n]
    eps = 0.02 * (hi - lo)
    for bound, step in ((lo, -1), (hi, 1)):
        p_in = boottest(res, "x1", clusters=cl, ci=False, null=bound - step * eps).pvalue
        p_out = boottest(res, "x1", clusters=cl, ci=False, null=bound + step * eps).pvalue
        assert p_in >= 0.05 > p_out


def test_score_bootstrap_rejects_dispersion_parameters_and_nonull(gnb_fit):
    with pytest.raises(SpecificationError, match="dispersion"):
        boottest(gnb_fit[0], "lnalpha:z")
    with pytest.raises(SpecificationError, match="impose_null"):
        boottest(gnb_fit[0], "x1", impose_null=False)


def _growth_panel(G=16, T=12, seed=8):
    rng = np.random.default_rng(seed)
    ent = np.repeat([f"r{i:02d}" for i in range(G)], T)
    year = np.tile(np.arange(2001, 2001 + T), G)
    a = np.repeat(rng.normal(scale=0.5, size=G), T)
    sd = np.repeat(rng.uniform(0.5, 2.0, size=G), T)
    x1, x2 = rng.normal(size=G * T), rng.normal(size=G * T)
    e = np.zeros(G * T)
    for i in range(G * T):
        e[i] = (0.4 * e[i - 1] if i % T else 0.0) + sd[i] * rng.normal()
    y = 1.0 + 0.2 * x1 + 0.5 * x2 + a + e
    return pd.DataFrame({"region": ent, "year": year, "y": y, "x1": x1, "x2": x2}
                        ).set_index(["region", "year"])


def test_re_bootstrap_statistic_is_stata_clustered_re_t():
    df = _growth_panel()
    res = fit_panel("re", "y ~ 1 + x1 + x2", df, cov_type="clustered")
    out = boottest(res, "x1", reps=999, weights="webb", seed=1)
    assert out.statistic == pytest.approx(float(res.tstats["x1"]), rel=1e-9)
    assert "random effects" in out.method and out.conf_int[0] < out.estimate < out.conf_int[1]


def test_fgls_bootstrap_holds_omega_fixed_and_can_reestimate_it():
    df = _growth_panel()
    res = PanelFGLS.from_formula("y ~ 1 + x1 + x2", df, panels="hetero", corr="ar1").fit()
    fixed = boottest(res, "x1", reps=999, weights="webb", seed=2)
    assert fixed.estimate == pytest.approx(float(res.params["x1"]), rel=1e-12)
    assert "Omega" in fixed.method and fixed.n_clusters == 16
    lo, hi = fixed.conf_int
    assert lo < fixed.estimate < hi
    again = boottest(res, "x1", reps=49, weights="webb", seed=2, reestimate=True)
    assert "re-estimated" in again.method and again.reps == 49
    assert np.isnan(again.conf_int[0])
    # a null value far outside the confidence set is rejected
    far = boottest(res, "x1", reps=999, weights="webb", seed=2, null=fixed.estimate + 5 * (
        hi - lo), ci=False)
    assert far.pvalue < 0.01
    with pytest.raises(SpecificationError, match="correlated"):
        corr = PanelFGLS.from_formula("y ~ 1 + x1 + x2", df, panels="correlated",
                                      corr="independent", force=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            boottest(corr.fit(), "x1")


def test_a_bootstrap_without_a_confidence_set_says_why_instead_of_nan_nan():
    df = _growth_panel()
    res = PanelFGLS.from_formula("y ~ 1 + x1 + x2", df, panels="hetero", corr="ar1").fit()
    again = boottest(res, "x1", reps=49, weights="webb", seed=2, reestimate=True)
    assert np.isnan(again.conf_int[0]) and np.isnan(again.conf_int[1])
    assert again.ci_note.startswith("not computed: with Omega and rho re-estimated")
    assert "(nan, nan)" not in repr(again) and "conf_int=None (not computed" in repr(again)
    assert "95% confidence set: not computed: with Omega" in again.summary()
    assert again.to_dict()["ci_note"] == again.ci_note
    assert not any("held fixed" in n for n in again.notes)   # Omega is re-estimated here
    quiet = boottest(res, "x1", reps=49, weights="webb", seed=2, ci=False)
    assert quiet.ci_note == "not computed (ci=False, Stata's noci)"
    fixed = boottest(res, "x1", reps=49, weights="webb", seed=2)
    assert fixed.ci_note == "" and "ci_note" not in fixed.to_dict()


# --------------------------------------------------------------------------- clusters of the fit

def _same_test(a, b):
    assert (a.statistic, a.pvalue, a.n_clusters, a.reps) == (b.statistic, b.pvalue,
                                                             b.n_clusters, b.reps)


@pytest.mark.parametrize("family", ["gnb", "nb2", "poisson", "poisson_formula"])
def test_boottest_after_a_clustered_count_fit_takes_its_clusters(family):
    """As Stata's boottest takes the clusters from ``vce(cluster id)``: a count model fitted
    the statsmodels way, fit(cov_type="cluster", cov_kwds={"groups": ids}), with no groups
    given to the model, is bootstrapped over those clusters -- the same test as passing
    clusters= explicitly -- and the result says where the clusters came from."""
    y, X, cl = _counts()
    kw = {"cov_type": "cluster", "cov_kwds": {"groups": cl}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if family == "gnb":
            res = GeneralizedNegativeBinomial(y, X, X[["const", "x2"]]).fit(**kw)
        elif family == "nb2":
            res = GeneralizedNegativeBinomial(y, X).fit(**kw)
        elif family == "poisson":
            res = sm.Poisson(y, X).fit(disp=0, **kw)
        else:
            d = X.assign(y=y, cl=cl)
            res = sm.Poisson.from_formula("y ~ x1 + x2", d).fit(
                disp=0, cov_type="cluster", cov_kwds={"groups": d["cl"]})
    assert getattr(res.model, "groups", None) is None
    got = boottest(res, "x1", reps=999, seed=1, ci=False)
    _same_test(got, boottest(res, "x1", clusters=cl, reps=999, seed=1, ci=False))
    assert got.n_clusters == 5 and got.enumerated
    assert any("clustered fit" in n for n in got.notes)


def test_the_fits_clusters_win_over_the_models_groups():
    """A GNB model built with province-like groups but fitted clustered by coarser ids (a
    regressor that varies at that level): boottest uses the fit's clusters, not the model's."""
    y, X, cl = _counts(G=6)
    coarse = np.array([{"c0": "a", "c1": "a", "c2": "b", "c3": "b", "c4": "c", "c5": "c"}[c]
                       for c in cl])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = GeneralizedNegativeBinomial(y, X, groups=cl).fit(
            cov_type="cluster", cov_kwds={"groups": coarse})
    got = boottest(res, "x1", reps=999, seed=1, ci=False)
    assert got.n_clusters == 3
    _same_test(got, boottest(res, "x1", clusters=coarse, reps=999, seed=1, ci=False))
    # and an explicit clusters= still overrides both
    assert boottest(res, "x1", clusters=cl, reps=999, seed=1, ci=False).n_clusters == 6


def test_an_unclustered_count_fit_without_groups_still_asks_for_clusters():
    y, X, _ = _counts()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = sm.Poisson(y, X).fit(disp=0)
        gnb = GeneralizedNegativeBinomial(y, X).fit()
    for r in (res, gnb):
        with pytest.raises(SpecificationError, match="carries no cluster variable"):
            boottest(r, "x1", reps=99, seed=1, ci=False)
