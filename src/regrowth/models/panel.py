"""One entry point for the growth models: FGLS, random effects, fixed effects, pooled OLS.

The replication layer names an estimator in ``specs/models.toml`` and calls
:func:`fit_panel` with it, so every growth column goes down the same path::

    fit_panel("fgls", "growth ~ 1 + x1 + x2", panel, model_options={"panels": "hetero",
              "corr": "ar1"})
    fit_panel("re", "growth ~ 1 + x1 + x2", panel)                      # Swamy-Arora GLS
    fit_panel("fe", "growth ~ 1 + x1 + x2", panel, cov_type="clustered")  # by entity
    fit_panel("fe", "growth ~ 1 + x1 + x2", panel, cov_type="kernel")     # Driscoll-Kraay

``data`` is indexed by an (entity, time) MultiIndex, as linearmodels expects.

Estimators
----------
``"fgls"``    :class:`regrowth.models.fgls.PanelFGLS` (Stata ``xtgls``). Only the
              model-based covariance exists (``cov_type="unadjusted"``); pass
              ``nmk=True`` for the n - k normalisation.
``"re"``      ``linearmodels.RandomEffects``: GLS with the Swamy-Arora variance
              components (equal to R ``plm(model = "random")`` with the default
              ``random.method = "swar"``; Stata ``xtreg, re``).
``"fe"``      ``linearmodels.PanelOLS`` with entity effects (R ``plm(model =
              "within")``; Stata ``xtreg, fe``). An ``EntityEffects`` term is added
              to the formula unless present. A ``1 +`` in the formula makes
              linearmodels report the average of the entity effects as Intercept; the
              slopes are unchanged.
``"pooled"``  ``linearmodels.PooledOLS``.
``"pcse"``    :class:`regrowth.models.pcse.PanelPCSE` (Stata ``xtpcse``): OLS or
              Prais-Winsten coefficients with Beck-Katz panel-corrected SEs;
              ``model_options`` take ``correlation``, ``rhotype``, ``np1``,
              ``hetonly``, ``independent``, ``pairwise``, ``force`` and ``nmk``.

Covariances (linearmodels names, passed through with ``**cov_kwds``):
``"unadjusted"`` (classical; the default), ``"robust"`` (White), ``"clustered"``
(``cluster_entity=True`` is assumed when no cluster is named; linearmodels applies
its small-sample factor with ``debiased=True``), ``"kernel"`` (Driscoll-Kraay:
HAC on the cross-sectional sums of the scores; ``kernel="bartlett"``,
``bandwidth=...``; Stata ``xtscc``).

:func:`regrowth.tidy.tidy` turns any of the four results into the package's one coefficient
table (term, equation, estimate, std_error, statistic, p_value, ci_low, ci_high).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from regrowth.errors import SpecificationError

__all__ = ["fit_panel", "KINDS"]

KINDS = ("fgls", "re", "fe", "pooled", "pcse")
_ALIASES = {"fgls": "fgls", "xtgls": "fgls", "gls": "fgls",
            "re": "re", "random": "re", "random_effects": "re",
            "fe": "fe", "within": "fe", "fixed": "fe", "fixed_effects": "fe",
            "pooled": "pooled", "ols": "pooled", "pooled_ols": "pooled",
            "pcse": "pcse", "xtpcse": "pcse"}


def _kind(kind: str) -> str:
    key = str(kind).lower()
    if key not in _ALIASES:
        raise SpecificationError(f"unknown panel estimator {kind!r}; choose one of {KINDS}")
    return _ALIASES[key]


def fit_panel(kind: str, formula_or_dependent: Any, data: Any = None, *,
              cov_type: str = "unadjusted", model_options: dict | None = None,
              **cov_kwds: Any):
    """Fit one growth model by name.

    Parameters
    ----------
    kind : "fgls", "re", "fe" or "pooled" (aliases: "xtgls", "random", "within",
        "fixed", "ols").
    formula_or_dependent : a formula string (then ``data`` is the DataFrame), or the
        dependent Series (then ``data`` is the exog DataFrame).
    data : DataFrame with an (entity, time) MultiIndex.
    cov_type : covariance estimator (see the module docstring).
    model_options : keyword arguments for the model's constructor (e.g. ``panels``,
        ``corr``, ``rhotype``, ``igls`` for "fgls"; ``weights`` for linearmodels).
    **cov_kwds : passed to ``fit`` (e.g. ``cluster_entity``, ``kernel``,
        ``bandwidth``, ``debiased``; ``nmk`` for "fgls").

    Returns
    -------
    A linearmodels ``PanelEffectsResults``/``RandomEffectsResults``/``PanelResults``,
    or a :class:`~regrowth.models.fgls.PanelFGLSResults`.
    """
    kind = _kind(kind)
    opts = dict(model_options or {})
    is_formula = isinstance(formula_or_dependent, str)
    if is_formula and not isinstance(data, pd.DataFrame):
        raise SpecificationError("a formula needs `data`, a DataFrame indexed by "
                                 "(entity, time)")
    if kind == "fgls":
        from regrowth.models.fgls import PanelFGLS

        if cov_type not in ("unadjusted", "nonrobust", "conventional"):
            raise SpecificationError(
                f"cov_type={cov_type!r} is not available for FGLS: xtgls reports only "
                "the model-based covariance (use nmk=True for the n - k version)")
        unknown = set(cov_kwds) - {"nmk"}
        if unknown:
            raise SpecificationError(f"unknown FGLS fit options: {sorted(unknown)}")
        model = (PanelFGLS.from_formula(formula_or_dependent, data, **opts) if is_formula
                 else PanelFGLS(formula_or_dependent, data, **opts))
        return model.fit(**cov_kwds)
    if kind == "pcse":
        return _fit_pcse(formula_or_dependent, data, is_formula, cov_type, opts, cov_kwds)

    from linearmodels import PanelOLS, PooledOLS, RandomEffects

    if cov_type == "clustered" and not any(
            k in cov_kwds for k in ("cluster_entity", "cluster_time", "clusters")):
        cov_kwds = {**cov_kwds, "cluster_entity": True}
    if kind == "re":
        cls = RandomEffects
    elif kind == "pooled":
        cls = PooledOLS
    else:
        cls = PanelOLS
    if is_formula:
        formula = formula_or_dependent
        if kind == "fe" and "EntityEffects" not in formula:
            formula = f"{formula} + EntityEffects"
        model = cls.from_formula(formula, data, **opts)
    else:
        if kind == "fe":
            opts.setdefault("entity_effects", True)
        model = cls(formula_or_dependent, data, **opts)
    return model.fit(cov_type=cov_type, **cov_kwds)


def _fit_pcse(formula_or_dependent, data, is_formula, cov_type, opts, cov_kwds):
    """Stata ``xtpcse``: the panel-corrected covariance is the only one it reports."""
    from regrowth.models.pcse import PanelPCSE

    if cov_type not in ("unadjusted", "pcse", "nonrobust", "conventional"):
        raise SpecificationError(
            f"cov_type={cov_type!r} is not available for PCSE: the estimator's covariance "
            "is the panel-corrected one (options hetonly/independent/pairwise/nmk change it)")
    nmk = bool(opts.pop("nmk", False) or cov_kwds.pop("nmk", False))
    if cov_kwds:
        raise SpecificationError(f"unknown PCSE fit options: {sorted(cov_kwds)}")
    model = (PanelPCSE.from_formula(formula_or_dependent, data, **opts) if is_formula
             else PanelPCSE(formula_or_dependent, data, **opts))
    return model.fit(nmk=nmk)
