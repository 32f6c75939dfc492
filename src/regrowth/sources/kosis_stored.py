"""Stored KOSIS OpenAPI responses: JSON rows -> a :class:`~regrowth.sources.kosis.KosisTable`
(verified like a user's export by :mod:`regrowth.sources.full_edition`), the lock file
(request without the key, retrieval date, sha256, rows), offline reads that refuse a file the
lock does not vouch for, and the published anchors. :mod:`regrowth.sources.kosis_store`
fetches and publishes; this module only reads and checks.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import re
import tomllib
from pathlib import Path

import pandas as pd

from regrowth import regions
from regrowth.errors import DataError, UnknownRegionError
from regrowth.sources.kosis import KosisTable, unit_key
from regrowth.sources.kosis_api import _MISSING, LOCK_NAME, KosisApiError, parse_body
from regrowth.sources.registry import ANCHORS, KOSIS_API

__all__ = ["table_from_rows", "read_lock", "lock_text", "rows_bytes", "read_stored",
           "share_table", "check_anchors"]


# ------------------------------------------------------------------------- rows -> table

def _year(text: str) -> int | None:
    m = re.fullmatch(r"\s*(\d{4})\s*", str(text))
    return int(m.group(1)) if m else None


def table_from_rows(rows: list, table_id: str, *, file: str,
                    select: dict[str, str] | None = None, itm_id: str = "ALL"):
    """A :class:`regrowth.sources.kosis.KosisTable` of the province rows of a response.

    The province axis is the classification (C1..C8) whose names are provinces; rows of the
    nation (code 00/000 or a nation name), of 시군구 (numeric codes of 3+ digits other than
    000) and of other categories on that axis (non-numeric codes, e.g. A00) are left out and
    counted in the notes. ``select`` keeps only one code of another axis; ``itm_id`` (the
    request's, unless ``ALL``) keeps only those items where a response holds more. Raises DataError
    naming the table (and the JSON row) for anything else.
    """
    where = f"data/raw/kosis/{table_id}.json"
    axes, stated = _check_rows(rows, table_id, file)
    rax = _province_axis(rows, axes, table_id, file)
    active = _active_selection(rows, select)
    asked = set(itm_id.split()) - {"ALL"}
    items = asked if asked and any(str(r.get("ITM_ID", "")).strip() in asked for r in rows) \
        else set()
    records, skipped, units = _province_records(rows, axes, rax, active, items, table_id, file)
    first = next(r for r in rows)
    label_names = [str(first.get(f"C{rax}_OBJ_NM", "") or f"C{rax}")] + [
        str(first.get(f"C{k}_OBJ_NM", "") or f"C{k}") for k in axes if k != rax]
    cols = [f"label_{k}" for k in range(len(label_names))]
    codes = [f"code_{k}" for k in range(len(label_names))]   # the KOSIS codes of the labels
    cells = pd.DataFrame.from_records(records, columns=[*cols, *codes, "year", "item", "raw",
                                                       "value", "row", "column"])
    cells["raw"] = cells["raw"].astype(object)
    item_units = {item: sorted(u)[0] for item, u in units.items() if len(u) == 1}
    several = {item: sorted(u) for item, u in units.items() if len(u) > 1}
    if several:
        item, us = next(iter(several.items()))
        raise KosisApiError(f"KOSIS table {table_id}: item {item!r} comes in several units "
                            f"{us}", file=file, column="UNIT_NM",
                            hint="check the table and its itmId in "
                                 "regrowth.sources.registry.KOSIS_API")
    distinct = set(item_units.values())
    unit = next(iter(distinct)) if len(distinct) == 1 else None
    left = [f"{v} {k} rows" for k, v in skipped.items() if v]
    notes = [f"{table_id} (KOSIS OpenAPI): left out {', '.join(left)}"] if left else []
    return KosisTable(file=file, layout="long", cells=cells, label_names=label_names,
                      label_letters=[f"C{rax}"] + [f"C{k}" for k in axes if k != rax],
                      header_rows=1, table_id=stated.pop(), unit=unit,
                      unit_source="the response's UNIT_NM" if unit else None,
                      table_id_source="the response's TBL_ID", item_units=item_units,
                      notes=notes, meta={"stored": where})


def _check_rows(rows, table_id: str, file: str) -> tuple[list[int], set[str]]:
    """The classification axes (C1..C8) of the rows and the table ids they state; every row
    must be a dict with TBL_ID, PRD_DE and DT, of this table."""
    if not isinstance(rows, list):
        raise KosisApiError(f"KOSIS table {table_id}: the response is not a list of rows",
                            file=file)
    if not rows:
        raise KosisApiError(f"KOSIS table {table_id}: no rows (the service said there is no "
                            "data for the years asked)", file=file,
                            hint="check the start year in regrowth.sources.registry.KOSIS_API")
    axes = sorted({int(m.group(1)) for r in rows if isinstance(r, dict)
                   for m in [re.fullmatch(r"C([1-8])", str(k)) for k in r] if m})
    need = ("TBL_ID", "PRD_DE", "DT")
    stated = set()
    for i, r in enumerate(rows, start=1):
        if not isinstance(r, dict) or any(k not in r for k in need):
            miss = [k for k in need if not isinstance(r, dict) or k not in r]
            raise KosisApiError(f"KOSIS table {table_id}: JSON row {i} lacks {miss}", file=file,
                                row=i, hint=f"run `regrowth data kosis --refresh --table "
                                            f"{table_id}`")
        stated.add(str(r["TBL_ID"]).strip())
    wrong = sorted(s for s in stated if s.upper() != table_id.upper())
    if wrong:
        raise KosisApiError(
            f"the response stored for KOSIS table {table_id} holds rows of table "
            f"{', '.join(wrong)}", file=file,
            hint=f"check --api-base and the table id; run `regrowth data kosis --refresh "
                 f"--table {table_id}`")
    return axes, stated


def _is_province(name) -> bool:
    try:
        regions.lookup(name)
        return True
    except UnknownRegionError:
        return False


def _province_axis(rows, axes, table_id: str, file: str) -> int:
    """The classification with the most distinct names that are provinces."""
    score = {k: sum(1 for n in {str(r.get(f"C{k}_NM", "")) for r in rows} if _is_province(n))
             for k in axes}
    if not score or max(score.values()) == 0:
        raise KosisApiError(f"KOSIS table {table_id}: no classification of the response names "
                            "the provinces (시도)", file=file,
                            hint="check the table id and its objL codes in "
                                 "regrowth.sources.registry.KOSIS_API")
    return max(axes, key=lambda k: (score[k], -k))


def _active_selection(rows, select) -> dict:
    """A selection applies where the response has that code (else every series is kept and
    the full-edition verification refuses a table holding several)."""
    active = {}
    for ax, wants in (select or {}).items():
        for want in ([wants] if isinstance(wants, str) else list(wants)):
            hit = {str(r.get(ax, "")).strip() for r in rows
                   if want in (str(r.get(ax, "")).strip(), str(r.get(f"{ax}_NM", "")).strip())}
            if hit:
                active[ax] = hit.pop()
                break
    return active


def _value(raw, i: int, name: str, year: int, table_id: str, file: str) -> float:
    text = str(raw).strip().replace(",", "") if raw is not None else ""
    if text in _MISSING:
        return math.nan
    try:
        return float(text)
    except ValueError:
        raise KosisApiError(f"KOSIS table {table_id}: JSON row {i} ({name} {year}) "
                            f"has the value {str(raw)[:40]!r}, not a number",
                            file=file, row=i, column="DT",
                            hint=f"run `regrowth data kosis --refresh --table "
                                 f"{table_id}`") from None


def _province_records(rows, axes, rax, active, items, table_id: str, file: str):
    """The province rows as cell records; the rows left out by kind; the units by item."""
    records, skipped = [], {"nation": 0, "sub-province": 0, "other": 0, "selected out": 0}
    units: dict[str, set[str]] = {}
    for i, r in enumerate(rows, start=1):
        code = str(r.get(f"C{rax}", "")).strip()
        name = str(r.get(f"C{rax}_NM", "")).strip()
        if code in ("00", "000") or regions.is_nation(name):
            skipped["nation"] += 1
            continue
        if re.fullmatch(r"\d{3,}", code):
            skipped["sub-province"] += 1
            continue
        if code and not re.fullmatch(r"\d{1,2}", code) and not _is_province(name):
            skipped["other"] += 1
            continue
        if any(str(r.get(ax, "")).strip() != want for ax, want in active.items()) or (
                items and str(r.get("ITM_ID", "")).strip() not in items):
            skipped["selected out"] += 1
            continue
        se = str(r.get("PRD_SE", "A")).strip()
        if se not in ("A", "Y", "년", ""):
            raise KosisApiError(f"KOSIS table {table_id}: JSON row {i} has period type "
                                f"{se!r}; only annual data (PRD_SE 'A') is read", file=file,
                                row=i, column="PRD_SE",
                                hint="ask for prdSe=Y (annual) in the request")
        year = _year(r["PRD_DE"])
        if year is None:
            raise KosisApiError(f"KOSIS table {table_id}: JSON row {i} has period "
                                f"{r['PRD_DE']!r}, not a year", file=file, row=i,
                                column="PRD_DE", hint="ask for annual data (prdSe=Y)")
        value = _value(r["DT"], i, name, year, table_id, file)
        item = str(r.get("ITM_NM", r.get("ITM_ID", ""))).strip()
        unit = str(r.get("UNIT_NM", "")).strip()
        if unit:
            units.setdefault(item, set()).add(unit)
        labels = [name] + [str(r.get(f"C{k}_NM", "")).strip() for k in axes if k != rax]
        codes = [code] + [str(r.get(f"C{k}", "")).strip() for k in axes if k != rax]
        records.append((*labels, *codes, year, item, r["DT"], value, i, "DT"))
    if not records:
        raise KosisApiError(f"KOSIS table {table_id}: no province rows in the response "
                            f"({', '.join(f'{v} {k}' for k, v in skipped.items() if v)} rows "
                            "left out)", file=file,
                            hint="check the table id and its select/objL codes in "
                                 "regrowth.sources.registry.KOSIS_API")
    return records, skipped, units


# ------------------------------------------------------------------------- lock + store

def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_lock(kosis_dir: str | Path) -> dict[str, dict]:
    """``{table id: entry}`` of ``kosis.lock.toml`` (empty if there is none)."""
    path = Path(kosis_dir) / LOCK_NAME
    if not path.is_file():
        return {}
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"the lock file cannot be read ({exc})", file=f"data/raw/kosis/{LOCK_NAME}",
                        hint="restore it from a backup, or delete it together with the "
                             "data/raw/kosis/*.json files it lists and run `regrowth data "
                             "kosis` again") from None
    return dict(doc.get("tables", {}))


def _toml_str(text: str) -> str:
    return json.dumps(str(text), ensure_ascii=True)


def lock_text(entries: dict[str, dict]) -> str:
    """The lock file for ``entries`` (sorted, deterministic)."""
    lines = ["# KOSIS OpenAPI downloads in this folder, written by `regrowth data kosis`.",
             "# One entry per table: the request parameters (never the key), the retrieval",
             "# date, the sha256 and number of rows of <table>.json. A stored file whose",
             "# sha256 differs is refused; `regrowth data kosis --refresh` fetches it again.",
             "", "[tables]"]
    for tid in sorted(entries):
        e = entries[tid]
        lines += ["", f"[tables.{tid}]"]
        for k in ("file", "sha256", "rows", "retrieved", "api", "org_id", "years"):
            if k in e:
                v = e[k]
                if isinstance(v, bool):
                    val = "true" if v else "false"
                elif isinstance(v, int):
                    val = str(v)
                elif isinstance(v, (list, tuple)):
                    val = "[" + ", ".join(str(x) if isinstance(x, int) else _toml_str(x)
                                          for x in v) + "]"
                else:
                    val = _toml_str(v)
                lines.append(f"{k} = {val}")
        for req in e.get("requests", []):
            lines += ["", f"[[tables.{tid}.requests]]"]
            for k, v in req.items():
                lines.append(f"{k} = {_toml_str(v)}")
    return "\n".join(lines) + "\n"


def rows_bytes(rows: list[dict]) -> bytes:
    """The stored form of the rows: a JSON array, one row per line, keys as received."""
    body = ",\n".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) for r in rows)
    return ("[\n" + body + "\n]\n").encode("utf-8")


def read_stored(path: str | Path, *, raw_dir: str | Path | None = None):
    """Read a stored response (``data/raw/kosis/<TBL_ID>.json``) offline as a KosisTable.

    Refused unless ``kosis.lock.toml`` beside it has an entry for the table whose sha256
    equals the file's.
    """
    path = Path(path)
    file = f"kosis/{path.name}"
    table_id = path.stem.split(".")[0]
    lock = read_lock(path.parent)
    entry = next((e for t, e in lock.items() if t.upper() == table_id.upper()), None)
    if entry is None or entry.get("file") != path.name:
        raise DataError(f"{path.name} is not recorded in data/raw/kosis/{LOCK_NAME}, so its "
                        "origin cannot be checked", file=file,
                        hint=f"fetch it with `regrowth data kosis --refresh --table {table_id}` "
                             "(or remove the file)")
    data = path.read_bytes()
    if _sha256(data) != entry.get("sha256"):
        raise DataError(f"{path.name} differs from the download recorded in {LOCK_NAME} "
                        f"(sha256 {_sha256(data)[:12]}…, recorded {str(entry.get('sha256'))[:12]}…)",
                        file=file, hint=f"the file was changed after download; fetch it again "
                                        f"with `regrowth data kosis --refresh --table {table_id}`")
    try:
        rows = parse_body(data)
    except ValueError as exc:
        raise DataError(f"{path.name} is not JSON ({exc})", file=file,
                        hint=f"`regrowth data kosis --refresh --table {table_id}`") from None
    req = next((r for r in KOSIS_API if r.table_id.upper() == table_id.upper()), None)
    table = table_from_rows(rows, table_id, file=file,
                            select=dict(req.select) if req else {},
                            itm_id=req.itm_id if req else "ALL")
    if req is not None and req.share is not None:
        table = share_table(table, req.share, table_id, file=file)
    return table


def share_table(table, share, table_id: str, *, file: str):
    """The KosisTable of ``100 x numerator / denominator`` (two series on ``share.axis``)."""
    letters = table.label_letters
    if share.axis not in letters:
        raise KosisApiError(f"KOSIS table {table_id}: the response has no classification "
                            f"{share.axis} to derive {share.item!r} from", file=file,
                            hint="check the request (objL) in regrowth.sources.registry.KOSIS_API")
    k = letters.index(share.axis)
    cells = table.cells

    def pick(alternatives, what):
        for alt in alternatives:
            mask = (cells[f"code_{k}"] == alt) | (cells[f"label_{k}"] == alt)
            if mask.any():
                return cells[mask], alt
        found = sorted(set(cells[f"label_{k}"]))[:12]
        raise KosisApiError(f"KOSIS table {table_id}: no {what} series "
                            f"({' / '.join(alternatives)}) on {share.axis}; found {found}",
                            file=file, column=share.axis,
                            hint="check the table, or the codes in "
                                 "regrowth.sources.registry.KOSIS_API (share)")
    num, num_name = pick(share.numerator, "numerator")
    den, den_name = pick(share.denominator, "denominator")
    units = {table.item_units.get(i) for i in set(num["item"]) | set(den["item"])}
    if len(units) != 1 or None in units:
        raise KosisApiError(f"KOSIS table {table_id}: {num_name!r} and {den_name!r} do not "
                            f"state one unit ({sorted(map(str, units))})", file=file,
                            column="UNIT_NM", hint="check the table and its itmId")
    unit = units.pop()
    if not any(unit_key(unit) == unit_key(u) for u in share.input_units):
        raise KosisApiError(f"KOSIS table {table_id}: unit {unit!r} of {num_name!r} is not an "
                            f"amount of money ({', '.join(share.input_units)})", file=file,
                            column="UNIT_NM", hint="check the table and its itmId")
    key = ["label_0", "year"]
    for part, name in ((num, num_name), (den, den_name)):
        dup = part.duplicated(key)
        if dup.any():
            r = part[dup].iloc[0]
            raise KosisApiError(f"KOSIS table {table_id}: {name!r} has two values for "
                                f"{r['label_0']} {r['year']} (several items?)", file=file,
                                row=int(r["row"]), hint="ask for one item (itmId)")
    both = num.merge(den[[*key, "value"]], on=key, how="left", suffixes=("", "_den"))
    ratio = both["value"] / both["value_den"].where(both["value_den"] != 0)
    out = pd.DataFrame({"label_0": both["label_0"], "code_0": both["code_0"],
                        "year": both["year"], "item": share.item,
                        "raw": both["raw"].astype(str) + " / " + both["value_den"].astype(str),
                        "value": (100 * ratio).round(6), "row": both["row"],
                        "column": both["column"]})
    out["raw"] = out["raw"].astype(object)
    note = (f"{share.item}: {num_name} / {den_name} x 100 of the KOSIS {table_id} response "
            f"(both in {unit})")
    return dataclasses.replace(table, cells=out, label_names=table.label_names[:1],
                               label_letters=letters[:1], unit="%",
                               unit_source=f"the share {num_name} / {den_name} x 100 (both "
                                           f"in UNIT_NM {unit!r})",
                               item_units={share.item: "%"}, notes=[*table.notes, note])




# ------------------------------------------------------------------------- anchors

def check_anchors(frame: pd.DataFrame, table_id: str, *, file: str) -> list[str]:
    """Compare the tidy frame of a table with its published anchors; raise on a mismatch."""
    done = []
    for a in ANCHORS:
        if a.table_id != table_id:
            continue
        part = frame[(frame["variable"] == a.variable) & (frame["year"] == a.year)]
        if part.empty:
            done.append(f"anchor {a.year} not checked: the table has no {a.year}")
            continue
        got = dict(zip(part["region"], part["value"]))
        for region, want in a.values.items():
            have = got.get(region)
            if have is None or not math.isclose(have, want, rel_tol=0, abs_tol=1e-9):
                raise KosisApiError(
                    f"KOSIS table {table_id}: {regions.get(region).name_ko} {a.year} is "
                    f"{'missing' if have is None else f'{have:,.0f}'}, but {a.printed_in} "
                    f"prints {want:,.0f}", file=file, column=f"{region} {a.year}",
                    hint="the response is not the published table (wrong table, item or "
                         f"unit?); check the request, then `regrowth data kosis --refresh "
                         f"--table {table_id}`")
        done.append(f"anchor {a.year} ({', '.join(a.values)}) equals {a.printed_in.split(' (')[0]}")
    return done
