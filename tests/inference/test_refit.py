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
