"""Stata's small-sample scaling of maximum-likelihood covariances, in one place.

For ML estimators (``gnbreg``, ``nbreg``, ``poisson``) Stata scales the sandwich
``H^{-1} M H^{-1}`` by

==================  =========================  ===========
``vce()``           meat ``M``                 scale
==================  =========================  ===========
``oim``             (none: ``-H^{-1}``)        1
``robust``          sum_i s_i s_i'             N / (N - 1)
``cluster g``       sum_g S_g S_g'             G / (G - 1)
==================  =========================  ===========

(Stata [U] 20.22 and [P] _robust: ML estimators use G/(G-1), not the ``regress``
factor (G/(G-1))(N-1)/(N-k).) GNB, NB2 and Poisson all take their factor from
:func:`stata_ml_scale`; statsmodels' Poisson gets it through its ``scaling_factor``
covariance keyword, so nothing is patched after a fit.
"""

from __future__ import annotations

__all__ = ["stata_ml_scale"]


def stata_ml_scale(se_type: str, nobs: int, n_groups: int | None = None) -> float:
    """Stata's factor for an ML covariance of type ``se_type`` (dimensionless).

    ``se_type``: "oim"/"nonrobust" (1), "robust"/"hc1" (N/(N-1)), "hc0" (1, no correction),
    "cluster" (G/(G-1), ``n_groups`` = G >= 2 required).
    """
    key = str(se_type).lower()
    if key in ("oim", "nonrobust", "hc0"):
        return 1.0
    if key in ("robust", "hc1"):
        if nobs < 2:
            raise ValueError("a robust covariance needs at least 2 observations")
        return nobs / (nobs - 1.0)
    if key == "cluster":
        if n_groups is None or n_groups < 2:
            raise ValueError("a cluster covariance needs at least 2 clusters")
        return n_groups / (n_groups - 1.0)
    raise ValueError(f"se_type={se_type!r}: use 'oim', 'robust', 'hc0' or 'cluster'")
