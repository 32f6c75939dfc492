"""Spatial dependence among the 17 provinces: weights, Moran's I, Conley SEs, spatial lags.

The boundaries
--------------
KOSTAT's 2018 province (시도) boundaries, TopoJSON (``data/raw/kostat_boundaries/
skorea-provinces-2018-topo-simple.json``, acquired by ``make data``; README section 2; KOGL
Type 1, attribution "통계청 통계지리정보서비스(SGIS)"). GDAL's TopoJSON driver (through
geopandas/pyogrio) reads it; the file has no CRS member, so WGS84 lon/lat (EPSG:4326) is set.
Features are joined to the package's provinces by the 2-digit KOSTAT ``code`` property
(:func:`regrowth.regions.by_code`), never by name (the names are the pre-2023 ones).
Simplification left self-intersections in a few provinces (충남, 전남, 경남, and 강원 in
this file); :func:`read_boundaries` repairs every invalid geometry with
``shapely.make_valid(method="structure")``, which keeps the polygons only. Distances and
centroids are computed in the Korea 2000 / Unified CS projection (EPSG:5179, metres).

For drawing, :func:`simplify_boundaries` thins the 30,571 vertices of this file once, as a
*coverage* (``shapely.coverage_simplify``, GEOS's CoverageSimplifier): each border between two
provinces is simplified once and both provinces keep the same simplified line, so shared
borders stay shared (no gaps, no overlaps, the same 29 contiguous pairs). The algorithm is
Visvalingam-Whyatt's: a vertex is removed while the triangle it forms with its two neighbours
has an area below ``tolerance_m**2``, so ``tolerance_m`` is in metres (the side of the
largest square of area a removal may change). Weights and distances always use the
unsimplified boundaries.

Weights (:func:`weights`)
-------------------------
``"contiguity"``  provinces sharing a border (queen; rook gives the same 29 pairs here).
                  제주 (Jeju), an island, has no neighbour: ``island="nearest"`` (default)
                  links it, in both directions, to the province with the nearest centroid
                  (전남, ~170 km); ``island="none"`` leaves it isolated (an
                  :class:`IslandWarning`; its spatial lag is then 0).
``"knn"``         the ``k`` provinces with the nearest centroids (not symmetric).
``"distance"``    inverse distance between centroids, ``1/d**power`` (km), all pairs or those
                  within ``cutoff_km``.
Every ``W`` is row-standardised unless ``transform="b"`` (binary / raw weights), and its ids
are the package's province keys (``"seoul"``, …) in code order. ``ids=`` restricts it to a
subset (e.g. the 16 provinces without Sejong); contiguity is then among those provinces.

Moran's I (:func:`moran`)
-------------------------
``esda.Moran`` on each year's cross-section of residuals, with permutation inference, and a
pooled statistic: Moran's I of all N·T residuals stacked with the block-diagonal weights
``I_T ⊗ W`` (each residual's neighbours are the same year's neighbours). Its permutation p
treats all N·T residuals as exchangeable (right under the null for residuals of a model
with year effects, which have mean zero in every year). The yearly ``p_norm`` is esda's
two-sided normal p-value (randomisation assumption ``z_norm``); ``p_sim`` is esda's one-sided
pseudo p-value, (number of permuted I at least as extreme in the direction of the observed
I + 1) / (permutations + 1).

Conley standard errors (:func:`conley_cov`, :func:`conley_fe`)
---------------------------------------------------------------
See their docstrings: the covariance from regressors, residuals and coordinates, and the
fixed-effects slopes of a (region, year) panel with it.

Spatial lags (:func:`spatial_lag`)
----------------------------------
``w_<var>`` = W x within each year: with a row-standardised W, the mean of the neighbours'
values (SLX regressors). :func:`slx_lags` (what a spec column's ``slx`` key computes) does it
year by year on the provinces observed that year: W is built once among the sample's provinces
(binary, ``transform="b"``), restricted in year t to the provinces whose value is observed,
and row-standardised there, so ``w_<var>_it = sum_j w_ij x_jt / sum_j w_ij`` over the observed
neighbours j of i (missing when i has none); with every province observed this is the
row-standardised W x_t.
"""

from __future__ import annotations

import contextlib
import json
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from regrowth import regions
from regrowth.errors import DataError, MissingInputError, UnknownRegionError
from scipy import stats

__all__ = [
    "DEFAULT_BOUNDARIES", "PROJECTED_CRS", "IslandWarning", "read_boundaries",
    "simplify_boundaries", "centroids_km",
    "weights", "moran", "conley_cov", "conley_fe", "spatial_lag", "slx_lags", "w_to_frame",
]

#: Where ``make data`` puts the boundary file (relative to the project folder).
DEFAULT_BOUNDARIES = Path("data/raw/kostat_boundaries/skorea-provinces-2018-topo-simple.json")

#: Projected CRS for centroids and distances: Korea 2000 / Unified CS (metres).
PROJECTED_CRS = "EPSG:5179"

_KINDS = ("contiguity", "knn", "distance")


class IslandWarning(UserWarning):
    """A province has no neighbour in the weights (its spatial lag is 0)."""

# ----------------------------------------------------------------------------- boundaries

def _check_format(path: Path) -> None:
    """Raise DataError unless ``path`` is a TopoJSON Topology or a GeoJSON FeatureCollection."""
    what = ("a TopoJSON (\"type\": \"Topology\") or GeoJSON (\"type\": \"FeatureCollection\") "
            "file of the province boundaries")
    hint = (f"point path= at {DEFAULT_BOUNDARIES.name} (run `make data` to acquire it to "
            f"{DEFAULT_BOUNDARIES.parent}/)")
    try:
        doc = json.loads(path.read_bytes())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"not JSON ({exc.__class__.__name__}: {exc}); expected {what}",
                        file=path, hint=hint) from None
    kind = doc.get("type") if isinstance(doc, dict) else None
    if kind not in ("Topology", "FeatureCollection"):
        raise DataError(f"JSON of type {kind!r}, expected {what}", file=path, hint=hint)
    if kind == "Topology" and not doc.get("objects"):
        raise DataError(f"a TopoJSON file without objects; expected {what}", file=path, hint=hint)


def read_boundaries(path: str | Path | None = None, *, ids: Iterable[str] | None = None):
    """The province boundaries as a GeoDataFrame indexed by province key (code order).

    Columns: ``code`` (2-digit KOSTAT), ``name_ko`` (the package's name), ``name_file``
    (the file's ``name``), ``geometry`` (EPSG:4326, invalid rings repaired). ``ids``
    restricts the rows to those provinces (keys or any alias).

    Raises :class:`~regrowth.errors.MissingInputError` if the file is absent,
    :class:`~regrowth.errors.DataError` if it is not TopoJSON/GeoJSON, has no ``code``
    property, has a code that is not one of the 17 provinces, repeats a code, or lacks a
    province asked for.

    The file is parsed once per process for each (file, size, modification time, ``ids``):
    a later call returns a copy of the frame read then (a run reads it for every map, Moran's
    I and spatial column).
    """
    path = Path(DEFAULT_BOUNDARIES if path is None else path)
    if not path.is_file():
        raise MissingInputError("the province boundary file is missing", file=path,
                                hint="run `make data` (it acquires data/raw/kostat_boundaries/ "
                                     "from the mirror or the pinned origin) or pass path=")
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns, _ids(ids))
    if key not in _BOUNDARIES:
        if len(_BOUNDARIES) >= 8:
            _BOUNDARIES.clear()
        _BOUNDARIES[key] = _read_boundaries(path, key[3])
    return _BOUNDARIES[key].copy()


#: the boundary frames read, by (file, size, mtime, ids); at most 8 kept
_BOUNDARIES: dict = {}


def _read_boundaries(path: Path, wanted: tuple[str, ...]):
    import geopandas as gpd
    import shapely

    _check_format(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # GDAL notes on the missing CRS member
        frame = gpd.read_file(path)
    if "code" not in frame.columns:
        raise DataError(f"no 'code' property in its features (properties: "
                        f"{[c for c in frame.columns if c != 'geometry']}); the provinces are "
                        "joined by their 2-digit KOSTAT code", file=path, column="code",
                        hint="use KOSTAT's 2018 시도 boundaries (data/raw/MANIFEST.toml, kostat_boundaries/)")
    if frame.crs is None:
        frame = frame.set_crs("EPSG:4326")
    elif not frame.crs.equals("EPSG:4326"):
        frame = frame.to_crs("EPSG:4326")
    keys = []
    for row, code in enumerate(frame["code"].astype(str).str.strip(), start=1):
        try:
            keys.append(regions.by_code(code).key)
        except UnknownRegionError:
            raise DataError(f"feature {row} has code {code!r}, which is not one of the 17 "
                            "province (시도) codes (11 서울 … 39 제주)", file=path, row=row,
                            column="code", hint="use the 2018 province file, not a 시군구 or "
                                                "legal-district (법정동코드) file") from None
    frame = frame.assign(region=keys)
    dup = frame["region"][frame["region"].duplicated()].tolist()
    if dup:
        raise DataError(f"province(s) {dup} appear more than once", file=path, column="code",
                        hint="dissolve the features by code first")
    missing = [k for k in wanted if k not in set(keys)]
    if missing:
        names = ", ".join(f"{k} (code {regions.get(k).code}, {regions.get(k).name_ko})"
                          for k in missing)
        raise DataError(f"province(s) missing from the boundary file: {names}", file=path,
                        column="code", hint="use the complete 2018 province file "
                        "(17 features), or leave these provinces out with ids=")
    frame = frame.set_index("region").loc[list(wanted)]
    geom = frame.geometry.values
    bad = ~shapely.is_valid(geom)
    if bad.any():
        geom = geom.copy()
        geom[bad] = shapely.make_valid(geom[bad], method="structure", keep_collapsed=False)
    out = gpd.GeoDataFrame({
        "code": [regions.get(k).code for k in frame.index],
        "name_ko": [regions.get(k).name_ko for k in frame.index],
        "name_file": frame["name"].tolist() if "name" in frame.columns else None,
    }, geometry=geom, index=pd.Index(frame.index, name="region"), crs="EPSG:4326")
    return out


def simplify_boundaries(boundaries, tolerance_m: float):
    """The boundaries in EPSG:5179 (metres), simplified as one polygon coverage.

    ``boundaries``: a :func:`read_boundaries` frame (any CRS). ``tolerance_m``: the
    Visvalingam-Whyatt tolerance in metres (``shapely.coverage_simplify``: a vertex goes while
    the triangle it forms with its neighbours has an area under ``tolerance_m**2``); 0 keeps
    every vertex. Borders shared by two provinces are simplified once, identically for both,
    and the outer coast as well, so the result is still a coverage with the same neighbours;
    no part (island) is dropped. Returns a new GeoDataFrame with the same index and columns.

    Raises :class:`~regrowth.errors.DataError` naming the provinces whose polygons overlap
    or leave gaps along a shared border (the input is not a coverage: a shared border could
    not be kept shared), and ``ValueError`` for a negative or non-finite tolerance.
    """
    import shapely

    tol = float(tolerance_m)
    if not np.isfinite(tol) or tol < 0:
        raise ValueError(f"tolerance_m={tolerance_m!r}: a distance in metres >= 0")
    projected = boundaries.to_crs(PROJECTED_CRS)
    if tol == 0:
        return projected
    geom = projected.geometry.values
    if not shapely.coverage_is_valid(geom):
        edges = shapely.coverage_invalid_edges(geom)
        bad = [k for k, e in zip(projected.index, edges) if e is not None and not e.is_empty]
        raise DataError(f"the province polygons are not a coverage: {bad} overlap a neighbour "
                        "or leave a gap along a shared border, so a simplification could not "
                        "keep their borders shared",
                        hint="use the KOSTAT 2018 province file (data/raw/kostat_boundaries/), "
                             "or draw at full resolution (tolerance 0)")
    simplified = shapely.coverage_simplify(geom, tol)
    invalid = [k for k, ok in zip(projected.index, shapely.is_valid(simplified)) if not ok]
    if invalid:
        raise DataError(f"simplifying at {tol:g} m made the polygons of {invalid} invalid",
                        hint="use a smaller tolerance")
    return projected.set_geometry(simplified)


def _ids(ids: Iterable[str] | None) -> tuple[str, ...]:
    """Province keys (code order) for ``ids`` (keys or aliases); all 17 when None."""
    if ids is None:
        return regions.keys()
    if isinstance(ids, str):
        ids = [ids]
    chosen = {regions.normalize(i) for i in ids}
    return tuple(k for k in regions.keys() if k in chosen)


def centroids_km(boundaries) -> pd.DataFrame:
    """Centroids (``x_km``, ``y_km``) of each province in EPSG:5179, in kilometres."""
    c = boundaries.to_crs(PROJECTED_CRS).geometry.centroid
    return pd.DataFrame({"x_km": c.x / 1000.0, "y_km": c.y / 1000.0}, index=boundaries.index)


# ----------------------------------------------------------------------------- weights

def weights(kind: str = "contiguity", *, path: str | Path | None = None,
            ids: Iterable[str] | None = None, k: int = 1, island: str = "nearest",
            power: float = 1.0, cutoff_km: float | None = None, transform: str = "r",
            boundaries=None):
    """Spatial weights among the provinces as a libpysal ``W`` with province-key ids.

    Parameters
    ----------
    kind : "contiguity" | "knn" | "distance" (see the module docstring).
    path : the boundary file (default :data:`DEFAULT_BOUNDARIES`).
    ids : the provinces (keys or aliases); all 17 when None. Order of the W: code order.
    k : neighbours for ``"knn"``.
    island : contiguity only: "nearest" links a province without neighbours (제주) to the
        province with the nearest centroid, symmetrically; "none" leaves it isolated.
    power, cutoff_km : ``"distance"``: weights 1/d**power, only pairs closer than
        ``cutoff_km`` (all pairs when None).
    transform : "r" (row-standardised, the default) or "b" (binary / raw weights).
    boundaries : an already read :func:`read_boundaries` frame (instead of ``path``).
    """
    from libpysal.weights import W

    if kind not in _KINDS:
        raise ValueError(f"kind={kind!r}: use one of {list(_KINDS)}")
    if island not in ("nearest", "none"):
        raise ValueError(f"island={island!r}: use 'nearest' or 'none'")
    if transform not in ("r", "b"):
        raise ValueError(f"transform={transform!r}: use 'r' (row-standardised) or 'b'")
    wanted = _ids(ids)
    if len(wanted) < 2:
        raise ValueError(f"weights need at least two provinces, got {list(wanted)}")
    if boundaries is None:
        boundaries = read_boundaries(path, ids=wanted)
    else:
        absent = [k for k in wanted if k not in boundaries.index]
        if absent:
            raise DataError(f"province(s) {absent} are not in the boundaries passed",
                            hint="pass the frame of read_boundaries() for all of them, or "
                                 "leave them out with ids=")
        boundaries = boundaries.loc[list(wanted)]
    xy = centroids_km(boundaries)
    dist = np.hypot(xy["x_km"].to_numpy()[:, None] - xy["x_km"].to_numpy()[None, :],
                    xy["y_km"].to_numpy()[:, None] - xy["y_km"].to_numpy()[None, :])
    keys = list(boundaries.index)
    n = len(keys)
    neighbors: dict[str, list[str]] = {}
    values: dict[str, list[float]] = {}
    if kind == "contiguity":
        adj = _contiguity(boundaries)
        isolated = [keys[i] for i in range(n) if not adj[i].any()]
        if isolated and island == "nearest":
            for key in isolated:
                i = keys.index(key)
                d = dist[i].copy()
                d[i] = np.inf
                j = int(np.argmin(d))
                adj[i, j] = adj[j, i] = True
        elif isolated:
            warnings.warn(f"province(s) {isolated} have no contiguous neighbour and stay "
                          "isolated (island='none'): their spatial lag is 0", IslandWarning,
                          stacklevel=2)
        for i, key in enumerate(keys):
            neighbors[key] = [keys[j] for j in np.flatnonzero(adj[i])]
            values[key] = [1.0] * len(neighbors[key])
    elif kind == "knn":
        if not 1 <= k < n:
            raise ValueError(f"k={k}: need 1 <= k < {n} (number of provinces)")
        for i, key in enumerate(keys):
            d = dist[i].copy()
            d[i] = np.inf
            order = np.argsort(d, kind="stable")[:k]
            neighbors[key] = [keys[j] for j in order]
            values[key] = [1.0] * k
    else:
        for i, key in enumerate(keys):
            js = [j for j in range(n) if j != i and (cutoff_km is None or dist[i, j] <= cutoff_km)]
            if not js:
                warnings.warn(f"province {key!r} has no province within {cutoff_km} km",
                              IslandWarning, stacklevel=2)
            neighbors[key] = [keys[j] for j in js]
            values[key] = [float(dist[i, j] ** -power) for j in js]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # libpysal's own island warning: ours is above
        w = W(neighbors, values, id_order=keys, silence_warnings=True)
        if transform == "r":
            w.transform = "r"
    w.kind = kind  # what built it (read by reports)
    return w


def _contiguity(boundaries) -> np.ndarray:
    """Queen contiguity matrix (bool): polygons that share at least a point."""
    import shapely

    geom = boundaries.geometry.values
    n = len(geom)
    adj = np.zeros((n, n), dtype=bool)
    for i in range(n):
        for j in range(i + 1, n):
            if shapely.intersects(geom[i], geom[j]):
                adj[i, j] = adj[j, i] = True
    return adj


def w_to_frame(w) -> pd.DataFrame:
    """The weights as a dense DataFrame (rows/columns: the W's ids, in its order)."""
    full, ids = w.full()
    return pd.DataFrame(full, index=ids, columns=ids)


# ----------------------------------------------------------------------------- Moran's I

@contextlib.contextmanager
def _seeded(seed: int | None):
    """esda draws its permutations from NumPy's global generator: seed it, restore after."""
    state = np.random.get_state()
    if seed is not None:
        np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


def _as_long(residuals, known: Sequence[str] = ()) -> pd.Series:
    """A Series indexed by (region, year) or by region (one cross-section, year -1); labels
    that are not W ids (``known``) are read as province names (any alias)."""
    s = pd.Series(residuals) if not isinstance(residuals, pd.Series) else residuals
    if isinstance(s.index, pd.MultiIndex):
        names = list(s.index.names)
        r = names.index("region") if "region" in names else 0
        y = names.index("year") if "year" in names else 1
        region = s.index.get_level_values(r)
        year = s.index.get_level_values(y)
    else:
        region, year = s.index, np.full(len(s), -1)
    known = set(known)
    region = [x if x in known else regions.normalize(x) for x in region]
    out = pd.Series(np.asarray(s, dtype=float),
                    index=pd.MultiIndex.from_arrays([region, year], names=["region", "year"]))
    return out.dropna()


def _subset(w, keys: Sequence[str]):
    """``w`` restricted to ``keys`` (in w's order), row-standardised again if it was."""
    from libpysal.weights import W

    keep = [k for k in w.id_order if k in set(keys)]
    if keep == list(w.id_order):
        return w
    neighbors, values = {}, {}
    for key in keep:
        pairs = [(j, v) for j, v in zip(w.neighbors[key], w.weights[key]) if j in set(keep)]
        neighbors[key] = [j for j, _ in pairs]
        values[key] = [v for _, v in pairs]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = W(neighbors, values, id_order=keep, silence_warnings=True)
        if w.transform.lower() == "r":
            out.transform = "r"
    return out


def moran(residuals, w, *, permutations: int = 999, seed: int | None = 20180,
          pooled: bool = True) -> pd.DataFrame:
    """Moran's I of residuals by year (and pooled), with esda's permutation inference.

    Parameters
    ----------
    residuals : Series indexed by (region, year) (a panel's residuals) or by region (one
        cross-section). Region labels may be keys or any alias; missing values are dropped.
    w : a :func:`weights` W. A year with fewer provinces than ``w`` uses ``w`` restricted to
        them (re-row-standardised if ``w`` was); a province not in ``w`` is an error.
    permutations : esda's number of random permutations (0: normal inference only).
    seed : seeds NumPy's global generator before each esda call (restored afterwards), so
        every row is reproducible on its own.
    pooled : add the pooled row (block-diagonal ``I_T ⊗ W``; see the module docstring).

    Returns
    -------
    A DataFrame, one row per year (``year`` = -1 for a bare cross-section) and, with
    ``pooled``, a last row with ``scope = "pooled"``: ``scope, year, n, I, expected_I, z,
    p_norm, z_rand, p_rand, p_sim, permutations, seed`` (``z``/``p_norm``: normality
    assumption; ``z_rand``/``p_rand``: randomisation assumption, R ``spdep::moran.test``'s
    default; both p two-sided).
    """
    from esda.moran import Moran
    from libpysal.weights import W

    long = _as_long(residuals, w.id_order)
    unknown = sorted(set(long.index.get_level_values("region")) - set(w.id_order))
    if unknown:
        raise ValueError(f"residuals for province(s) {unknown} that the weights do not have "
                         f"(W ids: {list(w.id_order)}); build the weights with ids= the "
                         "sample's provinces")
    rows = []

    def record(scope, year, y, wy):
        with _seeded(seed), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            m = Moran(np.asarray(y, dtype=float), wy, transformation=wy.transform,
                      permutations=permutations)
        rows.append({"scope": scope, "year": year, "n": int(len(y)), "I": float(m.I),
                     "expected_I": float(m.EI), "z": float(m.z_norm),
                     "p_norm": float(m.p_norm), "z_rand": float(m.z_rand),
                     "p_rand": float(m.p_rand),
                     "p_sim": float(m.p_sim) if permutations else np.nan,
                     "permutations": int(permutations), "seed": seed})

    stacked_neighbors, stacked_weights, stacked_y, stacked_ids = {}, {}, [], []
    for year, cross in long.groupby(level="year", sort=True):
        cross = cross.droplevel("year")
        wy = _subset(w, list(cross.index))
        if len(wy.id_order) < 3:
            continue
        y = cross.loc[list(wy.id_order)]
        record("year", int(year), y, wy)
        for key in wy.id_order:
            tag = f"{key}:{year}"
            stacked_ids.append(tag)
            stacked_y.append(float(y[key]))
            stacked_neighbors[tag] = [f"{j}:{year}" for j in wy.neighbors[key]]
            stacked_weights[tag] = list(wy.weights[key])
    if pooled and len(rows) > 1:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            wb = W(stacked_neighbors, stacked_weights, id_order=stacked_ids,
                   silence_warnings=True)
            wb.transform = w.transform
        record("pooled", -1, stacked_y, wb)
    return pd.DataFrame(rows, columns=["scope", "year", "n", "I", "expected_I", "z", "p_norm",
                                       "z_rand", "p_rand", "p_sim", "permutations", "seed"])


# ----------------------------------------------------------------------------- Conley

def conley_cov(X, u, coords, cutoff_km: float, *, kernel: str = "bartlett", time=None,
               entity=None, lag_cutoff: int = 0, bread: str = "xtx") -> np.ndarray:
    r"""Conley (1999) spatial HAC covariance of OLS coefficients, with serial correlation.

    For a linear model y = X b + u estimated by OLS (for a fixed-effects panel: pass the
    within-transformed X and the within residuals u),

    .. math::
        \hat V = (X'X)^{-1} \Big[ \sum_t \sum_i \sum_j K_s(d_{ij})\, x_{it} u_{it}\,
                 u_{jt} x_{jt}' \; + \; \sum_i \sum_{t \ne s} K_t(|t-s|)\, x_{it} u_{it}\,
                 u_{is} x_{is}' \Big] (X'X)^{-1}

    - the spatial part pairs observations of the *same period* t (all of them when
      ``time`` is None: one cross-section); d_ij is the distance between their ``coords``
      (km, projected: e.g. :func:`centroids_km`), K_s(d) = 1 − d/cutoff (``"bartlett"``)
      or 1 (``"uniform"``) for d < ``cutoff_km`` and 0 beyond; i = j (d = 0) gives weight
      1, so the White term is included;
    - the serial part pairs *the same unit* (``entity``) in different periods t ≠ s with
      |t − s| ≤ ``lag_cutoff``, weight K_t = 1 − |t − s| / (lag_cutoff + 1) (Bartlett /
      Newey–West); ``lag_cutoff=0`` drops it.

    This is the estimator of Hsiang (2010, PNAS; his ``ols_spatial_HAC`` Stata/Matlab code
    and its R transcription by Fetzer), in which same-period pairs carry the spatial kernel
    and same-unit pairs the serial kernel; no small-sample factor is applied. The spatial
    kernel with a uniform weight is not guaranteed positive semi-definite.

    Parameters
    ----------
    X : (n, k) regressors. u : (n,) residuals. coords : (n, 2) coordinates in km.
    time : (n,) period labels (None: one period). entity : (n,) unit labels (needed when
    ``lag_cutoff > 0``). bread : "xtx" ((X'X)^{-1}, the default).

    Returns
    -------
    (k, k) covariance matrix.
    """
    X = np.asarray(X, dtype=float)
    if X.ndim == 1:
        X = X[:, None]
    u = np.asarray(u, dtype=float).ravel()
    coords = np.asarray(coords, dtype=float)
    n = X.shape[0]
    if u.shape[0] != n or coords.shape != (n, 2):
        raise ValueError(f"X has {n} rows, u {u.shape[0]}, coords shape {coords.shape}: "
                         "need (n, k), (n,), (n, 2)")
    if kernel not in ("bartlett", "uniform"):
        raise ValueError(f"kernel={kernel!r}: use 'bartlett' or 'uniform'")
    if not cutoff_km > 0:
        raise ValueError(f"cutoff_km={cutoff_km!r} must be positive")
    if lag_cutoff and entity is None:
        raise ValueError("lag_cutoff > 0 needs entity= (the unit of each observation)")
    if bread != "xtx":
        raise ValueError("bread must be 'xtx'")
    time = np.zeros(n) if time is None else np.asarray(time)
    scores = X * u[:, None]
    d = np.hypot(coords[:, 0, None] - coords[None, :, 0], coords[:, 1, None] - coords[None, :, 1])
    same_t = time[:, None] == time[None, :]
    if kernel == "bartlett":
        ks = np.where(d < cutoff_km, 1.0 - d / cutoff_km, 0.0)
    else:
        ks = (d < cutoff_km).astype(float)
    weights_ = np.where(same_t, ks, 0.0)
    if lag_cutoff:
        entity = np.asarray(entity)
        same_i = entity[:, None] == entity[None, :]
        tnum = np.asarray(time, dtype=float)
        lag = np.abs(tnum[:, None] - tnum[None, :])
        kt = np.where((lag <= lag_cutoff) & ~same_t & same_i, 1.0 - lag / (lag_cutoff + 1), 0.0)
        weights_ = weights_ + kt
    meat = scores.T @ weights_ @ scores
    xtx_inv = np.linalg.inv(X.T @ X)
    return xtx_inv @ meat @ xtx_inv


def conley_fe(data: pd.DataFrame, outcome: str, regressors: Sequence[str], cutoff_km: float, *,
              coords: pd.DataFrame | None = None, boundaries=None, path=None,
              effects: str = "twoway", kernel: str = "bartlett", lag_cutoff: int = 0
              ) -> pd.DataFrame:
    """Fixed-effects slopes with Conley standard errors (:func:`conley_cov`).

    ``data`` is indexed by (region, year). The slopes are the within estimator with province
    effects (``effects="entity"``) or province and year effects (``"twoway"``, the default),
    computed by partialling the effect dummies out of y and X (Frisch-Waugh-Lovell, so an
    unbalanced sample is handled exactly); they equal linearmodels' ``PanelOLS`` with
    ``EntityEffects`` (+ ``TimeEffects``). ``coords``: province centroids in km (default
    :func:`centroids_km` of the boundaries at ``path``). Rows with a missing value are
    dropped. Returns a DataFrame (index: regressors) with ``estimate, std_error, z, p_value``
    and the normal reference distribution; no small-sample factor (as Hsiang 2010).
    """
    if effects not in ("twoway", "entity"):
        raise ValueError(f"effects={effects!r}: use 'twoway' or 'entity'")
    regressors = list(regressors)
    frame = data[[outcome, *regressors]].astype(float).dropna()
    region = pd.Index([regions.normalize(r) for r in frame.index.get_level_values(0)])
    year = frame.index.get_level_values(1).to_numpy()
    if coords is None:
        bnd = boundaries if boundaries is not None else read_boundaries(path, ids=sorted(set(region)))
        coords = centroids_km(bnd)
    missing = sorted(set(region) - set(coords.index))
    if missing:
        raise ValueError(f"no coordinates for province(s) {missing}")
    dummies = pd.get_dummies(region).to_numpy(dtype=float)
    if effects == "twoway":
        dummies = np.column_stack([dummies, pd.get_dummies(year).to_numpy(dtype=float)[:, 1:]])
    y = frame[outcome].to_numpy()
    X = frame[regressors].to_numpy()

    def resid(a):
        beta, *_ = np.linalg.lstsq(dummies, a, rcond=None)
        return a - dummies @ beta

    yt, Xt = resid(y), resid(X)
    b = np.linalg.lstsq(Xt, yt, rcond=None)[0]
    u = yt - Xt @ b
    xy = coords.loc[list(region), ["x_km", "y_km"]].to_numpy()
    cov = conley_cov(Xt, u, xy, cutoff_km, kernel=kernel, time=year, entity=np.asarray(region),
                     lag_cutoff=lag_cutoff)
    se = np.sqrt(np.diag(cov))
    z = b / se
    return pd.DataFrame({"estimate": b, "std_error": se, "z": z,
                         "p_value": 2 * stats.norm.sf(np.abs(z))}, index=pd.Index(regressors))


# ----------------------------------------------------------------------------- SLX

def spatial_lag(panel: pd.DataFrame, variables: str | Sequence[str], w, *,
                prefix: str = "w_") -> pd.DataFrame:
    """``panel`` with a ``w_<var>`` column per variable: W x within each year.

    ``panel`` is indexed by (region, year) or has ``region`` and ``year`` columns. With a
    row-standardised W, ``w_<var>`` is the mean of the province's neighbours' values in the
    same year. A province not in ``w`` gets a missing value; a neighbour with a missing
    value makes the lag missing (build W with ``ids=`` the sample's provinces, e.g. without
    Sejong before 2012).
    """
    if isinstance(variables, str):
        variables = [variables]
    frame = panel.copy()
    indexed = isinstance(frame.index, pd.MultiIndex)
    flat = frame.reset_index() if indexed else frame
    missing = [v for v in variables if v not in flat.columns]
    if missing:
        raise KeyError(f"variables {missing} are not columns of the panel")
    dense = w_to_frame(w)
    for var in variables:
        wide = flat.pivot(index="year", columns="region", values=var)
        wide = wide.reindex(columns=dense.index)
        lagged = wide.to_numpy(dtype=float) @ dense.to_numpy().T
        lag = pd.DataFrame(lagged, index=wide.index, columns=dense.index) \
            .rename_axis(columns="region").stack(future_stack=True)
        lag = lag.rename(f"{prefix}{var}").reset_index()
        flat = flat.drop(columns=[f"{prefix}{var}"], errors="ignore").merge(
            lag, on=["year", "region"], how="left")
    if indexed:
        flat = flat.set_index(list(panel.index.names))
        return flat.loc[panel.index]
    return flat.set_index(panel.index) if len(flat) == len(panel) else flat


def slx_lags(panel: pd.DataFrame, variables: str | Sequence[str], *, kind: str = "contiguity",
             k: int = 1, w=None, prefix: str = "w_", **weights_kwargs) -> pd.DataFrame:
    """The SLX regressors ``w_<var>`` of ``panel`` (indexed by (region, year)), year by year.

    W is :func:`weights` (``kind``, ``k``, ``weights_kwargs``) among the provinces of
    ``panel``, binary (or raw inverse distances); in each year it is restricted to the
    provinces whose ``var`` is observed and row-standardised there (module docstring), so a
    missing neighbour drops out of the mean instead of making it missing. A province with no
    observed neighbour in a year gets a missing value. ``w``: an already built binary W whose
    ids cover the provinces (instead of ``kind``).

    Returns a DataFrame on ``panel``'s index with one column ``<prefix><var>`` per variable
    (units of the variable). Raises ``KeyError`` naming a variable that is not a column and
    :class:`~regrowth.errors.DataError` when a province has no boundary (from
    :func:`read_boundaries`) or is not among ``w``'s ids.
    """
    if isinstance(variables, str):
        variables = [variables]
    missing = [v for v in variables if v not in panel.columns]
    if missing:
        raise KeyError(f"variables {missing} are not columns of the panel")
    region = panel.index.get_level_values("region")
    year = panel.index.get_level_values("year")
    keys = list(dict.fromkeys(region))
    if w is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", IslandWarning)
            w = weights(kind, ids=keys, k=k, transform="b", **weights_kwargs)
    dense = w_to_frame(w)
    absent = [r for r in keys if r not in dense.index]
    if absent:
        raise DataError(f"province(s) {absent} are not in the spatial weights (W ids: "
                        f"{list(dense.index)})", hint="build W with ids= the sample's provinces")
    dense = dense.loc[keys, keys].to_numpy(dtype=float)
    out = pd.DataFrame(index=panel.index)
    for var in variables:
        wide = pd.Series(panel[var].to_numpy(dtype=float), index=[region, year]).unstack(0)
        wide = wide.reindex(columns=keys)
        values = wide.to_numpy()
        seen = np.isfinite(values).astype(float)             # year x province
        num = np.nan_to_num(values) @ dense.T                 # sum_j w_ij x_jt (observed j)
        den = seen @ dense.T                                  # sum_j w_ij over observed j
        with np.errstate(invalid="ignore", divide="ignore"):
            lag = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
        lagged = pd.DataFrame(lag, index=wide.index, columns=keys).stack(future_stack=True)
        lagged.index = lagged.index.swaplevel()
        out[f"{prefix}{var}"] = lagged.reindex(list(zip(region, year))).to_numpy()
    return out
