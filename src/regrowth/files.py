"""Writing outputs safely: atomic files, transactional output folders, CSV cells safe to open.

Atomic files
------------
:func:`write_text`, :func:`write_bytes`, :func:`write_with` and :func:`atomic_path` write a
temporary file beside the target and rename it over the target: an interrupted write leaves
the previous file intact.

Transactions (``results/`` and ``data/processed/``)
---------------------------------------------------
A run replaces a *set* of files that belong together (a table's .md/.tex/.html/.csv; the
panel and its codebook). :class:`Transaction` makes that set change all at once::
    with Transaction("results", prune=True) as tx:      # lock, recover, clean, check
        write_text(tx.dir / "tables" / "t1.md", text)    # stage under results/.staging-<pid>/
        tx.keep("tables/t0.md")                          # an owned file to keep as it is
    # on leaving the block without an exception: commit; on an exception: nothing changes

Design: a redo journal, replayed at the next start.

1. *Enter*: take an exclusive ``fcntl`` lock on ``<root>/.regrowth.lock`` (a second run waits
   for it, saying so, up to ``lock_timeout`` seconds, then stops with an error naming the
   other process); refuse a folder that is not writable (every sub-folder is checked) before
   anything is fitted; replay a journal left by a killed run (below); delete leftover
   staging folders and ``.*.tmp`` files (they belong to no live run: we hold the lock). A
   staging folder is recognised by its name ``.staging-*`` *and* the marker file
   ``.regrowth-staging`` the package writes into it first: a user's folder of that name is
   never deleted.
2. *Stage*: outputs are written under ``<root>/.staging-<pid>/`` with their final relative
   paths. A kill here leaves the published files untouched; the staging folder is garbage
   collected by the next run.
3. *Commit*: (a) staged files identical to the published ones are dropped (no churn);
   (b) the journal ``<root>/.regrowth-journal.json`` -- files to install, files to delete,
   the new manifest -- is written to a temporary file, fsynced and renamed into place: this
   rename is the commit point; (c) the journal is *replayed*: each staged file is renamed
   over its target, stale files are deleted, the manifest is rewritten, the staging folder
   and finally the journal are removed.
4. *Recovery*: replaying is idempotent (a rename whose source is gone was done; a deletion
   whose target is gone was done), so a run that finds a journal completes it -- the folder
   then holds the new complete set. Without a journal, the previous complete set is intact.

The crash window: between a kill during step 3(c) (a few renames: milliseconds) and the next
``regrowth`` command on that folder, the folder holds a mix of old and new files *and the
journal that says so*; every entry point completes it first: writers (``Transaction``,
:func:`recover`, which ``regrowth replicate`` calls before reading ``data/processed``) and
readers (:func:`recover_for_reading`: ``regrowth show``, ``regrowth notebooks``, the results
reader :mod:`regrowth.report.reader` and the curve reader), under the same lock; a reader
that cannot complete it (read-only folder) refuses to read instead. A
generation folder with an atomic pointer would close that window but cannot be used here:
``results/`` holds git-tracked files at fixed paths.

Across file systems: a target folder that is a link to another file system (``results/tables``
on another disk) makes the rename of step 3(c) fail (EXDEV); :func:`_install` then copies the
staged file into a temporary file beside the target, fsyncs and renames it (still atomic per
file), and the journal completes the set as before: a cross-device commit never stops half-way.

Ownership: links are resolved first (:func:`foreign_folder`): a root reached through a link
(``results`` -> another project's results folder) whose ``.regrowth-owner`` (the folder's path
as the last writing run named it; git-ignored) names another path, or names none, is not ours:
a run there deletes nothing. Otherwise ``<root>/.regrowth-manifest.json`` lists (sorted, one path per line, no
timestamps: deterministic, so it can be committed) the files the package wrote. Only these are
ever deleted (``prune=True`` deletes owned files neither re-staged nor kept); a user's
``results/tables/my_notes.md`` is never touched.

Testing hook: ``REGROWTH_TEST_COMMIT_DELAY`` (seconds, float) sleeps before every rename or
deletion of step 3(c), so a test can kill a run inside the commit.

CSV cells
---------
:func:`csv_cell` escapes a text cell that a spreadsheet would run as a formula (leading
``=``, ``+``, ``-``, ``@``, tab or carriage return) with a leading ``'``. Numbers stay numbers:
a cell that reads as a number (optionally with significance stars or a ``%``, e.g.
``-0.023***``) is left alone, and :func:`csv_safe_frame` touches only text columns.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import json
import math
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from regrowth.errors import RegrowthError, SpecificationError
import numpy as np
import pandas as pd

try:  # POSIX only: without fcntl (Windows) concurrent runs are not serialised
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None

__all__ = ["atomic_path", "write_text", "write_bytes", "write_with", "Transaction",
           "OutputError", "recover", "recover_for_reading", "owned_files", "csv_cell", "csv_row",
           "csv_safe_frame", "LOCK_NAME", "JOURNAL_NAME", "MANIFEST_NAME", "STAGING_MARKER",
           "OWNER_NAME", "foreign_folder", "check_writable", "env_seconds"]

LOCK_NAME = ".regrowth.lock"
JOURNAL_NAME = ".regrowth-journal.json"
MANIFEST_NAME = ".regrowth-manifest.json"
#: the output folder's path as the run that wrote it named it (not committed: machine-specific)
OWNER_NAME = ".regrowth-owner"
STAGING_PREFIX = ".staging-"
#: the file regrowth writes first into each of its staging folders: a ``.staging-*`` folder
#: is deleted as a leftover only if it holds this marker (a user's folder of that name is not)
STAGING_MARKER = ".regrowth-staging"
_INTERNAL = (LOCK_NAME, JOURNAL_NAME, MANIFEST_NAME, OWNER_NAME)
_TMP = re.compile(r"^\..+\.[A-Za-z0-9_]{8}\.tmp$")  # atomic_path's mkstemp names


class OutputError(RegrowthError, OSError):
    """An output folder cannot be written (read-only, locked by another run, ...)."""

# ----------------------------------------------------------------------------- atomic files

@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it over ``target`` on success.

    On any exception the temporary file is removed and ``target`` is untouched.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        # mkstemp creates 0600; give the file the mode an ordinary open() would
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_path, 0o666 & ~umask)
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_text(target: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8, ``\\n`` newlines) to ``target`` atomically; return the path."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8", newline="\n")
    return Path(target)


def write_bytes(target: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``target`` atomically; return the path."""
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return Path(target)


def write_with(target: str | Path, writer: Callable[[Path], None]) -> Path:
    """Call ``writer(tmp_path)`` and move the result over ``target`` atomically."""
    with atomic_path(target) as tmp:
        writer(tmp)
    return Path(target)


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _durable_write(target: Path, text: str) -> None:
    """Write, fsync and rename ``text`` over ``target``; fsync the folder."""
    with atomic_path(target) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
    _fsync_dir(target.parent)


# ----------------------------------------------------------------------------- manifest

def owned_files(root: str | Path) -> list[str]:
    """Relative paths (POSIX) of the files the package wrote under ``root``, sorted."""
    path = Path(root) / MANIFEST_NAME
    if not path.is_file():
        return []
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise OutputError(f"{path}: the record of files regrowth wrote is damaged ({exc}); "
                          "delete it (regrowth then removes no old output) and rerun") from exc
    return sorted(str(p) for p in doc.get("files", []))


def _manifest_text(files) -> str:
    doc = {"about": "files written by regrowth; only these are ever deleted or replaced by it",
           "files": sorted(set(files))}
    return json.dumps(doc, indent=1, ensure_ascii=False) + "\n"


def _check_rel(rel: str) -> str:
    p = Path(rel)
    if p.is_absolute() or ".." in p.parts or not p.parts or p.parts[0] in _INTERNAL \
            or p.parts[0].startswith(STAGING_PREFIX):
        raise ValueError(f"{rel!r} is not a path inside the output folder")
    return p.as_posix()


def foreign_folder(root: str | Path) -> str | None:
    """Why the files the manifest of ``root`` lists may not be this project's, or None.

    Links are resolved first: ``root`` reached through a link (``results`` -> another
    project's ``results/``) is ours only if the run that last wrote it named it by the same
    path (``.regrowth-owner``). A folder that is not a link is ours (a moved or re-cloned
    project included). A link with no record of its writer is not.
    """
    root = Path(root)
    here = os.path.abspath(root)
    real = os.path.realpath(root)
    owner = root / OWNER_NAME
    recorded = None
    if owner.is_file():
        with contextlib.suppress(OSError, UnicodeDecodeError):
            recorded = owner.read_text(encoding="utf-8").strip() or None
    if recorded == here or not root.is_symlink() and (recorded is None or real == here):
        return None
    who = (f"written by the regrowth run that wrote {recorded}" if recorded
           else "and nothing records that this project wrote its files")
    return f"{here} is a link to {real}, {who}"


# ----------------------------------------------------------------------------- journal

def _delay() -> None:
    value = os.environ.get("REGROWTH_TEST_COMMIT_DELAY")
    if value:
        time.sleep(float(value))


def _install(src: Path, target: Path) -> None:
    """Move the staged ``src`` over ``target``: one rename; where the target's folder is on
    another file system (a link such as ``results/tables`` -> another disk: the rename fails
    with EXDEV), copy ``src`` into a temporary file beside the target (resolved folder),
    fsync it, rename it over the target, then remove ``src``. Either way the target is
    replaced atomically, and ``src`` disappears only once the target holds its bytes, so a
    replay after a kill redoes an unfinished move."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(src, target)
        return
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
    folder = target.parent.resolve()
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as out, open(src, "rb") as inp:
            shutil.copyfileobj(inp, out)
            out.flush()
            os.fsync(out.fileno())
        shutil.copymode(src, tmp)
        os.replace(tmp, folder / target.name)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(folder)
    os.unlink(src)


def _replay(root: Path, journal: dict) -> None:
    """Complete a committed transaction (idempotent)."""
    staging = root / journal["staging"]
    for rel in journal["install"]:
        src = staging / rel
        if src.exists():
            _delay()
            _install(src, root / rel)
    for rel in journal["delete"]:
        target = root / rel
        if target.exists() or target.is_symlink():
            _delay()
            target.unlink()
    _durable_write(root / MANIFEST_NAME, _manifest_text(journal["manifest"]))
    shutil.rmtree(staging, ignore_errors=True)
    _fsync_dir(root)
    (root / JOURNAL_NAME).unlink()
    _fsync_dir(root)


def _replay_pending(root: Path) -> bool:
    path = root / JOURNAL_NAME
    if not path.is_file():
        return False
    try:
        journal = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:  # cannot happen: renamed whole
        raise OutputError(f"{path}: damaged journal of an interrupted run ({exc})") from exc
    _replay(root, journal)
    print(f"regrowth: completed the interrupted write of {root}/ recorded in {path.name}",
          file=sys.stderr)
    return True


def _ours(entry: Path) -> bool:
    """True for a staging folder regrowth made: named ``.staging-*``, a real folder (not a
    link) holding :data:`STAGING_MARKER`."""
    return (entry.name.startswith(STAGING_PREFIX) and entry.is_dir() and not entry.is_symlink()
            and (entry / STAGING_MARKER).is_file())


def _clean_leftovers(root: Path, keep: Path | None = None) -> list[str]:
    """Delete regrowth's leftover staging folders (:func:`_ours`) and temporary files under
    ``root`` (call with the lock held); return the names of the staging folders deleted."""
    removed = []
    for entry in root.iterdir():
        if entry != keep and _ours(entry):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry.name)
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(STAGING_PREFIX)]
        for name in files:
            if _TMP.match(name):
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(folder, name))
    # through a linked folder (results/tables -> another disk) os.walk does not go: there,
    # only the temporary copies of the files regrowth owns (``.<name>.XXXXXXXX.tmp``)
    with contextlib.suppress(OutputError, OSError):
        for rel in owned_files(root):
            target = root / rel
            if target.parent.resolve() == target.parent.absolute():
                continue
            for tmp in target.parent.glob(f".{glob.escape(target.name)}.*.tmp"):
                if _TMP.match(tmp.name) and len(tmp.name) == len(target.name) + 14:
                    with contextlib.suppress(OSError):
                        tmp.unlink()
    return removed


# ----------------------------------------------------------------------------- lock

class _Lock:
    def __init__(self, root: Path, timeout: float | None):
        self.path = root / LOCK_NAME
        self.timeout = timeout
        self.fd: int | None = None

    def acquire(self) -> None:
        try:
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as exc:
            raise _not_writable(self.path.parent, exc) from exc
        if fcntl is None:  # pragma: no cover
            return
        start = time.monotonic()
        told = False
        while True:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                other = self._holder()
                if self.timeout is not None and time.monotonic() - start >= self.timeout:
                    os.close(self.fd)
                    self.fd = None
                    raise OutputError(
                        f"another regrowth run{other} is writing {self.path.parent}/ (lock "
                        f"{self.path}); waited {self.timeout:g}s. Wait for it to finish and "
                        "rerun; two runs must not write the same outputs at once") from None
                if not told:
                    print(f"regrowth: another run{other} is writing {self.path.parent}/; "
                          "waiting for it to finish", file=sys.stderr)
                    told = True
                time.sleep(0.2)
        os.ftruncate(self.fd, 0)
        os.write(self.fd, f"{os.getpid()}\n".encode())

    def _holder(self) -> str:
        with contextlib.suppress(OSError, ValueError):
            pid = int(self.path.read_text().strip())
            return f" (pid {pid})"
        return ""

    def release(self) -> None:
        if self.fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self.fd, 0)
            if fcntl is not None:
                fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None


def _not_writable(folder: Path, exc: OSError | None = None,
                  option: str = "--results-dir") -> OutputError:
    why = f" ({exc.strerror})" if exc is not None and exc.strerror else ""
    return OutputError(f"the output folder {folder}/ is not writable{why}; nothing was fitted "
                       "or written. Make it writable (chmod u+w) or choose another folder "
                       f"({option})")


def check_writable(root: str | Path, *, option: str = "--results-dir") -> None:
    """Raise OutputError if ``root`` or a folder in it is not writable (if ``root`` does not
    exist yet: if its nearest existing parent is not, or is not a folder). Creates nothing.

    For a check before any work is done; :class:`Transaction` checks again under its lock.
    ``option`` is the command-line option named in the hint.
    """
    root = Path(root)
    if not root.exists():
        parent = root.absolute().parent
        while not parent.exists():
            parent = parent.parent
        if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
            raise _not_writable(root, None, option)
        return
    if not root.is_dir():
        raise _not_writable(root, None, option)
    for folder, dirs, _ in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(STAGING_PREFIX)]
        if not os.access(folder, os.W_OK | os.X_OK):
            raise _not_writable(Path(folder), None, option)


def _check_writable(root: Path) -> None:
    for folder, dirs, _ in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(STAGING_PREFIX)]
        if not os.access(folder, os.W_OK | os.X_OK):
            raise _not_writable(Path(folder))
        # os.walk does not enter a linked folder (results/tables -> another disk): check the
        # folder it points to too, so a commit never stops half-way on a read-only target
        for d in dirs:
            linked = Path(folder) / d
            if linked.is_symlink() and linked.is_dir() and \
                    not os.access(linked, os.W_OK | os.X_OK):
                raise _not_writable(linked)


def env_seconds(name: str, default: float) -> float:
    """Seconds read from the environment variable ``name`` (``default`` when unset or empty).

    The value must be a finite number >= 0 (``"0"`` means do not wait); anything else
    (``"abc"``, ``"-5"``, ``"inf"``) raises :class:`~regrowth.errors.SpecificationError`
    naming the variable, its value and the expected form.
    """
    raw = os.environ.get(name, "").strip()
    if not raw:
        return float(default)
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise SpecificationError(
            f"environment variable {name}={raw!r}: must be a number of seconds >= 0 "
            f"(e.g. {name}={default:g}); set it to a number, or unset it for the default "
            f"{default:g} s")
    return value


def _default_timeout() -> float | None:
    return env_seconds("REGROWTH_LOCK_TIMEOUT", 600.0)


def recover(root: str | Path, *, lock_timeout: float | None = None) -> bool:
    """Complete an interrupted commit of ``root`` if a journal says there is one.

    Returns True if a journal was replayed. Takes the folder's lock only when there is
    something to do, so it is cheap (and never writes) otherwise.
    """
    root = Path(root)
    if not (root / JOURNAL_NAME).is_file():
        return False
    lock = _Lock(root, _default_timeout() if lock_timeout is None else lock_timeout)
    lock.acquire()
    try:
        return _replay_pending(root)
    finally:
        lock.release()


def recover_for_reading(root: str | Path, *, command: str = "regrowth replicate") -> bool:
    """What a reader calls before reading ``root``: complete an interrupted commit first.

    A kill during a commit leaves a mix of old and new files with the journal that says so;
    a reader must not read that mix. With the journal present, this takes the folder's lock
    (waiting for a live writer, as writers do) and replays it (:func:`recover`); if that is
    impossible (a read-only folder), it raises :class:`OutputError` saying so and what to
    run, so that nothing half-written is read. Returns True if it completed a commit; False
    (and writes nothing) when there is none. ``command`` is the writer named in the message.
    """
    root = Path(root)
    if not (root / JOURNAL_NAME).is_file():
        return False
    try:
        return recover(root)
    except OSError as exc:
        raise OutputError(
            f"{root}/ holds a set of outputs that a killed run left half-published (the journal "
            f"{root / JOURNAL_NAME} lists what remains to do), and it cannot be completed from "
            f"here ({exc}); nothing was read. Complete it by running `{command}` (or any "
            f"regrowth command that reads {root}/) with write access to the folder") from exc


# ----------------------------------------------------------------------------- JSON

def jsonable(value):
    """``value`` made safe for :func:`json.dumps`, for the package's JSON outputs
    (``results/estimates.json``, ``results/curve/<id>.json``): dict keys as strings, tuples
    as lists, numpy scalars as Python numbers, NaN/inf and ``pd.NA`` as ``None`` (JSON has no
    NaN), any other object as its ``str``."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if value is None or isinstance(value, (int, str)):
        return value
    if value is pd.NA:
        return None
    return str(value)


# ----------------------------------------------------------------------------- transaction

class Transaction:
    """Stage a set of output files under ``root`` and publish them all at once.

    Parameters
    ----------
    root : the output folder (created if missing).
    prune : on commit, delete owned files (see the manifest) that were neither staged nor
        kept: a complete run (True) vs a partial one that leaves other outputs alone (False).
    lock_timeout : seconds to wait for another run's lock (default ``$REGROWTH_LOCK_TIMEOUT``
        or 600; ``None`` waits forever).

    Attributes: ``dir`` (the staging folder to write into, same layout as ``root``),
    ``previous`` (owned files before this run). See the module docstring for the protocol.
    """
    def __init__(self, root: str | Path, *, prune: bool = False,
                 lock_timeout: float | None = -1.0):
        self.root = Path(root)
        self.prune = prune
        self._lock = _Lock(self.root, _default_timeout() if lock_timeout == -1.0
                           else lock_timeout)
        self.dir = self.root / f"{STAGING_PREFIX}{os.getpid()}"
        self._kept: set[str] = set()
        self.previous: list[str] = []
        self.installed: list[str] = []
        self.deleted: list[str] = []
        self._open = False
        self.foreign: str | None = None

    # -- context
    def __enter__(self) -> Transaction:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _not_writable(self.root, exc) from exc
        self._lock.acquire()
        try:
            _check_writable(self.root)
            _replay_pending(self.root)
            _clean_leftovers(self.root)
            self.previous = owned_files(self.root)
            # a folder with no files of ours yet (a new link to an empty folder) becomes ours
            self.foreign = foreign_folder(self.root) if self.previous else None
            self.dir.mkdir()
            (self.dir / STAGING_MARKER).write_text(
                "a staging folder of a regrowth run; the next run deletes it if it is left\n",
                encoding="utf-8")
        except BaseException:
            self._lock.release()
            raise
        self._open = True
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                self.commit()
            else:
                shutil.rmtree(self.dir, ignore_errors=True)
        finally:
            self._open = False
            self._lock.release()

    # -- staging
    def path(self, rel: str) -> Path:
        """The staging path of ``rel`` (parent folders created)."""
        target = self.dir / _check_rel(rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def write_text(self, rel: str, text: str) -> Path:
        return write_text(self.path(rel), text)

    def write_bytes(self, rel: str, data: bytes) -> Path:
        return write_bytes(self.path(rel), data)

    def write_with(self, rel: str, writer: Callable[[Path], None]) -> Path:
        return write_with(self.path(rel), writer)

    def keep(self, rel: str) -> None:
        """Keep the published ``rel`` as it is (and owned) even when pruning."""
        self._kept.add(_check_rel(rel))

    def staged(self) -> list[str]:
        """Relative paths of every file staged so far, sorted."""
        out = []
        for folder, _, files in os.walk(self.dir):
            for name in files:
                if not _TMP.match(name) and not (name == STAGING_MARKER
                                                 and Path(folder) == self.dir):
                    out.append((Path(folder) / name).relative_to(self.dir).as_posix())
        return sorted(out)

    # -- commit
    def commit(self) -> None:
        staged = self.staged()
        install = []
        for rel in staged:
            target = self.root / rel
            if target.is_file() and _same_bytes(target, self.dir / rel):
                continue  # unchanged: nothing to rename
            install.append(rel)
        kept = {rel for rel in self._kept if (self.root / rel).is_file()}
        if self.prune and not self.foreign:
            new_owned = set(staged) | kept
            delete = sorted(set(self.previous) - new_owned)
        else:
            new_owned = set(staged) | set(self.previous)
            delete = []
            stale = sorted(set(self.previous) - set(staged) - kept)
            if self.prune and stale:
                print(f"regrowth: {self.foreign}; its {len(stale)} file(s) this run did not "
                      "write are left in place, none is deleted (if it is this project's own "
                      f"output folder, write the line {os.path.abspath(self.root)} into "
                      f"{os.path.realpath(self.root)}/{OWNER_NAME})", file=sys.stderr)
        delete = [rel for rel in delete if (self.root / rel).is_file()]
        journal = {"staging": self.dir.name, "install": install, "delete": delete,
                   "manifest": sorted(new_owned)}
        for rel in staged:  # make the staged bytes durable before the commit point
            with contextlib.suppress(OSError):
                fd = os.open(self.dir / rel, os.O_RDONLY)
                os.fsync(fd)
                os.close(fd)
        _durable_write(self.root / JOURNAL_NAME, json.dumps(journal, indent=1) + "\n")
        _replay(self.root, journal)
        self.installed, self.deleted = install, delete
        if not self.foreign:  # the folder is this project's: say so for the next run
            owner = os.path.abspath(self.root)
            path = self.root / OWNER_NAME
            if not path.is_file() or path.read_text(encoding="utf-8").strip() != owner:
                write_text(path, owner + "\n")


def _same_bytes(a: Path, b: Path) -> bool:
    try:
        if a.stat().st_size != b.stat().st_size:
            return False
        return a.read_bytes() == b.read_bytes()
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.EACCES):
            return False
        raise


# ----------------------------------------------------------------------------- CSV cells

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?(\d[\d,]*(\.\d*)?|\.\d+)([eE][+-]?\d+)?\**%?$")


def csv_cell(value):
    """``value`` with a leading ``'`` if it is text a spreadsheet would run as a formula.

    Text starting with ``=``, ``+``, ``-``, ``@``, tab or CR is escaped unless it reads as a
    number (``-0.5``, ``+3``, ``-1.2e-3``, ``-0.023***``, ``-4%``); other values are returned
    unchanged.
    """
    if isinstance(value, str) and value.startswith(_FORMULA_START) \
            and not _NUMBER.match(value.strip()):
        return "'" + value
    return value


def csv_row(values) -> list:
    """:func:`csv_cell` applied to every cell of a row."""
    return [csv_cell(v) for v in values]


def csv_safe_frame(df):
    """A copy of ``df`` whose text (object/string) columns and column names pass through
    :func:`csv_cell`; numeric columns are untouched (negative numbers stay numbers)."""
    out = df.copy()
    for col in out.columns:
        s = out[col]
        if pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s):
            out[col] = s.map(lambda v: csv_cell(v) if isinstance(v, str) else v)
    out.columns = [csv_cell(c) if isinstance(c, str) else c for c in out.columns]
    return out
