"""Full edition: a KOSIS download dropped into data/raw/kosis/ joins the panel.

The download here is a small synthetic file in the layout of a KOSIS 시도 export (CP949,
Korean labels, years as columns); its numbers are invented for the test, not data.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from regrowth import panel, regions, specs
from regrowth.errors import MissingInputError
from regrowth.sources import load_kosis_download


def kosis_export(path: Path) -> None:
    lines = ["행정구역별,2018,2019,2020"]
    for i, r in enumerate(regions.REGIONS):
        lines.append(f"{r.name_ko},{40 + i},{41 + i},{42 + i}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp949"))


@pytest.fixture
def raw_with_download(tmp_path, data_mirror):
    raw = tmp_path / "raw"
    raw.mkdir()
    for child in data_mirror.iterdir():
        if child.is_dir():
            (raw / child.name).symlink_to(child)
    kosis_export(raw / "kosis" / "DT_1YL20891.csv")
    return raw


def test_download_is_read_into_the_panel_with_its_lag(raw_with_download, tmp_path):
    built = panel.build(raw_with_download, tmp_path / "out")
    p = built.panel
    assert p.loc[("busan", 2019), "fiscal_autonomy"] == 42.0  # busan is the 2nd province by code
    assert p.loc[("busan", 2020), "fiscal_autonomy_l1"] == 42.0
    assert built.reports["full_edition"]["DT_1YL20891"] is True
    book = built.codebook.set_index("name")
    assert book.loc["fiscal_autonomy", "source"] == "kosis/DT_1YL20891.csv"


def test_spec_needing_the_download_runs_once_it_is_there(raw_with_download, tmp_path):
    built = panel.build(raw_with_download, tmp_path / "out")
    s = specs.load(Path(__file__).resolve().parents[2] / "specs" / "models.toml")
    assert "fiscal_autonomy_l1" in built.panel.columns
    assert specs.check_against(s, list(built.panel.columns) + ["region", "year"]) == {}


def test_missing_download_names_table_and_place(tmp_path):
    with pytest.raises(MissingInputError, match="DT_1YL20891") as err:
        load_kosis_download(tmp_path, "DT_1YL20891", "fiscal_autonomy")
    assert "data/raw/kosis/DT_1YL20891.csv" in str(err.value)
