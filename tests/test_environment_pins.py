"""pyproject.toml, requirements.lock and environment.yml pin the same versions."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _pins_pyproject() -> dict[str, str]:
    doc = tomllib.loads((ROOT / "pyproject.toml").read_text())
    deps = doc["project"]["dependencies"] + doc["project"]["optional-dependencies"]["test"]
    return {d.split("==")[0].lower(): d.split("==")[1] for d in deps}


def test_every_direct_dependency_is_pinned_exactly():
    doc = tomllib.loads((ROOT / "pyproject.toml").read_text())
    for dep in doc["project"]["dependencies"]:
        assert re.fullmatch(r"[A-Za-z0-9_.-]+==[0-9][0-9A-Za-z.]*", dep), dep


def test_lock_file_agrees_with_pyproject():
    lock = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        name, _, version = line.partition("==")
        lock[name.lower()] = version
    for name, version in _pins_pyproject().items():
        assert lock.get(name) == version, f"{name}: pyproject {version}, lock {lock.get(name)}"


def test_environment_yml_mirrors_pyproject():
    env = {}
    for line in (ROOT / "environment.yml").read_text().splitlines():
        m = re.fullmatch(r"\s*-\s*([A-Za-z0-9_.-]+)=([0-9][0-9A-Za-z.]*)\s*", line)
        if m:
            env[m.group(1).lower()] = m.group(2)
    for name, version in _pins_pyproject().items():
        assert env.get(name) == version, f"{name}: pyproject {version}, environment.yml {env.get(name)}"
