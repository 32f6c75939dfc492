"""Data helpers of the reform tests (imported by conftest.py, the tests and the fixture writer).

``read_raw_consumption`` parses the raw KOSIS DT_1C86 workbook with openpyxl (independent of
the package's parsers); ``make_synthetic_panel`` makes the SYNTHETIC panel (not data).
"""

from __future__ import annotations

import glob
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

PROJECT = Path(__file__).resolve().parents[2]
FIXTURES = PROJECT / "tests" / "fixtures" / "reform"

# English names of DT_1C86's 'By province' column -> package keys (typed here, not looked up
# through regrowth.regions, so the test path is independent of the package's parsers).
DT_1C86_NAMES = {
    "Seoul": "seoul", "Busan": "busan", "Daegu": "daegu", "Incheon": "incheon",
    "Gwangju": "gwangju", "Daejeon": "daejeon", "Ulsan": "ulsan", "Sejong": "sejong",
    "Gyeonggi-do": "gyeonggi", "Gangwon-do": "gangwon", "Chungcheongbuk-do": "chungbuk",
    "Chungcheongnam-do": "chungnam", "Jeollabuk-do": "jeonbuk", "Jeollanam-do": "jeonnam",
    "Gyeongsangbuk-do": "gyeongbuk", "Gyeongsangnam-do": "gyeongnam", "Jeju-do": "jeju",
}


def read_raw_consumption(mirror: Path) -> dict[tuple[str, int], float]:
    """{(region key, year): Private Consumption per Capita (thousand won)} from the raw xlsx."""
    import openpyxl

    files = glob.glob(str(mirror / "kosis_grdp_population" / "Regional_GDP__*.xlsx"))
    assert len(files) == 1, files
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ws = openpyxl.load_workbook(files[0])["Data"]
    rows = list(ws.iter_rows(values_only=True))
    header = rows[0]
    col = header.index("Private Consumption per Capita")
    out: dict[tuple[str, int], float] = {}
    year = None
    for r in rows[1:]:
        if r[0] not in (None, ""):
            year = int(str(r[0]).split()[0])
        name = str(r[1]).strip()
        if name in ("Whole country",):
            continue
        key = DT_1C86_NAMES.get(name)
        if key is None:
            continue
        v = r[col]
        if isinstance(v, (int, float)):
            out[(key, year)] = float(v)
    return out

def make_synthetic_panel(seed: int = 7, *, first: float = 2.0, effect: float = 0.5,
                         n_regions: int = 17, years=range(2010, 2024)) -> pd.DataFrame:
    """SYNTHETIC panel (not data): dose d_i, post = year >= 2019,
    autonomy = a_i + g_t + first * d_i * post + e, outcome = b_i + h_t + effect * autonomy + u
    with u correlated with e (endogeneity), counts ~ Poisson(exp(c_i + k_t + 0.3 d_i post))."""
    rng = np.random.default_rng(seed)
    regions = [f"r{i:02d}" for i in range(n_regions)]
    years = list(years)
    dose = rng.gamma(4.0, 0.25, n_regions)
    a = rng.normal(0, 2, n_regions)
    b = rng.normal(0, 2, n_regions)
    c = rng.normal(1.5, 0.5, n_regions)
    g = rng.normal(0, 1, len(years))
    h = rng.normal(0, 1, len(years))
    k = rng.normal(0, 0.2, len(years))
    rows = []
    for i, r in enumerate(regions):
        for t, y in enumerate(years):
            post = float(y >= 2019)
            e = rng.normal(0, 1)
            u = 0.6 * e + rng.normal(0, 1)
            aut = a[i] + g[t] + first * dose[i] * post + e
            out = b[i] + h[t] + effect * aut + u
            lam = np.exp(c[i] + k[t] + 0.3 * dose[i] * post)
            rows.append({"region": r, "year": y, "dose": dose[i], "post": post,
                         "fiscal_autonomy": aut, "outcome": out,
                         "count": float(rng.poisson(lam))})
    return pd.DataFrame(rows).set_index(["region", "year"])
