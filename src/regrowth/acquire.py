"""Acquire the raw inputs named in ``data/raw/MANIFEST.toml`` into ``data/raw/``.

Each manifest entry names a file (``path``, relative to ``data/raw/``), its ``sha256``, its
``origin`` (repository pinned to a commit) and a download ``url``. A file is taken from the
mirror folder ``REGROWTH_DATA_MIRROR`` when it is there (CI points it at ``../shared/data``),
otherwise downloaded from ``url``. Either way it is written to a temporary file, its
checksum verified, and only then renamed into place and made read-only. The rules:

- a file already in ``data/raw/`` with the right checksum is kept, never rewritten;
- a file already there with a *wrong* checksum is refused and left alone for the user to
  inspect (it may be a KOSIS download they put there on purpose);
- a manifest path that is absolute or escapes ``data/raw/`` is refused before anything is
  written;
- a file missing from the mirror and not downloadable (an excerpt, say) is an error that
  names it and says where to get it;
- without a mirror nothing is downloaded unless asked (``allow_download=True``,
  ``regrowth data fetch --allow-download``, ``make data DOWNLOAD=1``);
- a download is capped at the manifest's ``size`` (bytes; the server sending more is an
  error, checked while reading) and the whole fetch at ``time_limit`` seconds (default 600);
  an entry without a ``size`` is copied from the mirror but never downloaded (refused, naming
  the entry, before a byte is fetched);
- messages name the destination under ``data/raw/`` or the URL, never a temporary file.

``regrowth panel`` runs :func:`fetch` (mirror copy, checksum verification, no download
unless ``--allow-download``) before building, exactly as ``make panel`` runs ``make data``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import time
import tomllib
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from regrowth.errors import ChecksumError, DataError, MissingInputError
from regrowth.files import atomic_path

REQUIRED_FIELDS = ("path", "sha256", "origin", "url", "producer", "licence")
CHUNK = 1 << 20


@dataclass(frozen=True)
class ManifestEntry:
    """One raw file: where it goes, what it must hash to, where it comes from."""

    path: str
    sha256: str
    origin: str
    url: str
    producer: str
    licence: str
    downloadable: bool = True
    kosis_table: str = ""
    note: str = ""
    size: int | None = None          # bytes; a download is capped at this size


@dataclass
class FetchReport:
    """What ``fetch`` did, file by file (relative paths)."""

    kept: list[str] = field(default_factory=list)
    copied: list[str] = field(default_factory=list)
    downloaded: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (f"{len(self.kept)} already present and verified, {len(self.copied)} copied "
                f"from the mirror, {len(self.downloaded)} downloaded")


def sha256_of(path: str | Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def load_manifest(manifest: str | Path) -> list[ManifestEntry]:
    """Read and check a manifest; return its entries in file order.

    Raises ``DataError`` naming the manifest, the entry (1-based) and the field for a
    missing field, a malformed checksum, a duplicated path or an unsafe path.
    """
    manifest = Path(manifest)
    if not manifest.is_file():
        raise MissingInputError("the data manifest is missing", file=manifest,
                                hint="restore data/raw/MANIFEST.toml from git (git checkout -- data/raw/MANIFEST.toml)")
    try:
        doc = tomllib.loads(manifest.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"the manifest is not valid TOML ({exc})", file=manifest,
                        hint="fix the syntax, or restore it from git") from exc
    entries, seen = [], {}
    for i, raw in enumerate(doc.get("file", []), start=1):
        where = f"[[file]] entry {i}"
        for key in REQUIRED_FIELDS:
            if not isinstance(raw.get(key), str) or not raw[key]:
                raise DataError(f"{where} lacks the field {key!r}", file=manifest, column=key,
                                hint="every entry needs path, sha256, origin, url, producer and licence")
        digest = raw["sha256"].lower()
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise DataError(f"{where}: sha256 {raw['sha256']!r} is not 64 hex digits",
                            file=manifest, column="sha256", hint="copy the checksum from SHA256SUMS")
        if "size" in raw and (not isinstance(raw["size"], int) or isinstance(raw["size"], bool)
                              or raw["size"] < 0):
            raise DataError(f"{where}: size {raw['size']!r} is not a number of bytes",
                            file=manifest, column="size",
                            hint="regenerate the manifest with tools/make_manifest.py")
        check_relative(raw["path"], manifest=manifest, where=where)
        if raw["path"] in seen:
            raise DataError(f"{where} repeats the path {raw['path']!r} of entry {seen[raw['path']]}",
                            file=manifest, column="path", hint="list each file once")
        seen[raw["path"]] = i
        entries.append(ManifestEntry(**{**{k: v for k, v in raw.items()
                                           if k in ManifestEntry.__dataclass_fields__},
                                        "sha256": digest}))
    if not entries:
        raise DataError("the manifest lists no [[file]] entries", file=manifest,
                        hint="restore data/raw/MANIFEST.toml from git")
    return entries


def check_relative(rel: str, *, manifest: Path | None = None, where: str = "") -> PurePosixPath:
    """Refuse a manifest path that is absolute or climbs out of ``data/raw/``."""
    p = PurePosixPath(rel)
    if p.is_absolute() or rel.startswith(("/", "\\")) or ":" in p.parts[0] or ".." in p.parts or "\\" in rel:
        raise DataError(f"{where + ': ' if where else ''}path {rel!r} escapes data/raw/",
                        file=manifest, column="path",
                        hint="manifest paths are relative to data/raw/, with '/' separators and no '..'")
    return p


def target_of(raw_dir: Path, entry: ManifestEntry) -> Path:
    """Absolute destination of an entry, verified to lie inside ``raw_dir``."""
    root = raw_dir.resolve()
    dest = (root / check_relative(entry.path)).resolve()
    if root not in dest.parents:
        raise DataError(f"path {entry.path!r} resolves outside data/raw/ ({dest})", column="path",
                        hint="remove the symbolic link or fix the manifest path")
    return dest


def fetch(manifest: str | Path = "data/raw/MANIFEST.toml", raw_dir: str | Path = "data/raw",
          mirror: str | Path | None = None, *, allow_download: bool = False,
          timeout: float = 60.0, time_limit: float = 600.0, progress=None) -> FetchReport:
    """Acquire every manifest entry into ``raw_dir``; return what was done.

    ``mirror`` defaults to the ``REGROWTH_DATA_MIRROR`` environment variable (empty or
    unset: no mirror). Files missing from the mirror are downloaded only with
    ``allow_download`` (never by default). ``timeout`` is the per-connection socket timeout
    and ``time_limit`` the limit in seconds on all downloads together. ``progress`` is an
    optional callable ``progress(message)``. Raises ``ChecksumError``,
    ``MissingInputError`` or ``DataError``; files already acquired and verified stay in
    place, nothing half-written is left behind.
    """
    manifest = Path(manifest)
    raw_dir = Path(raw_dir)
    if mirror is None:
        mirror = os.environ.get("REGROWTH_DATA_MIRROR") or None
    mirror_dir = Path(mirror) if mirror else None
    if mirror_dir is not None and not mirror_dir.is_dir():
        raise MissingInputError(f"the data mirror {mirror_dir} is not a folder",
                                hint="set REGROWTH_DATA_MIRROR to the folder holding SHA256SUMS "
                                     "(e.g. ../shared/data), or unset it to download")
    entries = load_manifest(manifest)
    dests = [target_of(raw_dir, e) for e in entries]  # all paths checked before any write
    report = FetchReport()
    deadline = time.monotonic() + time_limit
    for dest in dests:
        _remove_leftovers(dest)
    for entry, dest in zip(entries, dests):
        if progress:
            progress(entry.path)
        if dest.exists():
            actual = sha256_of(dest)
            if actual != entry.sha256:
                raise ChecksumError(
                    f"the file already in data/raw/ has sha256 {actual}, the manifest expects "
                    f"{entry.sha256}; it was left untouched", file=dest,
                    hint=f"if it is not a deliberate replacement, delete it and run `make data` again "
                         f"(origin: {entry.origin})")
            report.kept.append(entry.path)
            continue
        source = mirror_dir / entry.path if mirror_dir is not None else None
        if source is not None and source.is_file():
            _install(dest, entry, lambda tmp: shutil.copyfile(source, tmp), str(source))
            report.copied.append(entry.path)
        elif allow_download and entry.downloadable:
            if entry.size is None:  # an uncapped stream could run to gigabytes before the
                raise DataError(    # checksum is tried: refused before any byte is fetched
                    f"the entry of {entry.path} has no size, and a download is capped at the "
                    "manifest's size; nothing was downloaded", file=manifest, column="size",
                    hint=f"add `size = <bytes>` (the file's length) to the [[file]] entry of "
                         f"{entry.path}, or regenerate the manifest with tools/make_manifest.py")
            _install(dest, entry, lambda tmp: _download(entry, tmp, dest, timeout, deadline),
                     entry.url)
            report.downloaded.append(entry.path)
        else:
            why = ("it is not in the mirror " + str(mirror_dir)) if mirror_dir else "no mirror is set"
            if not entry.downloadable:
                how = "this file cannot be downloaded byte-identically (" + entry.note + ")"
                hint = ("point REGROWTH_DATA_MIRROR at a folder holding the public files "
                        "(e.g. ../shared/data) and run `make data`")
            else:
                how = "downloading was not asked for"
                hint = ("point REGROWTH_DATA_MIRROR at a folder holding the public files "
                        "(e.g. ../shared/data) and run `make data`, or allow downloading from "
                        "the origins in data/raw/MANIFEST.toml: `regrowth data fetch "
                        "--allow-download` (or `make data DOWNLOAD=1`)")
            raise MissingInputError(f"cannot acquire {entry.path}: {why}, and {how}",
                                    file=dest, hint=hint)
    return report


def _remove_leftovers(dest: Path) -> None:
    """Delete temporary files an interrupted earlier fetch left beside ``dest``
    (``.<name>.<random>.tmp``, written by :func:`regrowth.files.atomic_path`); nothing else."""
    if not dest.parent.is_dir():
        return
    for tmp in dest.parent.glob(f".{dest.name}.*.tmp"):
        if tmp.is_file() and not tmp.is_symlink():
            tmp.unlink()


def _install(dest: Path, entry: ManifestEntry, produce, source_label: str) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(dest) as tmp:
        produce(tmp)
        actual = sha256_of(tmp)
        if actual != entry.sha256:
            raise ChecksumError(
                f"{source_label} has sha256 {actual}, the manifest expects {entry.sha256}; "
                f"nothing was written", file=dest,
                hint=f"the source changed or is corrupt; get the file of {entry.origin}")
    os.chmod(dest, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)  # raw files are read-only


def _download(entry: ManifestEntry, tmp: Path, dest: Path, timeout: float,
              deadline: float) -> None:
    """Stream ``entry.url`` into ``tmp``: at most ``entry.size`` bytes, before ``deadline``.

    Errors name ``dest`` (the file under data/raw/) and the URL, never ``tmp``.
    """
    url, cap = entry.url, entry.size
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise MissingInputError(f"download of {url} not started: the time limit for downloads "
                                "is used up", file=dest,
                                hint="run `regrowth data fetch --allow-download` again to "
                                     "continue (files already acquired are kept)")
    try:
        with urllib.request.urlopen(url, timeout=min(timeout, remaining)) as resp, \
                open(tmp, "wb") as out:
            length = resp.headers.get("Content-Length")
            if cap is not None and length and length.isdigit() and int(length) > cap:
                raise ChecksumError(f"{url} announces {int(length)} bytes, the manifest's size "
                                    f"is {cap}; nothing was written", file=dest,
                                    hint=f"the source changed; get the file of {entry.origin}")
            got = 0
            while True:
                chunk = resp.read(CHUNK)
                if not chunk:
                    break
                got += len(chunk)
                if cap is not None and got > cap:
                    raise ChecksumError(f"{url} sent more than the manifest's {cap} bytes; the "
                                        "download was stopped and nothing was written", file=dest,
                                        hint=f"the source changed; get the file of {entry.origin}")
                if time.monotonic() > deadline:
                    raise MissingInputError(f"download of {url} stopped: the time limit for "
                                            "downloads was reached; nothing was written",
                                            file=dest, hint="check the network, or set "
                                            "REGROWTH_DATA_MIRROR to a local copy of the files")
                out.write(chunk)
    except DataError:
        raise
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", None) or exc.strerror or type(exc).__name__
        raise MissingInputError(f"download of {url} failed ({reason})", file=dest,
                                hint="check the network, or set REGROWTH_DATA_MIRROR to a local "
                                     "copy of the files") from None


def verify(manifest: str | Path = "data/raw/MANIFEST.toml",
           raw_dir: str | Path = "data/raw") -> list[str]:
    """Check every acquired file against the manifest; return the relative paths checked."""
    raw_dir = Path(raw_dir)
    checked = []
    for entry in load_manifest(manifest):
        dest = target_of(raw_dir, entry)
        if not dest.is_file():
            raise MissingInputError(f"{entry.path} has not been acquired", file=dest,
                                    hint="run `make data`")
        actual = sha256_of(dest)
        if actual != entry.sha256:
            raise ChecksumError(f"sha256 {actual} differs from the manifest's {entry.sha256}",
                                file=dest, hint="delete the file and run `make data` again")
        checked.append(entry.path)
    return checked
