"""Shared data for the inference tests.

produc16.csv and grunfeld_plm.csv are R datasets (plm's ``Produc``, first 16 states, and
``Grunfeld``) written by tests/fixtures/inference/make_inference_fixtures.R; the R numbers
are in r_inference.json beside them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "inference"


@pytest.fixture(scope="session")
def r_numbers() -> dict:
    return json.loads((FIX / "r_inference.json").read_text())


@pytest.fixture(scope="session")
def produc16() -> pd.DataFrame:
    """16 US states x 17 years (plm ``Produc``): log GSP on public capital etc."""
    return pd.read_csv(FIX / "produc16.csv")


@pytest.fixture(scope="session")
def grunfeld() -> pd.DataFrame:
    """plm's Grunfeld: 10 firms x 20 years."""
    return pd.read_csv(FIX / "grunfeld_plm.csv")
