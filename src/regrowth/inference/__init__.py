"""Inference with few clusters: wild cluster and score bootstraps (Stata ``boottest``),
Stata-equal cluster factors, CR2 (Bell-McCaffrey) standard errors.

Every model in this package has 16 or 17 provinces. Cluster-robust Wald tests with so few
clusters over-reject; this module gives the tests econometricians use instead
(MacKinnon, Nielsen & Webb 2023; Roodman, Nielsen, MacKinnon & Webb 2019, *Stata
Journal* 19(1), "Fast and wild").

``boottest(results, param, ...)``
=================================

Linear models: the wild cluster bootstrap (WCR/WCU)
---------------------------------------------------
Model y = X b + u with clusters g = 1..G; H0: b_j = r. With A = (X'X)^-1 and a_j' its
row j, the restricted estimate is b~(r) = b^ - A e_j (b^_j - r) / A_jj and the restricted
residuals u~ = y - X b~ (WCU, ``impose_null=False``: b^ and u^). A draw multiplies
the residuals of cluster g by v_g: y* = X b~ + u~ . v. Only cluster sums are needed:

    S_g = X_g'u~_g = X_g'y_g - (X_g'X_g) b~           (k-vector; affine in r)
    a_g = a_j' S_g                                     numerator: b*_j - r = sum_g a_g v_g
    P_g = a_j' (X_g'X_g) A                             (k-vector)
    K   = diag(a) - P S'                               (G x G)
    bootstrap CRVE of b*_j:  c * sum_g ((K v)_g)^2     (since a_j'X_g'u*_g = (K v)_g)
    t*  = sum_g a_g v_g / sqrt(c sum_g ((K v)_g)^2)

so a draw costs O(G^2) (O(G k) to form K once), never O(n): X_g'X_g and X_g'y_g are
computed once. Because S_g is affine in r, a and K are too (a0 + r a1, K0 + r K1), so
after projecting the weights once (K0 V, K1 V) the whole bootstrap distribution at any
other null value r costs O(B): the numerators are n0 + r n1 and the squared
denominators q00 + 2 r q01 + r^2 q11. The confidence set is found by test inversion
(as ``boottest``): bisection for the r at which p(r) crosses 1 - level, on each side of
b^_j, to ``ptol`` x (CRVE s.e.).

The original statistic is t = (b^_j - r) / sqrt(c sum_g (a_j'X_g'u^_g)^2), the
cluster-robust t with Stata's factor c = G/(G-1) (N-1)/(N-K) (``regress``/``xtreg``
``vce(cluster)``). Fixed effects: the within transformation (entities nested in the
clusters, so the transformation commutes with the wild weights) and K = regressors + 1 as
``xtreg, fe`` counts it (the absorbed effects are not counted); time effects enter as
explicit dummies (so two-way FE is exact, as ``xtreg y x i.year, fe``); entities not
nested in the clusters enter as dummies. c cancels from p-values and confidence sets.

p-values: ``symmetric`` P(|t*| > |t|) (default), ``equaltail``
2 min(P(t* < t), P(t* > t)), ``lower``/``upper``; ties do not count (boottest >= 2.0.6).

Weights (``weights=``; Stata ``weighttype()``): Rademacher (default; with 2^G <= reps
all 2^G sign vectors are enumerated: for G = 16 that is 65,536, exact and seed-free),
Webb six-point, Mammen, normal.

Random effects and FGLS: the GLS-transformed regression, Omega held fixed
-------------------------------------------------------------------------
RE (linearmodels ``RandomEffects``): y_it - theta_i ybar_i on x_it - theta_i xbar_i
(constant included) is an OLS regression whose coefficients are the RE estimates; the
WCR above runs on it with theta held at its estimate (the cluster-robust t equals
Stata's ``xtreg, re vce(cluster)`` t). FGLS (``PanelFGLS``, panels "iid"/"hetero"):
Prais-Winsten with the estimated rho, then division by sigma_i; OLS on the result is
the FGLS estimate, and the WCR runs on it with Omega and rho held at their estimates.
``reestimate=True`` instead redraws y* = X b~ + u~ . v on the original scale and refits
FGLS (rho and Sigma re-estimated) in every draw: O(n) per draw, no confidence set.
Panels "correlated" are not supported (whitening mixes panels).

ML count models: the score bootstrap (Kline & Santos 2012)
----------------------------------------------------------
GNB, NB2 (``GeneralizedNegativeBinomial``) and Poisson (statsmodels): the null is imposed
by refitting the model with b_j = r (x_j r moves into the offset). At the restricted
estimate theta~ take the scores s_i, the Hessian H, cluster score sums S_g and
a_g = -(H^-1 S_g)_j (the one-step Newton move of b_j contributed by cluster g):

    numerator of a draw: sum_g a_g v_g  (the one-step estimate theta*_j - r)

``score_variance="fixed"`` (Kline & Santos' original, as Stata's ``boottest``):

    t  = sum_g a_g / sqrt(c sum_g a_g^2)                 (a cluster-robust score/LM t)
    t* = sum_g a_g v_g / sqrt(c sum_g a_g^2 v_g^2),      c = G/(G-1)

``score_variance="onestep"`` (the default): the draw's variance is re-linearised at its
one-step estimate theta* = theta~ - H^-1 sum_h v_h S_h, whose cluster scores are
S*_g = v_g S_g - H_g H^-1 sum_h v_h S_h (H_g the cluster's Hessian). With
P_g = e_j'H^-1 H_g H^-1 and K = diag(a) + P S' (G x G):

    t* = sum_g a_g v_g / sqrt(c sum_g ((K v)_g)^2),      t = t*(v = 1)

t is a one-step approximation of the cluster-robust Wald t built from derivatives at the
restricted estimate ((K 1)_g = a_g - w_g sum_h a_h, w_g = (H^-1 H_g H^-1)_jj / (H^-1)_jj:
the cluster contributions re-centred at the one-step estimate). When the model is linear
(H = -X'X) t is exactly the Wald t and the pair is exactly the WCR above. At the innovation
model's own design with a province random effect the "fixed" version rejects a true null
about 11% of the time at 5%, the "onestep" version about 6%
(``benchmarks/montecarlo_inference.py``).

No re-estimation per draw (O(G^2) per draw); each point of the confidence set needs one
restricted refit (warm-started; Poisson by the package's Newton, judged by its decrement),
so the set costs about 20 refits. The set is {r : p(r) >= 1 - level}, the p-value as
reported: each bound is a root of the continuous h(r) = |t| + tol - (K-th largest |t*|),
K the least number of exceeding draws for which p >= 1 - level, with the draws of weights
v = +-1 (t* = +-t at every r) left out of the order statistic (``_engine.invert_smooth``).

Mapping to Stata's ``boottest``: ``reps()`` -> ``reps``, ``weighttype()`` -> ``weights``,
``nonull`` -> ``impose_null=False``, ``seed()`` -> ``seed``, ``level()`` -> ``level``,
``ptype()`` -> ``ptype``, ``noci`` -> ``ci=False``, ``ptolerance()`` -> ``ptol``,
``cluster()`` -> ``clusters``; ``boottype(score)`` is chosen automatically after ML.
R's ``fwildclusterboot::boottest`` has the same names.

``randomization_test(results_or_spec, param, *, blocks="region", permutations=1999, seed=...)``
====================================================================================================
Randomization inference (Fisher; Young 2019) for a column of ``specs/models.toml``, fitted
(:class:`regrowth.fit.Fitted`) or as a :class:`regrowth.specs.ColumnSpec` (with ``panel=``):
the whole series of ``param`` dealt out across the provinces (``blocks="region"``), or
across the macro-regions (``blocks="macro_region"``, every province of a macro-region
receiving another macro-region's series), optionally within ``strata``; the column refitted
each draw (cheaply: :mod:`regrowth.inference.refit`); p = (1 + #{|t*| >= |t|})/(1 + B)
for the t-statistic and the coefficient, exact enumeration when B covers every
permutation. ``executor=`` runs the draws on the specification curve's backends with the
same result. The engine, for any ``fit(frame) -> (estimate, se)``, is
:func:`regrowth.inference.randomization.randomization_test`; formulas in that module.

Other public functions: :func:`vcov_cr2` (CR2/Bell-McCaffrey with Satterthwaite degrees of
freedom; R ``clubSandwich::vcovCR(type = "CR2")`` and ``coef_test(test =
"Satterthwaite")``), :func:`stata_cluster_factor`, and the effective number of clusters
:func:`effective_clusters` / :func:`cluster_diagnostics` (Carter, Schnepel & Steigerwald
2017 G* and the top-two cluster share; formulas in :mod:`regrowth.inference.clusters`).
"""

from regrowth.models.covariance import stata_linear_factor as stata_cluster_factor
from regrowth.inference.weights import WEIGHTS, draw_weights
from regrowth.inference.boottest import PTYPES, BoottestResult, boottest
from regrowth.inference.cr2 import CR2Result, cr2, vcov_cr2
from regrowth.inference.clusters import ClusterDiagnostics, cluster_diagnostics, effective_clusters
from regrowth.inference.randomization import RandomizationResult
from regrowth.inference.randomization import column_randomization_test as randomization_test

__all__ = [
           "PTYPES",
           "WEIGHTS",
           "BoottestResult",
           "ClusterDiagnostics",
           "CR2Result",
           "RandomizationResult",
           "boottest",
           "cluster_diagnostics",
           "cr2",
           "draw_weights",
           "effective_clusters",
           "randomization_test",
           "stata_cluster_factor",
           "vcov_cr2",
]
