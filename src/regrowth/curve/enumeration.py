"""The specifications of a curve: the Cartesian product of its dimensions, in a fixed order,
each a :class:`Spec` that carries the :class:`regrowth.specs.ColumnSpec` it is fitted as."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from itertools import product

import numpy as np
import pandas as pd

from regrowth.curve.schema import (DIMENSIONS, FOCAL_ROLES, NA, Curve, Option, Unavailable,
                                   check_size)
from regrowth.models import registry
from regrowth.specs import ColumnSpec, Sample

__all__ = ["Spec", "enumerate_specs", "spec_seed", "prepare_panel"]


@dataclass(frozen=True)
class Spec:
    """One specification: a choice of one option per dimension."""

    curve: str
    id: str
    model_id: str
    choices: tuple[tuple[str, str], ...]     # (dimension, option name), DIMENSIONS order
    estimator: str
    options: dict = field(hash=False, compare=False)
    province_effects: bool = False
    outcome: str = ""
    focal_terms: tuple[tuple[str, str], ...] = ()   # (role, regressor)
    regressors: tuple[str, ...] = ()
    dispersion: tuple[str, ...] = ()
    exposure: str | None = None
    year_effects: bool = False
    sample: dict = field(default_factory=dict, hash=False, compare=False)
    inference: str = "cluster"
    cluster: str = "region"

    def choice(self, dim: str) -> str:
        return dict(self.choices).get(dim, NA)

    @property
    def column(self) -> ColumnSpec:
        """The specification as a :class:`regrowth.specs.ColumnSpec`, the form
        :func:`regrowth.fit.fit_column` fits; raises :class:`Unavailable` when its inference
        choice has no covariance for its estimator."""
        se_type = _se_type(self)
        s = self.sample
        return ColumnSpec(
            table=self.curve, id=self.id, label=self.id, title=self.id, estimator=self.estimator,
            outcome=self.outcome, regressors=tuple(self.regressors), dispersion=self.dispersion,
            exposure=self.exposure, year_effects=self.year_effects,
            province_effects=self.province_effects,
            sample=Sample(s["years"][0], s["years"][1], tuple(s["exclude"]), tuple(s["drop_if"])),
            se_type=se_type, se_groups=self.cluster if se_type == "cluster" else None,
            options=dict(self.options), rationale="curve")


def _options(curve: Curve, dim: str) -> tuple[Option, ...]:
    if dim in curve.dimensions:
        return curve.dimensions[dim]
    default = {"lag": Option("l1", 1), "controls": Option("none", ()),
               "dispersion": Option("constant", ()), "outcome_form": Option("count", "count"),
               "year_effects": Option("noye", False),
               "inference": Option("cluster", "cluster")}.get(dim)
    return (default,) if default is not None else (Option(NA, None),)


def _applies(dim: str, est: dict) -> bool:
    if dim == "dispersion":
        return registry.get(est["estimator"]).dispersion
    if dim == "outcome_form":
        return registry.get(est["estimator"]).exposure
    return True


def _regressor(var: str, lag: int) -> str:
    return f"{var}_l{lag}"


def enumerate_specs(curve: Curve) -> tuple[list[Spec], list[dict]]:
    """All specifications of ``curve`` in a fixed order, and the excluded ones with reasons.

    The product runs over the dimensions in ``DIMENSIONS`` order (inference innermost, so the
    specifications of one model are adjacent). A dimension that does not apply to an
    estimator takes the option ``-`` and duplicates are removed; then the declared exclusions
    are applied. Returns ``(specs, excluded)``; ``excluded`` rows are ``{id, reason}``. A
    curve larger than its ``max_specifications`` is refused first (:func:`check_size`).
    """
    check_size(curve)
    dims = [d for d in DIMENSIONS if d in curve.dimensions or d in
            ("lag", "controls", "dispersion", "outcome_form", "year_effects", "inference")]
    opts = {d: _options(curve, d) for d in dims}
    shown = [d for d in dims if d in curve.dimensions]   # dims that appear in ids
    specs, excluded, seen = [], [], set()
    for combo in product(*(opts[d] for d in dims)):
        pick = dict(zip(dims, combo))
        est = pick["estimator"].value
        for d in dims:
            if not _applies(d, est):
                pick[d] = Option(NA, None)
        key = tuple(pick[d].name for d in dims)
        if key in seen:
            continue
        seen.add(key)
        choices = tuple((d, pick[d].name) for d in shown)
        sid = ".".join(n for _, n in choices)
        model_id = ".".join(n for d, n in choices if d != "inference")
        reason = next((r for cond, r in curve.exclude
                       if all(dict(choices).get(d) in names for d, names in cond.items())), None)
        if reason is not None:
            excluded.append({"id": sid, "reason": reason})
            continue
        lag = pick["lag"].value
        focal = tuple((role, _regressor(pick[role].value, lag)) for role in FOCAL_ROLES
                      if role in curve.dimensions)
        regs = list(dict.fromkeys([t for _, t in focal] + list(pick["controls"].value)))
        exposure = curve.exposure if pick["outcome_form"].value == "exposure" else None
        specs.append(Spec(
            curve=curve.id, id=sid, model_id=model_id, choices=choices,
            estimator=est["estimator"], province_effects=est["province_effects"],
            options=dict(est["options"]), outcome=curve.outcome,
            focal_terms=tuple((r, t) for r, t in focal if r in curve.focal),
            regressors=tuple(regs), dispersion=tuple(pick["dispersion"].value or ()),
            exposure=exposure, year_effects=bool(pick["year_effects"].value),
            sample=pick["sample"].value, inference=pick["inference"].value, cluster=curve.cluster))
    return specs, excluded


def spec_seed(curve_seed: int, key: str) -> int:
    """The 32-bit seed of one model (or null draw): SeedSequence(curve seed, sha256(key))."""
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    words = [int.from_bytes(digest[i:i + 4], "little") for i in range(0, 16, 4)]
    return int(np.random.SeedSequence([int(curve_seed), *words]).generate_state(1)[0])


def prepare_panel(panel: pd.DataFrame, curves) -> pd.DataFrame:
    """The panel plus the lags the curves need and the panel does not store.

    Adds ``<var>_l<k>`` for lags the panel lacks: the value of the same province in calendar
    year t-k, missing if that year is missing (the panel's own lag rule). Nothing is written
    back to ``data/processed``.
    """
    out = panel.copy()
    years = out.index.get_level_values("year")
    regions = out.index.get_level_values("region")
    for curve in curves:
        lags = [o.value for o in _options(curve, "lag")]
        for role in FOCAL_ROLES:
            for o in curve.dimensions.get(role, ()):
                for k in lags:
                    name = _regressor(o.value, k)
                    if name in out:
                        continue
                    src = out[o.value].astype(float)
                    shifted = pd.Series(src.to_numpy(), index=pd.MultiIndex.from_arrays(
                        [regions, years + k], names=["region", "year"]))
                    out[name] = shifted.reindex(out.index).to_numpy()
    return out


#: the covariance each inference choice reads its p-values from
_WANTED_SE = {"robust": "robust", "cluster": "cluster", "bootstrap": "cluster", "kernel": "kernel",
              "cr2": "cluster"}


def _se_type(spec: Spec) -> str:
    """The analytic covariance a specification's inference choice needs (``se.type``): the
    estimator's default for ``model``; for ``bootstrap`` the cluster covariance where the
    estimator has one, else its own (the p-value of record is the bootstrap's)."""
    entry = registry.get(spec.estimator)
    inf = spec.inference
    if inf == "model":
        return entry.default_se
    wanted = _WANTED_SE[inf]
    if wanted in entry.se_types:
        return wanted
    if inf == "bootstrap":
        return entry.default_se
    raise Unavailable(f"inference {inf!r}: {entry.stata} reports only its own "
                      f"({', '.join(entry.se_types)}) covariance")
