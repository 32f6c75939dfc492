"""The randomization p-value Table 1 prints for 재정자립도 in column (1) against an
independent 1,999-permutation run (issue 17: "within Monte Carlo error").

The independent run shares nothing with the package's randomization code but the estimator:
its own permutations (numpy ``permutation`` of the 16 province series, another seed), a cold
refit each draw through the column's registry entry (``spec.entry.fit``) and the coefficient
and SE read from the results object (``params``, ``bse``), not through ``tidy`` or
:mod:`regrowth.inference.refit`; p = (1 + #{|t*| >= |t|}) / (1 + 1999). The package's p is
what the spec declares (``analyses.randomization`` of Table 1: its draws and seed), through
the analysis that writes ``estimates.json``. Two Monte Carlo estimates of one p with B1 and
B2 draws differ by less than 4 sqrt(p (1 - p) (1/(B1+1) + 1/(B2+1))) with probability above
0.9999 (normal approximation), plus 1/(B1+1) for the granularity of the coarser one.
Slow: about 2,000 cold GNB fits (1-2 minutes).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from regrowth import panel as panel_mod
from regrowth import analyses, specs
from regrowth.analyses import randomization as ri
from regrowth.fit import estimation_sample, with_region_attributes
from regrowth.threads import one_blas_thread

ROOT = Path(__file__).resolve().parents[2]
TERM = "fiscal_self_reliance_l1"
B_INDEPENDENT = 1999


@pytest.mark.slow
def test_table1_column1_fiscal_self_reliance_ri_p_matches_an_independent_run():
    if not (ROOT / "data" / "processed" / "panel.parquet").is_file():
        pytest.skip("needs the panel: run `make panel`")
    sp = specs.load(ROOT / "specs" / "models.toml")
    table = next(t for t in sp.tables if t.id == "table1_innovation")
    settings = next(s for a, s in analyses.declared(sp, table, "columns")
                    if a.name == "randomization")
    spec = table.column("gnb_main")
    data, _ = estimation_sample(spec, with_region_attributes(panel_mod.load(ROOT / "data" / "processed")))

    ours = ri.randomize_column(spec, data, [TERM], permutations=settings["permutations"],
                               seed=settings["seed"])[TERM]

    wide = data[TERM].unstack("year")
    provinces = list(wide.index)
    rows = [provinces.index(r) for r in data.index.get_level_values("region")]
    cols = [list(wide.columns).index(y) for y in data.index.get_level_values("year")]

    def t_stat(frame):
        res = spec.entry.fit(spec, frame)
        return float(res.params[TERM]) / float(res.bse[TERM])

    rng = np.random.default_rng(777)
    with one_blas_thread():
        t0 = t_stat(data)
        hits = 0
        for _ in range(B_INDEPENDENT):
            frame = data.copy()
            frame[TERM] = wide.to_numpy()[rng.permutation(len(provinces))][rows, cols]
            hits += abs(t_stat(frame)) >= abs(t0) * (1 - 1e-9)
    p_indep = (1 + hits) / (1 + B_INDEPENDENT)

    assert ours["tstat"] == pytest.approx(t0, rel=1e-8)
    B = ours["permutations"]
    p_bar = (ours["pvalue"] * (B + 1) + p_indep * (B_INDEPENDENT + 1)) / (B + B_INDEPENDENT + 2)
    bound = 4 * math.sqrt(p_bar * (1 - p_bar) * (1 / (B + 1) + 1 / (B_INDEPENDENT + 1))) + 1 / (B + 1)
    print(f"\nTable 1 (1) {TERM}: RI p = {ours['pvalue']:.4f} ({B} draws, seed {ours['seed']}); "
          f"independent run p = {p_indep:.4f} ({B_INDEPENDENT} draws); bound {bound:.4f}")
    assert abs(ours["pvalue"] - p_indep) < bound
