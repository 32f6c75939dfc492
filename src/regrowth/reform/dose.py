"""Each province's statutory dose of the local consumption tax reform (a shift-share exposure).

The formula
-----------
For province i with region type k(i) and distribution weight w_k (capital region 1,
non-capital metropolitan cities 2, other provinces 3; :mod:`regrowth.reform.statute`):

    C_i   = mean over the base years (2017, 2018) of consumption_pc_it x population_it
            (private final consumption, thousand won; consumption_pc in thousand won per
            resident, population in persons)
    s_i   = w_k(i) C_i / sum_j w_k(j) C_j                 weighted consumption share
    P_i   = mean over the base years of population_it     (persons)
    e_i   = s_i x 10^12 / P_i                             exposure: won per resident per
                                                          1 trillion won of national VAT
    dose_it = (rate_t - 0.11) x e_i                       won per resident per 1 trillion
                                                          won of VAT, in year t

The "shift" is the statutory rate increment over the pre-reform 11 % (0 before 2019,
0.04 in 2019, 0.10 in 2020-21, 0.127 in 2022, 0.143 from 2023); the "share" is fixed at
the pre-reform base years, so the dose varies across provinces only through the statute
(the weights) and pre-reform consumption and population — not through anything the
reform or the outcomes did afterwards. ``phase1_dose`` is the 2020 value
(0.10 x e_i): the time-invariant treatment intensity of the event study and the DiD.

National VAT revenue is not in a stored source, so the dose is per 1 trillion won of
VAT: multiplying by the VAT (in trillion won) gives won per resident, and since it is
a factor common to all provinces it only rescales coefficients. The sum over j
(normalisation) runs over every province in ``regions`` (default: all 17, as the
statute distributes over all 17); Sejong is weighted as a non-capital province (3), a
documented, unconfirmed choice (``statute.REGISTRY["sejong_type"]``).

The dose is gross: the capital region's contribution to the co-prosperity fund on the
increments, the education-grant and transfer offsets and any other allocation key for
parts of an increment are not netted out (see :func:`regrowth.reform.statute.notes`).

Bad input is an error naming the province and year: a base year without
consumption or population for a province, a province without a region type, a year
outside the rate registry.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from regrowth.errors import DataError, SpecificationError
import regrowth.reform.statute as statute

__all__ = ["BASE_YEARS", "VAT_UNIT", "exposure", "dose_frame", "dose_panel"]

BASE_YEARS: tuple[int, ...] = (2017, 2018)
VAT_UNIT: float = 1e12  # 1 trillion won of national VAT


def _cell(panel: pd.DataFrame, column: str, region: str, year: int) -> float:
    if column not in panel.columns:
        raise DataError(f"the panel has no column {column!r}, which the reform dose needs",
                        hint="rebuild the panel with the source that provides it "
                             "(consumption_pc: KOSIS DT_1C86, 'Private Consumption per Capita')")
    try:
        value = panel.at[(region, year), column]
    except KeyError:
        value = np.nan
    if value is None or pd.isna(value):
        raise DataError(f"no {column} for province {region!r} in {year}: the reform dose fixes "
                        f"shares at the base years {list(BASE_YEARS)} and needs every province's "
                        "value there", column=column,
                        hint="check the panel's coverage, or choose other base_years / regions")
    return float(value)


def exposure(panel: pd.DataFrame, *, regions: Sequence[str] | None = None,
             base_years: Iterable[int] = BASE_YEARS, types: dict[str, str] | None = None,
             consumption: str = "consumption_pc", population: str = "population") -> pd.DataFrame:
    """Pre-reform weighted consumption shares and exposure per province.

    Parameters
    ----------
    panel : the package panel, indexed by (region, year).
    regions : provinces over which the shares are normalised (default: every province of
        the panel, i.e. all 17).
    base_years : the years averaged for consumption and population (default 2017, 2018).
    types : region type per province (default :data:`statute.REGION_TYPES`).

    Returns
    -------
    DataFrame indexed by region: ``region_type``, ``weight``, ``consumption`` (C_i, thousand
    won), ``population_base`` (P_i, persons), ``share`` (s_i), ``exposure`` (e_i, won per
    resident per 1 trillion won of VAT per unit of the rate), ``phase1_dose``
    ((rate_2020 - 0.11) e_i).
    """
    base_years = tuple(int(y) for y in base_years)
    if not base_years:
        raise SpecificationError("base_years is empty")
    if regions is None:
        regions = sorted(panel.index.get_level_values(0).unique())
    regions = list(regions)
    rows = []
    for r in regions:
        kind = statute.region_type(r, types)
        cons = [_cell(panel, consumption, r, y) * _cell(panel, population, r, y)
                for y in base_years]
        pops = [_cell(panel, population, r, y) for y in base_years]
        rows.append({"region": r, "region_type": kind, "weight": statute.WEIGHTS[kind],
                     "consumption": float(np.mean(cons)), "population_base": float(np.mean(pops))})
    out = pd.DataFrame(rows).set_index("region")
    weighted = out["weight"] * out["consumption"]
    out["share"] = weighted / weighted.sum()
    out["exposure"] = out["share"] * VAT_UNIT / out["population_base"]
    out["phase1_dose"] = (statute.rate(2020) - statute.BASE_RATE) * out["exposure"]
    return out


def dose_frame(panel: pd.DataFrame, years: Iterable[int] = range(2014, 2024), **kwargs
               ) -> pd.DataFrame:
    """The dose path: one row per (region, year) with ``rate``, ``increment`` (rate - 0.11)
    and ``dose`` (won per resident per 1 trillion won of VAT). ``kwargs`` go to
    :func:`exposure`."""
    exp = exposure(panel, **kwargs)
    rows = []
    for y in years:
        rt = statute.rate(int(y))
        inc = max(rt - statute.BASE_RATE, 0.0) if int(y) >= 2014 else 0.0
        for r, e in exp["exposure"].items():
            rows.append({"region": r, "year": int(y), "rate": rt, "increment": inc,
                         "dose": inc * e})
    return pd.DataFrame(rows).set_index(["region", "year"]).sort_index()


def dose_panel(panel: pd.DataFrame, *, scale: float = 1e3, **kwargs) -> pd.DataFrame:
    """``panel`` with the reform columns added: ``phase1_dose`` (time-invariant, won per
    resident per 1 trillion won of VAT, divided by ``scale`` — default thousand won) and
    ``dose_t`` (the year's dose, same unit; 0 before 2019). Provinces outside the
    normalisation (``regions=``) get NaN."""
    exp = exposure(panel, **kwargs)
    out = panel.copy()
    reg = out.index.get_level_values(0)
    yr = out.index.get_level_values(1)
    d = exp["phase1_dose"].reindex(reg).to_numpy() / scale
    out["phase1_dose"] = d
    e = exp["exposure"].reindex(reg).to_numpy() / scale
    inc = np.array([max(statute.RATES.get(int(y), statute.BASE_RATE) - statute.BASE_RATE, 0.0)
                    if int(y) >= 2014 else 0.0 for y in yr])
    out["dose_t"] = inc * e
    return out
