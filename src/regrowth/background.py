"""One function call in a second process while this one goes on (``make replicate`` renders
its figures this way while it runs the analyses: the reference machine has 2 cores).

``with background(fn, *args): ...`` forks a child that calls ``fn(*args)`` and runs the
block here; leaving the block waits for the child. The child is a fork: it sees this
process's objects as they were at the call (nothing is pickled on the way in), and what it
writes to files is what ``fn`` would have written here, byte for byte; its return value is
dropped. An exception in the child is raised again here when the block ends (the same
exception when it can be pickled, else a ``RuntimeError`` carrying the child's traceback);
an exception in the block kills the child first, so nothing is written after the caller
gives up (a transaction rolls back a folder no process is still writing into). The child
dies with this process (Linux ``PR_SET_PDEATHSIG``: a kill -9 of the run leaves no
renderer behind). Where ``fork`` is not available (Windows), or with
``REGROWTH_BACKGROUND=off``, ``fn`` runs here, at once, before the block.
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

__all__ = ["background", "enabled"]


def enabled() -> bool:
    """Whether :func:`background` uses a second process: ``fork`` exists and
    ``$REGROWTH_BACKGROUND`` is not ``off``."""
    return (os.environ.get("REGROWTH_BACKGROUND", "on").lower() != "off"
            and "fork" in multiprocessing.get_all_start_methods())


def _die_with_parent() -> None:
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        if os.getppid() == 1:  # the parent died before prctl took effect
            os._exit(1)


def _child(send, fn: Callable, args: tuple) -> None:
    _die_with_parent()
    try:
        fn(*args)
    except BaseException as exc:  # noqa: BLE001 - sent to the parent, raised there
        text = traceback.format_exc()
        try:
            send.send(("error", pickle.dumps(exc), text))
        except Exception:  # noqa: BLE001 - an exception that does not pickle
            send.send(("error", None, text))
        sys.exit(1)
    send.send(("ok", None, ""))


@contextlib.contextmanager
def background(fn: Callable, *args) -> Iterator[None]:
    """Call ``fn(*args)`` in a forked child while the block runs; wait for it at the end of
    the block and raise its exception there, if any (module docstring)."""
    if not enabled():
        fn(*args)
        yield
        return
    ctx = multiprocessing.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)
    sys.stdout.flush()  # a buffer not flushed before the fork would be printed twice
    sys.stderr.flush()
    proc = ctx.Process(target=_child, args=(send, fn, args), daemon=True)
    proc.start()
    send.close()
    try:
        yield
    except BaseException:
        proc.kill()
        proc.join()
        raise
    try:
        status, exc, text = recv.recv()
    except EOFError:
        status, exc, text = "error", None, ""
    proc.join()
    recv.close()
    if status == "ok":
        return
    if exc is not None:
        with contextlib.suppress(Exception):
            exc = pickle.loads(exc)
        if isinstance(exc, BaseException):
            exc.add_note(f"(raised in the background process of {getattr(fn, '__name__', fn)}:"
                         f"\n{text})")
            raise exc
    raise RuntimeError(f"{getattr(fn, '__name__', fn)} failed in its background process "
                       f"(exit code {proc.exitcode})" + (f":\n{text}" if text else ""))
