r"""Mediation instead of a structural chain: decentralization -> innovation -> growth.

Declared on a table of ``specs/models.toml`` as ``[table.analyses.mediation]`` (the treatment,
the mediator, the outcome, the controls, the sample, the effects, the contrast, the draws, the
seed, and optionally several ``columns`` that each replace some of these); written as
``results/tables/<output>.*`` and ``estimates.json["mediation"][<table id>]``.

The chain of :mod:`regrowth.analyses.chain` reads the study structurally: it needs R&D,
education and population to move growth *only* through predicted fintech patents (exclusion
restrictions). Mediation asks a weaker question of the same data: how much of the reduced-form
association between decentralization and growth runs through innovation, and how strong an
unobserved confounder of innovation and growth would have to be to make that part vanish.

The models (linear-linear; Imai, Keele & Yamamoto 2010, *Statistical Science* 25:51-71, the
linear structural equation model of their section 4; Baron & Kenny's equations)
------------------------------------------------------------------------------------
For province i in year t, treatment D (lagged 재정자립도), mediator M (innovation), outcome Y
(growth) and controls X (with year and, optionally, province dummies), all by OLS on one
sample (rows with every variable observed)::

    reduced form   Y = a1 + c  D + X'h1 + e1                   (total effect c)
    mediator       M = a2 + a  D + X'h2 + e2
    outcome        Y = a3 + c' D + b M + X'h3 + e3              (direct effect c')

Per ``contrast`` units of D (d1 - d0 = contrast):

    ACME = a b contrast          (average causal mediation effect, the indirect effect)
    ADE  = c' contrast           (average direct effect)
    total = c contrast = ACME + ADE
    proportion mediated = a b / c

The decomposition c = c' + a b is an identity of OLS on one sample with the same controls
(the omitted-variable formula), and by Frisch-Waugh-Lovell b = cov(e1, e2) / var(e2) with e1,
e2 the residuals of the reduced-form and mediator models.

Identification rests on sequential ignorability: D is as good as random given X, and M is as
good as random given D and X. The second part fails when an unobserved variable moves both
innovation and growth, which makes the errors e2 and e3 correlated.

Sensitivity (Imai, Keele & Yamamoto 2010, Theorem 2)
----------------------------------------------------
Let rho = corr(e2, e3) be that correlation (0 under sequential ignorability), sigma_1 and
sigma_2 the standard deviations of e1 and e2, and rho~ = corr(e1, e2). Since e1 = b e2 + e3,
solving cov(e1, e2) and var(e1) for b at a given rho gives

    ACME(rho) = a (sigma_1 / sigma_2) [ rho~ - rho sqrt((1 - rho~^2) / (1 - rho^2)) ] contrast,

so ACME(0) = a b contrast and **ACME(rho) = 0 exactly at rho* = rho~ = corr(e1, e2)**, the
correlation of the residuals of the reduced-form and mediator models. |rho*| small means a
weak confounder of innovation and growth would explain the mediated part away. The residual
moments use the same denominator (n), so their ratios are free of degrees-of-freedom choices.

Inference: province cluster bootstrap
-------------------------------------
Provinces are drawn with replacement (a province drawn twice enters twice, as two provinces
for its dummies), the three models are refitted on the drawn provinces' rows, and every
quantity above is recomputed (``reps`` draws from ``numpy.random.default_rng(seed)``; a draw
whose design is rank deficient is skipped and counted). The table reports the point estimate,
the standard deviation of the draws and the 2.5th and 97.5th percentiles. With 16 provinces the
intervals describe the sampling variation across provinces; they do not rescue identification.

Validation (``tests/analyses/test_mediation.py``): the decomposition identity and FWL on the
package's own panel; the closed-form rho* against a root found by a different route (the two
moment equations cov(e1, e2) = b sigma_2^2 + rho sigma_2 sigma_3 and var(e1) = b^2 sigma_2^2 +
sigma_3^2 + 2 b rho sigma_2 sigma_3 solved numerically for (b, sigma_3) at each rho, then
ACME(rho) = 0 by bracketing); statsmodels OLS for the coefficients. R's ``mediation`` package
(``medsens``) is not in Debian and cannot be installed here, so no R fixture exists.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from regrowth.analyses import Analysis, Context, Output, register
from regrowth.errors import SpecificationError
from regrowth.models.registry import did_you_mean
from regrowth.report.tables import RegressionTable, Row, format_number, table_paths
from regrowth.specs.parse import Problems, parse_exclude, strings, type_name, unknown

__all__ = ["MediationSettings", "MediationResult", "fit_mediation", "acme_at_rho",
           "mediation_point", "mediation_record", "mediation_table"]

_KEYS = ("treatment", "mediator", "outcome", "controls", "years", "exclude", "drop_if",
         "year_effects", "province_effects", "contrast", "reps", "seed", "columns", "output",
         "title", "notes", "rho_grid")
_COLUMN_KEYS = ("id", "label", "title", "treatment", "mediator", "outcome", "controls", "years",
                "exclude", "drop_if", "year_effects", "province_effects", "contrast")
#: the quantities of one fit, in the table's order
QUANTITIES = ("total", "a", "b", "ade", "acme", "proportion", "rho_zero")


@dataclass(frozen=True)
class MediationSettings:
    """One mediation model (a column of the mediation table): treatment D, mediator M,
    outcome Y, controls X, growth years, excluded provinces, 0/1 flags whose rows are
    dropped, dummies, the contrast (units of D), the bootstrap draws and seed."""

    treatment: str
    mediator: str
    outcome: str
    controls: tuple[str, ...] = ()
    years: tuple[int, int] = (0, 9999)
    exclude: tuple[str, ...] = ()
    drop_if: tuple[str, ...] = ()
    year_effects: bool = True
    province_effects: bool = False
    contrast: float = 1.0
    reps: int = 999
    seed: int = 20181210
    id: str = "m1"
    label: str = "(1)"
    title: str = ""
    rho_grid: tuple[float, ...] = (-0.5, -0.25, 0.25, 0.5)


@dataclass
class MediationResult:
    """Point estimates (``point``: quantity -> value), the bootstrap draws (DataFrame, one
    column per quantity), failed draws, the sample and the settings. Units: ``total``,
    ``ade``, ``acme`` in units of the outcome per ``contrast`` units of the treatment (for
    growth: percentage points per ``contrast`` points of 재정자립도); ``a`` in units of the
    mediator per unit of treatment; ``b`` in units of the outcome per unit of mediator;
    ``proportion`` and ``rho_zero`` dimensionless. ``acme_rho``: ACME at each ``rho_grid``
    value."""

    settings: MediationSettings
    point: dict
    draws: pd.DataFrame
    reps_failed: int
    sample: dict = field(default_factory=dict)
    acme_rho: dict = field(default_factory=dict)

    def summary(self, alpha: float = 0.05) -> pd.DataFrame:
        """One row per quantity: estimate, bootstrap SE, percentile interval."""
        rows = []
        for q in QUANTITIES:
            col = self.draws[q].dropna() if q in self.draws else pd.Series(dtype=float)
            rows.append({"quantity": q, "estimate": self.point[q],
                         "std_error": float(col.std(ddof=1)) if len(col) > 1 else np.nan,
                         "ci_low": float(col.quantile(alpha / 2)) if len(col) else np.nan,
                         "ci_high": float(col.quantile(1 - alpha / 2)) if len(col) else np.nan})
        return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- settings

def _years(value, problems, where, key):
    ok = (isinstance(value, list) and len(value) == 2
          and all(isinstance(y, int) and not isinstance(y, bool) for y in value)
          and value[0] <= value[1])
    if not ok:
        problems.add(where, key, f"must be [first, last], two integer years, not "
                                 f"{type_name(value)}")
    return tuple(value) if ok else None


def _one(raw: dict, base: dict, problems: Problems, where: str, prefix: str,
         final: bool = True) -> dict | None:
    """``base`` updated with the keys of ``raw`` (checked; problems named ``prefix``+key);
    ``final``: the result is a whole column (treatment, mediator, outcome, years required)."""
    before = len(problems.lines)
    out = dict(base)
    for key in ("treatment", "mediator", "outcome"):
        if key in raw:
            v = raw[key]
            if not isinstance(v, str) or not v.strip():
                problems.add(where, prefix + key, f"must be a panel column name, not "
                                                  f"{type_name(v)}")
            else:
                out[key] = v
    for key in ("controls", "drop_if"):
        if key in raw:
            out[key] = strings(raw, key, problems, where, prefix)
    if "exclude" in raw:
        out["exclude"] = parse_exclude(raw, problems, where, prefix)
    if "years" in raw:
        out["years"] = _years(raw["years"], problems, where, prefix + "years")
    for key in ("year_effects", "province_effects"):
        if key in raw:
            if not isinstance(raw[key], bool):
                problems.add(where, prefix + key, f"must be true or false, not "
                                                  f"{type_name(raw[key])}")
            else:
                out[key] = raw[key]
    if "contrast" in raw:
        v = raw["contrast"]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0:
            problems.add(where, prefix + "contrast", f"must be a positive number (units of the "
                                                     f"treatment), not {type_name(v)}")
        else:
            out["contrast"] = float(v)
    for key in ("id", "label", "title"):
        if key in raw:
            if not isinstance(raw[key], str) or not raw[key].strip():
                problems.add(where, prefix + key, f"must be a non-empty string, not "
                                                  f"{type_name(raw[key])}")
            else:
                out[key] = raw[key]
    for key in ("treatment", "mediator", "outcome", "years"):
        if final and out.get(key) is None and len(problems.lines) == before:
            problems.add(where, prefix + key, "is required (here or in analyses.mediation)")
    roles = [out.get("treatment"), out.get("mediator"), out.get("outcome")]
    if None not in roles and len(set(roles)) < 3:
        problems.add(where, prefix.rstrip(".") or "analyses.mediation",
                     f"treatment, mediator and outcome must differ, got {roles}")
    clash = [c for c in out.get("controls", ()) if c in roles]
    if clash:
        problems.add(where, prefix + "controls", f"lists {clash}, which is the treatment, the "
                                                 "mediator or the outcome")
    return out if len(problems.lines) == before else None


def _parse(value, table, problems: Problems, where: str) -> list[MediationSettings] | None:
    """``[table.analyses.mediation]`` -> one :class:`MediationSettings` per column."""
    before = len(problems.lines)
    if not isinstance(value, dict):
        problems.add(where, "analyses.mediation", "must be a table: [table.analyses.mediation]")
        return None
    unknown(value, _KEYS, problems, where, "analyses.mediation.")
    base = {"controls": (), "exclude": (), "drop_if": (), "year_effects": True,
            "province_effects": False, "contrast": 1.0}
    shared = {k: v for k, v in value.items() if k in _COLUMN_KEYS}
    for key in ("reps", "seed"):
        v = value.get(key, 0)
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            problems.add(where, f"analyses.mediation.{key}", f"must be an integer >= 0, not {v!r}")
    grid = value.get("rho_grid", [-0.5, -0.25, 0.25, 0.5])
    if not (isinstance(grid, list) and all(isinstance(r, (int, float)) and not isinstance(r, bool)
                                           and -1 < r < 1 for r in grid)):
        problems.add(where, "analyses.mediation.rho_grid", f"must be a list of numbers in (-1, 1), "
                                                           f"not {type_name(grid)}")
        grid = []
    output = value.get("output", f"mediation_{table.id}")
    if not isinstance(output, str) or not output or not all(c.isalnum() or c == "_" for c in output):
        problems.add(where, "analyses.mediation.output", f"{output!r} must be a file stem of "
                                                         "letters, digits and _")
    columns = value.get("columns", [{}])
    if not isinstance(columns, list) or not columns or not all(isinstance(c, dict) for c in columns):
        problems.add(where, "analyses.mediation.columns", "must be a list of tables "
                                                          "[[table.analyses.mediation.columns]]")
        return None
    merged = _one(shared, base, problems, where, "analyses.mediation.", final=False)
    if merged is None:
        merged = dict(base)
    out = []
    for i, col in enumerate(columns):
        prefix = f"analyses.mediation.columns[{i}]."
        unknown(col, _COLUMN_KEYS, problems, where, prefix)
        one = _one(col, merged, problems, where, prefix)
        if one is None:
            continue
        one.setdefault("id", f"m{i + 1}")
        one.setdefault("label", f"({i + 1})")
        one.setdefault("title", f"{one['mediator']}")
        out.append(MediationSettings(
            treatment=one["treatment"], mediator=one["mediator"], outcome=one["outcome"],
            controls=tuple(one["controls"]), years=tuple(one["years"]),
            exclude=tuple(one["exclude"]), drop_if=tuple(one["drop_if"]),
            year_effects=bool(one["year_effects"]), province_effects=bool(one["province_effects"]),
            contrast=float(one["contrast"]), reps=int(value.get("reps", 999)),
            seed=int(value.get("seed", 20181210)), id=str(one["id"]), label=str(one["label"]),
            title=str(one["title"]), rho_grid=tuple(float(r) for r in grid)))
    ids = [s.id for s in out]
    if len(set(ids)) != len(ids):
        problems.add(where, "analyses.mediation.columns", f"column ids repeat: {ids}")
    if len(problems.lines) > before:
        return None
    return out


# ----------------------------------------------------------------------------- estimation

def _sample(panel: pd.DataFrame, s: MediationSettings) -> pd.DataFrame:
    """The rows of the model: years, provinces, flags, every variable observed."""
    need = [s.treatment, s.mediator, s.outcome, *s.controls, *s.drop_if]
    keys = {"treatment": s.treatment, "mediator": s.mediator, "outcome": s.outcome}
    for role, var in [*keys.items(), *[("controls", c) for c in s.controls],
                      *[("drop_if", f) for f in s.drop_if]]:
        if var not in panel.columns:
            raise SpecificationError(
                f"mediation {s.id!r}: key 'analyses.mediation.{role}': {var!r} is not a column "
                "of the panel" + did_you_mean(var, list(panel.columns))
                + " (data/processed/codebook.csv lists the columns)")
    reg = panel.index.get_level_values("region")
    yr = panel.index.get_level_values("year")
    keep = (yr >= s.years[0]) & (yr <= s.years[1]) & ~reg.isin(list(s.exclude))
    for flag in s.drop_if:
        keep &= panel[flag].to_numpy() != 1
    data = panel.loc[keep, list(dict.fromkeys(need))].astype(float).dropna()
    if data.empty:
        raise SpecificationError(f"mediation {s.id!r}: no rows in {s.years[0]}-{s.years[1]} with "
                                 f"{', '.join(dict.fromkeys(need))} all observed")
    return data


def _design(data, regressors: list[str], units: np.ndarray, years: np.ndarray,
            s: MediationSettings, n_focal: int) -> np.ndarray:
    """Constant, ``regressors`` (the first ``n_focal`` are the treatment and mediator, always
    kept), year and province dummies. ``data``: {variable: array of the rows}."""
    cols = [np.ones(len(units)), *[np.asarray(data[r]) for r in regressors]]
    if s.year_effects:
        for y in sorted(set(years))[1:]:
            cols.append((years == y).astype(float))
    if s.province_effects:
        for u in sorted(set(units))[1:]:
            cols.append((units == u).astype(float))
    X = np.column_stack(cols)
    # a control or dummy that is zero in every row (a flag whose province was not drawn by the
    # bootstrap) is not identified: leave it out, as Stata omits it
    keep = np.ones(X.shape[1], dtype=bool)
    keep[len(regressors) + 1:] = np.any(X[:, len(regressors) + 1:] != 0, axis=0)
    keep[1 + n_focal:len(regressors) + 1] = np.any(X[:, 1 + n_focal:len(regressors) + 1] != 0,
                                                   axis=0)
    return X[:, keep]


def _ols(y: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """OLS coefficients and residuals; LinAlgError if X has deficient rank (the rank
    ``lstsq`` reports: singular values above max(n, k) eps times the largest, the rule of
    ``numpy.linalg.matrix_rank``, from the SVD the solve already did)."""
    beta, _, rank, _ = np.linalg.lstsq(X, y, rcond=None)
    if rank < X.shape[1]:
        raise np.linalg.LinAlgError(f"design of rank {rank} < {X.shape[1]} columns")
    return beta, y - X @ beta


def acme_at_rho(rho, a: float, sigma1: float, sigma2: float, rho_tilde: float,
                contrast: float = 1.0):
    """IKY (2010) Theorem 2: the ACME if corr(e2, e3) = ``rho`` (see the module docstring);
    ``sigma1``, ``sigma2``: sd of the reduced-form and mediator residuals; ``rho_tilde``:
    their correlation. Units of the outcome per ``contrast`` units of the treatment."""
    rho = np.asarray(rho, dtype=float)
    return a * sigma1 / sigma2 * (rho_tilde - rho * np.sqrt((1 - rho_tilde ** 2)
                                                            / (1 - rho ** 2))) * contrast


def mediation_point(data: pd.DataFrame, s: MediationSettings, units=None) -> dict:
    """Every quantity of one fit on ``data`` (the rows of :func:`_sample`): ``total``,
    ``a``, ``b``, ``ade``, ``acme``, ``proportion``, ``rho_zero`` (see :class:`MediationResult`
    for units), plus ``c`` (total per unit), ``sigma1``, ``sigma2`` and ``rho_tilde``.
    ``units``: province labels of the rows (default: the index's region level)."""
    units = np.asarray(data.index.get_level_values("region") if units is None else units)
    years = np.asarray(data.index.get_level_values("year"))
    return _point(_arrays(data, s), s, units, years)


def _arrays(data: pd.DataFrame, s: MediationSettings) -> dict[str, np.ndarray]:
    """{variable: its values} of the variables the three models use."""
    return {v: data[v].to_numpy()
            for v in dict.fromkeys([s.outcome, s.mediator, s.treatment, *s.controls])}


def _point(data: dict[str, np.ndarray], s: MediationSettings, units: np.ndarray,
           years: np.ndarray) -> dict:
    """:func:`mediation_point` on plain arrays (the bootstrap draws index them directly)."""
    y, m = data[s.outcome], data[s.mediator]
    X_rf = _design(data, [s.treatment, *s.controls], units, years, s, 1)
    X_out = _design(data, [s.treatment, s.mediator, *s.controls], units, years, s, 2)
    g_rf, e1 = _ols(y, X_rf)
    g_med, e2 = _ols(m, X_rf)
    g_out, _ = _ols(y, X_out)
    c, a, c_direct, b = g_rf[1], g_med[1], g_out[1], g_out[2]
    sigma1, sigma2 = float(np.sqrt(e1 @ e1 / len(e1))), float(np.sqrt(e2 @ e2 / len(e2)))
    rho_tilde = float((e1 @ e2) / len(e1) / (sigma1 * sigma2))
    k = s.contrast
    return {"total": c * k, "a": a, "b": b, "ade": c_direct * k, "acme": a * b * k,
            "proportion": a * b / c if c != 0 else np.nan, "rho_zero": rho_tilde,
            "c": c, "sigma1": sigma1, "sigma2": sigma2, "rho_tilde": rho_tilde}


def fit_mediation(panel: pd.DataFrame, settings: MediationSettings, *,
                  alpha: float = 0.05) -> MediationResult:
    """Fit the three models of one mediation column on ``panel`` and bootstrap them by
    province (``settings.reps`` draws, ``numpy.random.default_rng(settings.seed)``).

    Raises :class:`SpecificationError` naming the spec key when the treatment, the mediator,
    the outcome, a control or a flag is not a panel column, or when no row is complete.
    """
    s = settings
    data = _sample(panel, s)
    point = mediation_point(data, s)
    units = np.asarray(data.index.get_level_values("region"))
    provinces = sorted(set(units))
    rows = {p: np.flatnonzero(units == p) for p in provinces}
    rng = np.random.default_rng(s.seed)
    draws_idx = [rng.integers(0, len(provinces), size=len(provinces)) for _ in range(s.reps)]
    arrays = _arrays(data, s)
    all_years = np.asarray(data.index.get_level_values("year"))
    records, failed = [], 0
    for draw in draws_idx:
        idx, labels = [], []
        for j, p in enumerate(draw):
            idx.append(rows[provinces[p]])
            labels += [f"{provinces[p]}#{j}"] * len(rows[provinces[p]])
        take = np.concatenate(idx)
        try:
            est = _point({v: a[take] for v, a in arrays.items()}, s, np.asarray(labels),
                         all_years[take])
        except np.linalg.LinAlgError:
            failed += 1
            continue
        records.append({q: est[q] for q in QUANTITIES})
    draws = pd.DataFrame(records, columns=list(QUANTITIES))
    years = data.index.get_level_values("year")
    sample = {"nobs": int(len(data)), "n_provinces": len(provinces),
              "years": f"{int(years.min())}-{int(years.max())}",
              "exclude": list(s.exclude), "drop_if": list(s.drop_if)}
    grid = {f"{r:g}": float(acme_at_rho(r, point["a"], point["sigma1"], point["sigma2"],
                                        point["rho_tilde"], s.contrast)) for r in s.rho_grid}
    return MediationResult(settings=s, point=point, draws=draws, reps_failed=failed,
                           sample=sample, acme_rho=grid)


# ----------------------------------------------------------------------------- output

_ROW_LABELS = {
    "total": "Total effect (reduced form: c x {k})",
    "a": "Treatment -> mediator (a, per unit)",
    "b": "Mediator -> outcome given treatment (b, per unit)",
    "ade": "Average direct effect (ADE: c' x {k})",
    "acme": "Average causal mediation effect (ACME: a b x {k})",
    "proportion": "Proportion mediated (a b / c)",
    "rho_zero": "Sensitivity: rho at which ACME = 0",
}


def mediation_record(results: list[MediationResult]) -> dict:
    """Plain data for ``estimates.json["mediation"][<table id>]``: per column, its variables,
    sample, contrast, draws used and failed, seed, and per quantity the estimate, bootstrap
    SE and 95% percentile interval (units as :class:`MediationResult`), and ACME(rho)."""
    out = {}
    for r in results:
        s = r.settings
        out[s.id] = {
            "treatment": s.treatment, "mediator": s.mediator, "outcome": s.outcome,
            "controls": list(s.controls), "year_effects": s.year_effects,
            "province_effects": s.province_effects, "contrast": s.contrast,
            "reps": s.reps, "reps_used": int(len(r.draws)), "reps_failed": r.reps_failed,
            "seed": s.seed, "sample": dict(r.sample),
            "interval": "province cluster bootstrap, percentile, 95%",
            "quantities": r.summary().to_dict(orient="records"),
            "acme_at_rho": dict(r.acme_rho),
        }
    return out


def mediation_table(results: list[MediationResult], *, title: str, notes=(),
                    labels: dict | None = None) -> RegressionTable:
    """The mediation table: one column per model; per quantity the estimate, the bootstrap SE
    in parentheses and the 95% percentile interval in brackets; the sample at the bottom."""
    labels = dict(labels or {})
    name = lambda v: labels.get(v, v)  # noqa: E731
    s0 = results[0].settings
    rows = []
    summaries = [r.summary().set_index("quantity") for r in results]
    for q in QUANTITIES:
        text = _ROW_LABELS[q].format(k=f"{s0.contrast:g}")
        rows.append(Row("coef", text, tuple(format_number(sm.loc[q, "estimate"], 3)
                                            for sm in summaries)))
        if q != "proportion":  # a ratio whose denominator can be near 0: no sd, interval only
            rows.append(Row("se", "", tuple(f"({format_number(sm.loc[q, 'std_error'], 3)})"
                                            for sm in summaries)))
        rows.append(Row("extra", "", tuple(
            f"[{format_number(sm.loc[q, 'ci_low'], 3)}, {format_number(sm.loc[q, 'ci_high'], 3)}]"
            for sm in summaries)))
    grid = list(results[0].acme_rho)
    for key in grid:
        rows.append(Row("coef", f"ACME if corr(e_mediator, e_outcome) = {key}",
                        tuple(format_number(r.acme_rho.get(key), 3) for r in results)))
    for label, fn in [
        ("Treatment", lambda r: name(r.settings.treatment)),
        ("Mediator", lambda r: name(r.settings.mediator)),
        ("Outcome", lambda r: name(r.settings.outcome)),
        ("Controls", lambda r: ", ".join(name(c) for c in r.settings.controls) or "none"),
        ("Year effects", lambda r: "yes" if r.settings.year_effects else "no"),
        ("Province effects", lambda r: "yes" if r.settings.province_effects else "no"),
        ("Observations", lambda r: str(r.sample["nobs"])),
        ("Provinces", lambda r: str(r.sample["n_provinces"])),
        ("Sample", lambda r: r.sample["years"]),
        ("Bootstrap draws used (failed)", lambda r: f"{len(r.draws):,} ({r.reps_failed})"),
    ]:
        rows.append(Row("stat", label, tuple(fn(r) for r in results)))
    contrasts = sorted({r.settings.contrast for r in results})
    base_notes = [
        "Linear-linear mediation (Imai, Keele & Yamamoto 2010): reduced form Y = c D + X'h1 + e1; "
        "mediator M = a D + X'h2 + e2; outcome Y = c' D + b M + X'h3 + e3, by OLS on one sample "
        f"with the controls and year dummies listed. Effects per {', '.join(f'{c:g}' for c in contrasts)} "
        "units of the treatment; ACME + ADE = total effect exactly.",
        "Identification needs sequential ignorability: the treatment as good as random given "
        "the controls, and the mediator as good as random given treatment and controls. rho = "
        "corr(e2, e3) is the correlation an unobserved confounder of innovation and growth would "
        "create; ACME(rho) = a (sd e1 / sd e2) [rho~ - rho sqrt((1 - rho~^2)/(1 - rho^2))], which is "
        "zero at rho = rho~ = corr(e1, e2) (the 'rho at which ACME = 0' row).",
        f"In parentheses: standard deviation of {s0.reps:,} province cluster bootstrap draws "
        f"(provinces drawn with replacement, all three models refitted; seed {s0.seed}); in "
        "brackets: their 2.5th and 97.5th percentiles (the proportion mediated, a ratio whose "
        "denominator can be near zero, has the interval only). No stars: the intervals are the "
        "inference.",
    ]
    return RegressionTable(title=title, columns=tuple(r.settings.label for r in results),
                           titles=tuple(r.settings.title for r in results), rows=tuple(rows),
                           notes=tuple(base_notes + list(notes)), stars=())


def _settings_of(value) -> dict:
    return value if isinstance(value, dict) else {}


def _files(table, settings) -> list[str]:
    stem = _settings_of(table.analyses.get("mediation")).get("output", f"mediation_{table.id}")
    return table_paths(f"tables/{stem}")


def _variables(table, settings: list[MediationSettings]) -> list[tuple[str, str]]:
    """(spec key, panel column) of every variable the mediation models read."""
    out = []
    for s in settings:
        where = f"analyses.mediation (column {s.id!r})."
        out += [(where + "treatment", s.treatment), (where + "mediator", s.mediator),
                (where + "outcome", s.outcome)]
        out += [(where + "controls", c) for c in s.controls]
        out += [(where + "drop_if", f) for f in s.drop_if]
    return out


def _run(ctx: Context, table, settings: list[MediationSettings]) -> Output:
    raw = _settings_of(table.analyses.get("mediation"))
    reps = ctx.reps.get("mediation")
    results = []
    for s in settings:
        s = replace(s, reps=reps) if reps is not None else s
        results.append(fit_mediation(ctx.panel, s))
    stem = raw.get("output", f"mediation_{table.id}")
    tab = mediation_table(results, title=raw.get("title", f"Mediation: {table.title}"),
                          notes=raw.get("notes", ()), labels=ctx.labels)
    paths = tab.write(Path(ctx.out) / "tables" / stem)
    print(f"  mediation: {len(results)} model(s), {results[0].settings.reps} draws each "
          f"(seed {results[0].settings.seed})")
    return Output(files=list(paths.values()),
                  record={"mediation": {table.id: mediation_record(results)}})


register(Analysis(name="mediation", stage="outputs", run=_run, parse=_parse, files=_files,
                  record_keys=("mediation",), variables=_variables,
                  doc="mediation of decentralization -> growth through innovation (IKY 2010) "
                      "with rho-sensitivity and a province cluster bootstrap"))
