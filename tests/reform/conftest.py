"""Fixtures of the reform tests.

Real data: until the panel carries ``consumption_pc`` (another branch adds it), the tests
read the per-capita private consumption directly from the raw KOSIS DT_1C86 workbook in the
data mirror with openpyxl (an independent parse: the package's own parser is not used) and
attach it to the built panel. Once the merged panel has the column, ``real_panel`` uses the
panel's own column and ``test_panel_consumption_equals_raw`` checks the two agree.

Synthetic data (labelled so): ``synthetic_panel`` is a seeded 17-province panel with a known
first stage and reduced form, for the estimator machinery.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from reform_data import PROJECT, make_synthetic_panel, read_raw_consumption


@pytest.fixture(scope="session")
def raw_consumption(data_mirror) -> dict[tuple[str, int], float]:
    return read_raw_consumption(data_mirror)


@pytest.fixture(scope="session")
def real_panel(data_mirror, raw_consumption) -> pd.DataFrame:
    """The built panel (``make panel``) with ``consumption_pc`` (from the panel once merged,
    else from the raw workbook)."""
    from regrowth import panel

    folder = PROJECT / "data" / "processed"
    if not (folder / "panel.parquet").is_file():
        pytest.skip("no built panel: run `make panel`")
    p = panel.load(folder)
    if "consumption_pc" not in p.columns:
        p = p.copy()
        p["consumption_pc"] = [raw_consumption.get((r, int(y)), np.nan) for r, y in p.index]
    return p


@pytest.fixture(scope="session")
def synthetic_panel() -> pd.DataFrame:
    return make_synthetic_panel()
