"""Monte Carlo parameter recovery and CI coverage of GeneralizedNegativeBinomial.

Uses benchmarks/montecarlo_gnb.py (seeded heterogeneous-alpha DGP). The default-suite version is
small; the large one (n = 1000, 1000 replications, ~40 s) is marked slow.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

_path = Path(__file__).resolve().parents[2] / "benchmarks" / "montecarlo_gnb.py"
_spec = importlib.util.spec_from_file_location("montecarlo_gnb", _path)
MC = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(MC)


def _check(table, meta, z_band):
    assert meta["failed"] == 0
    m = meta["converged"]
    # coverage within a binomial band around 0.95 (z_band Monte Carlo SEs)
    band = z_band * np.sqrt(0.95 * 0.05 / m)
    for col in ("cover95_oim", "cover95_robust"):
        assert np.all(np.abs(table[col] - 0.95) <= band), table[col]
    # mean bias within 4 Monte Carlo SEs, or small relative to the sampling SD: ML bias of the
    # dispersion intercept (about -0.15 SD at n = 1000) is real, not a bug
    ok = (np.abs(table["bias"]) <= 4 * table["mc_se_bias"]) | (np.abs(table["bias"]) <= 0.2 * table["sd"])
    assert ok.all(), table[["bias", "mc_se_bias", "sd"]]
    # OIM standard errors estimate the sampling SD
    np.testing.assert_allclose(table["mean_se_oim"], table["sd"], rtol=0.15)


def test_montecarlo_small():
    table, meta = MC.run(n=500, reps=150, seed=20261121)
    _check(table, meta, z_band=3.5)


@pytest.mark.slow
def test_montecarlo_large():
    table, meta = MC.run(n=1000, reps=1000, seed=20261121)
    _check(table, meta, z_band=3.0)
    np.testing.assert_allclose(table["mean_se_oim"], table["sd"], rtol=0.05)
