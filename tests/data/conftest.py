"""Fixtures of the source-parser tests (tests/data/test_sources*, test_kipris*, test_regions*).

``shared_data`` is the read-only mirror of the public raw files, located once by
``data_mirror`` in ``tests/conftest.py``; tests that need it skip when it is absent. Small
synthetic files are written to ``tmp_path`` by the helpers below.
"""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
FILES = HERE / "files"


@pytest.fixture(scope="session")
def shared_data(data_mirror) -> Path:
    """The data mirror (see ``data_mirror`` in tests/conftest.py)."""
    return data_mirror


@pytest.fixture(scope="session")
def all_sources(shared_data):
    from regrowth import sources
    return sources.load_all(shared_data)


@pytest.fixture(scope="session")
def kipris_result(all_sources):
    """(patents_fintech tidy frame, KiprisReport) of the real records, from load_all."""
    tidy, reports = all_sources
    rel = "kipris_fintech_and_kosis_2014_2023/zibianliang1_FintechPatent_2012-2023.xlsx"
    frame = tidy[tidy["variable"] == "patents_fintech"].reset_index(drop=True)
    return frame, reports[rel]


@pytest.fixture
def files() -> Path:
    return FILES


def write_xlsx(path: Path, rows, *, sheet: str = "데이터", meta: dict | None = None,
               merged: list[str] = ()) -> Path:
    """A small xlsx with ``rows`` on one sheet (and a KOSIS-style 메타정보 sheet)."""
    import openpyxl
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    for row in rows:
        ws.append(list(row))
    for rng in merged:
        ws.merge_cells(rng)
    if meta:
        ms = wb.create_sheet("메타정보")
        for k, v in meta.items():
            ms.append([f"○ {k}", v])
    wb.save(path)
    return path


def write_csv(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


@pytest.fixture
def make_xlsx(tmp_path):
    """``make_xlsx(rows, name="t.xlsx", **kw)`` -> path of a new small workbook."""
    def make(rows, name: str = "t.xlsx", **kw) -> Path:
        return write_xlsx(tmp_path / name, rows, **kw)
    return make


@pytest.fixture
def make_csv(tmp_path):
    """``make_csv(text, name="t.csv", encoding="utf-8")`` -> path of a new CSV."""
    def make(text: str, name: str = "t.csv", encoding: str = "utf-8") -> Path:
        return write_csv(tmp_path / name, text, encoding)
    return make


@pytest.fixture(scope="session")
def public_build(shared_data, tmp_path_factory):
    """The public-edition panel built once from the mirror (``PanelBuild``: panel, codebook,
    macro-region panel and its codebook, reports)."""
    from regrowth import panel
    return panel.build(shared_data, tmp_path_factory.mktemp("processed"))
