"""Old module paths that still import, with a DeprecationWarning (one table, no shim files).

The redesign of the model half moved modules to names that say their job; code written
against the old names keeps working: ``import regrowth.results`` gives
:mod:`regrowth.report.reader` (plus :func:`regrowth.fit.refit`), ``from regrowth.tidy import
tidy`` gives :mod:`regrowth.report.tidy`'s, and so on. A meta-path finder resolves an old name
to the new module object; nothing is imported until an old name is asked for.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import types
import warnings

#: old module -> new module(s); names of the first, then of the others, are re-exported
MOVED = {
    "regrowth.io": ("regrowth.files",),
    "regrowth.tidy": ("regrowth.report.tidy",),
    "regrowth.tables": ("regrowth.report.tables",),
    "regrowth.figures": ("regrowth.report.figures",),
    "regrowth.results": ("regrowth.report.reader", "regrowth.fit"),
    "regrowth.chain": ("regrowth.analyses.chain",),
    "regrowth.loo": ("regrowth.analyses.loo",),
    "regrowth.models.panel": ("regrowth.models.linear",),
    "regrowth.inference.stata": ("regrowth.models.covariance",),
    "regrowth.inference.reporting": ("regrowth.analyses.bootstrap", "regrowth.report.notes",
                                     "regrowth.fit"),
}


class _Loader(importlib.abc.Loader):
    def create_module(self, spec):
        targets = [importlib.import_module(t) for t in MOVED[spec.name]]
        warnings.warn(f"{spec.name} is deprecated; use {MOVED[spec.name][0]}",
                      DeprecationWarning, stacklevel=3)
        if len(targets) == 1:
            return targets[0]
        module = types.ModuleType(spec.name, targets[0].__doc__)
        for t in reversed(targets):
            module.__dict__.update({k: v for k, v in vars(t).items() if not k.startswith("__")})
        return module

    def exec_module(self, module):
        pass


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path, target=None):
        if fullname in MOVED:
            return importlib.util.spec_from_loader(fullname, _Loader())
        return None


def install() -> None:
    """Put the finder on ``sys.meta_path`` once."""
    if not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.append(_Finder())
