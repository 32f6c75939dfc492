"""The multiverse: a specification curve over every declared choice (``regrowth curve``).

A ``[[curve]]`` block of ``specs/models.toml`` names an outcome, the *focal* coefficients whose
robustness is in question, and the **dimensions** of choice; the curve is the Cartesian product
of the dimensions' options, minus the combinations a dimension does not apply to (a dispersion
equation for Poisson, say) and minus the combinations the block *declares* excluded
(``[[curve.exclude]]``, each with a reason). Every remaining specification is fitted and its
focal estimates, standard errors, p-values, a bootstrap p-value, N, convergence flag and
warnings are written to ``results/curve/<id>.{json,csv}`` with the figure of Simonsohn,
Simmons & Nelson (2020, *Nature Human Behaviour* 4, 1208-1214), in the style of R's ``specr``:
estimates sorted with their 95% intervals on top, an indicator panel of the choices below.

Dimensions (all optional except ``estimator``, ``sample`` and one focal role)
-------------------------------------------------------------------------------
=================  ==========================================================================
``decentralization``  list of panel variables (the level, e.g. ``fiscal_self_reliance``); the
                   regressor is its lag ``<var>_l<lag>``. Focal role ``decentralization``.
``innovation``     same, for the innovation measure of the growth equation (focal role
                   ``innovation``).
``lag``            list of ints: the lag (years) of the focal regressors. ``<var>_l1`` is
                   taken from the panel; a longer lag the panel lacks is derived here from the
                   panel's own rule (value of the same province in calendar year t-k, missing
                   if that year is missing), not added to the panel.
``controls``       table ``name = [variables]``: the other regressors.
``dispersion``     table ``name = [variables]``: ln(alpha) regressors; gnb only (collapsed to
                   ``-`` for every other estimator).
``outcome_form``   ``"count"`` and/or ``"exposure"`` (the curve's ``exposure`` variable enters
                   the mean as a log offset); count estimators only.
``estimator``      list of estimator names of the registry (``regrowth.models.registry``), or
                   table ``name = {estimator = ..., options = {...}, province_effects = bool}``
                   (options checked against the registry entry). Count: ``gnb`` (Stata
                   gnbreg), ``nb2`` (nbreg), ``poisson``; ``{estimator = "poisson",
                   province_effects = true}`` is Poisson with province dummies, which equals
                   conditional fixed-effects Poisson for the slopes. Linear: ``fgls`` (xtgls),
                   ``pcse`` (xtpcse), ``fe`` (xtreg, fe), ``re`` (xtreg, re), ``pooled``.
``year_effects``   list of booleans: year dummies (first sample year the base).
``sample``         table ``name = {years = [a, b], exclude = [regions], drop_if = [flags]}``.
``inference``      ``model`` (OIM / conventional), ``robust``, ``cluster`` (by ``cluster``,
                   Stata's scaling), ``cr2`` (Bell-McCaffrey, linear), ``kernel``
                   (Driscoll-Kraay, linear), ``bootstrap`` (p-value of record is the
                   bootstrap p-value: wild cluster restricted after linear models, score
                   bootstrap after ML, as Stata's ``boottest``).
=================  ==========================================================================

Every fitted model (one per combination of everything but ``inference``) also carries a
bootstrap p-value for each focal coefficient, ``bootstrap = {reps, weights}`` draws, so the
bootstrap and the analytic p-values can be compared on every specification.

Seeds and identical output on every backend
-------------------------------------------
A specification's id is its option names joined by ``.`` in the fixed dimension order above
(``fiscal_self_reliance.l1.ris.capital_size.count.gnb.ye.p16.cluster``); the model id drops the
inference part. The bootstrap seed of a model is drawn from ``numpy.random.SeedSequence``
with entropy (curve seed, sha256 of the model id), so it depends on neither the order of
execution nor the batch nor the worker. The null draws of the inferential curve use
(curve seed, sha256 of ``"null"``, draw). Results are gathered and written in enumeration
order, so ``results/curve/<id>.json`` is byte-identical for ``serial``, ``processes``
(joblib/loky) and ``dask`` (``distributed``) and for every worker count.

Batches
-------
Work is sent as batches of many models (``batch_size`` models per task, default 16): a Dask
task costs about 0.2-1 ms of scheduler time and a joblib task a pickle round trip, both
negligible against ~16 fits. A worker keeps nothing between batches (no caches), so its memory
does not grow with the number of specifications run; ``benchmarks/bench_curve.py`` measures it.

Inferential specification curve (linear curves, ``null_draws > 0``)
-------------------------------------------------------------------
Simonsohn et al. (2020), section "Inference": for each focal role and each specification s
with an analytic p-value, the outcome is replaced by y - b_s x_s (the null b = 0 imposed on the
data, everything else as estimated); each draw resamples provinces with replacement
(duplicates become distinct panels) and re-estimates every such specification on its own null
data. The draws give the distribution, under the null, of the median estimate and of the share
of specifications with p < 0.05; the p-value of the observed curve is (1 + the number of draws
at least as extreme (|median| >=, share significant >=)) / (1 + draws).

``null_method = "linear"`` (default) computes the draws of every linear specification as a
linear map of the null outcome, its GLS transformation held at the full-sample estimate as
``boottest`` holds it: one fit per model, then all draws by array products
(:mod:`regrowth.curve.linear_null`; pooled OLS and FE equal refits, RE/FGLS/PCSE differ only by
the held transformation). ``null_method = "refit"`` refits every specification in every draw
(the validation reference, about 22 s per draw for the 384 growth specifications).

Modules
-------
``schema`` (the ``[[curve]]`` keys, parsed with the spec file's vocabulary), ``enumeration``
(the specifications, each carrying the ``ColumnSpec`` it is fitted as), ``fitting`` (a model
group per task), ``backends`` (serial, processes, Dask), ``null`` (the inferential curve),
``linear_null`` (the null draws' linear maps) and ``run`` (the command and the outputs); the
figures are :mod:`regrowth.report.curve_figure`.

Adapters to code owned elsewhere
--------------------------------
Three functions of ``fitting`` (and ``linear_null.build_map``, which rebuilds a fit's
transformed regression with ``regrowth.inference.boottest``'s design functions) are the only
places that call other modules' fitting or inference code: ``_fit_one`` (every estimator,
through :func:`regrowth.fit.fit_column` and the estimator registry
``regrowth.models.registry``; year and province effects as the registry implements them),
``_bootstrap_p`` (``regrowth.inference.boottest``, ``ci=False``) and ``_cr2``
(``regrowth.inference.cr2``). An estimator or an inference choice that is not available for a
specification (no such covariance for that estimator; a results class ``boottest`` does not
support) raises there and the specification is listed under ``failures`` with the reason;
nothing is silently dropped.

Determinism
-----------
Every backend fits with one BLAS thread per process (:func:`one_blas_thread`): sums in
multi-threaded BLAS can depend on the thread count, and the serial backend runs in the calling
process, whose BLAS would otherwise use every core.
"""

from __future__ import annotations

from regrowth.curve.backends import BACKENDS, DEFAULT_BACKEND, Executor
from regrowth.curve.enumeration import Spec, enumerate_specs, prepare_panel, spec_seed
from regrowth.curve.fitting import fit_model_group, group_specs, one_blas_thread, run_batch
from regrowth.curve.null import null_curve
from regrowth.curve.run import run, run_curve, summarize, to_frame, to_json, write_outputs
from regrowth.curve.schema import (
    DIMENSIONS,
    FOCAL_ROLES,
    INFERENCE,
    NA,
    RESULTS,
    Curve,
    Option,
    Unavailable,
    load,
    validate,
)

__all__ = ["BACKENDS", "DEFAULT_BACKEND", "DIMENSIONS", "FOCAL_ROLES", "INFERENCE", "NA", "RESULTS", "Curve",
           "Executor", "Option", "Spec", "Unavailable", "enumerate_specs", "fit_model_group",
           "group_specs", "load", "null_curve", "one_blas_thread", "prepare_panel", "run",
           "run_batch", "run_curve", "spec_seed", "summarize", "to_frame", "to_json", "validate",
           "write_outputs"]
