"""Scratch arrays that a model's Newton iterations reuse instead of allocating afresh.

An iteration of the GNB's Newton solver works on about twenty vectors of n values and one
n x k array (the Hessian's X'diag(w)X). Allocated afresh in every evaluation, they come from
pages the C library has just returned to the system (glibc trims freed memory), so every
evaluation of a new model pays a page fault per 4 KiB it touches: on ``randhie`` (n = 20,190)
about 6,900 faults, half the time of the fit. :class:`Scratch` hands out the same arrays again
on every evaluation, so a model touches its working memory once.

The arithmetic is unchanged: the same NumPy operations write into these arrays (``out=``), in
the same order and with the same memory layouts, so every result is bit for bit what the
allocating expressions give.

A model keeps its scratch while it lives. When it is garbage-collected, its scratch goes to a
small pool (at most ``POOL_SIZE`` of them, each under ``POOL_MAX_BYTES``), from which the
next new model takes its own: a loop that builds and fits model after model (a specification
curve, refits, benchmarks) then reuses the same memory instead of faulting in new pages for
every model. Arrays of another shape are made anew on first request, so a scratch from a
model of another size is as good as an empty one.

Thread safety: :func:`checkout` takes a model's scratch away while it is in use and
:func:`checkin` gives it back, so two threads evaluating one model at once each work in their
own arrays (the second gets another ``Scratch``); taking from and returning to the pool are
single list operations, atomic in CPython.
"""

from __future__ import annotations

import weakref

import numpy as np

__all__ = ["Scratch", "checkout", "checkin", "POOL_SIZE", "POOL_MAX_BYTES"]

_ATTR = "_scratch"

#: Scratches of collected models kept for the next new models, and the largest one kept
#: (bigger ones are freed: for large n a fit's arithmetic dwarfs its page faults).
POOL_SIZE = 2
POOL_MAX_BYTES = 64 * 2 ** 20
_POOL: list = []


class Scratch:
    """Named float64 arrays, each made on its first request and returned again afterwards.

    ``scratch(name, shape, order="C")`` returns the array called ``name``: the one made by an
    earlier request of the same shape and order, or a new uninitialised one. Values left by an
    earlier use are garbage to the caller; an array handed out is valid until the next
    request of the same name.
    """

    __slots__ = ("_arrays",)

    def __init__(self):
        self._arrays: dict[str, np.ndarray] = {}

    def __call__(self, name: str, shape, order: str = "C") -> np.ndarray:
        a = self._arrays.get(name)
        shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
        if a is None or a.shape != shape or (order == "F" and a.ndim > 1
                                              and not a.flags.f_contiguous):
            a = self._arrays[name] = np.empty(shape, order=order)
        return a

    def nbytes(self) -> int:
        """Bytes held (for diagnostics)."""
        return sum(a.nbytes for a in self._arrays.values())


def _release(scratch: Scratch) -> None:
    """Called when a model holding ``scratch`` is collected: keep it for the next model."""
    if len(_POOL) < POOL_SIZE and scratch.nbytes() <= POOL_MAX_BYTES:
        _POOL.append(scratch)


def checkout(owner) -> Scratch:
    """``owner``'s scratch, taken away from it until :func:`checkin`. If it has none (a new
    model, or another thread holds it), one from the pool or a new one, which goes to the
    pool when ``owner`` is collected."""
    scratch = owner.__dict__.pop(_ATTR, None)
    if scratch is None:
        try:
            scratch = _POOL.pop()
        except IndexError:
            scratch = Scratch()
        weakref.finalize(owner, _release, scratch).atexit = False
    return scratch


def checkin(owner, scratch: Scratch) -> None:
    """Give ``scratch`` back to ``owner`` for its next evaluation."""
    owner.__dict__[_ATTR] = scratch
