"""The bootstrap lines of a table (regrowth.analyses.bootstrap) when they cannot work: refused
before anything is fitted, or failed visibly (log, table notes, exit status 1), and described
as what was actually done. Run through ``replicate`` on the seeded synthetic panel of
tests/test_replicate.py."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from regrowth import replicate
from regrowth.errors import SpecificationError

from test_replicate import SPEC, synthetic_panel

GNB_SE = 'se = { type = "cluster", groups = "region" }'


def _spec(se: str) -> str:
    return SPEC.replace('notes = ["a note"]', 'notes = ["a note"]\nfocus = ["x1"]').replace(
        GNB_SE, se, 1)


@pytest.fixture
def project(tmp_path, monkeypatch):
    processed = synthetic_panel(tmp_path / "processed")
    panel = pd.read_parquet(processed / "panel.parquet")
    panel["row_id"] = np.arange(len(panel))       # one observation per "cluster"
    panel["everywhere"] = 1                       # one cluster
    panel.to_parquet(processed / "panel.parquet", index=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")

    def run(spec_text: str) -> int:
        (tmp_path / "models.toml").write_text(spec_text, encoding="utf-8")
        return replicate.run(specs=tmp_path / "models.toml", processed_dir=processed,
                             results_dir=tmp_path / "results", notebooks=False)
    return tmp_path, run


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def test_a_bootstrap_on_one_cluster_is_refused_before_anything_is_fitted(project, monkeypatch):
    root, run = project
    assert run(_spec(GNB_SE)) == 0
    before = _files(root / "results")
    fitted = []
    monkeypatch.setattr(replicate, "fit_column", lambda *a: fitted.append(a))
    with pytest.raises(SpecificationError) as err:
        run(_spec('se = { type = "robust", groups = "everywhere", bootstrap = { reps = 99 } }'))
    msg = str(err.value)
    assert "table 't1', column 'gnb': key 'se.bootstrap'" in msg
    assert "has 1 cluster of se.groups = 'everywhere'" in msg and "needs at least 2" in msg
    assert "nothing was fitted or written" in msg
    assert fitted == [] and _files(root / "results") == before


def test_a_bootstrap_that_fails_is_named_in_the_log_and_the_table_and_exits_1(project,
                                                                              monkeypatch,
                                                                              capsys):
    root, run = project

    def out_of_memory(*a, **k):
        raise MemoryError("Unable to allocate 7.45 GiB for an array")
    monkeypatch.setattr("regrowth.analyses.bootstrap.boottest", out_of_memory)
    assert run(_spec('se = { type = "cluster", groups = "region", bootstrap = { reps = 99 } }')) == 1
    err = capsys.readouterr().err
    assert "t1:bootstrap: FAILED: 1 bootstrap(s) failed" in err
    assert "t1/gnb: bootstrap of x1: MemoryError: Unable to allocate" in err
    md = (root / "results" / "tables" / "t1.md").read_text(encoding="utf-8")
    assert "Column (1) (gnb): the bootstrap of x1 failed" in md
    est = json.loads((root / "results" / "estimates.json").read_text(encoding="utf-8"))
    gnb = est["tables"]["t1"]["columns"]["gnb"]
    assert gnb["extra"]["bootstrap"]["x1"]["error"].startswith("MemoryError")


def test_one_observation_per_cluster_is_described_as_resampling_observations(project):
    root, run = project
    assert run(_spec('se = { type = "robust", groups = "row_id", bootstrap = { reps = 99 } }')) == 0
    md = (root / "results" / "tables" / "t1.md").read_text(encoding="utf-8")
    assert "resampling observations (each cluster has one observation)" in md
    assert "clustered by province" not in md
    est = json.loads((root / "results" / "estimates.json").read_text(encoding="utf-8"))
    gnb = est["tables"]["t1"]["columns"]["gnb"]
    assert gnb["extra"]["bootstrap"]["x1"]["n_clusters"] == gnb["stats"]["nobs"] == 144


def test_a_bootstrap_clustered_by_province_says_so(project):
    root, run = project
    assert run(_spec('se = { type = "cluster", groups = "region", bootstrap = { reps = 99 } }')) == 0
    md = (root / "results" / "tables" / "t1.md").read_text(encoding="utf-8")
    assert "confidence set by test inversion, clustered by province (" in md
