"""Where a curve's batches run: in this process, on local processes (joblib/loky) or on a
Dask ``distributed`` cluster; results come back in item order on every backend."""

from __future__ import annotations

import os

from joblib import Parallel, delayed

from regrowth.errors import SpecificationError

__all__ = ["BACKENDS", "DEFAULT_BACKEND", "Executor"]


BACKENDS = ("serial", "processes", "dask")
#: The backend of ``regrowth curve``, ``make curve`` and :func:`regrowth.curve.run` when none
#: is named (the one place it is set); the outputs are identical on every backend.
DEFAULT_BACKEND = "processes"


class Executor:
    """Runs ``fn(*args, item)`` over items on a backend and returns results in item order.

    ``serial`` runs in this process; ``processes`` uses joblib (loky) with ``workers``
    processes; ``dask`` connects to ``scheduler`` (or ``$REGROWTH_DASK_SCHEDULER``), or else
    starts a ``LocalCluster(n_workers=workers, threads_per_worker=1, processes=True)`` and
    closes it on exit. ``shared`` objects (the panel, the curve) are sent to each worker
    once (``scatter(broadcast=True)``) on Dask, and with each task on joblib.
    """

    def __init__(self, backend: str = DEFAULT_BACKEND, workers: int | None = None,
                 scheduler: str | None = None):
        if backend not in BACKENDS:
            raise SpecificationError(f"--backend {backend!r}: choose one of {', '.join(BACKENDS)}")
        self.backend = backend
        self.workers = int(workers or os.cpu_count() or 1)
        self.scheduler = scheduler or os.environ.get("REGROWTH_DASK_SCHEDULER") or None
        self._client = None
        self._cluster = None

    def __enter__(self):
        if self.backend == "dask":
            from distributed import Client, LocalCluster  # optional and heavy: only when asked

            if self.scheduler:
                self._client = Client(self.scheduler)
            else:
                self._cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1,
                                             processes=True, dashboard_address=None,
                                             host="127.0.0.1", silence_logs=40)
                self._client = Client(self._cluster)
        return self

    def __exit__(self, *exc):
        if self._client is not None:
            self._client.close()
        if self._cluster is not None:
            self._cluster.close()
        self._client = self._cluster = None

    def map(self, fn, items: list, *shared) -> list:
        return list(self.imap(fn, items, *shared))

    def imap(self, fn, items: list, *shared):
        """Like :meth:`map`, but yields each result (in item order) as soon as it and the
        ones before it are done, so the caller can show progress."""
        if self.backend == "serial" or not items:
            for it in items:
                yield fn(*shared, it)
            return
        if self.backend == "processes":
            yield from Parallel(n_jobs=self.workers, backend="loky", return_as="generator")(
                delayed(fn)(*shared, it) for it in items)
            return
        client = self._client
        # one future per shared object (a list would be scattered element-wise); unique keys
        # (hash=False) so a second map's scatter never aliases data a first one released
        scattered = [client.scatter([obj], broadcast=True, hash=False)[0] for obj in shared]
        futures = [client.submit(fn, *scattered, it, pure=False) for it in items]
        try:
            for f in futures:
                yield f.result()
        finally:
            del futures, scattered

