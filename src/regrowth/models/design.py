"""Design matrices of a specification: regressors, year dummies, province dummies.

Dummy columns are named ``year_<t>`` (every sample year but the first, the base) and
``province_<region key>`` (every sample province but the first in sort order, the base):
tables hide them and report "Year effects"/"Province effects" from their presence in the
fitted model's terms (see :func:`fitted_effects`).

:func:`formula_designs` builds the design matrices of several formulas (a model's mean and
dispersion equations) in one patsy pass, with one set of dropped rows for all of them.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import NamedTuple

import numpy as np
import pandas as pd
from patsy import EvalEnvironment, ModelDesc, build_design_matrices, design_matrix_builders
from patsy import NAAction as _patsy_NAAction
from patsy.eval import ast_names

__all__ = ["year_dummies", "province_dummies", "effect_dummies", "fitted_effects",
           "formula_designs", "FormulaDesigns", "YEAR_PREFIX", "PROVINCE_PREFIX"]

YEAR_PREFIX = "year_"
PROVINCE_PREFIX = "province_"


def year_dummies(index: pd.MultiIndex) -> pd.DataFrame:
    """0/1 columns ``year_<t>`` for every sample year but the first (the base)."""
    years = index.get_level_values("year")
    levels = sorted(set(years))
    return pd.DataFrame({f"{YEAR_PREFIX}{t}": (years == t).astype(float) for t in levels[1:]},
                        index=index)


def province_dummies(index: pd.MultiIndex) -> pd.DataFrame:
    """0/1 columns ``province_<key>`` for every sample province but the first (the base)."""
    regions = index.get_level_values("region")
    levels = sorted(set(regions))
    return pd.DataFrame({f"{PROVINCE_PREFIX}{r}": (regions == r).astype(float)
                         for r in levels[1:]}, index=index)


def effect_dummies(spec, data: pd.DataFrame, *, year: bool | None = None,
                   province: bool | None = None) -> pd.DataFrame:
    """The dummy columns ``spec`` asks for (``year``/``province`` override the spec)."""
    year = spec.year_effects if year is None else year
    province = spec.province_effects if province is None else province
    parts = []
    if year:
        parts.append(year_dummies(data.index))
    if province:
        parts.append(province_dummies(data.index))
    return pd.concat(parts, axis=1) if parts else pd.DataFrame(index=data.index)


def fitted_effects(result, terms) -> dict:
    """Which effects the *fitted* model contains, read from its terms, not from a spec.

    ``terms``: the fitted coefficient names. Year effects: ``year_*`` terms or linearmodels'
    ``TimeEffects``; province effects: ``province_*`` terms or ``EntityEffects``.
    Returns ``{"year": bool, "province": bool, "year_terms": [...], "province_terms": [...],
    "absorbed": [...]}`` (``absorbed``: effects swept out by a within transformation).
    """
    terms = [str(t) for t in terms]
    included = list(getattr(result, "included_effects", None) or [])  # linearmodels
    absorbed = [{"Entity": "EntityEffects", "Time": "TimeEffects"}.get(e, e) for e in included]
    year_terms = [t for t in terms if t.startswith(YEAR_PREFIX)]
    province_terms = [t for t in terms if t.startswith(PROVINCE_PREFIX)]
    return {"year": bool(year_terms) or "TimeEffects" in absorbed,
            "province": bool(province_terms) or "EntityEffects" in absorbed,
            "year_terms": year_terms, "province_terms": province_terms, "absorbed": absorbed}


# ----------------------------------------------------------------------------- formulas

class FormulaDesigns(NamedTuple):
    """What :func:`formula_designs` returns.

    ``matrices``: per formula, ``(lhs, rhs)`` DataFrames (``lhs`` has no columns for a
    one-sided formula) on the kept rows; ``design_infos``: the matching patsy ``DesignInfo``
    pairs (what ``predict`` rebuilds a design from); ``dropped``: a boolean array over the rows
    of ``data``, True where a row was dropped (a missing value in any formula's variables or in
    ``missing``).
    """

    matrices: list
    design_infos: list
    dropped: np.ndarray


class _DropNA(_patsy_NAAction):
    """patsy's ``NAAction(on_NA="drop")`` that records the dropped rows (``mask``) and copies
    nothing when no row is dropped."""

    mask = None

    def _handle_NA_drop(self, values, is_nas, origins):
        mask = np.zeros(is_nas[0].shape[0] if is_nas else 0, dtype=bool)
        for is_na in is_nas:
            mask |= is_na
        self.mask = mask
        if not mask.any():
            return values
        keep = ~mask
        return [v[keep, ...] for v in values]


class _Columns(Mapping):
    """``data``'s columns as patsy looks them up, restricted to ``rows`` (positions) if given.

    A numeric column that the formulas use only as a bare name (``y ~ x``, not ``np.log(x)``
    or ``C(x)``) is handed over as a NumPy array: patsy's value is the same, without the
    pandas overhead of its missing-value and type checks. Every other column is a Series (a
    function in a formula may rely on pandas), pandas string columns as object Series, as
    statsmodels hands them to patsy.
    """

    def __init__(self, data: pd.DataFrame, as_array: set, rows=None):
        self._data, self._as_array, self._rows, self._cache = data, as_array, rows, {}

    def __getitem__(self, key):
        try:
            return self._cache[key]
        except (KeyError, TypeError):
            pass
        col = self._data[key]  # KeyError: patsy then looks in the formula's namespace
        if self._rows is not None:
            col = col.iloc[self._rows]
        if isinstance(col, pd.Series):
            if isinstance(col.dtype, pd.StringDtype):
                col = col.astype(object)
            elif key in self._as_array and isinstance(col.dtype, np.dtype) \
                    and col.dtype.kind in "fiu":
                col = col.to_numpy()
        self._cache[key] = col
        return col

    def __iter__(self):
        return iter(self._data.columns)

    def __len__(self):
        return self._data.shape[1]


def _bare_columns(termlists, columns) -> set:
    """Columns used only as bare names by the factors of ``termlists``."""
    bare, other = set(), set()
    for termlist in termlists:
        for term in termlist:
            for factor in term.factors:
                code = getattr(factor, "code", None)
                if code is None:
                    continue
                if code in columns:
                    bare.add(code)
                else:
                    other |= set(ast_names(code))
    return bare - other


def _needs_rows_of_sample(design_infos) -> bool:
    """True when a design depends on which rows it is built from: a categorical factor (its
    levels) or a stateful transform (``center``, ``standardize``: their memorised moments)."""
    for info in design_infos:
        for finfo in info.factor_infos.values():
            if finfo.type == "categorical":
                return True
            state = finfo.state if isinstance(finfo.state, dict) else {}
            if state.get("pass_bins"):
                return True
    return False


def _plain_columns(design_infos, lookup) -> dict | None:
    """When every term of every design is the constant or one numeric column named bare
    (``y ~ x1 + x2``), those columns as 1-d arrays by name; otherwise None."""
    columns = {}
    for info in design_infos:
        for term in info.terms:
            if not term.factors:
                continue
            if len(term.factors) != 1:
                return None
            finfo = info.factor_infos[term.factors[0]]
            code = getattr(finfo.factor, "code", None)
            if finfo.type != "numerical" or finfo.num_columns != 1 or code is None:
                return None
            value = lookup[code] if code in lookup._as_array else None
            if not isinstance(value, np.ndarray) or value.ndim != 1:
                return None
            columns[code] = value
    return columns


@functools.lru_cache(maxsize=512)
def _parsed(formula: str) -> ModelDesc:
    """patsy's parse of ``formula`` (a value object patsy never changes), parsed once."""
    return ModelDesc.from_formula(formula)


# formulas -> (DesignInfos, their column names as pandas Indexes) of designs made only of the
# constant and bare numeric columns, which depend on the formulas alone (see _plain_infos)
_PLAIN_INFOS: dict = {}
_PLAIN_INFOS_MAX = 512


def _plain_infos(formulas: tuple, termlists, lookup):
    """The DesignInfos of ``formulas`` when every term is the constant or one bare name of a
    numeric column of the data (``y ~ x1 + x2``), else None.

    Such DesignInfos do not depend on the data's values: patsy would make the same ones for
    any data whose columns of these names are numeric and one-dimensional. They are built by
    patsy once per set of formulas and kept (at most ``_PLAIN_INFOS_MAX`` sets). They are
    built with an empty namespace: a bare column name is looked up in the data first, so the
    caller's namespace is never needed to evaluate them (nor kept alive by the cache).
    """
    for termlist in termlists:
        for term in termlist:
            if len(term.factors) > 1:
                return None
            for factor in term.factors:
                code = getattr(factor, "code", None)
                if code is None or code not in lookup._as_array:
                    return None
                value = lookup[code]
                if not isinstance(value, np.ndarray) or value.ndim != 1:
                    return None
    hit = _PLAIN_INFOS.get(formulas)
    if hit is None:
        env = EvalEnvironment([{}])
        infos = design_matrix_builders(termlists, lambda: iter([lookup]), env, _DropNA())
        hit = (infos, [pd.Index(info.column_names) for info in infos])
        if len(_PLAIN_INFOS) >= _PLAIN_INFOS_MAX:
            _PLAIN_INFOS.pop(next(iter(_PLAIN_INFOS)))
        _PLAIN_INFOS[formulas] = hit
    return hit


def _plain_designs(design_infos, columns, index, missing, names=None) -> FormulaDesigns:
    """:func:`formula_designs` for :func:`_plain_columns` designs, without patsy's builder:
    the same matrices (a NaN drops the row from every design), written column-major."""
    n = index.shape[0]
    dropped = np.zeros(n, dtype=bool)
    for value in columns.values():
        if value.dtype.kind == "f":
            dropped |= np.isnan(value)
    if missing is not None:
        dropped |= np.asarray(missing, dtype=bool)
    keep = None
    if dropped.any():
        keep = np.flatnonzero(~dropped)
        index = index[keep]
    frames = []
    for i, info in enumerate(design_infos):
        mat = np.empty((index.shape[0], len(info.column_names)), order="F")
        for term, cols in info.term_slices.items():
            if not term.factors:
                mat[:, cols] = 1.0
                continue
            value = columns[info.factor_infos[term.factors[0]].factor.code]
            mat[:, cols.start] = value if keep is None else value[keep]
        frames.append(pd.DataFrame(mat, columns=info.column_names if names is None
                                   else names[i], index=index, copy=False))
    return FormulaDesigns(matrices=list(zip(frames[::2], frames[1::2])),
                          design_infos=list(zip(design_infos[::2], design_infos[1::2])),
                          dropped=dropped)


def formula_designs(formulas, data: pd.DataFrame, *, eval_env: dict | None = None,
                    missing: np.ndarray | None = None) -> FormulaDesigns:
    """Design matrices of several patsy formulas on ``data``, in one pass.

    Every formula (``"y ~ x1 + C(f)"`` or one-sided ``"~ z"``) is parsed, and their designs are
    built together by patsy (``design_matrix_builders``/``build_design_matrices`` with all the
    term lists at once): a variable used by several formulas is evaluated once, and a row with
    a missing value (None/NaN) in any of them, or True in ``missing`` (e.g. an offset or the
    cluster ids), is dropped from all of them. Factor levels and stateful transforms are those
    of the kept rows: when rows are dropped and a design has a categorical factor or a stateful
    transform, the designs are rebuilt on the kept rows (the one case with a second pass).

    ``eval_env``: the namespace of functions the formulas call (``np.log``, a user's function).
    Designs made only of the constant and numeric columns named bare (``y ~ x1 + x2``) are
    written directly from the columns; their ``DesignInfo`` (which depends on the formulas
    alone) is made by patsy on the first call with these formulas and reused afterwards, and
    parsed formulas are reused too. Every other design is built by patsy.
    Returns :class:`FormulaDesigns`; patsy's errors are raised as they come.
    """
    descs = [_parsed(f) for f in formulas]
    termlists = [tl for d in descs for tl in (d.lhs_termlist, d.rhs_termlist)]
    as_array = _bare_columns(termlists, data.columns)
    n = data.shape[0]
    lookup = _Columns(data, as_array)
    plain = _plain_infos(tuple(formulas), termlists, lookup)
    if plain is not None:
        columns = _plain_columns(plain[0], lookup)
        if columns is not None:
            return _plain_designs(plain[0], columns, data.index, missing, plain[1])
    env = EvalEnvironment([dict(eval_env or {})])
    na = _DropNA()
    infos = design_matrix_builders(termlists, lambda: iter([lookup]), env, na)
    columns = _plain_columns(infos, lookup)
    if columns is not None:
        return _plain_designs(infos, columns, data.index, missing)
    mats = build_design_matrices(infos, lookup, NA_action=na, return_type="matrix")
    dropped = np.zeros(n, dtype=bool) if na.mask is None else na.mask.copy()
    if missing is not None:
        dropped |= np.asarray(missing, dtype=bool)
    if dropped.any():
        keep = np.flatnonzero(~dropped)
        if _needs_rows_of_sample(infos):
            sub = _Columns(data, as_array, rows=keep)
            raise_na = _patsy_NAAction(on_NA="raise")
            infos = design_matrix_builders(termlists, lambda: iter([sub]), env, raise_na)
            mats = build_design_matrices(infos, sub, NA_action=raise_na, return_type="matrix")
        else:  # row-wise designs: the rows patsy kept, less those ``missing`` drops
            extra = ~dropped[~na.mask] if na.mask is not None else ~dropped
            mats = [np.asarray(m)[extra] for m in mats]
        index = data.index[keep]
    else:
        index = data.index
    frames = [pd.DataFrame(np.asarray(m), columns=info.column_names, index=index,
                           copy=False)
              for m, info in zip(mats, infos)]
    return FormulaDesigns(matrices=list(zip(frames[::2], frames[1::2])),
                          design_infos=list(zip(infos[::2], infos[1::2])),
                          dropped=dropped)
