"""Stored KOSIS OpenAPI responses: rows -> a KOSIS table the full edition verifies, the lock
file (request without the key, retrieval date, sha256, rows), offline reads that refuse a file
the lock does not vouch for, the published anchors, and :func:`fetch_tables`, which fetches,
verifies and publishes every requested table in one transaction (see
:mod:`regrowth.sources.kosis_api` for the client and the service's quirks).
"""

from __future__ import annotations

import datetime as _dt
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable
from urllib.parse import urlsplit


from regrowth.errors import DataError
from regrowth.files import Transaction
from regrowth.progress import Progress

from regrowth.sources.kosis_api import (
    KEY_HELP,
    LOCK_NAME,
    KosisApiError,
    KosisClient,
    KOSIS_BASE,
    _scrubber,
    api_key,
)
from regrowth.sources.kosis import unit_key
from regrowth.sources.kosis_stored import (
    _sha256,
    check_anchors,
    lock_text,
    read_lock,
    read_stored,
    rows_bytes,
    table_from_rows,
)
from regrowth.sources.registry import KOSIS_API
import regrowth.sources.full_edition as full_edition
from regrowth.sources.registry import by_table
from regrowth.sources.registry import kosis_request

__all__ = ["FetchReport", "TableResult", "fetch_tables", "read_stored", "read_lock",
           "table_from_rows", "clean_staging", "check_anchors"]


# ------------------------------------------------------------------------- the command

@dataclass
class TableResult:
    table_id: str
    status: str            # "fetched", "stored (offline)"
    rows: int = 0
    summary: str = ""
    notes: list[str] = field(default_factory=list)


@dataclass
class FetchReport:
    tables: list[TableResult] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [f"{t.table_id}: {t.status}, {t.rows} rows" + (f"; {t.summary}" if t.summary else "")
                + "".join(f"; {n}" for n in t.notes) for t in self.tables]


def _verify(staged_raw: Path, table_id: str, *, allow_partial: bool) -> tuple[str, list[str]]:
    """Verify a staged (or stored) table like a user's download; return (summary, notes)."""
    source = by_table(table_id)
    path = staged_raw / "kosis" / f"{table_id}.json"
    if not source.variables:
        # no parser yet: the stored rows are checked for table id and unit only
        table = read_stored(path)
        unit = table.unit
        if source.units and unit is not None:
            keys = {unit_key(u) for u in source.units}
            if unit_key(unit) not in keys:
                raise KosisApiError(f"KOSIS table {table_id}: unit {unit!r} is not one of "
                                    f"{sorted(source.units)}", file=f"kosis/{table_id}.json")
        return (f"table id {table.table_id} verified; unit {unit!r}; not read into the panel "
                "(no parser for this table yet)", table.notes)
    frame, rep = full_edition.read_slot(staged_raw, source, allow_partial=allow_partial)
    notes = check_anchors(frame, table_id, file=rep.file)
    return rep.summary().split(": ", 1)[-1], notes


def fetch_tables(raw_dir: str | Path = "data/raw", tables: Iterable[str] | None = None, *,
                 refresh: bool = False, base: str = KOSIS_BASE, key: str | None = None,
                 end_year: int | None = None, allow_partial: Iterable[str] = (),
                 progress: Callable[[str], None] | None = None,
                 today: _dt.date | None = None, **client_kw) -> FetchReport:
    """Fetch (or check offline) the full-edition tables; store them with lock entries.

    ``key`` defaults to ``$KOSIS_API_KEY``; it is needed only when a table is not stored
    yet (or ``refresh``). Nothing under ``raw_dir/kosis/`` changes unless every table
    was fetched and verified.
    """
    progress = progress or (lambda text: None)
    raw_dir = Path(raw_dir)
    kosis_dir = raw_dir / "kosis"
    wanted = [kosis_request(t).table_id for t in tables] if tables else \
        [r.table_id for r in KOSIS_API]
    wanted = list(dict.fromkeys(wanted))
    partial = {t.upper() for t in allow_partial}
    lock = read_lock(kosis_dir)
    report = FetchReport()
    todo = []
    for tid in wanted:
        others = [p.name for p in full_edition.slot_files(raw_dir, tid) if p.suffix != ".json"]
        if others:
            raise KosisApiError(
                f"KOSIS table {tid}: data/raw/kosis/ already holds a download of it "
                f"({', '.join(others)}); the panel reads one file per table",
                file=f"kosis/{others[0]}",
                hint=f"move {others[0]} out of data/raw/kosis/ to use the OpenAPI, or leave "
                     f"{tid} out (--table for the others)")
        stored = kosis_dir / f"{tid}.json"
        if not refresh and tid in lock and stored.is_file():
            summary, notes = _verify(raw_dir, tid, allow_partial=tid.upper() in partial)
            report.tables.append(TableResult(tid, f"stored {lock[tid].get('retrieved', '?')} "
                                                  "(offline)", int(lock[tid].get("rows", 0)),
                                             summary, notes))
            progress(f"kosis: {tid}: stored on {lock[tid].get('retrieved', '?')}, read offline")
        else:
            todo.append(tid)
    if not todo:
        return report
    key = key if key is not None else api_key()
    if not key:
        raise KosisApiError(
            f"KOSIS_API_KEY is not set, and {', '.join(todo)} "
            f"{'is' if len(todo) == 1 else 'are'} not stored in data/raw/kosis/ yet",
            hint=KEY_HELP)
    scrub = _scrubber(key)
    end = int(end_year or (today or _dt.date.today()).year)
    retrieved = (today or _dt.date.today()).isoformat()
    try:
        fetched = _download(todo, key, base=base, end=end, retrieved=retrieved,
                            progress=progress, **client_kw)
        results = _verify_staged(raw_dir, lock, fetched, partial)
    except DataError as exc:
        # the key never reaches a message; the original (httpx) exception is not chained
        raise type(exc)(scrub(exc.message), file=exc.file, row=exc.row, column=exc.column,
                        hint=scrub(exc.hint) if exc.hint else None) from None
    # publish: one transaction (regrowth.files) -- the files and the lock appear together, a
    # concurrent run waits, and the lock is re-read inside so no other run's entry is lost
    with Transaction(kosis_dir, prune=False) as tx:
        current = read_lock(kosis_dir)
        for tid, (data, entry) in fetched.items():
            tx.write_bytes(entry["file"], data)
        tx.write_text(LOCK_NAME, lock_text({**current, **{t: e for t, (d, e) in fetched.items()}}))
    for r in results:
        progress(f"kosis: {r.table_id}: stored data/raw/kosis/{r.table_id}.json ({r.rows} rows)")
    report.tables.extend(results)
    return report


def _download(todo: list[str], key: str, *, base: str, end: int, retrieved: str,
              progress: Callable[[str], None], **client_kw) -> dict[str, tuple[bytes, dict]]:
    """Download each table of ``todo``; return {table id: (the file's bytes, its lock entry)}.
    The lock entry records the requests without the key."""
    fetched: dict[str, tuple[bytes, dict]] = {}
    with KosisClient(key, base=base, progress=progress, **client_kw) as client, \
            Progress(len(todo), "kosis download", "tables", where=urlsplit(base).hostname) as bar:
        for tid in todo:
            req, src = kosis_request(tid), by_table(tid)
            n0 = len(client.calls)
            rows = client.fetch(tid, src.org_id, itm_id=req.itm_id, obj=req.obj,
                                start=req.start, end=end)
            calls = client.calls[n0:]
            data = rows_bytes(rows)
            requests = [{k: v for k, v in c.params.items() if k.casefold() != "apikey"}
                        for c in calls if c.status in ("rows", "empty (30)")]
            fetched[tid] = (data, {
                "file": f"{tid}.json", "sha256": _sha256(data), "rows": len(rows),
                "retrieved": retrieved,
                "api": urlsplit(client.base)._replace(query="", fragment="").geturl(),
                "org_id": src.org_id, "years": [req.start, end], "requests": requests})
            bar.update()
    return fetched


def _verify_staged(raw_dir: Path, lock: dict, fetched: dict[str, tuple[bytes, dict]],
                   partial: set[str]) -> list[TableResult]:
    """Write the downloads to a staging folder beside ``data/raw/kosis/`` and verify each
    exactly as the panel will read it; return one result per table. The staging folder is
    removed whatever happens; ``data/raw/kosis/`` is not touched."""
    raw_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".kosis-staging-", dir=raw_dir))
    try:
        (staging / "kosis").mkdir()
        staged_lock = {**lock, **{t: e for t, (d, e) in fetched.items()}}
        for data, entry in fetched.values():
            (staging / "kosis" / entry["file"]).write_bytes(data)
        (staging / "kosis" / LOCK_NAME).write_text(lock_text(staged_lock), encoding="utf-8")
        results = []
        for tid, (data, entry) in fetched.items():
            summary, notes = _verify(staging, tid, allow_partial=tid.upper() in partial)
            results.append(TableResult(tid, "fetched", entry["rows"], summary, notes))
        return results
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def clean_staging(raw_dir: str | Path) -> list[str]:
    """Remove staging folders a killed run left in ``raw_dir``; return their names."""
    gone = []
    for p in Path(raw_dir).glob(".kosis-staging-*"):
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
            gone.append(p.name)
    return gone
