"""The designs of a GNB from formulas: ``(y, X, Z)`` of the mean and dispersion equations.

:func:`designs` evaluates ``formula`` and ``disp_formula`` on the rows where every variable
of either, and the offset, exposure and groups (:func:`data_column`), is observed. With patsy
(statsmodels' default engine) both formulas go through one pass
(:func:`regrowth.models.design.formula_designs`); with formulaic each formula is evaluated on
its own and rebuilt on the kept rows when rows had to be dropped. Used by
:meth:`regrowth.models.gnb.GeneralizedNegativeBinomial.from_formula`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import statsmodels.formula
from statsmodels.formula._manager import FormulaManager

from regrowth.errors import DataError, EstimationError, SpecificationError
from regrowth.models._checks import misaligned
from regrowth.models.design import formula_designs

__all__ = ["designs", "data_column"]

RegrowthErrorTypes = (DataError, EstimationError, SpecificationError)


def data_column(data: pd.DataFrame, v, what: str) -> pd.Series | None:
    """``v`` (a column name, an index level name, a Series on ``data``'s index or one value
    per row) as a Series on ``data``'s index; None stays None."""
    if v is None:
        return None
    n_all = data.shape[0]
    if isinstance(v, str):
        if v in data.columns:
            return data[v]
        if v in [n for n in data.index.names if n is not None]:
            return pd.Series(data.index.get_level_values(v), index=data.index, name=v)
        raise SpecificationError(
            f"{what}={v!r} is neither a column of data nor one of its index levels "
            f"{[n for n in data.index.names if n is not None]}; columns: "
            f"{list(data.columns)[:12]}{' ...' if data.shape[1] > 12 else ''}")
    if isinstance(v, pd.Series):
        if v.index.equals(data.index):
            return v
        raise misaligned(what, v.index, data.index, "data")
    arr = pd.Series(np.asarray(v).reshape(-1))
    if arr.shape[0] != n_all:
        raise DataError(f"{what} has {arr.shape[0]} values but data has {n_all} rows",
                        hint=f"pass one {what} value per row of data, or a column name")
    return arr.set_axis(data.index)


def designs(formula, disp_formula, data: pd.DataFrame, env: dict, extra: dict):
    """The mean and dispersion designs of the rows where every variable is observed:
    ``(y, X, Z, spec, zspec, dropped rows)``.

    With patsy (statsmodels' default engine) both formulas go through one pass
    (:func:`regrowth.models.design.formula_designs`): shared variables are evaluated once and
    the rows missing in either formula, the offset, exposure or groups are dropped from both
    (a second pass on the kept rows only when factor levels or stateful transforms depend on
    them). With formulaic each formula is evaluated on its own, as below.
    """
    if statsmodels.formula.options.formula_engine == "patsy":
        return _patsy_designs(formula, disp_formula, data, env, extra)
    return _engine_designs(formula, disp_formula, data, env, extra)


def _formula_error(formula, disp_formula, exc):
    return SpecificationError(f"formula {formula!r}"
                              + (f" / disp_formula {disp_formula!r}" if disp_formula else "")
                              + f" cannot be evaluated on data: {exc}")


def _patsy_designs(formula, disp_formula, data, env, extra):
    missing = np.zeros(data.shape[0], dtype=bool)
    for v in extra.values():
        if v is not None:
            missing |= v.isna().to_numpy()
    formulas = [formula] + ([disp_formula] if disp_formula is not None else [])
    try:
        built = formula_designs(formulas, data, eval_env=env, missing=missing)
    except Exception as exc:  # patsy raises many kinds
        if isinstance(exc, RegrowthErrorTypes):
            raise
        raise _formula_error(formula, disp_formula, exc) from exc
    (y, X), (_, spec) = built.matrices[0], built.design_infos[0]
    if y.shape[1] == 0:
        raise SpecificationError(f"formula {formula!r} has no outcome: write it as "
                                 "\"y ~ x1 + x2\"")
    y = _one_outcome(formula, y)
    Z = zspec = None
    if disp_formula is not None:
        (zl, Z), (_, zspec) = built.matrices[1], built.design_infos[1]
        if zl.shape[1]:
            raise SpecificationError(f"disp_formula {disp_formula!r} must be one-sided "
                                     "(\"~ z1 + z2\"): the dispersion equation has no outcome")
    return y, X, Z, spec, zspec, built.dropped


def _one_outcome(formula, y: pd.DataFrame) -> pd.Series:
    """The outcome column of a formula's left-hand side, refused unless it is one column."""
    if y.shape[1] != 1:
        raise SpecificationError(
            f"formula {formula!r}: the outcome must be one numeric column, got "
            f"{list(y.columns)} (is it a string or boolean column?)")
    return y.iloc[:, 0]


def _engine_designs(formula, disp_formula, data: pd.DataFrame, env: dict, extra: dict):
    """:func:`designs` through statsmodels' FormulaManager (the formulaic engine).

    Each formula is evaluated once on ``data``; only when rows must be dropped because
    another formula, the offset, exposure or groups is missing there (so that factor levels
    are those of the kept rows) are the designs rebuilt on the kept rows.
    """
    built = {}

    def evaluate(f, frame, na):
        mgr = FormulaManager()
        out = mgr.get_matrices(f, frame, eval_env=env, pandas=True,
                               na_action=mgr.get_na_action(na))
        mask = mgr.missing_mask
        own = np.zeros(frame.shape[0], bool) if mask is None else np.array(mask, bool).reshape(-1)
        return out, mgr.spec, own

    try:
        built["mean"] = evaluate(formula, data, "drop")
        drop = built["mean"][2].copy()
        if disp_formula is not None:
            built["disp"] = evaluate(disp_formula, data, "drop")
            drop |= built["disp"][2]
    except Exception as exc:  # patsy/formulaic raise many kinds
        if isinstance(exc, RegrowthErrorTypes):
            raise
        raise _formula_error(formula, disp_formula, exc) from exc
    for v in extra.values():
        if v is not None:
            drop |= v.isna().to_numpy()
    if drop.any():
        keep = ~drop
        sub = data.loc[keep] if data.index.is_unique else data.iloc[np.flatnonzero(keep)]
        built["mean"] = evaluate(formula, sub, "raise")
        if disp_formula is not None:
            built["disp"] = evaluate(disp_formula, sub, "raise")
    (y, X), spec, _ = built["mean"]
    if isinstance(y, pd.DataFrame):
        y = _one_outcome(formula, y)
    Z = zspec = None
    if disp_formula is not None:
        Z, zspec, _ = built["disp"]
        if isinstance(Z, tuple):
            raise SpecificationError(f"disp_formula {disp_formula!r} must be one-sided "
                                     "(\"~ z1 + z2\"): the dispersion equation has no outcome")
    return y, X, Z, spec, zspec, drop
