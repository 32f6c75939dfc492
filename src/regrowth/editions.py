"""What each data edition holds, and where a missing variable would come from.

The *public* edition is built from the files in ``data/raw/MANIFEST.toml``. The *full*
edition adds KOSIS tables that a user downloads into ``data/raw/kosis/``; the variables
below are the ones the study's RIS and decentralization blocks would use but the public
files lack. A specification that asks for one of them fails before anything is fitted,
with the table id and where to put the download.
"""

from __future__ import annotations

PUBLIC = "public"

#: variable -> (KOSIS table id, what it is)
FULL_EDITION_VARIABLES: dict[str, tuple[str, str]] = {
    "fiscal_autonomy": ("DT_1YL20891", "재정자주도 (fiscal autonomy ratio), %"),
    "fiscal_autonomy_l1": ("DT_1YL20891", "재정자주도 (fiscal autonomy ratio), %, lagged one year"),
    "local_tax_share": ("DT_1YL20921", "local tax revenue share of the budget, %"),
    "patents_all": ("DT_1YL202109E", "all-field patent applications by 시도 of the first applicant"),
    "patents_all_pm": ("DT_1YL202109E", "all-field patent applications per million residents, by 시도"),
    "ln_patents_all_pm_l1": ("DT_1YL202109E", "log all-field patents per million residents by 시도, lagged"),
    "grdp_nominal": ("DT_1C81", "GRDP level, nominal, million won"),
    "grdp_real": ("DT_1C81", "GRDP level, chained 2015 prices, million won"),
    "employment": ("DT_1DA7004S", "employed persons by 시도"),
    "researchers": ("DT_KBA0019", "researchers by region (연구개발활동조사)"),
    "ln_researchers_l1": ("DT_KBA0019", "log researchers by region, lagged"),
    "universities": ("DT_1YL15001", "number of universities by 시도"),
    "manufacturing_share": ("DT_1C81", "manufacturing share of GRDP, %"),
}


def supplier_hint(variable: str) -> str:
    """A sentence saying which KOSIS table supplies ``variable`` and where to put it."""
    base = variable
    for suffix in ("_l1", "_growth"):
        if base.endswith(suffix):
            base = base[: -len(suffix)]
    if base.startswith("ln_"):
        base = base[3:]
    for key in (variable, base):
        if key in FULL_EDITION_VARIABLES:
            table, what = FULL_EDITION_VARIABLES[key]
            return (f"{variable!r} ({what}) is not in the public edition; download KOSIS table "
                    f"{table} as a CSV or XLSX export into data/raw/kosis/ and rerun `make replicate` "
                    f"(see README, 'Full edition')")
    return (f"{variable!r} is neither a column of the panel nor a known full-edition variable; "
            f"check the spelling against data/processed/codebook.csv")
