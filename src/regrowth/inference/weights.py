"""Wild-bootstrap weight distributions (Stata ``boottest``'s ``weighttype()``).

Every distribution has mean 0 and variance 1:

``rademacher``  +1 or -1, each with probability 1/2 (with G clusters and 2^G <= reps all
                2^G sign vectors are enumerated instead of drawn: the p-value is then exact
                and needs no seed).
``webb``        six points +-sqrt(1/2), +-1, +-sqrt(3/2), each with probability 1/6
                (Webb 2023; better than Rademacher when G is below about 12).
``mammen``      -(sqrt5 - 1)/2 with probability (sqrt5 + 1)/(2 sqrt5), else (sqrt5 + 1)/2
                (Mammen 1993; third moment 1).
``normal``      standard normal.
"""

from __future__ import annotations

import numpy as np

__all__ = ["WEIGHTS", "DEFAULT_WEIGHTS", "DEFAULT_REPS", "DEFAULT_SEED", "MAX_REPS", "draw_weights",
           "enumerate_signs"]

WEIGHTS = ("rademacher", "webb", "mammen", "normal")

#: Defaults of a bootstrap the spec file asks for without saying more (``se.bootstrap = {}``,
#: a curve's ``bootstrap``): Stata ``boottest``'s weights and draws, and the package's seed.
DEFAULT_WEIGHTS = "rademacher"
DEFAULT_REPS = 9999
DEFAULT_SEED = 20181121

#: The most draws a spec file may ask for (``se.bootstrap.reps``, a curve's
#: ``bootstrap.reps``): the (G, reps) weight array of G clusters holds 8 G reps bytes (17
#: provinces: 14 MB, 229 시군구: 183 MB at this cap), and beyond 10^5 draws the Monte Carlo
#: error of a p-value near 0.05 (about 0.0007) is far below any reported digit.
MAX_REPS = 100_000

_SQ5 = np.sqrt(5.0)
_WEBB = np.array([-np.sqrt(1.5), -1.0, -np.sqrt(0.5), np.sqrt(0.5), 1.0, np.sqrt(1.5)])
_ENUM_CACHE: dict[int, np.ndarray] = {}


def enumerate_signs(G: int) -> np.ndarray:
    """All 2^G Rademacher sign vectors as a (G, 2^G) float array (column b is the binary
    expansion of b with bit = 1 meaning -1; column 0 is all ones, the original sample)."""
    if G not in _ENUM_CACHE:
        b = np.arange(2 ** G, dtype=np.int64)
        bits = (b[None, :] >> np.arange(G, dtype=np.int64)[:, None]) & 1
        mat = 1.0 - 2.0 * bits.astype(np.float64)
        mat.setflags(write=False)
        _ENUM_CACHE.clear()  # keep at most one (up to 2^20 x 20 floats) in memory
        _ENUM_CACHE[G] = mat
    return _ENUM_CACHE[G]


def draw_weights(kind: str, G: int, reps: int, rng: np.random.Generator | None
                 ) -> tuple[np.ndarray, bool]:
    """Weights for ``reps`` draws over ``G`` clusters: a (G, B) array and whether the draws
    are the full Rademacher enumeration (then B = 2^G, which may be less than ``reps``)."""
    kind = str(kind).lower()
    if kind not in WEIGHTS:
        raise ValueError(f"weights={kind!r}: choose one of {WEIGHTS}")
    if kind == "rademacher" and G <= 30 and 2 ** G <= reps:
        return enumerate_signs(G), True
    if rng is None:
        rng = np.random.default_rng()
    if kind == "rademacher":
        v = 1.0 - 2.0 * rng.integers(0, 2, size=(G, reps)).astype(np.float64)
    elif kind == "webb":
        v = _WEBB[rng.integers(0, 6, size=(G, reps))]
    elif kind == "mammen":
        p_low = (_SQ5 + 1.0) / (2.0 * _SQ5)
        low = rng.random(size=(G, reps)) < p_low
        v = np.where(low, -(_SQ5 - 1.0) / 2.0, (_SQ5 + 1.0) / 2.0)
    else:
        v = rng.standard_normal(size=(G, reps))
    return v, False
