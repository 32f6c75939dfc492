"""The one adapter from a specification to a fitted model: ``fit_column(spec, panel)``.

Everything that fits a column of ``specs/models.toml`` -- the replication driver, the
analyses (bootstraps, leave-one-out, diagnostics, the chain, within-province variation), the
specification curve and the notebooks (:func:`refit`) -- goes through this module, so they
all fit the same model on the same rows:

1. :func:`estimation_sample`: the rows of the spec's years and provinces (``sample.years``,
   ``sample.exclude``), minus the rows its ``sample.drop_if`` flags mark, with every variable
   the model reads observed (listwise); a column with an ``slx`` key first gets its spatially
   lagged regressors ``w_<var>`` (:func:`regrowth.spatial.slx_lags`: each year, the mean of the
   contiguous provinces' values among the sample's provinces, flagged rows included);
2. the estimator's registry entry (:mod:`regrowth.models.registry`) fits the spec on those
   rows, on one BLAS thread (:mod:`regrowth.threads`: the numbers then do not depend on
   ``OPENBLAS_NUM_THREADS``); warnings raised by the fit are recorded, never lost; a fit
   that fails while a regressor is constant in the estimation sample raises a
   ``SpecificationError`` naming it, with how far listwise deletion shrank the sample and
   the missing count of each variable (:func:`sample_shrinkage`), instead of the
   estimator's "rank deficient";
3. the result becomes tidy rows (:func:`regrowth.report.tidy.tidy`: term, equation, estimate,
   std_error, statistic, p_value, ci_low, ci_high) and statistics
   (:func:`regrowth.report.tidy.glance`), plus what the tables print about the fit: N,
   provinces, sample years, estimator, standard errors, the reference distribution and the
   effects that were actually fitted (read from the fitted terms, never from the spec).
   A column whose spec sets ``se.reference = "normal"`` or ``"t(G-1)"`` has the p-values and
   95% intervals of its tidy rows recomputed from estimate and standard error with that
   distribution (G = the number of ``se.groups`` clusters in the estimation sample), whatever
   the estimator reports (Stata prints z after ``gnbreg ..., vce(cluster)``); the results
   object itself is left as the estimator made it.

This module sits below every user of a fitted column and above the estimators: estimators
never read the spec file, and nothing here imports the driver.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats as sps

from regrowth import panel as panel_mod
from regrowth import regions, spatial
from regrowth.errors import (DataError, MissingInputError, RegrowthError, SpecificationError,
                             UnknownRegionError)
from regrowth.models import registry
from regrowth.models.design import fitted_effects
from regrowth import specs as specs_mod
from regrowth.report.reader import project_root
from regrowth.report.tidy import glance, tidy
from regrowth.specs import ColumnSpec
from regrowth.threads import one_blas_thread

__all__ = ["Fitted", "awaits_download", "estimation_sample", "sample_shrinkage", "fit_column", "inference_label",
           "refit", "with_region_attributes", "cluster_ids", "macro_fit_panel", "panel_for",
           "with_reference"]


@dataclass
class Fitted:
    """One fitted column: its spec, the estimator's result, tidy rows and statistics.

    ``coefs``: tidy rows (:func:`regrowth.report.tidy.tidy`); ``stats``: plain numbers and
    labels for the tables (``nobs``, ``n_entities``, ``sample``, ``estimator``, ``se``,
    ``inference``, ``dropped_missing``, ``year_effects``, ``province_effects`` and what
    :func:`regrowth.report.tidy.glance` finds); ``warnings``: the fit's warnings as text;
    ``extra``: records analyses add (``bootstrap``, ``effects``, ``rho``, LR tests).
    """

    spec: ColumnSpec
    result: object
    coefs: pd.DataFrame
    stats: dict
    warnings: list[str] = field(default_factory=list)
    extra: dict = field(default_factory=dict)


def estimation_sample(spec: ColumnSpec, panel: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Rows of ``panel`` in the spec's years and provinces with every variable observed.

    Returns the sample (same (region, year) index) and how many rows of the year/province
    window were dropped for missing values (listwise, across all the model's variables).
    """
    window, cols = _window(spec, panel)
    complete = window[cols].notna().all(axis=1)
    return window.loc[complete].copy(), int((~complete).sum())


def _window(spec: ColumnSpec, panel: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Rows of the spec's years and provinces not flagged by ``drop_if``, and the model's
    variable columns."""
    s = spec.sample
    years = panel.index.get_level_values("year")
    regions_ = panel.index.get_level_values("region")
    keep = (years >= s.first_year) & (years <= s.last_year) & ~regions_.isin(list(s.exclude))
    if spec.slx:
        panel = _with_slx(spec, panel, keep)
    for flag in s.drop_if:
        keep &= panel[flag].to_numpy() != 1
    cols = [v for v in spec.variables() if v not in panel_mod.INDEX]
    return panel.loc[keep], cols + list(spec.slx_terms())


def sample_shrinkage(spec: ColumnSpec, panel: pd.DataFrame) -> dict:
    """What the listwise deletion of :func:`estimation_sample` did to ``spec``'s sample.

    Returns ``{"window": rows of the spec's years and provinces, "kept": rows with every
    variable observed, "missing": {variable: missing rows in the window} (variables with
    none left out, most missing first), "constant": {regressor: its one value in the kept
    rows} (regressors of either equation that do not vary there), "years": "first–last" of
    the kept rows or ""}``.
    """
    window, cols = _window(spec, panel)
    n_missing = window[cols].isna().sum()
    missing = {str(v): int(n) for v, n in n_missing.sort_values(ascending=False, kind="stable").items()
               if n > 0}
    kept = window.loc[window[cols].notna().all(axis=1)]
    constant = {}
    for v in dict.fromkeys([*spec.regressors, *spec.dispersion]):
        if v in kept.columns and len(kept) and kept[v].nunique(dropna=True) <= 1:
            constant[v] = float(kept[v].iloc[0])
    kept_years = kept.index.get_level_values("year")
    return {"window": int(len(window)), "kept": int(len(kept)), "missing": missing,
            "constant": constant,
            "years": f"{int(kept_years.min())}–{int(kept_years.max())}" if len(kept) else ""}


def _explain_failure(spec: ColumnSpec, panel: pd.DataFrame, exc: Exception) -> str | None:
    """The package's account of a fit that failed with regressors that do not vary in the
    estimation sample (and, when listwise deletion shrank it, by how much and through which
    variables), or None when every regressor varies: the estimator's message then stands
    (a failure with nothing to name, e.g. a near-singular design, is not blamed on the
    sample)."""
    info = sample_shrinkage(spec, panel)
    if not info["constant"]:
        return None
    lines = [f"{spec.name}: the model cannot be fitted on its estimation sample."]
    if info["kept"] < info["window"]:
        lines.append(
            f"  The sample shrank from {info['window']} to {info['kept']} rows "
            f"({spec.sample.describe()}; rows with any model variable missing are dropped): "
            + ", ".join(f"{v!r} missing in {n}" for v, n in info["missing"].items()) + ".")
    if info["constant"]:
        desc = [f"{v!r} is all zero" if val == 0 else f"{v!r} is constant at {val:g}"
                for v, val in info["constant"].items()]
        lines.append(f"  In the remaining rows ({info['years']}) " + ", ".join(desc)
                     + ", so it cannot be estimated beside the intercept or the effects.")
    lines.append("  Drop the variables named above from the column in specs/models.toml, or "
                 "narrow its sample.years to where they are observed and vary.")
    lines.append(f"  (estimator: {type(exc).__name__}: {exc})")
    return "\n".join(lines)


def _with_slx(spec: ColumnSpec, panel: pd.DataFrame, keep) -> pd.DataFrame:
    """``panel`` with the column's spatially lagged regressors ``w_<var>`` on the rows of its
    years and provinces (``keep``; the rows a ``drop_if`` flag removes still count as
    neighbours): :func:`regrowth.spatial.slx_lags` with W among the sample's provinces."""
    missing = [v for v in spec.slx if v not in panel.columns]
    if missing:
        raise SpecificationError(f"{spec.name}: key 'slx': {', '.join(map(repr, missing))} is "
                                 "not a panel column" + registry.did_you_mean(
                                     missing[0], list(panel.columns))
                                 + " (data/processed/codebook.csv lists the columns)")
    if spec.unit == "macro_region":
        raise SpecificationError(f"{spec.name}: key 'slx': spatial lags are built among the "
                                 "provinces, and this table's rows are macro-regions")
    window = panel.loc[keep, list(spec.slx)]
    ids = tuple(dict.fromkeys(window.index.get_level_values("region")))
    try:
        w = _slx_weights(spec.slx_weights, ids, spec.slx_k, str(spatial.DEFAULT_BOUNDARIES))
        lags = spatial.slx_lags(window, list(spec.slx), w=w)
    except (DataError, MissingInputError, UnknownRegionError, ValueError) as exc:
        raise SpecificationError(f"{spec.name}: key 'slx': the spatial weights "
                                 f"({spec.slx_weights}) cannot be built for the sample's "
                                 f"provinces: {exc}") from exc
    out = panel.drop(columns=[c for c in lags.columns if c in panel.columns])
    return out.join(lags, how="left")


@functools.lru_cache(maxsize=32)
def _slx_weights(kind: str, ids: tuple[str, ...], k: int, path: str):
    """The binary W of :func:`_with_slx` (cached: a bootstrap or leave-one-out refits the same
    sample many times; ``path`` is part of the key)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", spatial.IslandWarning)
        return spatial.weights(kind, ids=ids, k=k, transform="b", path=path)


def with_region_attributes(panel: pd.DataFrame) -> pd.DataFrame:
    """``panel`` with ``macro_region`` (and ``capital_region``) from :mod:`regrowth.regions`
    when it lacks them, so ``se.groups = "macro_region"`` always has its column."""
    missing = [c for c in ("macro_region", "capital_region") if c not in panel.columns]
    if not missing:
        return panel
    keys = panel.index.get_level_values("region")
    panel = panel.copy()
    if "macro_region" in missing:
        panel["macro_region"] = [regions.get(k).macro_region for k in keys]
    if "capital_region" in missing:
        panel["capital_region"] = [int(regions.get(k).capital_region) for k in keys]
    return panel


def macro_fit_panel(macro: pd.DataFrame) -> pd.DataFrame:
    """The macro-region panel (:func:`regrowth.panel.load_macro`, indexed (macro_region, year))
    in the shape :func:`fit_column` reads: index (region, year) whose ``region`` level holds
    the 권역 key, plus the columns ``macro_region`` (the same key, so ``se.groups =
    "macro_region"`` reads as it does on the province panel) and ``capital_region`` (1 for the
    capital region, 수도권)."""
    frame = macro.copy()
    frame.index = frame.index.set_names(["region", "year"])
    keys = frame.index.get_level_values("region")
    frame["macro_region"] = np.asarray(keys, dtype=object)
    capital = {k: int(all(regions.get(m).capital_region for m in macro_.members))
               for k, macro_ in regions.MACRO_REGIONS.items()}
    frame["capital_region"] = [capital[k] for k in keys]
    return frame


def panel_for(spec: ColumnSpec, panel: pd.DataFrame, macro: pd.DataFrame | None) -> pd.DataFrame:
    """The panel a column is fitted on: ``panel`` (provinces) or, for a column of a
    macro-region table, ``macro`` (already through :func:`macro_fit_panel`)."""
    if spec.unit != "macro_region":
        return panel
    if macro is None:
        raise SpecificationError(f"{spec.name}: the table's rows are macro-regions but no "
                                 "macro-region panel was loaded; rebuild it with `make panel`")
    return macro


def awaits_download(spec: ColumnSpec, panel: pd.DataFrame) -> bool:
    """True for a full-edition column (``edition = "full"``) whose variables the panel does
    not all have: it waits for its KOSIS download, and ``make replicate`` skips it
    (:func:`regrowth.specs.full_edition_gaps`), so the analyses leave it out too."""
    return (spec.edition == "full"
            and not set(spec.variables()) <= set(panel.columns) | set(panel.index.names))


def _check_unit(spec: ColumnSpec, panel: pd.DataFrame) -> None:
    keys = set(panel.index.get_level_values("region"))
    is_macro = bool(keys) and keys <= set(regions.MACRO_REGIONS)
    if is_macro != (spec.unit == "macro_region"):
        want = "macro-region" if spec.unit == "macro_region" else "province"
        raise SpecificationError(f"{spec.name}: a {want} column was given the "
                                 f"{'macro-region' if is_macro else 'province'} panel; fit it "
                                 "on fit.panel_for(spec, panel, macro)")


def cluster_ids(data: pd.DataFrame, groups: str | None) -> np.ndarray:
    """The cluster id of every row of ``data`` (an index level or a column; default region)."""
    groups = groups or "region"
    if groups in data.index.names:
        return np.asarray(data.index.get_level_values(groups))
    return data[groups].to_numpy()


def inference_label(result, n_clusters: int | None = None) -> str:
    """The reference distribution of a column's p-values and, for clustered SEs, the number
    of clusters, e.g. ``"t(15), 16 clusters"`` or ``"normal, 16 clusters"``."""
    df_ref = getattr(result, "df_ref", None)
    G = getattr(result, "n_clusters", None) or n_clusters
    if df_ref is not None:
        if G:
            return f"t({df_ref}), {G} clusters"
        return f"t({df_ref}), {df_ref + 1} periods"
    dist = "t" if getattr(result, "use_t", False) else "normal"
    if dist == "t":
        dist = f"t({int(getattr(result, 'df_resid', 0))})"
    return f"{dist}, {G} clusters" if G else dist


def with_reference(coefs: pd.DataFrame, reference: str, n_clusters: int) -> pd.DataFrame:
    """``coefs`` (tidy rows) with ``p_value``, ``ci_low``, ``ci_high`` from ``reference``:
    "normal" or "t(G-1)" (``n_clusters`` = G); z = estimate / std_error, two-sided p, 95%
    interval estimate -/+ q std_error. Rows without a finite standard error are left as
    they are."""
    out = coefs.copy()
    if reference == "normal":
        dist = sps.norm
    elif reference == "t(G-1)":
        if n_clusters < 2:
            raise SpecificationError(f"se.reference = 't(G-1)' needs at least 2 clusters, not "
                                     f"{n_clusters}")
        dist = sps.t(n_clusters - 1)
    else:
        raise SpecificationError(f"se.reference = {reference!r}: use 'normal' or 't(G-1)'")
    est = out["estimate"].to_numpy(dtype=float)
    se = out["std_error"].to_numpy(dtype=float)
    ok = np.isfinite(se) & (se > 0)
    z = np.where(ok, est / np.where(ok, se, 1.0), np.nan)
    q = float(dist.ppf(0.975))
    out.loc[ok, "p_value"] = 2.0 * dist.sf(np.abs(z[ok]))
    out.loc[ok, "ci_low"] = est[ok] - q * se[ok]
    out.loc[ok, "ci_high"] = est[ok] + q * se[ok]
    return out


def _lr_tests(result) -> dict:
    out = {}
    for name, fn in (("nb2", "lr_test_nb2"), ("poisson", "lr_test_poisson")):
        try:
            t = getattr(result, fn)()
        except Exception as exc:  # noqa: BLE001 - a failed auxiliary fit must not sink the main one
            out[f"lr_{name}_error"] = str(exc)
            continue
        out[f"lr_{name}_stat"] = float(t.statistic)
        out[f"lr_{name}_df"] = int(t.df)
        out[f"lr_{name}_p"] = float(t.pvalue)
    return out


def _effect_rows(result) -> pd.DataFrame:
    """Tidy rows of a spatial-lag model's direct, indirect and total effects (LeSage-Pace;
    ``result.effects``): equation ``direct`` | ``indirect`` | ``total``, normal 95% limits."""
    eff = result.effects
    q = float(sps.norm.ppf(0.975))
    return pd.DataFrame({
        "term": eff["variable"].astype(str), "equation": eff["effect"].astype(str),
        "estimate": eff["estimate"], "std_error": eff["std_error"], "statistic": eff["z"],
        "p_value": eff["p_value"], "ci_low": eff["estimate"] - q * eff["std_error"],
        "ci_high": eff["estimate"] + q * eff["std_error"]})


def fit_column(spec: ColumnSpec, panel: pd.DataFrame) -> Fitted:
    """Fit one specification on its estimation sample; return tidy output and statistics."""
    _check_unit(spec, panel)
    data, dropped = estimation_sample(spec, panel)
    if data.empty:
        raise SpecificationError(f"{spec.name}: no observations in {spec.sample.describe()} "
                                 f"with {', '.join(spec.variables())} all observed")
    entry = registry.get(spec.estimator)
    with warnings.catch_warnings(record=True) as caught, one_blas_thread():
        warnings.simplefilter("always")
        try:
            result = entry.fit(spec, data)
        except (RegrowthError, ValueError, np.linalg.LinAlgError, RuntimeError) as exc:
            explained = _explain_failure(spec, panel, exc)
            if explained is None:
                raise
            raise SpecificationError(explained) from exc
    # ResourceWarning is the garbage collector closing something another part of the process
    # left open (an event loop, a file): never about this fit, and it would make the record
    # depend on what ran before
    messages = sorted({f"{w.category.__name__}: {w.message}" for w in caught
                       if not issubclass(w.category, (DeprecationWarning, FutureWarning,
                                                      ResourceWarning))})
    coefs = tidy(result)
    stats = glance(result)
    if "spatial_effects" in entry.reports:
        coefs = pd.concat([coefs, _effect_rows(result)], ignore_index=True)
    effects = fitted_effects(result, coefs["term"])
    years = data.index.get_level_values("year")
    regions_ = data.index.get_level_values("region")
    clustered = spec.se_type == "cluster"
    G = int(pd.unique(cluster_ids(data, spec.se_groups)).size) if clustered else None
    inference = inference_label(result, G)
    if spec.reference != "model":
        G = int(pd.Series(cluster_ids(data, spec.se_groups)).nunique())
        coefs = with_reference(coefs, spec.reference, G)
        inference = (f"t({G - 1}), {G} clusters" if spec.reference == "t(G-1)"
                     else f"normal, {G} clusters" if spec.se_groups else "normal")
    units = "n_macro_regions" if spec.unit == "macro_region" else "n_entities"
    stats.pop("n_entities", None)
    stats.update({
        "nobs": int(len(data)),
        units: int(regions_.nunique()),
        "sample": f"{int(years.min())}–{int(years.max())}",
        "estimator": entry.label,
        "se": spec.se_label(),
        "inference": inference,
        "dropped_missing": dropped,
        # read from the fitted model's terms, never from the spec
        "year_effects": "yes" if effects["year"] else "no",
        "province_effects": "yes" if effects["province"] else "no",
    })
    extra = {"effects": effects}
    if "lr_tests" in entry.reports:
        extra.update(_lr_tests(result))
        stats.update({k: v for k, v in extra.items() if k.startswith("lr_")})
    rho = getattr(result, "rho", None) if "ar1_rho" in entry.reports else None
    if rho is not None:
        rho = np.atleast_1d(np.asarray(rho, dtype=float))
        stats["rho"] = float(rho[0]) if rho.size == 1 else None
        extra["rho"] = [float(r) for r in rho]
    return Fitted(spec, result, coefs, stats, messages, extra)


def refit(table: str, column: str, root: str | Path | None = None):
    """Refit one specification of the project at ``root`` exactly as ``make replicate``
    does; return the estimator's result."""
    base = project_root(root)
    spec = {c.name: c for c in specs_mod.load(base / "specs" / "models.toml").columns()}[f"{table}/{column}"]
    processed = base / "data" / "processed"
    if spec.unit == "macro_region":
        return fit_column(spec, macro_fit_panel(panel_mod.load_macro(processed))).result
    return fit_column(spec, with_region_attributes(panel_mod.load(processed))).result
