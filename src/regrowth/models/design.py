"""Design matrices of a specification: regressors, year dummies, province dummies.

Dummy columns are named ``year_<t>`` (every sample year but the first, the base) and
``province_<region key>`` (every sample province but the first in sort order, the base):
tables hide them and report "Year effects"/"Province effects" from their presence in the
fitted model's terms (see :func:`fitted_effects`).
"""

from __future__ import annotations

import pandas as pd

__all__ = ["year_dummies", "province_dummies", "effect_dummies", "fitted_effects",
           "YEAR_PREFIX", "PROVINCE_PREFIX"]

YEAR_PREFIX = "year_"
PROVINCE_PREFIX = "province_"


def year_dummies(index: pd.MultiIndex) -> pd.DataFrame:
    """0/1 columns ``year_<t>`` for every sample year but the first (the base)."""
    years = index.get_level_values("year")
    levels = sorted(set(years))
    return pd.DataFrame({f"{YEAR_PREFIX}{t}": (years == t).astype(float) for t in levels[1:]},
                        index=index)


def province_dummies(index: pd.MultiIndex) -> pd.DataFrame:
    """0/1 columns ``province_<key>`` for every sample province but the first (the base)."""
    regions = index.get_level_values("region")
    levels = sorted(set(regions))
    return pd.DataFrame({f"{PROVINCE_PREFIX}{r}": (regions == r).astype(float)
                         for r in levels[1:]}, index=index)


def effect_dummies(spec, data: pd.DataFrame, *, year: bool | None = None,
                   province: bool | None = None) -> pd.DataFrame:
    """The dummy columns ``spec`` asks for (``year``/``province`` override the spec)."""
    year = spec.year_effects if year is None else year
    province = spec.province_effects if province is None else province
    parts = []
    if year:
        parts.append(year_dummies(data.index))
    if province:
        parts.append(province_dummies(data.index))
    return pd.concat(parts, axis=1) if parts else pd.DataFrame(index=data.index)


def fitted_effects(result, terms) -> dict:
    """Which effects the *fitted* model contains, read from its terms, not from a spec.

    ``terms``: the fitted coefficient names. Year effects: ``year_*`` terms or linearmodels'
    ``TimeEffects``; province effects: ``province_*`` terms or ``EntityEffects``.
    Returns ``{"year": bool, "province": bool, "year_terms": [...], "province_terms": [...],
    "absorbed": [...]}`` (``absorbed``: effects swept out by a within transformation).
    """
    terms = [str(t) for t in terms]
    included = list(getattr(result, "included_effects", None) or [])  # linearmodels
    absorbed = [{"Entity": "EntityEffects", "Time": "TimeEffects"}.get(e, e) for e in included]
    year_terms = [t for t in terms if t.startswith(YEAR_PREFIX)]
    province_terms = [t for t in terms if t.startswith(PROVINCE_PREFIX)]
    return {"year": bool(year_terms) or "TimeEffects" in absorbed,
            "province": bool(province_terms) or "EntityEffects" in absorbed,
            "year_terms": year_terms, "province_terms": province_terms, "absorbed": absorbed}
