"""Where a curve's batches run: in this process, on local processes (joblib/loky) or on a
Dask ``distributed`` cluster; results come back in item order on every backend.

Limits, checked before anything runs (each refusal names the option and the allowed form):

- ``workers`` is a whole number from 1 to :func:`max_workers` (``WORKERS_PER_CPU`` = 4 times
  the machine's CPU count; more processes than that only queue for the CPUs);
- a ``scheduler`` address applies to the ``dask`` backend only, and must read
  ``tcp://HOST:PORT`` (or another Dask scheme); an unreachable scheduler is reported after
  ``$REGROWTH_DASK_CONNECT_TIMEOUT`` seconds (default 20);
- a Dask run waits for results as long as the cluster has workers; when it has none for
  ``$REGROWTH_DASK_NO_WORKERS_TIMEOUT`` seconds (default 60: every worker died, or none ever
  joined), the run's tasks are cancelled and it stops with a message. A task that killed
  its worker repeatedly (Dask's ``KilledWorker``, e.g. out of memory) or a scheduler that
  went away stops the run the same way.
"""

from __future__ import annotations

import os
import socket
import time

from joblib import Parallel, delayed

from regrowth.errors import RegrowthError, SpecificationError
from regrowth.files import env_seconds

__all__ = ["BACKENDS", "DEFAULT_BACKEND", "Executor", "DaskError", "WORKERS_PER_CPU",
           "max_workers"]


BACKENDS = ("serial", "processes", "dask")
#: The backend of ``regrowth curve``, ``make curve`` and :func:`regrowth.curve.run` when none
#: is named (the one place it is set); the outputs are identical on every backend.
DEFAULT_BACKEND = "processes"


WORKERS_PER_CPU = 4


POLL_SECONDS = 1.0   # how often a Dask run checks that its cluster still has workers


class DaskError(RegrowthError):
    """The Dask cluster cannot be reached or can no longer run the tasks (reason in the text)."""


def max_workers() -> int:
    """The largest ``workers`` accepted: ``WORKERS_PER_CPU`` times ``os.cpu_count()``."""
    return WORKERS_PER_CPU * (os.cpu_count() or 1)


def _check_workers(workers) -> int:
    cap = max_workers()
    if workers is None:
        return os.cpu_count() or 1
    if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= cap:
        raise SpecificationError(
            f"--workers {workers!r}: must be a whole number from 1 to {cap} ({WORKERS_PER_CPU} x "
            f"the {os.cpu_count() or 1} CPUs of this machine); omit it for one worker per CPU")
    return workers


def _check_address(address: str, source: str = "--scheduler") -> tuple[str, str, int | None]:
    """``(scheme, host, port)`` of a Dask scheduler address, or a SpecificationError naming
    ``source`` (the option or environment variable it came from)."""
    from distributed.comm.addressing import parse_address, parse_host_port

    try:
        scheme, loc = parse_address(address, strict=True)
        host, port = (parse_host_port(loc) if scheme in ("tcp", "tls", "ws", "wss")
                      else (loc, None))
    except (ValueError, TypeError) as exc:
        raise SpecificationError(
            f"{source} {address!r} is not a Dask scheduler address ({exc}); write it as "
            "tcp://HOST:PORT, e.g. tcp://10.0.0.5:8786 (the address `dask scheduler` prints)"
        ) from None
    return scheme, host, port


class Executor:
    """Runs ``fn(*args, item)`` over items on a backend and returns results in item order.

    ``serial`` runs in this process; ``processes`` uses joblib (loky) with ``workers``
    processes; ``dask`` connects to ``scheduler`` (or ``$REGROWTH_DASK_SCHEDULER``), or else
    starts a ``LocalCluster(n_workers=workers, threads_per_worker=1, processes=True)`` and
    closes it on exit. ``shared`` objects (the panel, the curve) are sent to each worker
    once (``scatter(broadcast=True)``) on Dask, and with each task on joblib. Bad options
    raise :class:`~regrowth.errors.SpecificationError`, cluster faults :class:`DaskError`
    (see the module docstring for the limits).
    """

    def __init__(self, backend: str = DEFAULT_BACKEND, workers: int | None = None,
                 scheduler: str | None = None):
        if backend not in BACKENDS:
            raise SpecificationError(f"--backend {backend!r}: choose one of {', '.join(BACKENDS)}")
        if scheduler and backend != "dask":
            raise SpecificationError(
                f"--scheduler only applies to --backend dask (this run asked for --backend "
                f"{backend}); add --backend dask, or drop --scheduler {scheduler}")
        self.backend = backend
        self.workers = _check_workers(workers)
        self.scheduler = (scheduler or os.environ.get("REGROWTH_DASK_SCHEDULER") or None
                          if backend == "dask" else None)
        self._source = "--scheduler" if scheduler else "$REGROWTH_DASK_SCHEDULER"
        self._client = None
        self._cluster = None
        if backend == "dask":
            if self.scheduler:
                _check_address(self.scheduler, self._source)
            self.connect_timeout = env_seconds("REGROWTH_DASK_CONNECT_TIMEOUT", 20.0)
            self.no_workers_timeout = env_seconds("REGROWTH_DASK_NO_WORKERS_TIMEOUT", 60.0)

    def __enter__(self):
        if self.backend == "dask":
            from distributed import Client, LocalCluster  # optional and heavy: only when asked

            if self.scheduler:
                self._probe()
                try:
                    self._client = Client(self.scheduler, timeout=self.connect_timeout)
                except (OSError, TimeoutError) as exc:
                    raise self._unreachable(exc) from None
            else:
                self._cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1,
                                             processes=True, dashboard_address=None,
                                             host="127.0.0.1", silence_logs=40)
                self._client = Client(self._cluster)
        return self

    def _unreachable(self, why) -> DaskError:
        return DaskError(
            f"the Dask scheduler {self.scheduler} (from {self._source}) cannot be reached "
            f"({why}; waited at most {self.connect_timeout:g} s); nothing was fitted or "
            f"written. Check that `dask scheduler` runs there and the port is open, fix "
            f"{self._source}, or run without a scheduler for a local cluster "
            "(REGROWTH_DASK_CONNECT_TIMEOUT sets the wait)")

    def _probe(self) -> None:
        """Refuse an unreachable TCP scheduler before a ``Client`` is made (a failed Client
        prints tracebacks when it is garbage collected)."""
        scheme, host, port = _check_address(self.scheduler, self._source)
        if scheme != "tcp" or port is None:
            return
        try:
            with socket.create_connection((host or "127.0.0.1", port),
                                          timeout=max(self.connect_timeout, 0.1)):
                pass
        except OSError as exc:
            raise self._unreachable(exc.strerror or type(exc).__name__) from None

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
        scattered, futures, done = [], [], False
        try:
            self._wait_for_workers()
            scattered = [client.scatter([obj], broadcast=True, hash=False)[0] for obj in shared]
            futures = [client.submit(fn, *scattered, it, pure=False) for it in items]
            for f in futures:  # in item order; a bounded wait whenever the cluster has no workers
                self._wait([f])
                yield f.result()
            done = True
        except RegrowthError:
            raise
        except Exception as exc:
            from distributed import KilledWorker

            if isinstance(exc, KilledWorker):
                raise DaskError(
                    f"a Dask task killed its worker repeatedly ({exc}): a batch of the curve "
                    "needs more memory than a worker has, or the workers are being stopped; "
                    "nothing was written. Give the workers more memory, lower batch_size in "
                    "the [[curve]] block, or run with --backend processes") from None
            if type(exc).__name__ == "CommClosedError":
                raise self._gone(exc) from None
            raise
        finally:
            if futures and not done:
                try:
                    client.cancel(futures)
                except Exception:  # the scheduler may be gone: nothing left to cancel
                    pass
            del futures, scattered

    def _gone(self, exc) -> DaskError:
        return DaskError(f"the Dask scheduler {self.scheduler or '(local cluster)'} does not "
                         f"answer ({type(exc).__name__}: {exc}); nothing was written. Restart "
                         "it and run again")

    def _workers(self) -> int:
        try:
            return len(self._client.nthreads())
        except (OSError, TimeoutError) as exc:
            raise self._gone(exc) from None

    def _no_workers(self) -> DaskError:
        return DaskError(
            f"the Dask cluster at {self.scheduler or '(local cluster)'} has had no worker for "
            f"{self.no_workers_timeout:g} s (they died or none joined); the run's tasks were "
            "cancelled and nothing was written. Start workers (`dask worker "
            f"{self.scheduler or 'ADDRESS'}`) and run again, or run with --backend processes "
            "(REGROWTH_DASK_NO_WORKERS_TIMEOUT sets the wait)")

    def _wait_for_workers(self) -> None:
        start = time.monotonic()
        while self._workers() == 0:
            if time.monotonic() - start >= self.no_workers_timeout:
                raise self._no_workers()
            time.sleep(min(POLL_SECONDS, self.no_workers_timeout))

    def _wait(self, futures) -> None:
        """Wait for ``futures`` while the cluster has workers; a bounded wait once it has none."""
        from distributed import wait

        since = None
        while True:
            try:
                wait(futures, timeout=POLL_SECONDS)
                return
            except TimeoutError:
                pass
            if self._workers() > 0:
                since = None
                continue
            since = time.monotonic() if since is None else since
            if time.monotonic() - since >= self.no_workers_timeout:
                raise self._no_workers()
