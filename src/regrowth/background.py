"""One function call in a second process while this one goes on (``make replicate`` renders
its figures this way while it runs the analyses: the reference machine has 2 cores).

``with background(fn, *args) as job: ...`` forks a child that calls ``fn(*args)`` and runs
the block here; leaving the block waits for the child, and ``job.result`` is then what
``fn`` returned (pickled on the way back). The child is a fork: it sees this process's
objects as they were at the call (nothing is pickled on the way in; what it changes in them
stays in the child), and what it writes to files is what ``fn`` would have written here,
byte for byte. An exception in the child is raised again here when the block ends (the same
exception when it can be pickled, else a ``RuntimeError`` carrying the child's traceback);
an exception in the block kills the child first, so nothing is written after the caller
gives up (a transaction rolls back a folder no process is still writing into). The child
dies with this process (Linux ``PR_SET_PDEATHSIG``: a kill -9 of the run leaves no
renderer behind). Where ``fork`` is not available (Windows), or with
``REGROWTH_BACKGROUND=off``, ``fn`` runs here, at once, before the block.

``Jobs(n)``, made before the fork and iterated in both processes, hands the job numbers
0..n-1 out one at a time to whichever process asks first (a counter in shared memory): the
child works through them from the start, this process joins in when its own block is done,
and each job is done exactly once. Which process does a job depends on timing, so a job
must give the same bytes wherever it runs (a job only reads what both processes had at the
fork, and writes its own files).
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import pickle
import signal
import sys
import traceback
from collections.abc import Callable, Iterator

__all__ = ["Job", "Jobs", "background", "enabled"]


def enabled() -> bool:
    """Whether :func:`background` uses a second process: ``fork`` exists and
    ``$REGROWTH_BACKGROUND`` is not ``off``."""
    return (os.environ.get("REGROWTH_BACKGROUND", "on").lower() != "off"
            and "fork" in multiprocessing.get_all_start_methods())


class Jobs:
    """The job numbers 0..n-1, each handed out once to whichever process iterates first
    (module docstring); without a second process, a plain count."""

    def __init__(self, n: int):
        self.n = n
        self._next = (multiprocessing.get_context("fork").Value("l", 0) if enabled()
                      else None)
        self._here = 0

    def _take(self) -> int:
        if self._next is None:
            i, self._here = self._here, self._here + 1
            return i
        with self._next.get_lock():
            i = self._next.value
            self._next.value = i + 1
        return i

    def __iter__(self) -> Iterator[int]:
        while (i := self._take()) < self.n:
            yield i


def _die_with_parent() -> None:
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        if os.getppid() == 1:  # the parent died before prctl took effect
            os._exit(1)


class Job:
    """The handle :func:`background` yields: ``result`` is ``fn``'s return value once the
    block has ended (None before)."""

    def __init__(self):
        self.result = None


def _child(send, fn: Callable, args: tuple) -> None:
    _die_with_parent()
    try:
        result = fn(*args)
    except BaseException as exc:  # noqa: BLE001 - sent to the parent, raised there
        text = traceback.format_exc()
        try:
            send.send(("error", pickle.dumps(exc), text))
        except Exception:  # noqa: BLE001 - an exception that does not pickle
            send.send(("error", None, text))
        sys.exit(1)
    send.send(("ok", pickle.dumps(result), ""))


@contextlib.contextmanager
def background(fn: Callable, *args) -> Iterator[Job]:
    """Call ``fn(*args)`` in a forked child while the block runs; wait for it at the end of
    the block, set ``job.result`` to its return value, or raise its exception there
    (module docstring)."""
    job = Job()
    if not enabled():
        job.result = fn(*args)
        yield job
        return
    ctx = multiprocessing.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)
    sys.stdout.flush()  # a buffer not flushed before the fork would be printed twice
    sys.stderr.flush()
    # not a daemon: fn may start processes of its own (a daemon may not)
    proc = ctx.Process(target=_child, args=(send, fn, args), daemon=False)
    proc.start()
    send.close()
    try:
        yield job
    except BaseException:
        proc.kill()
        proc.join()
        raise
    try:
        status, payload, text = recv.recv()
    except EOFError:
        status, payload, text = "error", None, ""
    proc.join()
    recv.close()
    if status == "ok":
        job.result = pickle.loads(payload)
        return
    if payload is not None:
        exc = None
        with contextlib.suppress(Exception):
            exc = pickle.loads(payload)
        if isinstance(exc, BaseException):
            exc.add_note(f"(raised in the background process of {getattr(fn, '__name__', fn)}:"
                         f"\n{text})")
            raise exc
    raise RuntimeError(f"{getattr(fn, '__name__', fn)} failed in its background process "
                       f"(exit code {proc.exitcode})" + (f":\n{text}" if text else ""))
