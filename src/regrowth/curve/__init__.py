"""The multiverse: a specification curve over every declared choice (``regrowth curve``).

A ``[[curve]]`` block of ``specs/models.toml`` names an outcome, the *focal* coefficients whose
robustness is in question, and the **dimensions** of choice; the curve is the Cartesian product
of the dimensions' options, minus the combinations a dimension does not apply to (a dispersion
equation for Poisson, say) and minus the combinations the block *declares* excluded
(``[[curve.exclude]]``, each with a reason). A *model* is a choice of every dimension but
``inference``; its inference choices (the model x inference *cells*) share its estimate.
Every model is fitted once per distinct covariance and written once, with its focal
estimates, one p-value (and, for analytic covariances, one standard error and interval) per
inference choice, a bootstrap p-value, N, convergence flag and warnings, to
``results/curve/<id>.{json,csv}`` with the figure of Simonsohn, Simmons & Nelson (2020,
*Nature Human Behaviour* 4, 1208-1214), in the style of R's ``specr``: each distinct estimate
sorted with its 95% interval on top, an indicator panel of the choices below.

The recommended inference (the headline)
----------------------------------------
The share of estimates with p < 0.05 that the summary, the command's output and the figure
lead with uses, per model, the **recommended** p-value (``p_recommended``, and which one in
``recommended``): the bootstrap p-value where the curve computes one, else the
province-clustered p-value; never the model-based (OIM / conventional) one. A model with
neither (xtpcse: no bootstrap, no clustered covariance) is drawn open and not counted; the
summary says how many models each kind of p-value covers (``n_recommended_bootstrap``,
``n_recommended_cluster``, ``n_without_recommended``). ``by_inference`` keeps the share of
every declared inference choice for comparison.

Outputs
-------
``<id>.json`` (sorted keys): the curve's settings, ``exclusions`` (declared) and ``excluded``
(the cells they removed, with the reason), ``n_combinations`` (cells before exclusions),
``n_cells`` (model x inference cells enumerated), ``n_models`` (distinct estimates),
``n_fitted``, ``n_failed``, ``n_not_converged`` (models), ``n_inference_unavailable``
(cells of fitted models without a p-value), ``summary`` (per focal role, above),
``failures`` (``{id: model id, inference: [choices], stage: fit | inference |
convergence, reason}``), ``borderline`` (decisions a rounding difference could flip,
``{id, decision, reason}``: a convergence verdict whose scaled Newton decrement lies within
a factor 100 of :data:`regrowth.models._optim.TOL`; the decrement itself is not written,
being rounding noise at a maximum; the summary's ``n_p05_borderline`` counts p-values of
record within :data:`regrowth.curve.null.P05_MARGIN` of 0.05, and the null record's
``borderline_draws`` and ``p05_borderline`` the null draws whose identification
(:data:`regrowth.curve.linear_null.IDENTIFIED_RTOL`) or side of 0.05 is that close),
``models`` and, for curves with null draws, ``null``. A model record::

    {id, choices: {dimension: option} (no inference), estimator, inference: [choices],
     nobs, n_clusters, converged, convergence_borderline, warnings, error,
     unavailable: {inference: reason},
     terms: {role: {term, estimate, std_error: {inference: se}, p_value: {inference: p},
                    ci: {inference: [low, high]}, boot_p, boot_error?, null_error?,
                    recommended, p_recommended, ci_from, ci_low, ci_high}}}

(``null_error``: a count model whose bootstrap choice is excluded but whose restricted fit
the score null needed, and failed; the null lists it under ``left_out`` with that reason.)

``p_value["bootstrap"]`` is ``boot_p``; ``ci_low``/``ci_high`` are the 95% interval drawn in
the figure, from the first covariance of cluster, cr2, robust, kernel, model the model has
(``ci_from``). ``<id>.csv`` has one row per model and focal role: the choices, ``estimate``,
``recommended``, ``p_recommended``, ``p_<inference>`` and ``se_<inference>`` per declared
inference choice, ``boot_p``, the interval, N, clusters, convergence and errors.

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
bootstrap and the analytic p-values can be compared on every model; a model whose
``bootstrap`` cell is declared excluded is not bootstrapped.

Seeds and identical output on every backend
-------------------------------------------
A specification's id is its option names joined by ``.`` in the fixed dimension order above
(``fiscal_self_reliance.l1.ris.capital_size.count.gnb.ye.p16.cluster``); the model id drops the
inference part and is the ``id`` of a model record. The bootstrap seed of a model is drawn
from ``numpy.random.SeedSequence`` with entropy (curve seed, sha256 of the model id), so it
depends on neither the order of execution nor the batch nor the worker. The null draws of
the inferential curve use (curve seed, sha256 of ``"null"``, draw). Results are gathered and written in enumeration
order, so ``results/curve/<id>.json`` is byte-identical for ``serial``, ``processes``
(joblib/loky) and ``dask`` (``distributed``) and for every worker count.

Batches
-------
Work is sent as batches of many models (``batch_size`` models per task, default 16): a Dask
task costs about 0.2-1 ms of scheduler time and a joblib task a pickle round trip, both
negligible against ~16 fits. A worker keeps nothing between batches (no caches), so its memory
does not grow with the number of specifications run; ``benchmarks/bench_curve.py`` measures it.

Inferential specification curve (``null_draws > 0``)
----------------------------------------------------
Simonsohn et al. (2020), section "Inference": for each focal role and each fitted model s
(once, with its analytic p-value of record: clustered where the model has it, else the
estimator's own, :data:`regrowth.curve.null.NULL_RECORD`), the outcome is replaced by
y - b_s x_s (the null b = 0 imposed on the data, everything else as estimated); each draw
resamples provinces with replacement (duplicates become distinct panels) and re-estimates
every such model on its own null data. The draws give the distribution, under the null, of
the median estimate and of the share of models with p < 0.05; the p-value of the observed
curve is (1 + the number of draws at least as extreme (|median| >=, share significant >=)) /
(1 + draws). Observed and null shares use the same p-values, so the null carries their
over-rejection as far as resampling 16 provinces reproduces it: in Monte Carlo studies at the
growth design the share test rejected 5.5-8.2% and the median test 6.0-6.8% at 5%
(``benchmarks/montecarlo_growth_null.py``); with 999 draws its smallest p is 0.001.

``null_method = "linear"`` (default) computes the draws of every linear specification as a
linear map of the null outcome, its GLS transformation held at the full-sample estimate as
``boottest`` holds it: one fit per model, then all draws by array products
(:mod:`regrowth.curve.linear_null`; pooled OLS and FE equal refits, RE/FGLS/PCSE differ only by
the held transformation). ``null_method = "refit"`` refits every specification in every draw
(the validation reference, about 22 s per draw for the 384 growth specifications).

Count curves (``null_method = "score"``, their only and default method; ``linear`` and
``refit`` are for linear curves, and a method of the other family is refused naming
``curve.<id>.null_method``) take their null draws from the **score bootstrap** from each
model's restricted fit (:mod:`regrowth.curve.count_null`; Kline & Santos 2012, ``boottest``
after ML). Their **statistic of record is the one the score bootstrap bootstraps**: the score
test of b_j = 0 at the restricted fit, i.e. ``boottest``'s own statistic after ML
(``score_variance="onestep"``). Per model the observed estimate is the one-step estimate
sum_g a_g (the draw with w = 1) and the observed p the normal p of the score t at w = 1; the
B null draws are the same quantities with wild weights drawn once, one per province and
draw and shared by every model, so the draws are the multiplier bootstrap of the vector of
all models' score statistics and keep their joint distribution across models (Kline & Santos
2012; Chernozhukov, Chetverikov & Kato 2013). Observed and null then use the same statistic,
as in the linear null. The score statistic is **not** the headline's (the bootstrap p-value,
or the clustered Wald p at the unrestricted fit): the count null curve says whether the
score statistics of the curve's models are, jointly, more often significant (or their
one-step estimates further from zero) than under b = 0; its observed share of p < 0.05 is
the share of score tests below 0.05. In a Monte Carlo at the innovation design (16
provinces, ``benchmarks/montecarlo_count_null.py``) the share test keeps its size (4.5% at
5%) and the median test does not (15.5%: the one-step estimate is not studentized, and its
multiplier draws are too narrow with 16 clusters), so the count null's median p is reported
but is not a calibrated test (:mod:`regrowth.curve.count_null`). The restricted fits are
those the curve's own bootstrap p-values already make: the fitting batches keep each count
model's score parts in memory (:func:`regrowth.curve.fitting.run_batch`, never written) and
the draws are array products in the calling process, so the count null adds about 4 s to the
innovation curve's 1,760 models. The record says which statistic it used (``family``,
``statistic_of_record``) and lists fitted models left out (no restricted fit) under
``left_out``.

Modules
-------
``schema`` (the ``[[curve]]`` keys, parsed with the spec file's vocabulary), ``enumeration``
(the specifications, each carrying the ``ColumnSpec`` it is fitted as), ``fitting`` (a model
group per task), ``backends`` (serial, processes, Dask), ``null`` (the inferential curve),
``linear_null`` (the null draws' linear maps), ``count_null`` (the score-bootstrap null draws of
count specifications) and ``run`` (the command and the outputs); the
figures are :mod:`regrowth.report.curve_figure`.

Adapters to code owned elsewhere
--------------------------------
Four functions of ``fitting`` (and ``linear_null.build_map``, which rebuilds a fit's
transformed regression with ``regrowth.inference.boottest``'s design functions, and
``count_null._problem``, boottest's restricted ML problem) are the only
places that call other modules' fitting or inference code: ``_fit_one`` (every estimator,
through :func:`regrowth.fit.fit_column` and the estimator registry
``regrowth.models.registry``; year and province effects as the registry implements them),
``_bootstrap_p`` (``regrowth.inference.boottest``, ``ci=False``), ``_score_bootstrap_p``
(the same p-value after a count model from ``count_null``'s parts of boottest's restricted
fit, which it keeps for a count curve's score null; tested byte-equal to ``boottest``) and
``_cr2`` (``regrowth.inference.cr2``). An estimator or an inference choice that is not available for a
specification (no such covariance for that estimator; a results class ``boottest`` does not
support) raises there and the model (stage ``fit``) or its inference choice (stage
``inference``) is listed under ``failures`` with the reason; nothing is silently dropped.
Failures that are predictable from the specification (a covariance or bootstrap an estimator
does not have, an AR(1) chain broken by dropped rows) are declared as ``[[curve.exclude]]``
with their reason instead.

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
