"""Replication-package basics present in a fresh clone: licence, citation, data/processed/."""

from __future__ import annotations

import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_license_file_matches_pyproject():
    licence = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["license"]
    assert licence == {"text": "MIT"}
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License\n") and "Permission is hereby granted, free of charge" in text


def test_citation_cff_names_the_package_version_and_the_study():
    yaml = pytest.importorskip("yaml")
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert cff["cff-version"] == "1.2.0" and cff["type"] == "software"
    assert str(cff["version"]) == project["version"] and cff["license"] == "MIT"
    assert any("Decentralization and Innovation" in r["title"] for r in cff["references"])


def test_data_processed_is_tracked_in_git_through_its_readme():
    """A fresh clone has data/processed/ (its README is tracked; the panel files are ignored)."""
    done = subprocess.run(["git", "ls-files", "data/processed"], cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip("not a git checkout")
    assert done.stdout.split() == ["data/processed/README.md"]
    ignored = subprocess.run(["git", "check-ignore", "data/processed/panel.csv"], cwd=ROOT,
                             capture_output=True, text=True)
    assert ignored.stdout.strip() == "data/processed/panel.csv"
    text = (ROOT / "data" / "processed" / "README.md").read_text(encoding="utf-8")
    assert all(name in text for name in ("panel.parquet", "panel.csv", "codebook.csv", "make panel"))


def test_readme_has_the_replication_package_statements():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    for heading in ("### Data citations", "### Rights to use and redistribute", "### Personal data",
                    "## 3. Computational requirements"):
        assert heading in text
    assert "No applicant's name or address is printed" in text
    assert "**Disk.**" in text and "**Operating system.**" in text
