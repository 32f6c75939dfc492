"""Estimators: Stata's gnbreg (GeneralizedNegativeBinomial) and xtgls (PanelFGLS)."""

from __future__ import annotations

import importlib

__all__ = ["GeneralizedNegativeBinomial", "PanelFGLS", "PanelPCSE", "fit_panel"]

_WHERE = {"GeneralizedNegativeBinomial": "regrowth.models.gnb",
          "PanelFGLS": "regrowth.models.fgls",
          "PanelPCSE": "regrowth.models.pcse",
          "fit_panel": "regrowth.models.linear"}


def __getattr__(name: str):
    # Imported lazily so that `import regrowth.models` stays cheap for the data pipeline.
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'regrowth.models' has no attribute {name!r}")
