"""What each data edition holds (kept for its import path; the facts live in the registry).

The *public* edition is built from the files in ``data/raw/MANIFEST.toml``; the *full*
edition adds KOSIS tables that a user downloads into ``data/raw/kosis/``. Both are declared,
once, in :mod:`regrowth.sources.registry`; :func:`supplier_hint` (used by
:func:`regrowth.specs.check_against`) is re-exported from there.
"""

from __future__ import annotations

from regrowth.sources.registry import FULL_EDITION, PLANNED, supplier_hint

PUBLIC = "public"

__all__ = ["PUBLIC", "FULL_EDITION", "PLANNED", "supplier_hint"]
