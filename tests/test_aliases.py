"""Old module paths keep working, with a DeprecationWarning, and give the new objects."""

from __future__ import annotations

import importlib
import sys

import pytest


@pytest.mark.parametrize("old, new, name", [
    ("regrowth.tidy", "regrowth.report.tidy", "tidy"),
    ("regrowth.io", "regrowth.files", "Transaction"),
    ("regrowth.models.panel", "regrowth.models.linear", "fit_panel"),
    ("regrowth.results", "regrowth.report.reader", "load_estimates"),
    ("regrowth.results", "regrowth.fit", "refit"),
    ("regrowth.chain", "regrowth.analyses.chain", "fit_chain"),
])
def test_old_paths_import_the_new_objects_with_a_warning(old, new, name):
    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=old.replace(".", r"\.")):
        mod = importlib.import_module(old)
    assert getattr(mod, name) is getattr(importlib.import_module(new), name)
