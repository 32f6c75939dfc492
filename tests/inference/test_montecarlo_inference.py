"""The inference Monte Carlo at the study design (benchmarks/montecarlo_inference.py).

Synthetic outcomes drawn from the fitted main models (real regressors) with the 재정자립도
coefficient set to zero. The fast test runs a handful of replications to check the
machinery (every method reports, p-values are valid, the seed fixes the result); the slow
test runs the full design and checks the sizes the issue targets.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _module():
    spec = importlib.util.spec_from_file_location(
        "montecarlo_inference", ROOT / "benchmarks" / "montecarlo_inference.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def mc():
    if not (ROOT / "data" / "processed" / "panel.parquet").exists():
        pytest.skip("needs the processed panel (make panel)")
    return _module()


def test_one_replication_of_each_design_reports_every_method(mc):
    fe = mc.fe_design(ROOT)
    g = mc.gnb_replication(mc.gnb_design(ROOT), np.random.SeedSequence(1), 99)
    f = mc.fe_replication(fe, np.random.SeedSequence(1), 99)
    assert g["converged"] and f["converged"]
    for out, methods in ((g, mc.METHODS_GNB), (f, mc.METHODS_FE)):
        for m in methods:
            assert 0.0 <= out[m] <= 1.0, m
    again = mc.fe_replication(fe, np.random.SeedSequence(1), 99)
    assert again == f


@pytest.mark.slow
def test_bootstraps_hold_their_size_where_cluster_normal_does_not(mc):
    table = mc.run(reps=1000, B=999, seed=20181207, n_jobs=2, root=ROOT).set_index(
        ["model", "method"])["rejection_5pct"]
    for model in ("gnb", "fe"):
        for m in ("boot_rademacher", "boot_webb"):
            assert 0.025 <= table[(model, m)] <= 0.08, (model, m, table[(model, m)])
    assert table[("gnb", "cluster_normal")] > 0.08
