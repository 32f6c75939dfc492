"""Source parsers: raw files -> tidy long tables (region, year, variable, value, source).

One parser per source family:

* :mod:`regrowth.sources.kosis` -- general KOSIS export reader (wide/long, CSV/XLSX,
  UTF-8/CP949, code-included exports), used by :mod:`regrowth.sources.kosis_tables` for the
  public files and by :mod:`regrowth.sources.full_edition` for the user's downloads;
* :mod:`regrowth.sources.kipris` -- KIPRIS fintech patent records;
* :mod:`regrowth.sources.kostat` -- KOSTAT regional-indicator CSVs (권역 series);
* :mod:`regrowth.sources.gcam_korea` -- the gcam-korea real per-capita GRDP file.

Every file and table is declared once in :mod:`regrowth.sources.registry` (path, parser,
variables with label/unit/kind/bounds, KOSIS table id, producer, origin, edition);
:func:`load_all` parses the public files and the full-edition downloads present.

Validation happens once per check (see :mod:`regrowth.sources._common`): duplicate keys
and value checks (negative or fractional counts, ranges) in ``_common.finish`` for each
file; duplicates across sources in :func:`regrowth.panel.assemble`; the panel's pandera
schema is generated from the same variable specifications.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Collection

import pandas as pd

from regrowth.errors import DataError, MissingInputError
import regrowth.sources.full_edition as full_edition
from regrowth.sources._common import TIDY_COLUMNS, concat_tidy
from regrowth.sources.registry import (
    FULL_EDITION, PUBLIC, SOURCES, VARIABLES, Source, VariableSpec, by_path, kosis_url,
    source_of, supplier_hint,
)
from regrowth.sources.registry import by_table

#: kept for its name: the public-edition entries, in load order
REGISTRY = PUBLIC
SourceSpec = Source

__all__ = ["Source", "SourceSpec", "SOURCES", "REGISTRY", "PUBLIC", "FULL_EDITION", "VARIABLES",
           "VariableSpec", "TIDY_COLUMNS", "load_all", "load_source", "load_kosis_download",
           "variable_catalogue", "source_of", "missing_input", "supplier_hint"]


def load_kosis_download(raw_dir: str | Path, table_id: str, variables=None, *,
                        allow_partial: bool = False,
                        accept_unverified: bool = False) -> pd.DataFrame:
    """Read and verify the full-edition download of ``table_id`` from ``raw_dir/kosis/``.

    Returns its tidy rows (the report is in ``frame.attrs["report"]``). ``variables`` is
    accepted for backward compatibility and must name the slot's variable if given.
    Raises :class:`~regrowth.errors.MissingInputError` (naming the table, its KOSIS
    address and where to save it) when nothing fills the slot, and
    :class:`~regrowth.errors.DataError` when the file fails verification.
    """
    source = by_table(table_id)
    if variables is not None and variables not in (source.variable_names[0],
                                                   source.variable_names):
        raise ValueError(f"table {table_id} yields {source.variable_names}, not {variables!r}")
    frame, report = full_edition.read_slot(raw_dir, source, allow_partial=allow_partial,
                                           accept_unverified=accept_unverified)
    frame.attrs["report"] = report
    return frame


def variable_catalogue() -> pd.DataFrame:
    """One row per variable: variable, label, unit, kind, source, table id, edition, note."""
    rows = []
    for spec in SOURCES:
        for v in spec.variables:
            rows.append({"variable": v.name, "label": v.label, "unit": v.unit,
                         "source": spec.path, "table_id": spec.table_id or "",
                         "count": v.count, "kind": v.kind, "edition": spec.edition,
                         "note": v.note})
    return pd.DataFrame(rows)


def missing_input(spec: Source, raw_dir: str | Path) -> MissingInputError:
    """The error for a public raw file that is not there, with what to do."""
    target = Path(raw_dir) / spec.path
    hint = (f"run `make data` to acquire the public files into data/raw/ (it copies or "
            f"downloads every file in data/raw/MANIFEST.toml; expected at data/raw/{spec.path})")
    if spec.url:
        hint += f"; the data come from KOSIS table {spec.table_id} ({spec.url})"
    what = f"KOSIS table {spec.table_id}, " if spec.table_id else ""
    return MissingInputError(f"raw input missing: {spec.path} ({what}{spec.description})",
                             file=target, hint=hint)


def load_source(spec: Source | str, raw_dir: str | Path) -> tuple[pd.DataFrame, Any]:
    """Parse one public registry entry (or its path) from ``raw_dir``."""
    if isinstance(spec, str):
        spec = by_path(spec)
    raw_dir = Path(raw_dir)
    path = raw_dir / spec.path
    if not path.is_file():
        raise missing_input(spec, raw_dir)
    frame, report = spec.parser(path, raw_dir=raw_dir)
    unexpected = set(frame["variable"]) - set(spec.yields)
    if unexpected:
        raise DataError(f"parser yielded unregistered variables {sorted(unexpected)}",
                        file=spec.path, hint="declare them in regrowth/sources/registry.py")
    return frame, report


def variable_notes(frame: pd.DataFrame) -> dict[str, list[str]]:
    """The per-variable notes a parser attached to its frame (``frame.attrs["notes"]``)."""
    return {k: list(v) for k, v in frame.attrs.get("notes", {}).items()}


def load_all(raw_dir: str | Path, *, sources: list[str] | None = None,
             allow_partial: Collection[str] = (),
             accept_unverified: Collection[str] = ()) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Parse every public registry entry (or those named in ``sources``) from ``raw_dir``,
    then the full-edition downloads present under ``raw_dir/kosis/``.

    Returns the concatenated tidy frame (columns :data:`TIDY_COLUMNS`, sorted by
    variable, region, year) and a report dict: ``{relative path: parser report}``,
    ``"full_edition"``: :class:`~regrowth.sources.full_edition.FullEditionReport` (what was
    read from each slot, its unit, years and provinces, or why nothing was), and
    ``"notes"``: ``{variable: [note, ...]}`` for the codebook (provisional years, zeros
    read as missing, partial coverage).

    ``allow_partial``: table ids whose downloads may cover fewer than the 17 provinces;
    ``accept_unverified``: table ids whose downloads may state neither item nor unit.
    The first missing public file raises :class:`~regrowth.errors.MissingInputError`.
    """
    raw_dir = Path(raw_dir)
    chosen = [s for s in PUBLIC if sources is None or s.path in sources]
    if sources is not None:
        unknown = set(sources) - {s.path for s in chosen}
        if unknown:
            raise KeyError(f"not in the source registry: {sorted(unknown)}")
    for spec in chosen:
        if not (raw_dir / spec.path).is_file():
            raise missing_input(spec, raw_dir)
    frames, reports, notes = [], {}, {}
    for spec in chosen:
        frame, report = load_source(spec, raw_dir)
        for var, vn in variable_notes(frame).items():
            notes.setdefault(var, []).extend(vn)
        frames.append(frame)
        reports[spec.path] = report
    edition = full_edition.scan(raw_dir, allow_partial=allow_partial,
                                accept_unverified=accept_unverified)
    for frame in edition.frames:
        for var, vn in variable_notes(frame).items():
            notes.setdefault(var, []).extend(vn)
        frames.append(frame)
    reports["full_edition"] = edition
    reports["notes"] = notes
    return concat_tidy(frames), reports


def kosis_address(table_id: str, org_id: str = "101") -> str:
    """The KOSIS page of a table."""
    return kosis_url(org_id, table_id)
