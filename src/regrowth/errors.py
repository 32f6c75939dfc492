"""Exceptions and warnings of regrowth.

Every error about input data names the file, the row and the column it found
the problem in, and says what to do. Rows are 1-based line numbers as a
spreadsheet or text editor shows them (the header is row 1) unless the message
says otherwise.
"""

from __future__ import annotations

from pathlib import Path

from statsmodels.tools import sm_exceptions as _sm_exceptions


class RegrowthError(Exception):
    """Base class of every error raised on purpose by regrowth."""


class DataError(RegrowthError, ValueError):
    """A raw or derived input is malformed, inconsistent or missing.

    Parameters
    ----------
    message : what is wrong.
    file : the file it was found in.
    row : 1-based row (line) number in that file, if known.
    column : column name or letter, if known.
    hint : what the user should do about it.
    """

    def __init__(self, message: str, *, file: str | Path | None = None,
                 row: int | None = None, column: str | None = None,
                 hint: str | None = None):
        self.message = message
        self.file = None if file is None else str(file)
        self.row = row
        self.column = column
        self.hint = hint
        super().__init__(self._render())

    def _render(self) -> str:
        where = []
        if self.file is not None:
            where.append(f"file {self.file}")
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        text = self.message
        if where:
            text = f"{', '.join(where)}: {text}"
        if self.hint:
            text = f"{text}\n  What to do: {self.hint}"
        return text


class ChecksumError(DataError):
    """A file's sha256 differs from the one recorded in the manifest."""


class MissingInputError(DataError, FileNotFoundError):
    """A required input file is absent."""


class UnknownRegionError(DataError, KeyError):
    """A region name that is not one of the 17 provinces nor a known alias."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return self._render()


class SpecificationError(RegrowthError, ValueError):
    """A model specification refers to something that does not exist."""


class EstimationError(RegrowthError, RuntimeError):
    """An estimator cannot proceed (rank-deficient design, bad options)."""


class ConvergenceWarning(_sm_exceptions.ConvergenceWarning):
    """The optimiser stopped without meeting its convergence criteria.

    A subclass of statsmodels' ``ConvergenceWarning``, so a filter on statsmodels' class
    (``warnings.simplefilter("error", statsmodels.tools.sm_exceptions.ConvergenceWarning)``)
    also catches regrowth's.
    """


class BoundaryWarning(ConvergenceWarning):
    """A parameter ran to the boundary of its space (e.g. ln alpha -> -inf): there is no
    interior maximum, so this is also a :class:`ConvergenceWarning`."""


class MissingValuesWarning(_sm_exceptions.ValueWarning):
    """Observations were dropped because of missing values (a statsmodels ``ValueWarning``)."""
