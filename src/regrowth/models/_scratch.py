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

Thread safety: :func:`checkout` takes a model's scratch away while it is in use and
:func:`checkin` gives it back, so two threads evaluating one model at once each work in their
own arrays (the second gets a new, empty ``Scratch``).
"""

from __future__ import annotations

import numpy as np

__all__ = ["Scratch", "checkout", "checkin"]

_ATTR = "_scratch"


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


def checkout(owner) -> Scratch:
    """``owner``'s scratch, taken away from it until :func:`checkin` (a new one if it has
    none, or if another thread holds it)."""
    return owner.__dict__.pop(_ATTR, None) or Scratch()


def checkin(owner, scratch: Scratch) -> None:
    """Give ``scratch`` back to ``owner`` for its next evaluation."""
    owner.__dict__[_ATTR] = scratch
