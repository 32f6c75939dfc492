"""The checks shared by the models (``regrowth.models._checks``): the AR(1) rho of the panel
GLS models, one helper for ``xtgls`` (models/fgls.py) and ``xtpcse`` (models/pcse.py)."""

from __future__ import annotations

import numpy as np
import pytest

from regrowth.errors import EstimationError
from regrowth.models._checks import format_list, panel_rhos

PANELS = np.array(["busan", "daegu", "seoul"], dtype=object)


def test_common_rho_is_the_weighted_mean_of_the_finite_panel_rhos():
    rho = panel_rhos(np.array([0.2, np.nan, 0.5]), "ar1", entities=PANELS, rhotype="regress",
                     weights=np.array([3.0, 5.0, 1.0]))
    np.testing.assert_allclose(rho, np.full(3, (3 * 0.2 + 1 * 0.5) / 4), rtol=1e-15)


def test_zero_weights_are_left_out_of_the_common_rho():
    rho = panel_rhos(np.array([0.9, 0.1]), "ar1", entities=PANELS[:2], rhotype="regress",
                     weights=np.array([0.0, 2.0]))
    np.testing.assert_allclose(rho, [0.1, 0.1], rtol=1e-15)


def test_panel_specific_rhos_are_returned_as_they_are():
    rho_i = np.array([0.1, -0.3, 0.4])
    out = panel_rhos(rho_i, "psar1", entities=PANELS, rhotype="tscorr", weights=np.ones(3))
    np.testing.assert_array_equal(out, rho_i)


def test_no_finite_rho_is_refused_naming_the_rhotype():
    with pytest.raises(EstimationError, match="rho could not be computed for any panel with "
                                              "rhotype='dw'"):
        panel_rhos(np.array([np.nan, np.nan]), "ar1", entities=PANELS[:2], rhotype="dw",
                   weights=np.ones(2))


def test_a_missing_panel_rho_is_refused_naming_the_panel():
    with pytest.raises(EstimationError, match=r"rho_i could not be computed with "
                                              r"rhotype='regress' for panel\(s\) daegu$"):
        panel_rhos(np.array([0.1, np.nan, 0.2]), "psar1", entities=PANELS, rhotype="regress",
                   weights=np.ones(3))


@pytest.mark.parametrize("corr, rho_i, where", [
    ("psar1", [0.1, 1.2, -1.0], "for daegu, seoul"),
    ("ar1", [1.5, 1.5, 1.5], "for all panels (common rho)"),
])
def test_rho_outside_the_unit_interval_is_refused(corr, rho_i, where):
    with pytest.raises(EstimationError) as err:
        panel_rhos(np.array(rho_i), corr, entities=PANELS, rhotype="regress",
                   weights=np.ones(3))
    assert "|rho| >= 1" in str(err.value) and where in str(err.value)
    assert "Prais-Winsten transform is undefined" in str(err.value)


def test_long_lists_are_cut_with_their_count():
    assert format_list(list(range(10)), 3) == "0, 1, 2, ... (10 in all)"
    assert format_list(["a", "b"]) == "a, b"
