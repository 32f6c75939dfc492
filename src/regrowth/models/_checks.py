"""Input checks of the models: index alignment, numeric frames, collinearity (the count
models), a count outcome and its offset/exposure (:func:`count_outcome`, :func:`total_offset`,
the GNB's), and the AR(1) coefficients of the panel GLS models (``xtgls``, ``xtpcse``).

Every message names the input (``exog``, ``exposure``, ...) and what to do.

AR(1) rho (:func:`panel_rhos`): from each panel's rho_i (NaN where it cannot be computed),
``corr="ar1"`` uses one common rho = sum_i w_i rho_i / sum_i w_i over the panels with a finite
rho_i and w_i > 0, ``corr="psar1"`` uses rho_i and needs every one; |rho| >= 1 makes the
Prais-Winsten transform sqrt(1 - rho^2) undefined and is an error.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import linalg

from regrowth.errors import DataError, EstimationError, SpecificationError

__all__ = ["CONSTANT", "as_frame", "check_index", "collinear", "count_outcome", "format_list",
           "misaligned", "numeric", "panel_rhos", "total_offset", "vector"]


CONSTANT = "Intercept"  # the constant's name wherever the estimator names it


def misaligned(what: str, index: pd.Index, ref: pd.Index,
                ref_name: str = "endog") -> SpecificationError:
    if len(index) != len(ref):
        diff = f"{len(index)} rows against {len(ref)}"
    elif index.is_unique and ref.is_unique and index.sort_values().equals(ref.sort_values()):
        diff = "the same rows in a different order"
    else:
        extra = [v for v in index[~index.isin(ref)][:3]]
        diff = (f"e.g. row(s) {extra} are not in {ref_name}'s index" if extra
                else "labels differ")
    return SpecificationError(
        f"{what} and {ref_name} are not indexed by the same rows ({diff}); the estimator does "
        f"not align them silently. Select both from one DataFrame, or align first, e.g. "
        f"{what} = {what}.reindex({ref_name}.index) (rows it lacks become NaN and are "
        "dropped).")


def check_index(x, what: str, index) -> None:
    if isinstance(x, (pd.Series, pd.DataFrame)) and index is not None \
            and not x.index.equals(index):
        raise misaligned(what, x.index, index)


def as_frame(x, prefix: str, index) -> pd.DataFrame:
    if isinstance(x, pd.DataFrame):
        return x
    if isinstance(x, pd.Series):
        return x.to_frame(name=x.name if x.name is not None else f"{prefix}1")
    arr = np.asarray(x, dtype=float)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise DataError(f"{prefix}: expected a 1- or 2-dimensional array, got {arr.ndim} dimensions")
    names = []
    for j in range(arr.shape[1]):
        col = arr[:, j]
        finite = col[np.isfinite(col)]
        names.append(CONSTANT if finite.size and np.all(finite == 1.0) and CONSTANT not in names
                     else f"{prefix}{j + 1}")
    return pd.DataFrame(arr, columns=names, index=index)


def numeric(frame: pd.DataFrame, what: str) -> np.ndarray:
    if all(isinstance(t, np.dtype) and t == np.float64 for t in frame.dtypes):
        return frame.to_numpy()  # float64 columns: no missing-value conversion, often no copy
    try:
        arr = frame.to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        bad = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
        raise DataError(f"{what}: non-numeric column(s) {bad}", hint="encode factors as "
                        "dummies or use from_formula with C(name)") from exc
    return arr


def vector(x, n: int, what: str) -> np.ndarray | None:
    if x is None:
        return None
    arr = np.asarray(x, dtype=float).reshape(-1)
    if arr.shape[0] != n:
        raise DataError(f"{what} has {arr.shape[0]} rows but endog has {n}")
    return arr


def collinear(mat: np.ndarray, names: list[str], what: str) -> np.ndarray | None:
    """Raise EstimationError naming the collinear columns if ``mat`` lacks full column rank.

    Returns the cross-product ``mat.T @ mat`` it computed (None for no columns), which a
    caller may reuse.
    """
    k = mat.shape[1]
    if k == 0:
        return None
    cross = mat.T @ mat  # one pass over the data; the checks below work on k x k
    scale = np.sqrt(np.diag(cross))
    zero = scale == 0
    if zero.any():
        bad = [names[j] for j in np.flatnonzero(zero)]
        raise EstimationError(f"{what}: column(s) {bad} are identically zero in the estimation "
                              "sample; drop them")
    if k == 1:
        return cross  # one non-zero column
    gram = cross / np.outer(scale, scale)  # the Gram matrix of the unit-length columns
    w = linalg.eigvalsh(gram)
    if w[0] > 1e-12 * k * w[-1]:
        return cross  # full rank (cheap check on the k x k Gram matrix)
    ms = mat / scale
    r, piv = linalg.qr(ms, mode="r", pivoting=True)
    d = np.abs(np.diag(r))
    tol = max(max(mat.shape) * np.finfo(float).eps * 10, 1e-7) * d[0]
    rank = int((d > tol).sum())
    if rank < k:
        dep = [names[j] for j in piv[rank:]]
        base = piv[:rank]
        parts = []
        for j in piv[rank:]:
            coef, *_ = linalg.lstsq(ms[:, base], ms[:, j])
            involved = [names[base[i]] for i in np.flatnonzero(np.abs(coef) > 1e-8)]
            parts.append(f"{names[j]} = combination of {involved}")
        raise EstimationError(f"{what} is rank deficient (rank {rank} < {k} columns): collinear "
                              f"column(s) {dep} ({'; '.join(parts)}). Drop one of them.")
    return cross


def count_outcome(y: np.ndarray, yname: str) -> None:
    """A count model's outcome must be finite non-negative counts that vary (else the
    likelihood has no finite maximum); raises DataError or EstimationError naming it."""
    if not np.all(np.isfinite(y)) or np.any(y < 0):
        raise DataError("endog must be finite non-negative counts")
    if np.all(y == 0):
        raise EstimationError(
            f"the outcome {yname!r} is zero in all {y.size} observations of the estimation "
            "sample: a count model has no finite maximum (the mean runs to zero). Check the "
            "outcome column and the sample (years, regions) it is restricted to.")
    if np.all(y == y[0]):
        raise EstimationError(
            f"the outcome {yname!r} is constant ({y[0]:g} in all {y.size} observations): "
            "there is no variation to explain and the dispersion runs to the Poisson "
            "boundary. Check the outcome column and the sample.")


def total_offset(off, expo, keep: np.ndarray, n: int) -> np.ndarray:
    """offset + ln(exposure) on the kept rows (zeros when neither is given); raises DataError
    for an infinite offset or a non-positive exposure."""
    total_off = np.zeros(n)
    if off is not None:
        if not np.all(np.isfinite(off[keep])):
            raise DataError("offset contains infinite values")
        total_off += off[keep]
    if expo is not None:
        e = expo[keep]
        if np.any(e <= 0) or not np.all(np.isfinite(e)):
            raise DataError("exposure must be positive and finite")
        total_off += np.log(e)
    return total_off


def format_list(values: list, limit: int = 8) -> str:
    """``values`` joined by commas, the first ``limit`` of them and the count of the rest."""
    shown = ", ".join(str(v) for v in values[:limit])
    return shown + (f", ... ({len(values)} in all)" if len(values) > limit else "")


def panel_rhos(rho_i: np.ndarray, corr: str, *, entities, rhotype: str,
               weights: np.ndarray) -> np.ndarray:
    """Each panel's AR(1) coefficient (an (N,) array), checked; see the module docstring.

    ``rho_i`` are the panels' own estimates (NaN where undefined), ``corr`` is ``"ar1"``
    (one common rho, the ``weights``-weighted mean of the finite rho_i) or ``"psar1"``,
    ``entities`` the panels' names for messages. Raises
    :class:`~regrowth.errors.EstimationError` naming the panels when no rho (ar1) or some
    rho_i (psar1) cannot be computed, or when |rho| >= 1.
    """
    rho_i = np.asarray(rho_i, dtype=float)
    weights = np.asarray(weights, dtype=float)
    entities = np.asarray(entities, dtype=object)
    if corr == "ar1":
        ok = np.isfinite(rho_i) & (weights > 0)
        if not ok.any():
            raise EstimationError(f"rho could not be computed for any panel with "
                                  f"rhotype={rhotype!r}")
        rho = np.full(rho_i.size, float(np.sum(weights[ok] * rho_i[ok]) / np.sum(weights[ok])))
    else:
        bad = ~np.isfinite(rho_i)
        if bad.any():
            raise EstimationError(f"rho_i could not be computed with rhotype={rhotype!r} for "
                                  f"panel(s) {format_list(entities[bad].tolist())}")
        rho = rho_i
    out = np.abs(rho) >= 1.0
    if out.any():
        which = ["all panels (common rho)"] if corr == "ar1" else entities[out].tolist()
        vals = np.unique(np.round(rho[out], 6)).tolist()
        raise EstimationError(
            f"estimated AR(1) coefficient |rho| >= 1 ({format_list(vals)}) for "
            f"{format_list(which)}: the Prais-Winsten transform is undefined")
    return rho
