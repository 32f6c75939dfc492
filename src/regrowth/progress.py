"""Progress of the package's long runs: the specification curves and their null draws, the
chain's bootstrap, randomization inference and the KOSIS download.

One helper, :class:`Progress`, for all of them. On a terminal it is a tqdm bar; anywhere else
(CI logs, ``make`` output piped to a file) it writes one plain line every ``every`` seconds
(default 5, ``$REGROWTH_PROGRESS_SECONDS``) and one when the run ends, so a log shows life
without a line per step::

    curve growth (processes x2): 96/384 specifications (25%), 12.1/s, 8 s elapsed, ~24 s left

The rate is the units done per second of wall time since the run started; the time left is
(total - done) / rate. ``where`` names the backend the work runs on (``"processes x2"``,
``"dask x4 @ tcp://10.0.0.5:8786"``; :func:`backend_label` builds it from an executor).

``$REGROWTH_PROGRESS`` chooses the form: ``auto`` (default: bar on a terminal, lines
otherwise), ``bar``, ``log`` or ``off``; :func:`silenced` turns it off for a block
(``run_curve(progress=False)``). Progress goes to stderr and never into an output file.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import sys
import time

from tqdm import tqdm

__all__ = ["Progress", "backend_label", "silenced", "MODES"]

MODES = ("auto", "bar", "log", "off")
DEFAULT_EVERY = 5.0  # seconds between two log lines

_SILENCED: contextvars.ContextVar[bool] = contextvars.ContextVar("regrowth_progress_off",
                                                                  default=False)


@contextlib.contextmanager
def silenced(off: bool = True):
    """Within the block, every :class:`Progress` is silent (when ``off`` is true)."""
    token = _SILENCED.set(bool(off) or _SILENCED.get())
    try:
        yield
    finally:
        _SILENCED.reset(token)


def backend_label(executor) -> str:
    """``"serial"``, ``"processes x2"`` or ``"dask x4 @ tcp://host:8786"`` (the scheduler
    named when the run uses a remote one) for a :class:`regrowth.curve.backends.Executor`."""
    backend = getattr(executor, "backend", "serial")
    if backend == "serial":
        return "serial"
    label = f"{backend} x{getattr(executor, 'workers', '?')}"
    scheduler = getattr(executor, "scheduler", None)
    if backend == "dask":
        label += f" @ {scheduler}" if scheduler else " (local cluster)"
    return label


def _mode(mode: str | None) -> str:
    mode = mode or os.environ.get("REGROWTH_PROGRESS", "auto") or "auto"
    if mode not in MODES:
        raise ValueError(f"REGROWTH_PROGRESS={mode!r}: use one of {', '.join(MODES)}")
    return mode


def _every(every: float | None) -> float:
    if every is not None:
        return float(every)
    raw = os.environ.get("REGROWTH_PROGRESS_SECONDS")
    try:
        return float(raw) if raw else DEFAULT_EVERY
    except ValueError:
        raise ValueError(f"REGROWTH_PROGRESS_SECONDS={raw!r}: give a number of seconds") \
            from None


def _duration(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min {int(seconds % 60):02d} s"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60):02d} min"


class Progress:
    """Progress of one run of ``total`` units (specifications, draws, tables).

    Parameters
    ----------
    total : number of units the run will do.
    desc : what runs (``"curve growth"``, ``"chain bootstrap"``).
    unit : the units' name, plural (``"specifications"``, ``"draws"``).
    where : the backend, shown after ``desc`` (see :func:`backend_label`).
    mode : ``"auto"``, ``"bar"``, ``"log"`` or ``"off"`` (default ``$REGROWTH_PROGRESS``).
    every : seconds between two log lines (default ``$REGROWTH_PROGRESS_SECONDS`` or 5).
    file : the stream (default stderr).
    clock : the time source (``time.monotonic``; tests pass their own).

    ``update(n)`` adds ``n`` units done, ``to(done[, total])`` sets the count, ``close()`` (or the end
    of a ``with`` block) ends the bar or writes the final line. Rates and times are in units
    per second and seconds of wall time.
    """

    def __init__(self, total: int, desc: str, unit: str = "steps", *, where: str | None = None,
                 mode: str | None = None, every: float | None = None, file=None, clock=None):
        self.total = int(total)
        self.desc = desc + (f" ({where})" if where else "")
        self.unit = unit
        self.done = 0
        self.file = file if file is not None else sys.stderr
        self.clock = clock or time.monotonic
        self.every = _every(every)
        mode = "off" if _SILENCED.get() else _mode(mode)
        if mode == "auto":
            isatty = getattr(self.file, "isatty", None)
            mode = "bar" if isatty is not None and isatty() else "log"
        self.mode = mode
        self.start = self.clock()
        self._last = self.start
        self._closed = False
        self._bar = None
        if mode == "bar":
            self._bar = tqdm(total=self.total, desc=self.desc, unit=f" {unit}", file=self.file,
                             leave=False, dynamic_ncols=True)

    # -- counting
    def update(self, n: int = 1) -> None:
        """``n`` more units are done."""
        self.to(self.done + n)

    def to(self, done: int, total: int | None = None) -> None:
        """``done`` units are done in all (of ``total``, if the run now knows it better)."""
        if total is not None and int(total) != self.total:
            self.total = int(total)
            if self._bar is not None:
                self._bar.total = self.total
        n = int(done) - self.done
        self.done = int(done)
        if self._bar is not None:
            self._bar.update(n)
        elif self.mode == "log":
            now = self.clock()
            if now - self._last >= self.every and self.done < self.total:
                self._last = now
                self._write(self.line(now))

    def note(self, text: str) -> None:
        """Print ``text`` (a message from the run) without breaking the bar."""
        if self.mode == "off":
            return
        if self._bar is not None:
            self._bar.write(text, file=self.file)
        else:
            self._write(text)

    # -- what a line says
    def rate(self, now: float | None = None) -> float:
        """Units per second since the start (0 before anything is done)."""
        elapsed = (self.clock() if now is None else now) - self.start
        return self.done / elapsed if elapsed > 0 else 0.0

    def line(self, now: float | None = None) -> str:
        """The log line: done/total, share, rate, elapsed time and time left."""
        now = self.clock() if now is None else now
        elapsed = now - self.start
        rate = self.rate(now)
        share = f" ({self.done / self.total:.0%})" if self.total else ""
        text = f"{self.desc}: {self.done}/{self.total} {self.unit}{share}"
        if rate > 0:
            left = (self.total - self.done) / rate
            text += (f", {rate:.3g}/s, {_duration(elapsed)} elapsed"
                     + (f", ~{_duration(left)} left" if self.done < self.total else ""))
        return text

    def _write(self, text: str) -> None:
        print(text, file=self.file, flush=True)

    # -- the end
    def close(self, *, failed: bool = False) -> None:
        """End the bar, or write the last line (``failed``: the run stopped early)."""
        if self._closed:
            return
        self._closed = True
        if self._bar is not None:
            self._bar.close()
        elif self.mode == "log":
            now = self.clock()
            what = "stopped after" if failed else "done in"
            self._write(f"{self.desc}: {self.done}/{self.total} {self.unit} {what} "
                        f"{_duration(now - self.start)}")

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc):
        self.close(failed=exc_type is not None)
