"""The null curve's linear maps (``regrowth.curve.linear_null``) against references.

Three references, each independent of the map's cluster-sum algebra:

* the identity draw (every province once, no null imposed) must give the estimate and
  p-value the fitted model reports, for every estimator and inference choice of a linear
  curve (pooled, FE, RE, FGLS, PCSE x model, cluster, CR2, Driscoll-Kraay): to 1e-9;
* pooled OLS and fixed effects: each draw equals a full refit on the resampled data
  (``null._null_task``, the ``refit`` method): estimates and p-values to 1e-8;
* RE, FGLS and PCSE (transformation held at its full-sample estimate): each draw equals OLS
  on the explicitly stacked transformed data of the drawn provinces (a province drawn twice
  stacked twice, as two clusters), with statsmodels' clustered covariance, CR2 by
  ``regrowth.inference.cr2.vcov_cr2`` and PCSE by ``regrowth.models.pcse.PanelPCSE``.
"""

from __future__ import annotations

import warnings
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats
from test_curve import synthetic_panel

from regrowth import curve
from regrowth.curve import null as null_mod
from regrowth.curve.fitting import _cr2, _fit_one, _term_row
from regrowth.curve.linear_null import build_map, null_draws
from regrowth.errors import SpecificationError

SPEC = """
[[curve]]
id = "lin"
title = "Synthetic linear curve"
outcome = "g"
focal = ["decentralization"]
seed = 5
bootstrap = { reps = 0 }
null_draws = 3
rationale = "test"

[curve.dimensions]
decentralization = ["d"]
year_effects = [true, false]
inference = ["model", "cluster", "cr2", "kernel"]

[curve.dimensions.controls]
c = ["x1"]

[curve.dimensions.estimator]
pooled = { estimator = "pooled" }
fe = { estimator = "fe" }
re = { estimator = "re" }
fgls = { estimator = "fgls", options = { panels = "hetero", corr = "ar1" } }
pcse = { estimator = "pcse", options = { correlation = "ar1" } }

[curve.dimensions.sample]
all = { years = [2010, 2019], exclude = ["seoul"] }
"""


@pytest.fixture(scope="module")
def setup():
    import tomllib

    panel = synthetic_panel()
    (c,) = curve.validate(tomllib.loads(SPEC)["curve"], panel.columns)
    data = curve.prepare_panel(panel, [c])
    specs, _ = curve.enumerate_specs(c)
    fits = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for s in specs:
            sub = data[~data.index.get_level_values("region").isin(s.sample["exclude"])]
            try:
                fits[s.id] = _fit_one(null_mod._with_sample(s), sub)
            except Exception:  # noqa: BLE001 - e.g. xtgls has no clustered covariance
                continue
    return c, data, specs, fits


def _maps(setup, b_from_fit=True):
    c, data, specs, fits = setup
    out = []
    for s in specs:
        if s.id not in fits:
            continue
        fitted, clusters = fits[s.id]
        term = s.focal_terms[0][1]
        row = _term_row(fitted, term)
        if s.inference == "cr2":
            row.update(_cr2(fitted, term, clusters))
        m = build_map(s, term, row["estimate"] if b_from_fit else 0.0, fitted)
        out.append((s, row, m))
    return out


def test_the_identity_draw_reproduces_every_fitted_estimate_and_p_value(setup):
    kinds = set()
    for s, row, m in _maps(setup, b_from_fit=False):
        est, p = null_draws(m, np.ones((1, len(m.regions))))
        assert est[0] == pytest.approx(row["estimate"], rel=1e-9, abs=1e-12), s.id
        assert p[0] == pytest.approx(row["p_value"], rel=1e-9, abs=1e-12), s.id
        kinds.add((s.estimator, s.inference))
    # every covariance the growth curve uses is covered
    assert {("fe", "model"), ("fe", "cluster"), ("fe", "cr2"), ("fe", "kernel"),
            ("re", "model"), ("re", "cluster"), ("re", "cr2"), ("re", "kernel"),
            ("pooled", "cr2"), ("fgls", "model"), ("pcse", "model")} <= kinds


def test_imposing_the_null_centres_the_identity_draw_at_zero(setup):
    for s, row, m in _maps(setup):
        est, _ = null_draws(m, np.ones((1, len(m.regions))))
        assert abs(est[0]) < 1e-9 * max(1.0, abs(row["estimate"])), s.id


def test_pooled_and_fixed_effects_draws_equal_full_refits(setup):
    c, data, specs, fits = setup
    jobs = []
    for s, row, m in _maps(setup):
        if s.estimator in ("pooled", "fe"):
            jobs.append((s, "decentralization", s.focal_terms[0][1], row["estimate"]))
    years = data.index.get_level_values("year")
    d = data.loc[(years >= 2010) & (years <= 2019)]
    draws = [0, 1, 2]
    refit = null_mod._refit_arrays(c, curve.Executor("serial"), jobs, d, draws)
    counts = null_mod.null_counts(c, null_mod._regions(d), len(draws))
    regions = null_mod._regions(d)
    for job, ref in zip(jobs, refit):
        s, _, term, b = job
        m = build_map(s, term, b, fits[s.id][0])
        est, p = null_draws(m, counts[:, [regions.index(r) for r in m.regions]])
        np.testing.assert_allclose(est, ref["est"], rtol=1e-8, atol=1e-12, err_msg=s.id)
        np.testing.assert_allclose(p, ref["p"], rtol=1e-8, atol=1e-12, err_msg=s.id)
        # margin for the share-significant comparison below: no p-value near 0.05
        assert np.all(np.abs(ref["p"] - 0.05) > 1e-4), s.id


def _stacked(m, counts_row):
    """The drawn provinces' transformed rows stacked explicitly (duplicates as new clusters)."""
    X, y, g, t = [], [], [], []
    k = 0
    for gi, c in enumerate(counts_row):
        for _ in range(int(c)):
            rows = m.present[gi]
            X.append(m.X[gi][rows])
            y.append(m.y0[gi][rows])
            g += [k] * int(rows.sum())
            t += list(np.flatnonzero(rows))
            k += 1
    return np.vstack(X), np.concatenate(y), np.array(g), np.array(t)


def test_held_transformation_draws_equal_ols_on_the_stacked_transformed_data(setup):
    from regrowth.inference.cr2 import vcov_cr2
    from regrowth.models.pcse import PanelPCSE

    rng = np.random.default_rng(3)
    checked = set()
    for s, row, m in _maps(setup):
        if s.estimator not in ("re", "fgls", "pcse"):
            continue
        C = rng.multinomial(len(m.regions), np.full(len(m.regions), 1 / len(m.regions)),
                            size=2)
        est, p = null_draws(m, C)
        for d in range(2):
            X, y, g, t = _stacked(m, C[d])
            G = len(set(g))
            if m.se == "cluster":
                r = sm.OLS(y, X).fit(cov_type="cluster", cov_kwds={"groups": g,
                                                                   "use_correction": True})
                tt = r.params[m.j] / r.bse[m.j]
                ref = 2 * stats.t.sf(abs(tt), G - 1)
            elif m.se == "model":    # RE: s2 = e'e / (N - K), t(N - K)
                r = sm.OLS(y, X).fit()
                ref = r.pvalues[m.j]
            elif m.se == "fgls":     # Omega held: (X*'X*)^-1, normal
                r = sm.OLS(y, X).fit()
                se = np.sqrt(np.linalg.inv(X.T @ X)[m.j, m.j])
                ref = 2 * stats.norm.sf(abs(r.params[m.j] / se))
            elif m.se == "cr2":
                r = sm.OLS(y, X).fit()
                out = vcov_cr2(X, y, g)
                ref = out.pvalues.iloc[m.j]
            elif m.se == "pcse":
                idx = pd.MultiIndex.from_arrays([[f"p{v:02d}" for v in g], 2000 + t],
                                                names=["region", "year"])
                cols = [f"x{i}" for i in range(X.shape[1])]
                res = PanelPCSE(pd.Series(y, index=idx, name="y"),
                                pd.DataFrame(X, index=idx, columns=cols)).fit()
                r = SimpleNamespace(params=np.asarray(res.params))
                tt = res.params.iloc[m.j] / res.std_errors.iloc[m.j]
                ref = 2 * stats.norm.sf(abs(tt))
            else:   # kernel: the identity test covers its formula
                continue
            assert est[d] == pytest.approx(r.params[m.j], rel=1e-8, abs=1e-12), s.id
            assert p[d] == pytest.approx(ref, rel=1e-7, abs=1e-12), (s.id, m.se)
            checked.add((s.estimator, m.se))
    assert {("re", "cluster"), ("re", "model"), ("re", "cr2"), ("fgls", "fgls"),
            ("pcse", "pcse")} <= checked


def test_null_method_refit_and_linear_give_the_same_pooled_and_fe_curve(setup):
    c, data, specs, fits = setup
    sub = [s for s in specs if s.estimator in ("pooled", "fe")]
    out = curve.run_batch(c, curve.group_specs(sub), data)["records"]
    ex = curve.Executor("serial")
    lin = curve.null_curve(c, sub, out, data, ex, method="linear")
    ref = curve.null_curve(c, sub, out, data, ex, method="refit")
    r1, r2 = lin["roles"]["decentralization"], ref["roles"]["decentralization"]
    np.testing.assert_allclose(r1["null_median"], r2["null_median"], rtol=1e-8)
    # equal, not close: no p-value of these draws is within 1e-4 of 0.05 (checked above)
    assert r1["null_share_p05"] == r2["null_share_p05"]
    assert r1["p_median"] == r2["p_median"] and r1["p_share_p05"] == r2["p_share_p05"]
    assert lin["null_method"] == "linear" and ref["null_method"] == "refit"


def test_an_unknown_null_method_is_refused_naming_the_key():
    import tomllib

    raw = tomllib.loads(SPEC.replace("null_draws = 3", 'null_draws = 3\nnull_method = "refits"'))
    with pytest.raises(SpecificationError, match=r"null_method.*'refit'"):
        curve.validate(raw["curve"], synthetic_panel().columns)
