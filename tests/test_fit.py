"""The adapter from a spec to a fitted column (regrowth.fit): which panel a column reads."""

import numpy as np
import pandas as pd
import pytest

from regrowth import fit, regions
from regrowth.errors import SpecificationError
from regrowth.specs import ColumnSpec
from regrowth.specs.parse import Sample


def _macro_panel():
    """SYNTHETIC macro-region panel shaped like regrowth.panel.load_macro's."""
    keys = list(regions.MACRO_REGIONS)
    idx = pd.MultiIndex.from_product([keys, range(2010, 2016)], names=["macro_region", "year"])
    rng = np.random.default_rng(1)
    return pd.DataFrame({"y": rng.poisson(50, len(idx)).astype(float),
                         "x": rng.normal(size=len(idx))}, index=idx)


def _spec(unit):
    return ColumnSpec(table="t", id="c", label="(1)", title="P", estimator="poisson",
                      outcome="y", regressors=("x",), sample=Sample(2010, 2015),
                      se_type="cluster", rationale="test", se_groups="macro_region", unit=unit)


def test_the_macro_panel_is_given_the_shape_every_fit_reads():
    m = fit.macro_fit_panel(_macro_panel())
    assert m.index.names == ["region", "year"]
    assert (m["macro_region"].to_numpy() == m.index.get_level_values("region").to_numpy()).all()
    capital = m.xs("capital", level="region")["capital_region"]
    assert (capital == 1).all() and m["capital_region"].sum() == len(capital)


def test_a_macro_region_column_is_fitted_on_the_seven_units_and_says_so():
    m = fit.macro_fit_panel(_macro_panel())
    f = fit.fit_column(_spec("macro_region"), m)
    assert f.stats["n_macro_regions"] == 7 and "n_entities" not in f.stats
    assert f.stats["se"] == "clustered by macro-region"
    assert "7 clusters" in f.stats["inference"]


def test_a_column_given_the_other_units_panel_is_refused():
    m = fit.macro_fit_panel(_macro_panel())
    with pytest.raises(SpecificationError, match="province column was given the macro-region panel"):
        fit.fit_column(_spec("region"), m)
    assert fit.panel_for(_spec("macro_region"), "provinces", m) is m
    with pytest.raises(SpecificationError, match="make panel"):
        fit.panel_for(_spec("macro_region"), "provinces", None)
