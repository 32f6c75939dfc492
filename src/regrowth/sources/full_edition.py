"""Full-edition KOSIS downloads in ``data/raw/kosis/``: found, verified, then read.

Each full-edition table of :mod:`regrowth.sources.registry` has a *slot*: the files
``data/raw/kosis/<TABLEID>.csv`` or ``.xlsx``; a name may continue after the id only after a
character that is not a letter or digit (``DT_1YL20891_2024.xlsx``, ``DT_1YL20891 (1).csv``
fill the slot ``DT_1YL20891``; ``DT_1YL208910.csv`` does not). Files starting with ``~$`` or
``.`` (Excel lock files, hidden files) are ignored. A download is trusted only after:

1. **one file per slot** -- two files (a browser's ``DT_1YL20891 (1).csv`` beside the
   original) are refused, naming both;
2. **table id** -- the id the export states (sheet ``메타정보``/``Meta Data``, or a
   ``통계표ID`` note) must be the slot's, or the file is refused naming both ids. A CSV
   export states none; the report then says the id was not verified;
3. **item and unit** -- an item the export names must be the table's (``item_words`` of
   the registry), and every unit the export states (:func:`stated_units`: ``(단위: …)`` in a
   header or note, a ``단위`` column, the meta sheet, a unit at the end of an item's name or
   of a row-label header -- ``재정자주도(비율)``, ``특허출원건수(천건)``, ``행정구역별[천건]``,
   ``(14STD… 천건)``) must be one the registry lists for the table, and all must agree; it is
   converted with the registry's factor (``천건`` x 1000 -> applications, a ratio x 100 -> %)
   and said so in the log and the codebook, or refused naming the unit, where it was found
   and the units accepted;
3b. **scale** -- a percentage slot refuses values all within [-1, 1] read as % (ratios 0.40
   under a ``%`` unit, or with none) and ratios whose x100 exceeds the variable's bound; the
   panel then compares each download with its public counterpart where both exist
   (:func:`check_scale_against_public`: median of download / public within [1/3, 3], e.g.
   재정자주도 against the public ``fiscal_autonomy_old``) and refuses it otherwise, naming the
   factor;
4. **levels** -- in a 시도/시군구 export (a second row-label column), only the province
   subtotal rows (``소계``) are read, and the report says so;
5. **coverage** -- the provinces with values must be the 17 (Sejong only from 2012), unless
   the table id is in ``allow_partial`` (``regrowth panel --allow-partial DT_…``); the
   provinces and years read are reported and recorded in the codebook's notes;
6. **something stated** -- a file that states neither its item nor its unit (a bare CSV of
   one item: region names and numbers) shows nothing that it is the slot's table in the
   slot's unit, so it is refused unless the table id is in ``accept_unverified``
   (``regrowth panel --accept-unverified DT_…``); then the log and the codebook's notes say
   it was accepted unverified.

A file named for a slot but saved in ``data/raw/`` itself is refused with where to move it;
files in ``data/raw/kosis/`` that fill no slot are listed in the report as not read.

Errors about these files never advise ``make data`` (which only acquires the public files):
their hints say to download the table again from its KOSIS page.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Collection

import numpy as np
import pandas as pd

from regrowth import regions
from regrowth.errors import DataError, MissingInputError
import regrowth.sources.kosis as kosis
import regrowth.sources.kosis_stored as kosis_stored
from regrowth.sources.kosis import unit_key
from regrowth.sources.registry import FULL_EDITION

__all__ = ["SlotRead", "FullEditionReport", "slot_files", "read_slot", "scan", "unit_in",
           "stated_units", "check_scale_against_public", "SCALE_TOLERANCE"]

SUFFIXES = (".csv", ".xlsx", ".xls", ".xlsm", ".json")  # .json: stored KOSIS OpenAPI responses
#: row labels of a 시도 table that are not provinces (skipped, and said so)
NON_PROVINCE = ("국외", "외국", "해외", "기타", "미상", "미분류", "Foreign", "Overseas", "Others",
                "Other", "Unknown", "Not classified")
#: labels of the province subtotal rows in a 시도/시군구 export
SUBTOTALS = ("소계", "계", "시도계", "Subtotal", "Sub-total", "Total")


@dataclass
class SlotRead:
    """What was found in one slot and what was read from it."""
    table_id: str
    variable: str | None
    status: str = "absent"                  # absent | read | no parser
    file: str | None = None                 # relative to the raw dir
    unit: str | None = None                 # as stated in the file
    unit_source: str | None = None
    factor: float = 1.0
    table_id_stated: str | None = None
    table_id_source: str | None = None
    years: tuple[int, int] | None = None
    n_years: int = 0
    provinces: list[str] = field(default_factory=list)
    missing_provinces: list[str] = field(default_factory=list)
    values: int = 0
    notes: list[str] = field(default_factory=list)
    item_stated: str | None = None          # the first item the file names, if any
    unverified: bool = False                # accepted with neither item nor unit stated

    def __bool__(self) -> bool:
        return self.status == "read"

    @property
    def coverage(self) -> str:
        """``17 provinces, 2018-2020 (3 years)`` (or what is missing)."""
        if not self.years:
            return "no values"
        text = f"{len(self.provinces)} provinces"
        if self.missing_provinces:
            text += f" (missing: {', '.join(self.missing_provinces)})"
        return f"{text}, {self.years[0]}-{self.years[1]} ({self.n_years} years)"

    def summary(self) -> str:
        if self.status == "absent":
            return f"{self.table_id}: no download in data/raw/kosis/ (not used)"
        if self.status == "no parser":
            return (f"{self.table_id}: {self.file} present but not read (this version has no "
                    "parser for the table yet)")
        unit = (f"unit {self.unit!r} stated in {self.unit_source}" if self.unit
                else "unit not stated in the file")
        if self.factor != 1:
            unit += f", converted x{self.factor:g}"
        tid = (f"table id {self.table_id_stated} verified ({self.table_id_source})"
               if self.table_id_stated else "table id not stated in the file (not verified)")
        item = "" if self.item_stated or not self.unverified else (
            "; item not stated in the file; accepted unverified (--accept-unverified)")
        return (f"{self.table_id} -> {self.variable}: read {self.file}; {tid}; {unit}{item}; "
                f"{self.coverage}; {self.values} values")


@dataclass
class FullEditionReport:
    """Every full-edition slot, and the files in ``data/raw/kosis/`` that fill none."""
    slots: dict[str, SlotRead] = field(default_factory=dict)
    unmatched: list[str] = field(default_factory=list)
    frames: list[pd.DataFrame] = field(default_factory=list, repr=False)

    def __getitem__(self, table_id: str) -> SlotRead:
        return self.slots[table_id]

    def summary(self) -> str:
        lines = [s.summary() for s in self.slots.values()]
        lines += [f"not read: {f} (its name starts with no full-edition table id; known: "
                  f"{', '.join(self.slots)})" for f in self.unmatched]
        return "\n  ".join(["full edition:"] + lines)


def _matches(name: str, table_id: str) -> bool:
    return re.match(re.escape(table_id) + r"(?![A-Za-z0-9])", name, re.IGNORECASE) is not None


def _candidates(raw_dir: Path) -> list[Path]:
    folder = raw_dir / "kosis"
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and p.suffix.lower() in SUFFIXES
                  and not p.name.startswith(("~$", ".")))


def slot_files(raw_dir: str | Path, table_id: str) -> list[Path]:
    """The files in ``raw_dir/kosis/`` that fill the slot of ``table_id`` (sorted)."""
    return [p for p in _candidates(Path(raw_dir)) if _matches(p.name, table_id)]


def _rel(path: Path, raw_dir: Path) -> str:
    try:
        return path.resolve().relative_to(raw_dir.resolve()).as_posix()
    except ValueError:
        return path.name


def _download_hint(source) -> str:
    return (f"download KOSIS table {source.table_id} again from {source.url} (CSV or Excel, the "
            f"17 시도, years as columns, one item) and save it as "
            f"data/raw/kosis/{source.table_id}.csv or .xlsx")


def _user_error(exc: DataError, source) -> DataError:
    """The same error with a hint for a file the user downloaded (never `make data`)."""
    parts = [p.strip() for p in re.split(r";|\. ", exc.hint or "") if p.strip()]
    keep = [p for p in parts if "make data" not in p and "clean copy" not in p
            and "acquire" not in p]
    hint = "; ".join(keep + [_download_hint(source)])
    new = type(exc).__new__(type(exc))
    DataError.__init__(new, exc.message, file=exc.file, row=exc.row, column=exc.column,
                       hint=hint)
    return new


def _check_table_and_item(table, source, rep: SlotRead) -> None:
    """The table id and the item the export states, where it states them, are the slot's."""
    table_id = source.table_id
    rep.table_id_stated, rep.table_id_source = table.table_id, table.table_id_source
    if table.table_id and table.table_id.strip().upper() != table_id.upper():
        raise DataError(
            f"the file states KOSIS table {table.table_id} (in {table.table_id_source}) but was "
            f"saved in the slot of table {table_id} ({source.description})", file=rep.file,
            hint=f"if it is table {table.table_id}, it does not belong in this slot (rename or "
                 f"remove it); otherwise {_download_hint(source)}")
    # the item, where the export names one, must be the slot's
    stated = [i for i in table.items if i]
    for k, name in enumerate(table.label_names):
        if re.sub(r"\s+", "", name).casefold() in ("항목", "item", "items"):
            stated += sorted(set(table.cells[f"label_{k}"]) - {""})
    rep.item_stated = next(iter(dict.fromkeys(stated)), None)
    words = [re.sub(r"\s+", "", w).casefold() for w in source.item_words]
    if words and stated:
        wrong = [i for i in dict.fromkeys(stated)
                 if not any(w in re.sub(r"\s+", "", i).casefold() for w in words)]
        if wrong:
            raise DataError(
                f"the file's item {wrong[0]!r} is not {source.description} (the table of slot "
                f"{table_id}; expected an item naming {' / '.join(source.item_words)})",
                file=rep.file, row=table.header_rows,
                hint=f"check that this is the right table; {_download_hint(source)}")


#: unit texts recognised in brackets at the end of a header or an item name (``(천건)``,
#: ``[천건]``), besides every unit a full-edition slot accepts; other bracketed text (a basis
#: such as ``(세입과목개편전)``) is not a unit. ``(단위: …)`` states a unit whatever it says.
KNOWN_UNITS = ("%", "‰", "퍼센트", "백분율", "비율", "ratio", "percent", "건", "천건", "개", "명",
               "천명", "만명", "원", "천원", "만원", "백만원", "십억원", "억원", "조원", "달러",
               "천달러", "백만달러", "100만달러", "가구", "세대", "배", "점", "ha", "㎢", "km²",
               "cases", "thousand cases", "persons", "won", "thousand won", "million won")
_KNOWN_KEYS = {unit_key(u) for u in KNOWN_UNITS} | {unit_key(u) for s in FULL_EDITION
                                                     for u in s.units}
#: a bracketed text at the end of a header or item: ``(천건)``, ``[천건]``, ``（단위：천건）``
_TRAILING = re.compile(r"[(\[（［]\s*([^()\[\]（）［］]+?)\s*[)\]）］]\s*$")
_STATED = re.compile(r"^(?:단위|unit)\s*[:：]\s*(.+)$", re.IGNORECASE)
_CODED = re.compile(r"^\d{2}STD\d+\s+(.+)$", re.IGNORECASE)
#: the largest magnitude a percentage may have before a ratio (0-1) stated as % is suspected
RATIO_LIMIT = 1.0


def unit_in(text) -> str | None:
    """The unit a header cell or an item name states at its end, or None.

    ``행정구역별(단위: 천건)``, ``행정구역별(천건)``, ``특허출원건수[천건]``,
    ``T10 재정자주도 (14STD06156 %)`` -> ``천건``, ``천건``, ``천건``, ``%``; a bracketed text that
    is not a unit (``재정자주도(세입과목개편전)``) -> None.
    """
    m = _TRAILING.search(str(text).strip())
    if not m:
        return None
    inner = m.group(1).strip()
    stated = _STATED.match(inner)
    if stated:
        return stated.group(1).strip() or None
    coded = _CODED.match(inner)
    if coded:
        inner = coded.group(1).strip()
    return inner if unit_key(inner) in _KNOWN_KEYS else None


def stated_units(table) -> list[tuple[str, str]]:
    """Every unit the export states, with where: ``[(unit, place), ...]`` in the order
    header/note/unit column, meta sheet, item headers, row-label headers, item cells.

    The places are those KOSIS exports use: ``(단위: …)`` in a header or a note, a
    ``단위``/``Unit`` column, the meta sheet (``메타정보``), an item's name (``재정자주도(비율)``,
    ``(14STD… 천건)``), a row-label header (``행정구역별(천건)``, ``행정구역별[천건]``) and the
    items of an ``항목`` column.
    """
    found: list[tuple[str, str]] = []
    if table.unit:
        found.append((table.unit, table.unit_source or "the file"))
    meta_unit = (table.meta or {}).get("unit")
    if meta_unit:
        found.append((meta_unit, f"sheet {(table.meta or {}).get('sheet')!r}"))
    for item, unit in table.item_units.items():
        found.append((unit, f"the item header {item!r}"))
    for item in table.items:
        unit = unit_in(item) if item else None
        if unit:
            found.append((unit, f"the item header {item!r}"))
    for k, name in enumerate(table.label_names):
        letter = table.label_letters[k] if k < len(table.label_letters) else "?"
        unit = unit_in(name)
        if unit:
            found.append((unit, f"the header {name!r} of column {letter}"))
        if re.sub(r"\s+", "", kosis.strip_code(name)).casefold() in ("항목", "item", "items"):
            col = table.cells[f"label_{k}"]
            for value in dict.fromkeys(col):
                unit = unit_in(value) if value else None
                if unit:
                    row = int(table.cells.loc[col == value, "row"].iloc[0])
                    found.append((unit, f"the item {value!r} (cell {letter}{row})"))
    return list(dict.fromkeys(found))


def _check_unit(table, source, rep: SlotRead):
    """Every unit the export states (:func:`stated_units`) must be one the slot accepts, and
    all must agree; the values are converted by the unit's factor (천건 x 1000 -> cases, a
    ratio x 100 -> %), then checked for plausibility (:func:`_check_scale`). Returns the
    (converted) table."""
    spec = source.variables[0]
    accepted = {unit_key(k): (k, f) for k, f in source.units.items()}
    stated = stated_units(table)
    for unit, place in stated:
        if unit_key(unit) not in accepted:
            raise DataError(
                f"the file states the unit {unit!r} (in {place}); the slot of table "
                f"{source.table_id} ({spec.name}, {spec.unit}) accepts {sorted(source.units)}",
                file=rep.file, row=None,
                hint="download the table again with its default unit, or check that it is the "
                     f"right table; {_download_hint(source)}")
    factors = {}
    for unit, place in stated:
        factors.setdefault(accepted[unit_key(unit)][1], (unit, place))
    if len(factors) > 1:
        (u1, p1), (u2, p2) = list(factors.values())[:2]
        raise DataError(
            f"the file states two units that do not agree: {u1!r} (in {p1}) and {u2!r} (in "
            f"{p2}); the slot of table {source.table_id} ({spec.name}) expects {spec.unit!r}, "
            "so it cannot tell which one the values are in", file=rep.file,
            hint=f"download the table again so that it states one unit; {_download_hint(source)}")
    if stated:
        rep.unit, rep.unit_source = stated[0]
        rep.factor = accepted[unit_key(stated[0][0])][1]
    _check_scale(table, source, rep)
    if rep.factor != 1:
        cells = table.cells.assign(value=np.round(table.cells["value"] * rep.factor, 6))
        table = dataclasses.replace(table, cells=cells)
    return table


def _check_scale(table, source, rep: SlotRead) -> None:
    """A percentage slot refuses values that cannot be in the unit they are read in: all
    within [-1, 1] read as % (ratios such as 0.40 stated, or taken, as %) and, converted from
    a ratio, values above the variable's upper bound (percentages stated as a ratio)."""
    spec = source.variables[0]
    if spec.unit != "%":
        return
    values = table.cells["value"].astype(float)
    values = values[np.isfinite(values)]
    if values.empty:
        return
    at = table.cells.loc[values.abs().idxmax()]
    cell = f"cell {at['column']}{int(at['row'])}"
    largest = float(values.abs().max())
    stated = (f"the unit {rep.unit!r} stated in {rep.unit_source}" if rep.unit
              else "no unit stated in the file (read as %)")
    if rep.factor == 1 and 0 < largest <= RATIO_LIMIT:
        raise DataError(
            f"every value is between -1 and 1 (the largest, {largest:g}, in {cell}) with "
            f"{stated}: {spec.name} is a percentage (40 % is written 40), so these look "
            f"like ratios (0.40) that would enter 100 times too small", file=rep.file,
            hint="download the table again in % (its default unit), or, if the file holds "
                 "ratios, state it in the header (e.g. '행정구역별(단위: 비율)') so that they are "
                 f"converted x100; {_download_hint(source)}")
    upper = spec.bounds[1]
    if rep.factor != 1 and upper is not None and largest * rep.factor > upper:
        raise DataError(
            f"the values are read in {stated}, converted x{rep.factor:g}, but the largest, "
            f"{largest:g} in {cell}, would become {largest * rep.factor:g} {spec.unit}, above "
            f"{upper:g}: they look like percentages already", file=rep.file,
            hint=f"check the unit of the download; {_download_hint(source)}")


def _check_coverage(frame: pd.DataFrame, source, rep: SlotRead, allow_partial: bool) -> None:
    """Years, provinces and values of the download; fewer than the provinces that existed
    then is refused unless ``allow_partial``."""
    table_id = source.table_id
    values = frame[frame["value"].notna()]
    present = sorted(set(values["region"]))
    if values.empty:
        raise DataError(f"the download of table {table_id} holds no values for any province",
                        file=rep.file, hint=_download_hint(source))
    y0, y1 = int(values["year"].min()), int(values["year"].max())
    expected = [r.key for r in regions.REGIONS if r.first_year is None or r.first_year <= y1]
    missing = [k for k in expected if k not in present]
    rep.years, rep.n_years = (y0, y1), int(values["year"].nunique())
    rep.provinces, rep.missing_provinces, rep.values = present, missing, len(values)
    if missing and not allow_partial:
        raise DataError(
            f"the download of table {table_id} covers {len(present)} of the {len(expected)} "
            f"provinces ({y0}-{y1}); missing: {', '.join(missing)}", file=rep.file,
            hint=f"select all 시도 when downloading ({source.url}), or, to use a partial table "
                 f"on purpose, build with `regrowth panel --allow-partial {table_id}` or "
                 f"add allow_partial = [\"{table_id}\"] to [edition] in specs/models.toml")


def _check_stated(source, rep: SlotRead, accept_unverified: bool) -> None:
    """A file that states neither item nor unit is refused unless ``accept_unverified``."""
    if rep.item_stated or rep.unit is not None:
        return
    spec = source.variables[0]
    if not accept_unverified:
        raise DataError(
            f"the file states neither its item nor its unit, so nothing shows that it is "
            f"{source.description} (table {source.table_id}) in {spec.unit}", file=rep.file,
            hint=f"download the table again with its item and unit (the xlsx export's "
                 f"메타정보 sheet states both; a CSV header such as '행정구역별(단위: "
                 f"{next(iter(source.units))})' states the unit), or, if you checked that the "
                 f"file is table {source.table_id} in {spec.unit}, build with `regrowth panel "
                 f"--accept-unverified {source.table_id}`")
    rep.unverified = True


#: a download whose median ratio to its public counterpart lies outside [1/3, 3] is refused:
#: another basis or revision moves 재정자주도 by a few points (ratios 0.8-1.2), a unit that
#: was not stated or not converted moves it by 100 or 1000
SCALE_TOLERANCE = 3.0


def check_scale_against_public(download: pd.Series, public: pd.Series, *, table_id: str,
                               file: str | None, download_name: str, public_name: str,
                               tolerance: float = SCALE_TOLERANCE) -> float:
    """Refuse a download whose values are on another scale than the public edition's series.

    ``download`` and ``public`` are aligned on the same index (province-years, or macro-region
    years); over the entries where both are finite and the public value is not 0, the median
    of download / public must lie within [1/``tolerance``, ``tolerance``] (default
    :data:`SCALE_TOLERANCE`; a factor of 100 or 1000 lies outside either way).
    Returns that median ratio (dimensionless); raises DataError naming the file, the table id
    and the power of ten the values seem to be off by.
    """
    both = pd.concat([download.astype(float), public.astype(float)], axis=1).dropna()
    both = both[(both.iloc[:, 1] != 0) & np.isfinite(both).all(axis=1)]
    if both.empty:
        return float("nan")
    ratio = both.iloc[:, 0] / both.iloc[:, 1]
    median = float(ratio.median())
    if 1 / tolerance <= median <= tolerance:
        return median
    where = (ratio - median).abs().idxmin()
    label = " ".join(map(str, where)) if isinstance(where, tuple) else str(where)
    d, p = both.loc[where].iloc[0], both.loc[where].iloc[1]
    power = 10.0 ** round(np.log10(abs(median))) if median != 0 else float("nan")
    factor = (f"about x{power:g}" if power >= 1 else f"about 1/{1 / power:g}") \
        if np.isfinite(power) else "zero"
    raise DataError(
        f"the download of table {table_id} ({download_name}) is on another scale than the "
        f"public {public_name}: the median ratio over {len(both)} observations both have is "
        f"{median:.4g} ({factor}; e.g. {label}: {d:g} vs {p:g}), outside "
        f"[1/{tolerance:g}, {tolerance:g}]. A unit that the file does not state, "
        "or states where it was not read, would do this", file=file,
        hint=f"check the unit of the download (a ratio 0.40 for 40 %, 천건 for applications) and "
             f"state it in the header (e.g. '행정구역별(단위: 비율)'), or download KOSIS table "
             f"{table_id} again in its default unit")


def read_slot(raw_dir: str | Path, source, *, allow_partial: bool = False,
              accept_unverified: bool = False) -> tuple[pd.DataFrame, SlotRead]:
    """Verify and read the download in ``source``'s slot; return (tidy frame, SlotRead).

    ``accept_unverified``: read a file that states neither item nor unit (check 6 of the
    module docstring) instead of refusing it.

    The frame's ``attrs["notes"]`` holds ``{variable: [notes]}`` for the codebook.
    Raises MissingInputError if the slot is empty, DataError if it fails verification.
    """
    raw_dir = Path(raw_dir)
    table_id = source.table_id
    variable = source.variable_names[0] if source.variables else None
    rep = SlotRead(table_id, variable)
    files = slot_files(raw_dir, table_id)
    target = f"data/raw/kosis/{table_id}.csv"
    if not files:
        raise MissingInputError(
            f"KOSIS table {table_id} has not been downloaded (looked for "
            f"data/raw/kosis/{table_id}*.csv or .xlsx)", file=target,
            hint=f"download it from {source.url} (CSV or Excel, the 17 시도, years as columns) "
                 f"and save it as {target} or .xlsx")
    names = [_rel(p, raw_dir) for p in files]
    if len(files) > 1:
        raise DataError(
            f"{len(files)} files fill the slot of KOSIS table {table_id}: {', '.join(names)} "
            "(a second download, e.g. a browser's 'name (1).csv'?); exactly one is read",
            file=names[1], hint=f"keep one of them as {target} (or .xlsx) and move the others "
                                "out of data/raw/kosis/")
    path = files[0]
    rep.file = names[0]
    if path.suffix.lower() == ".xls":
        raise DataError("an old-style Excel file (.xls) cannot be read", file=rep.file,
                        hint=f"download the table as CSV or as Excel 2007+ (.xlsx) from "
                             f"{source.url}, or save this file as .xlsx")
    if not source.variables:
        rep.status = "no parser"
        return pd.DataFrame(), rep
    try:
        if path.suffix.lower() == ".json":  # stored by `regrowth data kosis` (checked against its lock)
            table = kosis_stored.read_stored(path, raw_dir=raw_dir)
        else:
            table = kosis.read_kosis(path, raw_dir=raw_dir)
    except DataError as exc:
        raise _user_error(exc, source) from None
    _check_table_and_item(table, source, rep)
    table = _check_unit(table, source, rep)
    # a 시도/시군구 export: keep the province subtotal rows (소계), as KOSIS prints them
    where, sub_note = None, None
    for k in range(1, len(table.label_letters)):
        values = set(table.cells[f"label_{k}"])
        hits = [v for v in SUBTOTALS if v in values]
        if hits and len(values) > 1:
            where = {k: hits[0]}
            sub_note = (f"province rows taken from the {hits[0]!r} rows of column "
                        f"{table.label_letters[k]}; the other {len(values) - 1} sub-levels skipped")
            break
    region_names = {n for k in range(len(table.label_letters))
                    for n in table.cells[f"label_{k}"]}
    skipped = sorted(n for n in region_names if kosis.strip_code(n) in NON_PROVINCE)
    try:
        frame = kosis.to_tidy(table, variable, source=rep.file, where=where,
                              ignore=[*NON_PROVINCE, *skipped])
    except DataError as exc:
        err = _user_error(exc, source)
        if "unknown region name" in exc.message:  # rows of cities or districts: another table
            err = DataError(exc.message + f"; the slot of table {table_id} holds "
                            f"{source.description}, one row per province (시도): a file whose "
                            "rows are cities or districts (시군구) is another table",
                            file=err.file, row=err.row, column=err.column, hint=err.hint)
        raise err from None
    if skipped:
        sub_note = "; ".join(filter(None, [sub_note, f"rows that are not provinces skipped: "
                                                     f"{', '.join(skipped)}"]))
    kosis_notes = frame.attrs.get("notes", {}).get(variable, [])
    _check_coverage(frame, source, rep, allow_partial)
    _check_stated(source, rep, accept_unverified)
    notes = list(kosis_notes) + ([sub_note] if sub_note else [])
    if rep.factor != 1:
        notes.append(f"converted from {rep.unit!r} (x{rep.factor:g}) to {source.variables[0].unit}")
    notes.append(f"full edition: {rep.file}, {rep.coverage}"
                 + ("" if rep.table_id_stated else "; table id not stated in the file")
                 + ("; item and unit not stated in the file, accepted unverified "
                    "(--accept-unverified)" if rep.unverified else ""))
    rep.notes = notes
    rep.status = "read"
    frame.attrs["notes"] = {variable: notes}
    return frame, rep


def scan(raw_dir: str | Path, *, allow_partial: Collection[str] = (),
         accept_unverified: Collection[str] = ()) -> FullEditionReport:
    """Look at every full-edition slot under ``raw_dir/kosis/``; read and verify those filled.

    A filled slot that fails verification raises; an empty slot is reported as absent.
    ``allow_partial``, ``accept_unverified``: table ids for checks 5 and 6 of the module
    docstring.
    """
    raw_dir = Path(raw_dir)
    known = {s.table_id for s in FULL_EDITION}
    for option, ids in (("--allow-partial", allow_partial),
                        ("--accept-unverified", accept_unverified)):
        unknown = sorted(set(ids) - known)
        if unknown:
            raise DataError(f"{option} names {unknown}, which are not full-edition tables "
                            f"(known: {sorted(known)})", hint="check the table ids")
    report = FullEditionReport()
    for source in FULL_EDITION:
        if not slot_files(raw_dir, source.table_id):
            report.slots[source.table_id] = SlotRead(
                source.table_id, source.variable_names[0] if source.variables else None)
            continue
        frame, rep = read_slot(raw_dir, source, allow_partial=source.table_id in allow_partial,
                               accept_unverified=source.table_id in accept_unverified)
        report.slots[source.table_id] = rep
        if rep.status == "read":
            report.frames.append(frame)
    report.unmatched = [_rel(p, raw_dir) for p in _candidates(raw_dir)
                        if not any(_matches(p.name, t) for t in known)]
    # a download saved one folder too high is not read: say where it belongs
    for p in sorted(raw_dir.iterdir()) if raw_dir.is_dir() else []:
        if p.is_file() and p.suffix.lower() in SUFFIXES and any(_matches(p.name, t) for t in known):
            raise DataError(f"the KOSIS download {p.name} is in data/raw/, not in data/raw/kosis/, "
                            "so it would not be read", file=p.name,
                            hint=f"move it to data/raw/kosis/{p.name}")
    return report
