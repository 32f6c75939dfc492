"""Tests of regrowth.models.GeneralizedNegativeBinomial (Stata's gnbreg).

References (stored numbers; no Stata or R at test time):
* Stata ``nbreg`` on randhie and on ships (oim, robust, cluster, exposure), copied from
  statsmodels' own test suite: tests/fixtures/gnb/stata_reference.py.
* R glmmTMB (nbinom2 + dispformula), VGAM (negbinomial(zero = NULL)) and MASS::glm.nb:
  tests/fixtures/gnb/make_gnb_fixtures.R -> r_reference.json.

Which R optimum is tighter: glmmTMB, after the fixture script's Newton polish on TMB's own AD
gradient (max |gradient| <= 1e-10), agrees with us to ~1e-13 in params and OIM SEs; VGAM stops
at its own criterion with our max |score| about 3.5e-6 at its estimates on quine (params off by
up to ~4e-6 relative), so VGAM is compared at rtol 1e-5 and glmmTMB at 1e-6 (see
test_r_tighter_optimum, which recomputes the gradients).
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats
from statsmodels.tools.numdiff import approx_fprime, approx_hess

from regrowth.errors import (BoundaryWarning, ConvergenceWarning, DataError, EstimationError,
                             MissingValuesWarning, SpecificationError)
from regrowth.models import GeneralizedNegativeBinomial

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "gnb"
_spec = importlib.util.spec_from_file_location("gnb_fixtures", FIX / "gnb_fixtures.py")
F = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(F)

QUINE_F = "Days ~ C(Eth) + C(Sex) + C(Age) + C(Lrn)"
RANDHIE_Z = ["lncoins", "idp", "physlm", "disea"]


def _fit(model, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        warnings.simplefilter("error", BoundaryWarning)
        return model.fit(**kw)


@pytest.fixture(scope="module")
def randhie():
    return F.randhie()


@pytest.fixture(scope="module")
def randhie_nb2(randhie):
    y, X = randhie
    return _fit(GeneralizedNegativeBinomial(y, X))


@pytest.fixture(scope="module")
def randhie_het(randhie):
    y, X = randhie
    Xr = X[["const"] + [c for c in X.columns if c != "const"]]  # R's column order
    Z = X[["const"] + RANDHIE_Z]
    return _fit(GeneralizedNegativeBinomial(y, Xr, exog_disp=Z))


@pytest.fixture(scope="module")
def quine_het():
    return _fit(GeneralizedNegativeBinomial.from_formula(QUINE_F, F.quine(),
                                                         disp_formula="~ C(Eth) + C(Sex)"))


@pytest.fixture(scope="module")
def quine_nb2():
    return _fit(GeneralizedNegativeBinomial.from_formula(QUINE_F, F.quine()))


# ----------------------------------------------------------------------------- Stata

class TestStataRandhieNB2:
    """Stata nbreg mdvis lncoins idp lpi fmde physlm disea hlthg hlthf hlthp (statsmodels setup)."""

    ref = F.stata().RANDHIE_NB2

    def test_llf(self, randhie_nb2):
        np.testing.assert_allclose(randhie_nb2.llf, self.ref["llf_stata"], rtol=1e-10)
        np.testing.assert_allclose(randhie_nb2.aic, self.ref["aic_stata"], rtol=1e-10)
        np.testing.assert_allclose(randhie_nb2.bic, self.ref["bic_stata"], rtol=1e-10)
        np.testing.assert_allclose(randhie_nb2.llnull, self.ref["llnull_stata"], rtol=1e-10)
        assert randhie_nb2.nobs == self.ref["nobs"]
        assert randhie_nb2.converged

    def test_params(self, randhie_nb2):
        p = randhie_nb2.params
        # mean equation from R glm.nb (printed to ~15 digits but converged to its own tolerance)
        np.testing.assert_allclose(p.iloc[:-1], self.ref["params_R_glmnb"], rtol=1e-6)
        np.testing.assert_allclose(p["lnalpha:Intercept"], self.ref["lnalpha_stata"], rtol=1e-7)
        np.testing.assert_allclose(np.exp(p["lnalpha:Intercept"]), self.ref["alpha_stata"], rtol=1e-7)

    def test_oim_se_and_conf_int(self, randhie_nb2):
        ci = randhie_nb2.conf_int().to_numpy()
        ref = np.array(self.ref["conf_int_stata"])
        # Stata prints the CI bounds to 7 significant digits: half a unit in the last place
        np.testing.assert_allclose(ci[:-1], ref[:-1], atol=5e-7 * np.abs(ref[:-1]).max())
        np.testing.assert_allclose(np.exp(ci[-1]), ref[-1], rtol=5e-7)
        np.testing.assert_allclose(randhie_nb2.bse["lnalpha:Intercept"], self.ref["lnalpha_se_stata"],
                                   atol=5e-8)

    def test_param_names(self, randhie_nb2):
        assert list(randhie_nb2.params.index[-2:]) == ["const", "lnalpha:Intercept"]
        assert isinstance(randhie_nb2.params, pd.Series)
        assert isinstance(randhie_nb2.bse, pd.Series)


SHIPS_CASES = ["exposure_nonrobust", "hc1", "clu", "exposure_clu"]


@pytest.mark.parametrize("case", SHIPS_CASES)
def test_stata_ships_covariances(case):
    """nbreg accident yr_con op_75_79 [, exposure(service)] vce(oim|robust|cluster ship)."""
    ref = F.stata().SHIPS_NB2[case]
    d = F.ships()
    X = d[["yr_con", "op_75_79"]].assign(const=1.0)
    kw = {"exposure": d["service"]} if "exposure" in case else {}
    cov_type = {"oim": "oim", "robust": "robust", "cluster": "cluster"}[ref["vce"]]
    cov_kwds = {"groups": d["ship"].to_numpy()} if cov_type == "cluster" else None
    res = _fit(GeneralizedNegativeBinomial(d["accident"], X, **kw), cov_type=cov_type,
               cov_kwds=cov_kwds)
    assert res.nobs == ref["N"]
    np.testing.assert_allclose(res.llf, ref["ll"], rtol=1e-10)
    # Stata stops at its default tolerances: params agree to ~6e-7 relative
    np.testing.assert_allclose(res.params, ref["params"], rtol=2e-6)
    np.testing.assert_allclose(res.bse, ref["bse"], rtol=1e-6)
    np.testing.assert_allclose(res.cov_params().to_numpy(), np.reshape(ref["cov"], (4, 4)),
                               rtol=1e-6, atol=1e-12)
    if cov_type == "cluster":
        assert res.cov_kwds["n_groups"] == ref["N_clust"]


def test_stata_scaling_factors():
    """robust = N/(N-1) * HC0; cluster = G/(G-1) * uncorrected cluster sandwich."""
    d = F.ships()
    X = d[["yr_con", "op_75_79"]].assign(const=1.0)
    mod = GeneralizedNegativeBinomial(d["accident"], X, groups=d["ship"])
    res = _fit(mod)
    n = res.nobs
    hc0 = res.get_robustcov("HC0").cov_params().to_numpy()
    rob = res.get_robustcov("robust").cov_params().to_numpy()
    np.testing.assert_allclose(rob, hc0 * n / (n - 1), rtol=1e-12)
    np.testing.assert_allclose(res.get_robustcov("HC1").cov_params(), rob, rtol=1e-12)
    clu = res.get_robustcov("cluster").cov_params().to_numpy()
    clu0 = res.get_robustcov("cluster", {"use_correction": False}).cov_params().to_numpy()
    np.testing.assert_allclose(clu, clu0 * 5 / 4, rtol=1e-12)
    # independent computation of the uncorrected cluster sandwich
    S = mod.score_obs(res.params.to_numpy())
    Sg = pd.DataFrame(S).groupby(d["ship"].to_numpy()).sum().to_numpy()
    Hinv = np.linalg.inv(mod.hessian(res.params.to_numpy()))
    np.testing.assert_allclose(clu0, Hinv @ Sg.T @ Sg @ Hinv, rtol=1e-10)
    # the same through fit(cov_type=...) with groups taken from the model
    np.testing.assert_allclose(mod.fit(cov_type="cluster").bse, np.sqrt(np.diag(clu)), rtol=1e-12)


# ----------------------------------------------------------------------------- R

def _tmb_params(t):
    return np.r_[t["cond"], t["lnalpha"]], np.r_[t["se_cond"], t["se_lnalpha"]]


@pytest.mark.parametrize("case", ["quine_het", "quine_nb2", "randhie_het"])
def test_r_glmmtmb(case, request):
    res = request.getfixturevalue(case)
    t = F.r_reference()[case]["glmmTMB"]
    assert t["max_abs_gradient"] < 1e-8
    p, se = _tmb_params(t)
    np.testing.assert_allclose(res.params.to_numpy(), p, rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(res.bse.to_numpy(), se, rtol=1e-6)
    np.testing.assert_allclose(res.llf, t["llf"], rtol=1e-10)
    assert np.atleast_1d(t["disp_names"]).size == res.model.k_disp  # JSON unboxes length 1


def _vgam_params(v, res):
    """VGAM coefficients in our order; size (log 1/alpha) coefficients negated."""
    cf = dict(zip(v["coef_names"], v["coef"]))

    def rname(name):
        if name in ("const", "Intercept"):  # ours -> R's name of the constant
            return "(Intercept)"
        if name.startswith("C("):  # C(Eth)[T.N] -> EthN
            var = name[2:name.index(")")]
            return var + name[name.index("[T.") + 3:-1]
        return name

    out = []
    for name in res.model.exog_names:
        if name.startswith("lnalpha:"):
            rn = rname(name[len("lnalpha:"):])
            out.append(-cf[rn + ":2"])
        else:
            rn = rname(name)
            out.append(cf[rn + ":1"] if rn + ":1" in cf else cf[rn])
    return np.array(out)


@pytest.mark.parametrize("case", ["quine_het", "randhie_het"])
def test_r_vgam(case, request):
    res = request.getfixturevalue(case)
    v = F.r_reference()[case]["VGAM"]
    # VGAM stops at its own (looser) criterion: see module docstring
    np.testing.assert_allclose(res.params.to_numpy(), _vgam_params(v, res), rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(res.llf, v["llf"], rtol=1e-10)


def test_r_mass_glmnb(quine_nb2):
    m = F.r_reference()["quine_nb2"]["MASS"]
    np.testing.assert_allclose(quine_nb2.params.to_numpy()[:-1], m["coef"], rtol=1e-6)
    np.testing.assert_allclose(quine_nb2.params["lnalpha:Intercept"], m["lnalpha"], rtol=1e-6)
    np.testing.assert_allclose(quine_nb2.llf, m["llf"], rtol=1e-10)


@pytest.mark.parametrize("case", ["quine_het", "randhie_het"])
def test_r_tighter_optimum(case, request):
    """glmmTMB (polished) is the tighter optimum; VGAM's gradient is larger but small."""
    res = request.getfixturevalue(case)
    mod = res.model
    ref = F.r_reference()[case]
    g_tmb = np.abs(mod.score(_tmb_params(ref["glmmTMB"])[0])).max()
    g_vgam = np.abs(mod.score(_vgam_params(ref["VGAM"], res))).max()
    assert g_tmb < 1e-8
    assert g_vgam < 1e-3
    assert g_tmb <= g_vgam
    assert res.mle_retvals["gradient_max"] < 1e-6
    # neither reference has a higher log likelihood than ours
    assert mod.loglike(_tmb_params(ref["glmmTMB"])[0]) <= res.llf + 1e-9
    assert mod.loglike(_vgam_params(ref["VGAM"], res)) <= res.llf + 1e-9


@pytest.mark.needs_r
def test_r_fixture_script_reproduces(tmp_path):
    """Rerun make_gnb_fixtures.R into a temporary folder and compare with the stored JSON."""
    if shutil.which("Rscript") is None:
        pytest.skip("Rscript not on PATH")
    import statsmodels

    rh = Path(statsmodels.__file__).parent / "datasets" / "randhie" / "randhie.csv"
    subprocess.run(["Rscript", str(FIX / "make_gnb_fixtures.R"), str(rh),
                    statsmodels.__version__, str(tmp_path)], check=True, capture_output=True)
    new = json.loads((tmp_path / "r_reference.json").read_text())
    old = F.r_reference()
    for case in old:
        a, b = _tmb_params(new[case]["glmmTMB"]), _tmb_params(old[case]["glmmTMB"])
        np.testing.assert_allclose(a[0], b[0], rtol=1e-8)
        np.testing.assert_allclose(a[1], b[1], rtol=1e-8)


# ----------------------------------------------------------------------------- equivalences

def test_constant_dispersion_equals_statsmodels_nb2(randhie, randhie_nb2):
    y, X = randhie
    sm_res = sm.NegativeBinomial(y, X, loglike_method="nb2").fit(
        method="newton", disp=0, tol=1e-14, maxiter=200)
    ours = randhie_nb2
    np.testing.assert_allclose(ours.params.to_numpy()[:-1], sm_res.params.to_numpy()[:-1],
                               rtol=1e-8)
    alpha = np.exp(ours.params["lnalpha:Intercept"])
    np.testing.assert_allclose(alpha, sm_res.params["alpha"], rtol=1e-8)
    np.testing.assert_allclose(ours.llf, sm_res.llf, rtol=1e-12)
    np.testing.assert_allclose(ours.bse.to_numpy()[:-1], sm_res.bse.to_numpy()[:-1], rtol=1e-8)
    # delta method: se(alpha) = alpha * se(ln alpha)
    np.testing.assert_allclose(alpha * ours.bse["lnalpha:Intercept"], sm_res.bse["alpha"], rtol=1e-8)
    np.testing.assert_allclose(ours.model.loglikeobs(ours.params.to_numpy()),
                               sm_res.model.loglikeobs(sm_res.params.to_numpy()), rtol=1e-9)


def test_loglikeobs_sum_is_llf(quine_het, randhie_het):
    for res in (quine_het, randhie_het):
        p = res.params.to_numpy()
        np.testing.assert_allclose(res.model.loglikeobs(p).sum(), res.llf, rtol=1e-13)
        np.testing.assert_allclose(res.model.loglike(p), res.llf, rtol=1e-13)
        s_obs = res.model.score_obs(p)
        assert s_obs.shape == (res.nobs, len(p))
        # the per-observation scores add up to the score, which is zero at the maximum
        np.testing.assert_allclose(s_obs.sum(axis=0), res.model.score(p), rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(s_obs.sum(axis=0), 0.0, atol=1e-6)


@pytest.mark.parametrize("shift", [0.0, 0.3])
def test_score_hessian_numerical(quine_het, shift):
    mod = quine_het.model
    p = quine_het.params.to_numpy() + shift * np.linspace(-1, 1, len(quine_het.params))
    num_g = approx_fprime(p, mod.loglike, centered=True)
    np.testing.assert_allclose(mod.score(p), num_g, rtol=1e-6, atol=1e-5)
    np.testing.assert_allclose(mod.score_obs(p).sum(0), mod.score(p), rtol=1e-12, atol=1e-10)
    num_h = approx_fprime(p, mod.score, centered=True)
    np.testing.assert_allclose(mod.hessian(p), num_h, rtol=1e-6, atol=1e-4)
    num_h2 = approx_hess(p, mod.loglike)
    np.testing.assert_allclose(mod.hessian(p), num_h2, rtol=1e-4, atol=1e-2)


def test_exposure_equals_log_offset():
    d = F.ships()
    X = d[["yr_con", "op_75_79"]].assign(const=1.0)
    Z = d[["op_75_79"]].assign(const=1.0)
    a = _fit(GeneralizedNegativeBinomial(d["accident"], X, exog_disp=Z, exposure=d["service"]))
    b = _fit(GeneralizedNegativeBinomial(d["accident"], X, exog_disp=Z,
                                         offset=np.log(d["service"])))
    np.testing.assert_allclose(a.params, b.params, rtol=1e-12)
    np.testing.assert_allclose(a.bse, b.bse, rtol=1e-10)
    assert a.llf == pytest.approx(b.llf, rel=1e-14)
    # offset + exposure add up
    c = _fit(GeneralizedNegativeBinomial(d["accident"], X, exog_disp=Z,
                                         offset=np.log(d["service"]) - 1.0, exposure=np.e * np.ones(len(d))))
    np.testing.assert_allclose(a.params, c.params, rtol=1e-10)


def test_from_formula_matches_arrays(quine_het):
    q = F.quine()
    X = pd.get_dummies(q[["Eth", "Sex", "Age", "Lrn"]], drop_first=True, dtype=float)
    X.insert(0, "const", 1.0)
    Z = X[["const", "Eth_N", "Sex_M"]]
    res = _fit(GeneralizedNegativeBinomial(q["Days"], X, exog_disp=Z))
    np.testing.assert_allclose(res.params.to_numpy(), quine_het.params.to_numpy(), rtol=1e-12)
    assert list(res.params.index[-3:]) == ["lnalpha:const", "lnalpha:Eth_N", "lnalpha:Sex_M"]


# ----------------------------------------------------------------------------- solver

def test_converges_from_bad_start(randhie_het, quine_het):
    """Far from the optimum the Hessian is indefinite; the safeguarded Newton still gets there."""
    for res in (randhie_het, quine_het):
        mod = res.model
        start = np.zeros(len(res.params))
        start[mod.k_mean] = 3.0  # alpha = 20 and a flat mean
        H0 = mod.hessian(start)
        again = _fit(mod, start_params=start)
        assert again.converged
        np.testing.assert_allclose(again.params, res.params, rtol=1e-7, atol=1e-9)
        assert again.mle_retvals["hessian_negative_definite"]
        assert H0.shape == (len(start), len(start))
        np.testing.assert_allclose(H0, H0.T, rtol=1e-12, atol=1e-12)   # a Hessian is symmetric
    # a start where the Hessian is indeed indefinite
    mod = quine_het.model
    start = quine_het.params.to_numpy().copy()
    start[mod.k_mean:] = [-4.0, 3.0, -3.0]
    assert np.linalg.eigvalsh(-mod.hessian(start)).min() < 0
    again = _fit(mod, start_params=start)
    np.testing.assert_allclose(again.params, quine_het.params, rtol=1e-7, atol=1e-9)


def test_convergence_diagnostics(randhie_het):
    info = randhie_het.mle_retvals
    assert info["converged"] and randhie_het.converged
    assert info["hessian_negative_definite"]
    assert info["decrement"] < 1e-12


def test_poisson_boundary_flagged():
    rng = np.random.default_rng(20261121)
    n = 600
    x = rng.normal(size=n)
    y = rng.binomial(12, 0.25 / (1 + np.exp(-0.3 * x)) + 0.1)  # underdispersed
    X = np.c_[np.ones(n), x]
    with pytest.warns(BoundaryWarning, match="Poisson boundary"):
        res = GeneralizedNegativeBinomial(y, X).fit()
    assert not res.converged
    assert res.mle_retvals["boundary"]
    with pytest.warns(BoundaryWarning):
        res = GeneralizedNegativeBinomial(y, X, exog_disp=np.c_[np.ones(n), x]).fit()
    assert not res.converged


def test_separation_flagged():
    rng = np.random.default_rng(7)
    n = 400
    x = rng.normal(size=n)
    d = (rng.random(n) < 0.15).astype(float)
    y = rng.negative_binomial(2, 2 / (2 + np.exp(0.5 + 0.3 * x)))
    y[d == 1] = 0
    with pytest.warns(ConvergenceWarning, match="diverging"):
        res = GeneralizedNegativeBinomial(y, np.c_[np.ones(n), x, d]).fit()
    assert not res.converged


def test_iteration_limit_flagged(quine_het):
    with pytest.warns(ConvergenceWarning, match="iteration limit"):
        res = quine_het.model.fit(maxiter=1)
    assert not res.converged


# ----------------------------------------------------------------------------- data handling

def test_rank_deficient_names_columns():
    q = F.quine()
    X = pd.get_dummies(q[["Eth", "Sex"]], drop_first=True, dtype=float)
    X.insert(0, "const", 1.0)
    X["Eth_copy"] = 2 * X["Eth_N"]
    with pytest.raises(EstimationError, match="Eth_copy|Eth_N"):
        GeneralizedNegativeBinomial(q["Days"], X)
    Z = pd.DataFrame({"const": 1.0, "a": X["Sex_M"], "b": 1 - X["Sex_M"]})
    with pytest.raises(EstimationError, match=r"exog_disp.*\['(a|b|const)'\]"):
        GeneralizedNegativeBinomial(q["Days"], X.drop(columns="Eth_copy"), exog_disp=Z)


def test_missing_values_dropped_consistently():
    d = F.ships()
    X = d[["yr_con", "op_75_79"]].assign(const=1.0)
    Z = d[["op_75_79"]].assign(const=1.0)
    y = d["accident"].astype(float).copy()
    off = np.log(d["service"].to_numpy())
    groups = d["ship"].astype(float).to_numpy()
    y.iloc[0] = np.nan
    Xm = X.copy()
    Xm.iloc[3, 0] = np.nan
    Zm = Z.copy()
    Zm.iloc[5, 0] = np.nan
    offm = off.copy()
    offm[7] = np.nan
    gm = groups.copy()
    gm[9] = np.nan
    with pytest.warns(MissingValuesWarning, match="5 of 34"):
        mod = GeneralizedNegativeBinomial(y, Xm, exog_disp=Zm, offset=offm, groups=gm)
    assert mod.n_missing == 5
    keep = np.ones(len(d), bool)
    keep[[0, 3, 5, 7, 9]] = False
    ref = _fit(GeneralizedNegativeBinomial(y[keep], X[keep], exog_disp=Z[keep], offset=off[keep]),
               cov_type="cluster", cov_kwds={"groups": groups[keep]})
    res = _fit(mod, cov_type="cluster")
    assert res.nobs == 29
    np.testing.assert_allclose(res.params, ref.params, rtol=1e-12)
    np.testing.assert_allclose(res.bse, ref.bse, rtol=1e-10)
    # full-length groups passed at fit time are subset with the same rows
    res2 = _fit(mod, cov_type="cluster", cov_kwds={"groups": np.nan_to_num(gm, nan=99)})
    np.testing.assert_allclose(res2.bse, ref.bse, rtol=1e-10)


def test_from_formula_missing_and_offset():
    d = F.ships()
    d.loc[2, "yr_con"] = np.nan
    with pytest.warns(MissingValuesWarning):
        mod = GeneralizedNegativeBinomial.from_formula(
            "accident ~ yr_con + op_75_79", d, disp_formula="~ op_75_79",
            exposure="service", groups="ship")
    assert mod.n_missing == 1 and mod.endog.shape[0] == 33
    res = _fit(mod, cov_type="cluster")
    assert list(res.params.index) == ["Intercept", "yr_con", "op_75_79", "lnalpha:Intercept",
                                      "lnalpha:op_75_79"]
    assert res.nobs == 33


# ----------------------------------------------------------------------------- results API

def test_results_api(quine_het):
    res = quine_het
    s = str(res.summary())
    assert "lnalpha:Intercept" in s and "converged: True" in s
    assert res.pvalues.index.equals(res.params.index)
    z = res.params / res.bse
    np.testing.assert_allclose(res.pvalues, 2 * stats.norm.sf(np.abs(z)), rtol=1e-10)
    ci = res.conf_int()
    np.testing.assert_allclose(ci.iloc[:, 0], res.params - stats.norm.ppf(0.975) * res.bse)
    k = len(res.params)
    assert res.aic == pytest.approx(-2 * res.llf + 2 * k)
    assert res.bic == pytest.approx(-2 * res.llf + np.log(res.nobs) * k)
    assert res.cov_type == "nonrobust"
    pred = res.model.predict(res.params.to_numpy())
    eta = np.asarray(res.model.exog, dtype=float) @ res.params.to_numpy()[:res.model.k_mean]
    if res.model.offset is not None:
        eta = eta + np.asarray(res.model.offset, dtype=float)
    np.testing.assert_allclose(pred, np.exp(eta), rtol=1e-12)     # mu = exp(x'b + offset)
    v = res.model.predict(res.params.to_numpy(), which="var")
    a = res.model.predict(res.params.to_numpy(), which="alpha")
    np.testing.assert_allclose(v, pred * (1 + a * pred))


def test_irr(quine_het):
    irr = quine_het.irr()
    k = quine_het.model.k_mean
    b = quine_het.params.iloc[:k]
    np.testing.assert_allclose(irr["IRR"], np.exp(b))
    ci = quine_het.conf_int().iloc[:k]
    np.testing.assert_allclose(irr.iloc[:, -2], np.exp(ci.iloc[:, 0]))
    np.testing.assert_allclose(irr.iloc[:, -1], np.exp(ci.iloc[:, 1]))
    np.testing.assert_allclose(irr["std err"], np.exp(b) * quine_het.bse.iloc[:k])


def test_marginal_effects_match_numerical(randhie_het):
    res = randhie_het
    mod = res.model
    p = res.params.to_numpy()
    k = mod.k_mean
    me = res.marginal_effects()
    assert "const" not in me.index and len(me) == k - 1
    X = mod.exog.copy()

    def ame(params, j):
        h = 1e-6
        Xp, Xm = X.copy(), X.copy()
        Xp[:, j] += h
        Xm[:, j] -= h
        return (np.mean(np.exp(Xp @ params[:k] + mod.offset))
                - np.mean(np.exp(Xm @ params[:k] + mod.offset))) / (2 * h)

    cov = res.cov_params().to_numpy()
    for name in ["lncoins", "idp", "disea"]:
        j = mod.exog_names.index(name)
        np.testing.assert_allclose(me.loc[name, "dy/dx"], ame(p, j), rtol=1e-6)
        grad = approx_fprime(p, lambda q: ame(q, j), epsilon=1e-5, centered=True)
        np.testing.assert_allclose(me.loc[name, "std err"], np.sqrt(grad @ cov @ grad), rtol=1e-4)
    # discrete change for a 0/1 column
    med = res.marginal_effects(dummy=True)
    j = mod.exog_names.index("idp")
    X1, X0 = X.copy(), X.copy()
    X1[:, j], X0[:, j] = 1, 0
    dc = np.mean(np.exp(X1 @ p[:k]) - np.exp(X0 @ p[:k]))
    np.testing.assert_allclose(med.loc["idp", "dy/dx"], dc, rtol=1e-12)


def test_lr_tests(randhie_het, randhie, randhie_nb2):
    y, X = randhie
    lr = randhie_het.lr_test_nb2()
    assert lr.df == 4
    np.testing.assert_allclose(lr.statistic, 2 * (randhie_het.llf - randhie_nb2.llf), rtol=1e-9)
    np.testing.assert_allclose(lr.pvalue, stats.chi2.sf(lr.statistic, 4))
    pois = sm.Poisson(y, X).fit(method="newton", disp=0, tol=1e-14)
    lp = randhie_nb2.lr_test_poisson()
    np.testing.assert_allclose(lp.llf_restricted, pois.llf, rtol=1e-12)
    np.testing.assert_allclose(lp.statistic, 2 * (randhie_nb2.llf - pois.llf), rtol=1e-12)
    assert lp.df == 1 and "chibar2" in lp.distribution
    # small-statistic case where the boundary halving is visible
    d = F.ships()
    res = _fit(GeneralizedNegativeBinomial(d["accident"], d[["yr_con", "op_75_79"]].assign(const=1.0),
                                           exposure=d["service"]))
    lp = res.lr_test_poisson()
    np.testing.assert_allclose(lp.pvalue, 0.5 * stats.chi2.sf(lp.statistic, 1))
    lph = randhie_het.lr_test_poisson()
    assert lph.df == 5
    np.testing.assert_allclose(lph.pvalue, 0.5 * stats.chi2.sf(lph.statistic, 4)
                               + 0.5 * stats.chi2.sf(lph.statistic, 5))
    with pytest.raises(EstimationError):
        randhie_nb2.lr_test_nb2()


def test_marginal_effects_factor_levels(quine_het):
    """Discrete change of a factor level is relative to the base level (others set to 0)."""
    res = quine_het
    mod = res.model
    k = mod.k_mean
    b = res.params.to_numpy()[:k]
    names = mod.exog_names[:k]
    X = mod.exog.copy()
    cols = [names.index(f"C(Age)[T.F{i}]") for i in (1, 2, 3)]
    X1, X0 = X.copy(), X.copy()
    X1[:, cols] = 0
    X0[:, cols] = 0
    X1[:, cols[1]] = 1
    expected = np.mean(np.exp(X1 @ b) - np.exp(X0 @ b))
    me = res.marginal_effects(dummy=True)
    np.testing.assert_allclose(me.loc["C(Age)[T.F2]", "dy/dx"], expected, rtol=1e-12)


@pytest.mark.parametrize("lnalpha", [0.5, -6.0, -13.0, -18.0])
def test_count_sum_path_matches_scipy_path(lnalpha):
    """Integer counts use exact prefix sums; compare with scipy.special (non-integer path),
    including the asymptotic branch (r = 1/alpha > 1e5) and counts above 100 (tail terms)."""
    rng = np.random.default_rng(3)
    n = 400
    x = rng.normal(size=n)
    y = rng.poisson(np.exp(2.0 + 1.5 * x)).astype(float)  # counts up to several hundred
    assert y.max() > 150
    X = np.c_[np.ones(n), x]
    Z = np.c_[np.ones(n), rng.normal(size=n)]
    fast = GeneralizedNegativeBinomial(y, X, exog_disp=Z)
    slow = GeneralizedNegativeBinomial(y, X, exog_disp=Z)
    slow._int_counts = False
    slow._pos = np.flatnonzero(y > 0)
    p = np.array([2.0, 1.5, lnalpha, 0.3])
    np.testing.assert_allclose(fast.loglikeobs(p), slow.loglikeobs(p), rtol=1e-10, atol=1e-9)
    np.testing.assert_allclose(fast.score(p), slow.score(p), rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(fast.hessian(p), slow.hessian(p), rtol=1e-8, atol=1e-8)
    # analytic derivatives agree with numerical ones on both paths
    np.testing.assert_allclose(fast.score(p), approx_fprime(p, fast.loglike, centered=True),
                               rtol=1e-5, atol=1e-4)


def test_noninteger_counts_allowed():
    rng = np.random.default_rng(5)
    n = 300
    x = rng.normal(size=n)
    y = rng.negative_binomial(2, 2 / (2 + np.exp(1 + 0.5 * x))) + 0.5
    res = _fit(GeneralizedNegativeBinomial(y, np.c_[np.ones(n), x]))
    assert res.converged
    np.testing.assert_allclose(res.model.score(res.params.to_numpy()), 0, atol=1e-6)


# ----------------------------------------------------------------------------- formulas, predict

def _quine_design(frame):
    """The quine design built by hand (pandas dummies, the fit's base levels)."""
    levels = {"Eth": ["A", "N"], "Sex": ["F", "M"], "Age": ["F0", "F1", "F2", "F3"],
              "Lrn": ["AL", "SL"]}
    cols = {"Intercept": np.ones(len(frame))}
    for var, lev in levels.items():
        for level in lev[1:]:
            cols[f"C({var})[T.{level}]"] = (frame[var] == level).astype(float).to_numpy()
    return pd.DataFrame(cols, index=frame.index)


def test_from_formula_keeps_data_and_design(quine_het):
    mod = quine_het.model
    assert mod.formula.startswith("Days ~") and mod.disp_formula == "~ C(Eth) + C(Sex)"
    assert mod.data.frame.shape == F.quine().shape
    assert mod.data.model_spec is not None and mod.disp_model_spec is not None
    assert mod.exog_names[0] == "Intercept" and "lnalpha:Intercept" in mod.exog_names


def test_predict_new_dataframe_through_both_formulas(quine_het):
    """New rows (reordered, one with a missing factor) go through the mean and the dispersion
    formula; the result equals exp(x'b) and exp(z'g) computed from a hand-built design."""
    res = quine_het
    q = F.quine()
    new = q.iloc[[140, 3, 77, 20]].copy()
    new.loc[new.index[2], "Sex"] = None
    X = _quine_design(new)
    b = res.params.iloc[:res.model.k_mean].to_numpy()
    g = res.params.iloc[res.model.k_mean:].to_numpy()
    Z = X[["Intercept", "C(Eth)[T.N]", "C(Sex)[T.M]"]].to_numpy()
    mu, alpha = np.exp(X.to_numpy() @ b), np.exp(Z @ g)
    ok = [0, 1, 3]
    out = res.predict(new)
    assert out.index.equals(new.index) and np.isnan(out.iloc[2])
    np.testing.assert_allclose(out.iloc[ok], mu[ok], rtol=1e-12)
    np.testing.assert_allclose(res.predict(new, which="alpha").iloc[ok], alpha[ok], rtol=1e-12)
    np.testing.assert_allclose(res.predict(new, which="linear").iloc[ok], np.log(mu[ok]),
                               rtol=1e-12)
    np.testing.assert_allclose(res.predict(new, which="var").iloc[ok],
                               mu[ok] * (1 + alpha[ok] * mu[ok]), rtol=1e-12)
    # in sample: a Series on the estimation rows, equal to predicting the data again
    np.testing.assert_allclose(res.predict(), res.predict(q), rtol=1e-13)
    with pytest.raises(ValueError, match="which="):
        res.predict(which="median")


def test_predict_reads_exposure_column_and_array_input():
    d = F.ships()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingValuesWarning)
        mod = GeneralizedNegativeBinomial.from_formula(
            "accident ~ yr_con + op_75_79", d, disp_formula="~ op_75_79", exposure="service")
    res = _fit(mod)
    new = d.iloc[[0, 10, 20]]
    b = res.params.to_numpy()
    eta = b[0] + b[1] * new["yr_con"] + b[2] * new["op_75_79"] + np.log(new["service"])
    np.testing.assert_allclose(res.predict(new), np.exp(eta), rtol=1e-12)
    X = np.c_[np.ones(3), new[["yr_con", "op_75_79"]].to_numpy()]
    with pytest.raises(SpecificationError, match="pass exog_disp"):
        res.predict(X)
    Z = np.c_[np.ones(3), new["op_75_79"].to_numpy()]
    np.testing.assert_allclose(res.predict(X, Z, exposure=new["service"].to_numpy()),
                               np.exp(eta), rtol=1e-12)


def _panel_frame():
    """Synthetic panel (for tests only): 8 regions x 10 years, a (region, year) MultiIndex as
    regrowth.panel.load() returns, NB2 counts from a fixed seed, three missing values."""
    rng = np.random.default_rng(20261122)
    regions = [f"r{i}" for i in range(8)]
    idx = pd.MultiIndex.from_product([regions, range(2010, 2020)], names=["region", "year"])
    x = rng.normal(size=len(idx))
    z = rng.normal(size=len(idx))
    mu = np.exp(1.0 + 0.5 * x)
    y = rng.negative_binomial(2.0, 2.0 / (2.0 + mu)).astype(float)
    df = pd.DataFrame({"y": y, "x": x, "z": z, "kind": np.where(z > 0, "a", "b")}, index=idx)
    df.iloc[[3, 17, 50], 1] = np.nan
    df.iloc[61, 0] = np.nan
    return df


@pytest.mark.parametrize("how", ["index level", "column", "full Series", "full array"])
def test_groups_aligned_after_missing_rows_dropped(how):
    df = _panel_frame()
    keep = df[["y", "x"]].notna().all(axis=1).to_numpy()
    ref = _fit(GeneralizedNegativeBinomial.from_formula("y ~ x", df[keep]),
               cov_type="cluster",
               cov_kwds={"groups": df[keep].index.get_level_values("region").to_numpy()})
    groups = {"index level": "region",
              "column": "region_col",
              "full Series": pd.Series(df.index.get_level_values("region"), index=df.index),
              "full array": df.index.get_level_values("region").to_numpy()}[how]
    data = df.assign(region_col=df.index.get_level_values("region")) if how == "column" else df
    with pytest.warns(MissingValuesWarning, match="4 of 80"):
        mod = GeneralizedNegativeBinomial.from_formula("y ~ x", data, groups=groups)
    assert mod.row_mask.sum() == 76 and mod.n_missing == 4
    res = _fit(mod, cov_type="cluster")
    np.testing.assert_allclose(res.bse, ref.bse, rtol=1e-10)
    # the same full-length groups given at fit time instead
    with pytest.warns(MissingValuesWarning):
        later = GeneralizedNegativeBinomial.from_formula("y ~ x", data)
    res2 = _fit(later, cov_type="cluster", cov_kwds={"groups": groups})
    np.testing.assert_allclose(res2.bse, ref.bse, rtol=1e-10)


def test_constant_is_named_intercept_by_every_interface():
    from regrowth.report.tidy import CONSTANT_NAMES

    df = _panel_frame().dropna()
    arr = GeneralizedNegativeBinomial(df["y"].to_numpy(), np.c_[np.ones(len(df)), df["x"]])
    form = GeneralizedNegativeBinomial.from_formula("y ~ x", df, disp_formula="~ z")
    assert arr.exog_names == ["Intercept", "x2", "lnalpha:Intercept"]
    assert form.exog_names == ["Intercept", "x", "lnalpha:Intercept", "lnalpha:z"]
    assert {"Intercept", "const", "_cons"} <= CONSTANT_NAMES


# ----------------------------------------------------------------------------- refused inputs

def test_all_zero_and_constant_counts_refused():
    d = F.ships()
    X = d[["yr_con"]].assign(const=1.0)
    with pytest.raises(EstimationError, match="'accident' is zero in all 34 observations"):
        GeneralizedNegativeBinomial(d["accident"] * 0, X)
    with pytest.raises(EstimationError, match="'accident' is constant \\(3 in all 34"):
        GeneralizedNegativeBinomial(d["accident"] * 0 + 3, X)
    # after the missing-value drop: the zeros left are what counts
    y = d["accident"].where(d["accident"] == 0)
    with pytest.warns(MissingValuesWarning), pytest.raises(EstimationError, match="zero in all"):
        GeneralizedNegativeBinomial(y, X)


def test_infinite_regressors_refused_while_a_nan_drops_its_row():
    """An infinity in exog or exog_disp is an error; a NaN in the same column only drops its
    row (the quick finiteness check by column sums must not blur the two)."""
    d = F.ships()
    y = d["accident"].to_numpy(dtype=float)
    X = np.c_[np.ones(len(d)), d["yr_con"].to_numpy(dtype=float)]
    for what in ("exog", "exog_disp"):
        bad = X.copy()
        bad[4, 1] = np.inf
        bad[7, 1] = np.nan
        with pytest.warns(MissingValuesWarning, match="1 of 34"), \
                pytest.raises(DataError, match=f"{what} contains infinite values"):
            GeneralizedNegativeBinomial(y, X if what == "exog_disp" else bad,
                                        exog_disp=bad if what == "exog_disp" else None)
        nan_only = X.copy()
        nan_only[7, 1] = np.nan
        with pytest.warns(MissingValuesWarning, match="1 of 34"):
            mod = GeneralizedNegativeBinomial(y, X if what == "exog_disp" else nan_only,
                                              exog_disp=nan_only if what == "exog_disp" else None)
        assert mod.n_missing == 1 and not mod.row_mask[7]


@pytest.mark.parametrize("what", ["exog", "exog_disp", "offset", "exposure", "groups"])
def test_misaligned_pandas_inputs_refused(what):
    d = F.ships()
    args = {"exog": d[["yr_con"]].assign(const=1.0), "exog_disp": d[["op_75_79"]].assign(c=1.0),
            "offset": np.log(d["service"]), "exposure": d["service"], "groups": d["ship"]}
    args[what] = args[what].iloc[::-1]  # the same rows, reversed
    exog = args.pop("exog")
    with pytest.raises(SpecificationError,
                       match=rf"{what} and endog are not indexed by the same rows \(the same "
                             rf"rows in a different order\).*reindex"):
        GeneralizedNegativeBinomial(d["accident"], exog, **args)


def test_from_formula_refuses_unknown_or_misaligned_groups():
    df = _panel_frame()
    with pytest.raises(SpecificationError, match=r"groups='province' is neither a column.*"
                                                 r"index levels \['region', 'year'\]"):
        GeneralizedNegativeBinomial.from_formula("y ~ x", df, groups="province")
    short = pd.Series(df.index.get_level_values("region"), index=df.index).iloc[:40]
    with pytest.raises(SpecificationError, match="groups and data are not indexed"):
        GeneralizedNegativeBinomial.from_formula("y ~ x", df, groups=short)


def test_warnings_are_statsmodels_warnings(quine_het):
    from statsmodels.tools.sm_exceptions import ConvergenceWarning as SMConvergence
    from statsmodels.tools.sm_exceptions import ValueWarning

    assert issubclass(ConvergenceWarning, SMConvergence)
    assert issubclass(BoundaryWarning, ConvergenceWarning)
    assert issubclass(MissingValuesWarning, ValueWarning)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SMConvergence)  # statsmodels' filter catches ours
        with pytest.raises(SMConvergence, match="iteration limit"):
            quine_het.model.fit(maxiter=1)


def test_formula_results_survive_pickling(quine_het):
    """statsmodels rebuilds the mean design on unpickling; the dispersion design is rebuilt
    from disp_formula the same way (patsy's specifications cannot be pickled)."""
    import pickle

    q = F.quine().iloc[[0, 50, 100]]
    again = pickle.loads(pickle.dumps(quine_het))
    np.testing.assert_array_equal(again.params, quine_het.params)
    np.testing.assert_allclose(again.predict(q, which="var"), quine_het.predict(q, which="var"),
                               rtol=1e-14)


def _log_service(x):
    return np.log(x)


@pytest.mark.parametrize("engine", ["patsy", "formulaic"])
def test_either_statsmodels_formula_engine_and_caller_functions(engine, monkeypatch):
    """The formulas go through statsmodels' FormulaManager, so its engine option applies; a
    function of the caller's namespace works in the fit and again in predict."""
    import statsmodels.formula

    monkeypatch.setattr(statsmodels.formula.options, "formula_engine", engine)
    d = F.ships()
    res = _fit(GeneralizedNegativeBinomial.from_formula(
        "accident ~ yr_con + op_75_79", d, disp_formula="~ _log_service(service)",
        exposure="service"))
    assert res.params.index[-1] == "lnalpha:_log_service(service)"
    Z = np.c_[np.ones(len(d)), np.log(d["service"])]
    X = np.c_[np.ones(len(d)), d[["yr_con", "op_75_79"]].to_numpy()]
    by_hand = _fit(GeneralizedNegativeBinomial(d["accident"].to_numpy(), X, Z,
                                               exposure=d["service"].to_numpy()))
    np.testing.assert_allclose(res.params.to_numpy(), by_hand.params, rtol=1e-10)
    np.testing.assert_allclose(res.predict(d.iloc[:5], which="alpha"),
                               np.exp(Z[:5] @ by_hand.params[3:]), rtol=1e-10)
