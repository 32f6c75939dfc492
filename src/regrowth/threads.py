"""One BLAS thread for a block of code, so that a number does not depend on the thread count.

Floating-point sums in multi-threaded BLAS can depend on how many threads split them (a
bootstrap of many small GMM fits accumulates such differences to 1e-9 relative), so every
fit of a specification runs with one OpenBLAS thread (:func:`regrowth.fit.fit_column`, the
specification curve's workers): ``estimates.json`` is then the same for any
``OPENBLAS_NUM_THREADS``. On two cores the single thread costs nothing here: the models are
small, and the thread start-up of multi-threaded BLAS made some of them slower. A whole
``regrowth replicate`` runs on one thread per process too (:func:`regrowth.replicate.run`,
and its notebook kernels through ``OPENBLAS_NUM_THREADS``): its two processes already use
both cores, and a second BLAS thread per process only spent CPU waiting (a warm run: 47 s
of CPU with OpenBLAS's default of two threads, 43 s with one).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys

__all__ = ["blas_threads", "one_blas_thread"]


_BLAS_SYMBOLS = (("scipy_openblas_get_num_threads64_", "scipy_openblas_set_num_threads64_"),
                 ("scipy_openblas_get_num_threads", "scipy_openblas_set_num_threads"),
                 ("openblas_get_num_threads64_", "openblas_set_num_threads64_"),
                 ("openblas_get_num_threads", "openblas_set_num_threads"))


#: (number of imported modules, process id, what :func:`_openblas` found then)
_FOUND: tuple[int, int, list] | None = None


def _openblas() -> list[tuple]:
    """(get, set) ctypes functions of the thread count of every OpenBLAS this process has
    loaded (Linux ``/proc/self/maps``; elsewhere none).

    Reading the maps costs about 4 ms (hundreds of mapped files), and the randomization
    refits enter :func:`one_blas_thread` per chunk of draws, so the answer is kept until a
    module is imported (only an import loads an OpenBLAS: numpy's at ``import numpy``,
    SciPy's at ``import scipy.linalg``) or the process forks."""
    global _FOUND
    key = (len(sys.modules), os.getpid())
    if _FOUND is not None and _FOUND[:2] == key:
        return _FOUND[2]
    _FOUND = (*key, _scan())
    return _FOUND[2]


def _scan() -> list[tuple]:
    try:
        with open("/proc/self/maps", encoding="utf-8") as fh:
            paths = sorted({line.split()[-1] for line in fh
                            if "openblas" in line.lower() and ".so" in line})
    except OSError:
        paths = []
    out = []
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for get, put in _BLAS_SYMBOLS:
            if hasattr(lib, get) and hasattr(lib, put):
                getter, setter = getattr(lib, get), getattr(lib, put)
                getter.restype = ctypes.c_int
                out.append((getter, setter))
                break
    return out


def blas_threads() -> list[int]:
    """The thread count of every OpenBLAS this process has loaded (empty where they cannot
    be found: not Linux, or no OpenBLAS)."""
    return [int(get()) for get, _ in _openblas()]


@contextlib.contextmanager
def one_blas_thread():
    """Run the block with every loaded OpenBLAS on one thread, then restore its setting.

    Floating-point sums in multi-threaded BLAS can depend on the thread count (CR2 works on
    n x n matrices, large enough for OpenBLAS to split), so every backend fits with one
    BLAS thread per process: joblib and Dask workers already do (they set
    ``OMP_NUM_THREADS`` and friends at start), the serial backend runs in this process and
    needs it set here. This is what ``threadpoolctl.threadpool_limits(1, "blas")`` does;
    that package is not among the pinned libraries, so the OpenBLAS calls are made directly
    through ctypes on the libraries this process has loaded (:func:`blas_threads`; a process
    forked inside the block inherits the setting).
    """
    saved = []
    for getter, setter in _openblas():
        saved.append((setter, int(getter())))
        setter(ctypes.c_int(1))
    try:
        yield
    finally:
        for setter, n in saved:
            setter(ctypes.c_int(n))
