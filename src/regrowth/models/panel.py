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

Covariances (linearmodels names, passed through with ``**cov_kwds``):
``"unadjusted"`` (classical; the default), ``"robust"`` (White), ``"clustered"``
(``cluster_entity=True`` is assumed when no cluster is named; linearmodels applies
its small-sample factor with ``debiased=True``), ``"kernel"`` (Driscoll-Kraay:
HAC on the cross-sectional sums of the scores; ``kernel="bartlett"``,
``bandwidth=...``; Stata ``xtscc``).

Stata-equal inference (issue 9)
-------------------------------
With ``cov_type="clustered"`` (one cluster variable; by entity unless ``clusters`` is
given) the result is a :class:`regrowth.inference.stata.StataPanelResults`: the
covariance is Stata's ``xtreg, fe|re vce(cluster id)`` (``regress, vce(cluster id)`` for
pooled OLS), CR0 x G/(G-1) (N-1)/(N-K) with K = regressors + constant (fixed effects: not
the absorbed entity effects, which are nested in the clusters; absorbed time effects
count, like ``i.year`` dummies), and ``pvalues``/``conf_int()`` use t(G-1), as Stata
does for ``xtreg, fe``. (Stata prints z for ``xtreg, re``; the package uses t(G-1) there
too, the conservative few-cluster choice.) With ``cov_type="kernel"`` (Driscoll-Kraay) the
covariance is linearmodels' and the reference distribution t(T-1), as Stata's ``xtscc``.
``small_sample="linearmodels"`` gives linearmodels' own numbers.

What linearmodels' ``debiased`` really does (linearmodels 7.1, as pinned): ``debiased=True``
(the default of ``fit`` in this version) multiplies the covariance by n/(n - k - d) — k the
regressors including the constant, d the absorbed effects it counts (none when a single
effect is nested in the clusters) — which is *not* Stata's (N-1)/(N-K), and makes
``pvalues`` use t(n - k - d), not t(G-1); the G/(G-1) cluster factor needs the separate
``group_debias=True``. ``debiased=False`` gives the plain CR0 sandwich (scaled by
n/(n - d) when effects are counted) and normal p-values. With 256 observations and 16
clusters the difference in the standard errors is small (about 3%), but t(240) instead of
t(15) moves p = 0.034 to about 0.056 for the fixed-effects 재정자립도 coefficient.

:func:`regrowth.tidy.tidy` turns any of the four results into the package's one coefficient
table (term, equation, estimate, std_error, statistic, p_value, ci_low, ci_high).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from regrowth.errors import SpecificationError

__all__ = ["KINDS", "fit_panel"]

KINDS = ("fgls", "re", "fe", "pooled")
_ALIASES = {"fgls": "fgls", "xtgls": "fgls", "gls": "fgls",
            "re": "re", "random": "re", "random_effects": "re",
            "fe": "fe", "within": "fe", "fixed": "fe", "fixed_effects": "fe",
            "pooled": "pooled", "ols": "pooled", "pooled_ols": "pooled"}


def _kind(kind: str) -> str:
    key = str(kind).lower()
    if key not in _ALIASES:
        raise SpecificationError(f"unknown panel estimator {kind!r}; choose one of {KINDS}")
    return _ALIASES[key]


def fit_panel(kind: str, formula_or_dependent: Any, data: Any = None, *,
              cov_type: str = "unadjusted", model_options: dict | None = None,
              small_sample: str = "stata", **cov_kwds: Any):
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
    small_sample : "stata" (default): ``"clustered"`` (one cluster variable) and
        ``"kernel"`` results carry Stata's covariance and reference distribution (see
        "Stata-equal inference" in the module docstring); "linearmodels": linearmodels'
        own. Passing ``debiased`` or ``group_debias`` also selects linearmodels' own.
    **cov_kwds : passed to ``fit`` (e.g. ``cluster_entity``, ``kernel``,
        ``bandwidth``, ``debiased``; ``nmk`` for "fgls").

    Returns
    -------
    A linearmodels ``PanelEffectsResults``/``RandomEffectsResults``/``PanelResults``
    (wrapped in :class:`regrowth.inference.stata.StataPanelResults` for Stata-equal
    clustered/Driscoll-Kraay inference), or a :class:`~regrowth.models.fgls.PanelFGLSResults`.
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
    if small_sample == "stata":
        from regrowth.inference.stata import fit_stata

        wrapped = fit_stata(model, kind, cov_type, cov_kwds)
        if wrapped is not None:
            return wrapped
    elif small_sample != "linearmodels":
        raise SpecificationError(f"small_sample={small_sample!r}: use 'stata' or 'linearmodels'")
    return model.fit(cov_type=cov_type, **cov_kwds)
