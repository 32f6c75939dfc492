"""``regrowth.threads``: one OpenBLAS thread for a block, every loaded OpenBLAS found."""

from __future__ import annotations

import sys
import types

import numpy  # noqa: F401  (loads numpy's OpenBLAS)
import pytest

from regrowth import threads

pytestmark = pytest.mark.skipif(not threads.blas_threads(),
                                reason="no OpenBLAS found in this process (not Linux?)")


def test_the_block_runs_on_one_thread_and_the_setting_comes_back():
    libs = threads._openblas()
    before = threads.blas_threads()
    with threads.one_blas_thread():
        assert threads.blas_threads() == [1] * len(libs)
    assert threads.blas_threads() == before


def test_the_maps_are_read_again_once_a_module_was_imported(monkeypatch):
    """The libraries found are kept between blocks (reading /proc/self/maps each time cost
    about 4 ms per block), but an import may load another OpenBLAS, so after one the maps
    are read again."""
    scans = []
    real = threads._scan

    def counting():
        scans.append(1)
        return real()
    monkeypatch.setattr(threads, "_scan", counting)
    monkeypatch.setattr(threads, "_FOUND", None)
    for _ in range(3):
        with threads.one_blas_thread():
            pass
    assert len(scans) == 1
    monkeypatch.setitem(sys.modules, "regrowth_probe_module", types.ModuleType("probe"))
    with threads.one_blas_thread():
        pass
    assert len(scans) == 2
