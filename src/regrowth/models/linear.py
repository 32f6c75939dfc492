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

The kinds (and their aliases) are entries of :mod:`regrowth.models.registry`;
``fit_panel`` dispatches to the entry's ``fit_panel`` callable, so an estimator
registered elsewhere with one (e.g. ``"pcse"``) is reachable here too.

Specifications (``fit_spec``): a column of ``specs/models.toml`` with a linear estimator
is fitted as ``outcome ~ 1 + regressors [+ year_<t> dummies] [+ province_<key> dummies]``;
``fe`` with ``year_effects`` is the two-way within estimator (``+ TimeEffects``), and its
province effects are the ``EntityEffects`` it always has; ``re`` refuses province effects
(province dummies would be collinear with, and contradict, the random province effect).

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
``small_sample="linearmodels"`` gives linearmodels' own numbers. Validated against R
plm + sandwich with Stata's factor (``tests/inference/test_stata_se_and_cr2.py``).

What linearmodels' ``debiased`` really does (linearmodels 7.1, as pinned): ``debiased=True``
(the default of ``fit`` in this version) multiplies the covariance by n/(n - k - d) — k the
regressors including the constant, d the absorbed effects it counts (none when a single
effect is nested in the clusters) — which is *not* Stata's (N-1)/(N-K), and makes
``pvalues`` use t(n - k - d), not t(G-1); the G/(G-1) cluster factor needs the separate
``group_debias=True``. ``debiased=False`` gives the plain CR0 sandwich (scaled by
n/(n - d) when effects are counted) and normal p-values. With 256 observations and 16
clusters the standard errors differ by a few percent, but t(n - k - d) instead of t(15)
is what made the fixed-effects 재정자립도 p-value too small.

:func:`regrowth.report.tidy.tidy` turns any of the four results into the package's one coefficient
table (term, equation, estimate, std_error, statistic, p_value, ci_low, ci_high).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from regrowth.errors import SpecificationError
from regrowth.models.design import effect_dummies
from regrowth.models.registry import Estimator, Option, get, register
from regrowth.models.fgls import PanelFGLS
from linearmodels import PanelOLS, PooledOLS, RandomEffects
from regrowth.models.covariance import fit_stata, with_conley
from regrowth.errors import EstimationError

__all__ = ["fit_panel", "fit_spec"]


def fit_panel(kind: str, formula_or_dependent: Any, data: Any = None, *,
              cov_type: str = "unadjusted", model_options: dict | None = None,
              **cov_kwds: Any):
    """Fit one growth model by name.

    Parameters
    ----------
    kind : "fgls", "re", "fe" or "pooled" (aliases: "xtgls", "random", "within",
        "fixed", "ols"), or any other registered estimator with a ``fit_panel`` entry.
    formula_or_dependent : a formula string (then ``data`` is the DataFrame), or the
        dependent Series (then ``data`` is the exog DataFrame).
    data : DataFrame with an (entity, time) MultiIndex.
    cov_type : covariance estimator (see the module docstring).
    model_options : keyword arguments for the model's constructor (e.g. ``panels``,
        ``corr``, ``rhotype``, ``igls`` for "fgls"; ``weights`` for linearmodels).
    **cov_kwds : passed to ``fit`` (e.g. ``cluster_entity``, ``kernel``,
        ``bandwidth``, ``debiased``; ``nmk`` for "fgls"). For "re", "fe" and "pooled",
        ``small_sample="stata"`` (the default) makes ``"clustered"`` (one cluster
        variable) and ``"kernel"`` results carry Stata's covariance and reference
        distribution (see "Stata-equal inference" above); ``small_sample="linearmodels"``,
        or passing ``debiased``/``group_debias``, gives linearmodels' own.

    Returns
    -------
    A linearmodels ``PanelEffectsResults``/``RandomEffectsResults``/``PanelResults``
    (wrapped in :class:`regrowth.inference.stata.StataPanelResults` for Stata-equal
    clustered/Driscoll-Kraay inference), or a :class:`~regrowth.models.fgls.PanelFGLSResults`.
    """
    entry = get(kind, what="panel estimator")
    if entry.fit_panel is None:
        raise SpecificationError(f"unknown panel estimator {kind!r}: {entry.name} is a "
                                 f"{entry.family} model without a fit_panel entry point")
    if isinstance(formula_or_dependent, str) and not isinstance(data, pd.DataFrame):
        raise SpecificationError("a formula needs `data`, a DataFrame indexed by "
                                 "(entity, time)")
    return entry.fit_panel(formula_or_dependent, data, cov_type=cov_type,
                           model_options=dict(model_options or {}), **cov_kwds)


def _fit_fgls(formula_or_dependent, data, *, cov_type, model_options, **cov_kwds):
    if cov_type not in ("unadjusted", "nonrobust", "conventional"):
        raise SpecificationError(
            f"cov_type={cov_type!r} is not available for FGLS: xtgls reports only "
            "the model-based covariance (use nmk=True for the n - k version)")
    unknown = set(cov_kwds) - {"nmk"}
    if unknown:
        raise SpecificationError(f"unknown FGLS fit options: {sorted(unknown)}")
    model = (PanelFGLS.from_formula(formula_or_dependent, data, **model_options)
             if isinstance(formula_or_dependent, str)
             else PanelFGLS(formula_or_dependent, data, **model_options))
    return model.fit(**cov_kwds)


def _linearmodels(kind: str):
    def fit(formula_or_dependent, data, *, cov_type, model_options, **cov_kwds):
        small_sample = cov_kwds.pop("small_sample", "stata")
        if small_sample not in ("stata", "linearmodels"):
            raise SpecificationError(f"small_sample={small_sample!r}: use 'stata' or "
                                     "'linearmodels'")

        if cov_type == "clustered" and not any(
                k in cov_kwds for k in ("cluster_entity", "cluster_time", "clusters")):
            cov_kwds = {**cov_kwds, "cluster_entity": True}
        cls = {"re": RandomEffects, "pooled": PooledOLS, "fe": PanelOLS}[kind]
        opts = dict(model_options)
        if isinstance(formula_or_dependent, str):
            formula = formula_or_dependent
            if kind == "fe" and "EntityEffects" not in formula:
                formula = f"{formula} + EntityEffects"
            model = cls.from_formula(formula, data, **opts)
        else:
            if kind == "fe":
                opts.setdefault("entity_effects", True)
            model = cls(formula_or_dependent, data, **opts)
        _refuse_constant_dependent(model)
        if small_sample == "stata":
            wrapped = fit_stata(model, kind, cov_type, cov_kwds)
            if wrapped is not None:
                return wrapped
        return model.fit(cov_type=cov_type, **cov_kwds)
    return fit


def _refuse_constant_dependent(model) -> None:
    """Raise EstimationError if the dependent variable does not vary (linearmodels would
    return an exact fit, or divide by zero for random effects)."""
    dep = model.dependent
    y = np.asarray(dep.values2d, dtype=float).ravel()
    y = y[np.isfinite(y)]
    if y.size and np.all(y == y[0]):
        name = dep.vars[0] if getattr(dep, "vars", None) else "dependent"
        raise EstimationError(
            f"the dependent variable {name!r} is constant ({y[0]:g} in all {y.size} complete "
            "observations): there is nothing to explain. Check the outcome column and the "
            "sample (years, regions) it is restricted to.")


# ----------------------------------------------------------------------------- specs

def _formula(outcome: str, terms: list[str]) -> str:
    return f"{outcome} ~ 1" + "".join(f" + {t}" for t in terms)


def _cluster_kwds(spec, data: pd.DataFrame) -> dict:
    if spec.se_groups == "region":
        return {"cluster_entity": True}
    values = (data.index.get_level_values(spec.se_groups) if spec.se_groups in data.index.names
              else data[spec.se_groups])
    return {"clusters": pd.DataFrame({spec.se_groups: pd.factorize(pd.Series(values))[0]},
                                     index=data.index)}


def fit_spec(spec, data: pd.DataFrame):
    """Fit a linear :class:`regrowth.specs.ColumnSpec` on its estimation sample.

    Year/province effects as dummies (``year_<t>``, ``province_<key>``) or, for ``fe``, as
    linearmodels' ``TimeEffects``/``EntityEffects``; SEs from ``spec.se_type``.
    Returns the results of :func:`fit_panel`.
    """
    entry = get(spec.estimator)
    two_way = spec.year_effects and entry.year_effects == "time_effects"
    dummies = effect_dummies(spec, data, year=spec.year_effects and not two_way,
                             province=spec.province_effects and entry.province_effects == "dummies")
    frame = pd.concat([data[[spec.outcome, *spec.regressors]].astype(float), dummies], axis=1)
    formula = _formula(spec.outcome, [*spec.regressors, *dummies.columns])
    if two_way:
        formula += " + TimeEffects"
    opts = {o.name: spec.options.get(o.name, o.default) for o in entry.options}
    if entry.name == "fgls":
        nmk = opts.pop("nmk")
        return fit_panel("fgls", formula, frame, model_options=opts, nmk=nmk)
    kw: dict = {}
    if spec.se_type == "conley":
        res = fit_panel(entry.name, formula, frame, cov_type="unadjusted")
        return with_conley(res, opts["cutoff_km"], kernel=opts["conley_kernel"],
                           lag_cutoff=opts["lag_cutoff"])
    cov_type = {"unadjusted": "unadjusted", "robust": "robust", "cluster": "clustered",
                "kernel": "kernel"}[spec.se_type]
    if spec.se_type == "cluster":
        kw = _cluster_kwds(spec, data)
    elif spec.se_type == "kernel":
        kw = {"kernel": opts["kernel"]}
        if opts.get("bandwidth") is not None:
            kw["bandwidth"] = opts["bandwidth"]
    return fit_panel(entry.name, formula, frame, cov_type=cov_type, **kw)


# ----------------------------------------------------------------------------- registry

_LINEAR_SE = ("unadjusted", "robust", "cluster", "kernel")
_KERNEL_OPTIONS = (
    Option("bandwidth", "float", None, "Driscoll-Kraay kernel bandwidth in years "
           "(linearmodels' default floor(4 (T/100)^(2/9)) when omitted)", minimum=0,
           se_types=("kernel",)),
    Option("kernel", "str", "bartlett", "Driscoll-Kraay kernel (Stata xtscc uses Bartlett)",
           choices=("bartlett", "parzen", "qs"), se_types=("kernel",)),
)

register(Estimator(
    name="fgls", label="xtgls (FGLS)", stata="xtgls", family="linear", reports=("ar1_rho",),
    doc="panel FGLS: heteroskedastic/correlated panels, AR(1) errors (Prais-Winsten)",
    aliases=("xtgls", "gls"),
    options=(
        Option("panels", "str", "hetero", "xtgls panels(): error covariance across panels",
               choices=("iid", "hetero", "correlated")),
        Option("corr", "str", "ar1", "xtgls corr(): within-panel autocorrelation",
               choices=("independent", "ar1", "psar1")),
        Option("rhotype", "str", "regress", "xtgls rhotype(): how rho is computed",
               choices=("regress", "freg", "tscorr", "dw", "theil", "nagar", "onestep")),
        Option("igls", "bool", False, "xtgls igls: iterate to the ML estimate"),
        Option("nmk", "bool", False, "xtgls nmk: normalise the covariance by n - k, not n"),
        Option("force", "bool", False, "xtgls force: treat unequally spaced periods as adjacent"),
        Option("tol", "float", 1e-7, "xtgls tolerance(): igls convergence tolerance", minimum=0),
        Option("maxiter", "int", 100, "xtgls iterate(): igls iteration limit", minimum=1),
    ),
    se_types=("unadjusted",), default_se="unadjusted",
    year_effects="dummies", province_effects="dummies",
    fit=fit_spec, fit_panel=_fit_fgls,
))

register(Estimator(
    name="re", label="random effects", stata="xtreg, re", family="linear",
    doc="random-effects GLS, Swamy-Arora variance components (linearmodels RandomEffects)",
    aliases=("random", "random_effects"), options=_KERNEL_OPTIONS,
    se_types=_LINEAR_SE, default_se="unadjusted",
    year_effects="dummies", province_effects="",
    province_effects_note="random effects model the province effect as random; province "
                          "dummies contradict it (use estimator = 'fe' for fixed province "
                          "effects)",
    fit=fit_spec, fit_panel=_linearmodels("re"),
))

_CONLEY_OPTIONS = (
    Option("cutoff_km", "float", 250.0, "Conley SEs: distance (km, between province centroids) "
           "beyond which same-year pairs get weight 0", minimum=0, se_types=("conley",)),
    Option("lag_cutoff", "int", 0, "Conley SEs: years apart within a province with Newey-West "
           "weights (0: none)", minimum=0, se_types=("conley",)),
    Option("conley_kernel", "str", "bartlett", "Conley SEs: spatial kernel",
           choices=("bartlett", "uniform"), se_types=("conley",)),
)

register(Estimator(
    name="fe", label="fixed effects", stata="xtreg, fe", family="linear",
    doc="within estimator (linearmodels PanelOLS with EntityEffects; + TimeEffects = two-way)",
    aliases=("within", "fixed", "fixed_effects"), options=_KERNEL_OPTIONS + _CONLEY_OPTIONS,
    se_types=(*_LINEAR_SE, "conley"), default_se="unadjusted",
    year_effects="time_effects", province_effects="implied",
    fit=fit_spec, fit_panel=_linearmodels("fe"),
))

register(Estimator(
    name="pooled", label="pooled OLS", stata="regress", family="linear",
    doc="pooled OLS (linearmodels PooledOLS)",
    aliases=("ols", "pooled_ols"), options=_KERNEL_OPTIONS,
    se_types=_LINEAR_SE, default_se="unadjusted",
    year_effects="dummies", province_effects="dummies",
    fit=fit_spec, fit_panel=_linearmodels("pooled"),
))
