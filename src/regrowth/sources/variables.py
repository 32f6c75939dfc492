"""The derived variables of the panel, and how each column aggregates to a macro-region.

Declared here, below :mod:`regrowth.panel` and beside the source registry, so that the
registry's :func:`~regrowth.sources.registry.supplier_hint` can trace a derived column
(``fiscal_autonomy_l1``, ``ln_patents_all_pm_l1``) back to the table that supplies its inputs
without importing the panel. :mod:`regrowth.panel` computes them (``panel.DERIVED`` is this
module's :data:`DERIVED`).

Kinds of derived column:

* ``log`` ln(x); ``log1p`` ln(1 + x); ``lag`` x in year t-1 of the same unit; ``growth``
  100 (x_t / x_(t-1) - 1); ``ratio`` scale * a / b;
* ``rebase`` -- a + (b - c) from ``break_year`` on, a before: the old-basis 재정자주도
  (자주도(old) = 자주도(new) + 자립도(old) - 자립도(new): the 2014 revision moved non-tax
  items out of own revenue, denominator and 자주재원 unchanged);
* ``macro_count`` -- the macro-region (권역) count rate x mid-year population / 10^6, where
  the mid-year population is (Dec(t-1) + Dec(t)) / 2 summed over the provinces of the 권역
  that existed in that year (KOSTAT's 연앙인구); given to every province of the 권역.
  Derived, not observed: the rate is published as an integer;
* ``macro_halfwidth`` -- the rounding half-width of that count: 0.5 x mid-year population /
  10^6 (the true count lies within count +- half-width).

:data:`MACRO_RULES` says how each panel column becomes a macro-region column in the
macro-region panel (``sum`` of the provinces, population-weighted ``pop_mean``, ``macro``
for a value that is already the 권역's, ``common`` for a flag equal across provinces);
derived columns are recomputed on the aggregated frame by the same :data:`DERIVED` rules.
"""

from __future__ import annotations

import dataclasses

__all__ = ["Derived", "DERIVED", "DERIVED_BY_NAME", "MACRO_RULES", "RULE_TEXT", "derived_inputs"]


@dataclasses.dataclass(frozen=True)
class Derived:
    """One derived column: how it is computed, for the codebook and for the code."""

    name: str
    kind: str  # log | log1p | lag | growth | ratio | rebase | macro_count | macro_halfwidth
    inputs: tuple[str, ...]
    label: str
    unit: str
    scale: float = 1.0
    bounds: tuple[float | None, float | None] = (None, None)   # checked by the schema
    break_year: int | None = None                              # rebase only
    note: str = ""

    @property
    def is_derived_count(self) -> bool:
        """True for the macro-region counts derived from a rate (labelled so everywhere)."""
        return self.kind in ("macro_count", "macro_halfwidth")

    def transformation(self) -> str:
        a = self.inputs[0]
        if self.kind == "ratio":
            b = self.inputs[1]
            return f"{self.scale:g} * {a} / {b}" if self.scale != 1 else f"{a} / {b}"
        if self.kind == "rebase":
            b, c = self.inputs[1:3]
            return (f"{a} + ({b} - {c}) from {self.break_year}; {a} before (identity: "
                    "the 2014 revision moved non-tax items out of own revenue, "
                    "denominator and 자주재원 unchanged)")
        if self.kind == "macro_count":
            return (f"DERIVED: {a} (integer, per million) x mid-year population of the "
                    f"macro-region / 1e6; mid-year population = (Dec(t-1) + Dec(t)) / 2 of "
                    f"{self.inputs[1]} summed over the 권역's provinces that existed; the value "
                    "of the province's 권역 (for gangwon and jeju, one-province 권역, the "
                    "province's own count); checked: the 7 권역 sum to the national count "
                    f"({self.inputs[2]} x national mid-year population) within 0.1% every year")
        if self.kind == "macro_halfwidth":
            return (f"DERIVED: 0.5 x mid-year population of the macro-region / 1e6 (the rate "
                    f"{a} is rounded to an integer per million)")
        return {
            "log": f"ln({a})",
            "log1p": f"ln(1 + {a})",
            "lag": f"{a} in year t-1 of the same province (missing if year t-1 is missing)",
            "growth": f"100 * ({a}_t / {a}_(t-1) - 1), same province, consecutive years",
        }[self.kind]


def _log(v):
    return Derived(f"ln_{v}", "log", (v,), f"log of {v}", "log points")


def _lag(v):
    return Derived(f"{v}_l1", "lag", (v,), f"{v}, lagged one year", "as " + v)


def _growth(v):
    return Derived(f"{v}_growth", "growth", (v,), f"annual growth of {v}", "percent",
                   bounds=(-50.0, 100.0))


def _p10k(v, what):
    return Derived(f"{v}_p10k", "ratio", (v, "population"), f"{what} per 10,000 residents",
                   "per 10,000 residents", 1e4)


#: Every derived column, in the order it is computed and written.
DERIVED: tuple[Derived, ...] = (
    Derived("patents_fintech_pm", "ratio", ("patents_fintech", "population"),
            "fintech patent applications per million residents", "per million residents", 1e6),
    Derived("rnd_pc", "ratio", ("rnd", "population"),
            "R&D expenditure per resident", "thousand won per person", 1e3),
    Derived("patents_all_pm", "ratio", ("patents_all", "population"),
            "all-field patent applications per million residents (full edition)",
            "per million residents", 1e6),
    Derived("higher_ed_pct", "ratio", ("higher_ed_entrants", "hs_graduates"),
            "high-school graduates entering higher education", "percent of graduates", 100.0,
            bounds=(0.0, 100.0)),
    Derived("exports_pc", "ratio", ("exports", "population"),
            "exports per resident", "USD per person", 1e6),
    Derived("fiscal_autonomy_old", "rebase",
            ("fiscal_autonomy", "fiscal_self_reliance", "fiscal_self_reliance_rev"),
            "재정자주도 on the old revenue classification (세입과목개편전), continuous 2001-2025",
            "%", bounds=(0.0, 100.0), break_year=2014),
    _p10k("universities", "universities (4-year, all founders)"),
    _p10k("university_students", "students enrolled in universities"),
    _p10k("grad_schools", "graduate schools"),
    _p10k("grad_students", "students enrolled in graduate schools"),
    Derived("patents_all_macro", "macro_count",
            ("patents_pm_macro", "population", "patents_pm_nation"),
            "DERIVED all-field patent applications of the province's macro-region (권역), "
            "rate x mid-year population", "applications (derived, not observed)"),
    Derived("patents_all_macro_hw", "macro_halfwidth", ("patents_pm_macro", "population"),
            "DERIVED rounding half-width of patents_all_macro (+-0.5 per million x mid-year "
            "population)", "applications (derived)"),
    _log("population"), _log("rnd"), _log("grdp_pc_nominal"), _log("grdp_pc_real"),
    _log("patents_pm_macro"), _log("exports"), _log("patents_all_pm"),
    _log("universities_p10k"), _log("university_students_p10k"), _log("grad_students_p10k"),
    _log("employment"), _log("consumption_pc"), _log("patents_all_macro"),
    Derived("ln1p_patents_fintech_pm", "log1p", ("patents_fintech_pm",),
            "log(1 + fintech applications per million residents)", "log points"),
    _growth("grdp_pc_real"), _growth("grdp_pc_nominal"), _growth("population"),
    _growth("consumption_pc"), _growth("employment"),
    _lag("fiscal_self_reliance"), _lag("fiscal_self_reliance_rev"), _lag("ln_rnd"),
    _lag("ln_patents_pm_macro"), _lag("ln_grdp_pc_real"), _lag("ln_grdp_pc_nominal"),
    _lag("ln1p_patents_fintech_pm"), _lag("fiscal_autonomy"), _lag("ln_patents_all_pm"),
    _lag("fiscal_autonomy_old"), _lag("fiscal_autonomy_kosis"), _lag("ln_universities_p10k"),
    _lag("ln_university_students_p10k"), _lag("employment_rate"), _lag("ln_consumption_pc"),
    _lag("kiet_rdi"), _lag("ln_patents_all_macro"),
)

DERIVED_BY_NAME: dict[str, Derived] = {d.name: d for d in DERIVED}
if len(DERIVED_BY_NAME) != len(DERIVED):
    raise AssertionError("a derived column is declared twice")


def derived_inputs(name: str) -> list[str]:
    """The base variables a derived column is computed from, nearest first (``[]`` for a
    base variable): ``fiscal_autonomy_old_l1`` -> fiscal_autonomy_old, fiscal_autonomy,
    fiscal_self_reliance, fiscal_self_reliance_rev."""
    out, frontier = [], [name]
    while frontier:
        d = DERIVED_BY_NAME.get(frontier.pop(0))
        if d is None:
            continue
        for i in d.inputs:
            if i not in out:
                out.append(i)
                frontier.append(i)
    return out


#: rule -> what it means, for the macro codebook
RULE_TEXT = {
    "sum": "sum over the macro-region's provinces that existed (missing if any of them lacks "
           "a value)",
    "pop_mean": "population-weighted mean over the macro-region's provinces that existed, "
                "weights = population (Dec) of the same year (missing if any lacks a value)",
    "macro": "the macro-region's own value (already a 권역 series)",
    "common": "the value shared by all the macro-region's provinces",
    "derived": "recomputed on the macro-region columns by the panel's derivation rule",
}

#: base column -> aggregation rule in the macro-region panel. Columns not named here are left
#: out of the macro-region panel (higher_ed_rate: use higher_ed_pct, recomputed from the sums).
MACRO_RULES: dict[str, str] = {
    # counts and levels: sums
    "population": "sum", "patents_fintech": "sum", "rnd": "sum", "exports": "sum",
    "households": "sum", "local_gov_amount": "sum", "hs_graduates": "sum",
    "higher_ed_entrants": "sum", "universities": "sum", "university_students": "sum",
    "grad_schools": "sum", "grad_students": "sum", "employment": "sum", "patents_all": "sum",
    # per-capita amounts, ratios, percentages and indices: population-weighted means
    "grdp_pc_nominal": "pop_mean", "grdp_pc_2020base": "pop_mean", "grdp_pc_real": "pop_mean",
    "consumption_pc": "pop_mean", "fiscal_self_reliance": "pop_mean",
    "fiscal_self_reliance_rev": "pop_mean", "fiscal_autonomy": "pop_mean",
    "fiscal_autonomy_kosis": "pop_mean", "employment_rate": "pop_mean", "kiet_rdi": "pop_mean",
    "kiet_rdi_economic": "pop_mean", "kiet_rdi_vitality": "pop_mean",
    # already macro-region (or national) values
    "patents_pm_macro": "macro", "patents_pm_nation": "macro", "patents_all_macro": "macro",
    "patents_all_macro_hw": "macro",
    "fiscal_basis_2014": "common",
}
