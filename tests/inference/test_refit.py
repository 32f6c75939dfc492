"""The cheap refits of randomization inference (regrowth.inference.refit) against the cold
refit they replace (``spec.entry.fit(spec, frame)`` + tidy), on the real estimation samples
of Tables 1 and 2 with permuted treatments.

Each fast path (warm-started Newton for GNB/NB2/Poisson, the FGLS steps on the prebuilt
design, FE by Frisch-Waugh-Lovell, RE by the Swamy-Arora steps) must give the cold refit's
coefficient and standard error to 1e-8 relative on every draw, including draws that lose
rows to a missing reassigned value (FE/RE: Chungnam 2012-13 are not in their sample).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from regrowth import panel as panel_mod
from regrowth import specs
from regrowth.fit import estimation_sample, with_region_attributes
from regrowth.inference.refit import column_refit
from regrowth.threads import one_blas_thread

ROOT = Path(__file__).resolve().parents[2]
RTOL = 1e-8


@pytest.fixture(scope="module")
def columns():
    if not (ROOT / "data" / "processed" / "panel.parquet").is_file():
        pytest.skip("needs the panel: run `make panel`")
    sp = specs.load(ROOT / "specs" / "models.toml")
    panel = with_region_attributes(panel_mod.load(ROOT / "data" / "processed"))
    return {c.name: c for c in sp.columns()}, panel


def _permuted(data: pd.DataFrame, term: str, perm: np.ndarray) -> pd.DataFrame:
    """``data`` with ``term``'s province series reassigned by ``perm`` (rows whose new value
    is missing dropped), written independently of the engine."""
    wide = data[term].unstack("year")
    moved = pd.DataFrame(wide.to_numpy()[perm], index=wide.index, columns=wide.columns)
    values = np.array([moved.at[r, y] for r, y in data.index])
    out = data.loc[~np.isnan(values)].copy()
    out[term] = values[~np.isnan(values)]
    return out


CASES = [
    ("table1_innovation/gnb_main", "fiscal_self_reliance_l1", "warm_newton"),
    ("table1_innovation/nb2_main", "ln_rnd_l1", "warm_newton"),
    ("table1_innovation/poisson_main", "fiscal_self_reliance_l1", "warm_newton"),
    ("table1_innovation/gnb_fiscal_autonomy", "fiscal_autonomy_old_l1", "warm_newton"),
    ("table2_growth/fgls_main", "fiscal_self_reliance_l1", "design"),
    ("table2_growth/re_main", "fiscal_self_reliance_l1", "swamy_arora"),
    ("table2_growth/fe_main", "fiscal_self_reliance_l1", "within"),
]


@pytest.mark.parametrize("name,term,kind", CASES, ids=[c[0].split("/")[1] for c in CASES])
def test_the_fast_refit_equals_the_cold_refit_on_permuted_data(columns, name, term, kind):
    cols, panel = columns
    spec = cols[name]
    data, _ = estimation_sample(spec, panel)
    rng = np.random.default_rng(17)
    n_units = data.index.get_level_values("region").nunique()
    with one_blas_thread():
        refit = column_refit(spec, data, term)
        assert refit.kind == kind
        lost = 0
        for _ in range(3):
            frame = _permuted(data, term, rng.permutation(n_units))
            lost += len(frame) < len(data)
            b, se, cold = refit(frame)
            b0, se0 = refit.cold(frame)
            assert not cold
            assert b == pytest.approx(b0, rel=RTOL) and se == pytest.approx(se0, rel=RTOL)
    if kind in ("within", "swamy_arora"):
        assert lost  # the unbalanced FE/RE sample: the subset path was exercised


def test_a_column_without_a_fast_path_is_refitted_cold(columns):
    cols, panel = columns
    spec = cols["table2_growth/fe_dk"]  # Driscoll-Kraay SEs: no fast path
    data, _ = estimation_sample(spec, panel)
    refit = column_refit(spec, data, "fiscal_self_reliance_l1")
    assert refit.kind == "cold"
    b, se, cold = refit(data)
    assert not cold and (b, se) == refit.cold(data)


def test_a_term_that_is_not_a_regressor_is_refused(columns):
    cols, panel = columns
    spec = cols["table1_innovation/gnb_main"]
    data, _ = estimation_sample(spec, panel)
    with pytest.raises(ValueError, match="'ln_patents_pm_macro_l1' is not a regressor"):
        column_refit(spec, data, "ln_patents_pm_macro_l1")


def test_the_public_api_takes_a_fitted_column_or_its_spec(columns):
    from regrowth.fit import fit_column
    from regrowth.inference import randomization_test
    from regrowth.inference.randomization import randomization_test as engine

    cols, panel = columns
    spec = cols["table2_growth/fe_main"]
    fitted = fit_column(spec, panel)
    term = "ln_patents_pm_macro_l1"
    kw = {"blocks": "macro_region", "permutations": 30, "seed": 5}
    a = randomization_test(fitted, term, panel=panel, **kw)
    b = randomization_test(spec, term, panel=panel, **kw)
    data, _ = estimation_sample(spec, panel)
    c = engine(column_refit(spec, data, term), data, term, unit="macro_region",
               permutations=30, seed=5)
    assert a.to_dict() == b.to_dict() == c.to_dict()
    assert a.n_units == 7 and a.unit == "macro_region" and not a.enumerated
    row = fitted.coefs.set_index("term").loc[term]
    assert a.estimate == pytest.approx(row["estimate"], rel=1e-10)
    assert a.tstat == pytest.approx(row["estimate"] / row["std_error"], rel=1e-10)
    with pytest.raises(TypeError, match="pass a fitted column"):
        randomization_test(fitted.result, term, panel=panel)
    with pytest.raises(ValueError, match="is not a regressor of table2_growth/fe_main"):
        randomization_test(spec, "ln_rnd_l1", panel=panel)


# ------------------------------------------------------------------ batched count refits

def _draws(data, term, n, seed):
    """The term's column under ``n`` random reassignments of whole province series that keep
    every row (the draws a batch takes), written independently of the engine."""
    rng = np.random.default_rng(seed)
    wide = data[term].unstack("year")
    units = list(wide.index)
    out = []
    while len(out) < n:
        moved = dict(zip(units, wide.to_numpy()[rng.permutation(len(units))]))
        x = np.array([moved[r][wide.columns.get_loc(y)] for r, y in data.index])
        if not np.isnan(x).any():
            out.append(x)
    return np.array(out)


BATCH_CASES = [
    ("table1_innovation/gnb_main", "fiscal_self_reliance_l1"),
    ("table1_innovation/gnb_main", "ln_rnd_l1"),
    ("table1_innovation/nb2_main", "fiscal_self_reliance_l1"),
    ("table1_innovation/gnb_fiscal_autonomy", "fiscal_autonomy_old_l1"),
    ("table1_innovation/poisson_main", "ln_rnd_l1"),
]


@pytest.mark.parametrize("name,term", BATCH_CASES,
                         ids=[f"{c[0].split('/')[1]}-{c[1]}" for c in BATCH_CASES])
def test_a_batch_of_count_draws_gives_each_draws_per_draw_refit(columns, name, term):
    """``batch`` (all draws' Newton iterations at once) gives every draw the estimate and SE
    of the per-draw warm refit (``fast``) to 1e-10 relative, and settles every draw that one
    settles; a draw's numbers are the same bytes whether it is fitted alone or among 30."""
    cols, panel = columns
    spec = cols[name]
    data, _ = estimation_sample(spec, panel)
    with one_blas_thread():
        refit = column_refit(spec, data, term)
        xs = _draws(data, term, 30, 23)
        got = refit.batch(xs)
        for x, g in zip(xs, got):
            want = refit.fast(x, None)
            assert (g is None) == (want is None)
            if want is not None:
                assert g[0] == pytest.approx(want[0], rel=1e-10)
                assert g[1] == pytest.approx(want[1], rel=1e-10)
        alone = [refit.batch(xs[i:i + 1])[0] for i in (0, 13, 29)]
    assert alone == [got[0], got[13], got[29]]


def test_the_macro_region_gnb_batch_is_as_close_to_the_per_draw_refit_as_that_is_to_cold(
        columns):
    """Table 7's GNB on 7 macro-regions x 7 years: its Hessian's condition number is about
    3e9, so the estimate is fixed by the likelihood's rounding only to about 1e-7 of its SE;
    the per-draw warm refit is that far from the cold refit, and the batch that far from the
    per-draw refit (bound 2e-6 of the SE, ten times what was measured)."""
    from regrowth import fit as fit_mod

    sp = specs.load(ROOT / "specs" / "models.toml")
    spec = {c.name: c for c in sp.columns()}["table7_innovation_macro/gnb_macro"]
    macro = fit_mod.macro_fit_panel(panel_mod.load_macro(ROOT / "data" / "processed"))
    data, _ = estimation_sample(spec, macro)
    term = "fiscal_self_reliance_l1"
    with one_blas_thread():
        refit = column_refit(spec, data, term)
        xs = _draws(data, term, 12, 29)
        for x, g in zip(xs, refit.batch(xs)):
            b, se = refit.fast(x, None)
            frame = data.copy()
            frame[term] = x
            b0, se0 = refit.cold(frame)
            assert abs(b - b0) < 2e-6 * se and abs(se - se0) < 2e-6 * se
            assert abs(g[0] - b) < 2e-6 * se and abs(g[1] - se) < 2e-6 * se


class _PerDraw:
    """A refit without ``batch``: the engine refits each draw by itself (the path before)."""

    def __init__(self, refit):
        self.refit = refit

    def __call__(self, frame):
        return self.refit(frame)


def test_the_randomization_result_with_batches_is_the_per_draw_one_on_any_chunking(columns):
    """The whole randomization result of a GNB term and of an RE term whose draws lose rows
    (p-values, fallbacks, rows lost, counts) is the same with batched draws in chunks of 1, 7
    or 50, on worker processes, and draw by draw."""
    from regrowth.curve.backends import Executor
    from regrowth.inference.randomization import randomization_test

    cols, panel = columns
    cases = []
    for name, term in (("table1_innovation/gnb_main", "ln_rnd_l1"),
                       ("table2_growth/re_main", "fiscal_self_reliance_l1")):
        spec = cols[name]
        data, _ = estimation_sample(spec, panel)
        with one_blas_thread():
            refit = column_refit(spec, data, term)
        cases.append((refit, data, term))
    kw = {"permutations": 40, "seed": 3}
    bases = []
    for refit, data, term in cases:
        base = randomization_test(_PerDraw(refit), data, term, **kw).to_dict()
        for chunk in (1, 7, 50):
            assert randomization_test(refit, data, term, chunk=chunk, **kw).to_dict() == base
        bases.append(base)
    assert bases[1]["rows_lost"] > 0
    with Executor("processes", workers=2) as ex:
        for (refit, data, term), base in zip(cases, bases):
            assert randomization_test(refit, data, term, chunk=13, executor=ex,
                                      **kw).to_dict() == base


# ------------------------------------------------------------------ batched linear refits

def _draws_with_lost_rows(data, term, n, seed):
    """The term's column under ``n`` random reassignments of whole province series, NaN on
    the rows a draw loses (as the engine hands them to ``batch``)."""
    rng = np.random.default_rng(seed)
    wide = data[term].unstack("year")
    units = list(wide.index)
    out = []
    for _ in range(n):
        moved = dict(zip(units, wide.to_numpy()[rng.permutation(len(units))]))
        out.append([moved[r][wide.columns.get_loc(y)] for r, y in data.index])
    return np.array(out)


@pytest.mark.parametrize("name", ["table2_growth/fe_main", "table2_growth/re_main",
                                  "table2_growth/fgls_main"])
def test_a_batch_of_linear_draws_gives_each_draws_per_draw_refit(columns, name):
    """FE (within), RE (Swamy-Arora) and FGLS (hetero, AR(1)) draws vectorised over the draws
    that keep the same rows give each draw the per-draw refit's estimate and SE to 1e-10
    relative (an estimate near zero: 1e-10 of its SE; measured 4e-13), draws that lose rows
    (Chungnam 2012-13, FE/RE) included. A draw alone gives the same bytes as in the batch."""
    cols, panel = columns
    spec = cols[name]
    data, _ = estimation_sample(spec, panel)
    term = "fiscal_self_reliance_l1"
    with one_blas_thread():
        refit = column_refit(spec, data, term)
        xs = _draws_with_lost_rows(data, term, 40, 31)
        got = refit.batch(xs)
        lost = 0
        for x, g in zip(xs, got):
            keep = ~np.isnan(x)
            lost += not keep.all()
            want = refit.fast(x[keep], None if keep.all() else np.flatnonzero(keep))
            assert g is not None and want is not None
            # a coefficient near 0 (FGLS draws reach 1e-5 with SEs of 7e-3): 1e-10 of its SE
            assert g[0] == pytest.approx(want[0], rel=1e-10, abs=1e-10 * want[1])
            assert g[1] == pytest.approx(want[1], rel=1e-10)
        alone = [refit.batch(xs[i:i + 1])[0] for i in (0, 17, 39)]
    assert alone == [got[0], got[17], got[39]]
    if refit.kind != "design":
        assert 0 < lost < 40  # both kinds of draws were batched
